//! `aws_eventbridge` destinations (an addition to upstream's types): one `PutEvents` entry per
//! event on `config.event_bus_name` (default `default`) in `config.region`, with
//! `Source = config.source` (default `outpost`), `DetailType = <event topic>`,
//! `Detail = <event data>` and `Time = <event time>`. EventBridge only takes a JSON object as
//! detail, so other data fails the attempt with `ERR`. An entry EventBridge refuses
//! (`FailedEntryCount > 0`) is a failed attempt carrying the entry's error code and message.

use super::{Connection, cached_client, config_value, connection, failed_send, required_config};
use crate::cache::ClientCache;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use outpost_core::destination::Destination;
use outpost_core::event::Event;
use outpost_core::ports::{SendResult, Sender};
use outpost_core::time::Timestamp;
use serde_json::{Value, json};

/// Event bus used when `config.event_bus_name` is empty.
pub const DEFAULT_EVENT_BUS: &str = "default";
/// Source used when `config.source` is empty.
pub const DEFAULT_SOURCE: &str = "outpost";

/// Where an `aws_eventbridge` destination puts events.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Event bus name or ARN.
    pub event_bus_name: String,
    /// `Source` of every entry.
    pub source: String,
    /// Region, endpoint and credentials.
    pub conn: Connection,
}

/// Reads the destination's config and credentials.
pub fn target(dest: &Destination) -> Result<Target, String> {
    let region = required_config(dest, "region")?;
    Ok(Target {
        event_bus_name: config_value(dest, "event_bus_name")
            .unwrap_or_else(|| DEFAULT_EVENT_BUS.into()),
        source: config_value(dest, "source").unwrap_or_else(|| DEFAULT_SOURCE.into()),
        conn: connection(dest, region)?,
    })
}

/// The `PutEvents` entry of `event` (pure); an error when the data is not a JSON object.
pub fn entry(t: &Target, event: &Event) -> Result<PutEventsRequestEntry, String> {
    let raw = event.data.get();
    match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(_)) => {}
        Ok(other) => {
            let kind = match other {
                Value::Array(_) => "an array",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                Value::Bool(_) => "a boolean",
                _ => "null",
            };
            return Err(format!(
                "EventBridge needs the event data to be a JSON object (it becomes the event's \
                 detail); this event's data is {kind}"
            ));
        }
        Err(e) => return Err(format!("event data is not JSON: {e}")),
    }
    Ok(PutEventsRequestEntry::builder()
        .event_bus_name(&t.event_bus_name)
        .source(&t.source)
        .detail_type(&event.topic)
        .detail(raw)
        .time(DateTime::from_millis(event.time.timestamp_millis()))
        .build())
}

/// Puts events on EventBridge buses.
#[derive(Default)]
pub struct EventBridgeSender {
    clients: ClientCache<Client>,
}

impl EventBridgeSender {
    /// A sender with an empty client cache.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait::async_trait]
impl Sender for EventBridgeSender {
    async fn send(&self, dest: &Destination, event: &Event, _now: Timestamp) -> SendResult {
        let t = match target(dest) {
            Ok(t) => t,
            Err(e) => return SendResult::failed("ERR", e),
        };
        let entry = match entry(&t, event) {
            Ok(e) => e,
            Err(e) => return SendResult::failed("ERR", e),
        };
        let client = cached_client(&self.clients, dest, || {
            Client::new(&super::sdk_config(&t.conn))
        })
        .await;
        let put = client.put_events().entries(entry).send().await;
        match put {
            Ok(out) => {
                let first = out.entries().first();
                let refused =
                    out.failed_entry_count() > 0 || first.is_some_and(|e| e.error_code().is_some());
                match first {
                    Some(e) if !refused => match e.event_id() {
                        Some(id) => SendResult::ok(json!({"event_id": id})),
                        None => SendResult::failed("ERR", "PutEvents returned no event id"),
                    },
                    Some(e) => SendResult::failed(
                        "ERR",
                        format!(
                            "PutEvents refused the event: {}: {}",
                            e.error_code().unwrap_or("Unknown"),
                            e.error_message().unwrap_or("no message")
                        ),
                    ),
                    None => SendResult::failed("ERR", "PutEvents returned no entry"),
                }
            }
            Err(e) => failed_send(&self.clients, dest, "PutEvents", &e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::tests::{CREDS, dest, event};

    #[test]
    fn entry_carries_source_topic_detail_bus_and_time() {
        let d = dest("aws_eventbridge", &[("region", "eu-west-1")], CREDS);
        let t = target(&d).unwrap();
        assert_eq!(
            (t.event_bus_name.as_str(), t.source.as_str()),
            (DEFAULT_EVENT_BUS, DEFAULT_SOURCE)
        );
        let e = event(r#"{"user":{"id":1}}"#);
        let en = entry(&t, &e).unwrap();
        assert_eq!(en.source(), Some("outpost"));
        assert_eq!(en.detail_type(), Some("user.created"));
        assert_eq!(en.detail(), Some(r#"{"user":{"id":1}}"#));
        assert_eq!(en.event_bus_name(), Some("default"));
        assert_eq!(
            en.time().map(|t| t.to_millis().unwrap()),
            Some(e.time.timestamp_millis())
        );

        let d = dest(
            "aws_eventbridge",
            &[
                ("region", "eu-west-1"),
                ("event_bus_name", "orders"),
                ("source", "com.example.shop"),
            ],
            CREDS,
        );
        let en = entry(&target(&d).unwrap(), &e).unwrap();
        assert_eq!(en.source(), Some("com.example.shop"));
        assert_eq!(en.event_bus_name(), Some("orders"));
    }

    #[test]
    fn non_object_data_is_refused_with_its_kind() {
        let d = dest("aws_eventbridge", &[("region", "eu-west-1")], CREDS);
        let t = target(&d).unwrap();
        for (data, kind) in [
            ("[1,2]", "an array"),
            ("\"x\"", "a string"),
            ("3", "a number"),
        ] {
            let err = entry(&t, &event(data)).unwrap_err();
            assert!(err.contains("JSON object") && err.ends_with(kind), "{err}");
        }
        assert_eq!(
            target(&dest("aws_eventbridge", &[], CREDS)).unwrap_err(),
            "config.region is required"
        );
    }
}
