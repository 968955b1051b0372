//! Aggregates on generated data against the in-memory reference store, the aggregate time limit,
//! and insert throughput (printed: run with `--nocapture`).

use super::{migrated_store, with_fresh_db};
use chrono::{Duration, TimeZone, Utc};
use outpost_core::event::{AttemptStatus, LogEntry};
use outpost_core::metrics::{AggregateQuery, Granularity, TOO_BROAD};
use outpost_core::ports::{LogStore, MemoryLogStore};
use outpost_test_support::log_store_suite::{attempt, entry, event};

/// Aggregates over generated data (with status updates stored as second versions) equal the
/// in-memory reference store's, for several granularities, dimensions and filters; prints
/// load and query times (run with `--nocapture` to see them).
#[tokio::test]
async fn aggregates_match_the_memory_store() {
    with_fresh_db(|db| async move {
        let store = migrated_store(&db, None).await;
        let memory = MemoryLogStore::new();
        let base = Utc.with_ymd_and_hms(2031, 1, 28, 0, 0, 0).unwrap();
        let span_ms: i64 = 40 * 86_400_000;
        let (events, per_event) = (3000usize, 4usize);
        let mut entries = Vec::with_capacity(events * per_event);
        for i in 0..events {
            let t = base + Duration::milliseconds((i as i64 * 79_199_931) % span_ms);
            let dests: Vec<String> = (0..i % 4)
                .map(|k| format!("d{}", (i + k * 7) % 9))
                .collect();
            let dests: Vec<&str> = dests.iter().map(String::as_str).collect();
            let e = event(
                &format!("t{}", i % 7),
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
                let dest = dests.get(n % dests.len().max(1)).copied().unwrap_or("d0");
                let mut a = attempt(&e, &format!("a{i}_{n}"), dest, n as u32 + 1, status, at);
                a.destination_type = if i % 4 == 0 { "aws_sqs" } else { "webhook" }.into();
                a.manual = (i + n) % 11 == 0;
                a.code = if ok {
                    "200".into()
                } else {
                    ["500", "503", "ERR"][(i + n) % 3].into()
                };
                a.duration_ms = (n != 2).then_some((i * 31 + n * 7) as u64 % 900);
                entries.push(entry(&e, &a));
            }
        }
        let started = std::time::Instant::now();
        for chunk in entries.chunks(2000) {
            store.insert(chunk).await.unwrap();
            memory.insert(chunk).await.unwrap();
        }
        // Every fifth attempt updated afterwards: failed ones succeed, with a new code.
        let updates: Vec<LogEntry> = entries
            .iter()
            .step_by(5)
            .map(|en| {
                let mut u = en.clone();
                u.attempt.status = AttemptStatus::Success;
                u.attempt.code = "201".into();
                u.attempt.duration_ms = Some(1000);
                u
            })
            .collect();
        for chunk in updates.chunks(2000) {
            store.insert(chunk).await.unwrap();
            memory.insert(chunk).await.unwrap();
        }
        println!(
            "aggregates: loaded {} attempts / {events} events (+{} updates) in {:?}",
            entries.len(),
            updates.len(),
            started.elapsed()
        );
        let q = |g: Option<&str>, dims: &[&str], filters: &[(&str, &[&str])]| AggregateQuery {
            start: base,
            end: base + Duration::milliseconds(span_ms - 86_400_000),
            granularity: g.map(|g| Granularity::parse(g).unwrap()),
            dimensions: dims.iter().map(|s| s.to_string()).collect(),
            filters: filters
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
                .collect(),
        };
        let cases = [
            (true, q(Some("1h"), &["destination_id", "status"], &[])),
            (true, q(None, &[], &[])),
            (
                true,
                q(Some("1d"), &outpost_core::metrics::ATTEMPT_DIMENSIONS, &[]),
            ),
            (true, q(Some("15m"), &["code"], &[("tenant_id", &["t3"])])),
            (
                true,
                q(
                    Some("1w"),
                    &["manual", "attempt_number"],
                    &[("status", &["failed"])],
                ),
            ),
            (
                true,
                q(
                    Some("1M"),
                    &["tenant_id"],
                    &[("code", &["201", "ERR"]), ("manual", &["false"])],
                ),
            ),
            (false, q(Some("1h"), &["destination_id"], &[])),
            (
                false,
                q(
                    Some("1M"),
                    &["tenant_id", "topic"],
                    &[("destination_id", &["d1", "d2"])],
                ),
            ),
            (false, q(Some("2w"), &[], &[("topic", &["topic.1"])])),
        ];
        for (attempts, query) in &cases {
            let started = std::time::Instant::now();
            let (got, want) = if *attempts {
                (
                    store.attempt_aggregates(query).await,
                    memory.attempt_aggregates(query).await,
                )
            } else {
                (
                    store.event_aggregates(query).await,
                    memory.event_aggregates(query).await,
                )
            };
            let got = got.unwrap();
            println!(
                "aggregates: {} {:?} by {:?}: {} rows in {:?}",
                if *attempts { "attempts" } else { "events" },
                query.granularity.map(|g| g.as_string()),
                query.dimensions,
                got.len(),
                started.elapsed()
            );
            assert!(!got.is_empty(), "{query:?} finds rows");
            assert_eq!(got, want.unwrap(), "{query:?}: same as the memory store");
        }

        // The time limit stops a query and reports it as too broad; the store stays usable.
        let hasty = store
            .clone()
            .with_aggregate_timeout(std::time::Duration::from_millis(1));
        let all_dims = q(Some("1s"), &outpost_core::metrics::ATTEMPT_DIMENSIONS, &[]);
        let err = hasty
            .attempt_aggregates(&all_dims)
            .await
            .expect_err("1 ms is too short for 12 000 attempts");
        assert!(err.to_string().contains(TOO_BROAD), "{err}");
        let total = q(None, &[], &[]);
        assert_eq!(
            store.attempt_aggregates(&total).await.unwrap(),
            memory.attempt_aggregates(&total).await.unwrap()
        );
    })
    .await;
}

/// Insert throughput; prints, asserts nothing (run with `--nocapture` to see it).
#[tokio::test]
async fn insert_throughput() {
    with_fresh_db(|db| async move {
        let store = migrated_store(&db, None).await;
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
