//! Operator events (spec §9): notifications to the platform operator about alerts and
//! attempts (`alert.destination.consecutive_failure`, `alert.destination.disabled`,
//! `alert.attempt.exhausted_retries`, `attempt.success`, `attempt.failed`,
//! `tenant.subscription.updated`), wrapped in one envelope and sent to the one configured sink
//! with retries.

pub mod sinks;

use outpost_core::time::{Timestamp, now_ms, serde_rfc3339};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

/// Every operator event topic.
pub const TOPICS: [&str; 6] = [
    "alert.destination.consecutive_failure",
    "alert.destination.disabled",
    "alert.attempt.exhausted_retries",
    "attempt.success",
    "attempt.failed",
    "tenant.subscription.updated",
];

/// Sends per event: the first try plus retries after these delays.
pub const RETRY_DELAYS: [Duration; 2] = [Duration::from_millis(100), Duration::from_millis(200)];
/// Timeout of one send.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// The envelope of an operator event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OperatorEvent {
    /// Event id.
    pub id: String,
    /// Topic.
    pub topic: String,
    /// When it happened.
    #[serde(with = "serde_rfc3339")]
    pub time: Timestamp,
    /// `DEPLOYMENT_ID`, when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    /// The tenant concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// Topic-specific payload.
    pub data: serde_json::Value,
}

/// A sink failure.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The sink refused or could not be reached.
    #[error("operator event sink {sink} failed: {message}")]
    Failed {
        /// Sink name.
        sink: &'static str,
        /// What happened.
        message: String,
    },
    /// The send took longer than [`SEND_TIMEOUT`].
    #[error("operator event sink {0} timed out")]
    Timeout(&'static str),
}

/// Where operator events go (exactly one per deployment).
#[async_trait::async_trait]
pub trait Sink: Send + Sync {
    /// Sends one event; `body` is the JSON envelope.
    async fn send(&self, event: &OperatorEvent, body: &[u8]) -> Result<(), SinkError>;
    /// Sink name for logs (`http`, `aws_sqs`, `gcp_pubsub`, `rabbitmq`).
    fn name(&self) -> &'static str;
}

/// Which topics are emitted (`OPERATOR_EVENTS_TOPICS`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicFilter {
    all: bool,
    topics: Vec<String>,
}

impl TopicFilter {
    /// Parses a comma-separated list; `*` means all; empty means none.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut f = TopicFilter::default();
        for t in list.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            if t == "*" {
                f.all = true;
            } else if TOPICS.contains(&t) {
                f.topics.push(t.to_string());
            } else {
                return Err(format!(
                    "unknown operator event topic {t:?}; known: {}",
                    TOPICS.join(", ")
                ));
            }
        }
        Ok(f)
    }

    /// Whether `topic` is emitted.
    pub fn accepts(&self, topic: &str) -> bool {
        self.all || self.topics.iter().any(|t| t == topic)
    }

    /// Whether nothing is emitted.
    pub fn is_empty(&self) -> bool {
        !self.all && self.topics.is_empty()
    }
}

/// Builds envelopes and sends them to the sink with retries.
#[derive(Clone, Default)]
pub struct Emitter {
    sink: Option<Arc<dyn Sink>>,
    topics: TopicFilter,
    deployment_id: Option<String>,
    idgen: outpost_core::ids::IdGen,
}

impl Emitter {
    /// An emitter; without a sink nothing is sent.
    pub fn new(
        sink: Option<Arc<dyn Sink>>,
        topics: TopicFilter,
        deployment_id: Option<String>,
        idgen: outpost_core::ids::IdGen,
    ) -> Self {
        if sink.is_none() && !topics.is_empty() {
            tracing::warn!(
                "OPERATOR_EVENTS_TOPICS is set but no operator event sink is configured; events are dropped."
            );
        }
        Self {
            sink,
            topics,
            deployment_id,
            idgen,
        }
    }

    /// An emitter that sends nothing.
    pub fn disabled() -> Self {
        Self::default()
    }

    /// Whether events of `topic` would be sent.
    pub fn enabled(&self, topic: &str) -> bool {
        self.sink.is_some() && self.topics.accepts(topic)
    }

