//! Events, delivery attempts and the messages that carry them between services: the
//! deliverymq task and the logmq entry (spec §2.3–§2.5).

use crate::destination::Destination;
use crate::patch::StringMap;
use crate::time::{Timestamp, serde_rfc3339};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A published event. `data` is kept as the raw JSON bytes the publisher sent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    /// Event id (publisher's, or generated).
    pub id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// The publish target, when the publisher named one (empty otherwise).
    #[serde(default)]
    pub destination_id: String,
    /// Destinations the event was routed to.
    #[serde(default)]
    pub matched_destination_ids: Vec<String>,
    /// Topic (may be empty when no `TOPICS` are configured).
    #[serde(default)]
    pub topic: String,
    /// Whether failed deliveries are retried automatically.
    pub eligible_for_retry: bool,
    /// Event time.
    #[serde(with = "serde_rfc3339")]
    pub time: Timestamp,
    /// Publisher metadata, sent with every delivery.
    #[serde(default)]
    pub metadata: StringMap,
    /// The payload, verbatim.
    pub data: Box<RawValue>,
}

impl PartialEq for Event {
    fn eq(&self, o: &Self) -> bool {
        self.id == o.id
            && self.tenant_id == o.tenant_id
            && self.destination_id == o.destination_id
            && self.matched_destination_ids == o.matched_destination_ids
            && self.topic == o.topic
            && self.eligible_for_retry == o.eligible_for_retry
            && self.time == o.time
            && self.metadata == o.metadata
            && self.data.get() == o.data.get()
    }
}

impl Event {
    /// The document the filter language evaluates: `{id, topic, time, metadata, data}`, with
    /// the time at whole seconds in RFC 3339.
    pub fn filter_document(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id,
            "topic": self.topic,
            "time": crate::time::format_rfc3339_secs(&self.time),
            "metadata": self.metadata,
            "data": serde_json::from_str::<serde_json::Value>(self.data.get()).unwrap_or(serde_json::Value::Null),
        })
    }
}

/// An event's filter document ([`Event::filter_document`]), built on first use and then kept:
/// routing an event asks for it once per destination that has a filter, and not at all when
/// none has one.
pub struct FilterDoc<'a> {
    event: &'a Event,
    doc: std::cell::OnceCell<serde_json::Value>,
}

impl<'a> FilterDoc<'a> {
    /// The document of `event`, not built yet.
    pub fn new(event: &'a Event) -> Self {
        Self {
            event,
            doc: std::cell::OnceCell::new(),
        }
    }

    /// The document, built now if it was not.
    pub fn get(&self) -> &serde_json::Value {
        self.doc.get_or_init(|| self.event.filter_document())
    }

    /// Whether the document has been built.
    pub fn is_built(&self) -> bool {
        self.doc.get().is_some()
    }
}

/// Outcome of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttemptStatus {
    /// Delivered.
    Success,
    /// Refused or failed.
    Failed,
}

/// One delivery attempt of an event to a destination.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    /// Attempt id.
    pub id: String,
    /// Tenant.
    pub tenant_id: String,
    /// Event.
    pub event_id: String,
    /// Destination.
    pub destination_id: String,
    /// Destination type.
    pub destination_type: String,
    /// 1-based attempt number.
    pub attempt_number: u32,
    /// Whether a manual retry triggered it.
    pub manual: bool,
    /// Outcome.
    pub status: AttemptStatus,
    /// When it was made.
    #[serde(with = "serde_rfc3339")]
    pub time: Timestamp,
    /// HTTP status as a string, `OK`, or an error class such as `timeout`.
    #[serde(default)]
    pub code: String,
    /// Type-specific response detail (webhook: `{status, body}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_data: Option<serde_json::Value>,
    /// How long the send took, in milliseconds (ours; absent in upstream's messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

