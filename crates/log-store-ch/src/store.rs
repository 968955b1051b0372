//! The [`LogStore`] implementation: batch inserts and keyset-paginated, deduplicated reads.
//!
//! Semantics follow the in-memory reference store and the Postgres store:
//! * an event id already stored is kept (checked by id, whatever its time); within a batch the
//!   first entry of an event id wins;
//! * an attempt written again at the same `(time, id)` replaces the stored one (in practice its
//!   status, code, response and duration change); within a batch the last entry of an attempt
//!   id wins;
//! * lists are ordered by `(time, id)` (ids compared bytewise, as ClickHouse compares `String`)
//!   and paged with `PageRequest::scan` / `PageRequest::build`.
//!
//! The two `INSERT`s of a batch (events, then attempts) are not one transaction: if the second
//! fails the batch fails, and writing it again (what the log service does) ends in the same state
//! as one successful write, since both halves are idempotent.

use crate::http::{array, quote, time, tuple};
use crate::rows::{
    ATTEMPT_COLS, ATTEMPT_INSERT_COLS, AttemptIn, AttemptOut, EVENT_COLS, EVENT_INSERT_COLS,
    EventIn, EventOut, status_str,
};
use crate::{ChError, ChLogStore};
use outpost_core::StoreError;
use outpost_core::event::{Event, LogEntry};
use outpost_core::metrics::{AggregateQuery, AggregateRow};
use outpost_core::ports::page::{Dir, Page};
use outpost_core::ports::{AttemptQuery, AttemptRecord, EventQuery, LogKey, LogStore, TimeRange};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};

pub(crate) fn backend(e: ChError) -> StoreError {
    StoreError::backend(e)
}

/// The conditions of a `WHERE` clause, joined with `AND`.
#[derive(Default)]
pub(crate) struct Where(Vec<String>);

impl Where {
    pub(crate) fn push(&mut self, cond: String) {
        self.0.push(cond);
    }

    /// `col = value`.
    fn eq(&mut self, col: &str, value: &str) {
        self.push(format!("{col} = {}", quote(value)));
    }

    /// `col IN (values)`, no condition for an empty list (a list filter of the log API).
    fn any(&mut self, col: &str, values: &[String]) {
        match values {
            [] => {}
            [one] => self.eq(col, one),
            many => self.push(format!("{col} IN {}", tuple(many))),
        }
    }

    /// `col IN (values)`, false for an empty list (a metrics filter).
    pub(crate) fn one_of(&mut self, col: &str, values: &[String]) {
        if values.is_empty() {
            self.push("0".into());
        } else {
            self.any(col, values);
        }
    }

    /// `hasAny(col, [values])` for an `Array(String)` column.
    pub(crate) fn overlaps(&mut self, col: &str, values: &[String]) {
        self.push(format!("hasAny({col}, {})", array(values)));
    }

    /// The bounds of `range` on the time column `col`.
    fn time(&mut self, col: &str, range: &TimeRange) {
        for (op, bound) in [
            (">=", range.gte),
            ("<=", range.lte),
            (">", range.gt),
            ("<", range.lt),
        ] {
            if let Some(b) = bound {
                self.push(format!("{col} {op} {}", time(b.timestamp_millis())));
            }
        }
    }

    /// Rows strictly after `key` in scan direction `dir` on `(time_col, id_col)`, spelled out
    /// so that the primary key prunes on the time part.
    fn after(&mut self, time_col: &str, id_col: &str, dir: Dir, key: &LogKey) {
        let op = match dir {
            Dir::Asc => ">",
            Dir::Desc => "<",
        };
        let (t, id) = (time(key.time_ms), quote(&key.id));
        self.push(format!(
            "({time_col} {op} {t} OR ({time_col} = {t} AND {id_col} {op} {id}))"
        ));
    }

    pub(crate) fn sql(&self) -> String {
        if self.0.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.0.join(" AND "))
        }
    }
}

fn order(dir: Dir) -> &'static str {
    match dir {
        Dir::Asc => "ASC",
        Dir::Desc => "DESC",
    }
}

