//! `gcp_pubsub` destinations (spec §5.7): one gRPC `Publish` of the raw event data with the
//! merged metadata as message attributes, to `projects/<project_id>/topics/<topic>`.
//!
//! With `config.endpoint` set (an emulator such as `http://localhost:8085`) the connection is
//! plain-text gRPC without authentication and `credentials.service_account_json` is ignored, as
//! upstream. Otherwise it goes to `pubsub.googleapis.com` over TLS with OAuth tokens minted from
//! the service account JSON; like Google's clients, `PUBSUB_EMULATOR_HOST` in the process
//! environment then still selects an emulator.
//!
//! One publisher channel (gcloud-gax connection with its token source) is cached per
//! destination config and dropped after a transport failure. Publish failures are `ERR` with
//! the server's message, as upstream; transport failures carry their network class
//! (`connection_refused`, `timeout`, ...).

use crate::SenderSettings;
use crate::cache::ClientCache;
use crate::classify;
use gcloud_gax::conn::{Channel, ConnectionManager, ConnectionOptions, Environment};
use gcloud_gax::grpc::{Code, Status};
use gcloud_googleapis::pubsub::v1::publisher_client::PublisherClient;
use gcloud_googleapis::pubsub::v1::{PublishRequest, PubsubMessage};
use gcloud_pubsub::apiv1::conn_pool::{AUDIENCE, PUBSUB, SCOPES};
use gcloud_pubsub::client::google_cloud_auth::credentials::CredentialsFile;
use gcloud_pubsub::client::google_cloud_auth::project::Config as AuthConfig;
use gcloud_pubsub::client::google_cloud_auth::token::DefaultTokenSourceProvider;
use outpost_core::destination::Destination;
use outpost_core::event::Event;
use outpost_core::ports::{SendResult, Sender};
use outpost_core::time::Timestamp;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

/// How long establishing the gRPC connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one `Publish` call may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Where a `gcp_pubsub` destination publishes, and how it authenticates.
#[derive(Clone, PartialEq)]
pub struct Target {
    /// `config.project_id`.
    pub project: String,
    /// `config.topic` (the short id).
    pub topic: String,
    /// The emulator's `host:port` (plain text, no auth), from `config.endpoint`.
    pub emulator: Option<String>,
    /// `credentials.service_account_json` (unused with an emulator).
    pub service_account_json: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("project", &self.project)
            .field("topic", &self.topic)
            .field("emulator", &self.emulator)
            .finish_non_exhaustive()
    }
}

impl Target {
    /// The fully qualified topic name, `projects/<project>/topics/<topic>`.
    pub fn topic_name(&self) -> String {
        format!("projects/{}/topics/{}", self.project, self.topic)
    }
}

/// Reads the destination's config and credentials.
pub fn target(dest: &Destination) -> Result<Target, String> {
    let get = |m: &BTreeMap<String, String>, k: &str| {
        m.get(k).map(|v| v.trim().to_string()).unwrap_or_default()
    };
    let project = get(&dest.config, "project_id");
    let topic = get(&dest.config, "topic");
    if project.is_empty() {
        return Err("config.project_id is required".into());
    }
    if topic.is_empty() {
        return Err("config.topic is required".into());
    }
    if project.contains('/') || topic.contains('/') {
        return Err(format!(
            "config.project_id and config.topic are ids, not resource names (got {project:?}, {topic:?})"
        ));
    }
    let endpoint = get(&dest.config, "endpoint");
    let emulator = if endpoint.is_empty() {
        None
    } else {
        Some(emulator_host(&endpoint)?)
    };
    let service_account_json = dest
        .credentials
        .get("service_account_json")
        .cloned()
        .unwrap_or_default();
    if emulator.is_none() && service_account_json.trim().is_empty() {
        return Err("credentials.service_account_json is required".into());
    }
    Ok(Target {
        project,
        topic,
        emulator,
        service_account_json,
    })
}

/// The `host:port` of an emulator endpoint given as `http://host:port[/]` or `host:port`.
fn emulator_host(endpoint: &str) -> Result<String, String> {
    if endpoint.starts_with("https://") {
        return Err(format!(
            "config.endpoint {endpoint:?}: an endpoint override is a plain-text emulator \
             (http://host:port); TLS endpoints are not supported"
        ));
    }
    let host = endpoint
        .strip_prefix("http://")
        .unwrap_or(endpoint)
        .trim_end_matches('/');
    if host.is_empty() || host.contains('/') || host.contains("://") || host.contains(' ') {
        return Err(format!(
            "config.endpoint {endpoint:?}: expected http://host:port"
        ));
    }
    Ok(host.to_string())
}

/// The message of one attempt: the raw data, the metadata as attributes.
pub fn message(data: &[u8], metadata: &BTreeMap<String, String>) -> PubsubMessage {
    PubsubMessage {
        data: data.to_vec(),
        attributes: metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<HashMap<_, _>>(),
        ..Default::default()
    }
}

/// The `response_data` of a successful publish.
pub fn response_data(message_id: &str, t: &Target) -> Value {
    json!({"message_id": message_id, "topic": t.topic, "project": t.project})
}

