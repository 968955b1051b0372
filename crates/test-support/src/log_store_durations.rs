//! Conformance of the attempt send durations (ours, not upstream's): a stored duration reads back
//! as written, an attempt without one stays without, a retried write replaces it, and the
//! attempt aggregates count, sum and take the maximum over the attempts that have one.
//! Run by [`crate::log_store_suite::run`].

use crate::log_store_suite::{attempt, attempt_query, entry, event};
use chrono::Duration;
use outpost_core::event::AttemptStatus;
use outpost_core::metrics::AggregateQuery;
use outpost_core::ports::LogStore;
use outpost_core::time::now_ms;

/// Checks durations on attempts of a tenant unique to `run`.
pub async fn durations(store: &dyn LogStore, run: &str) {
    let tenant = format!("{run}_dur");
    let t0 = now_ms() - Duration::minutes(10);
    let e = event(&tenant, &format!("{run}_dur_e"), "t", t0, &["d"], "{}");
    let mut entries = Vec::new();
    for (i, d) in [Some(10u64), Some(30), None, Some(5)]
        .into_iter()
        .enumerate()
    {
        let mut a = attempt(
            &e,
            &format!("{run}_dur_a{i}"),
            "d",
            i as u32 + 1,
            AttemptStatus::Failed,
            t0 + Duration::seconds(i as i64),
        );
        a.duration_ms = d;
        entries.push(entry(&e, &a));
    }
    store.insert(&entries).await.expect("insert");
    // The last one written again with another duration (a status update) replaces it.
    let mut again = entries[3].clone();
    again.attempt.status = AttemptStatus::Success;
    again.attempt.duration_ms = Some(50);
    store
        .insert(std::slice::from_ref(&again))
        .await
        .expect("insert");

    let got = store
        .list_attempts(&attempt_query(&[&tenant]))
        .await
        .expect("list_attempts");
    let mut read: Vec<(String, Option<u64>)> = got
        .items
        .iter()
        .map(|r| (r.attempt.id.clone(), r.attempt.duration_ms))
        .collect();
    read.sort();
    let want: Vec<(String, Option<u64>)> = [Some(10), Some(30), None, Some(50)]
        .into_iter()
        .enumerate()
        .map(|(i, d)| (format!("{run}_dur_a{i}"), d))
        .collect();
    assert_eq!(read, want, "durations read back");
    let one = store
        .get_attempt(Some(&tenant), &format!("{run}_dur_a1"))
        .await
        .expect("get_attempt")
        .expect("attempt a1");
    assert_eq!(one.attempt.duration_ms, Some(30));

    let q = AggregateQuery {
        start: t0 - Duration::minutes(1),
        end: t0 + Duration::minutes(1),
        granularity: None,
        dimensions: vec![],
        filters: [("tenant_id".to_string(), vec![tenant.clone()])].into(),
    };
    let rows = store.attempt_aggregates(&q).await.expect("aggregates");
    assert_eq!(rows.len(), 1, "{rows:?}");
    let r = &rows[0];
    assert_eq!(r.count, 4);
    assert_eq!(
        (r.duration_count, r.duration_sum_ms, r.duration_max_ms),
        (3, 90, 50),
        "durations aggregate over the attempts that have one"
    );
}