/// `limit + 1` rows, so the page knows whether there is more.
fn fetch_limit(limit: usize) -> u64 {
    u64::try_from(limit.saturating_add(1)).unwrap_or(u64::MAX)
}

impl ChLogStore {
    async fn events(&self, sql: &str) -> Result<Vec<Event>, StoreError> {
        let rows: Vec<EventOut> = self.http.rows(sql).await.map_err(backend)?;
        rows.into_iter().map(EventOut::into_event).collect()
    }

    async fn attempts(&self, sql: &str) -> Result<Vec<AttemptRecord>, StoreError> {
        let rows: Vec<AttemptOut> = self.http.rows(sql).await.map_err(backend)?;
        rows.into_iter().map(AttemptOut::into_record).collect()
    }

    /// The ids among `ids` that are stored as events, asked in chunks whose SQL stays well
    /// under ClickHouse's `max_query_size` (256 KiB by default) whatever the batch size.
    async fn stored_event_ids(&self, ids: &[String]) -> Result<HashSet<String>, StoreError> {
        #[derive(Deserialize)]
        struct Id {
            event_id: String,
        }
        let mut stored = HashSet::new();
        for chunk in chunks_by_size(ids, ID_LIST_BYTES) {
            let rows: Vec<Id> = self
                .http
                .rows(&format!(
                    "SELECT DISTINCT event_id FROM {} WHERE event_id IN {}",
                    self.tables.events,
                    tuple(chunk)
                ))
                .await
                .map_err(|e| backend(e.during("looking up stored events")))?;
            stored.extend(rows.into_iter().map(|r| r.event_id));
        }
        Ok(stored)
    }
}

/// Most bytes of ids in one `IN` list.
const ID_LIST_BYTES: usize = 64 * 1024;

