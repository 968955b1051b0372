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

async fn insert_and_get(store: &dyn LogStore, run: &str) {
    let tenant = format!("{run}_get");
    let other = format!("{run}_get_other");
    let t0 = now_ms() - Duration::minutes(30);
    let (d1, d2) = (format!("{run}_d1"), format!("{run}_d2"));
    let mut e = event(
        &tenant,
        &format!("{run}_get_e1"),
        "user.created",
        t0,
        &[&d1, &d2],
        r#"{"user": {"id": 1}}"#,
    );
    e.destination_id = d1.clone();
    e.eligible_for_retry = false;
    let mut a1 = attempt(
        &e,
        &format!("{run}_get_a1"),
        &d1,
        1,
        AttemptStatus::Failed,
        t0,
    );
    a1.response_data = Some(serde_json::json!({"status": 503, "body": "busy"}));
    let mut a2 = attempt(
        &e,
        &format!("{run}_get_a2"),
        &d2,
        1,
        AttemptStatus::Success,
        t0 + Duration::milliseconds(5),
    );
    a2.response_data = None;
    a2.destination_type = "aws_sqs".into();
    a2.code = "OK".into();
    a2.manual = true;
    store.insert(&[]).await.expect("empty batch");
    store
        .insert(&[entry(&e, &a1), entry(&e, &a2)])
        .await
        .expect("insert");

    let got = store.get_event(None, &e.id).await.unwrap();
    assert_eq!(got.as_ref(), Some(&e), "event round-trips whole");
    assert_eq!(
        store.get_event(Some(&tenant), &e.id).await.unwrap(),
        Some(e.clone())
    );
    assert_eq!(store.get_event(Some(&other), &e.id).await.unwrap(), None);
    assert_eq!(
        store
            .get_event(None, &format!("{run}_missing"))
            .await
            .unwrap(),
        None
    );

    for a in [&a1, &a2] {
        let r = store
            .get_attempt(None, &a.id)
            .await
            .unwrap()
            .expect("attempt");
        assert_eq!(&r.attempt, a, "attempt round-trips whole");
        assert_record_event(&r.event, &e);
        let r = store.get_attempt(Some(&tenant), &a.id).await.unwrap();
        assert_eq!(r.map(|r| r.attempt), Some(a.clone()));
        assert!(
            store
                .get_attempt(Some(&other), &a.id)
                .await
                .unwrap()
                .is_none()
        );
    }
    assert!(
        store
            .get_attempt(None, &format!("{run}_missing"))
            .await
            .unwrap()
            .is_none()
    );
    // Listing returns the same records.
    let p = store
        .list_attempts(&attempt_query(&[&tenant]))
        .await
        .unwrap();
    assert_eq!(p.items.len(), 2);
    assert_eq!(p.items[0].attempt, a2);
    assert_eq!(p.items[1].attempt, a1);
    assert_eq!((p.next, p.prev), (None, None));
    let p = store.list_events(&event_query(&[&tenant])).await.unwrap();
    assert_eq!(p.items, vec![e]);
}

async fn idempotency(store: &dyn LogStore, run: &str) {
    let tenant = format!("{run}_idem");
    let t0 = now_ms() - Duration::minutes(20);
    let d = format!("{run}_idem_d");
    let e = event(
        &tenant,
        &format!("{run}_idem_e"),
        "a",
        t0,
        &[&d],
        r#"{"v":1}"#,
    );
    let a1 = attempt(
        &e,
        &format!("{run}_idem_a1"),
        &d,
        1,
        AttemptStatus::Failed,
        t0,
    );
    let a2 = attempt(
        &e,
        &format!("{run}_idem_a2"),
        &d,
        2,
        AttemptStatus::Failed,
        t0 + Duration::seconds(1),
    );
    let batch = [entry(&e, &a1), entry(&e, &a2)];
    store.insert(&batch).await.unwrap();
    store.insert(&batch).await.expect("same batch again");
    assert_eq!(
        event_ids(store, &event_query(&[&tenant])).await,
        vec![e.id.clone()]
    );
    assert_eq!(
        attempt_ids(store, &attempt_query(&[&tenant])).await,
        vec![a2.id.clone(), a1.id.clone()]
    );

    // A stored attempt is updated (status, code, response); a stored event is kept, even if
    // the entry carries a different version of it.
    let mut changed = e.clone();
    changed.topic = "b".into();
    changed.data = RawValue::from_string(r#"{"v":2}"#.into()).unwrap();
    changed.time = t0 + Duration::seconds(3);
    changed.matched_destination_ids = vec![];
    let mut a2b = a2.clone();
    a2b.status = AttemptStatus::Success;
    a2b.code = "200".into();
    a2b.response_data = Some(serde_json::json!({"status": 200, "body": "finally"}));
    store.insert(&[entry(&changed, &a2b)]).await.unwrap();
    assert_eq!(store.get_event(None, &e.id).await.unwrap(), Some(e.clone()));
    assert_eq!(
        event_ids(store, &event_query(&[&tenant])).await,
        vec![e.id.clone()]
    );
    let r = store.get_attempt(None, &a2.id).await.unwrap().unwrap();
    assert_eq!(r.attempt, a2b, "attempt updated in place");
    assert_eq!(
        attempt_ids(store, &attempt_query(&[&tenant])).await,
        vec![a2.id.clone(), a1.id.clone()]
    );
    // A status filter sees only the latest version of an updated attempt (a store that keeps
    // versions must filter after picking the latest, not before).
    let mut f = attempt_query(&[&tenant]);
    f.status = Some(AttemptStatus::Failed);
    assert_eq!(attempt_ids(store, &f).await, vec![a1.id.clone()]);
    f.status = Some(AttemptStatus::Success);
    assert_eq!(attempt_ids(store, &f).await, vec![a2.id.clone()]);

    // The same attempt twice in one batch: the last one wins, no error.
    let a3 = attempt(
        &e,
        &format!("{run}_idem_a3"),
        &d,
        3,
        AttemptStatus::Failed,
        t0 + Duration::seconds(2),
    );
    let mut a3b = a3.clone();
    a3b.status = AttemptStatus::Success;
    a3b.code = "200".into();
    store
        .insert(&[entry(&e, &a3), entry(&e, &a3b)])
        .await
        .expect("duplicate attempt ids in one batch");
    let r = store.get_attempt(None, &a3.id).await.unwrap().unwrap();
    assert_eq!(r.attempt, a3b);
    assert_eq!(
        attempt_ids(store, &attempt_query(&[&tenant])).await.len(),
        3
    );
}

async fn event_filters(store: &dyn LogStore, run: &str) {
    let (t1, t2) = (format!("{run}_ef1"), format!("{run}_ef2"));
    let d = |n: u32| format!("{run}_efd{n}");
    let (d1, d2, d3) = (d(1), d(2), d(3));
    let base = now_ms() - Duration::minutes(10);
    let at = |s: i64| base + Duration::seconds(s);
    let id = |n: u32| format!("{run}_ef_e{n}");
    let evs = [
        event(&t1, &id(1), "a", at(1), &[&d1], "{}"),
        event(&t1, &id(2), "b", at(2), &[&d2], "{}"),
        event(&t1, &id(3), "a", at(3), &[&d1, &d3], "{}"),
        event(&t1, &id(4), "c", at(4), &[], "{}"),
        event(&t2, &id(5), "a", at(5), &[&d1], "{}"),
    ];
    let entries: Vec<LogEntry> = evs
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let dest = e
                .matched_destination_ids
                .first()
                .cloned()
                .unwrap_or_default();
            entry(
                e,
                &attempt(
                    e,
                    &format!("{run}_ef_a{i}"),
                    &dest,
                    1,
                    AttemptStatus::Success,
                    e.time,
                ),
            )
        })
        .collect();
    store.insert(&entries).await.unwrap();

    let ids = |v: &[u32]| v.iter().map(|n| id(*n)).collect::<Vec<_>>();
    let q = |tenants: &[&str]| event_query(tenants);
    assert_eq!(event_ids(store, &q(&[&t1])).await, ids(&[4, 3, 2, 1]));
    assert_eq!(
        event_ids(store, &q(&[&t1, &t2])).await,
        ids(&[5, 4, 3, 2, 1])
    );
    assert_eq!(event_ids(store, &q(&[&t2])).await, ids(&[5]));

    let mut by_id = q(&[]);
    by_id.ids = ids(&[1, 5, 9]);
    assert_eq!(
        event_ids(store, &by_id).await,
        ids(&[5, 1]),
        "ids without tenant"
    );
    by_id.tenant_ids = vec![t1.clone()];
    assert_eq!(
        event_ids(store, &by_id).await,
        ids(&[1]),
        "ids within tenant"
    );

    let mut topics = q(&[&t1, &t2]);
    topics.topics = strs(&["a"]);
    assert_eq!(event_ids(store, &topics).await, ids(&[5, 3, 1]));
    topics.topics = strs(&["a", "b"]);
    topics.tenant_ids = vec![t1.clone()];
    assert_eq!(event_ids(store, &topics).await, ids(&[3, 2, 1]));
    topics.topics = strs(&["zzz"]);
    assert!(event_ids(store, &topics).await.is_empty());

    let mut dests = q(&[&t1, &t2]);
    dests.destination_ids = vec![d3.clone()];
    assert_eq!(event_ids(store, &dests).await, ids(&[3]));
    dests.destination_ids = vec![d1.clone()];
    assert_eq!(event_ids(store, &dests).await, ids(&[5, 3, 1]));
    dests.destination_ids = vec![d2.clone(), d3.clone()];
    assert_eq!(event_ids(store, &dests).await, ids(&[3, 2]), "any overlap");
    dests.destination_ids = vec![d1.clone()];
    dests.topics = strs(&["a"]);
    dests.tenant_ids = vec![t1.clone()];
    dests.ids = ids(&[1, 2, 4]);
    assert_eq!(event_ids(store, &dests).await, ids(&[1]), "filters combine");

    let mut asc = q(&[&t1]);
    asc.page.dir = Dir::Asc;
    assert_eq!(event_ids(store, &asc).await, ids(&[1, 2, 3, 4]));
}

