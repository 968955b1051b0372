//! The cloud operator event sinks against local stand-ins: moto (SQS) and Google's pstest fake
//! (Pub/Sub). Start them with `scripts/stand-ins.sh start-all`; without them these tests fail.
//!
//! Addresses: `TEST_AWS_SQS_ENDPOINT` (default `http://127.0.0.1:4566`) and
//! `TEST_GCP_PUBSUB_EMULATOR_HOST` (default `127.0.0.1:8085`).

use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
use gcloud_gax::conn::Environment;
use gcloud_pubsub::client::{Client as PubSubClient, ClientConfig};
use gcloud_pubsub::subscription::SubscriptionConfig;
use outpost_opevents::{OperatorEvent, Sink, SinkError};
use outpost_opevents_cloud::{PubSubSink, SqsSink};
use std::net::ToSocketAddrs;
use std::time::Duration;

const HINT: &str = "start the stand-ins with `scripts/stand-ins.sh start-all`";
const REGION: &str = "us-east-1";

fn sqs_endpoint() -> String {
    std::env::var("TEST_AWS_SQS_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:4566".into())
}

fn pubsub_host() -> String {
    std::env::var("TEST_GCP_PUBSUB_EMULATOR_HOST").unwrap_or_else(|_| "127.0.0.1:8085".into())
}

/// Panics (fails the test) unless `host:port` accepts TCP connections.
fn require_reachable(what: &str, host_port: &str) {
    let addrs: Vec<_> = host_port
        .to_socket_addrs()
        .unwrap_or_else(|e| panic!("{what}: bad address {host_port:?}: {e}"))
        .collect();
    let ok = addrs
        .iter()
        .any(|a| std::net::TcpStream::connect_timeout(a, Duration::from_secs(2)).is_ok());
    assert!(ok, "{what} is not reachable at {host_port}; {HINT}");
}