/// Whether a failed call means the connection is unusable (the client is then rebuilt).
fn is_transport(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::Unknown | Code::Cancelled | Code::DeadlineExceeded
    )
}

/// The attempt code of a failed `Publish`: the network class of transport failures, else `ERR`.
pub fn status_code(status: &Status) -> &'static str {
    if !is_transport(status) {
        return "ERR";
    }
    match classify::network_code(status) {
        Some(code) => code,
        None if status.code() == Code::DeadlineExceeded => "timeout",
        None => "ERR",
    }
}

/// The message of a failed `Publish`, naming the topic.
pub fn status_message(status: &Status, t: &Target) -> String {
    let mut msg = format!(
        "publish to {}: {:?}: {}",
        t.topic_name(),
        status.code(),
        status.message()
    );
    let mut cur = std::error::Error::source(status);
    while let Some(e) = cur {
        msg.push_str(": ");
        msg.push_str(&e.to_string());
        cur = e.source();
    }
    msg
}

/// A connection to the Pub/Sub publisher service (with its token source outside an emulator).
pub struct Client {
    conn: ConnectionManager,
}

/// Why no connection could be made: the attempt code and the message.
#[derive(Debug)]
pub struct ConnectError {
    /// Attempt code (`ERR` or a network class).
    pub code: &'static str,
    /// What failed.
    pub message: String,
}

impl Client {
    async fn connect(t: &Target) -> Result<Self, ConnectError> {
        let options = ConnectionOptions {
            connect_timeout: Some(CONNECT_TIMEOUT),
            timeout: Some(REQUEST_TIMEOUT),
            ..Default::default()
        };
        let environment = match (&t.emulator, std::env::var("PUBSUB_EMULATOR_HOST")) {
            (Some(host), _) => Environment::Emulator(host.clone()),
            (None, Ok(host)) if !host.trim().is_empty() => Environment::Emulator(host),
            (None, _) => {
                crate::ensure_crypto_provider();
                let err = |what: &str, e: &dyn std::fmt::Display| ConnectError {
                    code: "ERR",
                    message: format!("credentials.service_account_json: {what}: {e}"),
                };
                let file = CredentialsFile::new_from_str(&t.service_account_json)
                    .await
                    .map_err(|e| err("not a credentials file", &e))?;
                let config = AuthConfig::default()
                    .with_audience(AUDIENCE)
                    .with_scopes(&SCOPES);
                let provider =
                    DefaultTokenSourceProvider::new_with_credentials(config, Box::new(file))
                        .await
                        .map_err(|e| err("unusable", &e))?;
                Environment::GoogleCloud(Box::new(provider))
            }
        };
        let audience = format!("https://{PUBSUB}/");
        let conn = ConnectionManager::new(1, PUBSUB, &audience, &environment, &options)
            .await
            .map_err(|e| ConnectError {
                code: classify::network_code(&e).unwrap_or("ERR"),
                message: format!(
                    "connect to Pub/Sub ({}): {}",
                    where_to(t),
                    classify::chain_text(&e)
                ),
            })?;
        Ok(Self { conn })
    }

    fn publisher(&self) -> PublisherClient<Channel> {
        PublisherClient::new(self.conn.conn())
    }
}

/// Where the connection goes, for messages.
fn where_to(t: &Target) -> String {
    match &t.emulator {
        Some(h) => format!("emulator {h}"),
        None => PUBSUB.to_string(),
    }
}

/// Sends to GCP Pub/Sub topics.
pub struct PubSubSender {
    settings: Arc<SenderSettings>,
    clients: ClientCache<Client>,
}

impl PubSubSender {
    /// A sender with an empty connection cache.
    pub fn new(settings: Arc<SenderSettings>) -> Self {
        Self {
            settings,
            clients: ClientCache::default(),
        }
    }
}

