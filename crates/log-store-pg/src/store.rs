//! The [`LogStore`] implementation: batch inserts and keyset-paginated queries.
//!
//! Semantics follow the in-memory reference store (`outpost_core::ports::MemoryLogStore`):
//! * an event id already stored is kept (checked by id, whatever its time);
//! * an attempt already stored at the same `(time, id)` gets its status, code and response
//!   updated; within a batch the last entry of an attempt id wins;
//! * lists are ordered by `(time, id)` (ids compared bytewise: the id columns are
//!   `COLLATE "C"`) and paged with [`PageRequest::scan`] / [`PageRequest::build`].

use crate::PgLogStore;
use outpost_core::StoreError;
use outpost_core::event::{Attempt, AttemptStatus, Event, LogEntry};
use outpost_core::metrics::{AggregateQuery, AggregateRow};
use outpost_core::patch::StringMap;
use outpost_core::ports::page::{Dir, Page, PageRequest};
use outpost_core::ports::{AttemptQuery, AttemptRecord, EventQuery, LogKey, LogStore, TimeRange};
use outpost_core::time::{Timestamp, from_unix_ms};
use serde_json::value::RawValue;
use std::collections::{HashMap, HashSet};
use tokio_postgres::Row;
use tokio_postgres::types::ToSql;

/// Ids of a batch's events that are already stored.
const EXISTING_EVENTS: &str = "SELECT id FROM events WHERE id = ANY($1::text[])";

/// Multi-row event insert from parallel arrays.
const INSERT_EVENTS: &str = "\
INSERT INTO events (id, tenant_id, destination_id, time, topic, eligible_for_retry, data, metadata, \
matched_destination_ids) \
SELECT u.id, u.tenant_id, u.destination_id, u.time, u.topic, u.eligible_for_retry, u.data, \
u.metadata::jsonb, \
ARRAY(SELECT m.v FROM jsonb_array_elements_text(u.matched::jsonb) WITH ORDINALITY AS m(v, n) ORDER BY m.n) \
FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::bool[], $7::text[], \
$8::text[], $9::text[]) \
AS u(id, tenant_id, destination_id, time, topic, eligible_for_retry, data, metadata, matched) \
ON CONFLICT (time, id) DO NOTHING";

/// Multi-row attempt upsert from parallel arrays.
const INSERT_ATTEMPTS: &str = "\
INSERT INTO attempts (id, event_id, destination_id, status, time, code, response_data, manual, \
attempt_number, tenant_id, topic, event_time, eligible_for_retry, event_data, event_metadata, \
destination_type, duration_ms) \
SELECT u.id, u.event_id, u.destination_id, u.status, u.time, u.code, u.response_data, u.manual, \
u.attempt_number, u.tenant_id, u.topic, u.event_time, u.eligible_for_retry, u.event_data, \
u.event_metadata::jsonb, u.destination_type, u.duration_ms \
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[], \
$8::bool[], $9::int4[], $10::text[], $11::text[], $12::timestamptz[], $13::bool[], $14::text[], \
$15::text[], $16::text[], $17::int8[]) \
AS u(id, event_id, destination_id, status, time, code, response_data, manual, attempt_number, \
tenant_id, topic, event_time, eligible_for_retry, event_data, event_metadata, destination_type, \
duration_ms) \
ON CONFLICT (time, id) DO UPDATE SET status = EXCLUDED.status, code = EXCLUDED.code, \
response_data = EXCLUDED.response_data, duration_ms = EXCLUDED.duration_ms";

/// Columns read for an [`Event`], in [`event_from_row`] order.
const EVENT_COLS: &str = "id, tenant_id, destination_id, time, topic, eligible_for_retry, data, \
metadata::text, matched_destination_ids";

/// Columns read for an [`AttemptRecord`], in [`attempt_from_row`] order.
const ATTEMPT_COLS: &str = "id, event_id, destination_id, status, time, code, response_data, manual, \
attempt_number, tenant_id, topic, event_time, eligible_for_retry, event_data, event_metadata::text, \
destination_type, duration_ms";

