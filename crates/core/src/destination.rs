//! Destinations: where a tenant's events go (a webhook URL, a queue, a bucket, ...).

use crate::patch::StringMap;
use crate::time::{Timestamp, serde_rfc3339, serde_rfc3339_opt};
use serde::{Deserialize, Serialize};

/// The destination types, in Outpost's registration order.
pub const DESTINATION_TYPES: [&str; 10] = [
    "webhook",
    "hookdeck",
    "aws_sqs",
    "aws_kinesis",
    "aws_s3",
    "aws_eventbridge",
    "gcp_pubsub",
    "azure_servicebus",
    "rabbitmq",
    "kafka",
];

/// A destination with its full (decrypted) configuration, as the services use it internally.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Destination {
    /// Destination id.
    pub id: String,
    /// Owning tenant.
    pub tenant_id: String,
    /// One of [`DESTINATION_TYPES`].
    #[serde(rename = "type")]
    pub kind: String,
    /// Subscribed topics (normalised), `["*"]` for all.
    pub topics: Vec<String>,
    /// Optional event filter (§3.3 filter language).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<serde_json::Value>,
    /// Type-specific configuration.
    #[serde(default)]
    pub config: StringMap,
    /// Type-specific credentials (plain text here; encrypted at rest).
    #[serde(default)]
    pub credentials: StringMap,
    /// Extra metadata sent with every delivery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_metadata: Option<StringMap>,
    /// Free-form metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<StringMap>,
    /// Creation time.
    #[serde(with = "serde_rfc3339")]
    pub created_at: Timestamp,
    /// Last update time.
    #[serde(with = "serde_rfc3339")]
    pub updated_at: Timestamp,
    /// When the destination was disabled, if it is.
    #[serde(with = "serde_rfc3339_opt", default)]
    pub disabled_at: Option<Timestamp>,
}

impl Destination {
    /// The summary kept beside the tenant for matching and counting.
    pub fn summary(&self) -> DestinationSummary {
        DestinationSummary {
            id: self.id.clone(),
            kind: self.kind.clone(),
            topics: self.topics.clone(),
            filter: self.filter.clone(),
            disabled: self.disabled_at.is_some(),
        }
    }
}

/// The compact view of a destination used for event matching (`{id,type,topics,filter?,disabled}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DestinationSummary {
    /// Destination id.
    pub id: String,
    /// Destination type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Subscribed topics.
    pub topics: Vec<String>,
    /// Event filter, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<serde_json::Value>,
    /// Whether the destination is disabled.
    #[serde(default)]
    pub disabled: bool,
}

/// Filters of the list-destinations route.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DestinationFilter {
    /// Keep destinations of any of these types (empty = all).
    pub types: Vec<String>,
    /// Keep destinations subscribed to every one of these topics (empty = all).
    pub topics: Vec<String>,
}

impl DestinationFilter {
    /// Whether `d` passes the filter. A destination subscribed to `*` passes any topic filter;
    /// a topic filter of `*` only passes destinations subscribed to `*`.
    pub fn accepts(&self, d: &Destination) -> bool {
        if !self.types.is_empty() && !self.types.contains(&d.kind) {
            return false;
        }
        let all = d.topics.len() == 1 && d.topics[0] == "*";
        self.topics.iter().all(|t| {
            if all {
                true
            } else if t == "*" {
                false
            } else {
                d.topics.iter().any(|p| p == t)
            }
        })
    }
}

impl DestinationSummary {
    /// Whether an event with `topic` and filter document `doc` goes to this destination:
    /// enabled, subscribed to the topic, and passing its filter.
    pub fn matches(&self, topic: &str, doc: &serde_json::Value) -> bool {
        self.matches_with(topic, || doc)
    }

    /// [`Self::matches`] with the event's filter document built only if this destination has
    /// a filter to evaluate (most have none, and building it parses the event's data).
    pub fn matches_event(&self, topic: &str, doc: &crate::event::FilterDoc<'_>) -> bool {
        self.matches_with(topic, || doc.get())
    }

    fn matches_with<'d>(&self, topic: &str, doc: impl FnOnce() -> &'d serde_json::Value) -> bool {
        !self.disabled
            && crate::topic::matches_topic(&self.topics, topic)
            && self
                .filter
                .as_ref()
                .is_none_or(|f| crate::filter::matches(f, doc()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Event, FilterDoc};

    fn summary(filter: Option<serde_json::Value>) -> DestinationSummary {
        DestinationSummary {
            id: "d".into(),
            kind: "webhook".into(),
            topics: vec!["*".into()],
            filter,
            disabled: false,
        }
    }

    #[test]
    fn the_filter_document_is_built_only_for_a_destination_with_a_filter() {
        let json = r#"{"id":"e1","tenant_id":"t","topic":"a","eligible_for_retry":true,"time":"2024-01-01T00:00:00Z","metadata":{},"data":{"amount":10}}"#;
        let e: Event = serde_json::from_str(json).unwrap();
        let doc = FilterDoc::new(&e);
        assert!(summary(None).matches_event("a", &doc));
        assert!(!doc.is_built(), "no filter, no document");
        let over = summary(Some(serde_json::json!({"data": {"amount": {"$gte": 5}}})));
        let under = summary(Some(serde_json::json!({"data": {"amount": {"$gte": 50}}})));
        assert!(over.matches_event("a", &doc));
        assert!(doc.is_built());
        assert!(!under.matches_event("a", &doc));
        // The same answers as with the document built up front.
        let full = e.filter_document();
        assert_eq!(over.matches("a", &full), over.matches_event("a", &doc));
        assert_eq!(under.matches("a", &full), under.matches_event("a", &doc));
        let mut disabled = summary(None);
        disabled.disabled = true;
        assert!(!disabled.matches_event("a", &doc));
    }
}
