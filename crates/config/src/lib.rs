//! Configuration of every service, named as upstream Outpost names it.
//!
//! [`vars`] is the table of settings, [`load`] layers defaults < config file < environment, and
//! [`Config::from_raw`] turns the raw strings into typed, validated settings. A bad value stops
//! the process at start with an error naming the variable and what is wrong with it.

mod clickhouse;
pub mod load;
pub mod mqs;
mod otel;
mod parse;
pub mod vars;
mod webhook;

pub use clickhouse::ClickHouseConfig;
pub use load::{RawSettings, Source};
pub use otel::{Exporter, OtelConfig, Protocol, Signal};
pub use webhook::{WebhookConfig, WebhookMode};

use clickhouse::clickhouse;
use outpost_core::ids::{IdGen, IdKind};
use outpost_core::topic::TopicRules;
pub(crate) use parse::{opt, parse_bool, parse_disableable, parse_num, split_list};
use std::path::PathBuf;

/// A setting has a bad value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {var}: {message}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub var: String,
    /// What is wrong.
    pub message: String,
}

impl ConfigError {
    /// A new error about `var`.
    pub fn new(var: &str, message: String) -> Self {
        Self {
            var: var.to_string(),
            message,
        }
    }
}

/// Which services one process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// All three in one process.
    All,
    /// The REST API (and retry monitor).
    Api,
    /// The delivery worker.
    Delivery,
    /// The log worker.
    Log,
}

impl Service {
    /// Whether this mode includes the API.
    pub fn runs_api(self) -> bool {
        matches!(self, Service::All | Service::Api)
    }
    /// Whether this mode includes delivery.
    pub fn runs_delivery(self) -> bool {
        matches!(self, Service::All | Service::Delivery)
    }
    /// Whether this mode includes the log service.
    pub fn runs_log(self) -> bool {
        matches!(self, Service::All | Service::Log)
    }
    /// The mode's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Service::All => "all",
            Service::Api => "api",
            Service::Delivery => "delivery",
            Service::Log => "log",
        }
    }
}

/// Redis connection settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisConfig {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Username, if any.
    pub username: Option<String>,
    /// Password, if any.
    pub password: Option<String>,
    /// Database number.
    pub database: u8,
    /// TLS.
    pub tls: bool,
    /// Cluster mode.
    pub cluster: bool,
}

/// Retry policy settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryConfig {
    /// Explicit schedule in seconds (empty = exponential).
    pub schedule: Vec<u64>,
    /// Base interval of the exponential schedule, seconds.
    pub interval_secs: u64,
    /// Automatic retries after the first attempt.
    pub max_limit: u32,
    /// Retry monitor poll backoff in ms (0 = automatic).
    pub poll_backoff_ms: u64,
    /// Visibility timeout of received retries, seconds.
    pub visibility_timeout_secs: u64,
}

/// Alert settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertConfig {
    /// Consecutive failures threshold; `None` disables.
    pub consecutive_failure_count: Option<u32>,
    /// Auto-disable at 100 %.
    pub auto_disable_destination: bool,
    /// Exhausted-retries suppression window; `None` disables the alert.
    pub exhausted_retries_window_secs: Option<u64>,
}

/// Portal settings (passed to the portal as strings).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PortalConfig {
    /// `PORTAL_*` values by their portal key (`REFERER_URL`, `BRAND_COLOR`, ...).
    pub values: Vec<(&'static str, String)>,
}

/// Operator event settings (`OPERATOR_EVENTS_*`); the first configured sink wins, in the order
/// HTTP, SQS, GCP Pub/Sub, RabbitMQ.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperatorEventsConfig {
    /// Comma-separated topics (`*` = all; empty = disabled).
    pub topics: String,
    /// HTTP sink URL.
    pub http_url: Option<String>,
    /// HTTP signing secret.
    pub http_signing_secret: Option<String>,
    /// SQS queue URL.
    pub sqs_queue_url: Option<String>,
    /// SQS access key id.
    pub sqs_access_key_id: Option<String>,
    /// SQS secret key.
    pub sqs_secret_access_key: Option<String>,
    /// SQS region.
    pub sqs_region: Option<String>,
    /// SQS endpoint override.
    pub sqs_endpoint: Option<String>,
    /// Pub/Sub project.
    pub gcp_project_id: Option<String>,
    /// Pub/Sub topic.
    pub gcp_topic_id: Option<String>,
    /// Pub/Sub credentials JSON.
    pub gcp_credentials: Option<String>,
    /// Pub/Sub emulator endpoint (`host:port`), our extension for local testing.
    pub gcp_endpoint: Option<String>,
    /// RabbitMQ URL.
    pub rabbitmq_server_url: Option<String>,
    /// RabbitMQ exchange.
    pub rabbitmq_exchange: Option<String>,
}