    /// Name of the sink events go to, or `None` when they are dropped.
    pub fn sink_name(&self) -> Option<&'static str> {
        self.sink.as_ref().map(|s| s.name())
    }

    /// Emits one event (if its topic is enabled), retrying transient failures.
    pub async fn emit(
        &self,
        topic: &str,
        tenant_id: Option<&str>,
        data: serde_json::Value,
    ) -> Result<(), SinkError> {
        let Some(sink) = self.sink.as_ref().filter(|_| self.topics.accepts(topic)) else {
            return Ok(());
        };
        let event = OperatorEvent {
            id: self.idgen.plain(),
            topic: topic.to_string(),
            time: now_ms(),
            deployment_id: self.deployment_id.clone(),
            tenant_id: tenant_id.map(str::to_string),
            data,
        };
        let body = serde_json::to_vec(&event).map_err(|e| SinkError::Failed {
            sink: sink.name(),
            message: e.to_string(),
        })?;
        let mut last = None;
        for attempt in 0..=RETRY_DELAYS.len() {
            if attempt > 0 {
                tokio::time::sleep(RETRY_DELAYS[attempt - 1]).await;
            }
            let res = match tokio::time::timeout(SEND_TIMEOUT, sink.send(&event, &body)).await {
                Ok(r) => r,
                Err(_) => Err(SinkError::Timeout(sink.name())),
            };
            match res {
                Ok(()) => {
                    tracing::info!(topic, event_id = %event.id, sink = sink.name(), "Operator event delivered.");
                    return Ok(());
                }
                Err(e) => {
                    tracing::warn!(error = %e, topic, attempt = attempt + 1, "Operator event send failed.");
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or(SinkError::Timeout(sink.name())))
    }
}

/// Which sink the configuration selects: the first configured one in Outpost's order HTTP
/// (`OPERATOR_EVENTS_HTTP_URL`), AWS SQS (`OPERATOR_EVENTS_AWS_SQS_QUEUE_URL`), GCP Pub/Sub
/// (`OPERATOR_EVENTS_GCP_PUBSUB_PROJECT_ID`), RabbitMQ (`OPERATOR_EVENTS_RABBITMQ_SERVER_URL`).
/// Returns the sink name (`http`, `aws_sqs`, `gcp_pubsub`, `rabbitmq`), or `None` when no sink
/// is configured.
pub fn selected(cfg: &outpost_config::OperatorEventsConfig) -> Option<&'static str> {
    let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
    if set(&cfg.http_url) {
        Some("http")
    } else if set(&cfg.sqs_queue_url) {
        Some("aws_sqs")
    } else if set(&cfg.gcp_project_id) {
        Some("gcp_pubsub")
    } else if set(&cfg.rabbitmq_server_url) {
        Some("rabbitmq")
    } else {
        None
    }
}

/// Builds the emitter of a deployment from its operator event settings.
///
/// The sink is the one [`selected`] names: HTTP and RabbitMQ are built here; for AWS SQS and GCP
/// Pub/Sub the caller passes the sink it built in `cloud` (from `outpost-opevents-cloud`), and
/// it is an error if that is `None`. `cloud` is ignored when another sink is selected. Without
/// any sink the emitter drops every event (warning once if topics are set). Fails when
/// `OPERATOR_EVENTS_TOPICS` names an unknown topic or a sink cannot be built.
pub fn build(
    cfg: &outpost_config::OperatorEventsConfig,
    deployment_id: Option<String>,
    idgen: outpost_core::ids::IdGen,
    cloud: Option<Arc<dyn Sink>>,
) -> Result<Emitter, String> {
    let topics =
        TopicFilter::parse(&cfg.topics).map_err(|e| format!("OPERATOR_EVENTS_TOPICS: {e}"))?;
    let sink: Option<Arc<dyn Sink>> = match selected(cfg) {
        Some("http") => {
            let url = cfg.http_url.clone().unwrap_or_default();
            let sink = sinks::HttpSink::new(url, cfg.http_signing_secret.clone())
                .map_err(|e| format!("OPERATOR_EVENTS_HTTP_URL: {e}"))?;
            Some(Arc::new(sink))
        }
        Some(name @ ("aws_sqs" | "gcp_pubsub")) => {
            let setting = if name == "aws_sqs" {
                "OPERATOR_EVENTS_AWS_SQS_QUEUE_URL"
            } else {
                "OPERATOR_EVENTS_GCP_PUBSUB_PROJECT_ID"
            };
            match cloud {
                Some(sink) => Some(sink),
                None => {
                    return Err(format!(
                        "{setting} selects the {name} operator event sink, but no {name} sink was \
                         built (it needs the cloud sink from outpost-opevents-cloud)"
                    ));
                }
            }
        }
        // `rabbitmq`, the only other name `selected` returns.
        Some(_) => {
            let url = cfg.rabbitmq_server_url.clone().unwrap_or_default();
            let exchange = cfg.rabbitmq_exchange.clone().unwrap_or_default();
            Some(Arc::new(sinks::RabbitSink::new(url, exchange)))
        }
        None => None,
    };
    Ok(Emitter::new(sink, topics, deployment_id, idgen))
}
