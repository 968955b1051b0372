//! Migrations (list, plan, apply, verify, drift, unknown versions, half-failed migrations,
//! concurrent applies, upstream's table) and retention (TTL set, changed, removed, applied).

use super::{admin, migrated_store, settings, with_fresh_db};
use chrono::{Duration, TimeZone, Utc};
use outpost_core::event::AttemptStatus;
use outpost_core::ports::LogStore;
use outpost_log_store_ch::{
    ChError, ChLogStore, Migration, MigrationState, RetentionChange, migrations,
};
use outpost_test_support::log_store_suite::{attempt, entry, event};

#[tokio::test]
async fn migrations_list_plan_apply_verify() {
    with_fresh_db(|db| async move {
        let store = ChLogStore::connect(settings(&db, None)).await.unwrap();
        let m = store.migrator();
        let n = m.migrations().len();
        assert!(n >= 2);
        // Fresh server: no database yet, everything pending, nothing to verify.
        assert_eq!(m.pending_count().await.unwrap(), n);
        assert_eq!(store.pending().await.unwrap(), m.migrations());
        let list = m.list().await.unwrap();
        assert_eq!(list.len(), n);
        assert!(list.iter().all(|i| i.state == MigrationState::Pending));
        m.verify().await.expect("nothing applied verifies");

        let applied = store.migrate().await.unwrap();
        assert_eq!(applied.len(), n);
        assert!(store.pending().await.unwrap().is_empty());
        assert!(m.list().await.unwrap().iter().all(|i| matches!(
            i.state,
            MigrationState::Applied {
                checksum_matches: true,
                ..
            }
        )));
        m.verify().await.expect("verifies after apply");
        assert!(m.apply().await.unwrap().is_empty(), "second apply is a no-op");
        let tables = admin(&format!("SHOW TABLES FROM `{db}`")).await;
        for t in ["events", "attempts", "outpost_settings", "schema_migrations"] {
            assert!(tables.lines().any(|l| l == t), "{t} in {tables}");
        }
        let create = admin(&format!("SHOW CREATE TABLE `{db}`.attempts FORMAT TabSeparatedRaw")).await;
        for part in [
            "ReplacingMergeTree(inserted_at)",
            "PARTITION BY toYYYYMM(attempt_time)",
            "ORDER BY (attempt_time, attempt_id)",
            "INDEX idx_status status TYPE set(100)",
            "`duration_ms` Nullable(UInt64)",
        ] {
            assert!(create.contains(part), "{part} in {create}");
        }

        // A newer record with another checksum (how a tampered row reads): verify names the
        // file; apply refuses.
        let table = format!("`{db}`.schema_migrations");
        admin(&format!(
            "INSERT INTO {table} (version, name, checksum, applied_at) \
             VALUES (1, 'init', 'deadbeef', now64(3) + 1)"
        ))
        .await;
        let err = m.verify().await.expect_err("drift detected");
        assert!(matches!(err, ChError::Drift { version: 1, .. }), "{err:?}");
        assert!(err.to_string().contains("0001_init.sql"), "{err}");
        assert!(err.to_string().contains("deadbeef"), "{err}");
        assert!(matches!(m.apply().await, Err(ChError::Drift { .. })));
        assert!(matches!(
            m.list().await.unwrap()[0].state,
            MigrationState::Applied {
                checksum_matches: false,
                ..
            }
        ));
        let good = m.migrations()[0].checksum();
        admin(&format!(
            "INSERT INTO {table} (version, name, checksum, applied_at) \
             VALUES (1, 'init', '{good}', now64(3) + 2)"
        ))
        .await;
        m.verify().await.unwrap();

        // A migration recorded by a newer binary.
        admin(&format!(
            "INSERT INTO {table} (version, name, checksum) VALUES (9999, 'future', 'x')"
        ))
        .await;
        let err = m.verify().await.expect_err("unknown migration");
        assert!(
            matches!(err, ChError::UnknownApplied { version: 9999, .. }),
            "{err:?}"
        );
        assert!(matches!(
            m.list().await.unwrap().last().map(|i| &i.state),
            Some(MigrationState::Unknown { .. })
        ));
        admin(&format!(
            "ALTER TABLE {table} DELETE WHERE version = 9999 SETTINGS mutations_sync = 2"
        ))
        .await;
        m.verify().await.unwrap();

        // More migrations: pending ones apply in order. One failing half-way keeps its first
        // statement (no transactional DDL), is not recorded, and completes once fixed.
        let extra = |sql: &'static str, version: i64, file: &'static str| Migration {
            version,
            file,
            sql,
        };
        let mut set = m.migrations().to_vec();
        set.push(extra(
            "CREATE TABLE IF NOT EXISTS `{db}`.`{dp}extra_ok` (x Int32) ENGINE = MergeTree ORDER BY x;",
            1001,
            "1001_extra_ok.sql",
        ));
        set.push(extra(
            "CREATE TABLE IF NOT EXISTS `{db}`.`{dp}extra_half` (x Int32) ENGINE = MergeTree ORDER BY x;\n\
             SELECT no_such_function();",
            1002,
            "1002_extra_half.sql",
        ));
        let m2 = store.migrator().with_migrations(set.clone());
        assert_eq!(
            m2.plan().await.unwrap().iter().map(|m| m.version).collect::<Vec<_>>(),
            vec![1001, 1002]
        );
        let err = m2.apply().await.expect_err("1002 fails");
        assert!(matches!(err, ChError::Apply { version: 1002, .. }), "{err:?}");
        assert!(err.to_string().contains("1002_extra_half.sql"), "{err}");
        let cause = std::error::Error::source(&err).expect("ClickHouse's error kept as cause");
        assert!(cause.to_string().contains("no_such_function"), "{cause}");
        assert_eq!(m2.pending_count().await.unwrap(), 1, "1001 stays applied");
        let tables = admin(&format!("SHOW TABLES FROM `{db}`")).await;
        assert!(tables.lines().any(|l| l == "extra_half"), "first statement stays");
        set.pop();
        set.push(extra(
            "CREATE TABLE IF NOT EXISTS `{db}`.`{dp}extra_half` (x Int32) ENGINE = MergeTree ORDER BY x;\n\
             SELECT 1;",
            1002,
            "1002_extra_half.sql",
        ));
        let m3 = store.migrator().with_migrations(set);
        assert_eq!(m3.apply().await.unwrap().len(), 1, "rerun from the start");
        assert_eq!(m3.pending_count().await.unwrap(), 0);
        assert_eq!(m.pending_count().await.unwrap(), 0);
    })
    .await;
}