/// The deliverymq message: deliver `event` to `destination_id`, as attempt number `attempt`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeliveryTask {
    /// Message format version (absent in upstream's messages, which are version 1).
    #[serde(default = "task_version")]
    pub version: u32,
    /// The event.
    pub event: Event,
    /// Target destination.
    pub destination_id: String,
    /// 1-based attempt number.
    pub attempt: u32,
    /// Triggered by a manual retry.
    #[serde(default)]
    pub manual: bool,
    /// Trace context of the publish that caused this task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telemetry: Option<Telemetry>,
}

/// Trace context carried in queue messages (upstream's `telemetry` field): W3C trace and span
/// ids in hex, and when the event was received (RFC 3339), for end-to-end latency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Telemetry {
    /// 32 hex digits.
    #[serde(rename = "TraceID")]
    pub trace_id: String,
    /// 16 hex digits.
    #[serde(rename = "SpanID")]
    pub span_id: String,
    /// When the API accepted the event.
    #[serde(
        rename = "ReceivedTime",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub received_time: Option<Timestamp>,
}

fn task_version() -> u32 {
    1
}

impl DeliveryTask {
    /// Current message version.
    pub const VERSION: u32 = 1;

    /// The first attempt of `event` to `destination_id`.
    pub fn first(event: Event, destination_id: String) -> Self {
        Self {
            version: Self::VERSION,
            event,
            destination_id,
            attempt: 1,
            manual: false,
            telemetry: None,
        }
    }

    /// `event_id:destination_id:attempt`, the delivery idempotency key.
    pub fn idempotency_key(&self) -> String {
        format!("{}:{}:{}", self.event.id, self.destination_id, self.attempt)
    }
}

/// A first-attempt [`DeliveryTask`] that borrows its parts, so that the tasks of one event's
/// destinations are encoded without a copy of the event each. It encodes exactly as the
/// `DeliveryTask` it stands for.
#[derive(Debug, Serialize)]
pub struct FirstTask<'a> {
    version: u32,
    event: &'a Event,
    destination_id: &'a str,
    attempt: u32,
    manual: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    telemetry: Option<&'a Telemetry>,
}

impl<'a> FirstTask<'a> {
    /// The first attempt of `event` to `destination_id`, carrying `telemetry`.
    pub fn new(
        event: &'a Event,
        destination_id: &'a str,
        telemetry: Option<&'a Telemetry>,
    ) -> Self {
        Self {
            version: DeliveryTask::VERSION,
            event,
            destination_id,
            attempt: 1,
            manual: false,
            telemetry,
        }
    }
}

/// The logmq message: an attempt with its event (and destination, when it was loaded).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    /// The event.
    pub event: Event,
    /// The attempt.
    pub attempt: Attempt,
    /// The destination at delivery time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<Destination>,
    /// Trace context of the delivery that made the attempt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telemetry: Option<Telemetry>,
}

