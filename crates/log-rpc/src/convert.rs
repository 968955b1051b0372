//! Conversions between the core log types and the wire messages. Core → wire is infallible;
//! wire → core returns [`ConvertError`] naming the offending field.

use crate::error::ConvertError;
use crate::pb;
use outpost_core::event::{Attempt, AttemptStatus, Event};
use outpost_core::metrics::{AggregateQuery, AggregateRow, Granularity};
use outpost_core::ports::{
    AttemptQuery, AttemptRecord, Dir, EventQuery, LogKey, Page, PageCursor, PageRequest, TimeRange,
};
use outpost_core::time::Timestamp;
use serde_json::value::RawValue;

/// Largest page size the server accepts.
pub const MAX_PAGE_LIMIT: u32 = 10_000;

// ---- scalars -------------------------------------------------------------------------------

fn timestamp_to_pb(t: &Timestamp) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        // Below 2e9 even for a leap second, so it fits an i32.
        nanos: t.timestamp_subsec_nanos() as i32,
    }
}

fn timestamp_from_pb(
    field: &'static str,
    t: &prost_types::Timestamp,
) -> Result<Timestamp, ConvertError> {
    u32::try_from(t.nanos)
        .ok()
        .and_then(|n| Timestamp::from_timestamp(t.seconds, n))
        .ok_or(ConvertError::Timestamp { field })
}

fn required_time(
    field: &'static str,
    t: Option<&prost_types::Timestamp>,
) -> Result<Timestamp, ConvertError> {
    timestamp_from_pb(field, t.ok_or(ConvertError::Missing { field })?)
}

fn optional_time(
    field: &'static str,
    t: Option<&prost_types::Timestamp>,
) -> Result<Option<Timestamp>, ConvertError> {
    t.map(|t| timestamp_from_pb(field, t)).transpose()
}

fn status_to_pb(s: AttemptStatus) -> pb::AttemptStatus {
    match s {
        AttemptStatus::Success => pb::AttemptStatus::Success,
        AttemptStatus::Failed => pb::AttemptStatus::Failed,
    }
}

/// `UNSPECIFIED` gives `None`.
fn status_from_pb(field: &'static str, value: i32) -> Result<Option<AttemptStatus>, ConvertError> {
    match pb::AttemptStatus::try_from(value) {
        Ok(pb::AttemptStatus::Unspecified) => Ok(None),
        Ok(pb::AttemptStatus::Success) => Ok(Some(AttemptStatus::Success)),
        Ok(pb::AttemptStatus::Failed) => Ok(Some(AttemptStatus::Failed)),
        Err(_) => Err(ConvertError::Enum { field, value }),
    }
}

// ---- paging --------------------------------------------------------------------------------

impl From<&LogKey> for pb::LogKey {
    fn from(k: &LogKey) -> Self {
        Self {
            time_ms: k.time_ms,
            id: k.id.clone(),
        }
    }
}

impl From<pb::LogKey> for LogKey {
    fn from(k: pb::LogKey) -> Self {
        Self {
            time_ms: k.time_ms,
            id: k.id,
        }
    }
}

impl From<&PageRequest<LogKey>> for pb::PageRequest {
    fn from(p: &PageRequest<LogKey>) -> Self {
        Self {
            dir: match p.dir {
                Dir::Asc => pb::SortDir::Asc,
                Dir::Desc => pb::SortDir::Desc,
            } as i32,
            // An oversized limit is sent saturated so that the server rejects it with a
            // clear INVALID_ARGUMENT instead of this side failing silently.
            limit: u32::try_from(p.limit).unwrap_or(u32::MAX),
            cursor: p.cursor.as_ref().map(|c| match c {
                PageCursor::Next(k) => pb::page_request::Cursor::Next(k.into()),
                PageCursor::Prev(k) => pb::page_request::Cursor::Prev(k.into()),
            }),
        }
    }
}

impl TryFrom<pb::PageRequest> for PageRequest<LogKey> {
    type Error = ConvertError;