fn event(topic: &str) -> (OperatorEvent, Vec<u8>) {
    let event = OperatorEvent {
        id: uuid::Uuid::new_v4().simple().to_string(),
        topic: topic.to_string(),
        time: outpost_core::time::now_ms(),
        deployment_id: Some("dep_1".into()),
        tenant_id: Some("tenant_1".into()),
        data: serde_json::json!({"tenant_id": "tenant_1", "reason": "consecutive_failure", "ünïcode": "✓"}),
    };
    let body = serde_json::to_vec(&event).expect("serialize");
    (event, body)
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

// ----------------------------------------------------------------------------------------------
// SQS (moto)

fn sqs_admin() -> aws_sdk_sqs::Client {
    let endpoint = sqs_endpoint();
    let host_port = endpoint
        .split_once("://")
        .map_or(endpoint.as_str(), |(_, r)| r)
        .trim_end_matches('/');
    require_reachable("moto (AWS SQS stand-in)", host_port);
    let conf = aws_sdk_sqs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(endpoint)
        .build();
    aws_sdk_sqs::Client::from_conf(conf)
}

fn sqs_sink(queue_url: String) -> SqsSink {
    SqsSink::new(
        queue_url,
        Some(REGION.into()),
        Some("test".into()),
        Some("test".into()),
        Some(sqs_endpoint()),
    )
    .expect("sink")
}

#[tokio::test]
async fn sqs_sink_sends_body_and_topic_attribute() {
    let admin = sqs_admin();
    let created = admin
        .create_queue()
        .queue_name(unique("outpost-opevents"))
        .send()
        .await
        .expect("create queue");
    let queue_url = created.queue_url().expect("queue url").to_string();

    let sink = sqs_sink(queue_url.clone());
    assert_eq!(sink.name(), "aws_sqs");
    let (ev, body) = event("alert.destination.disabled");
    sink.send(&ev, &body).await.expect("send");

    let got = admin
        .receive_message()
        .queue_url(&queue_url)
        .message_attribute_names("All")
        .max_number_of_messages(10)
        .wait_time_seconds(5)
        .send()
        .await
        .expect("receive");
    let msgs = got.messages();
    assert_eq!(msgs.len(), 1, "{msgs:?}");
    let m = &msgs[0];
    assert_eq!(m.body().expect("body").as_bytes(), body.as_slice());
    let attr = m
        .message_attributes()
        .and_then(|a| a.get("topic"))
        .expect("topic attribute");
    assert_eq!(attr.data_type(), "String");
    assert_eq!(attr.string_value(), Some("alert.destination.disabled"));

    admin
        .delete_queue()
        .queue_url(&queue_url)
        .send()
        .await
        .expect("delete queue");
}

#[tokio::test]
async fn sqs_sink_unknown_queue_fails() {
    let _ = sqs_admin(); // reachability check
    let url = format!(
        "{}/123456789012/{}",
        sqs_endpoint().trim_end_matches('/'),
        unique("missing")
    );
    let sink = sqs_sink(url);
    let (ev, body) = event("attempt.failed");
    let err = sink
        .send(&ev, &body)
        .await
        .expect_err("unknown queue must fail");
    match &err {
        SinkError::Failed { sink, message } => {
            assert_eq!(*sink, "aws_sqs");
            assert!(!message.is_empty());
        }
        other => panic!("unexpected error {other:?}"),
    }
    eprintln!("unknown queue error: {err}");
}

// ----------------------------------------------------------------------------------------------
// Pub/Sub (pstest)

const PROJECT: &str = "outpost-test";

async fn pubsub_admin() -> PubSubClient {
    let host = pubsub_host();
    require_reachable("pstest (GCP Pub/Sub stand-in)", &host);
    let config = ClientConfig {
        project_id: Some(PROJECT.into()),
        environment: Environment::Emulator(host),
        ..Default::default()
    };
    PubSubClient::new(config).await.expect("pubsub client")
}

#[tokio::test]
async fn pubsub_sink_publishes_data_and_topic_attribute() {
    let admin = pubsub_admin().await;
    let topic_id = unique("opevents");
    let sub_id = unique("opevents-sub");
    admin
        .create_topic(&topic_id, None, None)
        .await
        .expect("create topic");
    let sub = admin
        .create_subscription(
            &sub_id,
            &topic_id,
            SubscriptionConfig {
                ack_deadline_seconds: 10,
                ..Default::default()
            },
            None,
        )
        .await
        .expect("create subscription");

    let sink =
        PubSubSink::new(PROJECT.into(), topic_id.clone(), None, Some(pubsub_host())).expect("sink");
    assert_eq!(sink.name(), "gcp_pubsub");
    let (ev, body) = event("attempt.success");
    sink.send(&ev, &body).await.expect("send");

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let msgs = loop {
        let msgs = sub.pull(10, None).await.expect("pull");
        if !msgs.is_empty() || tokio::time::Instant::now() > deadline {
            break msgs;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(msgs.len(), 1, "expected exactly one message");
    let m = &msgs[0];
    assert_eq!(m.message.data, body);
    assert_eq!(
        m.message.attributes.get("topic").map(String::as_str),
        Some("attempt.success")
    );
    assert!(!m.message.message_id.is_empty());
    m.ack().await.expect("ack");
}

#[tokio::test]
async fn pubsub_sink_unknown_topic_fails() {
    let _ = pubsub_admin().await; // reachability check
    let sink = PubSubSink::new(PROJECT.into(), unique("missing"), None, Some(pubsub_host()))
        .expect("sink");
    let (ev, body) = event("attempt.failed");
    let err = sink
        .send(&ev, &body)
        .await
        .expect_err("unknown topic must fail");
    assert!(
        matches!(
            &err,
            SinkError::Failed {
                sink: "gcp_pubsub",
                ..
            }
        ),
        "{err:?}"
    );
    eprintln!("unknown topic error: {err}");
}
