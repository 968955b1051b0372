//! Metrics aggregates (`event_aggregates`, `attempt_aggregates`) against hand-computed
//! expectations: every dimension alone and combined, filters, granularities and window bounds.

use super::aggregate_fixture::*;
use super::*;

pub(super) async fn aggregates(store: &dyn LogStore, run: &str) {
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

pub(super) async fn aggregate_events(store: &dyn LogStore, fx: &AggFixture) {
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

pub(super) async fn aggregate_attempts(store: &dyn LogStore, fx: &AggFixture) {
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