/// `values` cut into consecutive non-empty chunks of at most `max_bytes` of text each (a longer
/// single value makes a chunk of its own).
fn chunks_by_size(values: &[String], max_bytes: usize) -> Vec<&[String]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, v) in values.iter().enumerate() {
        if i > start && bytes + v.len() > max_bytes {
            out.push(&values[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += v.len();
    }
    if start < values.len() {
        out.push(&values[start..]);
    }
    out
}

#[async_trait::async_trait]
impl LogStore for ChLogStore {
    async fn insert(&self, entries: &[LogEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        // Events: the first occurrence of an id wins, and one already stored is kept.
        let mut seen = HashSet::new();
        let events: Vec<&Event> = entries
            .iter()
            .map(|e| &e.event)
            .filter(|e| seen.insert(e.id.as_str()))
            .collect();
        let ids: Vec<String> = events.iter().map(|e| e.id.clone()).collect();
        let stored = self.stored_event_ids(&ids).await?;
        let new_events = events
            .into_iter()
            .filter(|e| !stored.contains(&e.id))
            .map(EventIn::new)
            .collect::<Result<Vec<_>, _>>()?;
        // Attempts: the last occurrence of an id wins.
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
        let attempts = attempts
            .into_iter()
            .map(AttemptIn::new)
            .collect::<Result<Vec<_>, _>>()?;

        if !new_events.is_empty() {
            self.http
                .insert(&self.tables.events, EVENT_INSERT_COLS, &new_events)
                .await
                .map_err(|e| backend(e.during("inserting events")))?;
        }
        self.http
            .insert(&self.tables.attempts, ATTEMPT_INSERT_COLS, &attempts)
            .await
            .map_err(|e| backend(e.during("inserting attempts")))
    }

    async fn list_events(&self, q: &EventQuery) -> Result<Page<Event, LogKey>, StoreError> {
        let (dir, after) = q.page.scan();
        let mut w = Where::default();
        w.any("tenant_id", &q.tenant_ids);
        w.any("event_id", &q.ids);
        w.any("topic", &q.topics);
        if !q.destination_ids.is_empty() {
            w.overlaps("matched_destination_ids", &q.destination_ids);
        }
        w.time("event_time", &q.time);
        if let Some(k) = after {
            w.after("event_time", "event_id", dir, k);
        }
        let o = order(dir);
        let sql = format!(
            "SELECT {EVENT_COLS} FROM {} {} ORDER BY event_time {o}, event_id {o} \
             LIMIT 1 BY event_time, event_id LIMIT {}",
            self.tables.events,
            w.sql(),
            fetch_limit(q.page.limit)
        );
        let items = self.events(&sql).await?;
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
        let mut w = Where::default();
        w.eq("event_id", id);
        if let Some(t) = tenant_id {
            w.eq("tenant_id", t);
        }
        let sql = format!(
            "SELECT {EVENT_COLS} FROM {} {} ORDER BY event_time DESC LIMIT 1",
            self.tables.events,
            w.sql()
        );
        Ok(self.events(&sql).await?.into_iter().next())
    }

    async fn list_attempts(
        &self,
        q: &AttemptQuery,
    ) -> Result<Page<AttemptRecord, LogKey>, StoreError> {
        let (dir, after) = q.page.scan();
        let mut w = Where::default();
        w.any("tenant_id", &q.tenant_ids);
        w.any("event_id", &q.event_ids);
        w.any("destination_id", &q.destination_ids);
        w.any("destination_type", &q.destination_types);
        w.any("topic", &q.topics);
        w.time("attempt_time", &q.time);
        if let Some(k) = after {
            w.after("attempt_time", "attempt_id", dir, k);
        }
        let o = order(dir);
        // The latest version of each attempt, in page order.
        let latest = format!(
            "SELECT {ATTEMPT_COLS} FROM {} {} \
             ORDER BY attempt_time {o}, attempt_id {o}, inserted_at DESC \
             LIMIT 1 BY attempt_time, attempt_id",
            self.tables.attempts,
            w.sql()
        );
        let limit = fetch_limit(q.page.limit);
        let sql = match q.status {
            // Reads in key order and stops after `limit` attempts.
            None => format!("{latest} LIMIT {limit}"),
            // The status can change between versions: filter the latest versions only.
            Some(s) => format!(
                "SELECT * FROM ({latest}) WHERE status = {} \
                 ORDER BY attempt_time_ms {o}, attempt_id {o} LIMIT {limit}",
                quote(status_str(s))
            ),
        };
        let items = self.attempts(&sql).await?;
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
        let mut w = Where::default();
        w.eq("attempt_id", id);
        if let Some(t) = tenant_id {
            w.eq("tenant_id", t);
        }
        let sql = format!(
            "SELECT {ATTEMPT_COLS} FROM {} {} ORDER BY attempt_time DESC, inserted_at DESC LIMIT 1",
            self.tables.attempts,
            w.sql()
        );
        Ok(self.attempts(&sql).await?.into_iter().next())
    }

    async fn latest_attempt(
        &self,
        tenant_id: Option<&str>,
        event_id: &str,
        destination_id: &str,
    ) -> Result<Option<AttemptRecord>, StoreError> {
        let mut w = Where::default();
        w.eq("event_id", event_id);
        w.eq("destination_id", destination_id);
        if let Some(t) = tenant_id {
            w.eq("tenant_id", t);
        }
        let sql = format!(
            "SELECT {ATTEMPT_COLS} FROM {} {} \
             ORDER BY attempt_number DESC, attempt_time DESC, attempt_id DESC, inserted_at DESC \
             LIMIT 1",
            self.tables.attempts,
            w.sql()
        );
        Ok(self.attempts(&sql).await?.into_iter().next())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_lists_are_chunked_by_size() {
        let ids: Vec<String> = ["aaaa", "bb", "cccc", "dddddddd", "e"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let lens =
            |max| -> Vec<usize> { chunks_by_size(&ids, max).iter().map(|c| c.len()).collect() };
        assert_eq!(lens(6), vec![2, 1, 1, 1]);
        assert_eq!(lens(100), vec![5]);
        assert_eq!(lens(1), vec![1, 1, 1, 1, 1]);
        assert!(chunks_by_size(&[], 10).is_empty());
    }
}
