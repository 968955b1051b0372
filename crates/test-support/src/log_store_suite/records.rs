//! Records: insert and get (with and without tenant), insert idempotency, `latest_attempt`,
//! byte-exact `data` and the four time-range operators.

use super::*;

pub(super) async fn insert_and_get(store: &dyn LogStore, run: &str) {
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

pub(super) async fn idempotency(store: &dyn LogStore, run: &str) {
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

pub(super) async fn latest(store: &dyn LogStore, run: &str) {
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

pub(super) async fn raw_data(store: &dyn LogStore, run: &str) {
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

pub(super) async fn time_ranges(store: &dyn LogStore, run: &str) {
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