/// Truncates to milliseconds, the precision of cursors and of every store.
fn ms(t: &Timestamp) -> Timestamp {
    from_unix_ms(t.timestamp_millis())
}

pub(crate) fn backend<E: std::error::Error + Send + Sync + 'static>(e: E) -> StoreError {
    StoreError::backend(e)
}

pub(crate) fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn status_str(s: AttemptStatus) -> &'static str {
    match s {
        AttemptStatus::Success => "success",
        AttemptStatus::Failed => "failed",
    }
}

fn parse_status(s: &str) -> Result<AttemptStatus, StoreError> {
    match s {
        "success" => Ok(AttemptStatus::Success),
        "failed" => Ok(AttemptStatus::Failed),
        other => Err(StoreError::Corrupt(format!(
            "unknown attempt status {other:?}"
        ))),
    }
}

fn metadata_json(m: &StringMap) -> Result<String, StoreError> {
    serde_json::to_string(m).map_err(|e| corrupt("event metadata", e))
}

pub(crate) fn get<'a, T: tokio_postgres::types::FromSql<'a>>(
    r: &'a Row,
    idx: usize,
) -> Result<T, StoreError> {
    r.try_get(idx)
        .map_err(|e| corrupt("unexpected column value", e))
}

fn raw(data: String) -> Result<Box<RawValue>, StoreError> {
    RawValue::from_string(data).map_err(|e| corrupt("event data is not JSON", e))
}

fn metadata(text: &str) -> Result<StringMap, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt("event metadata", e))
}

fn event_from_row(r: &Row) -> Result<Event, StoreError> {
    Ok(Event {
        id: get(r, 0)?,
        tenant_id: get(r, 1)?,
        destination_id: get(r, 2)?,
        time: get(r, 3)?,
        topic: get(r, 4)?,
        eligible_for_retry: get(r, 5)?,
        data: raw(get(r, 6)?)?,
        metadata: metadata(get(r, 7)?)?,
        matched_destination_ids: get(r, 8)?,
    })
}

fn attempt_from_row(r: &Row) -> Result<AttemptRecord, StoreError> {
    let number: i32 = get(r, 8)?;
    let response: Option<String> = get(r, 6)?;
    let attempt = Attempt {
        id: get(r, 0)?,
        event_id: get(r, 1)?,
        destination_id: get(r, 2)?,
        status: parse_status(get(r, 3)?)?,
        time: get(r, 4)?,
        code: get(r, 5)?,
        response_data: response
            .map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(|e| corrupt("attempt response_data", e))?,
        manual: get(r, 7)?,
        attempt_number: u32::try_from(number).map_err(|e| corrupt("attempt_number", e))?,
        tenant_id: get(r, 9)?,
        destination_type: get(r, 15)?,
        duration_ms: get::<Option<i64>>(r, 16)?
            .map(|d| u64::try_from(d).map_err(|e| corrupt("attempt duration_ms", e)))
            .transpose()?,
    };
    let event = Event {
        id: attempt.event_id.clone(),
        tenant_id: attempt.tenant_id.clone(),
        destination_id: String::new(),
        matched_destination_ids: Vec::new(),
        topic: get(r, 10)?,
        eligible_for_retry: get(r, 12)?,
        time: get(r, 11)?,
        metadata: metadata(get(r, 14)?)?,
        data: raw(get(r, 13)?)?,
    };
    Ok(AttemptRecord { attempt, event })
}

