//! The operator event sinks and the emitter against real receivers: the HTTP sink against a
//! local axum receiver, the RabbitMQ sink against the local broker (`TEST_RABBITMQ_URL`, default
//! `amqp://guest:guest@127.0.0.1:5672/%2f`), each RabbitMQ test on its own exchange and queue,
//! deleted at the end.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use hmac::{Hmac, Mac};
use outpost_config::OperatorEventsConfig;
use outpost_core::ids::IdGen;
use outpost_opevents::sinks::{HttpSink, RabbitSink};
use outpost_opevents::{Emitter, OperatorEvent, Sink, SinkError, TopicFilter};
use outpost_test_support::receiver::{Receiver, Reply};
use serde_json::json;
use sha2::Sha256;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn event(topic: &str) -> OperatorEvent {
    OperatorEvent {
        id: "evt_123".into(),
        topic: topic.into(),
        time: outpost_core::time::now_ms(),
        deployment_id: Some("dep_1".into()),
        tenant_id: Some("tenant_1".into()),
        data: json!({"tenant_id": "tenant_1", "n": 1, "s": "é\"x"}),
    }
}

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn emitter(sink: Arc<dyn Sink>, topics: &str) -> Emitter {
    Emitter::new(
        Some(sink),
        TopicFilter::parse(topics).unwrap(),
        Some("dep_1".into()),
        IdGen::default(),
    )
}

// ---------------------------------------------------------------- HTTP sink

#[tokio::test]
async fn http_sink_posts_exact_envelope_with_verifiable_signature() {
    let rx = Receiver::start().await;
    let sink = HttpSink::new(format!("{}/hook", rx.base), Some("s3cret".into())).unwrap();
    let ev = event("attempt.failed");
    let body = serde_json::to_vec(&ev).unwrap();
    sink.send(&ev, &body).await.unwrap();

    let got = rx.on("/hook");
    assert_eq!(got.len(), 1);
    let req = &got[0];
    assert_eq!(req.body, body, "the body is the exact envelope");
    assert_eq!(req.header("content-type"), Some("application/json"));
    let expected = format!("v0={}", hmac_hex("s3cret", &body));
    assert_eq!(req.header("x-outpost-signature"), Some(expected.as_str()));
    assert_eq!(
        outpost_opevents::sinks::http::signature("s3cret", &body),
        expected
    );
    let v: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(v["id"], "evt_123");
    assert_eq!(v["topic"], "attempt.failed");
    assert_eq!(v["deployment_id"], "dep_1");
    assert_eq!(v["tenant_id"], "tenant_1");
    assert_eq!(v["data"]["s"], "é\"x");
    assert!(v["time"].is_string());
}

#[tokio::test]
async fn http_sink_without_secret_sends_no_signature() {
    let rx = Receiver::start().await;
    for secret in [None, Some(String::new())] {
        let sink = HttpSink::new(format!("{}/plain", rx.base), secret).unwrap();
        let ev = event("attempt.success");
        let body = serde_json::to_vec(&ev).unwrap();
        sink.send(&ev, &body).await.unwrap();
    }
    let got = rx.on("/plain");
    assert_eq!(got.len(), 2);
    for req in got {
        assert_eq!(req.header("x-outpost-signature"), None);
        assert_eq!(req.header("content-type"), Some("application/json"));
    }
}

#[tokio::test]
async fn http_sink_error_status_fails_with_status_and_body() {
    let rx = Receiver::start().await;
    rx.script([
        Reply::Status(500, "boom: database down".into()),
        Reply::Status(404, "no such hook".into()),
        Reply::Status(302, String::new()),
    ]);
    let sink = HttpSink::new(format!("{}/err", rx.base), None).unwrap();
    let ev = event("attempt.failed");
    let body = serde_json::to_vec(&ev).unwrap();

    let err = sink.send(&ev, &body).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, SinkError::Failed { sink: "http", .. }),
        "{err:?}"
    );
    assert!(
        msg.contains("500") && msg.contains("boom: database down"),
        "{msg}"
    );

    let msg = sink.send(&ev, &body).await.unwrap_err().to_string();
    assert!(msg.contains("404") && msg.contains("no such hook"), "{msg}");

    // A 302 without Location is below 400: a success.
    sink.send(&ev, &body).await.unwrap();
}

#[tokio::test]
async fn http_sink_transport_error_fails() {
    // A port that was just free: nothing listens on it.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let sink = HttpSink::new(format!("http://127.0.0.1:{port}/x"), None).unwrap();
    let ev = event("attempt.failed");
    let err = sink.send(&ev, b"{}").await.unwrap_err();
    assert!(
        matches!(err, SinkError::Failed { sink: "http", .. }),
        "{err:?}"
    );
}

