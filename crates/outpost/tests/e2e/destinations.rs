//! Shared harness for the destination-type tests: one embedded `outpost` (in-memory stores, no
//! infrastructure), a tenant, and helpers to create a destination through the API, publish an
//! event and wait for its attempt in the log. Each type's test reads the message back from the
//! type's local stand-in (see `scripts/stand-ins.sh`).

use crate::api::{Api, base_env};
use crate::common::Server;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

pub struct DestHarness {
    pub server: Server,
    pub api: Api,
    pub tenant: String,
}

impl DestHarness {
    /// Starts the server with `extra` settings on top of the e2e defaults (one retry after 1 s,
    /// attempts logged at once, a 20 s delivery timeout).
    pub async fn start(extra: &[(&str, &str)]) -> Self {
        let mut env = base_env();
        env.extend([
            ("RETRY_SCHEDULE", "1"),
            ("MAX_RETRY_LIMIT", "1"),
            ("LOG_BATCH_THRESHOLD_SECONDS", "0"),
            // First deliveries open connections (TLS-less, but several round trips for AMQP
            // 1.0 and Kafka); on a loaded 2-core machine they can exceed the 5 s default.
            ("DELIVERY_TIMEOUT_SECONDS", "20"),
        ]);
        env.extend_from_slice(extra);
        let server = Server::start(&env).await;
        let api = Api::new(&server.base);
        let tenant = outpost_test_support::unique("tenant");
        api.tenant(&tenant).await;
        Self {
            server,
            api,
            tenant,
        }
    }

    /// Creates a destination (`type`, `config`, `credentials`, ...) subscribed to every topic
    /// unless `topics` is given; returns the API's answer.
    pub async fn create(&self, body: Value) -> Value {
        let mut body = body;
        if body.get("topics").is_none() {
            body["topics"] = json!("*");
        }
        let (s, d) = self
            .api
            .call(
                reqwest::Method::POST,
                &format!("/tenants/{}/destinations", self.tenant),
                Some(body),
            )
            .await;
        assert_eq!(s, 201, "create destination: {d}");
        d
    }

    /// Publishes `data` (raw JSON text) on `topic` with event `metadata`; returns the event id.
    pub async fn publish(&self, topic: &str, data: &str, metadata: Value) -> String {
        let id = outpost_test_support::unique("evt");
        let body = format!(
            r#"{{"id":"{id}","tenant_id":"{}","topic":"{topic}","metadata":{metadata},"data":{data}}}"#,
            self.tenant
        );
        let (s, b) = self.api.publish_raw(&body).await;
        assert_eq!(s, 202, "publish: {b}");
        id
    }

