//! The internal queue backend (`mqs.*`): which broker carries deliverymq and logmq, chosen as
//! upstream does (SQS > Azure Service Bus > GCP Pub/Sub > RabbitMQ), and the publish queue
//! (`PUBLISH_*`). What this build cannot do (Service Bus through a service principal) is
//! refused at start, never ignored.

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

/// Internal queues on GCP Pub/Sub (`GCP_PUBSUB_*`): a topic and a subscription per queue,
/// each with a dead-letter topic and subscription.
#[derive(Clone, PartialEq, Eq)]
pub struct PubSubConfig {
    /// Project id (selects Pub/Sub).
    pub project: String,
    /// Service account JSON, else the default credentials.
    pub credentials: Option<String>,
    /// Emulator `host:port` (`PUBSUB_EMULATOR_HOST`): plain text, no authentication.
    pub emulator: Option<String>,
    /// deliverymq topic and subscription.
    pub delivery: PubSubNames,
    /// logmq topic and subscription.
    pub log: PubSubNames,
}

/// The topic, subscription and dead-letter pair of one Pub/Sub queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PubSubNames {
    /// Topic id.
    pub topic: String,
    /// Subscription id.
    pub subscription: String,
    /// Dead-letter topic id.
    pub dlq_topic: String,
    /// Dead-letter subscription id.
    pub dlq_subscription: String,
}

impl std::fmt::Debug for PubSubConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PubSubConfig")
            .field("project", &self.project)
            .field("credentials", &self.credentials.is_some())
            .field("emulator", &self.emulator)
            .field("delivery", &self.delivery)
            .field("log", &self.log)
            .finish()
    }
}

/// Reads `GCP_PUBSUB_*`; `None` when `GCP_PUBSUB_PROJECT` is not set.
pub(crate) fn pubsub(raw: &RawSettings) -> Result<Option<PubSubConfig>, ConfigError> {
    let Some(project) = opt(raw, "GCP_PUBSUB_PROJECT") else {
        return Ok(None);
    };
    let names = |what: &str, topic_default: &str| -> Result<PubSubNames, ConfigError> {
        let var = |suffix: &str| format!("GCP_PUBSUB_{what}_{suffix}");
        let get = |suffix: &str, default: String| -> Result<String, ConfigError> {
            let v = opt(raw, &var(suffix)).unwrap_or(default);
            check_pubsub_id(&var(suffix), &v)?;
            Ok(v)
        };
        let topic = get("TOPIC", topic_default.to_string())?;
        let subscription = get("SUBSCRIPTION", format!("{topic}-sub"))?;
        let dlq_topic = get("DLQ_TOPIC", format!("{topic}-dlq"))?;
        let dlq_subscription = get("DLQ_SUBSCRIPTION", format!("{dlq_topic}-sub"))?;
        Ok(PubSubNames {
            topic,
            subscription,
            dlq_topic,
            dlq_subscription,
        })
    };
    let delivery = names("DELIVERY", "outpost-delivery")?;
    let log = names("LOG", "outpost-log")?;
    if delivery.topic == log.topic {
        return Err(ConfigError::new(
            "GCP_PUBSUB_LOG_TOPIC",
            format!(
                "must differ from GCP_PUBSUB_DELIVERY_TOPIC ({:?})",
                delivery.topic
            ),
        ));
    }
    if delivery.subscription == log.subscription {
        return Err(ConfigError::new(
            "GCP_PUBSUB_LOG_SUBSCRIPTION",
            format!(
                "must differ from GCP_PUBSUB_DELIVERY_SUBSCRIPTION ({:?})",
                delivery.subscription
            ),
        ));
    }
    Ok(Some(PubSubConfig {
        project,
        credentials: opt(raw, "GCP_PUBSUB_SERVICE_ACCOUNT_CREDENTIALS"),
        emulator: emulator_host(raw)?,
        delivery,
        log,
    }))
}