// ---------------------------------------------------------------- emitter

#[tokio::test]
async fn emitter_retries_until_success() {
    let rx = Receiver::start().await;
    rx.script([
        Reply::Status(500, "first".into()),
        Reply::Status(503, "second".into()),
    ]);
    let sink = Arc::new(HttpSink::new(format!("{}/r", rx.base), Some("k".into())).unwrap());
    let em = emitter(sink, "*");
    let started = Instant::now();
    em.emit("attempt.success", Some("tenant_1"), json!({"a": 1}))
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "backoff 100 + 200 ms"
    );
    let got = rx.on("/r");
    assert_eq!(got.len(), 3, "two failures then one success");
    // Every try sends the same envelope (same id), correctly signed.
    for req in &got {
        assert_eq!(req.body, got[0].body);
        let sig = format!("v0={}", hmac_hex("k", &req.body));
        assert_eq!(req.header("x-outpost-signature"), Some(sig.as_str()));
    }
    let v: serde_json::Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(v["topic"], "attempt.success");
    assert_eq!(v["tenant_id"], "tenant_1");
    assert_eq!(v["deployment_id"], "dep_1");
    assert_eq!(v["data"], json!({"a": 1}));
    assert!(!v["id"].as_str().unwrap().is_empty());
}

#[tokio::test]
async fn emitter_fails_after_three_tries() {
    let rx = Receiver::start().await;
    rx.script([
        Reply::Status(500, "1".into()),
        Reply::Status(500, "2".into()),
        Reply::Status(500, "3".into()),
    ]);
    let sink = Arc::new(HttpSink::new(format!("{}/f", rx.base), None).unwrap());
    let em = emitter(sink, "*");
    let err = em
        .emit("attempt.failed", None, json!({}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("500"), "{err}");
    assert_eq!(rx.on("/f").len(), 3);
}

#[tokio::test]
async fn emitter_respects_topic_filter() {
    let rx = Receiver::start().await;
    let sink = Arc::new(HttpSink::new(format!("{}/t", rx.base), None).unwrap());
    let em = emitter(sink, "attempt.failed, alert.destination.disabled");
    assert!(em.enabled("attempt.failed"));
    assert!(!em.enabled("attempt.success"));
    em.emit("attempt.success", None, json!({})).await.unwrap();
    em.emit("tenant.subscription.updated", None, json!({}))
        .await
        .unwrap();
    assert!(rx.on("/t").is_empty(), "filtered topics are not sent");
    em.emit("attempt.failed", None, json!({})).await.unwrap();
    em.emit("alert.destination.disabled", None, json!({}))
        .await
        .unwrap();
    let topics: Vec<String> = rx
        .on("/t")
        .iter()
        .map(|r| {
            serde_json::from_slice::<serde_json::Value>(&r.body).unwrap()["topic"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(topics, ["attempt.failed", "alert.destination.disabled"]);

    // An empty filter sends nothing.
    let sink = Arc::new(HttpSink::new(format!("{}/none", rx.base), None).unwrap());
    let em = emitter(sink, "");
    em.emit("attempt.failed", None, json!({})).await.unwrap();
    assert!(rx.on("/none").is_empty());
}

// ---------------------------------------------------------------- build / selected

struct FakeCloud(&'static str);

#[async_trait::async_trait]
impl Sink for FakeCloud {
    async fn send(&self, _event: &OperatorEvent, _body: &[u8]) -> Result<(), SinkError> {
        Ok(())
    }
    fn name(&self) -> &'static str {
        self.0
    }
}

#[test]
fn selected_follows_upstream_order() {
    let mut cfg = OperatorEventsConfig::default();
    assert_eq!(outpost_opevents::selected(&cfg), None);
    cfg.rabbitmq_server_url = Some("amqp://x".into());
    assert_eq!(outpost_opevents::selected(&cfg), Some("rabbitmq"));
    cfg.gcp_project_id = Some("proj".into());
    assert_eq!(outpost_opevents::selected(&cfg), Some("gcp_pubsub"));
    cfg.sqs_queue_url = Some("https://sqs/q".into());
    assert_eq!(outpost_opevents::selected(&cfg), Some("aws_sqs"));
    cfg.http_url = Some("http://h".into());
    assert_eq!(outpost_opevents::selected(&cfg), Some("http"));
    cfg.http_url = Some("  ".into());
    assert_eq!(outpost_opevents::selected(&cfg), Some("aws_sqs"));
}

#[test]
fn build_picks_the_sink() {
    let build = |cfg: &OperatorEventsConfig, cloud: Option<Arc<dyn Sink>>| {
        outpost_opevents::build(cfg, Some("dep".into()), IdGen::default(), cloud)
    };
    let mut cfg = OperatorEventsConfig {
        topics: "*".into(),
        ..OperatorEventsConfig::default()
    };
    let em = build(&cfg, None).unwrap();
    assert_eq!(em.sink_name(), None);
    assert!(!em.enabled("attempt.failed"));

    cfg.rabbitmq_server_url = Some("amqp://guest:guest@127.0.0.1:5672/%2f".into());
    cfg.rabbitmq_exchange = Some("ops".into());
    let em = build(&cfg, Some(Arc::new(FakeCloud("aws_sqs")))).unwrap();
    assert_eq!(
        em.sink_name(),
        Some("rabbitmq"),
        "cloud is ignored for rabbitmq"
    );

    cfg.gcp_project_id = Some("proj".into());
    let err = build(&cfg, None).err().unwrap();
    assert!(
        err.contains("OPERATOR_EVENTS_GCP_PUBSUB_PROJECT_ID"),
        "{err}"
    );
    let em = build(&cfg, Some(Arc::new(FakeCloud("gcp_pubsub")))).unwrap();
    assert_eq!(em.sink_name(), Some("gcp_pubsub"));

    cfg.sqs_queue_url = Some("https://sqs/q".into());
    let err = build(&cfg, None).err().unwrap();
    assert!(err.contains("OPERATOR_EVENTS_AWS_SQS_QUEUE_URL"), "{err}");
    let em = build(&cfg, Some(Arc::new(FakeCloud("aws_sqs")))).unwrap();
    assert_eq!(em.sink_name(), Some("aws_sqs"));

    cfg.http_url = Some("http://127.0.0.1:1/hook".into());
    let em = build(&cfg, None).unwrap();
    assert_eq!(em.sink_name(), Some("http"));
    assert!(em.enabled("attempt.failed"));

    cfg.topics = "attempt.failed,nope".into();
    let err = build(&cfg, None).err().unwrap();
    assert!(
        err.contains("OPERATOR_EVENTS_TOPICS") && err.contains("nope"),
        "{err}"
    );
}

#[tokio::test]
async fn built_http_emitter_delivers_signed_events() {
    let rx = Receiver::start().await;
    let cfg = OperatorEventsConfig {
        topics: "tenant.subscription.updated".into(),
        http_url: Some(format!("{}/built", rx.base)),
        http_signing_secret: Some("topsecret".into()),
        ..OperatorEventsConfig::default()
    };
    let em = outpost_opevents::build(&cfg, None, IdGen::default(), None).unwrap();
    em.emit(
        "tenant.subscription.updated",
        Some("t1"),
        json!({"topics": ["a"]}),
    )
    .await
    .unwrap();
    let got = rx.on("/built");
    assert_eq!(got.len(), 1);
    let sig = format!("v0={}", hmac_hex("topsecret", &got[0].body));
    assert_eq!(got[0].header("x-outpost-signature"), Some(sig.as_str()));
    let v: serde_json::Value = serde_json::from_slice(&got[0].body).unwrap();
    assert!(
        v.get("deployment_id").is_none(),
        "absent without DEPLOYMENT_ID"
    );
    assert_eq!(v["tenant_id"], "t1");
}

// ---------------------------------------------------------------- RabbitMQ sink

mod rabbitmq {
    use super::*;
    use lapin::options::{
        ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions, QueueDeclareOptions,
        QueueDeleteOptions,
    };
    use lapin::types::FieldTable;
    use lapin::{Channel, Connection, ConnectionProperties, ExchangeKind};
    use outpost_test_support::rabbit::get_one;
    use outpost_test_support::unique;
    use std::future::Future;

    fn url() -> String {
        outpost_test_support::service_addr(
            "TEST_RABBITMQ_URL",
            "amqp://guest:guest@127.0.0.1:5672/%2f",
        )
    }

    async fn raw_channel() -> (Connection, Channel) {
        let connection = Connection::connect(&url(), ConnectionProperties::default())
            .await
            .expect("connect to the local RabbitMQ (set TEST_RABBITMQ_URL)");
        let channel = connection.create_channel().await.unwrap();
        (connection, channel)
    }

    /// Declares a unique topic exchange and a queue bound to it with `#`, runs `body`, then
    /// deletes both even if `body` panicked.
    async fn with_exchange<F, Fut>(body: F)
    where
        F: FnOnce(String, String, Channel) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let exchange = unique("outpost_test_opevents_x");
        let queue = unique("outpost_test_opevents_q");
        let (connection, channel) = raw_channel().await;
        channel
            .exchange_declare(
                exchange.as_str().into(),
                ExchangeKind::Topic,
                ExchangeDeclareOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        channel
            .queue_declare(
                queue.as_str().into(),
                QueueDeclareOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        channel
            .queue_bind(
                queue.as_str().into(),
                exchange.as_str().into(),
                "#".into(),
                QueueBindOptions::default(),
                FieldTable::default(),
            )
            .await
            .unwrap();
        let outcome = tokio::spawn(body(exchange.clone(), queue.clone(), channel.clone())).await;
        // Cleanup on a fresh channel (the body may have closed the first one).
        let cleanup = connection.create_channel().await.unwrap();
        cleanup
            .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
            .await
            .unwrap();
        let _ = cleanup
            .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
            .await;
        let _ = connection.close(200, "OK".into()).await;
        if let Err(e) = outcome {
            std::panic::resume_unwind(e.into_panic());
        }
    }

    #[tokio::test]
    async fn rabbitmq_sink_publishes_envelope_with_topic_routing_key() {
        with_exchange(|exchange, queue, channel| async move {
            let sink = RabbitSink::new(url(), exchange.clone());
            assert_eq!(sink.exchange(), exchange);
            for topic in ["alert.destination.disabled", "attempt.success"] {
                let ev = event(topic);
                let body = serde_json::to_vec(&ev).unwrap();
                sink.send(&ev, &body).await.unwrap();
                let m = get_one(&channel, &queue, Duration::from_secs(5)).await;
                assert_eq!(m.delivery.data, body);
                assert_eq!(m.delivery.routing_key.as_str(), topic);
                assert_eq!(m.delivery.exchange.as_str(), exchange);
                let p = &m.delivery.properties;
                assert_eq!(*p.delivery_mode(), Some(2));
                assert_eq!(
                    p.content_type().as_ref().map(|c| c.as_str()),
                    Some("application/json")
                );
                assert_eq!(p.message_id().as_ref().map(|c| c.as_str()), Some("evt_123"));
            }
        })
        .await;
    }

    #[tokio::test]
    async fn rabbitmq_emitter_delivers_and_reconnects_after_connection_loss() {
        with_exchange(|exchange, queue, channel| async move {
            let sink = Arc::new(RabbitSink::new(url(), exchange));
            let em = emitter(sink.clone(), "*");
            em.emit("attempt.failed", Some("t1"), json!({"n": 1}))
                .await
                .unwrap();
            let m = get_one(&channel, &queue, Duration::from_secs(5)).await;
            assert_eq!(m.delivery.routing_key.as_str(), "attempt.failed");
            let v: serde_json::Value = serde_json::from_slice(&m.delivery.data).unwrap();
            assert_eq!(v["data"], json!({"n": 1}));

            sink.close_for_test().await;
            let ev = event("attempt.success");
            let body = serde_json::to_vec(&ev).unwrap();
            sink.send(&ev, &body)
                .await
                .expect("reconnects on the next send");
            let m = get_one(&channel, &queue, Duration::from_secs(5)).await;
            assert_eq!(m.delivery.data, body);
        })
        .await;
    }

    #[tokio::test]
    async fn rabbitmq_sink_missing_exchange_fails_naming_it() {
        let exchange = unique("outpost_test_opevents_missing");
        let sink = RabbitSink::new(url(), exchange.clone());
        let ev = event("attempt.failed");
        for _ in 0..2 {
            let err = sink.send(&ev, b"{}").await.unwrap_err();
            let msg = err.to_string();
            assert!(
                matches!(
                    err,
                    SinkError::Failed {
                        sink: "rabbitmq",
                        ..
                    }
                ),
                "{err:?}"
            );
            assert!(
                msg.contains(&exchange) && msg.contains("does not exist"),
                "{msg}"
            );
        }
    }

    #[tokio::test]
    async fn rabbitmq_sink_exchange_deleted_after_connect_fails_naming_it() {
        with_exchange(|exchange, _queue, channel| async move {
            let sink = RabbitSink::new(url(), exchange.clone());
            let ev = event("attempt.failed");
            sink.send(&ev, b"{}").await.unwrap();
            channel
                .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
                .await
                .unwrap();
            let msg = sink.send(&ev, b"{}").await.unwrap_err().to_string();
            assert!(
                msg.contains(&exchange) && msg.contains("does not exist"),
                "{msg}"
            );
            // The next send reopens the channel and checks again.
            let msg = sink.send(&ev, b"{}").await.unwrap_err().to_string();
            assert!(
                msg.contains(&exchange) && msg.contains("does not exist"),
                "{msg}"
            );
        })
        .await;
    }

    #[tokio::test]
    async fn rabbitmq_sink_unreachable_broker_fails() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let sink = RabbitSink::new(format!("amqp://guest:guest@127.0.0.1:{port}/%2f"), "x");
        let err = sink
            .send(&event("attempt.failed"), b"{}")
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                SinkError::Failed {
                    sink: "rabbitmq",
                    ..
                }
            ),
            "{err:?}"
        );
    }
}
