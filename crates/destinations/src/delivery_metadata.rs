//! The metadata map every destination type sends with a delivery (spec §5.0; upstream
//! `destregistry.BasePublisher.MakeMetadata`).
//!
//! Priority, lowest first: system keys < the destination's `delivery_metadata` < the event's
//! `metadata`. The system keys are `event-id`, `topic`, `timestamp` (the attempt time as
//! RFC 3339 at whole seconds, UTC) and, when enabled, `timestamp-ms` (RFC3339Nano).

use outpost_core::destination::Destination;
use outpost_core::event::Event;
use outpost_core::time::{Timestamp, format_rfc3339_nano, format_rfc3339_secs};
use std::collections::BTreeMap;

/// System key carrying the event id.
pub const EVENT_ID: &str = "event-id";
/// System key carrying the event topic.
pub const TOPIC: &str = "topic";
/// System key carrying the attempt time (RFC 3339, whole seconds, UTC).
pub const TIMESTAMP: &str = "timestamp";
/// System key carrying the attempt time in RFC3339Nano (only when enabled).
pub const TIMESTAMP_MS: &str = "timestamp-ms";

/// Builds the metadata for one attempt made at `now`.
///
/// `include_ms` is `DESTINATIONS_INCLUDE_MILLISECOND_TIMESTAMP`. Later sources override
/// earlier ones key by key, so both the destination's `delivery_metadata` and the event's
/// `metadata` may replace the *values* of the system keys.
pub fn merged_metadata(
    dest: &Destination,
    event: &Event,
    now: Timestamp,
    include_ms: bool,
) -> BTreeMap<String, String> {
    let mut out = BTreeMap::from([
        (TIMESTAMP.to_string(), format_rfc3339_secs(&now)),
        (EVENT_ID.to_string(), event.id.clone()),
        (TOPIC.to_string(), event.topic.clone()),
    ]);
    if include_ms {
        out.insert(TIMESTAMP_MS.to_string(), format_rfc3339_nano(&now));
    }
    if let Some(dm) = &dest.delivery_metadata {
        out.extend(dm.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    out.extend(event.metadata.iter().map(|(k, v)| (k.clone(), v.clone())));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn event(meta: &[(&str, &str)]) -> Event {
        serde_json::from_value(serde_json::json!({
            "id": "evt_1", "tenant_id": "t1", "topic": "user.created",
            "eligible_for_retry": true, "time": "2024-01-01T00:00:00Z",
            "metadata": meta.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>(),
            "data": {}
        }))
        .unwrap()
    }

    fn dest(dm: Option<&[(&str, &str)]>) -> Destination {
        serde_json::from_value(serde_json::json!({
            "id": "des_1", "tenant_id": "t1", "type": "webhook", "topics": ["*"],
            "delivery_metadata": dm.map(|d| d.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>()),
            "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z"
        }))
        .unwrap()
    }

    fn now() -> Timestamp {
        Utc.timestamp_opt(1_717_230_216, 123_450_000).unwrap()
    }

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn system_keys_only() {
        let m = merged_metadata(&dest(None), &event(&[]), now(), false);
        assert_eq!(
            m,
            map(&[
                ("event-id", "evt_1"),
                ("timestamp", "2024-06-01T08:23:36Z"),
                ("topic", "user.created"),
            ])
        );
    }

    #[test]
    fn millisecond_timestamp_is_rfc3339nano() {
        let m = merged_metadata(&dest(None), &event(&[]), now(), true);
        assert_eq!(m["timestamp-ms"], "2024-06-01T08:23:36.12345Z");
        assert_eq!(m["timestamp"], "2024-06-01T08:23:36Z");
        let whole = Utc.timestamp_opt(1_717_230_216, 0).unwrap();
        let m = merged_metadata(&dest(None), &event(&[]), whole, true);
        assert_eq!(m["timestamp-ms"], "2024-06-01T08:23:36Z");
    }

    #[test]
    fn priority_system_then_destination_then_event() {
        let d = dest(Some(&[
            ("topic", "from-dest"),
            ("env", "prod"),
            ("a", "dest"),
        ]));
        let e = event(&[("a", "event"), ("event-id", "custom-id")]);
        let m = merged_metadata(&d, &e, now(), false);
        assert_eq!(
            m,
            map(&[
                ("a", "event"),
                ("env", "prod"),
                ("event-id", "custom-id"),
                ("timestamp", "2024-06-01T08:23:36Z"),
                ("topic", "from-dest"),
            ])
        );
    }
}