/// The typed, validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Services to run.
    pub service: Service,
    /// Log level.
    pub log_level: String,
    /// HTTP port.
    pub api_port: u16,
    /// Admin API key (empty = no auth).
    pub api_key: String,
    /// JWT secret.
    pub api_jwt_secret: String,
    /// Redis key prefix.
    pub deployment_id: Option<String>,
    /// Credential encryption secret.
    pub aes_encryption_secret: Option<String>,
    /// Topic rules.
    pub topics: TopicRules,
    /// User-Agent of HTTP deliveries.
    pub user_agent: String,
    /// Redis, when configured; `None` means the embedded in-memory stores.
    pub redis: Option<RedisConfig>,
    /// PostgreSQL URL of the log store.
    pub postgres_url: Option<String>,
    /// The ClickHouse log store (`CLICKHOUSE_ADDR`), the alternative to Postgres.
    pub clickhouse: Option<ClickHouseConfig>,
    /// RabbitMQ URL of the internal queues.
    pub rabbitmq_url: Option<String>,
    /// Internal queues on SQS (`AWS_SQS_REGION`); wins over RabbitMQ, as upstream.
    pub sqs: Option<mqs::SqsConfig>,
    /// Internal queues on Azure Service Bus (`AZURE_SERVICEBUS_CONNECTION_STRING`), when SQS is
    /// not chosen.
    pub servicebus: Option<mqs::ServiceBusConfig>,
    /// Internal queues on GCP Pub/Sub (`GCP_PUBSUB_PROJECT`), when neither SQS nor Service Bus
    /// is chosen.
    pub pubsub: Option<mqs::PubSubConfig>,
    /// The publish queue the api service consumes (`PUBLISH_*`).
    pub publish_queue: Option<mqs::PublishQueue>,
    /// Create queues at start.
    pub mqs_auto_provision: bool,
    /// Most destinations per tenant.
    pub max_destinations_per_tenant: usize,
    /// Delivery attempt timeout, seconds.
    pub delivery_timeout_secs: u64,
    /// Longest drain after SIGTERM, seconds.
    pub shutdown_grace_secs: u64,
    /// Seconds the HTTP server keeps serving, unready, after SIGTERM.
    pub shutdown_delay_secs: u64,
    /// Concurrent deliveries.
    pub delivery_max_concurrency: usize,
    /// Slots a slow destination may hold (0 = automatic).
    pub delivery_slow_destination_concurrency: usize,
    /// Delivery tasks per second past which a tenant's tasks go to the busy delivery lane
    /// (`outpost_core::lanes`): `None` when unset (on with `MQS_AUTO_PROVISION`, or in
    /// memory), `Some(0)` = no busy lane.
    pub delivery_busy_tenant_rate: Option<u64>,
    /// Seconds the delivery service may reuse a destination read from Redis (0 = no cache).
    pub destination_cache_ttl_secs: u64,
    /// Concurrent publish-queue messages.
    pub publish_max_concurrency: usize,
    /// Concurrent log batches.
    pub log_max_concurrency: usize,
    /// Retry policy.
    pub retry: RetryConfig,
    /// Publish idempotency TTL, seconds.
    pub publish_idempotency_ttl_secs: u64,
    /// Delivery idempotency TTL, seconds.
    pub delivery_idempotency_ttl_secs: u64,
    /// Log batch size.
    pub log_batch_size: usize,
    /// Log batch wait, seconds.
    pub log_batch_threshold_secs: u64,
    /// Days of log kept (0 = forever).
    pub log_retention_days: u32,
    /// gRPC port of the log service.
    pub log_grpc_port: u16,
    /// gRPC URL of the log service (api-service in split mode).
    pub log_grpc_url: Option<String>,
    /// Shared token of the LogQuery service.
    pub log_grpc_token: Option<String>,
    /// Folder of destination metadata overrides.
    pub destinations_metadata_path: PathBuf,
    /// Add `timestamp-ms` to delivery metadata.
    pub include_millisecond_timestamp: bool,
    /// Kinesis records wrap metadata.
    pub kinesis_metadata_in_payload: bool,
    /// Hookdeck API base URL (token verification).
    pub hookdeck_api_url: String,
    /// Hookdeck ingestion base URL (deliveries).
    pub hookdeck_events_url: String,
    /// Secret that signs queue/stream/bucket deliveries; `None` = off.
    pub queue_signing_secret: Option<String>,
    /// Webhook settings.
    pub webhook: WebhookConfig,
    /// Portal settings.
    pub portal: PortalConfig,
    /// Alerts.
    pub alert: AlertConfig,
    /// Id generation.
    pub idgen: IdGen,
    /// Operator events.
    pub operator_events: OperatorEventsConfig,
    /// OpenTelemetry.
    pub otel: OtelConfig,
    /// The raw settings this was built from.
    pub raw: RawSettings,
}