async fn attempt_filters(store: &dyn LogStore, run: &str) {
    let (t1, t2) = (format!("{run}_af1"), format!("{run}_af2"));
    let d = |n: u32| format!("{run}_afd{n}");
    let (d1, d2, d3) = (d(1), d(2), d(3));
    let base = now_ms() - Duration::minutes(9);
    let at = |s: i64| base + Duration::seconds(s);
    let e1 = event(&t1, &format!("{run}_af_e1"), "a", at(0), &[&d1, &d2], "{}");
    let e2 = event(&t1, &format!("{run}_af_e2"), "b", at(0), &[&d2, &d3], "{}");
    let e3 = event(&t2, &format!("{run}_af_e3"), "a", at(0), &[&d1], "{}");
    let id = |n: u32| format!("{run}_af_x{n}");
    let mk = |e: &Event, n: u32, dest: &str, num: u32, s: AttemptStatus, ty: &str| {
        let mut a = attempt(e, &id(n), dest, num, s, at(n as i64));
        a.destination_type = ty.into();
        entry(e, &a)
    };
    use AttemptStatus::{Failed, Success};
    let entries = [
        mk(&e1, 1, &d1, 1, Failed, "webhook"),
        mk(&e1, 2, &d1, 2, Success, "webhook"),
        mk(&e1, 3, &d2, 1, Success, "aws_sqs"),
        mk(&e2, 4, &d2, 1, Failed, "aws_sqs"),
        mk(&e2, 5, &d3, 1, Success, "webhook"),
        mk(&e3, 6, &d1, 1, Success, "webhook"),
    ];
    store.insert(&entries).await.unwrap();

    let ids = |v: &[u32]| v.iter().map(|n| id(*n)).collect::<Vec<_>>();
    let q = |tenants: &[&str]| attempt_query(tenants);
    assert_eq!(attempt_ids(store, &q(&[&t1])).await, ids(&[5, 4, 3, 2, 1]));
    assert_eq!(
        attempt_ids(store, &q(&[&t1, &t2])).await,
        ids(&[6, 5, 4, 3, 2, 1])
    );

    let mut f = q(&[]);
    f.event_ids = vec![e1.id.clone(), e3.id.clone()];
    assert_eq!(
        attempt_ids(store, &f).await,
        ids(&[6, 3, 2, 1]),
        "event ids without tenant"
    );

    let mut f = q(&[&t1, &t2]);
    f.destination_ids = vec![d1.clone()];
    assert_eq!(attempt_ids(store, &f).await, ids(&[6, 2, 1]));
    f.destination_ids = vec![d2.clone(), d3.clone()];
    assert_eq!(attempt_ids(store, &f).await, ids(&[5, 4, 3]));

    let mut f = q(&[&t1, &t2]);
    f.destination_types = strs(&["aws_sqs"]);
    assert_eq!(attempt_ids(store, &f).await, ids(&[4, 3]));
    f.destination_types = strs(&["aws_sqs", "webhook"]);
    assert_eq!(attempt_ids(store, &f).await.len(), 6);

    let mut f = q(&[&t1, &t2]);
    f.status = Some(Failed);
    assert_eq!(attempt_ids(store, &f).await, ids(&[4, 1]));
    f.status = Some(Success);
    assert_eq!(attempt_ids(store, &f).await, ids(&[6, 5, 3, 2]));

    let mut f = q(&[&t1, &t2]);
    f.topics = strs(&["b"]);
    assert_eq!(
        attempt_ids(store, &f).await,
        ids(&[5, 4]),
        "topic of the event"
    );
    f.topics = strs(&["a"]);
    assert_eq!(attempt_ids(store, &f).await, ids(&[6, 3, 2, 1]));

    let mut f = q(&[&t1]);
    f.topics = strs(&["a"]);
    f.status = Some(Success);
    f.destination_ids = vec![d1.clone()];
    f.destination_types = strs(&["webhook"]);
    f.event_ids = vec![e1.id.clone()];
    assert_eq!(attempt_ids(store, &f).await, ids(&[2]), "filters combine");
    f.destination_types = strs(&["aws_sqs"]);
    assert!(attempt_ids(store, &f).await.is_empty());

    let mut asc = q(&[&t1]);
    asc.page.dir = Dir::Asc;
    assert_eq!(attempt_ids(store, &asc).await, ids(&[1, 2, 3, 4, 5]));
}

/// Pages through with `next` until the end, then back with `prev`; returns the forward pages.
async fn walk<T, F, Fut>(fetch: F, dir: Dir, limit: usize, id: fn(&T) -> String) -> Vec<Vec<String>>
where
    F: Fn(PageRequest<LogKey>) -> Fut,
    Fut: std::future::Future<Output = Page<T, LogKey>>,
{
    let mut forward: Vec<Vec<String>> = Vec::new();
    let mut req = page(dir, limit);
    let mut last: Page<T, LogKey>;
    loop {
        last = fetch(req.clone()).await;
        assert!(last.items.len() <= limit);
        if forward.is_empty() {
            assert_eq!(last.prev, None, "first page has no prev");
        } else {
            assert!(last.prev.is_some(), "later pages have a prev");
        }
        forward.push(last.items.iter().map(id).collect());
        match last.next.clone() {
            Some(k) => req.cursor = Some(PageCursor::Next(k)),
            None => break,
        }
        assert!(forward.len() < 100, "paging terminates");
    }
    // And back to the start.
    let mut backward = vec![forward.last().cloned().unwrap_or_default()];
    let mut prev = last.prev.clone();
    while let Some(k) = prev {
        req.cursor = Some(PageCursor::Prev(k));
        let p = fetch(req.clone()).await;
        assert!(p.next.is_some(), "a page reached backwards has a next");
        backward.push(p.items.iter().map(id).collect());
        prev = p.prev;
        assert!(backward.len() < 100, "paging terminates");
    }
    backward.reverse();
    assert_eq!(backward, forward, "prev pages mirror next pages");
    forward
}