/// `PUBSUB_EMULATOR_HOST` as `host:port` (an `http://` prefix is accepted).
fn emulator_host(raw: &RawSettings) -> Result<Option<String>, ConfigError> {
    let Some(v) = opt(raw, "PUBSUB_EMULATOR_HOST") else {
        return Ok(None);
    };
    let host = v
        .strip_prefix("http://")
        .unwrap_or(&v)
        .trim_end_matches('/');
    if host.is_empty() || host.contains('/') || host.contains("://") || !host.contains(':') {
        return Err(ConfigError::new(
            "PUBSUB_EMULATOR_HOST",
            format!("expected host:port of a plain-text emulator, got {v:?}"),
        ));
    }
    Ok(Some(host.to_string()))
}

/// Pub/Sub topic and subscription ids: 3–255 characters, starting with a letter, of letters,
/// digits and `-_.~+%`, not starting with `goog`.
fn check_pubsub_id(var: &str, id: &str) -> Result<(), ConfigError> {
    let ok = (3..=255).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_alphabetic())
        && !id.to_ascii_lowercase().starts_with("goog")
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.~+%".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(
            var,
            format!(
                "not a valid Pub/Sub id (3-255 letters, digits or -_.~+%, starting with a letter, not with goog): {id:?}"
            ),
        ))
    }
}

/// Internal queues on Azure Service Bus (`AZURE_SERVICEBUS_*`): a topic and a subscription per
/// queue, reached with a connection string.
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceBusConfig {
    /// The namespace's connection string (selects Service Bus).
    pub connection_string: String,
    /// deliverymq topic.
    pub delivery_topic: String,
    /// deliverymq subscription.
    pub delivery_subscription: String,
    /// logmq topic.
    pub log_topic: String,
    /// logmq subscription.
    pub log_subscription: String,
}

impl std::fmt::Debug for ServiceBusConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceBusConfig")
            .field("delivery_topic", &self.delivery_topic)
            .field("delivery_subscription", &self.delivery_subscription)
            .field("log_topic", &self.log_topic)
            .field("log_subscription", &self.log_subscription)
            .finish_non_exhaustive()
    }
}

/// The service-principal variables, used upstream to create topics and subscriptions through
/// Azure Resource Manager.
const AZURE_PRINCIPAL: [&str; 6] = [
    "AZURE_SERVICEBUS_TENANT_ID",
    "AZURE_SERVICEBUS_CLIENT_ID",
    "AZURE_SERVICEBUS_CLIENT_SECRET",
    "AZURE_SERVICEBUS_SUBSCRIPTION_ID",
    "AZURE_SERVICEBUS_RESOURCE_GROUP",
    "AZURE_SERVICEBUS_NAMESPACE",
];

/// Reads `AZURE_SERVICEBUS_*`; `None` when neither a connection string nor a service principal
/// is given. A service principal alone is refused: this build reaches Service Bus with a
/// connection string and creates no entities.
pub(crate) fn servicebus(raw: &RawSettings) -> Result<Option<ServiceBusConfig>, ConfigError> {
    let Some(connection_string) = opt(raw, "AZURE_SERVICEBUS_CONNECTION_STRING") else {
        if let Some(var) = AZURE_PRINCIPAL.iter().find(|v| opt(raw, v).is_some()) {
            return Err(ConfigError::new(
                var,
                "Service Bus through a service principal (Azure Resource Manager) is not supported by this build; give AZURE_SERVICEBUS_CONNECTION_STRING (with MQS_AUTO_PROVISION the topics and subscriptions are created through the management API with it)".into(),
            ));
        }
        return Ok(None);
    };
    check_connection_string("AZURE_SERVICEBUS_CONNECTION_STRING", &connection_string)?;
    let name = |var: &str| -> Result<String, ConfigError> {
        let v = opt(raw, var)
            .ok_or_else(|| ConfigError::new(var, "is required with Service Bus".into()))?;
        check_entity_name(var, &v)?;
        Ok(v)
    };
    let c = ServiceBusConfig {
        connection_string,
        delivery_topic: name("AZURE_SERVICEBUS_DELIVERY_TOPIC")?,
        delivery_subscription: name("AZURE_SERVICEBUS_DELIVERY_SUBSCRIPTION")?,
        log_topic: name("AZURE_SERVICEBUS_LOG_TOPIC")?,
        log_subscription: name("AZURE_SERVICEBUS_LOG_SUBSCRIPTION")?,
    };
    if c.delivery_topic.eq_ignore_ascii_case(&c.log_topic) {
        return Err(ConfigError::new(
            "AZURE_SERVICEBUS_LOG_TOPIC",
            format!(
                "must differ from AZURE_SERVICEBUS_DELIVERY_TOPIC ({:?})",
                c.delivery_topic
            ),
        ));
    }
    Ok(Some(c))
}

