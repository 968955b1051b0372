//! The aggregates fixture: events and attempts of three tenants across a week spanning a
//! month (and quarter) end, in a 400-year cycle of the run's own, and the checks comparing a
//! store's rows with hand-computed ones.

use super::*;

/// Days in 400 Gregorian years: a whole number of weeks, with the same calendar (weekdays,
/// month lengths, leap years) in every cycle.
pub(super) const CYCLE_DAYS: i64 = 146_097;

/// A distinct 400-year cycle per run of the process (the aggregate fixtures are written at
/// 2024 dates moved by whole cycles), so unfiltered aggregates of a run see only its own rows
/// even when several runs share a backend.
pub(super) fn aggregate_cycle() -> i64 {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicI64, Ordering};
    static SEED: OnceLock<i64> = OnceLock::new();
    static NEXT: AtomicI64 = AtomicI64::new(0);
    let seed = *SEED.get_or_init(|| i64::from(uuid::Uuid::new_v4().as_bytes()[0] % 8));
    1 + (seed + NEXT.fetch_add(1, Ordering::Relaxed)) % 15
}

/// Measures of one attempt, as `[count, successful, failed, first_attempt, retry, manual,
/// attempt_number_sum]`.
pub(super) type Measures = [u64; 7];

pub(super) struct AggFixture {
    run: String,
    shift: Duration,
}

/// Events: alias, tenant alias, topic, matched destination aliases, time (2024 calendar).
pub(super) const AGG_EVENTS: [(&str, &str, &str, &[&str], &str); 11] = [
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
pub(super) const AGG_ATTEMPTS: [(
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
pub(super) const AGG_START: &str = "2024-03-30T22:00:00Z";
pub(super) const AGG_END: &str = "2024-04-07T00:00:00Z";

impl AggFixture {
    pub(super) fn new(run: &str) -> Self {
        Self {
            run: format!("{run}_agg"),
            shift: Duration::days(CYCLE_DAYS * aggregate_cycle()),
        }
    }

    /// A 2024 time of the fixture, moved to the run's cycle.
    pub(super) fn t(&self, s: &str) -> Timestamp {
        outpost_core::time::parse_rfc3339(s).expect("fixture time") + self.shift
    }

    /// The run's id of a tenant / destination / event / attempt alias.
    pub(super) fn id(&self, alias: &str) -> String {
        format!("{}_{alias}", self.run)
    }

    /// A dimension value or filter value: tenant and destination aliases become run ids.
    pub(super) fn value(&self, dim: &str, v: &str) -> String {
        match dim {
            "tenant_id" | "destination_id" => self.id(v),
            _ => v.to_string(),
        }
    }

    pub(super) fn dims(&self, dims: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
        dims.iter()
            .map(|(k, v)| (k.to_string(), self.value(k, v)))
            .collect()
    }

    pub(super) fn events(&self) -> Vec<Event> {
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

    pub(super) fn entries(&self) -> Vec<LogEntry> {
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
    pub(super) fn query(
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
    pub(super) fn q(
        &self,
        granularity: Option<&str>,
        dimensions: &[&str],
        filters: &[(&str, &[&str])],
    ) -> AggregateQuery {
        self.query((AGG_START, AGG_END), granularity, dimensions, filters)
    }

    /// An expected event row.
    pub(super) fn erow(
        &self,
        bucket: Option<&str>,
        dims: &[(&str, &str)],
        count: u64,
    ) -> AggregateRow {
        AggregateRow {
            bucket: bucket.map(|b| self.t(b)),
            dims: self.dims(dims),
            count,
            ..Default::default()
        }
    }

    /// An expected attempt row: the sum of the listed attempts' hand-computed measures.
    pub(super) fn arow(
        &self,
        bucket: Option<&str>,
        dims: &[(&str, &str)],
        attempts: &[&str],
    ) -> AggregateRow {
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

pub(super) fn sort_rows(mut rows: Vec<AggregateRow>) -> Vec<AggregateRow> {
    rows.sort_by(|a, b| (a.bucket, &a.dims).cmp(&(b.bucket, &b.dims)));
    rows
}

pub(super) async fn check_events(
    store: &dyn LogStore,
    q: &AggregateQuery,
    want: Vec<AggregateRow>,
) {
    let got = store.event_aggregates(q).await.expect("event_aggregates");
    assert_eq!(sort_rows(got), sort_rows(want), "event aggregates of {q:?}");
}

pub(super) async fn check_attempts(
    store: &dyn LogStore,
    q: &AggregateQuery,
    want: Vec<AggregateRow>,
) {
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
