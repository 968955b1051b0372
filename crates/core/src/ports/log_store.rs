//! The log store port: the durable record of events and delivery attempts written by the
//! log service and read by the API (through gRPC in split deployments). Implemented on
//! Postgres and in memory; one conformance suite covers both.

use crate::StoreError;
use crate::event::{Attempt, AttemptStatus, Event, LogEntry};
use crate::metrics::{AggregateQuery, AggregateRow};
use crate::ports::page::{Page, PageRequest};
use crate::time::Timestamp;

/// Position in a time-ordered log: (time in ms, id). Cursor data `<ms>::<id>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogKey {
    /// Event time (events) or attempt time (attempts), unix ms.
    pub time_ms: i64,
    /// Event or attempt id.
    pub id: String,
}

impl LogKey {
    /// Cursor data as upstream: `<ms>::<id>`.
    pub fn to_cursor_data(&self) -> String {
        format!("{}::{}", self.time_ms, self.id)
    }

    /// Parses cursor data.
    pub fn parse(data: &str) -> Option<Self> {
        let (ms, id) = data.split_once("::")?;
        Some(Self {
            time_ms: ms.parse().ok()?,
            id: id.to_string(),
        })
    }
}

/// Bounds on a time column; all optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimeRange {
    /// At or after.
    pub gte: Option<Timestamp>,
    /// At or before.
    pub lte: Option<Timestamp>,
    /// Strictly after.
    pub gt: Option<Timestamp>,
    /// Strictly before.
    pub lt: Option<Timestamp>,
}

impl TimeRange {
    /// Whether `t` is inside the range.
    pub fn contains(&self, t: &Timestamp) -> bool {
        self.gte.is_none_or(|b| *t >= b)
            && self.lte.is_none_or(|b| *t <= b)
            && self.gt.is_none_or(|b| *t > b)
            && self.lt.is_none_or(|b| *t < b)
    }
}

/// Filters of `GET /events` (each list: match any of its values; empty = no filter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventQuery {
    /// Tenants.
    pub tenant_ids: Vec<String>,
    /// Event ids.
    pub ids: Vec<String>,
    /// Events routed to any of these destinations.
    pub destination_ids: Vec<String>,
    /// Topics.
    pub topics: Vec<String>,
    /// Event time bounds.
    pub time: TimeRange,
    /// Paging (ordered by event time, then id).
    pub page: PageRequest<LogKey>,
}

/// Filters of `GET /attempts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptQuery {
    /// Tenants.
    pub tenant_ids: Vec<String>,
    /// Events.
    pub event_ids: Vec<String>,
    /// Destinations.
    pub destination_ids: Vec<String>,
    /// Destination types.
    pub destination_types: Vec<String>,
    /// Outcome.
    pub status: Option<AttemptStatus>,
    /// Event topics.
    pub topics: Vec<String>,
    /// Attempt time bounds.
    pub time: TimeRange,
    /// Paging (ordered by attempt time, then id).
    pub page: PageRequest<LogKey>,
}

/// An attempt with the event it delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    /// The attempt.
    pub attempt: Attempt,
    /// Its event (`matched_destination_ids` may be empty: attempt rows do not carry them).
    pub event: Event,
}

/// Storage of events and attempts.
#[async_trait::async_trait]
pub trait LogStore: Send + Sync + 'static {
    /// Writes a batch in one transaction. Idempotent: an attempt id already stored is updated
    /// (status, code, response) and an event id already stored is kept.
    async fn insert(&self, entries: &[LogEntry]) -> Result<(), StoreError>;
    /// Lists events.
    async fn list_events(&self, q: &EventQuery) -> Result<Page<Event, LogKey>, StoreError>;
    /// One event, optionally restricted to a tenant.
    async fn get_event(
        &self,
        tenant_id: Option<&str>,
        id: &str,
    ) -> Result<Option<Event>, StoreError>;
    /// Lists attempts.
    async fn list_attempts(
        &self,
        q: &AttemptQuery,
    ) -> Result<Page<AttemptRecord, LogKey>, StoreError>;
    /// One attempt, optionally restricted to a tenant.
    async fn get_attempt(
        &self,
        tenant_id: Option<&str>,
        id: &str,
    ) -> Result<Option<AttemptRecord>, StoreError>;
    /// The attempt with the highest attempt number for (event, destination), optionally
    /// restricted to a tenant: what a retry continues from.
    async fn latest_attempt(
        &self,
        tenant_id: Option<&str>,
        event_id: &str,
        destination_id: &str,
    ) -> Result<Option<AttemptRecord>, StoreError>;
    /// Event aggregates for the metrics API: events by event time, grouped by bucket and the
    /// requested dimensions (`destination_id` counts an event once per matched destination).
    async fn event_aggregates(&self, q: &AggregateQuery) -> Result<Vec<AggregateRow>, StoreError>;
    /// Attempt aggregates for the metrics API, by attempt time.
    async fn attempt_aggregates(&self, q: &AggregateQuery)
    -> Result<Vec<AggregateRow>, StoreError>;
}
