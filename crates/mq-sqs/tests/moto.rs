//! The SQS queue against moto (`scripts/stand-ins.sh start-moto`; `TEST_AWS_SQS_ENDPOINT`,
//! default http://127.0.0.1:4566): the queue port's conformance suite, provisioning with a
//! dead-letter queue, the existence check without provisioning, visibility kept while a message
//! is held, and a held message coming back once its holder is gone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use outpost_core::ports::{Queue, QueueError};
use outpost_mq_sqs::{SqsQueue, SqsSettings};
use std::time::Duration;

fn settings(name: &str, visibility: Duration) -> SqsSettings {
    SqsSettings {
        region: "us-east-1".into(),
        endpoint: Some(outpost_test_support::service_addr(
            "TEST_AWS_SQS_ENDPOINT",
            "http://127.0.0.1:4566",
        )),
        credentials: Some(("test".into(), "test".into())),
        queue: name.into(),
        dlq: format!("{name}-dlq"),
        auto_provision: true,
        visibility_timeout: visibility,
        max_receive_count: 6,
    }
}

fn name(what: &str) -> String {
    format!("outpost-test-{what}-{}", uuid::Uuid::new_v4().simple())
}

#[tokio::test]
async fn sqs_queue_conforms() {
    let q = SqsQueue::connect(settings(&name("conf"), Duration::from_secs(30)))
        .await
        .unwrap();
    outpost_test_support::queue_suite::run(&q).await;
}

#[tokio::test]
async fn provisioning_creates_the_dead_letter_queue_and_redrive_policy() {
    let n = name("prov");
    let s = settings(&n, Duration::from_secs(45));
    let q = SqsQueue::connect(s.clone()).await.unwrap();
    // Connecting again (another replica) finds them and keeps them.
    let again = SqsQueue::connect(s.clone()).await.unwrap();
    assert_eq!(q.url(), again.url());
    let client = outpost_mq_sqs::client(&s).await;
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let attrs = client
        .get_queue_attributes()
        .queue_url(q.url())
        .attribute_names(A::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap();
    assert_eq!(attrs[&A::VisibilityTimeout], "45");
    let redrive: serde_json::Value = serde_json::from_str(&attrs[&A::RedrivePolicy]).unwrap();
    assert_eq!(
        redrive["maxReceiveCount"].to_string().trim_matches('"'),
        "6"
    );
    assert!(
        redrive["deadLetterTargetArn"]
            .as_str()
            .unwrap()
            .ends_with(&format!(":{n}-dlq")),
        "{redrive}"
    );
}

#[tokio::test]
async fn without_provisioning_a_missing_queue_is_a_clear_error() {
    let mut s = settings(&name("missing"), Duration::from_secs(30));
    s.auto_provision = false;
    match SqsQueue::connect(s).await {
        Err(QueueError::Missing(m)) => assert!(m.contains("MQS_AUTO_PROVISION"), "{m}"),
        other => panic!("expected Missing, got {other:?}"),
    }
}

/// Visibility is extended while a message is held, and a dropped one comes back at once.
#[tokio::test]
async fn held_messages_stay_invisible_and_come_back_when_abandoned() {
    let lease = Duration::from_secs(3);
    let q = SqsQueue::connect(settings(&name("vis"), lease))
        .await
        .unwrap();
    outpost_test_support::queue_suite::held_messages_are_kept_then_handed_back(&q, lease).await;
}

/// SQS unreachable for a while, with a consumer that resubscribes on every receive error (as
/// the services' consumers do): once it is back, every message published then arrives. A long
/// poll that was in flight when the connection dropped may still take messages on the server
/// and lose its answer (SQS and moto alike); those come back after the visibility timeout, so
/// the bound is that timeout, not sooner.
#[tokio::test]
async fn after_an_outage_every_message_arrives_within_the_visibility_timeout() {
    use outpost_test_support::tcp_proxy::TcpProxy;
    use std::net::ToSocketAddrs;
    let name = name("outage");
    let direct = settings(&name, Duration::from_secs(8));
    let target = direct
        .endpoint
        .clone()
        .unwrap()
        .trim_start_matches("http://")
        .to_socket_addrs()
        .unwrap()
        .next()
        .unwrap();
    let proxy = TcpProxy::start(target).await;
    let mut via = direct.clone();
    via.endpoint = Some(format!("http://{}", proxy.addr));
    let publisher = SqsQueue::connect(direct).await.unwrap();
    let consumer = SqsQueue::connect(via).await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        loop {
            let mut sub = consumer.subscribe(100).await.unwrap();
            while let Some(m) = sub.next().await {
                match m {
                    Ok(m) => {
                        let _ = tx.send(m.body.clone());
                        let _ = m.ack().await;
                    }
                    Err(_) => break,
                }
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxy.cut();
    tokio::time::sleep(Duration::from_secs(4)).await;
    proxy.restore();
    let back = std::time::Instant::now();
    let bodies: Vec<Vec<u8>> = (0..20).map(|i| format!("after-{i}").into_bytes()).collect();
    publisher.publish(bodies).await.unwrap();
    let mut got = std::collections::BTreeSet::new();
    while got.len() < 20 {
        let b = tokio::time::timeout(Duration::from_secs(25), rx.recv())
            .await
            .unwrap_or_else(|_| panic!("only {} of 20 after the outage: {got:?}", got.len()))
            .unwrap();
        got.insert(b);
    }
    // The visibility timeout (8 s) and a long poll (10 s) at most, and some slack.
    assert!(
        back.elapsed() < Duration::from_secs(25),
        "took {:?}",
        back.elapsed()
    );
    task.abort();
}