#[tokio::test]
async fn concurrent_apply_is_safe() {
    with_fresh_db(|db| async move {
        let stores: Vec<ChLogStore> = (0..4)
            .map(|_| ChLogStore::new(settings(&db, None)).unwrap())
            .collect();
        let tasks: Vec<_> = stores
            .iter()
            .cloned()
            .map(|s| tokio::spawn(async move { s.migrate().await }))
            .collect();
        for t in tasks {
            t.await.unwrap().expect("concurrent apply succeeds");
        }
        let m = stores[0].migrator();
        assert_eq!(m.pending_count().await.unwrap(), 0);
        m.verify().await.unwrap();
        let listed = m.list().await.unwrap();
        assert_eq!(
            listed.len(),
            migrations::MIGRATIONS.len(),
            "one entry per version"
        );
        outpost_test_support::log_store_suite::run(&stores[1]).await;
    })
    .await;
}

#[tokio::test]
async fn foreign_migrations_table_is_refused() {
    with_fresh_db(|db| async move {
        // golang-migrate's table, as upstream's ClickHouse migrator leaves it.
        admin(&format!("CREATE DATABASE `{db}`")).await;
        admin(&format!(
            "CREATE TABLE `{db}`.schema_migrations (version Int64, dirty UInt8, sequence UInt64) \
             ENGINE = MergeTree ORDER BY sequence"
        ))
        .await;
        let store = ChLogStore::new(settings(&db, None)).unwrap();
        for err in [
            store.pending().await.expect_err("plan"),
            store.migrate().await.expect_err("apply"),
        ] {
            assert!(matches!(err, ChError::ForeignTable { .. }), "{err:?}");
            assert!(err.to_string().contains("checksum"), "{err}");
        }
    })
    .await;
}