    fn try_from(p: pb::PageRequest) -> Result<Self, ConvertError> {
        let dir = match pb::SortDir::try_from(p.dir) {
            Ok(pb::SortDir::Unspecified) => Dir::default(),
            Ok(pb::SortDir::Asc) => Dir::Asc,
            Ok(pb::SortDir::Desc) => Dir::Desc,
            Err(_) => {
                return Err(ConvertError::Enum {
                    field: "page.dir",
                    value: p.dir,
                });
            }
        };
        if p.limit == 0 || p.limit > MAX_PAGE_LIMIT {
            return Err(ConvertError::Limit { value: p.limit });
        }
        Ok(Self {
            dir,
            // MAX_PAGE_LIMIT fits every usize.
            limit: p.limit as usize,
            cursor: p.cursor.map(|c| match c {
                pb::page_request::Cursor::Next(k) => PageCursor::Next(k.into()),
                pb::page_request::Cursor::Prev(k) => PageCursor::Prev(k.into()),
            }),
        })
    }
}

fn required_page(p: Option<pb::PageRequest>) -> Result<PageRequest<LogKey>, ConvertError> {
    p.ok_or(ConvertError::Missing { field: "page" })?.try_into()
}

impl From<&TimeRange> for pb::TimeRange {
    fn from(r: &TimeRange) -> Self {
        Self {
            gte: r.gte.as_ref().map(timestamp_to_pb),
            lte: r.lte.as_ref().map(timestamp_to_pb),
            gt: r.gt.as_ref().map(timestamp_to_pb),
            lt: r.lt.as_ref().map(timestamp_to_pb),
        }
    }
}

impl TryFrom<pb::TimeRange> for TimeRange {
    type Error = ConvertError;

    fn try_from(r: pb::TimeRange) -> Result<Self, ConvertError> {
        Ok(Self {
            gte: optional_time("time.gte", r.gte.as_ref())?,
            lte: optional_time("time.lte", r.lte.as_ref())?,
            gt: optional_time("time.gt", r.gt.as_ref())?,
            lt: optional_time("time.lt", r.lt.as_ref())?,
        })
    }
}

fn time_range_to_pb(r: &TimeRange) -> Option<pb::TimeRange> {
    (*r != TimeRange::default()).then(|| r.into())
}

fn time_range_from_pb(r: Option<pb::TimeRange>) -> Result<TimeRange, ConvertError> {
    r.map(TryInto::try_into)
        .transpose()
        .map(Option::unwrap_or_default)
}

// ---- events and attempts -------------------------------------------------------------------

impl From<&Event> for pb::Event {
    fn from(e: &Event) -> Self {
        Self {
            id: e.id.clone(),
            tenant_id: e.tenant_id.clone(),
            destination_id: e.destination_id.clone(),
            matched_destination_ids: e.matched_destination_ids.clone(),
            topic: e.topic.clone(),
            eligible_for_retry: e.eligible_for_retry,
            time: Some(timestamp_to_pb(&e.time)),
            metadata: e.metadata.clone(),
            data: e.data.get().to_owned(),
        }
    }
}

impl TryFrom<pb::Event> for Event {
    type Error = ConvertError;

    fn try_from(e: pb::Event) -> Result<Self, ConvertError> {
        Ok(Self {
            time: required_time("event.time", e.time.as_ref())?,
            // Kept as the exact text received: RawValue only validates it.
            data: RawValue::from_string(e.data).map_err(|source| ConvertError::Json {
                field: "event.data",
                source,
            })?,
            id: e.id,
            tenant_id: e.tenant_id,
            destination_id: e.destination_id,
            matched_destination_ids: e.matched_destination_ids,
            topic: e.topic,
            eligible_for_retry: e.eligible_for_retry,
            metadata: e.metadata,
        })
    }
}

impl From<&Attempt> for pb::Attempt {
    fn from(a: &Attempt) -> Self {
        Self {
            id: a.id.clone(),
            tenant_id: a.tenant_id.clone(),
            event_id: a.event_id.clone(),
            destination_id: a.destination_id.clone(),
            destination_type: a.destination_type.clone(),
            attempt_number: a.attempt_number,
            manual: a.manual,
            status: status_to_pb(a.status) as i32,
            time: Some(timestamp_to_pb(&a.time)),
            code: a.code.clone(),
            response_data: a.response_data.as_ref().map(|v| v.to_string()),
            duration_ms: a.duration_ms,
        }
    }
}

impl TryFrom<pb::Attempt> for Attempt {
    type Error = ConvertError;

