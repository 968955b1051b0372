//! The log-store conformance suite, migrations and partition maintenance against a real
//! PostgreSQL (`TEST_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/postgres`).
//! Each test creates a fresh database `outpost_test_<unique>`, migrates it, and drops it at the
//! end (also when the test fails). A missing PostgreSQL fails the tests: they are part of the
//! default run.

use chrono::{Days, Duration, NaiveTime, TimeZone, Utc};
use outpost_core::event::{AttemptStatus, LogEntry};
use outpost_core::ports::LogStore;
use outpost_log_store_pg::tokio_postgres::{self, Config, NoTls};
use outpost_log_store_pg::{Migration, MigrationError, MigrationState, Migrator, PgLogStore};
use outpost_test_support::log_store_suite::{attempt, attempt_query, entry, event, event_query};
use std::future::Future;

fn admin_config() -> Config {
    outpost_test_support::postgres_url()
        .parse()
        .expect("TEST_DATABASE_URL is a PostgreSQL connection string")
}

async fn admin(sql: &str) -> Result<(), tokio_postgres::Error> {
    let (client, conn) = admin_config().connect(NoTls).await.expect(
        "PostgreSQL at TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres)",
    );
    let task = tokio::spawn(conn);
    let result = client.batch_execute(sql).await;
    drop(client);
    let _ = task.await;
    result
}