/// A Service Bus connection string: an `sb://` endpoint and a shared access key or signature.
fn check_connection_string(var: &str, cs: &str) -> Result<(), ConfigError> {
    let has = |key: &str| {
        cs.split(';').any(|p| {
            p.split_once('=')
                .is_some_and(|(k, v)| k.trim().eq_ignore_ascii_case(key) && !v.trim().is_empty())
        })
    };
    let endpoint_ok = cs.split(';').any(|p| {
        p.split_once('=').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("Endpoint")
                && v.trim().len() > 5
                && v.trim().starts_with("sb://")
        })
    });
    if !endpoint_ok {
        return Err(ConfigError::new(
            var,
            "expected Endpoint=sb://<namespace host>/ in the connection string".into(),
        ));
    }
    let key = has("SharedAccessKeyName") && has("SharedAccessKey");
    if !key && !has("SharedAccessSignature") {
        return Err(ConfigError::new(
            var,
            "the connection string needs SharedAccessKeyName and SharedAccessKey (or SharedAccessSignature)".into(),
        ));
    }
    Ok(())
}

/// Service Bus topic and subscription names: 1–260 characters of letters, digits, `.-_`, and
/// `/` inside a topic path.
fn check_entity_name(var: &str, name: &str) -> Result<(), ConfigError> {
    let ok = (1..=260).contains(&name.len())
        && !name.starts_with(['/', '.'])
        && !name.ends_with(['/', '.'])
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._/".contains(c));
    if ok {
        Ok(())
    } else {
        Err(ConfigError::new(
            var,
            format!("not a valid Service Bus entity name (letters, digits, - . _ /): {name:?}"),
        ))
    }
}

/// The publish queue the api service consumes (`PUBLISH_*`, spec §3.7). Never provisioned: the
/// operator owns it.
#[derive(Clone, PartialEq, Eq)]
pub enum PublishQueue {
    /// An SQS queue (`PUBLISH_AWS_SQS_*`).
    Sqs {
        /// Region (selects it).
        region: String,
        /// Endpoint override.
        endpoint: Option<String>,
        /// Static credentials, else the AWS default chain.
        credentials: Option<(String, String)>,
        /// Queue name.
        queue: String,
    },
    /// A Service Bus topic subscription (`PUBLISH_AZURE_SERVICEBUS_*`).
    ServiceBus {
        /// Connection string (selects it).
        connection_string: String,
        /// Topic (checked to exist; publishers send to it).
        topic: String,
        /// Subscription (consumed).
        subscription: String,
    },
    /// A Pub/Sub subscription (`PUBLISH_GCP_PUBSUB_*`).
    PubSub {
        /// Project id (selects it).
        project: String,
        /// Topic id (checked to exist; publishers send to it).
        topic: String,
        /// Subscription id (consumed).
        subscription: String,
        /// Service account JSON, else the default credentials.
        credentials: Option<String>,
        /// Emulator `host:port` (`PUBSUB_EMULATOR_HOST`).
        emulator: Option<String>,
    },
    /// A RabbitMQ queue (`PUBLISH_RABBITMQ_*`).
    RabbitMq {
        /// Server URL (selects it).
        url: String,
        /// Exchange (for publishing onto it; consuming needs only the queue).
        exchange: String,
        /// Queue name.
        queue: String,
    },
}

impl std::fmt::Debug for PublishQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqs { region, queue, .. } => f
                .debug_struct("Sqs")
                .field("region", region)
                .field("queue", queue)
                .finish(),
            Self::ServiceBus {
                topic,
                subscription,
                ..
            } => f
                .debug_struct("ServiceBus")
                .field("topic", topic)
                .field("subscription", subscription)
                .finish(),
            Self::PubSub {
                project,
                subscription,
                ..
            } => f
                .debug_struct("PubSub")
                .field("project", project)
                .field("subscription", subscription)
                .finish(),
            Self::RabbitMq { queue, .. } => {
                f.debug_struct("RabbitMq").field("queue", queue).finish()
            }
        }
    }
}