    fn try_from(a: pb::Attempt) -> Result<Self, ConvertError> {
        let status = status_from_pb("attempt.status", a.status)?.ok_or(ConvertError::Enum {
            field: "attempt.status",
            value: a.status,
        })?;
        let response_data = a
            .response_data
            .map(|s| serde_json::from_str(&s))
            .transpose()
            .map_err(|source| ConvertError::Json {
                field: "attempt.response_data",
                source,
            })?;
        Ok(Self {
            time: required_time("attempt.time", a.time.as_ref())?,
            id: a.id,
            tenant_id: a.tenant_id,
            event_id: a.event_id,
            destination_id: a.destination_id,
            destination_type: a.destination_type,
            attempt_number: a.attempt_number,
            manual: a.manual,
            status,
            code: a.code,
            response_data,
            duration_ms: a.duration_ms,
        })
    }
}

impl From<&AttemptRecord> for pb::AttemptRecord {
    fn from(r: &AttemptRecord) -> Self {
        Self {
            attempt: Some((&r.attempt).into()),
            event: Some((&r.event).into()),
        }
    }
}

impl TryFrom<pb::AttemptRecord> for AttemptRecord {
    type Error = ConvertError;

    fn try_from(r: pb::AttemptRecord) -> Result<Self, ConvertError> {
        Ok(Self {
            attempt: r
                .attempt
                .ok_or(ConvertError::Missing { field: "attempt" })?
                .try_into()?,
            event: r
                .event
                .ok_or(ConvertError::Missing { field: "event" })?
                .try_into()?,
        })
    }
}

// ---- requests ------------------------------------------------------------------------------

impl From<&EventQuery> for pb::ListEventsRequest {
    fn from(q: &EventQuery) -> Self {
        Self {
            tenant_ids: q.tenant_ids.clone(),
            ids: q.ids.clone(),
            destination_ids: q.destination_ids.clone(),
            topics: q.topics.clone(),
            time: time_range_to_pb(&q.time),
            page: Some((&q.page).into()),
        }
    }
}

impl TryFrom<pb::ListEventsRequest> for EventQuery {
    type Error = ConvertError;

    fn try_from(r: pb::ListEventsRequest) -> Result<Self, ConvertError> {
        Ok(Self {
            time: time_range_from_pb(r.time)?,
            page: required_page(r.page)?,
            tenant_ids: r.tenant_ids,
            ids: r.ids,
            destination_ids: r.destination_ids,
            topics: r.topics,
        })
    }
}

impl From<&AttemptQuery> for pb::ListAttemptsRequest {
    fn from(q: &AttemptQuery) -> Self {
        Self {
            tenant_ids: q.tenant_ids.clone(),
            event_ids: q.event_ids.clone(),
            destination_ids: q.destination_ids.clone(),
            destination_types: q.destination_types.clone(),
            status: q
                .status
                .map_or(pb::AttemptStatus::Unspecified, status_to_pb) as i32,
            topics: q.topics.clone(),
            time: time_range_to_pb(&q.time),
            page: Some((&q.page).into()),
        }
    }
}

impl TryFrom<pb::ListAttemptsRequest> for AttemptQuery {
    type Error = ConvertError;

    fn try_from(r: pb::ListAttemptsRequest) -> Result<Self, ConvertError> {
        Ok(Self {
            status: status_from_pb("status", r.status)?,
            time: time_range_from_pb(r.time)?,
            page: required_page(r.page)?,
            tenant_ids: r.tenant_ids,
            event_ids: r.event_ids,
            destination_ids: r.destination_ids,
            destination_types: r.destination_types,
            topics: r.topics,
        })
    }
}

// ---- responses -----------------------------------------------------------------------------

impl From<&Page<Event, LogKey>> for pb::ListEventsResponse {
    fn from(p: &Page<Event, LogKey>) -> Self {
        Self {
            events: p.items.iter().map(Into::into).collect(),
            next: p.next.as_ref().map(Into::into),
            prev: p.prev.as_ref().map(Into::into),
        }
    }
}

impl TryFrom<pb::ListEventsResponse> for Page<Event, LogKey> {
    type Error = ConvertError;

    fn try_from(r: pb::ListEventsResponse) -> Result<Self, ConvertError> {
        Ok(Self {
            items: r
                .events
                .into_iter()
                .map(TryInto::try_into)
                .collect::<Result<_, _>>()?,
            next: r.next.map(Into::into),
            prev: r.prev.map(Into::into),
        })
    }
}