async fn paging(store: &dyn LogStore, run: &str) {
    let tenant = format!("{run}_page");
    let base = now_ms() - Duration::minutes(8);
    // Ids whose bytewise order differs from a locale-aware one; times tie in threes.
    let suffixes = ["b", "B", "a", "Z", "_x", "c", "A", "z", "0", "~", "Ab"];
    let dest = format!("{run}_page_d");
    let mut entries = Vec::new();
    for (i, s) in suffixes.iter().enumerate() {
        let t = base + Duration::milliseconds((i / 3) as i64);
        let e = event(&tenant, &format!("{run}_pe_{s}"), "a", t, &[&dest], "{}");
        let a = attempt(
            &e,
            &format!("{run}_pa_{s}"),
            &dest,
            1,
            AttemptStatus::Success,
            t,
        );
        entries.push(entry(&e, &a));
    }
    // Inserted in two batches, out of order.
    let (x, y) = entries.split_at(5);
    store.insert(y).await.unwrap();
    store.insert(x).await.unwrap();

    let mut want_events: Vec<(i64, String)> = entries
        .iter()
        .map(|e| (e.event.time.timestamp_millis(), e.event.id.clone()))
        .collect();
    want_events.sort();
    let mut want_attempts: Vec<(i64, String)> = entries
        .iter()
        .map(|e| (e.attempt.time.timestamp_millis(), e.attempt.id.clone()))
        .collect();
    want_attempts.sort();

    for dir in [Dir::Asc, Dir::Desc] {
        let mut we: Vec<String> = want_events.iter().map(|(_, id)| id.clone()).collect();
        let mut wa: Vec<String> = want_attempts.iter().map(|(_, id)| id.clone()).collect();
        if dir == Dir::Desc {
            we.reverse();
            wa.reverse();
        }
        for limit in [3, 4, 11, 20] {
            let pages = walk(
                |req| {
                    let mut q = event_query(&[&tenant]);
                    q.page = req;
                    async move { store.list_events(&q).await.expect("list_events") }
                },
                dir,
                limit,
                |e: &Event| e.id.clone(),
            )
            .await;
            assert_eq!(pages.concat(), we, "events {dir:?} limit {limit}");
            assert_eq!(pages.len(), suffixes.len().div_ceil(limit).max(1));

            let pages = walk(
                |req| {
                    let mut q = attempt_query(&[&tenant]);
                    q.page = req;
                    async move { store.list_attempts(&q).await.expect("list_attempts") }
                },
                dir,
                limit,
                |r: &AttemptRecord| r.attempt.id.clone(),
            )
            .await;
            assert_eq!(pages.concat(), wa, "attempts {dir:?} limit {limit}");
        }
    }

    // Paging with a filter (the cursor applies on top of it).
    let mut q = event_query(&[&tenant]);
    q.ids = want_events
        .iter()
        .step_by(2)
        .map(|(_, id)| id.clone())
        .collect();
    q.page = page(Dir::Asc, 2);
    let p1 = store.list_events(&q).await.unwrap();
    q.page.cursor = p1.next.clone().map(PageCursor::Next);
    let p2 = store.list_events(&q).await.unwrap();
    let got: Vec<String> = p1
        .items
        .iter()
        .chain(&p2.items)
        .map(|e| e.id.clone())
        .collect();
    let want: Vec<String> = q.ids.iter().take(4).cloned().collect();
    assert_eq!(got, want);

    // Empty result.
    let p = store
        .list_events(&event_query(&[&format!("{run}_nobody")]))
        .await
        .unwrap();
    assert!(p.items.is_empty());
    assert_eq!((p.next, p.prev), (None, None));
}

