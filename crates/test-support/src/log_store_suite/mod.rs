//! Conformance suite of the `LogStore` port: every implementation (memory, Postgres) must pass
//! it. Tenants, events, attempts and destinations get ids unique to the run, so a shared
//! backend is fine; every list query is scoped by tenant or by those ids.
//!
//! Covered: insert idempotency (same batch twice, attempt update, stored event kept, duplicate
//! attempt ids within a batch), get by id with and without tenant restriction, every filter of
//! `EventQuery` / `AttemptQuery`, both sort directions, next/prev paging over several pages
//! with ties in time, `latest_attempt`, byte-exact `data`, and the four time-range operators.
//!
//! Metrics aggregates are checked against hand-computed expectations: events and attempts of
//! three tenants, three topics and destinations, two destination types, several statuses,
//! codes, manual flags and attempt numbers across a week spanning a month (and quarter) end;
//! every dimension alone and combined, filters, granularities `1s`, `15m`, `1h`, `1d`, `1w`,
//! `1M`, `3M` and none, window bounds. The fixtures sit in 2024 moved by a run-specific number
//! of 400-year calendar cycles, so unfiltered aggregates see only the run's rows.

use chrono::Duration;
use outpost_core::event::{Attempt, AttemptStatus, Event, LogEntry};
use outpost_core::metrics::{AggregateQuery, AggregateRow, Granularity};
use outpost_core::ports::page::{Dir, Page, PageCursor, PageRequest};
use outpost_core::ports::{AttemptQuery, AttemptRecord, EventQuery, LogKey, LogStore, TimeRange};
use outpost_core::time::{Timestamp, now_ms};
use serde_json::value::RawValue;

mod aggregate_fixture;
mod aggregates;
mod queries;
mod records;

use aggregates::aggregates;
use queries::{attempt_filters, event_filters, paging};
use records::{idempotency, insert_and_get, latest, raw_data, time_ranges};

/// An event with metadata `{"source": "suite"}`, routed to `matched`.
pub fn event(
    tenant: &str,
    id: &str,
    topic: &str,
    time: Timestamp,
    matched: &[&str],
    data: &str,
) -> Event {
    Event {
        id: id.into(),
        tenant_id: tenant.into(),
        destination_id: String::new(),
        matched_destination_ids: matched.iter().map(|s| s.to_string()).collect(),
        topic: topic.into(),
        eligible_for_retry: true,
        time,
        metadata: [("source".to_string(), "suite".to_string())].into(),
        data: RawValue::from_string(data.to_string()).expect("valid JSON"),
    }
}

/// An attempt of `event` to `destination` (type `webhook`, code 200/503 by status).
pub fn attempt(
    event: &Event,
    id: &str,
    destination: &str,
    number: u32,
    status: AttemptStatus,
    time: Timestamp,
) -> Attempt {
    Attempt {
        id: id.into(),
        tenant_id: event.tenant_id.clone(),
        event_id: event.id.clone(),
        destination_id: destination.into(),
        destination_type: "webhook".into(),
        attempt_number: number,
        manual: false,
        status,
        time,
        code: match status {
            AttemptStatus::Success => "200".into(),
            AttemptStatus::Failed => "503".into(),
        },
        response_data: Some(serde_json::json!({"status": 200, "body": "ok"})),
        duration_ms: None,
    }
}

/// A log entry.
pub fn entry(event: &Event, attempt: &Attempt) -> LogEntry {
    LogEntry {
        event: event.clone(),
        attempt: attempt.clone(),
        destination: None,
        telemetry: None,
    }
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn page(dir: Dir, limit: usize) -> PageRequest<LogKey> {
    PageRequest {
        dir,
        limit,
        cursor: None,
    }
}

/// An event query on `tenants`, newest first, 100 per page.
pub fn event_query(tenants: &[&str]) -> EventQuery {
    EventQuery {
        tenant_ids: strs(tenants),
        ids: vec![],
        destination_ids: vec![],
        topics: vec![],
        time: TimeRange::default(),
        page: page(Dir::Desc, 100),
    }
}

/// An attempt query on `tenants`, newest first, 100 per page.
pub fn attempt_query(tenants: &[&str]) -> AttemptQuery {
    AttemptQuery {
        tenant_ids: strs(tenants),
        event_ids: vec![],
        destination_ids: vec![],
        destination_types: vec![],
        status: None,
        topics: vec![],
        time: TimeRange::default(),
        page: page(Dir::Desc, 100),
    }
}

async fn event_ids(store: &dyn LogStore, q: &EventQuery) -> Vec<String> {
    let p = store.list_events(q).await.expect("list_events");
    p.items.into_iter().map(|e| e.id).collect()
}

async fn attempt_ids(store: &dyn LogStore, q: &AttemptQuery) -> Vec<String> {
    let p = store.list_attempts(q).await.expect("list_attempts");
    p.items.into_iter().map(|r| r.attempt.id).collect()
}

/// Asserts an attempt record's event matches `want` (attempt rows need not carry the routing
/// fields `destination_id` / `matched_destination_ids`: they may come back empty).
fn assert_record_event(got: &Event, want: &Event) {
    assert_eq!(got.id, want.id);
    assert_eq!(got.tenant_id, want.tenant_id);
    assert_eq!(got.topic, want.topic);
    assert_eq!(got.time, want.time);
    assert_eq!(got.eligible_for_retry, want.eligible_for_retry);
    assert_eq!(got.metadata, want.metadata);
    assert_eq!(
        got.data.get(),
        want.data.get(),
        "event data kept byte for byte"
    );
    assert!(got.destination_id.is_empty() || got.destination_id == want.destination_id);
    assert!(
        got.matched_destination_ids.is_empty()
            || got.matched_destination_ids == want.matched_destination_ids
    );
}

/// Runs every check against `store`.
pub async fn run(store: &dyn LogStore) {
    let run = crate::unique("ls");
    insert_and_get(store, &run).await;
    idempotency(store, &run).await;
    event_filters(store, &run).await;
    attempt_filters(store, &run).await;
    paging(store, &run).await;
    latest(store, &run).await;
    raw_data(store, &run).await;
    time_ranges(store, &run).await;
    aggregates(store, &run).await;
    crate::log_store_durations::durations(store, &run).await;
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn memory_store_conforms() {
        let store = outpost_core::ports::MemoryLogStore::new();
        super::run(&store).await;
    }

    /// The embedded store is bounded: beyond its capacity the oldest entries go.
    #[tokio::test]
    async fn memory_store_evicts_the_oldest_beyond_capacity() {
        use outpost_core::event::{AttemptStatus, LogEntry};
        use outpost_core::ports::LogStore;
        use outpost_core::time::from_unix_ms;
        let store = outpost_core::ports::MemoryLogStore::with_capacity(3);
        let entry = |n: i64| {
            let time = from_unix_ms(n * 1000);
            let e = super::event("t", &format!("e{n}"), "x", time, &[], "{}");
            super::entry(
                &e,
                &super::attempt(&e, &format!("a{n}"), "d", 1, AttemptStatus::Success, time),
            )
        };
        let entries: Vec<LogEntry> = (1..=5).map(entry).collect();
        store.insert(&entries).await.unwrap();
        assert!(
            store.get_event(None, "e1").await.unwrap().is_none(),
            "oldest evicted"
        );
        assert!(store.get_event(None, "e2").await.unwrap().is_none());
        assert!(store.get_event(None, "e3").await.unwrap().is_some());
        assert!(store.get_attempt(None, "a2").await.unwrap().is_none());
        assert!(store.get_attempt(None, "a5").await.unwrap().is_some());
    }
}
