//! Publishing through a queue the operator owns (`PUBLISH_RABBITMQ_*`, `PUBLISH_AWS_SQS_*`,
//! `PUBLISH_GCP_PUBSUB_*`, `PUBLISH_AZURE_SERVICEBUS_*`):
//! messages with the `POST /publish` body are delivered like REST publishes; a message that is
//! not a valid publish is nacked until the broker dead-letters it, without holding up the
//! others; the consumer reports in `/healthz`.

use crate::api::{Api, base_env};
use crate::common::Server;
use outpost_core::ports::Queue;
use outpost_test_support::receiver::Receiver;
use serde_json::json;
use std::time::{Duration, Instant};

/// Publishes ten events and two bad messages on `queue`, and checks what the server behind
/// `env` does with them; returns once the ten are delivered.
async fn publishes_through(queue: &dyn Queue, env: &[(&str, &str)]) {
    let rx = Receiver::start().await;
    let mut all = base_env();
    all.extend_from_slice(env);
    all.push(("PUBLISH_MAX_CONCURRENCY", "4"));
    let server = Server::start(&all).await;
    let api = Api::new(&server.base);
    api.tenant("t").await;
    api.webhook("t", &format!("{}/pq", rx.base), json!(["*"]), json!({}))
        .await;
    let health: serde_json::Value = reqwest::get(format!("{}/healthz", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        health["workers"]["publishmq-consumer"]["status"], "healthy",
        "{health}"
    );
    let mut bodies: Vec<Vec<u8>> = vec![
        b"{not json".to_vec(),
        br#"{"tenant_id":"t","data":"text"}"#.to_vec(),
    ];
    for i in 0..10 {
        bodies.push(
            json!({"id": format!("pq-{i}"), "tenant_id": "t", "topic": "x", "data": {"i": i}})
                .to_string()
                .into_bytes(),
        );
    }
    queue.publish(bodies).await.unwrap();
    rx.wait_for_events(
        "/pq",
        10,
        Duration::from_secs(30),
        "ten events through the publish queue",
    )
    .await;
    let got = rx.distinct_events("/pq");
    for i in 0..10 {
        assert!(got.contains(&format!("pq-{i}")), "{got:?}");
    }
    // The same event id again through the queue is a duplicate: not delivered twice.
    queue
        .publish(vec![
            json!({"id": "pq-0", "tenant_id": "t", "topic": "x", "data": {}})
                .to_string()
                .into_bytes(),
        ])
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        rx.on("/pq").len(),
        10,
        "a duplicate id is not delivered again"
    );
    assert!(server.stop().success());
}

/// Waits for one message on `dlq` and returns its body.
async fn dead_lettered(dlq: &dyn Queue) -> Vec<Vec<u8>> {
    let mut sub = dlq.subscribe(4).await.unwrap();
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while out.len() < 2 {
        let left = deadline.saturating_duration_since(Instant::now());
        let m = tokio::time::timeout(left, sub.next())
            .await
            .expect("the bad messages were dead-lettered")
            .unwrap()
            .unwrap();
        out.push(m.body.clone());
        m.ack().await.unwrap();
    }
    out.sort();
    out
}

