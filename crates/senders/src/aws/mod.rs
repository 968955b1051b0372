//! AWS destination types (spec §5.4–§5.6 and the EventBridge extension): SQS, Kinesis, S3
//! and EventBridge, each on its `aws-sdk-*` client.
//!
//! The parts they share live here: the static credentials of a destination, the client
//! configuration (region, optional endpoint override, no SDK retries — Outpost's retry schedule
//! applies — and no environment or profile lookups, so a destination behaves the same on any
//! host), and the mapping of SDK errors to attempt codes: a service error is `ERR` with the
//! service's error code in the message, a transport failure is its network class
//! (`connection_refused`, `dns_error`, `timeout`, ...).

pub mod eventbridge;
pub mod kinesis;
pub mod s3;
pub mod sqs;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
// The SDK crates share the smithy runtime types; SQS's re-exports serve for all four.
use crate::cache::ClientCache;
use aws_sdk_sqs::config::{Credentials, SharedCredentialsProvider};
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use outpost_core::destination::Destination;
use outpost_core::ports::SendResult;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

/// Longest wait for a TCP/TLS connection to the AWS endpoint.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Region, endpoint override and credentials of one AWS destination.
#[derive(Clone, PartialEq)]
pub struct Connection {
    /// AWS region the requests are signed for.
    pub region: String,
    /// Base URL replacing the service's regional endpoint (local stand-ins, VPC endpoints).
    pub endpoint: Option<String>,
    /// Access key id.
    pub key: String,
    /// Secret access key.
    pub secret: String,
    /// Session token of temporary credentials.
    pub session: Option<String>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("key", &self.key)
            .field("session", &self.session.is_some())
            .finish_non_exhaustive()
    }
}

/// A config value, trimmed; `None` when absent or blank.
pub fn config_value(dest: &Destination, key: &str) -> Option<String> {
    dest.config
        .get(key)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A required config value.
pub fn required_config(dest: &Destination, key: &str) -> Result<String, String> {
    config_value(dest, key).ok_or_else(|| format!("config.{key} is required"))
}

/// The destination's connection in `region`: credentials `key` and `secret` (required) and
/// `session` (optional); `config.endpoint` when set.
pub fn connection(dest: &Destination, region: String) -> Result<Connection, String> {
    let cred = |k: &str| dest.credentials.get(k).filter(|v| !v.is_empty()).cloned();
    let key = cred("key").ok_or("credentials.key is required")?;
    let secret = cred("secret").ok_or("credentials.secret is required")?;
    let endpoint = config_value(dest, "endpoint");
    if let Some(e) = &endpoint
        && !is_http_url(e)
    {
        return Err(format!("config.endpoint is not an http(s) URL: {e:?}"));
    }
    Ok(Connection {
        region,
        endpoint,
        key,
        secret,
        session: cred("session"),
    })
}

/// Whether `s` is an absolute `http://` or `https://` URL with a host.
pub fn is_http_url(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    ["http://", "https://"]
        .iter()
        .any(|p| lower.starts_with(p) && lower.len() > p.len())
}

/// The SDK configuration of a connection: static credentials, region, endpoint override, SDK
/// retries off, a bounded connect time. Nothing is read from the environment.
pub fn sdk_config(c: &Connection) -> SdkConfig {
    let creds = Credentials::new(
        c.key.clone(),
        c.secret.clone(),
        c.session.clone(),
        None,
        "outpost-destination",
    );
    let mut b = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(c.region.clone()))
        .credentials_provider(SharedCredentialsProvider::new(creds))
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .build(),
        );
    if let Some(e) = &c.endpoint {
        b = b.endpoint_url(e.trim_end_matches('/'));
    }
    b.build()
}

/// The cached client of `dest`, built by `build` on first use (building does no I/O).
pub async fn cached_client<C>(
    cache: &ClientCache<C>,
    dest: &Destination,
    build: impl FnOnce() -> C,
) -> Arc<C> {
    let got = cache
        .get_or_try_init(dest, || std::future::ready(Ok::<C, Infallible>(build())))
        .await;
    match got {
        Ok(c) => c,
        Err(never) => match never {},
    }
}

/// How a failed SDK call is recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// Attempt code: `ERR` or a network class.
    pub code: &'static str,
    /// What went wrong, with the service's error code when there is one.
    pub message: String,
    /// Whether the cached client should be dropped (the connection may be broken).
    pub evict: bool,
}

impl Failure {
    /// The failed attempt.
    pub fn result(&self) -> SendResult {
        SendResult::failed(self.code, self.message.clone())
    }
}

/// `err` and its sources, `: `-separated (without the SDK's trailing debug dump).
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur = Some(err);
    while let Some(e) = cur {
        let text = e.to_string();
        if !parts.last().is_some_and(|p| p.ends_with(&text)) {
            parts.push(text);
        }
        cur = e.source();
    }
    parts.join(": ")
}

/// The failed attempt of the SDK operation `op`, dropping `dest`'s cached client when the
/// connection may be broken.
pub fn failed_send<C, E, R>(
    clients: &ClientCache<C>,
    dest: &Destination,
    op: &str,
    err: &SdkError<E, R>,
) -> SendResult
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let f = failure(op, err);
    if f.evict {
        clients.evict(dest);
    }
    f.result()
}