/// TTL clause of `table`, from `SHOW CREATE TABLE`.
async fn ttl_of(db: &str, table: &str) -> Option<String> {
    let create = admin(&format!(
        "SHOW CREATE TABLE `{db}`.`{table}` FORMAT TabSeparatedRaw"
    ))
    .await;
    create
        .lines()
        .find(|l| l.starts_with("TTL "))
        .map(str::to_string)
}

#[tokio::test]
async fn retention_sets_changes_and_removes_the_ttl() {
    with_fresh_db(|db| async move {
        let store = migrated_store(&db, None).await;
        assert_eq!(store.applied_retention().await.unwrap(), 0);
        assert_eq!(
            store.apply_retention(0).await.unwrap(),
            RetentionChange::Unchanged { days: 0 }
        );
        assert_eq!(ttl_of(&db, "events").await, None);

        // Rows 40 days old, recent, and in the year 7981 (beyond 32-bit DateTime).
        let run = outpost_test_support::unique("ttl");
        let now = outpost_core::time::now_ms();
        let mk = |name: &str, t| {
            let e = event(&run, &format!("{run}_{name}_e"), "a", t, &[], "{}");
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
        let old = mk("old", now - Duration::days(40));
        let recent = mk("recent", now - Duration::days(2));
        let far = mk("far", Utc.with_ymd_and_hms(7981, 9, 2, 14, 13, 20).unwrap());
        store
            .insert(&[old.clone(), recent.clone(), far.clone()])
            .await
            .unwrap();

        assert_eq!(
            store.apply_retention(30).await.unwrap(),
            RetentionChange::Set { from: 0, to: 30 }
        );
        assert_eq!(
            ttl_of(&db, "events").await.as_deref(),
            Some("TTL event_time + toIntervalDay(30)")
        );
        assert_eq!(
            ttl_of(&db, "attempts").await.as_deref(),
            Some("TTL attempt_time + toIntervalDay(30)")
        );
        assert_eq!(store.applied_retention().await.unwrap(), 30);
        assert_eq!(
            store.apply_retention(30).await.unwrap(),
            RetentionChange::Unchanged { days: 30 }
        );
        // Merges apply the TTL: the 40-day-old rows go, the others (far future too) stay.
        for t in ["events", "attempts"] {
            admin(&format!("OPTIMIZE TABLE `{db}`.`{t}` FINAL")).await;
        }
        assert!(
            store
                .get_event(None, &old.event.id)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .get_attempt(None, &old.attempt.id)
                .await
                .unwrap()
                .is_none()
        );
        for kept in [&recent, &far] {
            assert!(
                store
                    .get_event(None, &kept.event.id)
                    .await
                    .unwrap()
                    .is_some()
            );
            assert!(
                store
                    .get_attempt(None, &kept.attempt.id)
                    .await
                    .unwrap()
                    .is_some()
            );
        }

        assert_eq!(
            store.apply_retention(7).await.unwrap(),
            RetentionChange::Set { from: 30, to: 7 }
        );
        assert_eq!(
            ttl_of(&db, "attempts").await.as_deref(),
            Some("TTL attempt_time + toIntervalDay(7)")
        );
        assert_eq!(
            store.apply_retention(0).await.unwrap(),
            RetentionChange::Removed { from: 7 }
        );
        assert_eq!(ttl_of(&db, "events").await, None);
        assert_eq!(ttl_of(&db, "attempts").await, None);
        assert_eq!(store.applied_retention().await.unwrap(), 0);

        // A change interrupted after the tables were altered (value not recorded) completes:
        // removing a TTL that is already gone counts as done.
        admin(&format!(
            "INSERT INTO `{db}`.outpost_settings (key, value, updated_at) \
             VALUES ('log_retention_ttl_days', '5', now64(9) + 1)"
        ))
        .await;
        assert_eq!(
            store.apply_retention(0).await.unwrap(),
            RetentionChange::Removed { from: 5 }
        );
    })
    .await;
}