#[tokio::test]
async fn publish_queue_on_rabbitmq() {
    use outpost_mq::rabbitmq::{RabbitQueue, RabbitSettings};
    let url = outpost_test_support::service_addr(
        "TEST_RABBITMQ_URL",
        "amqp://guest:guest@127.0.0.1:5672/%2f",
    );
    let exchange = outpost_test_support::unique("outpost_test_pubx");
    let name = outpost_test_support::unique("outpost_test_pubq");
    let _guard = outpost_test_support::rabbit::TopologyGuard::new(
        &url,
        vec![exchange.clone()],
        vec![name.clone(), format!("{name}.dlq")],
    );
    // The operator's queue: a quorum queue with a delivery limit and a dead-letter queue.
    let mut s = RabbitSettings::new(url.clone(), name.clone());
    s.exchange = exchange.clone();
    let queue = RabbitQueue::connect(s).await.unwrap();
    let env = [
        ("PUBLISH_RABBITMQ_SERVER_URL", url.as_str()),
        ("PUBLISH_RABBITMQ_EXCHANGE", exchange.as_str()),
        ("PUBLISH_RABBITMQ_QUEUE", name.as_str()),
    ];
    publishes_through(&queue, &env).await;
    let mut d = RabbitSettings::new(url.clone(), format!("{name}.dlq"));
    d.exchange = exchange.clone();
    d.auto_provision = false;
    d.dlq = format!("{name}.dlq");
    let dlq = RabbitQueue::connect(d).await.unwrap();
    let bad = dead_lettered(&dlq).await;
    assert_eq!(
        bad,
        [
            br#"{"tenant_id":"t","data":"text"}"#.to_vec(),
            b"{not json".to_vec()
        ]
    );
}

#[tokio::test]
async fn publish_queue_on_sqs() {
    use outpost_mq_sqs::{SqsQueue, SqsSettings};
    let endpoint =
        outpost_test_support::service_addr("TEST_AWS_SQS_ENDPOINT", "http://127.0.0.1:4566");
    let name = outpost_test_support::unique("outpost-test-pubq").replace('_', "-");
    let settings = |queue: &str, provision: bool| SqsSettings {
        region: "us-east-1".into(),
        endpoint: Some(endpoint.clone()),
        credentials: Some(("test".into(), "test".into())),
        queue: queue.to_string(),
        dlq: format!("{queue}-dlq"),
        auto_provision: provision,
        visibility_timeout: Duration::from_secs(30),
        max_receive_count: 3,
    };
    // The operator's queue, with a redrive policy to its dead-letter queue.
    let queue = SqsQueue::connect(settings(&name, true)).await.unwrap();
    let env = [
        ("PUBLISH_AWS_SQS_REGION", "us-east-1"),
        ("PUBLISH_AWS_SQS_QUEUE", name.as_str()),
        ("PUBLISH_AWS_SQS_ENDPOINT", endpoint.as_str()),
        ("PUBLISH_AWS_SQS_ACCESS_KEY_ID", "test"),
        ("PUBLISH_AWS_SQS_SECRET_ACCESS_KEY", "test"),
    ];
    publishes_through(&queue, &env).await;
    let dlq = SqsQueue::connect(settings(&format!("{name}-dlq"), false))
        .await
        .unwrap();
    let bad = dead_lettered(&dlq).await;
    assert_eq!(
        bad,
        [
            br#"{"tenant_id":"t","data":"text"}"#.to_vec(),
            b"{not json".to_vec()
        ]
    );
}

/// Pub/Sub on pstest, which has no dead-letter policy: the bad messages are nacked, so after
/// the run they are still on the subscription, unacknowledged, while the good ones are gone.
#[tokio::test]
async fn publish_queue_on_pubsub() {
    use outpost_mq_pubsub::{PubSubQueue, PubSubSettings};
    let emulator =
        outpost_test_support::service_addr("TEST_GCP_PUBSUB_EMULATOR_HOST", "127.0.0.1:8085");
    let id = outpost_test_support::unique("outpost-test-pubq").replace('_', "-");
    let settings = PubSubSettings {
        project: "outpost-test".into(),
        emulator: Some(emulator.clone()),
        credentials_json: None,
        topic: id.clone(),
        subscription: format!("{id}-sub"),
        dead_letter: None,
        auto_provision: true,
        ack_deadline: Duration::from_secs(10),
        max_delivery_attempts: 5,
    };
    // The operator's topic and subscription.
    let queue = PubSubQueue::connect(settings.clone()).await.unwrap();
    let sub = format!("{id}-sub");
    let env = [
        ("PUBLISH_GCP_PUBSUB_PROJECT", "outpost-test"),
        ("PUBLISH_GCP_PUBSUB_TOPIC", id.as_str()),
        ("PUBLISH_GCP_PUBSUB_SUBSCRIPTION", sub.as_str()),
        ("PUBSUB_EMULATOR_HOST", emulator.as_str()),
    ];
    publishes_through(&queue, &env).await;
    // The server is gone: what is left on the subscription is what it did not ack.
    let mut left = queue.subscribe(8).await.unwrap();
    let mut bad = Vec::new();
    while let Ok(Some(m)) = tokio::time::timeout(Duration::from_secs(3), left.next()).await {
        let m = m.unwrap();
        if !bad.contains(&m.body) {
            bad.push(m.body.clone());
        }
        m.ack().await.unwrap();
    }
    bad.sort();
    assert_eq!(
        bad,
        [
            br#"{"tenant_id":"t","data":"text"}"#.to_vec(),
            b"{not json".to_vec()
        ]
    );
}

