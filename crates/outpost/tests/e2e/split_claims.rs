//! Delivery idempotency claims across delivery services: a claim lives as long as its
//! delivery, so a copy of the task handed to another service meanwhile is not sent alongside.

use crate::api::Api;
use crate::split::{internal_mq, split_env, start_service, through_proxy};
use crate::split_faults::logged_attempts;
use outpost_test_support::receiver::{Receiver, Reply};
use outpost_test_support::tcp_proxy::TcpProxy;
use serde_json::json;
use std::time::Duration;

/// A delivery that takes longer than the claim's 5 s TTL, whose message RabbitMQ hands to a
/// second delivery service meanwhile (the first one's broker connection dropped): the first
/// keeps renewing its claim, the second waits for it and sends nothing, and the attempt is
/// logged once. With a fixed 5 s claim the second sent the event again after 5 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_handed_to_another_service_during_a_long_delivery_is_not_sent() {
    if internal_mq() != "rabbitmq" {
        eprintln!(
            "SKIP a_copy_handed_to_another_service_during_a_long_delivery_is_not_sent: it drops a RabbitMQ connection (TEST_INTERNAL_MQ={})",
            internal_mq()
        );
        return;
    }
    let mut env = split_env();
    env.push(("DELIVERY_TIMEOUT_SECONDS", "30".to_string()));
    let rx = Receiver::start().await;
    rx.script([Reply::Hang(Duration::from_secs(9))]);
    let api_srv = start_service(&env, "api").await;
    let log_srv = start_service(&env, "log").await;
    // The first delivery service reaches RabbitMQ through a proxy the test cuts.
    let direct = env
        .iter()
        .find(|(k, _)| *k == "RABBITMQ_SERVER_URL")
        .map(|(_, v)| v.clone())
        .unwrap();
    let broker = direct
        .split('@')
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .to_string();
    let proxy = TcpProxy::start(broker.parse().unwrap()).await;
    let proxied = through_proxy(&env, "RABBITMQ_SERVER_URL", &broker, &proxy);
    let first = start_service(&proxied, "delivery").await;
    let api = Api::new(&api_srv.base);
    api.tenant("t").await;
    api.webhook("t", &format!("{}/h", rx.base), json!(["*"]), json!({}))
        .await;
    assert_eq!(
        api.publish_raw(r#"{"id":"long-1","tenant_id":"t","topic":"x","data":{}}"#)
            .await
            .0,
        202
    );
    rx.wait_for("/h", 1, Duration::from_secs(10)).await;
    let sent = std::time::Instant::now();
    // A second delivery service; then the first one's broker connection drops, and RabbitMQ
    // hands the unacknowledged message to the second while the first is still sending.
    let second = start_service(&env, "delivery").await;
    proxy.cut();
    tokio::time::sleep(Duration::from_secs(1)).await;
    proxy.restore();
    // The first send answers 9 s after it began; give a copy time to go out after that.
    tokio::time::sleep(Duration::from_secs(12).saturating_sub(sent.elapsed())).await;
    assert_eq!(
        rx.on("/h").len(),
        1,
        "the copy was sent alongside the delivery in flight"
    );
    let ids = logged_attempts(&api, 1, Duration::from_secs(30)).await;
    assert_eq!(ids.len(), 1, "one attempt logged: {ids:?}");
    for s in [first, second, api_srv, log_srv] {
        assert!(s.stop().success());
    }
}
