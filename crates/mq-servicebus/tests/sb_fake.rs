//! The Service Bus queue against the project's Service Bus fake (`scripts/stand-ins.sh
//! start-servicebus`: AMQP on `TEST_AZURE_SERVICEBUS_HOST`:5672, default 127.0.0.2, control API
//! on `TEST_AZURE_SERVICEBUS_CONTROL`, default http://127.0.0.2:5673): the queue port's
//! conformance suite, missing entities as clear errors, locks renewed while a message is held,
//! a held message coming back once its holder is gone, and dead-lettering after the
//! subscription's max delivery count.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use outpost_core::ports::{Queue, QueueError};
use outpost_mq_servicebus::{ServiceBusQueue, ServiceBusSettings};
use std::time::Duration;

fn host() -> String {
    outpost_test_support::service_addr("TEST_AZURE_SERVICEBUS_HOST", "127.0.0.2")
}

fn control() -> String {
    outpost_test_support::service_addr("TEST_AZURE_SERVICEBUS_CONTROL", "http://127.0.0.2:5673")
}

fn connection_string() -> String {
    format!(
        "Endpoint=sb://{};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true",
        host()
    )
}

/// Creates a topic with one subscription on the fake; returns the settings that use them.
async fn entities(what: &str, lock_seconds: u32, max_delivery_count: u32) -> ServiceBusSettings {
    let topic = format!("outpost-test-{what}-{}", uuid::Uuid::new_v4().simple());
    let url = format!(
        "{}/entities/{topic}/subscriptions/sub?lock_seconds={lock_seconds}&max_delivery_count={max_delivery_count}",
        control()
    );
    let r = reqwest::Client::new()
        .put(&url)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!("the Service Bus fake is not reachable at {url} (scripts/stand-ins.sh start-servicebus): {e}")
        });
    assert!(r.status().is_success(), "create {url}: {}", r.status());
    ServiceBusSettings {
        connection_string: connection_string(),
        topic,
        subscription: "sub".into(),
        provision: None,
    }
}

#[tokio::test]
async fn servicebus_queue_conforms() {
    let q = ServiceBusQueue::connect(entities("conf", 60, 10).await)
        .await
        .unwrap();
    outpost_test_support::queue_suite::run(&q).await;
}

#[tokio::test]
async fn missing_topic_or_subscription_is_a_clear_error() {
    let mut s = entities("missing", 60, 10).await;
    s.subscription = "nope".into();
    match ServiceBusQueue::connect(s.clone()).await {
        Err(QueueError::Missing(m)) => assert!(m.contains("nope"), "{m}"),
        other => panic!("expected Missing, got {other:?}"),
    }
    s.topic = format!("{}-absent", s.topic);
    match ServiceBusQueue::connect(s.clone()).await {
        Err(QueueError::Missing(m)) => assert!(m.contains(&s.topic), "{m}"),
        other => panic!("expected Missing, got {other:?}"),
    }
}

/// Locks are renewed while a message is held, and a dropped one comes back at once.
#[tokio::test]
async fn held_messages_stay_locked_and_come_back_when_abandoned() {
    let q = ServiceBusQueue::connect(entities("lock", 3, 10).await)
        .await
        .unwrap();
    outpost_test_support::queue_suite::held_messages_are_kept_then_handed_back(
        &q,
        Duration::from_secs(3),
    )
    .await;
}

/// A message nacked max-delivery-count times is dead-lettered by the broker, not redelivered.
#[tokio::test]
async fn poison_messages_are_dead_lettered_after_the_max_delivery_count() {
    let s = entities("poison", 60, 3).await;
    let q = ServiceBusQueue::connect(s.clone()).await.unwrap();
    q.publish(vec![b"poison".to_vec()]).await.unwrap();
    let mut sub = q.subscribe(2).await.unwrap();
    for n in 0..3 {
        let m = tokio::time::timeout(Duration::from_secs(10), sub.next())
            .await
            .unwrap_or_else(|_| panic!("delivery {n}"))
            .unwrap()
            .unwrap();
        assert_eq!(m.redeliveries, n);
        m.nack().await.unwrap();
    }
    assert!(
        tokio::time::timeout(Duration::from_secs(2), sub.next())
            .await
            .is_err(),
        "redelivered past the max delivery count"
    );
    let url = format!(
        "{}/entities/{}/subscriptions/sub/$deadletterqueue/messages",
        control(),
        s.topic
    );
    let dead: serde_json::Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
    assert_eq!(dead.as_array().map(Vec::len), Some(1), "{dead}");
    assert_eq!(dead[0]["body"], "poison");
}

/// With provisioning, the topic and subscription are created through the management API with
/// the lock duration and max delivery count asked for; connecting again updates them.
#[tokio::test]
async fn provisioning_creates_and_updates_topic_and_subscription() {
    let topic = format!("outpost-test-prov-{}", uuid::Uuid::new_v4().simple());
    let mut s = ServiceBusSettings {
        connection_string: connection_string(),
        topic: topic.clone(),
        subscription: "sub".into(),
        provision: Some(outpost_mq_servicebus::Provision {
            lock: Duration::from_secs(7),
            max_delivery_count: 4,
        }),
    };
    let q = ServiceBusQueue::connect(s.clone()).await.unwrap();
    let url = format!("{}/entities/{topic}/subscriptions/sub", control());
    let got: serde_json::Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
    assert_eq!(got["lock_seconds"].as_f64(), Some(7.0), "{got}");
    assert_eq!(got["max_delivery_count"], 4, "{got}");
    q.publish(vec![b"provisioned".to_vec()]).await.unwrap();
    let mut sub = q.subscribe(1).await.unwrap();
    let m = tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(m.body, b"provisioned");
    m.ack().await.unwrap();
    // Another start with other settings brings the subscription up to date.
    s.provision = Some(outpost_mq_servicebus::Provision {
        lock: Duration::from_secs(12),
        max_delivery_count: 6,
    });
    ServiceBusQueue::connect(s).await.unwrap();
    let got: serde_json::Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
    assert_eq!(got["lock_seconds"].as_f64(), Some(12.0), "{got}");
    assert_eq!(got["max_delivery_count"], 6, "{got}");
}

/// A management request signed with the wrong key is refused, and the start says why.
#[tokio::test]
async fn provisioning_with_a_wrong_key_is_a_clear_error() {
    let s = ServiceBusSettings {
        connection_string: connection_string().replace("SAS_KEY_VALUE", "wrong"),
        topic: format!("outpost-test-badkey-{}", uuid::Uuid::new_v4().simple()),
        subscription: "sub".into(),
        provision: Some(outpost_mq_servicebus::Provision {
            lock: Duration::from_secs(30),
            max_delivery_count: 6,
        }),
    };
    match ServiceBusQueue::connect(s).await {
        Err(QueueError::Broker(m)) => assert!(m.contains("401"), "{m}"),
        other => panic!("expected a 401, got {other:?}"),
    }
}
