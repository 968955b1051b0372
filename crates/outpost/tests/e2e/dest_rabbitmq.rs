//! `rabbitmq` destinations against the local RabbitMQ: the message read back from a queue bound
//! to the destination's exchange, the failure classes, and signed envelopes.

use crate::destinations::{DestHarness, assert_metadata};
use lapin::options::{ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};
use outpost_test_support::rabbit::{TopologyGuard, get_one};
use serde_json::{Value, json};
use std::time::Duration;

/// The broker URL, and the `host:port`, user and password a destination names.
fn broker() -> (String, String, String, String) {
    let url = outpost_test_support::service_addr(
        "TEST_RABBITMQ_URL",
        "amqp://guest:guest@127.0.0.1:5672/%2f",
    );
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(&url);
    let (auth, host) = rest.split_once('@').unwrap_or(("guest:guest", rest));
    let host = host.split('/').next().unwrap_or(host).to_string();
    let (user, pass) = auth.split_once(':').unwrap_or((auth, ""));
    (url.clone(), host, user.to_string(), pass.to_string())
}

/// A unique topic exchange with a queue bound to it by `#`; deleted when the guard drops.
async fn exchange_with_queue() -> (Channel, String, String, TopologyGuard) {
    let (url, ..) = broker();
    let exchange = outpost_test_support::unique("outpost_test_dest_x");
    let queue = outpost_test_support::unique("outpost_test_dest_q");
    let guard = TopologyGuard::new(&url, vec![exchange.clone()], vec![queue.clone()]);
    let conn = Connection::connect(&url, ConnectionProperties::default())
        .await
        .expect("connect to the local RabbitMQ (set TEST_RABBITMQ_URL)");
    let ch = conn.create_channel().await.unwrap();
    ch.exchange_declare(
        exchange.as_str().into(),
        ExchangeKind::Topic,
        ExchangeDeclareOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    ch.queue_declare(
        queue.as_str().into(),
        QueueDeclareOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    ch.queue_bind(
        queue.as_str().into(),
        exchange.as_str().into(),
        "#".into(),
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await
    .unwrap();
    (ch, exchange, queue, guard)
}

/// AMQP headers as a JSON object of strings.
fn headers_json(props: &lapin::BasicProperties) -> Value {
    let mut out = serde_json::Map::new();
    for (k, v) in props.headers().as_ref().unwrap().inner() {
        let s = match v {
            AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
            other => format!("{other:?}"),
        };
        out.insert(k.to_string(), Value::String(s));
    }
    Value::Object(out)
}

fn rabbit_dest(host: &str, exchange: &str, user: &str, pass: &str, topic: &str) -> Value {
    json!({
        "type": "rabbitmq",
        "topics": [topic],
        "config": {"server_url": host, "exchange": exchange},
        "credentials": {"username": user, "password": pass},
    })
}

#[tokio::test]
async fn rabbitmq_destination_publishes_with_topic_key_and_metadata_headers() {
    let (ch, exchange, queue, _guard) = exchange_with_queue().await;
    let (_, host, user, pass) = broker();
    let h = DestHarness::start(&[]).await;
    let d = h
        .create(rabbit_dest(&host, &exchange, &user, &pass, "user.created"))
        .await;
    assert_eq!(d["config"]["tls"], "false", "tls normalised: {d}");
    let data = r#"{"name":"ünïcode ✓","n":1.50}"#;
    let md = json!({"source": "e2e"});
    let id = h.publish("user.created", data, md.clone()).await;
    let msg = get_one(&ch, &queue, Duration::from_secs(20)).await;
    assert_eq!(std::str::from_utf8(&msg.delivery.data).unwrap(), data);
    assert_eq!(msg.delivery.routing_key.as_str(), "user.created");
    let props = &msg.delivery.properties;
    assert_eq!(
        props.content_type().as_ref().map(|c| c.as_str()),
        Some("application/json")
    );
    assert_metadata(&headers_json(props), &id, "user.created", &md);
    let a = h.attempt(&id, 1).await;
    assert_eq!(
        (a["status"].as_str(), a["code"].as_str()),
        (Some("success"), Some("OK")),
        "{a}"
    );
    assert_eq!(a["response_data"], json!({}), "{a}");
    assert!(h.server.stop().success());
}

#[tokio::test]
async fn rabbitmq_failures_have_their_attempt_codes() {
    let (_ch, exchange, _queue, _guard) = exchange_with_queue().await;
    let (_, host, user, pass) = broker();
    let h = DestHarness::start(&[]).await;
    let missing = outpost_test_support::unique("outpost_test_missing_x");
    let closed = format!("127.0.0.1:{}", crate::common::free_port());
    for (topic, dest) in [
        (
            "t.missing",
            rabbit_dest(&host, &missing, &user, &pass, "t.missing"),
        ),
        (
            "t.auth",
            rabbit_dest(&host, &exchange, &user, "wrong-password", "t.auth"),
        ),
        (
            "t.closed",
            rabbit_dest(&closed, &exchange, &user, &pass, "t.closed"),
        ),
    ] {
        let _ = h.create(dest).await;
        let _ = topic;
    }
    for (topic, code) in [
        ("t.missing", "exchange_not_found"),
        ("t.auth", "auth_failed"),
        ("t.closed", "connection_refused"),
    ] {
        let id = h.publish(topic, r#"{"x":1}"#, json!({})).await;
        let a = h.attempt(&id, 1).await;
        assert_eq!(a["status"], "failed", "{topic}: {a}");
        assert_eq!(a["code"], code, "{topic}: {a}");
        assert!(
            a["response_data"]["error"]
                .as_str()
                .is_some_and(|e| !e.is_empty()),
            "{topic}: {a}"
        );
        // Failed attempts are retried as configured (RETRY_MAX_LIMIT=1: one retry).
        let retry = h.attempt(&id, 2).await;
        assert_eq!(retry["code"], code, "{topic} retry: {retry}");
    }
    assert!(h.server.stop().success());
}

#[tokio::test]
async fn rabbitmq_signed_envelope_verifies() {
    use hmac::{Hmac, Mac};
    let (ch, exchange, queue, _guard) = exchange_with_queue().await;
    let (_, host, user, pass) = broker();
    let h = DestHarness::start(&[("DESTINATIONS_QUEUE_SIGNING_SECRET", "qsecret")]).await;
    h.create(rabbit_dest(&host, &exchange, &user, &pass, "signed"))
        .await;
    let data = r#"{"amount":10}"#;
    let id = h.publish("signed", data, json!({})).await;
    let msg = get_one(&ch, &queue, Duration::from_secs(20)).await;
    let hd = headers_json(&msg.delivery.properties);
    let ts = hd["signature-timestamp"].as_str().unwrap();
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"qsecret").unwrap();
    mac.update(format!("{id}.{ts}.{data}").as_bytes());
    let want = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(hd["signature"], json!(want), "{hd}");
    assert_eq!(hd["event-id"], json!(id));
    assert!(h.server.stop().success());
}

#[tokio::test]
async fn queue_destinations_that_never_answer_time_out_and_retry() {
    // A listener that accepts connections (the kernel's backlog does) but never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let h = DestHarness::start(&[("DELIVERY_TIMEOUT_SECONDS", "1")]).await;
    h.create(json!({
        "type": "rabbitmq", "topics": ["t.rabbit"],
        "config": {"server_url": addr, "exchange": "x"},
        "credentials": {"username": "u", "password": "p"},
    }))
    .await;
    h.create(json!({
        "type": "kafka", "topics": ["t.kafka"],
        "config": {"brokers": addr, "topic": "events"},
    }))
    .await;
    for topic in ["t.rabbit", "t.kafka"] {
        let id = h.publish(topic, r#"{"x":1}"#, json!({})).await;
        for n in 1..=2 {
            let a = h.attempt(&id, n).await;
            assert_eq!(
                (a["status"].as_str(), a["code"].as_str()),
                (Some("failed"), Some("timeout")),
                "{topic} attempt {n}: {a}"
            );
        }
    }
    drop(silent);
    assert!(h.server.stop().success());
}
