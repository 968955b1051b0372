//! The internal queue backend (`mqs.*`): which broker carries deliverymq and logmq, chosen as
//! upstream does (SQS > Azure Service Bus > GCP Pub/Sub > RabbitMQ), and the publish queue
//! (`PUBLISH_*`). Backends this build does not have yet are refused at start, never ignored.

use crate::load::RawSettings;
use crate::{ConfigError, opt};

/// Internal queues on AWS SQS (`AWS_SQS_*`).
#[derive(Clone, PartialEq, Eq)]
pub struct SqsConfig {
    /// Region (selects SQS).
    pub region: String,
    /// Endpoint override.
    pub endpoint: Option<String>,
    /// Static credentials (both given), else the AWS default chain.
    pub credentials: Option<(String, String)>,
    /// deliverymq queue name.
    pub delivery_queue: String,
    /// logmq queue name.
    pub log_queue: String,
    /// deliverymq dead-letter queue.
    pub delivery_dlq: String,
    /// logmq dead-letter queue.
    pub log_dlq: String,
}

impl std::fmt::Debug for SqsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqsConfig")
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("static_credentials", &self.credentials.is_some())
            .field("delivery_queue", &self.delivery_queue)
            .field("log_queue", &self.log_queue)
            .finish()
    }
}

/// Reads `AWS_SQS_*`; `None` when `AWS_SQS_REGION` is not set.
pub(crate) fn sqs(raw: &RawSettings) -> Result<Option<SqsConfig>, ConfigError> {
    let Some(region) = opt(raw, "AWS_SQS_REGION") else {
        return Ok(None);
    };
    let credentials = match (
        opt(raw, "AWS_SQS_ACCESS_KEY_ID"),
        opt(raw, "AWS_SQS_SECRET_ACCESS_KEY"),
    ) {
        (Some(k), Some(s)) => Some((k, s)),
        (None, None) => None,
        (Some(_), None) => {
            return Err(ConfigError::new(
                "AWS_SQS_SECRET_ACCESS_KEY",
                "is required with AWS_SQS_ACCESS_KEY_ID (give both, or neither for the AWS default credential chain)".into(),
            ));
        }
        (None, Some(_)) => {
            return Err(ConfigError::new(
                "AWS_SQS_ACCESS_KEY_ID",
                "is required with AWS_SQS_SECRET_ACCESS_KEY (give both, or neither for the AWS default credential chain)".into(),
            ));
        }
    };
    let endpoint = opt(raw, "AWS_SQS_ENDPOINT");
    if let Some(e) = &endpoint
        && !(e.starts_with("http://") || e.starts_with("https://"))
    {
        return Err(ConfigError::new(
            "AWS_SQS_ENDPOINT",
            format!("expected an http(s) URL, got {e:?}"),
        ));
    }
    let name = |var: &str, default: &str| opt(raw, var).unwrap_or_else(|| default.to_string());
    let delivery_queue = name("AWS_SQS_DELIVERY_QUEUE", "outpost-delivery");
    let log_queue = name("AWS_SQS_LOG_QUEUE", "outpost-log");
    for (var, q) in [
        ("AWS_SQS_DELIVERY_QUEUE", &delivery_queue),
        ("AWS_SQS_LOG_QUEUE", &log_queue),
    ] {
        check_queue_name(var, q)?;
    }
    let delivery_dlq = name("AWS_SQS_DELIVERY_DLQ", &format!("{delivery_queue}-dlq"));
    let log_dlq = name("AWS_SQS_LOG_DLQ", &format!("{log_queue}-dlq"));
    check_queue_name("AWS_SQS_DELIVERY_DLQ", &delivery_dlq)?;
    check_queue_name("AWS_SQS_LOG_DLQ", &log_dlq)?;
    if delivery_queue == log_queue {
        return Err(ConfigError::new(
            "AWS_SQS_LOG_QUEUE",
            format!("must differ from AWS_SQS_DELIVERY_QUEUE ({delivery_queue:?})"),
        ));
    }
    Ok(Some(SqsConfig {
        region,
        endpoint,
        credentials,
        delivery_queue,
        log_queue,
        delivery_dlq,
        log_dlq,
    }))
}

/// SQS queue names: 1–80 characters of letters, digits, `-` and `_` (no FIFO queues here).
fn check_queue_name(var: &str, name: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= 80
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(
            var,
            format!("not a valid SQS queue name (1-80 letters, digits, - or _): {name:?}"),
        ))
    }
}

/// Refuses backends this build cannot run yet, naming the variable that selected them.
pub(crate) fn refuse_unsupported(raw: &RawSettings, sqs: bool) -> Result<(), ConfigError> {
    if !sqs {
        for (var, what) in [
            ("AZURE_SERVICEBUS_CONNECTION_STRING", "Azure Service Bus"),
            ("AZURE_SERVICEBUS_NAMESPACE", "Azure Service Bus"),
            ("GCP_PUBSUB_PROJECT", "GCP Pub/Sub"),
        ] {
            if opt(raw, var).is_some() {
                return Err(ConfigError::new(
                    var,
                    format!(
                        "{what} as the internal queue is not supported yet by this build; use AWS_SQS_REGION or RABBITMQ_SERVER_URL"
                    ),
                ));
            }
        }
    }
    for var in [
        "PUBLISH_AWS_SQS_REGION",
        "PUBLISH_AZURE_SERVICEBUS_CONNECTION_STRING",
        "PUBLISH_GCP_PUBSUB_PROJECT",
        "PUBLISH_RABBITMQ_SERVER_URL",
    ] {
        if opt(raw, var).is_some() {
            return Err(ConfigError::new(
                var,
                "publishing through a queue is not supported yet by this build; publish with POST /api/v1/publish".into(),
            ));
        }
    }
    Ok(())
}
