//! The rows of the two tables as written (`JSONEachRow` input) and as read (the selected
//! columns), with their conversion from and to the domain types.
//!
//! * Times are written as `DateTime64(3)` text (`YYYY-MM-DD hh:mm:ss.sss`, UTC, milliseconds
//!   truncated like every store's) and read back as epoch milliseconds
//!   (`toUnixTimestamp64Milli`), so no date formatting sits on the read path.
//! * The event payload is stored as the exact text the publisher sent, metadata as a JSON
//!   object, an attempt's response as JSON text (empty when there is none).

use crate::ChError;
use crate::http::Num;
use outpost_core::StoreError;
use outpost_core::event::{Attempt, AttemptStatus, Event, LogEntry};
use outpost_core::patch::StringMap;
use outpost_core::ports::AttemptRecord;
use outpost_core::time::{Timestamp, from_unix_ms};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Columns written for an event ([`EventIn`]'s fields).
pub(crate) const EVENT_INSERT_COLS: &str = "event_id, tenant_id, destination_id, topic, \
    eligible_for_retry, event_time, metadata, data, matched_destination_ids";

/// Columns written for an attempt ([`AttemptIn`]'s fields); `inserted_at` takes its default.
pub(crate) const ATTEMPT_INSERT_COLS: &str = "event_id, tenant_id, destination_id, topic, \
    eligible_for_retry, event_time, metadata, data, attempt_id, status, attempt_time, code, \
    response_data, manual, attempt_number, destination_type, duration_ms";

/// Columns read for an event ([`EventOut`]'s fields).
pub(crate) const EVENT_COLS: &str = "event_id, tenant_id, destination_id, topic, \
    eligible_for_retry, toUnixTimestamp64Milli(event_time) AS event_time_ms, metadata, data, \
    matched_destination_ids";

/// Columns read for an attempt record ([`AttemptOut`]'s fields).
pub(crate) const ATTEMPT_COLS: &str = "event_id, tenant_id, destination_id, topic, \
    eligible_for_retry, toUnixTimestamp64Milli(event_time) AS event_time_ms, metadata, data, \
    attempt_id, status, toUnixTimestamp64Milli(attempt_time) AS attempt_time_ms, code, \
    response_data, manual, attempt_number, destination_type, duration_ms";

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

pub(crate) fn status_str(s: AttemptStatus) -> &'static str {
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

/// `t` as ClickHouse's `DateTime64(3)` text (milliseconds truncated like every store's).
fn time_text(t: &Timestamp) -> Result<String, StoreError> {
    let t = from_unix_ms(t.timestamp_millis());
    if !(1..=9999).contains(&chrono::Datelike::year(&t)) {
        return Err(StoreError::backend(ChError::Unstorable(format!(
            "time {t}: ClickHouse DateTime64 holds the years 1 to 9999"
        ))));
    }
    Ok(t.format("%Y-%m-%d %H:%M:%S%.3f").to_string())
}

fn metadata_json(m: &StringMap) -> Result<String, StoreError> {
    serde_json::to_string(m).map_err(|e| corrupt("event metadata", e))
}

fn metadata(text: &str) -> Result<StringMap, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt("event metadata", e))
}

fn raw(data: String) -> Result<Box<RawValue>, StoreError> {
    RawValue::from_string(data).map_err(|e| corrupt("event data is not JSON", e))
}

/// An event row as written.
#[derive(Serialize)]
pub(crate) struct EventIn<'a> {
    event_id: &'a str,
    tenant_id: &'a str,
    destination_id: &'a str,
    topic: &'a str,
    eligible_for_retry: bool,
    event_time: String,
    metadata: String,
    data: &'a str,
    matched_destination_ids: &'a [String],
}

impl<'a> EventIn<'a> {
    pub(crate) fn new(e: &'a Event) -> Result<Self, StoreError> {
        Ok(Self {
            event_id: &e.id,
            tenant_id: &e.tenant_id,
            destination_id: &e.destination_id,
            topic: &e.topic,
            eligible_for_retry: e.eligible_for_retry,
            event_time: time_text(&e.time)?,
            metadata: metadata_json(&e.metadata)?,
            data: e.data.get(),
            matched_destination_ids: &e.matched_destination_ids,
        })
    }
}

/// An attempt row as written (with its event's fields).
#[derive(Serialize)]
pub(crate) struct AttemptIn<'a> {
    event_id: &'a str,
    tenant_id: &'a str,
    destination_id: &'a str,
    topic: &'a str,
    eligible_for_retry: bool,
    event_time: String,
    metadata: String,
    data: &'a str,
    attempt_id: &'a str,
    status: &'static str,
    attempt_time: String,
    code: &'a str,
    /// The response as JSON text; empty when there is none.
    response_data: String,
    manual: bool,
    attempt_number: u32,
    destination_type: &'a str,
    duration_ms: Option<u64>,
}