/// Classifies the error of the SDK operation `op` (e.g. `SendMessage`).
pub fn failure<E, R>(op: &str, err: &SdkError<E, R>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let chain = || error_chain(err);
    match err {
        SdkError::ServiceError(_) => {
            let code = err.code().unwrap_or("Unknown");
            let message = err.message().unwrap_or("no message");
            Failure {
                code: "ERR",
                message: format!("{op} failed: {code}: {message}"),
                evict: false,
            }
        }
        SdkError::TimeoutError(_) => Failure {
            code: "timeout",
            message: format!("{op} timed out: {}", chain()),
            evict: true,
        },
        SdkError::DispatchFailure(d) => {
            let code = if d.is_timeout() {
                Some("timeout")
            } else {
                crate::classify::network_code(err)
            };
            Failure {
                code: code.unwrap_or("network_error"),
                message: format!("{op} could not be sent: {}", chain()),
                evict: true,
            }
        }
        SdkError::ResponseError(_) => Failure {
            code: "ERR",
            message: format!("{op}: unreadable response: {}", chain()),
            evict: true,
        },
        _ => Failure {
            code: "ERR",
            message: format!("{op} failed: {}", chain()),
            evict: false,
        },
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use outpost_core::event::Event;
    use serde_json::json;

    pub(crate) fn dest(kind: &str, config: &[(&str, &str)], creds: &[(&str, &str)]) -> Destination {
        crate::testing::destination(kind, "des_aws", config, creds)
    }

    pub(crate) fn event(data: &str) -> Event {
        serde_json::from_value(json!({
            "id": "evt_1", "tenant_id": "t", "topic": "user.created", "eligible_for_retry": true,
            "time": "2024-02-03T04:05:06.789Z", "metadata": {"source": "unit"},
            "data": serde_json::from_str::<serde_json::Value>(data).unwrap()
        }))
        .unwrap()
    }

    /// The system metadata of `event()`.
    pub(crate) fn md() -> std::collections::BTreeMap<String, String> {
        std::collections::BTreeMap::from([
            ("event-id".to_string(), "evt_1".to_string()),
            ("topic".to_string(), "user.created".to_string()),
        ])
    }

    pub(crate) const CREDS: &[(&str, &str)] = &[("key", "AKIA"), ("secret", "s3cr3t")];

    #[test]
    fn connection_reads_credentials_and_endpoint() {
        let d = dest(
            "aws_kinesis",
            &[("endpoint", " http://127.0.0.1:4566/ ")],
            &[("key", "k"), ("secret", "s"), ("session", "tok")],
        );
        let c = connection(&d, "eu-west-1".into()).unwrap();
        assert_eq!(c.endpoint.as_deref(), Some("http://127.0.0.1:4566/"));
        assert_eq!(c.session.as_deref(), Some("tok"));
        assert!(!format!("{c:?}").contains("\"s\""), "secret not in Debug");
        let cfg = sdk_config(&c);
        assert_eq!(cfg.endpoint_url(), Some("http://127.0.0.1:4566"));
        assert_eq!(cfg.region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(cfg.retry_config().map(|r| r.max_attempts()), Some(1));

        let e = connection(&dest("aws_s3", &[], &[("key", "k")]), "r".into()).unwrap_err();
        assert_eq!(e, "credentials.secret is required");
        let e = connection(
            &dest("aws_s3", &[("endpoint", "ftp://x")], CREDS),
            "r".into(),
        );
        assert!(e.unwrap_err().contains("ftp://x"));
    }

    #[tokio::test]
    async fn unreachable_endpoint_is_connection_refused() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let endpoint = format!("http://127.0.0.1:{port}");
        let d = dest("aws_sqs", &[("endpoint", endpoint.as_str())], CREDS);
        let client =
            aws_sdk_sqs::Client::new(&sdk_config(&connection(&d, "us-east-1".into()).unwrap()));
        let err = client
            .send_message()
            .queue_url(format!("{endpoint}/123456789012/q"))
            .message_body("{}")
            .send()
            .await
            .unwrap_err();
        let f = failure("SendMessage", &err);
        assert_eq!(f.code, "connection_refused", "{f:?}");
        assert!(f.evict);
        assert!(
            f.message.starts_with("SendMessage could not be sent"),
            "{f:?}"
        );
    }

    #[test]
    fn service_errors_are_err_with_the_service_code() {
        use aws_sdk_sqs::config::http::HttpResponse;
        use aws_sdk_sqs::error::ErrorMetadata;
        use aws_sdk_sqs::operation::send_message::SendMessageError;
        let meta = ErrorMetadata::builder()
            .code("AWS.SimpleQueueService.NonExistentQueue")
            .message("The specified queue does not exist.")
            .build();
        let raw = HttpResponse::new(
            400.try_into().unwrap(),
            aws_sdk_s3::primitives::SdkBody::empty(),
        );
        let err = SdkError::service_error(SendMessageError::generic(meta), raw);
        let f = failure("SendMessage", &err);
        assert_eq!(
            f,
            Failure {
                code: "ERR",
                message: "SendMessage failed: AWS.SimpleQueueService.NonExistentQueue: The specified queue does not exist.".into(),
                evict: false,
            }
        );
        let timeout: SdkError<SendMessageError, HttpResponse> =
            SdkError::timeout_error("operation timeout (all attempts including retries) occurred");
        assert_eq!(failure("SendMessage", &timeout).code, "timeout");
    }
}
