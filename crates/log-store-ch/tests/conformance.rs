//! The log-store conformance suite, migrations, retention and deduplication against a real
//! ClickHouse engine at `TEST_CLICKHOUSE_URL` (default `http://127.0.0.1:8123`; locally chDB
//! behind `scripts/standins/ch_shim.py`, started by `scripts/stand-ins.sh start-clickhouse`).
//! Each test works in a fresh database `outpost_test_<unique>` and drops it at the end (also
//! when the test fails). A missing ClickHouse fails the tests: they are part of the default run.
//!
//! Here: the suite (plain and with a deployment prefix), deduplication of stored versions,
//! representable times, errors. [`schema`]: migrations and retention. [`load`]: aggregates on
//! generated data against the in-memory store, insert throughput.

#[path = "conformance/load.rs"]
mod load;
#[path = "conformance/schema.rs"]
mod schema;

use chrono::{Duration, TimeZone, Utc};
use outpost_core::StoreError;
use outpost_core::event::AttemptStatus;
use outpost_core::metrics::{AggregateQuery, Granularity};
use outpost_core::ports::LogStore;
use outpost_log_store_ch::{ChError, ChLogStore, ChSettings, migrations};
use outpost_test_support::log_store_suite::{attempt, attempt_query, entry, event, event_query};
use std::future::Future;

fn base_url() -> String {
    outpost_test_support::service_addr("TEST_CLICKHOUSE_URL", "http://127.0.0.1:8123")
}

/// Runs `sql` on the server (outside any store); the body of the answer, or its error text.
async fn admin_try(sql: &str) -> Result<String, String> {
    let url = base_url();
    let resp = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("HTTP client")
        .post(format!("{url}/"))
        .body(sql.to_string())
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "ClickHouse is not reachable at {url} ({e}): start it with \
                 `scripts/stand-ins.sh start-clickhouse` (or set TEST_CLICKHOUSE_URL)"
            )
        });
    let ok = resp.status().is_success();
    let text = resp.text().await.expect("answer body");
    if ok { Ok(text) } else { Err(text) }
}