impl<'a> AttemptIn<'a> {
    pub(crate) fn new(entry: &'a LogEntry) -> Result<Self, StoreError> {
        let (a, e) = (&entry.attempt, &entry.event);
        Ok(Self {
            event_id: &a.event_id,
            tenant_id: &a.tenant_id,
            destination_id: &a.destination_id,
            topic: &e.topic,
            eligible_for_retry: e.eligible_for_retry,
            event_time: time_text(&e.time)?,
            metadata: metadata_json(&e.metadata)?,
            data: e.data.get(),
            attempt_id: &a.id,
            status: status_str(a.status),
            attempt_time: time_text(&a.time)?,
            code: &a.code,
            response_data: match &a.response_data {
                Some(v) => {
                    serde_json::to_string(v).map_err(|e| corrupt("attempt response_data", e))?
                }
                None => String::new(),
            },
            manual: a.manual,
            attempt_number: a.attempt_number,
            destination_type: &a.destination_type,
            duration_ms: a.duration_ms,
        })
    }
}

/// An event row as read ([`EVENT_COLS`]).
#[derive(Deserialize)]
pub(crate) struct EventOut {
    event_id: String,
    tenant_id: String,
    destination_id: String,
    topic: String,
    eligible_for_retry: bool,
    event_time_ms: Num<i64>,
    metadata: String,
    data: String,
    matched_destination_ids: Vec<String>,
}

impl EventOut {
    pub(crate) fn into_event(self) -> Result<Event, StoreError> {
        Ok(Event {
            id: self.event_id,
            tenant_id: self.tenant_id,
            destination_id: self.destination_id,
            matched_destination_ids: self.matched_destination_ids,
            topic: self.topic,
            eligible_for_retry: self.eligible_for_retry,
            time: from_unix_ms(self.event_time_ms.0),
            metadata: metadata(&self.metadata)?,
            data: raw(self.data)?,
        })
    }
}

/// An attempt row as read ([`ATTEMPT_COLS`]).
#[derive(Deserialize)]
pub(crate) struct AttemptOut {
    event_id: String,
    tenant_id: String,
    destination_id: String,
    topic: String,
    eligible_for_retry: bool,
    event_time_ms: Num<i64>,
    metadata: String,
    data: String,
    attempt_id: String,
    status: String,
    attempt_time_ms: Num<i64>,
    code: String,
    response_data: String,
    manual: bool,
    attempt_number: u32,
    destination_type: String,
    duration_ms: Option<Num<u64>>,
}

impl AttemptOut {
    pub(crate) fn into_record(self) -> Result<AttemptRecord, StoreError> {
        let response_data = if self.response_data.is_empty() {
            None
        } else {
            Some(
                serde_json::from_str(&self.response_data)
                    .map_err(|e| corrupt("attempt response_data", e))?,
            )
        };
        let attempt = Attempt {
            id: self.attempt_id,
            tenant_id: self.tenant_id.clone(),
            event_id: self.event_id.clone(),
            destination_id: self.destination_id,
            destination_type: self.destination_type,
            attempt_number: self.attempt_number,
            manual: self.manual,
            status: parse_status(&self.status)?,
            time: from_unix_ms(self.attempt_time_ms.0),
            code: self.code,
            response_data,
            duration_ms: self.duration_ms.map(|d| d.0),
        };
        let event = Event {
            id: self.event_id,
            tenant_id: self.tenant_id,
            destination_id: String::new(),
            matched_destination_ids: Vec::new(),
            topic: self.topic,
            eligible_for_retry: self.eligible_for_retry,
            time: from_unix_ms(self.event_time_ms.0),
            metadata: metadata(&self.metadata)?,
            data: raw(self.data)?,
        };
        Ok(AttemptRecord { attempt, event })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_written_to_the_millisecond() {
        let t = outpost_core::time::parse_rfc3339("8024-02-29T12:00:00.123987Z").unwrap();
        assert_eq!(time_text(&t).unwrap(), "8024-02-29 12:00:00.123");
        let before_1970 = outpost_core::time::parse_rfc3339("1969-12-31T23:59:59.9996Z").unwrap();
        assert_eq!(time_text(&before_1970).unwrap(), "1969-12-31 23:59:59.999");
        let year0 = outpost_core::time::parse_rfc3339("0000-06-01T00:00:00Z").unwrap();
        assert!(time_text(&year0).is_err());
    }
}