async fn latest(store: &dyn LogStore, run: &str) {
    let tenant = format!("{run}_latest");
    let base = now_ms() - Duration::minutes(7);
    let (d1, d2) = (format!("{run}_ld1"), format!("{run}_ld2"));
    let e = event(
        &tenant,
        &format!("{run}_latest_e"),
        "a",
        base,
        &[&d1, &d2],
        "{}",
    );
    let at = |s: i64| base + Duration::seconds(s);
    let a1 = attempt(
        &e,
        &format!("{run}_l1"),
        &d1,
        1,
        AttemptStatus::Failed,
        at(1),
    );
    let a2 = attempt(
        &e,
        &format!("{run}_l2"),
        &d1,
        2,
        AttemptStatus::Failed,
        at(5),
    );
    // Number 3 carries an earlier time than number 2: the number decides.
    let mut a3 = attempt(
        &e,
        &format!("{run}_l3"),
        &d1,
        3,
        AttemptStatus::Success,
        at(3),
    );
    a3.manual = true;
    let b1 = attempt(
        &e,
        &format!("{run}_l4"),
        &d2,
        1,
        AttemptStatus::Success,
        at(9),
    );
    store
        .insert(&[entry(&e, &a2), entry(&e, &a1)])
        .await
        .unwrap();
    let r = store
        .latest_attempt(None, &e.id, &d1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.attempt, a2);
    store
        .insert(&[entry(&e, &b1), entry(&e, &a3)])
        .await
        .unwrap();
    let r = store
        .latest_attempt(None, &e.id, &d1)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.attempt, a3, "highest attempt number wins");
    assert_record_event(&r.event, &e);
    let r = store
        .latest_attempt(Some(&tenant), &e.id, &d2)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.attempt, b1);
    assert!(
        store
            .latest_attempt(Some(&format!("{run}_other")), &e.id, &d1)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .latest_attempt(None, &e.id, &format!("{run}_ld9"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .latest_attempt(None, &format!("{run}_nope"), &d1)
            .await
            .unwrap()
            .is_none()
    );
}

async fn raw_data(store: &dyn LogStore, run: &str) {
    let tenant = format!("{run}_raw");
    let base = now_ms() - Duration::minutes(6);
    let payloads = [
        "{\"z\": 1,   \"a\" :[1,2 , {\"y\":null}],\n\t\"big\": 12345678901234567890123, \"f\": 1.50, \"e\": 1E3}",
        "{\"s\":\"caf\\u00e9 \\\"q\\\" \u{1F600}\",\r\n  \"dup\": 1, \"dup\": 2, \"nul\": \"\\u0000\" }",
        "[3, 2,1]",
        "  {}  ",
        "\"just a string\"",
    ];
    let dest = format!("{run}_raw_d");
    let mut entries = Vec::new();
    for (i, p) in payloads.iter().enumerate() {
        let t = base + Duration::seconds(i as i64);
        let mut e = event(&tenant, &format!("{run}_raw_e{i}"), "a", t, &[&dest], p);
        e.metadata = [
            ("b key".to_string(), "é \"quoted\"".to_string()),
            ("a".to_string(), String::new()),
        ]
        .into();
        let a = attempt(
            &e,
            &format!("{run}_raw_a{i}"),
            &dest,
            1,
            AttemptStatus::Success,
            t,
        );
        entries.push(entry(&e, &a));
    }
    store.insert(&entries).await.unwrap();
    for en in &entries {
        let e = store.get_event(None, &en.event.id).await.unwrap().unwrap();
        assert_eq!(
            e.data.get(),
            en.event.data.get(),
            "get_event keeps the bytes"
        );
        assert_eq!(e.metadata, en.event.metadata);
        let r = store
            .get_attempt(None, &en.attempt.id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            r.event.data.get(),
            en.event.data.get(),
            "attempt keeps the bytes"
        );
        assert_eq!(r.event.metadata, en.event.metadata);
    }
    let mut q = event_query(&[&tenant]);
    q.page.dir = Dir::Asc;
    let listed = store.list_events(&q).await.unwrap();
    let got: Vec<&str> = listed.items.iter().map(|e| e.data.get()).collect();
    let want: Vec<&str> = entries.iter().map(|e| e.event.data.get()).collect();
    assert_eq!(got, want, "list keeps the bytes");
    assert_eq!(want[0], payloads[0]);
}

async fn time_ranges(store: &dyn LogStore, run: &str) {
    let tenant = format!("{run}_time");
    let base = now_ms() - Duration::minutes(5);
    let dest = format!("{run}_time_d");
    let at = |ms: i64| base + Duration::milliseconds(ms);
    let mut entries = Vec::new();
    for i in 0..5i64 {
        let e = event(
            &tenant,
            &format!("{run}_te{i}"),
            "a",
            at(i * 1000),
            &[&dest],
            "{}",
        );
        // Attempt times run the other way round, so event and attempt ranges differ.
        let a = attempt(
            &e,
            &format!("{run}_ta{i}"),
            &dest,
            1,
            AttemptStatus::Success,
            at(60_000 - i * 1000),
        );
        entries.push(entry(&e, &a));
    }
    store.insert(&entries).await.unwrap();
    let ev = |v: &[i64]| v.iter().map(|i| format!("{run}_te{i}")).collect::<Vec<_>>();
    let att = |v: &[i64]| v.iter().map(|i| format!("{run}_ta{i}")).collect::<Vec<_>>();

    let cases: [(TimeRange, Vec<i64>); 7] = [
        (TimeRange::default(), vec![4, 3, 2, 1, 0]),
        (
            TimeRange {
                gte: Some(at(1000)),
                ..Default::default()
            },
            vec![4, 3, 2, 1],
        ),
        (
            TimeRange {
                gt: Some(at(1000)),
                ..Default::default()
            },
            vec![4, 3, 2],
        ),
        (
            TimeRange {
                lte: Some(at(3000)),
                ..Default::default()
            },
            vec![3, 2, 1, 0],
        ),
        (
            TimeRange {
                lt: Some(at(3000)),
                ..Default::default()
            },
            vec![2, 1, 0],
        ),
        (
            TimeRange {
                gte: Some(at(1000)),
                lt: Some(at(3000)),
                ..Default::default()
            },
            vec![2, 1],
        ),
        (
            TimeRange {
                gt: Some(at(999)),
                lte: Some(at(1001)),
                ..Default::default()
            },
            vec![1],
        ),
    ];
    for (range, want) in &cases {
        let mut q = event_query(&[&tenant]);
        q.time = range.clone();
        assert_eq!(event_ids(store, &q).await, ev(want), "events in {range:?}");
    }
    // Attempt ranges apply to the attempt time: attempt i is at 60s - i s.
    let a_at = |i: i64| at(60_000 - i * 1000);
    let cases: [(TimeRange, Vec<i64>); 4] = [
        (
            TimeRange {
                gte: Some(a_at(1)),
                ..Default::default()
            },
            vec![0, 1],
        ),
        (
            TimeRange {
                gt: Some(a_at(1)),
                ..Default::default()
            },
            vec![0],
        ),
        (
            TimeRange {
                lte: Some(a_at(3)),
                lt: Some(a_at(4) + Duration::days(1)),
                ..Default::default()
            },
            vec![3, 4],
        ),
        (
            TimeRange {
                lt: Some(a_at(3)),
                gte: Some(a_at(4)),
                ..Default::default()
            },
            vec![4],
        ),
    ];
    for (range, want) in &cases {
        let mut q = attempt_query(&[&tenant]);
        q.time = range.clone();
        assert_eq!(
            attempt_ids(store, &q).await,
            att(want),
            "attempts in {range:?}"
        );
    }
    // An event-time range does not select attempts by event time.
    let mut q = attempt_query(&[&tenant]);
    q.time = TimeRange {
        lt: Some(at(10_000)),
        ..Default::default()
    };
    assert!(attempt_ids(store, &q).await.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Metrics aggregates (`event_aggregates`, `attempt_aggregates`).
// ---------------------------------------------------------------------------------------------

/// Days in 400 Gregorian years: a whole number of weeks, with the same calendar (weekdays,
/// month lengths, leap years) in every cycle.
const CYCLE_DAYS: i64 = 146_097;

/// A distinct 400-year cycle per run of the process (the aggregate fixtures are written at
/// 2024 dates moved by whole cycles), so unfiltered aggregates of a run see only its own rows
/// even when several runs share a backend.
fn aggregate_cycle() -> i64 {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicI64, Ordering};
    static SEED: OnceLock<i64> = OnceLock::new();
    static NEXT: AtomicI64 = AtomicI64::new(0);
    let seed = *SEED.get_or_init(|| i64::from(uuid::Uuid::new_v4().as_bytes()[0] % 8));
    1 + (seed + NEXT.fetch_add(1, Ordering::Relaxed)) % 15
}

/// Measures of one attempt, as `[count, successful, failed, first_attempt, retry, manual,
/// attempt_number_sum]`.
type Measures = [u64; 7];

struct AggFixture {
    run: String,
    shift: Duration,
}

/// Events: alias, tenant alias, topic, matched destination aliases, time (2024 calendar).
const AGG_EVENTS: [(&str, &str, &str, &[&str], &str); 11] = [
    (
        "e0",
        "tA",
        "user.created",
        &["d1"],
        "2024-03-30T21:59:59.999Z",
    ),
    (
        "e1",
        "tA",
        "user.created",
        &["d1", "d2"],
        "2024-03-30T22:10:00Z",
    ),
    ("e2", "tA", "user.created", &["d1"], "2024-03-31T10:05:00Z"),
    ("e3", "tA", "order.paid", &["d2"], "2024-03-31T10:20:00Z"),
    (
        "e4",
        "tB",
        "user.created",
        &["d1", "d3"],
        "2024-03-31T10:50:00Z",
    ),
    ("e5", "tB", "user.deleted", &["d3"], "2024-03-31T11:00:00Z"),
    ("e6", "tC", "order.paid", &[], "2024-03-31T12:30:00Z"),
    (
        "e7",
        "tA",
        "user.deleted",
        &["d1", "d2", "d3"],
        "2024-04-01T00:00:00Z",
    ),
    (
        "e8",
        "tB",
        "order.paid",
        &["d2", "d1"],
        "2024-04-02T13:45:00Z",
    ),
    (
        "e9",
        "tC",
        "user.created",
        &["d3"],
        "2024-04-06T23:59:59.999Z",
    ),
    ("e10", "tA", "user.created", &["d1"], "2024-04-07T00:00:00Z"),
];

/// Attempts: alias, event alias, destination alias, destination type, attempt number,
/// success, code, manual, time, and the hand-computed measures of the attempt.
#[allow(clippy::type_complexity)]
const AGG_ATTEMPTS: [(
    &str,
    &str,
    &str,
    &str,
    u32,
    bool,
    &str,
    bool,
    &str,
    Measures,
); 17] = [
    (
        "a0",
        "e0",
        "d1",
        "webhook",
        1,
        true,
        "200",
        false,
        "2024-03-30T21:59:59.999Z",
        [1, 1, 0, 1, 0, 0, 1],
    ),
    (
        "a1",
        "e1",
        "d1",
        "webhook",
        1,
        false,
        "503",
        false,
        "2024-03-30T22:10:01Z",
        [1, 0, 1, 1, 0, 0, 1],
    ),
    (
        "a2",
        "e1",
        "d1",
        "webhook",
        2,
        true,
        "200",
        false,
        "2024-03-30T23:10:00Z",
        [1, 1, 0, 0, 1, 0, 2],
    ),
    (
        "a3",
        "e1",
        "d2",
        "aws_sqs",
        1,
        true,
        "OK",
        false,
        "2024-03-30T22:10:02Z",
        [1, 1, 0, 1, 0, 0, 1],
    ),
    (
        "a4",
        "e2",
        "d1",
        "webhook",
        1,
        false,
        "500",
        false,
        "2024-03-31T10:05:00Z",
        [1, 0, 1, 1, 0, 0, 1],
    ),
    (
        "a5",
        "e2",
        "d1",
        "webhook",
        2,
        false,
        "500",
        false,
        "2024-03-31T10:35:00Z",
        [1, 0, 1, 0, 1, 0, 2],
    ),
    (
        "a6",
        "e2",
        "d1",
        "webhook",
        3,
        true,
        "200",
        true,
        "2024-03-31T11:15:00Z",
        [1, 1, 0, 0, 1, 1, 3],
    ),
    (
        "a7",
        "e4",
        "d3",
        "webhook",
        1,
        true,
        "200",
        true,
        "2024-03-31T10:50:00Z",
        [1, 1, 0, 0, 0, 1, 1],
    ),
    (
        "a8",
        "e4",
        "d1",
        "webhook",
        1,
        true,
        "200",
        false,
        "2024-03-31T10:50:00.500Z",
        [1, 1, 0, 1, 0, 0, 1],
    ),
    (
        "a9",
        "e5",
        "d3",
        "webhook",
        1,
        false,
        "503",
        false,
        "2024-03-31T23:59:59.999Z",
        [1, 0, 1, 1, 0, 0, 1],
    ),
    (
        "a10",
        "e7",
        "d2",
        "aws_sqs",
        1,
        false,
        "ERR",
        false,
        "2024-04-01T00:00:00Z",
        [1, 0, 1, 1, 0, 0, 1],
    ),
    (
        "a11",
        "e7",
        "d2",
        "aws_sqs",
        2,
        true,
        "OK",
        false,
        "2024-04-01T01:00:00Z",
        [1, 1, 0, 0, 1, 0, 2],
    ),
    (
        "a12",
        "e8",
        "d2",
        "aws_sqs",
        1,
        true,
        "OK",
        false,
        "2024-04-02T13:45:30Z",
        [1, 1, 0, 1, 0, 0, 1],
    ),
    (
        "a13",
        "e3",
        "d2",
        "aws_sqs",
        10,
        false,
        "ERR",
        true,
        "2024-04-06T23:59:59.999Z",
        [1, 0, 1, 0, 1, 1, 10],
    ),
    (
        "a14",
        "e9",
        "d3",
        "webhook",
        1,
        false,
        "503",
        false,
        "2024-04-07T00:00:00Z",
        [1, 0, 1, 1, 0, 0, 1],
    ),
    (
        "a15",
        "e6",
        "d1",
        "webhook",
        1,
        true,
        "200",
        false,
        "2024-04-07T00:00:00.001Z",
        [1, 1, 0, 1, 0, 0, 1],
    ),
    (
        "a16",
        "e10",
        "d1",
        "webhook",
        1,
        true,
        "200",
        false,
        "2024-04-08T00:00:00Z",
        [1, 1, 0, 1, 0, 0, 1],
    ),
];

/// The query window: `e0`/`a0` are just before it, `e10`/`a14..a16` at or after its end.
const AGG_START: &str = "2024-03-30T22:00:00Z";
const AGG_END: &str = "2024-04-07T00:00:00Z";

impl AggFixture {
    fn new(run: &str) -> Self {
        Self {
            run: format!("{run}_agg"),
            shift: Duration::days(CYCLE_DAYS * aggregate_cycle()),
        }
    }

    /// A 2024 time of the fixture, moved to the run's cycle.
    fn t(&self, s: &str) -> Timestamp {
        outpost_core::time::parse_rfc3339(s).expect("fixture time") + self.shift
    }

    /// The run's id of a tenant / destination / event / attempt alias.
    fn id(&self, alias: &str) -> String {
        format!("{}_{alias}", self.run)
    }

    /// A dimension value or filter value: tenant and destination aliases become run ids.
    fn value(&self, dim: &str, v: &str) -> String {
        match dim {
            "tenant_id" | "destination_id" => self.id(v),
            _ => v.to_string(),
        }
    }

    fn dims(&self, dims: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
        dims.iter()
            .map(|(k, v)| (k.to_string(), self.value(k, v)))
            .collect()
    }

    fn events(&self) -> Vec<Event> {
        AGG_EVENTS
            .iter()
            .map(|(alias, tenant, topic, matched, time)| {
                let matched: Vec<String> = matched.iter().map(|d| self.id(d)).collect();
                let matched: Vec<&str> = matched.iter().map(String::as_str).collect();
                event(
                    &self.id(tenant),
                    &self.id(alias),
                    topic,
                    self.t(time),
                    &matched,
                    "{}",
                )
            })
            .collect()
    }

    fn entries(&self) -> Vec<LogEntry> {
        let events = self.events();
        AGG_ATTEMPTS
            .iter()
            .map(|(alias, ev, dest, ty, n, ok, code, manual, time, _)| {
                let e = events
                    .iter()
                    .find(|e| e.id == self.id(ev))
                    .expect("fixture event");
                let status = if *ok {
                    AttemptStatus::Success
                } else {
                    AttemptStatus::Failed
                };
                let mut a = attempt(e, &self.id(alias), &self.id(dest), *n, status, self.t(time));
                a.destination_type = ty.to_string();
                a.code = code.to_string();
                a.manual = *manual;
                entry(e, &a)
            })
            .collect()
    }

    /// A query over `[start, end)` with string filters (aliases mapped).
    fn query(
        &self,
        window: (&str, &str),
        granularity: Option<&str>,
        dimensions: &[&str],
        filters: &[(&str, &[&str])],
    ) -> AggregateQuery {
        AggregateQuery {
            start: self.t(window.0),
            end: self.t(window.1),
            granularity: granularity.map(|g| Granularity::parse(g).expect("granularity")),
            dimensions: strs(dimensions),
            filters: filters
                .iter()
                .map(|(k, vs)| (k.to_string(), vs.iter().map(|v| self.value(k, v)).collect()))
                .collect(),
        }
    }

    /// The whole window.
    fn q(
        &self,
        granularity: Option<&str>,
        dimensions: &[&str],
        filters: &[(&str, &[&str])],
    ) -> AggregateQuery {
        self.query((AGG_START, AGG_END), granularity, dimensions, filters)
    }

    /// An expected event row.
    fn erow(&self, bucket: Option<&str>, dims: &[(&str, &str)], count: u64) -> AggregateRow {
        AggregateRow {
            bucket: bucket.map(|b| self.t(b)),
            dims: self.dims(dims),
            count,
            ..Default::default()
        }
    }

    /// An expected attempt row: the sum of the listed attempts' hand-computed measures.
    fn arow(&self, bucket: Option<&str>, dims: &[(&str, &str)], attempts: &[&str]) -> AggregateRow {
        let mut m = [0u64; 7];
        for a in attempts {
            let (.., measures) = AGG_ATTEMPTS
                .iter()
                .find(|x| x.0 == *a)
                .expect("fixture attempt");
            for (acc, v) in m.iter_mut().zip(measures) {
                *acc += v;
            }
        }
        AggregateRow {
            bucket: bucket.map(|b| self.t(b)),
            dims: self.dims(dims),
            count: m[0],
            successful: m[1],
            failed: m[2],
            first_attempt: m[3],
            retry: m[4],
            manual: m[5],
            attempt_number_sum: m[6],
            ..Default::default()
        }
    }
}

fn sort_rows(mut rows: Vec<AggregateRow>) -> Vec<AggregateRow> {
    rows.sort_by(|a, b| (a.bucket, &a.dims).cmp(&(b.bucket, &b.dims)));
    rows
}

async fn check_events(store: &dyn LogStore, q: &AggregateQuery, want: Vec<AggregateRow>) {
    let got = store.event_aggregates(q).await.expect("event_aggregates");
    assert_eq!(sort_rows(got), sort_rows(want), "event aggregates of {q:?}");
}

async fn check_attempts(store: &dyn LogStore, q: &AggregateQuery, want: Vec<AggregateRow>) {
    let got = store
        .attempt_aggregates(q)
        .await
        .expect("attempt_aggregates");
    assert_eq!(
        sort_rows(got),
        sort_rows(want),
        "attempt aggregates of {q:?}"
    );
}

async fn aggregates(store: &dyn LogStore, run: &str) {
    let fx = AggFixture::new(run);
    let mut entries = fx.entries();
    // a12 is first written as failed, then updated to its final state (success, "OK").
    let a12 = entries
        .iter()
        .position(|e| e.attempt.id == fx.id("a12"))
        .expect("a12");
    let mut first = entries[a12].clone();
    first.attempt.status = AttemptStatus::Failed;
    first.attempt.code = "503".into();
    store
        .insert(std::slice::from_ref(&first))
        .await
        .expect("insert");
    store.insert(&entries).await.expect("insert");
    entries.clear();

    aggregate_events(store, &fx).await;
    aggregate_attempts(store, &fx).await;
}

async fn aggregate_events(store: &dyn LogStore, fx: &AggFixture) {
    let (uc, ud, op) = ("user.created", "user.deleted", "order.paid");
    // Totals: e1..e9 (e6 has no matched destination and still counts once).
    check_events(store, &fx.q(None, &[], &[]), vec![fx.erow(None, &[], 9)]).await;
    // Each dimension alone.
    check_events(
        store,
        &fx.q(None, &["tenant_id"], &[]),
        vec![
            fx.erow(None, &[("tenant_id", "tA")], 4),
            fx.erow(None, &[("tenant_id", "tB")], 3),
            fx.erow(None, &[("tenant_id", "tC")], 2),
        ],
    )
    .await;
    check_events(
        store,
        &fx.q(None, &["topic"], &[]),
        vec![
            fx.erow(None, &[("topic", uc)], 4),
            fx.erow(None, &[("topic", op)], 3),
            fx.erow(None, &[("topic", ud)], 2),
        ],
    )
    .await;
    // Once per matched destination; e6 (none) drops out.
    check_events(
        store,
        &fx.q(None, &["destination_id"], &[]),
        vec![
            fx.erow(None, &[("destination_id", "d1")], 5),
            fx.erow(None, &[("destination_id", "d2")], 4),
            fx.erow(None, &[("destination_id", "d3")], 4),
        ],
    )
    .await;
    // All three combined.
    let row = |t: &str, topic: &str, d: &str, n: u64| {
        fx.erow(
            None,
            &[("tenant_id", t), ("topic", topic), ("destination_id", d)],
            n,
        )
    };
    check_events(
        store,
        &fx.q(None, &["tenant_id", "topic", "destination_id"], &[]),
        vec![
            row("tA", uc, "d1", 2),
            row("tA", uc, "d2", 1),
            row("tA", op, "d2", 1),
            row("tA", ud, "d1", 1),
            row("tA", ud, "d2", 1),
            row("tA", ud, "d3", 1),
            row("tB", uc, "d1", 1),
            row("tB", uc, "d3", 1),
            row("tB", ud, "d3", 1),
            row("tB", op, "d1", 1),
            row("tB", op, "d2", 1),
            row("tC", uc, "d3", 1),
        ],
    )
    .await;
    // A repeated dimension is the dimension once.
    check_events(
        store,
        &fx.q(None, &["topic", "topic"], &[("tenant_id", &["tC"])]),
        vec![
            fx.erow(None, &[("topic", uc)], 1),
            fx.erow(None, &[("topic", op)], 1),
        ],
    )
    .await;

    // Granularities.
    check_events(
        store,
        &fx.q(Some("1h"), &[], &[]),
        vec![
            fx.erow(Some("2024-03-30T22:00:00Z"), &[], 1),
            fx.erow(Some("2024-03-31T10:00:00Z"), &[], 3),
            fx.erow(Some("2024-03-31T11:00:00Z"), &[], 1),
            fx.erow(Some("2024-03-31T12:00:00Z"), &[], 1),
            fx.erow(Some("2024-04-01T00:00:00Z"), &[], 1),
            fx.erow(Some("2024-04-02T13:00:00Z"), &[], 1),
            fx.erow(Some("2024-04-06T23:00:00Z"), &[], 1),
        ],
    )
    .await;
    let t = |v: &'static str| [("tenant_id", v)];
    check_events(
        store,
        &fx.q(Some("15m"), &["tenant_id"], &[]),
        vec![
            fx.erow(Some("2024-03-30T22:00:00Z"), &t("tA"), 1),
            fx.erow(Some("2024-03-31T10:00:00Z"), &t("tA"), 1),
            fx.erow(Some("2024-03-31T10:15:00Z"), &t("tA"), 1),
            fx.erow(Some("2024-03-31T10:45:00Z"), &t("tB"), 1),
            fx.erow(Some("2024-03-31T11:00:00Z"), &t("tB"), 1),
            fx.erow(Some("2024-03-31T12:30:00Z"), &t("tC"), 1),
            fx.erow(Some("2024-04-01T00:00:00Z"), &t("tA"), 1),
            fx.erow(Some("2024-04-02T13:45:00Z"), &t("tB"), 1),
            fx.erow(Some("2024-04-06T23:45:00Z"), &t("tC"), 1),
        ],
    )
    .await;
    let tp = |v: &'static str| [("topic", v)];
    check_events(
        store,
        &fx.q(Some("1d"), &["topic"], &[]),
        vec![
            fx.erow(Some("2024-03-30T00:00:00Z"), &tp(uc), 1),
            fx.erow(Some("2024-03-31T00:00:00Z"), &tp(uc), 2),
            fx.erow(Some("2024-03-31T00:00:00Z"), &tp(op), 2),
            fx.erow(Some("2024-03-31T00:00:00Z"), &tp(ud), 1),
            fx.erow(Some("2024-04-01T00:00:00Z"), &tp(ud), 1),
            fx.erow(Some("2024-04-02T00:00:00Z"), &tp(op), 1),
            fx.erow(Some("2024-04-06T00:00:00Z"), &tp(uc), 1),
        ],
    )
    .await;
    // Weeks start on Sunday: 2024-03-30 is a Saturday, 2024-03-31 a Sunday.
    let d = |v: &'static str| [("destination_id", v)];
    check_events(
        store,
        &fx.q(Some("1w"), &["destination_id"], &[]),
        vec![
            fx.erow(Some("2024-03-24T00:00:00Z"), &d("d1"), 1),
            fx.erow(Some("2024-03-24T00:00:00Z"), &d("d2"), 1),
            fx.erow(Some("2024-03-31T00:00:00Z"), &d("d1"), 4),
            fx.erow(Some("2024-03-31T00:00:00Z"), &d("d2"), 3),
            fx.erow(Some("2024-03-31T00:00:00Z"), &d("d3"), 4),
        ],
    )
    .await;
    check_events(
        store,
        &fx.q(Some("1M"), &[], &[]),
        vec![
            fx.erow(Some("2024-03-01T00:00:00Z"), &[], 6),
            fx.erow(Some("2024-04-01T00:00:00Z"), &[], 3),
        ],
    )
    .await;
    check_events(
        store,
        &fx.q(Some("3M"), &["tenant_id"], &[]),
        vec![
            fx.erow(Some("2024-01-01T00:00:00Z"), &t("tA"), 3),
            fx.erow(Some("2024-01-01T00:00:00Z"), &t("tB"), 2),
            fx.erow(Some("2024-01-01T00:00:00Z"), &t("tC"), 1),
            fx.erow(Some("2024-04-01T00:00:00Z"), &t("tA"), 1),
            fx.erow(Some("2024-04-01T00:00:00Z"), &t("tB"), 1),
            fx.erow(Some("2024-04-01T00:00:00Z"), &t("tC"), 1),
        ],
    )
    .await;
    let td = |a: &'static str, b: &'static str| [("tenant_id", a), ("destination_id", b)];
    check_events(
        store,
        &fx.q(
            Some("1d"),
            &["tenant_id", "destination_id"],
            &[("topic", &[uc])],
        ),
        vec![
            fx.erow(Some("2024-03-30T00:00:00Z"), &td("tA", "d1"), 1),
            fx.erow(Some("2024-03-30T00:00:00Z"), &td("tA", "d2"), 1),
            fx.erow(Some("2024-03-31T00:00:00Z"), &td("tA", "d1"), 1),
            fx.erow(Some("2024-03-31T00:00:00Z"), &td("tB", "d1"), 1),
            fx.erow(Some("2024-03-31T00:00:00Z"), &td("tB", "d3"), 1),
            fx.erow(Some("2024-04-06T00:00:00Z"), &td("tC", "d3"), 1),
        ],
    )
    .await;

    // Filters.
    check_events(
        store,
        &fx.q(None, &[], &[("tenant_id", &["tB"])]),
        vec![fx.erow(None, &[], 3)],
    )
    .await;
    check_events(
        store,
        // tA: e1, e2, e7; tC: e9.
        &fx.q(
            None,
            &[],
            &[("tenant_id", &["tA", "tC"]), ("topic", &[uc, ud])],
        ),
        vec![fx.erow(None, &[], 4)],
    )
    .await;
    // A destination filter selects events routed to it; grouped by destination, such an event
    // still counts for each of its destinations.
    check_events(
        store,
        &fx.q(None, &["destination_id"], &[("destination_id", &["d3"])]),
        vec![
            fx.erow(None, &d("d1"), 2),
            fx.erow(None, &d("d2"), 1),
            fx.erow(None, &d("d3"), 4),
        ],
    )
    .await;
    check_events(
        store,
        &fx.q(
            Some("1M"),
            &["tenant_id"],
            &[("destination_id", &["d2"]), ("topic", &[op, ud])],
        ),
        vec![
            fx.erow(Some("2024-03-01T00:00:00Z"), &t("tA"), 1),
            fx.erow(Some("2024-04-01T00:00:00Z"), &t("tA"), 1),
            fx.erow(Some("2024-04-01T00:00:00Z"), &t("tB"), 1),
        ],
    )
    .await;
    // Nothing matches: an unknown value, an empty list, a dimension events do not have.
    for filters in [
        vec![("tenant_id", &["tZ"][..])],
        vec![("destination_id", &[][..])],
        vec![("status", &["success"][..])],
    ] {
        check_events(store, &fx.q(None, &["topic"], &filters), vec![]).await;
    }
    // Start inclusive, end exclusive.
    check_events(
        store,
        &fx.query(
            ("2024-03-31T10:20:00Z", "2024-03-31T11:00:00Z"),
            None,
            &[],
            &[],
        ),
        vec![fx.erow(None, &[], 2)],
    )
    .await;
    check_events(
        store,
        &fx.query(
            ("2024-04-07T00:00:00Z", "2024-04-07T00:00:00.001Z"),
            Some("1h"),
            &["tenant_id"],
            &[],
        ),
        vec![fx.erow(Some("2024-04-07T00:00:00Z"), &t("tA"), 1)],
    )
    .await;
}

async fn aggregate_attempts(store: &dyn LogStore, fx: &AggFixture) {
    let all = [
        "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9", "a10", "a11", "a12", "a13",
    ];
    let total = fx.arow(None, &[], &all);
    // Hand-computed totals, independent of the per-attempt table.
    let expected_total = AggregateRow {
        bucket: None,
        dims: Default::default(),
        count: 13,
        successful: 7,
        failed: 6,
        first_attempt: 7,
        retry: 5,
        manual: 3,
        attempt_number_sum: 27,
        ..Default::default()
    };
    assert_eq!(total, expected_total, "fixture measures");
    check_attempts(store, &fx.q(None, &[], &[]), vec![total]).await;

    // Each dimension alone.
    let one = |dim: &'static str, groups: &[(&'static str, &[&str])]| -> Vec<AggregateRow> {
        groups
            .iter()
            .map(|(v, a)| fx.arow(None, &[(dim, v)], a))
            .collect()
    };
    let cases: [(&str, Vec<AggregateRow>); 8] = [
        (
            "tenant_id",
            one(
                "tenant_id",
                &[
                    (
                        "tA",
                        &["a1", "a2", "a3", "a4", "a5", "a6", "a10", "a11", "a13"],
                    ),
                    ("tB", &["a7", "a8", "a9", "a12"]),
                ],
            ),
        ),
        (
            "destination_id",
            one(
                "destination_id",
                &[
                    ("d1", &["a1", "a2", "a4", "a5", "a6", "a8"]),
                    ("d2", &["a3", "a10", "a11", "a12", "a13"]),
                    ("d3", &["a7", "a9"]),
                ],
            ),
        ),
        (
            "destination_type",
            one(
                "destination_type",
                &[
                    ("webhook", &["a1", "a2", "a4", "a5", "a6", "a7", "a8", "a9"]),
                    ("aws_sqs", &["a3", "a10", "a11", "a12", "a13"]),
                ],
            ),
        ),
        (
            "topic",
            one(
                "topic",
                &[
                    (
                        "user.created",
                        &["a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8"],
                    ),
                    ("user.deleted", &["a9", "a10", "a11"]),
                    ("order.paid", &["a12", "a13"]),
                ],
            ),
        ),
        (
            "status",
            one(
                "status",
                &[
                    ("success", &["a2", "a3", "a6", "a7", "a8", "a11", "a12"]),
                    ("failed", &["a1", "a4", "a5", "a9", "a10", "a13"]),
                ],
            ),
        ),
        (
            "code",
            one(
                "code",
                &[
                    ("503", &["a1", "a9"]),
                    ("200", &["a2", "a6", "a7", "a8"]),
                    ("OK", &["a3", "a11", "a12"]),
                    ("500", &["a4", "a5"]),
                    ("ERR", &["a10", "a13"]),
                ],
            ),
        ),
        (
            "manual",
            one(
                "manual",
                &[
                    ("true", &["a6", "a7", "a13"]),
                    (
                        "false",
                        &[
                            "a1", "a2", "a3", "a4", "a5", "a8", "a9", "a10", "a11", "a12",
                        ],
                    ),
                ],
            ),
        ),
        (
            "attempt_number",
            one(
                "attempt_number",
                &[
                    ("1", &["a1", "a3", "a4", "a7", "a8", "a9", "a10", "a12"]),
                    ("2", &["a2", "a5", "a11"]),
                    ("3", &["a6"]),
                    ("10", &["a13"]),
                ],
            ),
        ),
    ];
    for (dim, want) in cases {
        check_attempts(store, &fx.q(None, &[dim], &[]), want).await;
    }

    // All eight dimensions: every attempt is its own group.
    let dims = [
        "tenant_id",
        "destination_id",
        "destination_type",
        "topic",
        "status",
        "code",
        "manual",
        "attempt_number",
    ];
    let row = |a: &str,
               t: &str,
               d: &str,
               ty: &str,
               topic: &str,
               ok: &str,
               code: &str,
               m: &str,
               n: &str| {
        fx.arow(
            None,
            &[
                ("tenant_id", t),
                ("destination_id", d),
                ("destination_type", ty),
                ("topic", topic),
                ("status", ok),
                ("code", code),
                ("manual", m),
                ("attempt_number", n),
            ],
            &[a],
        )
    };
    let (s, f, wh, sqs) = ("success", "failed", "webhook", "aws_sqs");
    let (uc, ud, op) = ("user.created", "user.deleted", "order.paid");
    check_attempts(
        store,
        &fx.q(None, &dims, &[]),
        vec![
            row("a1", "tA", "d1", wh, uc, f, "503", "false", "1"),
            row("a2", "tA", "d1", wh, uc, s, "200", "false", "2"),
            row("a3", "tA", "d2", sqs, uc, s, "OK", "false", "1"),
            row("a4", "tA", "d1", wh, uc, f, "500", "false", "1"),
            row("a5", "tA", "d1", wh, uc, f, "500", "false", "2"),
            row("a6", "tA", "d1", wh, uc, s, "200", "true", "3"),
            row("a7", "tB", "d3", wh, uc, s, "200", "true", "1"),
            row("a8", "tB", "d1", wh, uc, s, "200", "false", "1"),
            row("a9", "tB", "d3", wh, ud, f, "503", "false", "1"),
            row("a10", "tA", "d2", sqs, ud, f, "ERR", "false", "1"),
            row("a11", "tA", "d2", sqs, ud, s, "OK", "false", "2"),
            row("a12", "tB", "d2", sqs, op, s, "OK", "false", "1"),
            row("a13", "tA", "d2", sqs, op, f, "ERR", "true", "10"),
        ],
    )
    .await;
    let st = |day: &str, ok: &str, ty: &str, a: &[&str]| {
        fx.arow(Some(day), &[("status", ok), ("destination_type", ty)], a)
    };
    check_attempts(
        store,
        &fx.q(Some("1d"), &["status", "destination_type"], &[]),
        vec![
            st("2024-03-30T00:00:00Z", f, wh, &["a1"]),
            st("2024-03-30T00:00:00Z", s, wh, &["a2"]),
            st("2024-03-30T00:00:00Z", s, sqs, &["a3"]),
            st("2024-03-31T00:00:00Z", f, wh, &["a4", "a5", "a9"]),
            st("2024-03-31T00:00:00Z", s, wh, &["a6", "a7", "a8"]),
            st("2024-04-01T00:00:00Z", f, sqs, &["a10"]),
            st("2024-04-01T00:00:00Z", s, sqs, &["a11"]),
            st("2024-04-02T00:00:00Z", s, sqs, &["a12"]),
            st("2024-04-06T00:00:00Z", f, sqs, &["a13"]),
        ],
    )
    .await;

    // Granularities.
    let b = |at: &str, a: &[&str]| fx.arow(Some(at), &[], a);
    check_attempts(
        store,
        &fx.q(Some("1h"), &[], &[]),
        vec![
            b("2024-03-30T22:00:00Z", &["a1", "a3"]),
            b("2024-03-30T23:00:00Z", &["a2"]),
            b("2024-03-31T10:00:00Z", &["a4", "a5", "a7", "a8"]),
            b("2024-03-31T11:00:00Z", &["a6"]),
            b("2024-03-31T23:00:00Z", &["a9"]),
            b("2024-04-01T00:00:00Z", &["a10"]),
            b("2024-04-01T01:00:00Z", &["a11"]),
            b("2024-04-02T13:00:00Z", &["a12"]),
            b("2024-04-06T23:00:00Z", &["a13"]),
        ],
    )
    .await;
    let m = |at: &str, v: &str, a: &[&str]| fx.arow(Some(at), &[("manual", v)], a);
    check_attempts(
        store,
        &fx.q(Some("15m"), &["manual"], &[]),
        vec![
            m("2024-03-30T22:00:00Z", "false", &["a1", "a3"]),
            m("2024-03-30T23:00:00Z", "false", &["a2"]),
            m("2024-03-31T10:00:00Z", "false", &["a4"]),
            m("2024-03-31T10:30:00Z", "false", &["a5"]),
            m("2024-03-31T10:45:00Z", "true", &["a7"]),
            m("2024-03-31T10:45:00Z", "false", &["a8"]),
            m("2024-03-31T11:15:00Z", "true", &["a6"]),
            m("2024-03-31T23:45:00Z", "false", &["a9"]),
            m("2024-04-01T00:00:00Z", "false", &["a10"]),
            m("2024-04-01T01:00:00Z", "false", &["a11"]),
            m("2024-04-02T13:45:00Z", "false", &["a12"]),
            m("2024-04-06T23:45:00Z", "true", &["a13"]),
        ],
    )
    .await;
    let n = |at: &str, v: &str, a: &[&str]| fx.arow(Some(at), &[("attempt_number", v)], a);
    check_attempts(
        store,
        &fx.q(Some("1w"), &["attempt_number"], &[]),
        vec![
            n("2024-03-24T00:00:00Z", "1", &["a1", "a3"]),
            n("2024-03-24T00:00:00Z", "2", &["a2"]),
            n(
                "2024-03-31T00:00:00Z",
                "1",
                &["a4", "a7", "a8", "a9", "a10", "a12"],
            ),
            n("2024-03-31T00:00:00Z", "2", &["a5", "a11"]),
            n("2024-03-31T00:00:00Z", "3", &["a6"]),
            n("2024-03-31T00:00:00Z", "10", &["a13"]),
        ],
    )
    .await;
    let t = |at: &str, v: &str, a: &[&str]| fx.arow(Some(at), &[("tenant_id", v)], a);
    check_attempts(
        store,
        &fx.q(Some("1M"), &["tenant_id"], &[]),
        vec![
            t(
                "2024-03-01T00:00:00Z",
                "tA",
                &["a1", "a2", "a3", "a4", "a5", "a6"],
            ),
            t("2024-03-01T00:00:00Z", "tB", &["a7", "a8", "a9"]),
            t("2024-04-01T00:00:00Z", "tA", &["a10", "a11", "a13"]),
            t("2024-04-01T00:00:00Z", "tB", &["a12"]),
        ],
    )
    .await;
    let c = |at: &str, v: &str, a: &[&str]| fx.arow(Some(at), &[("code", v)], a);
    check_attempts(
        store,
        &fx.q(Some("3M"), &["code"], &[]),
        vec![
            c("2024-01-01T00:00:00Z", "503", &["a1", "a9"]),
            c("2024-01-01T00:00:00Z", "200", &["a2", "a6", "a7", "a8"]),
            c("2024-01-01T00:00:00Z", "OK", &["a3"]),
            c("2024-01-01T00:00:00Z", "500", &["a4", "a5"]),
            c("2024-04-01T00:00:00Z", "ERR", &["a10", "a13"]),
            c("2024-04-01T00:00:00Z", "OK", &["a11", "a12"]),
        ],
    )
    .await;

    // Filters.
    let d = |v: &str, a: &[&str]| fx.arow(None, &[("destination_id", v)], a);
    check_attempts(
        store,
        &fx.q(None, &["destination_id"], &[("status", &["failed"])]),
        vec![
            d("d1", &["a1", "a4", "a5"]),
            d("d2", &["a10", "a13"]),
            d("d3", &["a9"]),
        ],
    )
    .await;
    check_attempts(
        store,
        &fx.q(
            None,
            &[],
            &[("manual", &["true"]), ("attempt_number", &["10", "3"])],
        ),
        vec![fx.arow(None, &[], &["a6", "a13"])],
    )
    .await;
    check_attempts(
        store,
        &fx.q(
            Some("1h"),
            &["tenant_id"],
            &[
                ("topic", &[uc]),
                ("destination_type", &[wh]),
                ("code", &["200", "503"]),
            ],
        ),
        vec![
            t("2024-03-30T22:00:00Z", "tA", &["a1"]),
            t("2024-03-30T23:00:00Z", "tA", &["a2"]),
            t("2024-03-31T10:00:00Z", "tB", &["a7", "a8"]),
            t("2024-03-31T11:00:00Z", "tA", &["a6"]),
        ],
    )
    .await;
    check_attempts(
        store,
        &fx.q(
            None,
            &["status"],
            &[("tenant_id", &["tB"]), ("destination_id", &["d3"])],
        ),
        vec![
            fx.arow(None, &[("status", s)], &["a7"]),
            fx.arow(None, &[("status", f)], &["a9"]),
        ],
    )
    .await;
    check_attempts(
        store,
        &fx.q(
            None,
            &[],
            &[("manual", &["false"]), ("tenant_id", &["tA", "tC"])],
        ),
        vec![fx.arow(None, &[], &["a1", "a2", "a3", "a4", "a5", "a10", "a11"])],
    )
    .await;
    // Values compare as the dimension's strings; unknown filters and empty lists match nothing.
    for filters in [
        vec![("attempt_number", &["01"][..])],
        vec![("attempt_number", &["+1"][..])],
        vec![("manual", &["TRUE"][..])],
        vec![("manual", &["1"][..])],
        vec![("status", &["Success"][..])],
        vec![("code", &[][..])],
        vec![("tenant_id", &["tC"][..])],
        vec![("matched_destination_ids", &["d1"][..])],
    ] {
        check_attempts(store, &fx.q(None, &["tenant_id"], &filters), vec![]).await;
    }
    // Start inclusive, end exclusive (attempt time).
    check_attempts(
        store,
        &fx.query(
            ("2024-03-31T10:50:00.500Z", "2024-03-31T23:59:59.999Z"),
            None,
            &["manual"],
            &[],
        ),
        vec![
            fx.arow(None, &[("manual", "false")], &["a8"]),
            fx.arow(None, &[("manual", "true")], &["a6"]),
        ],
    )
    .await;
    let one_ms = fx.query(
        ("2024-03-31T10:50:00.500Z", "2024-03-31T10:50:00.501Z"),
        Some("1s"),
        &[],
        &[],
    );
    check_attempts(store, &one_ms, vec![b("2024-03-31T10:50:00Z", &["a8"])]).await;
    // An empty window.
    check_attempts(store, &fx.query((AGG_END, AGG_END), None, &[], &[]), vec![]).await;
    check_events(
        store,
        &fx.query((AGG_END, AGG_START), Some("1d"), &[], &[]),
        vec![],
    )
    .await;
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