/// A [`LogEntry`] that borrows its parts: the same JSON, encoded without copying the event
/// and the destination of every attempt.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct LogEntryRef<'a> {
    /// The event.
    pub event: &'a Event,
    /// The attempt.
    pub attempt: &'a Attempt,
    /// The destination at delivery time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination: Option<&'a Destination>,
    /// Trace context of the delivery that made the attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telemetry: Option<&'a Telemetry>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_borrowed_first_task_encodes_as_the_task_it_stands_for() {
        let json = r#"{"id":"e1","tenant_id":"t","topic":"a","eligible_for_retry":true,"time":"2024-01-01T00:00:00.25Z","metadata":{"k":"v"},"matched_destination_ids":["d1","d2"],"data":{"x":[1, 2]}}"#;
        let e: Event = serde_json::from_str(json).unwrap();
        let telemetry = Telemetry {
            trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
            span_id: "b7ad6b7169203331".into(),
            received_time: Some(e.time),
        };
        for t in [None, Some(&telemetry)] {
            let mut owned = DeliveryTask::first(e.clone(), "d2".into());
            owned.telemetry = t.cloned();
            assert_eq!(
                serde_json::to_string(&FirstTask::new(&e, "d2", t)).unwrap(),
                serde_json::to_string(&owned).unwrap()
            );
        }
    }

    #[test]
    fn raw_data_is_kept_byte_for_byte() {
        let json = r#"{"id":"e1","tenant_id":"t","topic":"a","eligible_for_retry":true,"time":"2024-01-01T00:00:00Z","metadata":{},"data":{"b": 1,  "a":[2, 3]}}"#;
        let e: Event = serde_json::from_str(json).unwrap();
        assert_eq!(e.data.get(), r#"{"b": 1,  "a":[2, 3]}"#);
        let task = DeliveryTask::first(e.clone(), "d1".into());
        let back: DeliveryTask =
            serde_json::from_str(&serde_json::to_string(&task).unwrap()).unwrap();
        assert_eq!(back, task);
        assert_eq!(back.event.data.get(), e.data.get());
        assert_eq!(task.idempotency_key(), "e1:d1:1");
        // Upstream messages have no version field.
        let upstream =
            format!(r#"{{"event":{json},"destination_id":"d1","attempt":2,"manual":false}}"#);
        let t: DeliveryTask = serde_json::from_str(&upstream).unwrap();
        assert_eq!((t.version, t.attempt), (1, 2));
    }

    #[test]
    fn borrowed_log_entry_encodes_as_the_owned_one() {
        let event: Event = serde_json::from_str(
            r#"{"id":"e1","tenant_id":"t","matched_destination_ids":["d1","d2"],"topic":"a","eligible_for_retry":true,"time":"2024-01-01T00:00:00.5Z","metadata":{"k":"v"},"data":{"b": 1}}"#,
        )
        .unwrap();
        let attempt: Attempt = serde_json::from_str(
            r#"{"id":"a1","tenant_id":"t","event_id":"e1","destination_id":"d1","destination_type":"webhook","attempt_number":2,"manual":true,"status":"failed","time":"2024-01-01T00:00:01Z","code":"500","response_data":{"body":"no"},"duration_ms":12}"#,
        )
        .unwrap();
        let destination: Destination = serde_json::from_str(
            r#"{"id":"d1","tenant_id":"t","type":"webhook","topics":["*"],"config":{"url":"http://x"},"credentials":{"secret":"s"},"created_at":"2024-01-01T00:00:00Z","updated_at":"2024-01-01T00:00:00Z","disabled_at":null}"#,
        )
        .unwrap();
        let telemetry = Telemetry {
            trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
            span_id: "00f067aa0ba902b7".into(),
            received_time: None,
        };
        for (d, t) in [
            (None, None),
            (Some(&destination), Some(&telemetry)),
            (Some(&destination), None),
        ] {
            let owned = LogEntry {
                event: event.clone(),
                attempt: attempt.clone(),
                destination: d.cloned(),
                telemetry: t.cloned(),
            };
            let borrowed = LogEntryRef {
                event: &event,
                attempt: &attempt,
                destination: d,
                telemetry: t,
            };
            let (a, b) = (
                serde_json::to_string(&owned).unwrap(),
                serde_json::to_string(&borrowed).unwrap(),
            );
            assert_eq!(a, b);
            assert_eq!(serde_json::from_str::<LogEntry>(&b).unwrap(), owned);
        }
    }

    #[test]
    fn filter_document_shape() {
        let json = r#"{"id":"e1","tenant_id":"t","topic":"a","eligible_for_retry":true,"time":"2024-01-01T00:00:00.5Z","metadata":{"k":"v"},"data":{"x":1}}"#;
        let e: Event = serde_json::from_str(json).unwrap();
        let d = e.filter_document();
        assert_eq!(d["time"], "2024-01-01T00:00:00Z");
        assert_eq!(d["data"]["x"], 1);
        assert_eq!(d["metadata"]["k"], "v");
    }
}