    /// Waits for the `n`-th attempt (1-based) of `event_id` and returns it with response data.
    pub async fn attempt(&self, event_id: &str, n: usize) -> Value {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (s, b) = self
                .api
                .call(
                    reqwest::Method::GET,
                    &format!(
                        "/attempts?tenant_id={}&event_id={event_id}&include=response_data&dir=asc",
                        self.tenant
                    ),
                    None,
                )
                .await;
            assert_eq!(s, 200, "{b}");
            if let Some(a) = b["models"].as_array().and_then(|m| m.get(n - 1)) {
                return a.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no attempt {n} of {event_id} within 30 s: {b}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Asserts that `headers` (any string map: AMQP headers, message attributes, object metadata)
/// carry the system metadata of `event_id` on `topic` plus the event's own `metadata`.
pub fn assert_metadata(headers: &Value, event_id: &str, topic: &str, metadata: &Value) {
    assert_eq!(headers["event-id"], json!(event_id), "{headers}");
    assert_eq!(headers["topic"], json!(topic), "{headers}");
    let ts = headers["timestamp"].as_str().unwrap_or_default();
    assert!(
        chrono::DateTime::parse_from_rfc3339(ts).is_ok() && ts.ends_with('Z') && !ts.contains('.'),
        "timestamp is RFC 3339 at whole seconds, UTC: {headers}"
    );
    for (k, v) in metadata.as_object().into_iter().flatten() {
        assert_eq!(&headers[k], v, "metadata {k}: {headers}");
    }
}

/// Credentials given to destinations, the process's own secrets and tenant tokens never appear
/// in the service's logs, even at debug level and when deliveries fail with errors that name
/// the endpoint.
#[tokio::test]
async fn destination_credentials_are_never_logged() {
    let closed = format!("127.0.0.1:{}", crate::common::free_port());
    let h = DestHarness::start(&[
        ("LOG_LEVEL", "debug"),
        ("DESTINATIONS_WEBHOOK_ALLOWED_CIDRS", "127.0.0.0/8"),
        ("API_JWT_SECRET", "Sup3rSecretJwtSigningKey"),
        ("AES_ENCRYPTION_SECRET", "Sup3rSecretAesEncryptionKey"),
    ])
    .await;
    let secrets = [
        "whsec-Sup3rSecretWebhook",
        "Sup3rSecretRabbitPassword",
        "Sup3rSecretAwsKeySecret",
        "Sup3rSecretKafkaPassword",
        "U3VwM3JTZWNyZXRTYXNLZXk=",
        "Sup3rSecretKinesisSecret",
        "Sup3rSecretS3Secret",
        "Sup3rSecretGcpPrivateKey",
        "Sup3rSecretJwtSigningKey",
        "Sup3rSecretAesEncryptionKey",
    ];
    let endpoint = format!("http://{closed}");
    let service_account = json!({"type": "service_account", "project_id": "p",
        "private_key_id": "k1", "client_email": "svc@p.iam.gserviceaccount.com",
        "private_key": format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", secrets[7])})
    .to_string();
    let destinations = [
        json!({"type": "webhook", "config": {"url": format!("http://{closed}/hook")},
               "credentials": {"secret": secrets[0]}}),
        json!({"type": "rabbitmq", "config": {"server_url": closed, "exchange": "x"},
               "credentials": {"username": "u", "password": secrets[1]}}),
        json!({"type": "aws_sqs", "config": {"queue_url": format!("http://{closed}/123456789012/q")},
               "credentials": {"key": "AKIAEXAMPLE", "secret": secrets[2]}}),
        json!({"type": "kafka", "config": {"brokers": closed, "topic": "t", "sasl_mechanism": "plain"},
               "credentials": {"username": "u", "password": secrets[3]}}),
        json!({"type": "azure_servicebus", "config": {"name": "q"},
               "credentials": {"connection_string": format!(
                   "Endpoint=sb://127.0.0.3;SharedAccessKeyName=k;SharedAccessKey={};UseDevelopmentEmulator=true",
                   secrets[4])}}),
        json!({"type": "aws_kinesis", "config": {"stream_name": "s", "region": "eu-west-1", "endpoint": endpoint},
               "credentials": {"key": "AKIAEXAMPLE", "secret": secrets[5]}}),
        json!({"type": "aws_s3", "config": {"bucket": "b", "region": "us-east-1", "endpoint": endpoint},
               "credentials": {"key": "AKIAEXAMPLE", "secret": secrets[6]}}),
        json!({"type": "gcp_pubsub", "config": {"project_id": "p", "topic": "t", "endpoint": endpoint},
               "credentials": {"service_account_json": service_account}}),
    ];
    for body in destinations.iter().cloned() {
        h.create(body).await;
    }
    // A tenant token, used once.
    let (_, t) = h
        .api
        .call(
            reqwest::Method::GET,
            &format!("/tenants/{}/token", h.tenant),
            None,
        )
        .await;
    let token = t["token"].as_str().unwrap().to_string();
    let r = reqwest::Client::new()
        .get(format!(
            "{}/api/v1/tenants/{}/destinations",
            h.server.base, h.tenant
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let id = h.publish("any", r#"{"x":1}"#, json!({})).await;
    // Every destination, two attempts each, all failing.
    let want = destinations.len() * 2;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, b) = h
            .api
            .call(
                reqwest::Method::GET,
                &format!("/attempts?tenant_id={}&event_id={id}&limit=100", h.tenant),
                None,
            )
            .await;
        if b["models"].as_array().is_some_and(|m| m.len() >= want) {
            break;
        }
        assert!(Instant::now() < deadline, "attempts not logged: {b}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = std::fs::read_to_string(&h.server.log).unwrap();
    assert!(log.contains("Delivery attempted."), "the log is read");
    for s in secrets
        .iter()
        .copied()
        .chain([token.as_str(), crate::api::KEY])
    {
        assert!(!log.contains(s), "secret {s} appears in the log");
    }
    assert!(h.server.stop().success());
}