/// Service Bus on the project's fake: the operator's topic and subscription (dead-lettering
/// after 3 deliveries), and the bad messages in the subscription's dead-letter queue.
#[tokio::test]
async fn publish_queue_on_servicebus() {
    use outpost_mq_servicebus::{ServiceBusQueue, ServiceBusSettings};
    let host = outpost_test_support::service_addr("TEST_AZURE_SERVICEBUS_HOST", "127.0.0.2");
    let control = outpost_test_support::service_addr(
        "TEST_AZURE_SERVICEBUS_CONTROL",
        "http://127.0.0.2:5673",
    );
    let topic = outpost_test_support::unique("outpost-test-pubq").replace('_', "-");
    let r = reqwest::Client::new()
        .put(format!(
            "{control}/entities/{topic}/subscriptions/outpost?max_delivery_count=3"
        ))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let cs = format!(
        "Endpoint=sb://{host};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true"
    );
    let queue = ServiceBusQueue::connect(ServiceBusSettings {
        connection_string: cs.clone(),
        topic: topic.clone(),
        subscription: "outpost".into(),
        provision: None,
    })
    .await
    .unwrap();
    let env = [
        ("PUBLISH_AZURE_SERVICEBUS_CONNECTION_STRING", cs.as_str()),
        ("PUBLISH_AZURE_SERVICEBUS_TOPIC", topic.as_str()),
        ("PUBLISH_AZURE_SERVICEBUS_SUBSCRIPTION", "outpost"),
    ];
    publishes_through(&queue, &env).await;
    let url = format!("{control}/entities/{topic}/subscriptions/outpost/$deadletterqueue/messages");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut bad: Vec<Vec<u8>> = Vec::new();
    while bad.len() < 2 {
        assert!(Instant::now() < deadline, "dead-lettered so far: {bad:?}");
        let got: serde_json::Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
        for m in got.as_array().unwrap() {
            bad.push(m["body"].as_str().unwrap().as_bytes().to_vec());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bad.sort();
    assert_eq!(
        bad,
        [
            br#"{"tenant_id":"t","data":"text"}"#.to_vec(),
            b"{not json".to_vec()
        ]
    );
}

/// A publish queue that does not exist stops the start with its name.
#[tokio::test]
async fn a_missing_publish_queue_is_a_clear_start_error() {
    let out = crate::common::base_cmd(
        &["serve"],
        &[
            ("API_PORT", &crate::common::free_port().to_string()),
            ("PUBLISH_AWS_SQS_REGION", "us-east-1"),
            ("PUBLISH_AWS_SQS_QUEUE", "outpost-test-no-such-queue"),
            (
                "PUBLISH_AWS_SQS_ENDPOINT",
                &outpost_test_support::service_addr(
                    "TEST_AWS_SQS_ENDPOINT",
                    "http://127.0.0.1:4566",
                ),
            ),
            ("PUBLISH_AWS_SQS_ACCESS_KEY_ID", "test"),
            ("PUBLISH_AWS_SQS_SECRET_ACCESS_KEY", "test"),
        ],
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("outpost-test-no-such-queue") && text.contains("PUBLISH_AWS_SQS_QUEUE"),
        "{text}"
    );
}