impl From<&Page<AttemptRecord, LogKey>> for pb::ListAttemptsResponse {
    fn from(p: &Page<AttemptRecord, LogKey>) -> Self {
        Self {
            attempts: p.items.iter().map(Into::into).collect(),
            next: p.next.as_ref().map(Into::into),
            prev: p.prev.as_ref().map(Into::into),
        }
    }
}

impl TryFrom<pb::ListAttemptsResponse> for Page<AttemptRecord, LogKey> {
    type Error = ConvertError;

    fn try_from(r: pb::ListAttemptsResponse) -> Result<Self, ConvertError> {
        Ok(Self {
            items: r
                .attempts
                .into_iter()
                .map(TryInto::try_into)
                .collect::<Result<_, _>>()?,
            next: r.next.map(Into::into),
            prev: r.prev.map(Into::into),
        })
    }
}

// ---- aggregates ----------------------------------------------------------------------------

impl From<&AggregateQuery> for pb::AggregateQuery {
    fn from(q: &AggregateQuery) -> Self {
        Self {
            start: Some(timestamp_to_pb(&q.start)),
            end: Some(timestamp_to_pb(&q.end)),
            granularity: q.granularity.as_ref().map(Granularity::as_string),
            dimensions: q.dimensions.clone(),
            filters: q
                .filters
                .iter()
                .map(|(k, v)| (k.clone(), pb::FilterValues { values: v.clone() }))
                .collect(),
        }
    }
}

/// The query of an aggregate request. `known` lists the dimensions the aggregate accepts (to
/// group and to filter by); anything else is refused rather than handed to the store.
pub(crate) fn aggregate_query_from_pb(
    q: Option<pb::AggregateQuery>,
    known: &[&str],
) -> Result<AggregateQuery, ConvertError> {
    let q = q.ok_or(ConvertError::Missing { field: "query" })?;
    let check = |field: &'static str, name: &str| {
        if known.contains(&name) {
            Ok(())
        } else {
            Err(ConvertError::Dimension {
                field,
                name: name.to_owned(),
            })
        }
    };
    for d in &q.dimensions {
        check("query.dimensions", d)?;
    }
    for k in q.filters.keys() {
        check("query.filters", k)?;
    }
    Ok(AggregateQuery {
        start: required_time("query.start", q.start.as_ref())?,
        end: required_time("query.end", q.end.as_ref())?,
        granularity: q
            .granularity
            .as_deref()
            .map(Granularity::parse)
            .transpose()
            .map_err(ConvertError::Granularity)?,
        dimensions: q.dimensions,
        filters: q.filters.into_iter().map(|(k, v)| (k, v.values)).collect(),
    })
}

impl From<&AggregateRow> for pb::AggregateRow {
    fn from(r: &AggregateRow) -> Self {
        Self {
            bucket: r.bucket.as_ref().map(timestamp_to_pb),
            dims: r.dims.clone(),
            count: r.count,
            successful: r.successful,
            failed: r.failed,
            first_attempt: r.first_attempt,
            retry: r.retry,
            manual: r.manual,
            attempt_number_sum: r.attempt_number_sum,
            duration_count: r.duration_count,
            duration_sum_ms: r.duration_sum_ms,
            duration_max_ms: r.duration_max_ms,
        }
    }
}

impl TryFrom<pb::AggregateRow> for AggregateRow {
    type Error = ConvertError;

    fn try_from(r: pb::AggregateRow) -> Result<Self, ConvertError> {
        Ok(Self {
            bucket: optional_time("rows.bucket", r.bucket.as_ref())?,
            dims: r.dims,
            count: r.count,
            successful: r.successful,
            failed: r.failed,
            first_attempt: r.first_attempt,
            retry: r.retry,
            manual: r.manual,
            attempt_number_sum: r.attempt_number_sum,
            duration_count: r.duration_count,
            duration_sum_ms: r.duration_sum_ms,
            duration_max_ms: r.duration_max_ms,
        })
    }
}

/// The rows of an aggregate response.
pub(crate) fn aggregate_rows_from_pb(
    rows: Vec<pb::AggregateRow>,
) -> Result<Vec<AggregateRow>, ConvertError> {
    rows.into_iter().map(TryInto::try_into).collect()
}

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;
