//! Operator event sinks on cloud SDKs (spec §9): AWS SQS ([`SqsSink`], on `aws-sdk-sqs`) and
//! GCP Pub/Sub ([`PubSubSink`], on `gcloud-pubsub`).
//!
//! They live apart from `outpost-opevents` so that only the binary that wires operator events links
//! the cloud SDKs. Both sinks send the JSON envelope unchanged as the message body/data and add a
//! string attribute `topic` with the event's topic. Clients are created lazily on the first send, so
//! the constructors (and [`build`]) are synchronous and need no network; a failed client setup is
//! reported as [`SinkError::Failed`] and retried on the next send.
//!
//! [`build`] picks the sink from [`OperatorEventsConfig`] in upstream's order (HTTP, SQS, GCP,
//! RabbitMQ) and returns it only when the choice is one of the cloud sinks.

mod pubsub;
mod sqs;

pub use pubsub::PubSubSink;
pub use sqs::{SqsSink, region_from_queue_url};

use outpost_config::OperatorEventsConfig;
use outpost_opevents::{Sink, SinkError};
use std::sync::Arc;

/// Builds the cloud operator event sink when the configuration selects one.
///
/// Upstream picks exactly one sink, the first configured in the order HTTP
/// (`OPERATOR_EVENTS_HTTP_URL`), SQS (`OPERATOR_EVENTS_AWS_SQS_QUEUE_URL`), GCP Pub/Sub
/// (`OPERATOR_EVENTS_GCP_PUBSUB_PROJECT_ID`), RabbitMQ. This returns `Ok(Some(..))` when that
/// choice is SQS or GCP Pub/Sub and `Ok(None)` otherwise (HTTP, RabbitMQ or nothing configured; the
/// caller builds those). `Err` describes an unusable SQS/GCP setting, naming the variable.
pub fn build(cfg: &OperatorEventsConfig) -> Result<Option<Arc<dyn Sink>>, String> {
    if cfg.http_url.is_some() {
        return Ok(None);
    }
    if let Some(queue_url) = &cfg.sqs_queue_url {
        let sink = SqsSink::new(
            queue_url.clone(),
            cfg.sqs_region.clone(),
            cfg.sqs_access_key_id.clone(),
            cfg.sqs_secret_access_key.clone(),
            cfg.sqs_endpoint.clone(),
        )?;
        return Ok(Some(Arc::new(sink)));
    }
    if let Some(project_id) = &cfg.gcp_project_id {
        let topic_id = cfg.gcp_topic_id.clone().ok_or_else(|| {
            "OPERATOR_EVENTS_GCP_PUBSUB_TOPIC_ID is required when OPERATOR_EVENTS_GCP_PUBSUB_PROJECT_ID is set"
                .to_string()
        })?;
        let sink = PubSubSink::new(
            project_id.clone(),
            topic_id,
            cfg.gcp_credentials.clone(),
            cfg.gcp_endpoint.clone(),
        )?;
        return Ok(Some(Arc::new(sink)));
    }
    Ok(None)
}

/// A [`SinkError::Failed`] for `sink` with `message`.
pub(crate) fn failed(sink: &'static str, message: impl Into<String>) -> SinkError {
    SinkError::Failed {
        sink,
        message: message.into(),
    }
}

pub(crate) use outpost_core::error::chain_text as error_chain;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use outpost_opevents::OperatorEvent;

    /// A minimal event for sink tests.
    pub(crate) fn event() -> OperatorEvent {
        OperatorEvent {
            id: "evt_1".into(),
            topic: "attempt.failed".into(),
            time: outpost_core::time::now_ms(),
            deployment_id: None,
            tenant_id: None,
            data: serde_json::json!({}),
        }
    }

    #[test]
    fn build_follows_upstream_order() {
        let mut cfg = OperatorEventsConfig::default();
        assert!(build(&cfg).expect("empty").is_none());

        cfg.gcp_project_id = Some("p".into());
        cfg.gcp_topic_id = Some("t".into());
        let s = build(&cfg).expect("gcp").expect("some");
        assert_eq!(s.name(), "gcp_pubsub");

        cfg.sqs_queue_url = Some("https://sqs.eu-west-1.amazonaws.com/123456789012/q".into());
        let s = build(&cfg).expect("sqs").expect("some");
        assert_eq!(s.name(), "aws_sqs");

        cfg.http_url = Some("https://ops.example.com/hook".into());
        assert!(build(&cfg).expect("http").is_none());
    }

    #[test]
    fn rabbitmq_only_is_not_ours() {
        let cfg = OperatorEventsConfig {
            rabbitmq_server_url: Some("amqp://guest:guest@127.0.0.1:5672".into()),
            ..Default::default()
        };
        assert!(build(&cfg).expect("ok").is_none());
    }

    #[test]
    fn gcp_without_topic_is_an_error() {
        let cfg = OperatorEventsConfig {
            gcp_project_id: Some("p".into()),
            ..Default::default()
        };
        let err = build(&cfg).err().expect("error");
        assert!(err.contains("OPERATOR_EVENTS_GCP_PUBSUB_TOPIC_ID"), "{err}");
    }

    #[test]
    fn bad_sqs_url_is_an_error() {
        let cfg = OperatorEventsConfig {
            sqs_queue_url: Some("not a url".into()),
            ..Default::default()
        };
        let err = build(&cfg).err().expect("error");
        assert!(err.contains("OPERATOR_EVENTS_AWS_SQS_QUEUE_URL"), "{err}");
    }
}