/// Runs `body` with the configuration of a fresh, empty database, then drops the database.
/// The database's default collation is ICU `en-US` where the server supports it, so orderings
/// that silently depended on a bytewise default collation would show.
async fn with_fresh_db<F, Fut>(body: F)
where
    F: FnOnce(Config) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let name = outpost_test_support::unique("outpost_test");
    let icu = format!(
        "CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' \
         LOCALE 'C.UTF-8'"
    );
    if admin(&icu).await.is_err() {
        admin(&format!("CREATE DATABASE {name}"))
            .await
            .expect("CREATE DATABASE");
    }
    let mut cfg = admin_config();
    cfg.dbname(&name);
    let result = tokio::spawn(body(cfg)).await;
    admin(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .expect("DROP DATABASE");
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn migrated_store(cfg: Config) -> PgLogStore {
    let store = PgLogStore::connect_config(cfg, 8).await.expect("connect");
    let applied = store.migrator().apply().await.expect("apply migrations");
    assert_eq!(
        applied.len(),
        outpost_log_store_pg::migrations::MIGRATIONS.len()
    );
    store
}

#[tokio::test]
async fn postgres_store_conforms() {
    with_fresh_db(|cfg| async move {
        let store = migrated_store(cfg).await;
        outpost_test_support::log_store_suite::run(&store).await;
        // The suite again on the same database: runs are isolated by their ids.
        outpost_test_support::log_store_suite::run(&store).await;
    })
    .await;
}

#[tokio::test]
async fn connect_reports_errors() {
    let err = PgLogStore::connect("postgres://postgres@127.0.0.1:1/none", 1)
        .await
        .expect_err("nothing listens on port 1");
    assert!(err.to_string().contains("could not connect"), "{err}");
    assert!(std::error::Error::source(&err).is_some(), "cause kept");
    let err = PgLogStore::connect("postgres://[bad", 1)
        .await
        .expect_err("bad url");
    assert!(err.to_string().contains("invalid"), "{err}");
}

#[tokio::test]
async fn migrations_list_plan_apply_verify() {
    with_fresh_db(|cfg| async move {
        let store = PgLogStore::connect_config(cfg, 4).await.expect("connect");
        let m = store.migrator();
        let n = m.migrations().len();
        assert!(n >= 1);
        // Fresh database: everything pending, nothing to verify.
        assert_eq!(m.pending_count().await.unwrap(), n);
        assert_eq!(m.plan().await.unwrap().len(), n);
        let list = m.list().await.unwrap();
        assert_eq!(list.len(), n);
        assert!(list.iter().all(|i| i.state == MigrationState::Pending));
        m.verify().await.expect("nothing applied verifies");

        let applied = m.apply().await.unwrap();
        assert_eq!(applied.len(), n);
        assert_eq!(m.pending_count().await.unwrap(), 0);
        assert!(m.plan().await.unwrap().is_empty());
        assert!(m.list().await.unwrap().iter().all(|i| matches!(
            i.state,
            MigrationState::Applied {
                checksum_matches: true,
                ..
            }
        )));
        m.verify().await.expect("verifies after apply");
        assert!(m.apply().await.unwrap().is_empty(), "second apply is a no-op");

        // Tamper with a recorded checksum: verify names the file; apply refuses.
        let client = store.pool().get().await.unwrap();
        client
            .execute(
                "UPDATE schema_migrations SET checksum = 'deadbeef' WHERE version = 1",
                &[],
            )
            .await
            .unwrap();
        let err = m.verify().await.expect_err("drift detected");
        assert!(matches!(err, MigrationError::Drift { version: 1, .. }), "{err:?}");
        assert!(err.to_string().contains("0001_init.sql"), "{err}");
        assert!(err.to_string().contains("deadbeef"), "{err}");
        assert!(matches!(
            m.apply().await,
            Err(MigrationError::Drift { .. })
        ));
        let listed = m.list().await.unwrap();
        assert!(matches!(
            listed[0].state,
            MigrationState::Applied {
                checksum_matches: false,
                ..
            }
        ));
        let good = m.migrations()[0].checksum();
        client
            .execute(
                "UPDATE schema_migrations SET checksum = $1 WHERE version = 1",
                &[&good],
            )
            .await
            .unwrap();
        m.verify().await.unwrap();

        // A migration recorded by a newer binary.
        client
            .execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, 'future', 'x')",
                &[],
            )
            .await
            .unwrap();
        let err = m.verify().await.expect_err("unknown migration");
        assert!(matches!(err, MigrationError::UnknownApplied { version: 9999, .. }), "{err:?}");
        assert!(matches!(
            m.list().await.unwrap().last().map(|i| &i.state),
            Some(MigrationState::Unknown { .. })
        ));
        client
            .execute("DELETE FROM schema_migrations WHERE version = 9999", &[])
            .await
            .unwrap();

        // Additional migrations: pending ones apply in order; a failing one rolls back whole.
        let extra = |sql: &'static str, version: i64, file: &'static str| Migration {
            version,
            file,
            sql,
        };
        let mut set = m.migrations().to_vec();
        set.push(extra(
            "CREATE TABLE extra_ok (x int); INSERT INTO extra_ok VALUES (1);",
            1001,
            "1001_extra_ok.sql",
        ));
        set.push(extra(
            "CREATE TABLE extra_bad (x int); SELECT no_such_function();",
            1002,
            "1002_extra_bad.sql",
        ));
        let m2 = Migrator::with_migrations(store.pool().clone(), set);
        assert_eq!(
            m2.plan().await.unwrap().iter().map(|m| m.version).collect::<Vec<_>>(),
            vec![1001, 1002]
        );
        let err = m2.apply().await.expect_err("1002 fails");
        assert!(matches!(err, MigrationError::Apply { version: 1002, .. }), "{err:?}");
        assert!(err.to_string().contains("1002_extra_bad.sql"), "{err}");
        assert!(std::error::Error::source(&err).is_some(), "database error kept as cause");
        assert_eq!(m2.pending_count().await.unwrap(), 1, "1001 stays applied");
        let gone: bool = client
            .query_one("SELECT to_regclass('extra_bad') IS NULL", &[])
            .await
            .unwrap()
            .get(0);
        assert!(gone, "failed migration rolled back");
        assert_eq!(m.pending_count().await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn concurrent_apply_is_safe() {
    with_fresh_db(|cfg| async move {
        let a = PgLogStore::connect_config(cfg.clone(), 2).await.unwrap();
        let b = PgLogStore::connect_config(cfg, 2).await.unwrap();
        let b_pool = b.pool().clone();
        let tasks: Vec<_> = [a.clone(), b, a.clone(), a]
            .into_iter()
            .map(|s| tokio::spawn(async move { s.migrator().apply().await }))
            .collect();
        let mut total = 0;
        for t in tasks {
            total += t.await.unwrap().expect("concurrent apply succeeds").len();
        }
        let n = outpost_log_store_pg::migrations::MIGRATIONS.len();
        assert_eq!(total, n, "each migration applied once");
        let client = b_pool.get().await.unwrap();
        let rows: i64 = client
            .query_one("SELECT count(*) FROM schema_migrations", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(rows, n as i64);
        assert_eq!(
            Migrator::new(b_pool.clone()).pending_count().await.unwrap(),
            0
        );
    })
    .await;
}

/// Where a row of `table` with `id` is stored.
async fn partition_of(store: &PgLogStore, table: &str, id: &str) -> Option<String> {
    let client = store.pool().get().await.expect("connection");
    client
        .query_opt(
            &format!("SELECT tableoid::regclass::text FROM {table} WHERE id = $1"),
            &[&id],
        )
        .await
        .expect("partition lookup")
        .map(|r| r.get(0))
}

#[tokio::test]
async fn partitions_and_retention() {
    with_fresh_db(|cfg| async move {
        let store = migrated_store(cfg).await;
        let run = outpost_test_support::unique("part");
        let today = Utc::now().date_naive();
        let day = |offset: i64| {
            if offset >= 0 {
                today + Days::new(offset as u64)
            } else {
                today - Days::new(offset.unsigned_abs())
            }
        };
        let noon = |offset: i64| {
            Utc.from_utc_datetime(&day(offset).and_time(NaiveTime::MIN)) + Duration::hours(12)
        };
        let mk = |name: &str, t| {
            let e = event(&run, &format!("{run}_{name}_e"), "a", t, &[], "{\"k\": 1}");
            let a = attempt(
                &e,
                &format!("{run}_{name}_a"),
                "d",
                1,
                AttemptStatus::Success,
                t,
            );
            entry(&e, &a)
        };
        // Written before any daily partition exists: all land in the default partitions.
        let old = mk("old", noon(-9));
        let recent = mk("recent", noon(0) - Duration::hours(11));
        let future = mk("future", noon(2));
        store
            .insert(&[old.clone(), recent.clone(), future.clone()])
            .await
            .unwrap();
        assert_eq!(
            partition_of(&store, "events", &old.event.id)
                .await
                .as_deref(),
            Some("events_default")
        );

        // Create partitions from 10 days ago to 3 days ahead: rows move out of the default.
        let created = store
            .ensure_partitions_between(day(-10), day(3))
            .await
            .unwrap();
        assert_eq!(created.len(), 2 * 14, "{created:?}");
        assert!(created.contains(&format!("events_p{}", day(-9).format("%Y%m%d"))));
        assert!(created.contains(&format!("attempts_p{}", day(3).format("%Y%m%d"))));
        assert!(
            store
                .ensure_partitions_between(day(-10), day(3))
                .await
                .unwrap()
                .is_empty(),
            "idempotent"
        );
        assert!(
            store.ensure_partitions(3).await.unwrap().is_empty(),
            "already there"
        );
        assert_eq!(store.list_partitions().await.unwrap().len(), 28);
        for (en, offset) in [(&old, -9), (&recent, 0), (&future, 2)] {
            let suffix = day(offset).format("%Y%m%d").to_string();
            assert_eq!(
                partition_of(&store, "events", &en.event.id).await,
                Some(format!("events_p{suffix}"))
            );
            assert_eq!(
                partition_of(&store, "attempts", &en.attempt.id).await,
                Some(format!("attempts_p{suffix}"))
            );
        }

        // More rows: one in an existing old partition, one far older (default partition).
        let old2 = mk("old2", noon(-6));
        let ancient = mk("ancient", noon(-100));
        let kept = mk("kept", noon(-5));
        store
            .insert(&[old2.clone(), ancient.clone(), kept.clone()])
            .await
            .unwrap();
        assert_eq!(
            partition_of(&store, "events", &ancient.event.id)
                .await
                .as_deref(),
            Some("events_default")
        );
        let all = [&old, &old2, &ancient, &kept, &recent, &future];
        let mut q = event_query(&[&run]);
        q.page.limit = 10;
        assert_eq!(store.list_events(&q).await.unwrap().items.len(), all.len());

        // Retention of 5 days: partitions of days before today-5 go, with their rows.
        let dropped = store.drop_expired(5).await.unwrap();
        let mut want: Vec<String> = Vec::new();
        for table in ["attempts", "events"] {
            for offset in -10..=-6 {
                want.push(format!("{table}_p{}", day(offset).format("%Y%m%d")));
            }
        }
        assert_eq!(dropped.partitions, want);
        assert_eq!(
            dropped.default_rows_deleted, 2,
            "the ancient event and attempt"
        );
        for gone in [&old, &old2, &ancient] {
            assert!(
                store
                    .get_event(None, &gone.event.id)
                    .await
                    .unwrap()
                    .is_none()
            );
            assert!(
                store
                    .get_attempt(None, &gone.attempt.id)
                    .await
                    .unwrap()
                    .is_none()
            );
        }
        for stays in [&kept, &recent, &future] {
            assert!(
                store
                    .get_event(None, &stays.event.id)
                    .await
                    .unwrap()
                    .is_some()
            );
            assert!(
                store
                    .get_attempt(None, &stays.attempt.id)
                    .await
                    .unwrap()
                    .is_some()
            );
        }
        assert_eq!(store.list_events(&q).await.unwrap().items.len(), 3);
        assert_eq!(
            store
                .list_attempts(&attempt_query(&[&run]))
                .await
                .unwrap()
                .items
                .len(),
            3
        );

        let again = store.drop_expired(5).await.unwrap();
        assert!(
            again.partitions.is_empty() && again.default_rows_deleted == 0,
            "idempotent"
        );
        assert_eq!(store.list_partitions().await.unwrap().len(), 18);

        // A late row for a dropped day lands in the default partition and is purged next time.
        let late = mk("late", noon(-8));
        store.insert(std::slice::from_ref(&late)).await.unwrap();
        assert_eq!(
            partition_of(&store, "events", &late.event.id)
                .await
                .as_deref(),
            Some("events_default")
        );
        assert_eq!(store.drop_expired(5).await.unwrap().default_rows_deleted, 2);
    })
    .await;
}

/// Insert throughput; prints, asserts nothing (run with `--nocapture` to see it).
#[tokio::test]
async fn insert_throughput() {
    with_fresh_db(|cfg| async move {
        let store = migrated_store(cfg).await;
        store.ensure_partitions(1).await.unwrap();
        let run = outpost_test_support::unique("bench");
        let now = outpost_core::time::now_ms();
        let batch = |b: usize| -> Vec<LogEntry> {
            (0..1000)
                .map(|i| {
                    let t = now + Duration::milliseconds((b * 1000 + i) as i64);
                    let e = event(
                        &format!("{run}_t{}", i % 10),
                        &format!("{run}_e{b}_{i}"),
                        "user.created",
                        t,
                        &["d1", "d2"],
                        r#"{"user": {"id": 123, "name": "Ada Lovelace", "tags": ["a", "b"]}, "amount": 42.5}"#,
                    );
                    let a = attempt(&e, &format!("{run}_a{b}_{i}"), "d1", 1, AttemptStatus::Success, t);
                    entry(&e, &a)
                })
                .collect()
        };
        let first = batch(0);
        let started = std::time::Instant::now();
        store.insert(&first).await.unwrap();
        let cold = started.elapsed();
        let batches: Vec<Vec<LogEntry>> = (1..=5).map(batch).collect();
        let started = std::time::Instant::now();
        for b in &batches {
            store.insert(b).await.unwrap();
        }
        let warm = started.elapsed() / 5;
        let started = std::time::Instant::now();
        store.insert(&first).await.unwrap();
        let replay = started.elapsed();
        let rate = |d: std::time::Duration| 1000.0 / d.as_secs_f64();
        println!(
            "insert throughput: first 1000-entry batch {cold:?} ({:.0} entries/s); \
             warm 1000-entry batches avg {warm:?} ({:.0} entries/s); \
             replay of a stored batch {replay:?} ({:.0} entries/s)",
            rate(cold),
            rate(warm),
            rate(replay)
        );
    })
    .await;
}

/// Metrics aggregates on 100 000 attempts (20 000 events): prints the time of a few aggregate
/// queries (run with `--nocapture` to see them; no timing assertion), checks the results equal
/// the in-memory reference store's, and that a statement timeout reports "query too broad".
#[tokio::test]
async fn aggregate_queries_on_100k_attempts() {
    use outpost_core::metrics::{AggregateQuery, Granularity, TOO_BROAD};
    use outpost_core::ports::MemoryLogStore;
    with_fresh_db(|cfg| async move {
        let store = migrated_store(cfg).await;
        let memory = MemoryLogStore::new();
        let base = Utc.with_ymd_and_hms(2030, 1, 28, 0, 0, 0).unwrap();
        let span_ms: i64 = 7 * 86_400_000;
        let (events, per_event) = (20_000usize, 5usize);
        let mut entries = Vec::with_capacity(events * per_event);
        for i in 0..events {
            let t = base + Duration::milliseconds((i as i64 * 7_919_993) % span_ms);
            let dests: Vec<String> = (0..1 + i % 3)
                .map(|k| format!("d{}", (i + k * 7) % 20))
                .collect();
            let dests: Vec<&str> = dests.iter().map(String::as_str).collect();
            let e = event(
                &format!("t{}", i % 10),
                &format!("e{i}"),
                &format!("topic.{}", i % 5),
                t,
                &dests,
                "{}",
            );
            for n in 0..per_event {
                let ok = (i + n) % 3 != 0;
                let status = if ok {
                    AttemptStatus::Success
                } else {
                    AttemptStatus::Failed
                };
                let at = t + Duration::seconds(n as i64 * 97);
                let mut a = attempt(
                    &e,
                    &format!("a{i}_{n}"),
                    dests[n % dests.len()],
                    n as u32 + 1,
                    status,
                    at,
                );
                a.destination_type = if i % 4 == 0 { "aws_sqs" } else { "webhook" }.into();
                a.manual = (i + n) % 11 == 0;
                a.code = if ok {
                    "200".into()
                } else {
                    ["500", "503", "ERR"][(i + n) % 3].into()
                };
                entries.push(entry(&e, &a));
            }
        }
        let started = std::time::Instant::now();
        for chunk in entries.chunks(2000) {
            store.insert(chunk).await.unwrap();
            memory.insert(chunk).await.unwrap();
        }
        let load = started.elapsed();
        client_analyze(&store).await;

        let q = |g: Option<&str>, dims: &[&str], filters: &[(&str, &[&str])]| AggregateQuery {
            start: base,
            end: base + Duration::milliseconds(span_ms),
            granularity: g.map(|g| Granularity::parse(g).unwrap()),
            dimensions: dims.iter().map(|s| s.to_string()).collect(),
            filters: filters
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
                .collect(),
        };
        let timed = [
            (
                "attempts, 1h buckets by destination_id and status",
                q(Some("1h"), &["destination_id", "status"], &[]),
                true,
            ),
            (
                "attempts, no granularity, no dimensions",
                q(None, &[], &[]),
                true,
            ),
            (
                "attempts, 1d buckets, all 8 dimensions",
                q(Some("1d"), &outpost_core::metrics::ATTEMPT_DIMENSIONS, &[]),
                true,
            ),
            (
                "attempts, 15m buckets, one tenant by code",
                q(Some("15m"), &["code"], &[("tenant_id", &["t3"])]),
                true,
            ),
            (
                "events, 1h buckets by destination_id (unnest)",
                q(Some("1h"), &["destination_id"], &[]),
                false,
            ),
            (
                "events, 1M buckets by tenant_id and topic",
                q(
                    Some("1M"),
                    &["tenant_id", "topic"],
                    &[("destination_id", &["d1", "d2"])],
                ),
                false,
            ),
        ];
        println!(
            "aggregate benchmark: loaded {} attempts / {events} events in {load:?}",
            entries.len()
        );
        for (label, query, attempts) in &timed {
            let run = || async {
                if *attempts {
                    store.attempt_aggregates(query).await
                } else {
                    store.event_aggregates(query).await
                }
            };
            run().await.unwrap(); // warm-up
            let started = std::time::Instant::now();
            let rows = run().await.unwrap();
            let took = started.elapsed();
            println!(
                "aggregate benchmark: {label}: {} rows in {took:?}",
                rows.len()
            );
            let want = if *attempts {
                memory.attempt_aggregates(query).await
            } else {
                memory.event_aggregates(query).await
            };
            assert_eq!(rows, want.unwrap(), "{label}: same as the memory store");
        }
        for g in ["1s", "7m", "2h", "1w", "2w", "1M", "12M"] {
            let query = q(
                Some(g),
                &["manual", "attempt_number"],
                &[("status", &["failed"])],
            );
            assert_eq!(
                store.attempt_aggregates(&query).await.unwrap(),
                memory.attempt_aggregates(&query).await.unwrap(),
                "{g}"
            );
        }

        // A statement timeout is reported as a query too broad; the pool stays usable.
        let hasty = store
            .clone()
            .with_aggregate_timeout(std::time::Duration::from_millis(1));
        let err = hasty
            .attempt_aggregates(&q(
                Some("1s"),
                &outpost_core::metrics::ATTEMPT_DIMENSIONS,
                &[],
            ))
            .await
            .expect_err("1 ms is too short for 100k attempts");
        assert!(err.to_string().contains(TOO_BROAD), "{err}");
        let total = q(None, &[], &[]);
        assert_eq!(
            store.attempt_aggregates(&total).await.unwrap(),
            memory.attempt_aggregates(&total).await.unwrap()
        );
    })
    .await;
}

/// Fresh statistics after a bulk load, as autovacuum would eventually gather.
async fn client_analyze(store: &PgLogStore) {
    let client = store.pool().get().await.expect("connection");
    client
        .batch_execute("ANALYZE events; ANALYZE attempts")
        .await
        .expect("ANALYZE");
}