/// Reads `PUBLISH_*` with upstream's priority (SQS > Azure > GCP > RabbitMQ).
pub(crate) fn publish_queue(raw: &RawSettings) -> Result<Option<PublishQueue>, ConfigError> {
    if let Some(region) = opt(raw, "PUBLISH_AWS_SQS_REGION") {
        let queue = opt(raw, "PUBLISH_AWS_SQS_QUEUE").ok_or_else(|| {
            ConfigError::new(
                "PUBLISH_AWS_SQS_QUEUE",
                "is required with PUBLISH_AWS_SQS_REGION".into(),
            )
        })?;
        check_queue_name("PUBLISH_AWS_SQS_QUEUE", &queue)?;
        let credentials = match (
            opt(raw, "PUBLISH_AWS_SQS_ACCESS_KEY_ID"),
            opt(raw, "PUBLISH_AWS_SQS_SECRET_ACCESS_KEY"),
        ) {
            (Some(k), Some(s)) => Some((k, s)),
            (None, None) => None,
            _ => {
                return Err(ConfigError::new(
                    "PUBLISH_AWS_SQS_ACCESS_KEY_ID",
                    "give both PUBLISH_AWS_SQS_ACCESS_KEY_ID and PUBLISH_AWS_SQS_SECRET_ACCESS_KEY, or neither".into(),
                ));
            }
        };
        return Ok(Some(PublishQueue::Sqs {
            region,
            endpoint: opt(raw, "PUBLISH_AWS_SQS_ENDPOINT"),
            credentials,
            queue,
        }));
    }
    if let Some(connection_string) = opt(raw, "PUBLISH_AZURE_SERVICEBUS_CONNECTION_STRING") {
        check_connection_string(
            "PUBLISH_AZURE_SERVICEBUS_CONNECTION_STRING",
            &connection_string,
        )?;
        let name = |var: &str| -> Result<String, ConfigError> {
            let v = opt(raw, var).ok_or_else(|| {
                ConfigError::new(
                    var,
                    "is required with PUBLISH_AZURE_SERVICEBUS_CONNECTION_STRING".into(),
                )
            })?;
            check_entity_name(var, &v)?;
            Ok(v)
        };
        return Ok(Some(PublishQueue::ServiceBus {
            connection_string,
            topic: name("PUBLISH_AZURE_SERVICEBUS_TOPIC")?,
            subscription: name("PUBLISH_AZURE_SERVICEBUS_SUBSCRIPTION")?,
        }));
    }
    if let Some(project) = opt(raw, "PUBLISH_GCP_PUBSUB_PROJECT") {
        let id = |var: &str| -> Result<String, ConfigError> {
            let v = opt(raw, var).ok_or_else(|| {
                ConfigError::new(var, "is required with PUBLISH_GCP_PUBSUB_PROJECT".into())
            })?;
            check_pubsub_id(var, &v)?;
            Ok(v)
        };
        return Ok(Some(PublishQueue::PubSub {
            project,
            topic: id("PUBLISH_GCP_PUBSUB_TOPIC")?,
            subscription: id("PUBLISH_GCP_PUBSUB_SUBSCRIPTION")?,
            credentials: opt(raw, "PUBLISH_GCP_PUBSUB_SERVICE_ACCOUNT_CREDENTIALS"),
            emulator: emulator_host(raw)?,
        }));
    }
    if let Some(url) = opt(raw, "PUBLISH_RABBITMQ_SERVER_URL") {
        let queue = opt(raw, "PUBLISH_RABBITMQ_QUEUE").ok_or_else(|| {
            ConfigError::new(
                "PUBLISH_RABBITMQ_QUEUE",
                "is required with PUBLISH_RABBITMQ_SERVER_URL".into(),
            )
        })?;
        return Ok(Some(PublishQueue::RabbitMq {
            url,
            exchange: opt(raw, "PUBLISH_RABBITMQ_EXCHANGE").unwrap_or_default(),
            queue,
        }));
    }
    Ok(None)
}