/// The crate version, used in the default User-Agent.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

impl Config {
    /// Loads from the environment and an optional config file.
    pub fn load(flag_path: Option<&std::path::Path>) -> Result<Self, ConfigError> {
        let raw = RawSettings::load(flag_path, &|k: &str| std::env::var(k).ok())?;
        Self::from_raw(raw)
    }

    /// Types and validates raw settings.
    pub fn from_raw(raw: RawSettings) -> Result<Self, ConfigError> {
        let service = match raw.get("SERVICE").unwrap_or("").trim() {
            "" | "all" => Service::All,
            "api" => Service::Api,
            "delivery" => Service::Delivery,
            "log" => Service::Log,
            other => {
                return Err(ConfigError::new(
                    "SERVICE",
                    format!("unknown service {other:?}: expected api, delivery, log or empty"),
                ));
            }
        };
        let deployment_id = opt(&raw, "DEPLOYMENT_ID");
        if let Some(d) = &deployment_id
            && (d.len() > 64
                || !d
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'))
        {
            return Err(ConfigError::new(
                "DEPLOYMENT_ID",
                "must be at most 64 characters of a-z, A-Z, 0-9, _ and -".into(),
            ));
        }
        let sqs = mqs::sqs(&raw)?;
        let servicebus = if sqs.is_none() {
            mqs::servicebus(&raw)?
        } else {
            None
        };
        let pubsub = if sqs.is_none() && servicebus.is_none() {
            mqs::pubsub(&raw)?
        } else {
            None
        };
        let redis_vars = [
            "REDIS_HOST",
            "REDIS_PORT",
            "REDIS_USERNAME",
            "REDIS_PASSWORD",
            "REDIS_DATABASE",
            "REDIS_TLS_ENABLED",
            "REDIS_CLUSTER_ENABLED",
        ];
        let redis = if redis_vars.iter().any(|v| raw.is_set(v)) {
            let host = opt(&raw, "REDIS_HOST")
                .ok_or_else(|| ConfigError::new("REDIS_HOST", "is required".into()))?;
            let cluster = parse_bool(&raw, "REDIS_CLUSTER_ENABLED")?;
            if cluster {
                return Err(ConfigError::new(
                    "REDIS_CLUSTER_ENABLED",
                    "Redis Cluster is not supported yet by this build; use a single Redis node"
                        .into(),
                ));
            }
            Some(RedisConfig {
                host,
                port: parse_num(&raw, "REDIS_PORT", 1u16)?,
                username: opt(&raw, "REDIS_USERNAME"),
                password: opt(&raw, "REDIS_PASSWORD"),
                database: parse_num(&raw, "REDIS_DATABASE", 0u8)?,
                tls: parse_bool(&raw, "REDIS_TLS_ENABLED")?,
                cluster,
            })
        } else {
            None
        };
        let aes_encryption_secret = opt(&raw, "AES_ENCRYPTION_SECRET");
        if redis.is_some() && aes_encryption_secret.is_none() {
            return Err(ConfigError::new(
                "AES_ENCRYPTION_SECRET",
                "is required when Redis is configured (it encrypts stored credentials)".into(),
            ));
        }
        let retry_schedule = match opt(&raw, "RETRY_SCHEDULE") {
            None => Vec::new(),
            Some(s) => split_list(&s)
                .iter()
                .map(|p| match p.parse::<u64>() {
                    Ok(n) if n >= 1 => Ok(n),
                    _ => Err(ConfigError::new(
                        "RETRY_SCHEDULE",
                        format!("every delay must be a whole number of seconds >= 1, got {p:?}"),
                    )),
                })
                .collect::<Result<_, _>>()?,
        };
        let retry = RetryConfig {
            interval_secs: parse_num(&raw, "RETRY_INTERVAL_SECONDS", 1u64)?,
            max_limit: if retry_schedule.is_empty() {
                parse_num(&raw, "MAX_RETRY_LIMIT", 0u32)?
            } else {
                u32::try_from(retry_schedule.len()).unwrap_or(u32::MAX)
            },
            schedule: retry_schedule,
            poll_backoff_ms: parse_num(&raw, "RETRY_POLL_BACKOFF_MS", 0u64)?,
            visibility_timeout_secs: parse_num(&raw, "RETRY_VISIBILITY_TIMEOUT_SECONDS", 1u64)?,
        };
        let alert = AlertConfig {
            consecutive_failure_count: parse_disableable(
                &raw,
                "ALERT_CONSECUTIVE_FAILURE_COUNT",
                1,
            )?
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
            auto_disable_destination: parse_bool(&raw, "ALERT_AUTO_DISABLE_DESTINATION")?,
            exhausted_retries_window_secs: parse_disableable(
                &raw,
                "ALERT_EXHAUSTED_RETRIES_WINDOW_SECONDS",
                0,
            )?,
        };
        let idgen = IdGen {
            kind: raw
                .get("IDGEN_TYPE")
                .unwrap_or("")
                .parse::<IdKind>()
                .map_err(|e| ConfigError::new("IDGEN_TYPE", e))?,
            event_prefix: raw.get("IDGEN_EVENT_PREFIX").unwrap_or("").to_string(),
            destination_prefix: raw
                .get("IDGEN_DESTINATION_PREFIX")
                .unwrap_or("")
                .to_string(),
            attempt_prefix: raw.get("IDGEN_ATTEMPT_PREFIX").unwrap_or("").to_string(),
        };
        let portal_keys: [(&str, &str); 12] = [
            ("PORTAL_PROXY_URL", "PROXY_URL"),
            ("PORTAL_REFERER_URL", "REFERER_URL"),
            ("PORTAL_REFRESH_URL", "REFRESH_URL"),
            ("PORTAL_FAVICON_URL", "FAVICON_URL"),
            ("PORTAL_BRAND_COLOR", "BRAND_COLOR"),
            ("PORTAL_LOGO", "LOGO"),
            ("PORTAL_LOGO_DARK", "LOGO_DARK"),
            ("PORTAL_ORGANIZATION_NAME", "ORGANIZATION_NAME"),
            ("PORTAL_FORCE_THEME", "FORCE_THEME"),
            (
                "PORTAL_DISABLE_OUTPOST_BRANDING",
                "DISABLE_OUTPOST_BRANDING",
            ),
            (
                "PORTAL_ENABLE_DESTINATION_FILTER",
                "ENABLE_DESTINATION_FILTER",
            ),
            (
                "PORTAL_ENABLE_WEBHOOK_CUSTOM_HEADERS",
                "ENABLE_WEBHOOK_CUSTOM_HEADERS",
            ),
        ];
        if let Some(p) = opt(&raw, "PORTAL_PROXY_URL")
            && !(p.starts_with("http://") || p.starts_with("https://"))
        {
            return Err(ConfigError::new(
                "PORTAL_PROXY_URL",
                format!("not an http(s) URL: {p:?}"),
            ));
        }
        let portal = PortalConfig {
            values: portal_keys
                .iter()
                .map(|(env, key)| (*key, raw.get(env).unwrap_or("").to_string()))
                .collect(),
        };
        let webhook = WebhookConfig::from_raw(&raw)?;
        let o = |v: &str| opt(&raw, v);
        let operator_events = OperatorEventsConfig {
            topics: raw.get("OPERATOR_EVENTS_TOPICS").unwrap_or("").to_string(),
            http_url: o("OPERATOR_EVENTS_HTTP_URL"),
            http_signing_secret: o("OPERATOR_EVENTS_HTTP_SIGNING_SECRET"),
            sqs_queue_url: o("OPERATOR_EVENTS_AWS_SQS_QUEUE_URL"),
            sqs_access_key_id: o("OPERATOR_EVENTS_AWS_SQS_ACCESS_KEY_ID"),
            sqs_secret_access_key: o("OPERATOR_EVENTS_AWS_SQS_SECRET_ACCESS_KEY"),
            sqs_region: o("OPERATOR_EVENTS_AWS_SQS_REGION"),
            sqs_endpoint: o("OPERATOR_EVENTS_AWS_SQS_ENDPOINT"),
            gcp_project_id: o("OPERATOR_EVENTS_GCP_PUBSUB_PROJECT_ID"),
            gcp_topic_id: o("OPERATOR_EVENTS_GCP_PUBSUB_TOPIC_ID"),
            gcp_credentials: o("OPERATOR_EVENTS_GCP_PUBSUB_CREDENTIALS"),
            gcp_endpoint: o("OPERATOR_EVENTS_GCP_PUBSUB_ENDPOINT"),
            rabbitmq_server_url: o("OPERATOR_EVENTS_RABBITMQ_SERVER_URL"),
            rabbitmq_exchange: o("OPERATOR_EVENTS_RABBITMQ_EXCHANGE"),
        };
        if let Some(u) = &operator_events.http_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            return Err(ConfigError::new(
                "OPERATOR_EVENTS_HTTP_URL",
                format!("not an http(s) URL: {u:?}"),
            ));
        }
        Ok(Config {
            service,
            log_level: raw.get("LOG_LEVEL").unwrap_or("info").to_string(),
            api_port: parse_num(&raw, "API_PORT", 0u16)?,
            api_key: raw.get("API_KEY").unwrap_or("").to_string(),
            api_jwt_secret: raw.get("API_JWT_SECRET").unwrap_or("").to_string(),
            deployment_id,
            aes_encryption_secret,
            topics: TopicRules {
                topics: raw.get("TOPICS").map(split_list).unwrap_or_default(),
                allow_wildcards: parse_bool(&raw, "TOPICS_ALLOW_WILDCARDS")?,
            },
            user_agent: opt(&raw, "HTTP_USER_AGENT")
                .unwrap_or_else(|| format!("Outpost/{VERSION}")),
            redis,
            postgres_url: opt(&raw, "POSTGRES_URL"),
            clickhouse: clickhouse(&raw)?,
            rabbitmq_url: if sqs.is_some() || servicebus.is_some() || pubsub.is_some() {
                None
            } else {
                opt(&raw, "RABBITMQ_SERVER_URL")
            },
            sqs,
            servicebus,
            pubsub,
            publish_queue: mqs::publish_queue(&raw)?,
            mqs_auto_provision: parse_bool(&raw, "MQS_AUTO_PROVISION")?,
            max_destinations_per_tenant: parse_num(&raw, "MAX_DESTINATIONS_PER_TENANT", 1usize)?,
            delivery_timeout_secs: parse_num(&raw, "DELIVERY_TIMEOUT_SECONDS", 1u64)?,
            shutdown_grace_secs: parse_num(&raw, "SHUTDOWN_GRACE_SECONDS", 0u64)?,
            shutdown_delay_secs: parse_num(&raw, "SHUTDOWN_DELAY_SECONDS", 0u64)?,
            delivery_max_concurrency: parse_num(&raw, "DELIVERY_MAX_CONCURRENCY", 1usize)?,
            delivery_slow_destination_concurrency: parse_num(
                &raw,
                "DELIVERY_SLOW_DESTINATION_CONCURRENCY",
                0usize,
            )?,
            delivery_busy_tenant_rate: parse_disableable(
                &raw,
                "DELIVERY_BUSY_TENANT_TASKS_PER_SECOND",
                0,
            )?,
            destination_cache_ttl_secs: parse_num(&raw, "DESTINATION_CACHE_TTL_SECONDS", 0u64)?,
            publish_max_concurrency: parse_num(&raw, "PUBLISH_MAX_CONCURRENCY", 1usize)?,
            log_max_concurrency: parse_num(&raw, "LOG_MAX_CONCURRENCY", 1usize)?,
            retry,
            publish_idempotency_ttl_secs: parse_num(&raw, "PUBLISH_IDEMPOTENCY_KEY_TTL", 1u64)?,
            delivery_idempotency_ttl_secs: parse_num(&raw, "DELIVERY_IDEMPOTENCY_KEY_TTL", 1u64)?,
            log_batch_size: parse_num(&raw, "LOG_BATCH_SIZE", 1usize)?,
            log_batch_threshold_secs: parse_num(&raw, "LOG_BATCH_THRESHOLD_SECONDS", 0u64)?,
            log_retention_days: parse_num(&raw, "LOG_RETENTION_DAYS", 0u32)?,
            log_grpc_port: parse_num(&raw, "LOG_GRPC_PORT", 0u16)?,
            log_grpc_url: opt(&raw, "LOG_GRPC_URL"),
            log_grpc_token: opt(&raw, "LOG_GRPC_TOKEN"),
            destinations_metadata_path: PathBuf::from(
                raw.get("DESTINATIONS_METADATA_PATH")
                    .unwrap_or("config/outpost/destinations"),
            ),
            include_millisecond_timestamp: parse_bool(
                &raw,
                "DESTINATIONS_INCLUDE_MILLISECOND_TIMESTAMP",
            )?,
            kinesis_metadata_in_payload: parse_bool(
                &raw,
                "DESTINATIONS_AWS_KINESIS_METADATA_IN_PAYLOAD",
            )?,
            hookdeck_api_url: raw
                .get("DESTINATIONS_HOOKDECK_API_URL")
                .unwrap_or("https://api.hookdeck.com")
                .to_string(),
            hookdeck_events_url: raw
                .get("DESTINATIONS_HOOKDECK_EVENTS_URL")
                .unwrap_or("https://hkdk.events")
                .to_string(),
            queue_signing_secret: opt(&raw, "DESTINATIONS_QUEUE_SIGNING_SECRET"),
            webhook,
            portal,
            alert,
            idgen,
            operator_events,
            otel: OtelConfig::from_raw(&raw)?,
            raw,
        })
    }

