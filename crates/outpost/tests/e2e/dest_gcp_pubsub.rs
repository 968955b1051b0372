//! `gcp_pubsub` destinations against Google's pstest fake (`scripts/stand-ins.sh start-pstest`,
//! address `TEST_GCP_PUBSUB_EMULATOR_HOST`, default `127.0.0.1:8085`): the message pulled back
//! from a subscription of the destination's topic, and the failure classes.

use crate::destinations::{DestHarness, assert_metadata};
use gcloud_gax::conn::Environment;
use gcloud_pubsub::client::{Client, ClientConfig};
use gcloud_pubsub::subscriber::ReceivedMessage;
use gcloud_pubsub::subscription::{Subscription, SubscriptionConfig};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const PROJECT: &str = "outpost-e2e";

fn emulator() -> String {
    outpost_test_support::service_addr("TEST_GCP_PUBSUB_EMULATOR_HOST", "127.0.0.1:8085")
}

/// A client of the emulator; fails the test when it is not running.
async fn admin() -> Client {
    let host = emulator();
    let config = ClientConfig {
        project_id: Some(PROJECT.into()),
        environment: Environment::Emulator(host.clone()),
        ..Default::default()
    };
    Client::new(config).await.unwrap_or_else(|e| {
        panic!("pstest is not reachable at {host} (scripts/stand-ins.sh start-pstest): {e}")
    })
}

/// A new topic with one subscription.
async fn topic_with_subscription(admin: &Client) -> (String, Subscription) {
    let topic = outpost_test_support::unique("outpost-dest");
    admin.create_topic(&topic, None, None).await.unwrap();
    let sub = admin
        .create_subscription(
            &format!("{topic}-sub"),
            &topic,
            SubscriptionConfig {
                ack_deadline_seconds: 10,
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    (topic, sub)
}

async fn pull_one(sub: &Subscription) -> ReceivedMessage {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut msgs = sub.pull(10, None).await.unwrap();
        if let Some(m) = msgs.pop() {
            assert!(msgs.is_empty(), "one message expected");
            return m;
        }
        assert!(Instant::now() < deadline, "no message on {}", sub.id());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn pubsub_dest(endpoint: &str, topic: &str, event_topic: &str) -> Value {
    json!({
        "type": "gcp_pubsub",
        "topics": [event_topic],
        "config": {"project_id": PROJECT, "topic": topic, "endpoint": endpoint},
        // Required by the type's metadata; ignored with an emulator endpoint (as upstream).
        "credentials": {"service_account_json": "{}"},
    })
}

#[tokio::test]
async fn gcp_pubsub_destination_publishes_data_with_metadata_attributes() {
    let admin = admin().await;
    let (topic, sub) = topic_with_subscription(&admin).await;
    let h = DestHarness::start(&[]).await;
    let d = h
        .create(pubsub_dest(
            &format!("http://{}", emulator()),
            &topic,
            "user.created",
        ))
        .await;
    assert_eq!(d["target"], json!(format!("{PROJECT}/{topic}")), "{d}");
    let data = r#"{"name":"ünïcode ✓","n":1.50}"#;
    let md = json!({"source": "e2e"});
    let id = h.publish("user.created", data, md.clone()).await;
    let m = pull_one(&sub).await;
    assert_eq!(std::str::from_utf8(&m.message.data).unwrap(), data);
    let attrs = serde_json::to_value(&m.message.attributes).unwrap();
    assert_metadata(&attrs, &id, "user.created", &md);
    m.ack().await.unwrap();
    let a = h.attempt(&id, 1).await;
    assert_eq!(
        (a["status"].as_str(), a["code"].as_str()),
        (Some("success"), Some("OK")),
        "{a}"
    );
    assert_eq!(
        a["response_data"],
        json!({"message_id": m.message.message_id, "topic": topic, "project": PROJECT}),
        "{a}"
    );
    // A second event reuses the cached connection.
    let id2 = h.publish("user.created", r#"{"n":2}"#, json!({})).await;
    let m2 = pull_one(&sub).await;
    assert_eq!(m2.message.attributes["event-id"], id2);
    m2.ack().await.unwrap();
    assert!(h.server.stop().success());
    sub.delete(None).await.unwrap();
    admin.topic(&topic).delete(None).await.unwrap();
}

#[tokio::test]
async fn gcp_pubsub_failures_have_their_attempt_codes() {
    let _admin = admin().await;
    let h = DestHarness::start(&[]).await;
    let missing = outpost_test_support::unique("outpost-missing");
    let closed = format!("http://127.0.0.1:{}", crate::common::free_port());
    h.create(pubsub_dest(
        &format!("http://{}", emulator()),
        &missing,
        "t.missing",
    ))
    .await;
    h.create(pubsub_dest(&closed, "any", "t.closed")).await;
    for (topic, code, needle) in [
        ("t.missing", "ERR", missing.as_str()),
        ("t.closed", "connection_refused", "127.0.0.1"),
    ] {
        let id = h.publish(topic, r#"{"x":1}"#, json!({})).await;
        let a = h.attempt(&id, 1).await;
        assert_eq!(a["status"], "failed", "{topic}: {a}");
        assert_eq!(a["code"], code, "{topic}: {a}");
        let err = a["response_data"]["error"].as_str().unwrap_or_default();
        assert!(err.contains(needle), "{topic}: error names {needle}: {a}");
        // Failed attempts are retried as configured (one retry).
        let retry = h.attempt(&id, 2).await;
        assert_eq!(retry["code"], code, "{topic} retry: {retry}");
    }
    assert!(h.server.stop().success());
}