/// A dynamically built statement with its parameters.
#[derive(Default)]
pub(crate) struct Sql {
    pub(crate) text: String,
    params: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Sql {
    pub(crate) fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            params: Vec::new(),
        }
    }

    /// Adds a parameter and returns its placeholder.
    pub(crate) fn bind<T: ToSql + Sync + Send + 'static>(&mut self, v: T) -> String {
        self.params.push(Box::new(v));
        format!("${}", self.params.len())
    }

    pub(crate) fn and(&mut self, cond: &str) {
        self.text.push_str(" AND ");
        self.text.push_str(cond);
    }

    /// `col = ANY(list)` unless the list is empty; `col = value` for a single value, which
    /// lets the planner walk a `(col, time, id)` index in order instead of sorting.
    fn any(&mut self, col: &str, values: &[String]) {
        match values {
            [] => {}
            [one] => {
                let p = self.bind(one.clone());
                self.and(&format!("{col} = {p}"));
            }
            many => {
                let p = self.bind(many.to_vec());
                self.and(&format!("{col} = ANY({p}::text[])"));
            }
        }
    }

    fn time(&mut self, range: &TimeRange) {
        for (op, bound) in [
            (">=", range.gte),
            ("<=", range.lte),
            (">", range.gt),
            ("<", range.lt),
        ] {
            if let Some(b) = bound {
                let p = self.bind(b);
                self.and(&format!("time {op} {p}"));
            }
        }
    }

    /// Keyset condition, order and limit of a page request; `limit + 1` rows are fetched.
    fn page(&mut self, req: &PageRequest<LogKey>) {
        let (dir, after) = req.scan();
        let (op, order) = match dir {
            Dir::Asc => (">", "ASC"),
            Dir::Desc => ("<", "DESC"),
        };
        if let Some(k) = after {
            let t = self.bind(from_unix_ms(k.time_ms));
            let i = self.bind(k.id.clone());
            self.and(&format!("(time, id) {op} ({t}, {i})"));
        }
        let limit = i64::try_from(req.limit.saturating_add(1)).unwrap_or(i64::MAX);
        let l = self.bind(limit);
        self.text
            .push_str(&format!(" ORDER BY time {order}, id {order} LIMIT {l}"));
    }

    pub(crate) fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

impl PgLogStore {
    async fn rows(&self, sql: &Sql) -> Result<Vec<Row>, StoreError> {
        let client = self.pool.get().await.map_err(backend)?;
        let stmt = client.prepare_cached(&sql.text).await.map_err(backend)?;
        client.query(&stmt, &sql.refs()).await.map_err(backend)
    }
}

/// Parallel column arrays of the new events of a batch.
#[derive(Default)]
struct EventColumns<'a> {
    id: Vec<&'a str>,
    tenant_id: Vec<&'a str>,
    destination_id: Vec<&'a str>,
    time: Vec<Timestamp>,
    topic: Vec<&'a str>,
    eligible_for_retry: Vec<bool>,
    data: Vec<&'a str>,
    metadata: Vec<String>,
    matched: Vec<String>,
}

impl<'a> EventColumns<'a> {
    fn push(&mut self, e: &'a Event) -> Result<(), StoreError> {
        self.id.push(&e.id);
        self.tenant_id.push(&e.tenant_id);
        self.destination_id.push(&e.destination_id);
        self.time.push(ms(&e.time));
        self.topic.push(&e.topic);
        self.eligible_for_retry.push(e.eligible_for_retry);
        self.data.push(e.data.get());
        self.metadata.push(metadata_json(&e.metadata)?);
        self.matched.push(
            serde_json::to_string(&e.matched_destination_ids)
                .map_err(|e| corrupt("matched destination ids", e))?,
        );
        Ok(())
    }
}

/// Parallel column arrays of the attempts of a batch.
#[derive(Default)]
struct AttemptColumns<'a> {
    id: Vec<&'a str>,
    event_id: Vec<&'a str>,
    destination_id: Vec<&'a str>,
    status: Vec<&'static str>,
    time: Vec<Timestamp>,
    code: Vec<&'a str>,
    response_data: Vec<Option<String>>,
    manual: Vec<bool>,
    attempt_number: Vec<i32>,
    tenant_id: Vec<&'a str>,
    topic: Vec<&'a str>,
    event_time: Vec<Timestamp>,
    eligible_for_retry: Vec<bool>,
    event_data: Vec<&'a str>,
    event_metadata: Vec<String>,
    destination_type: Vec<&'a str>,
    duration_ms: Vec<Option<i64>>,
}