async fn admin(sql: &str) -> String {
    admin_try(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

fn settings(database: &str, deployment_id: Option<&str>) -> ChSettings {
    ChSettings {
        url: base_url(),
        username: "default".into(),
        password: String::new(),
        database: database.into(),
        deployment_id: deployment_id.map(str::to_string),
    }
}

/// Runs `body` with the name of a fresh database (not created), then drops the database.
async fn with_fresh_db<F, Fut>(body: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let name = outpost_test_support::unique("outpost_test");
    admin("SELECT 1").await;
    let result = tokio::spawn(body(name.clone())).await;
    admin(&format!("DROP DATABASE IF EXISTS `{name}` SYNC")).await;
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn migrated_store(db: &str, deployment_id: Option<&str>) -> ChLogStore {
    let store = ChLogStore::connect(settings(db, deployment_id))
        .await
        .expect("connect");
    let applied = store.migrate().await.expect("apply migrations");
    assert_eq!(applied.len(), migrations::MIGRATIONS.len());
    store
}

#[tokio::test]
async fn clickhouse_store_conforms() {
    with_fresh_db(|db| async move {
        let store = migrated_store(&db, None).await;
        let started = std::time::Instant::now();
        outpost_test_support::log_store_suite::run(&store).await;
        println!("conformance suite on ClickHouse: {:?}", started.elapsed());
        // The suite again on the same database: runs are isolated by their ids.
        outpost_test_support::log_store_suite::run(&store).await;
    })
    .await;
}

#[tokio::test]
async fn deployment_prefix_conforms_and_isolates() {
    with_fresh_db(|db| async move {
        let plain = migrated_store(&db, None).await;
        let prefixed = ChLogStore::connect(settings(&db, Some("dp-1")))
            .await
            .unwrap();
        assert_eq!(
            prefixed.pending().await.unwrap().len(),
            migrations::MIGRATIONS.len(),
            "each deployment has its own migrations table"
        );
        prefixed.migrate().await.unwrap();
        outpost_test_support::log_store_suite::run(&prefixed).await;

        let tables = admin(&format!("SHOW TABLES FROM `{db}`")).await;
        let mut tables: Vec<&str> = tables.lines().collect();
        tables.sort();
        assert_eq!(
            tables,
            [
                "attempts",
                "dp-1_attempts",
                "dp-1_events",
                "dp-1_outpost_settings",
                "dp-1_schema_migrations",
                "events",
                "outpost_settings",
                "schema_migrations"
            ]
        );
        let run = outpost_test_support::unique("iso");
        let e = event(
            &run,
            &format!("{run}_e"),
            "t",
            outpost_core::time::now_ms(),
            &[],
            "{}",
        );
        let a = attempt(
            &e,
            &format!("{run}_a"),
            "d",
            1,
            AttemptStatus::Success,
            e.time,
        );
        prefixed.insert(&[entry(&e, &a)]).await.unwrap();
        assert!(prefixed.get_event(None, &e.id).await.unwrap().is_some());
        assert!(plain.get_event(None, &e.id).await.unwrap().is_none());
        assert!(plain.get_attempt(None, &a.id).await.unwrap().is_none());
    })
    .await;
}

/// Raw rows of `table` with `col = id`, versions included (no dedupe, no FINAL).
async fn raw_count(db: &str, table: &str, col: &str, id: &str) -> usize {
    admin(&format!(
        "SELECT count() FROM `{db}`.`{table}` WHERE {col} = '{id}'"
    ))
    .await
    .trim()
    .parse()
    .expect("a count")
}

#[tokio::test]
async fn reads_dedupe_versions_before_and_after_merges() {
    with_fresh_db(|db| async move {
        let store = migrated_store(&db, None).await;
        let run = outpost_test_support::unique("dup");
        let t0 = outpost_core::time::now_ms() - Duration::minutes(3);
        let e = event(&run, &format!("{run}_e"), "topic", t0, &["d"], "{}");
        let first = attempt(&e, &format!("{run}_a"), "d", 1, AttemptStatus::Failed, t0);
        let mut update = first.clone();
        update.status = AttemptStatus::Success;
        update.code = "200".into();
        update.duration_ms = Some(12);
        store.insert(&[entry(&e, &first)]).await.unwrap();
        store.insert(&[entry(&e, &update)]).await.unwrap();
        store.insert(&[entry(&e, &update)]).await.unwrap();

        let check = || async {
            let mut q = attempt_query(&[&run]);
            let all = store.list_attempts(&q).await.unwrap();
            assert_eq!(all.items.len(), 1);
            assert_eq!(all.items[0].attempt, update);
            q.status = Some(AttemptStatus::Failed);
            assert!(
                store.list_attempts(&q).await.unwrap().items.is_empty(),
                "a superseded status does not match"
            );
            q.status = Some(AttemptStatus::Success);
            assert_eq!(store.list_attempts(&q).await.unwrap().items.len(), 1);
            assert_eq!(
                store
                    .get_attempt(None, &first.id)
                    .await
                    .unwrap()
                    .map(|r| r.attempt),
                Some(update.clone())
            );
            assert_eq!(
                store
                    .latest_attempt(None, &e.id, "d")
                    .await
                    .unwrap()
                    .map(|r| r.attempt),
                Some(update.clone())
            );
            let agg = AggregateQuery {
                start: t0 - Duration::minutes(1),
                end: t0 + Duration::minutes(1),
                granularity: None,
                dimensions: vec!["status".into()],
                filters: [("tenant_id".to_string(), vec![run.clone()])].into(),
            };
            let rows = store.attempt_aggregates(&agg).await.unwrap();
            assert_eq!(rows.len(), 1, "{rows:?}");
            assert_eq!(rows[0].dims["status"], "success");
            assert_eq!((rows[0].count, rows[0].duration_sum_ms), (1, 12));
            let mut failed = agg.clone();
            failed
                .filters
                .insert("status".into(), vec!["failed".into()]);
            assert!(store.attempt_aggregates(&failed).await.unwrap().is_empty());
            assert_eq!(
                store
                    .list_events(&event_query(&[&run]))
                    .await
                    .unwrap()
                    .items
                    .len(),
                1
            );
        };
        assert!(
            raw_count(&db, "attempts", "attempt_id", &first.id).await >= 2,
            "versions are stored side by side until a merge"
        );
        assert_eq!(
            raw_count(&db, "events", "event_id", &e.id).await,
            1,
            "event written once"
        );
        check().await;
        admin(&format!("OPTIMIZE TABLE `{db}`.attempts FINAL")).await;
        assert_eq!(
            raw_count(&db, "attempts", "attempt_id", &first.id).await,
            1,
            "merged"
        );
        check().await;

        // Two writers racing on a new event store it twice: reads still see it once.
        admin(&format!(
            "INSERT INTO `{db}`.events SELECT * FROM `{db}`.events WHERE event_id = '{}'",
            e.id
        ))
        .await;
        assert_eq!(raw_count(&db, "events", "event_id", &e.id).await, 2);
        check().await;
        let mut by_topic = AggregateQuery {
            start: t0 - Duration::minutes(1),
            end: t0 + Duration::minutes(1),
            granularity: Some(Granularity::parse("1h").unwrap()),
            dimensions: vec!["destination_id".into()],
            filters: [("tenant_id".to_string(), vec![run.clone()])].into(),
        };
        let rows = store.event_aggregates(&by_topic).await.unwrap();
        assert_eq!(rows.iter().map(|r| r.count).sum::<u64>(), 1, "{rows:?}");
        by_topic.dimensions.clear();
        assert_eq!(store.event_aggregates(&by_topic).await.unwrap()[0].count, 1);
    })
    .await;
}

#[tokio::test]
async fn times_keep_every_representable_year() {
    with_fresh_db(|db| async move {
        let store = migrated_store(&db, None).await;
        let run = outpost_test_support::unique("years");
        let mut entries = Vec::new();
        for (i, t) in [
            Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(1899, 12, 31, 23, 59, 59).unwrap() + Duration::milliseconds(999),
            Utc.with_ymd_and_hms(2300, 1, 1, 0, 0, 0).unwrap() + Duration::milliseconds(1),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap() + Duration::milliseconds(999),
        ]
        .into_iter()
        .enumerate()
        {
            let e = event(&run, &format!("{run}_e{i}"), "a", t, &[], "{}");
            let a = attempt(
                &e,
                &format!("{run}_a{i}"),
                "d",
                1,
                AttemptStatus::Success,
                t,
            );
            entries.push(entry(&e, &a));
        }
        store.insert(&entries).await.unwrap();
        for en in &entries {
            let got = store.get_event(None, &en.event.id).await.unwrap().unwrap();
            assert_eq!(got.time, en.event.time);
            let got = store
                .get_attempt(None, &en.attempt.id)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(
                (got.attempt.time, got.event.time),
                (en.attempt.time, en.event.time)
            );
        }
        let mut q = event_query(&[&run]);
        q.page.dir = outpost_core::ports::page::Dir::Asc;
        let got: Vec<String> = store
            .list_events(&q)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|e| e.id)
            .collect();
        let want: Vec<String> = entries.iter().map(|e| e.event.id.clone()).collect();
        assert_eq!(got, want);

        let mut late = entries[0].clone();
        late.event.id = format!("{run}_late");
        late.event.time = Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap();
        let err = store.insert(&[late]).await.expect_err("year 10000");
        assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
        let text = outpost_core::error::chain_text(&err);
        assert!(text.contains("years 1 to 9999"), "{text}");
    })
    .await;
}

#[tokio::test]
async fn errors_keep_their_causes() {
    let err = ChLogStore::connect(ChSettings {
        url: "http://127.0.0.1:1".into(),
        ..settings("outpost", None)
    })
    .await
    .expect_err("nothing listens on port 1");
    assert!(matches!(err, ChError::Unreachable { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("could not reach ClickHouse at http://127.0.0.1:1"),
        "{err}"
    );
    assert!(std::error::Error::source(&err).is_some(), "cause kept");

    for bad in ["", "a b", "x`y", &"d".repeat(65)] {
        let err = ChLogStore::new(settings(bad, None)).expect_err("bad database name");
        assert!(err.to_string().contains("CLICKHOUSE_DATABASE"), "{err}");
    }
    let err = ChLogStore::new(settings("ok", Some("dp.1"))).expect_err("bad deployment id");
    assert!(err.to_string().contains("DEPLOYMENT_ID"), "{err}");
    let err = ChSettings::from_upstream("clickhouse:9000", false, None, None, None, None)
        .expect_err("native port");
    assert!(err.to_string().contains("native protocol"), "{err}");
    let s = ChSettings::from_upstream("ch:8123", false, Some(""), Some("pw"), None, Some("dp"))
        .unwrap();
    assert_eq!(
        (s.url.as_str(), s.username.as_str(), s.database.as_str()),
        ("http://ch:8123", "default", "outpost")
    );
    assert!(!format!("{s:?}").contains("pw"), "password redacted: {s:?}");

    // ClickHouse's own error comes back as the cause of a store error.
    let missing = outpost_test_support::unique("outpost_missing");
    let store = ChLogStore::connect(settings(&missing, None)).await.unwrap();
    let err = store
        .list_events(&event_query(&["t"]))
        .await
        .expect_err("no such database");
    let text = outpost_core::error::chain_text(&err);
    assert!(
        text.contains("UNKNOWN_DATABASE") || text.contains("Code: 81"),
        "{text}"
    );
    let err = store.pending().await;
    assert_eq!(
        err.unwrap().len(),
        migrations::MIGRATIONS.len(),
        "no database: all pending"
    );
}