#[async_trait::async_trait]
impl Sender for PubSubSender {
    async fn send(&self, dest: &Destination, event: &Event, now: Timestamp) -> SendResult {
        let t = match target(dest) {
            Ok(t) => t,
            Err(e) => return SendResult::failed("ERR", e),
        };
        let client = match self
            .clients
            .get_or_try_init(dest, || Client::connect(&t))
            .await
        {
            Ok(c) => c,
            Err(e) => return SendResult::failed(e.code, e.message),
        };
        let metadata = self.settings.metadata(dest, event, now);
        let request = PublishRequest {
            topic: t.topic_name(),
            messages: vec![message(event.data.get().as_bytes(), &metadata)],
        };
        let request = gcloud_gax::create_request(format!("topic={}", t.topic_name()), request);
        match client.publisher().publish(request).await {
            Ok(resp) => match resp.into_inner().message_ids.into_iter().next() {
                Some(id) => SendResult::ok(response_data(&id, &t)),
                None => SendResult::failed(
                    "ERR",
                    format!("publish to {}: no message id returned", t.topic_name()),
                ),
            },
            Err(status) => {
                if is_transport(&status) {
                    self.clients.evict(dest);
                }
                SendResult::failed(status_code(&status), status_message(&status, &t))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dest(config: &[(&str, &str)], creds: &[(&str, &str)]) -> Destination {
        crate::testing::destination("gcp_pubsub", "des_1", config, creds)
    }

    const SA: &str = r#"{"type":"service_account","client_email":"a@b.iam.gserviceaccount.com","private_key":"k"}"#;

    #[test]
    fn target_reads_config_and_emulator_endpoint() {
        let d = dest(
            &[
                ("project_id", "p1"),
                ("topic", "t1"),
                ("endpoint", "http://127.0.0.1:8085/"),
            ],
            &[("service_account_json", "ignored")],
        );
        let t = target(&d).unwrap();
        assert_eq!(t.emulator.as_deref(), Some("127.0.0.1:8085"));
        assert_eq!(t.topic_name(), "projects/p1/topics/t1");
        let d = dest(
            &[("project_id", "p"), ("topic", "t"), ("endpoint", "h:1")],
            &[],
        );
        assert_eq!(target(&d).unwrap().emulator.as_deref(), Some("h:1"));
        let d = dest(
            &[("project_id", "p"), ("topic", "t")],
            &[("service_account_json", SA)],
        );
        let t = target(&d).unwrap();
        assert_eq!(t.emulator, None);
        assert!(
            !format!("{t:?}").contains("private_key"),
            "credentials stay out of Debug"
        );
    }

    #[test]
    fn target_rejects_unusable_config() {
        let sa = [("service_account_json", SA)];
        for (config, want) in [
            (vec![("topic", "t")], "project_id is required"),
            (vec![("project_id", "p")], "topic is required"),
            (
                vec![("project_id", "p"), ("topic", "projects/p/topics/t")],
                "not resource names",
            ),
            (
                vec![
                    ("project_id", "p"),
                    ("topic", "t"),
                    ("endpoint", "https://h:1"),
                ],
                "TLS endpoints are not supported",
            ),
            (
                vec![
                    ("project_id", "p"),
                    ("topic", "t"),
                    ("endpoint", "http://h:1/v1"),
                ],
                "expected http://host:port",
            ),
        ] {
            let err = target(&dest(&config, &sa)).unwrap_err();
            assert!(err.contains(want), "{config:?}: {err}");
        }
        let err = target(&dest(&[("project_id", "p"), ("topic", "t")], &[])).unwrap_err();
        assert!(err.contains("service_account_json is required"), "{err}");
    }

    #[test]
    fn message_is_raw_data_with_metadata_attributes() {
        let md = BTreeMap::from([
            ("event-id".to_string(), "evt_1".to_string()),
            ("topic".to_string(), "user.created".to_string()),
        ]);
        let m = message(br#"{"a":1}"#, &md);
        assert_eq!(m.data, br#"{"a":1}"#);
        assert_eq!(m.attributes.len(), 2);
        assert_eq!(m.attributes["event-id"], "evt_1");
        assert!(m.ordering_key.is_empty());
    }

    #[test]
    fn response_data_and_error_codes() {
        let t = target(&dest(
            &[("project_id", "p"), ("topic", "t"), ("endpoint", "h:1")],
            &[],
        ))
        .unwrap();
        assert_eq!(
            response_data("42", &t),
            json!({"message_id": "42", "topic": "t", "project": "p"})
        );
        let nf = Status::not_found("Topic not found");
        assert_eq!(status_code(&nf), "ERR");
        assert!(status_message(&nf, &t).contains("projects/p/topics/t"));
        assert_eq!(status_code(&Status::permission_denied("no")), "ERR");
        assert_eq!(
            status_code(&Status::unavailable(
                "tcp connect error: Connection refused (os error 111)"
            )),
            "connection_refused"
        );
        assert_eq!(status_code(&Status::deadline_exceeded("slow")), "timeout");
        assert_eq!(status_code(&Status::unavailable("gone")), "ERR");
    }

    #[tokio::test]
    async fn unreachable_emulator_is_connection_refused() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let endpoint = format!("http://127.0.0.1:{port}");
        let t = target(&dest(
            &[("project_id", "p"), ("topic", "t"), ("endpoint", &endpoint)],
            &[],
        ))
        .unwrap();
        let err = match Client::connect(&t).await {
            Ok(_) => panic!("nothing listens on {endpoint}"),
            Err(e) => e,
        };
        assert_eq!(err.code, "connection_refused", "{}", err.message);
        assert!(
            err.message.contains("emulator 127.0.0.1"),
            "{}",
            err.message
        );
    }

    #[tokio::test]
    async fn malformed_service_account_is_err_before_any_io() {
        let t = target(&dest(
            &[("project_id", "p"), ("topic", "t")],
            &[("service_account_json", "{not json")],
        ))
        .unwrap();
        let err = match Client::connect(&t).await {
            Ok(_) => panic!("credentials must be rejected (is PUBSUB_EMULATOR_HOST set?)"),
            Err(e) => e,
        };
        assert_eq!(err.code, "ERR");
        assert!(
            err.message.contains("service_account_json"),
            "{}",
            err.message
        );
    }
}