    /// No internal queue is configured (RabbitMQ, SQS, Service Bus or Pub/Sub): the services
    /// of this process share in-memory queues.
    pub fn internal_queues_in_memory(&self) -> bool {
        self.rabbitmq_url.is_none()
            && self.sqs.is_none()
            && self.servicebus.is_none()
            && self.pubsub.is_none()
    }

    /// Whether this process opens Azure Service Bus queues of its own (internal queues or the
    /// publish queue; `azure_servicebus` destinations are not counted).
    pub fn opens_servicebus_queues(&self) -> bool {
        self.servicebus.is_some()
            || matches!(
                self.publish_queue,
                Some(mqs::PublishQueue::ServiceBus { .. })
            )
    }

    /// Every setting as `NAME=value  # source`, secrets masked, for `outpost config`.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        if let Some(f) = &self.raw.file {
            out.push_str(&format!("# config file: {}\n", f.display()));
        }
        for (var, value) in self.raw.iter() {
            let (shown, src) = match value {
                None => ("".to_string(), "unset"),
                Some((v, s)) => {
                    let shown = if var.secret && !v.is_empty() {
                        mask(v)
                    } else {
                        v.to_string()
                    };
                    let src = match s {
                        Source::Default => "default",
                        Source::File => "file",
                        Source::Env => "env",
                    };
                    (shown, src)
                }
            };
            out.push_str(&format!("{}={}  # {}\n", var.env, shown, src));
        }
        out
    }
}

/// Masks a secret: never shows more than a hint of its length.
pub fn mask(v: &str) -> String {
    if v.len() <= 4 {
        "****".into()
    } else {
        format!(
            "{}****",
            &v[..v.char_indices().nth(2).map(|(i, _)| i).unwrap_or(0)]
        )
    }
}

#[cfg(test)]
mod tests;