impl<'a> AttemptColumns<'a> {
    fn push(&mut self, entry: &'a LogEntry) -> Result<(), StoreError> {
        let (a, e) = (&entry.attempt, &entry.event);
        self.id.push(&a.id);
        self.event_id.push(&a.event_id);
        self.destination_id.push(&a.destination_id);
        self.status.push(status_str(a.status));
        self.time.push(ms(&a.time));
        self.code.push(&a.code);
        self.response_data.push(
            a.response_data
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(|e| corrupt("attempt response_data", e))?,
        );
        self.manual.push(a.manual);
        self.attempt_number
            .push(i32::try_from(a.attempt_number).map_err(|e| corrupt("attempt_number", e))?);
        self.tenant_id.push(&a.tenant_id);
        self.topic.push(&e.topic);
        self.event_time.push(ms(&e.time));
        self.eligible_for_retry.push(e.eligible_for_retry);
        self.event_data.push(e.data.get());
        self.event_metadata.push(metadata_json(&e.metadata)?);
        self.destination_type.push(&a.destination_type);
        self.duration_ms
            .push(a.duration_ms.map(|d| i64::try_from(d).unwrap_or(i64::MAX)));
        Ok(())
    }
}

#[async_trait::async_trait]
impl LogStore for PgLogStore {
    async fn insert(&self, entries: &[LogEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        // Events: the first occurrence of an id wins (and one already stored is kept).
        let mut seen = HashSet::new();
        let events: Vec<&Event> = entries
            .iter()
            .map(|e| &e.event)
            .filter(|e| seen.insert(e.id.as_str()))
            .collect();
        // Attempts: the last occurrence of an id wins (one row per id, as ON CONFLICT DO
        // UPDATE may not touch a row twice in one statement).
        let mut slot: HashMap<&str, usize> = HashMap::new();
        let mut attempts: Vec<&LogEntry> = Vec::new();
        for e in entries {
            match slot.get(e.attempt.id.as_str()) {
                Some(&i) => attempts[i] = e,
                None => {
                    slot.insert(&e.attempt.id, attempts.len());
                    attempts.push(e);
                }
            }
        }

        let mut client = self.pool.get().await.map_err(backend)?;
        let tx = client.transaction().await.map_err(backend)?;

        let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
        let stmt = tx.prepare_cached(EXISTING_EVENTS).await.map_err(backend)?;
        let existing: HashSet<String> = tx
            .query(&stmt, &[&ids])
            .await
            .map_err(backend)?
            .iter()
            .map(|r| get::<String>(r, 0))
            .collect::<Result<_, _>>()?;
        let mut ev = EventColumns::default();
        for e in events.into_iter().filter(|e| !existing.contains(&e.id)) {
            ev.push(e)?;
        }
        if !ev.id.is_empty() {
            let stmt = tx.prepare_cached(INSERT_EVENTS).await.map_err(backend)?;
            tx.execute(
                &stmt,
                &[
                    &ev.id,
                    &ev.tenant_id,
                    &ev.destination_id,
                    &ev.time,
                    &ev.topic,
                    &ev.eligible_for_retry,
                    &ev.data,
                    &ev.metadata,
                    &ev.matched,
                ],
            )
            .await
            .map_err(backend)?;
        }

        let mut at = AttemptColumns::default();
        for e in attempts {
            at.push(e)?;
        }
        let stmt = tx.prepare_cached(INSERT_ATTEMPTS).await.map_err(backend)?;
        tx.execute(
            &stmt,
            &[
                &at.id,
                &at.event_id,
                &at.destination_id,
                &at.status,
                &at.time,
                &at.code,
                &at.response_data,
                &at.manual,
                &at.attempt_number,
                &at.tenant_id,
                &at.topic,
                &at.event_time,
                &at.eligible_for_retry,
                &at.event_data,
                &at.event_metadata,
                &at.destination_type,
                &at.duration_ms,
            ],
        )
        .await
        .map_err(backend)?;
        tx.commit().await.map_err(backend)
    }

    async fn list_events(&self, q: &EventQuery) -> Result<Page<Event, LogKey>, StoreError> {
        let mut sql = Sql::new(format!("SELECT {EVENT_COLS} FROM events WHERE TRUE"));
        sql.any("tenant_id", &q.tenant_ids);
        sql.any("id", &q.ids);
        sql.any("topic", &q.topics);
        if !q.destination_ids.is_empty() {
            let p = sql.bind(q.destination_ids.clone());
            sql.and(&format!("matched_destination_ids && {p}::text[]"));
        }
        sql.time(&q.time);
        sql.page(&q.page);
        let items = self
            .rows(&sql)
            .await?
            .iter()
            .map(event_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(q.page.build(items, |e| LogKey {
            time_ms: e.time.timestamp_millis(),
            id: e.id.clone(),
        }))
    }

    async fn get_event(
        &self,
        tenant_id: Option<&str>,
        id: &str,
    ) -> Result<Option<Event>, StoreError> {
        let mut sql = Sql::new(format!("SELECT {EVENT_COLS} FROM events WHERE TRUE"));
        let p = sql.bind(id.to_string());
        sql.and(&format!("id = {p}"));
        if let Some(t) = tenant_id {
            let p = sql.bind(t.to_string());
            sql.and(&format!("tenant_id = {p}"));
        }
        sql.text.push_str(" ORDER BY time DESC LIMIT 1");
        self.rows(&sql)
            .await?
            .first()
            .map(event_from_row)
            .transpose()
    }

    async fn list_attempts(
        &self,
        q: &AttemptQuery,
    ) -> Result<Page<AttemptRecord, LogKey>, StoreError> {
        let mut sql = Sql::new(format!("SELECT {ATTEMPT_COLS} FROM attempts WHERE TRUE"));
        sql.any("tenant_id", &q.tenant_ids);
        sql.any("event_id", &q.event_ids);
        sql.any("destination_id", &q.destination_ids);
        sql.any("destination_type", &q.destination_types);
        if let Some(s) = q.status {
            let p = sql.bind(status_str(s));
            sql.and(&format!("status = {p}"));
        }
        sql.any("topic", &q.topics);
        sql.time(&q.time);
        sql.page(&q.page);
        let items = self
            .rows(&sql)
            .await?
            .iter()
            .map(attempt_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(q.page.build(items, |r| LogKey {
            time_ms: r.attempt.time.timestamp_millis(),
            id: r.attempt.id.clone(),
        }))
    }

    async fn get_attempt(
        &self,
        tenant_id: Option<&str>,
        id: &str,
    ) -> Result<Option<AttemptRecord>, StoreError> {
        let mut sql = Sql::new(format!("SELECT {ATTEMPT_COLS} FROM attempts WHERE TRUE"));
        let p = sql.bind(id.to_string());
        sql.and(&format!("id = {p}"));
        if let Some(t) = tenant_id {
            let p = sql.bind(t.to_string());
            sql.and(&format!("tenant_id = {p}"));
        }
        sql.text.push_str(" ORDER BY time DESC LIMIT 1");
        self.rows(&sql)
            .await?
            .first()
            .map(attempt_from_row)
            .transpose()
    }

    async fn latest_attempt(
        &self,
        tenant_id: Option<&str>,
        event_id: &str,
        destination_id: &str,
    ) -> Result<Option<AttemptRecord>, StoreError> {
        let mut sql = Sql::new(format!("SELECT {ATTEMPT_COLS} FROM attempts WHERE TRUE"));
        let e = sql.bind(event_id.to_string());
        let d = sql.bind(destination_id.to_string());
        sql.and(&format!("event_id = {e} AND destination_id = {d}"));
        if let Some(t) = tenant_id {
            let p = sql.bind(t.to_string());
            sql.and(&format!("tenant_id = {p}"));
        }
        sql.text
            .push_str(" ORDER BY attempt_number DESC, time DESC, id DESC LIMIT 1");
        self.rows(&sql)
            .await?
            .first()
            .map(attempt_from_row)
            .transpose()
    }

    async fn event_aggregates(&self, q: &AggregateQuery) -> Result<Vec<AggregateRow>, StoreError> {
        self.aggregate_events(q).await
    }

    async fn attempt_aggregates(
        &self,
        q: &AggregateQuery,
    ) -> Result<Vec<AggregateRow>, StoreError> {
        self.aggregate_attempts(q).await
    }
}
