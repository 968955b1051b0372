//! The Pub/Sub queue against Google's pstest fake (`scripts/stand-ins.sh`;
//! `TEST_GCP_PUBSUB_EMULATOR_HOST`, default 127.0.0.1:8085): the queue port's conformance suite,
//! provisioning with a dead-letter policy, the existence check without provisioning, ack
//! deadlines kept while a message is held, and a held message coming back once its holder is
//! gone.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gcloud_googleapis::pubsub::v1::GetSubscriptionRequest;
use gcloud_googleapis::pubsub::v1::subscriber_client::SubscriberClient;
use outpost_core::ports::QueueError;
use outpost_mq_pubsub::{PubSubQueue, PubSubSettings};
use std::time::Duration;

fn emulator() -> String {
    outpost_test_support::service_addr("TEST_GCP_PUBSUB_EMULATOR_HOST", "127.0.0.1:8085")
}

fn settings(what: &str, deadline: Duration) -> PubSubSettings {
    let id = format!("outpost-test-{what}-{}", uuid::Uuid::new_v4().simple());
    PubSubSettings {
        project: "outpost-test".into(),
        emulator: Some(emulator()),
        credentials_json: None,
        topic: id.clone(),
        subscription: format!("{id}-sub"),
        dead_letter: Some((format!("{id}-dlq"), format!("{id}-dlq-sub"))),
        auto_provision: true,
        ack_deadline: deadline,
        max_delivery_attempts: 6,
    }
}

#[tokio::test]
async fn pubsub_queue_conforms() {
    let q = PubSubQueue::connect(settings("conf", Duration::from_secs(30)))
        .await
        .unwrap();
    outpost_test_support::queue_suite::run(&q).await;
}

#[tokio::test]
async fn provisioning_sets_deadline_and_dead_letter_policy_and_is_repeatable() {
    let s = settings("prov", Duration::from_secs(45));
    let q = PubSubQueue::connect(s.clone()).await.unwrap();
    // Connecting again (another replica, or a restart) finds them and keeps them.
    let mut again = s.clone();
    again.ack_deadline = Duration::from_secs(50);
    PubSubQueue::connect(again).await.unwrap();
    let channel = tonic_channel().await;
    let sub = SubscriberClient::new(channel)
        .get_subscription(GetSubscriptionRequest {
            subscription: q.subscription().to_string(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(sub.topic, q.topic());
    assert_eq!(sub.ack_deadline_seconds, 50, "brought up to date");
    // pstest (v0.56) keeps no dead-letter or retry policy, so those are checked on the request
    // (a unit test of `subscription_spec`); the dead-letter topic and its subscription exist.
    let dlq_sub = SubscriberClient::new(tonic_channel().await)
        .get_subscription(GetSubscriptionRequest {
            subscription: format!("projects/outpost-test/subscriptions/{}-dlq-sub", s.topic),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        dlq_sub.topic,
        format!("projects/outpost-test/topics/{}-dlq", s.topic)
    );
}

async fn tonic_channel() -> gcloud_gax::grpc::transport::Channel {
    gcloud_gax::grpc::transport::Endpoint::from_shared(format!("http://{}", emulator()))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

#[tokio::test]
async fn without_provisioning_a_missing_topic_is_a_clear_error() {
    let mut s = settings("missing", Duration::from_secs(30));
    s.auto_provision = false;
    match PubSubQueue::connect(s.clone()).await {
        Err(QueueError::Missing(m)) => {
            assert!(m.contains("MQS_AUTO_PROVISION"), "{m}");
            assert!(m.contains(&s.topic), "{m}");
        }
        other => panic!("expected Missing, got {other:?}"),
    }
    // Provisioned once, the check passes.
    let mut p = s.clone();
    p.auto_provision = true;
    PubSubQueue::connect(p).await.unwrap();
    PubSubQueue::connect(s).await.unwrap();
}

/// Ack deadlines are extended while a message is held, and a dropped one comes back at once.
#[tokio::test]
async fn held_messages_stay_leased_and_come_back_when_abandoned() {
    let lease = Duration::from_secs(10);
    let q = PubSubQueue::connect(settings("lease", lease))
        .await
        .unwrap();
    outpost_test_support::queue_suite::held_messages_are_kept_then_handed_back(&q, lease).await;
}
