//! Queries: every filter of `EventQuery` / `AttemptQuery`, both sort directions, and
//! next/prev paging over several pages with ties in time.

use super::*;

pub(super) async fn event_filters(store: &dyn LogStore, run: &str) {
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

pub(super) async fn attempt_filters(store: &dyn LogStore, run: &str) {
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
pub(super) async fn walk<T, F, Fut>(
    fetch: F,
    dir: Dir,
    limit: usize,
    id: fn(&T) -> String,
) -> Vec<Vec<String>>
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

pub(super) async fn paging(store: &dyn LogStore, run: &str) {
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
