//! OpenTelemetry end to end: the three services as separate processes export over OTLP/HTTP to
//! a local collector, and one trace runs from the publish request (continuing the caller's
//! `traceparent`) through the API's receive span, the delivery, and the log write; metrics and
//! logs arrive too. The all-in-one process exports over OTLP/gRPC.

use crate::api::{Api, KEY, base_env};
use crate::common::Server;
use crate::split::{split_env, start_service};
use outpost_test_support::otlp::{Collector, Received, Span};
use outpost_test_support::receiver::Receiver;
use serde_json::json;
use std::time::Duration;

const CALLER_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";

fn otel_env(protocol: &str, endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.to_string()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol.to_string()),
        // SDK settings, read from the environment: export quickly.
        ("OTEL_BSP_SCHEDULE_DELAY", "200".to_string()),
        ("OTEL_BLRP_SCHEDULE_DELAY", "200".to_string()),
        ("OTEL_METRIC_EXPORT_INTERVAL", "500".to_string()),
    ]
}

async fn publish_traced(base: &str, event_id: &str) {
    let r = reqwest::Client::new()
        .post(format!("{base}/api/v1/publish"))
        .bearer_auth(KEY)
        .header("traceparent", format!("00-{CALLER_TRACE}-{CALLER_SPAN}-01"))
        .json(&json!({"id": event_id, "tenant_id": "t", "topic": "x", "data": {"n": 1}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
}

fn find<'a>(r: &'a Received, service: &str, name: &str, event_id: &str) -> Option<&'a Span> {
    r.spans.iter().find(|s| {
        s.service == service
            && s.name == name
            && s.attributes.get("event_id").map(String::as_str) == Some(event_id)
    })
}

/// The receive → deliver (→ log) chain of `event_id`, checked link by link.
fn check_chain(r: &Received, api: &str, delivery: &str, log: Option<&str>, event_id: &str) {
    let receive = find(r, api, "EventTracer.Receive", event_id).expect("receive span");
    let http = r
        .spans
        .iter()
        .find(|s| s.service == api && s.name == "POST /api/v1/publish")
        .expect("HTTP server span");
    assert_eq!(http.trace_id, CALLER_TRACE, "the caller's trace continues");
    assert_eq!(http.parent_span_id, CALLER_SPAN);
    assert_eq!(receive.trace_id, CALLER_TRACE);
    assert_eq!(receive.parent_span_id, http.span_id);
    let deliver = find(r, delivery, "EventTracer.Deliver", event_id).expect("deliver span");
    assert_eq!(
        deliver.trace_id, CALLER_TRACE,
        "one trace from publish to delivery"
    );
    assert_eq!(deliver.parent_span_id, receive.span_id);
    assert_eq!(deliver.attributes["destination_type"], "webhook");
    assert_eq!(deliver.attributes["code"], "200");
    if let Some(log) = log {
        let write = find(r, log, "EventTracer.Log", event_id).expect("log span");
        assert_eq!(write.trace_id, CALLER_TRACE);
        assert_eq!(write.parent_span_id, deliver.span_id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_services_export_one_trace_metrics_and_logs_over_http() {
    let collector = Collector::start().await;
    let mut env = split_env();
    env.extend(otel_env("http/protobuf", &collector.http));
    let with = |svc: &'static str, name: &'static str| {
        let mut e = env.clone();
        e.push(("OTEL_SERVICE_NAME", name.to_string()));
        async move { start_service(&e, svc).await }
    };
    let api_srv = with("api", "outpost-api").await;
    let log_srv = with("log", "outpost-log").await;
    let delivery = {
        // A successful delivery is logged at debug.
        let mut e = env.clone();
        e.push(("OTEL_SERVICE_NAME", "outpost-delivery".to_string()));
        e.push(("LOG_LEVEL", "debug".to_string()));
        start_service(&e, "delivery").await
    };
    let rx = Receiver::start().await;
    let api = Api::new(&api_srv.base);
    api.tenant("t").await;
    api.webhook("t", &format!("{}/o", rx.base), json!(["*"]), json!({}))
        .await;
    publish_traced(&api_srv.base, "otel-1").await;
    rx.wait_for("/o", 1, Duration::from_secs(20)).await;
    let r = collector
        .wait_for("the trace of otel-1", Duration::from_secs(20), |r| {
            find(r, "outpost-log", "EventTracer.Log", "otel-1").is_some()
                && find(r, "outpost-delivery", "EventTracer.Deliver", "otel-1").is_some()
                && find(r, "outpost-api", "EventTracer.Receive", "otel-1").is_some()
        })
        .await;
    check_chain(
        &r,
        "outpost-api",
        "outpost-delivery",
        Some("outpost-log"),
        "otel-1",
    );
    let has_metric =
        |r: &Received, svc: &str, name: &str| r.metrics.iter().any(|(s, n)| s == svc && n == name);
    let r = collector
        .wait_for("the service metrics", Duration::from_secs(20), |r| {
            has_metric(r, "outpost-api", "outpost.published_events")
                && has_metric(r, "outpost-api", "outpost.api_calls")
                && has_metric(r, "outpost-delivery", "outpost.delivered_events")
                && has_metric(r, "outpost-delivery", "outpost.delivery_latency")
                && has_metric(r, "outpost-delivery", "outpost.queue_lag")
                && has_metric(r, "outpost-log", "outpost.logged_attempts")
        })
        .await;
    collector
        .wait_for("the delivery log record", Duration::from_secs(20), |r| {
            r.logs
                .iter()
                .any(|(s, body)| s == "outpost-delivery" && body == "Delivery attempted.")
        })
        .await;
    assert!(r.requests.iter().all(|(transport, _)| *transport == "http"));
    assert!(api_srv.stop().success());
    assert!(delivery.stop().success());
    assert!(log_srv.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_in_one_exports_over_grpc() {
    let collector = Collector::start().await;
    let mut env: Vec<(&str, String)> = base_env()
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect();
    env.extend(otel_env("grpc", &collector.grpc));
    env.push(("OTEL_SERVICE_NAME", "outpost".to_string()));
    // Traces only: the other signals are off when only the traces endpoint is named.
    env.retain(|(k, _)| *k != "OTEL_EXPORTER_OTLP_ENDPOINT");
    env.push(("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", collector.grpc.clone()));
    let e: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let srv = Server::start(&e).await;
    let rx = Receiver::start().await;
    let api = Api::new(&srv.base);
    api.tenant("t").await;
    api.webhook("t", &format!("{}/g", rx.base), json!(["*"]), json!({}))
        .await;
    publish_traced(&srv.base, "otel-g").await;
    rx.wait_for("/g", 1, Duration::from_secs(20)).await;
    let r = collector
        .wait_for("the trace of otel-g", Duration::from_secs(20), |r| {
            find(r, "outpost", "EventTracer.Deliver", "otel-g").is_some()
        })
        .await;
    check_chain(&r, "outpost", "outpost", None, "otel-g");
    assert!(
        r.requests
            .iter()
            .all(|(t, s)| *t == "grpc" && *s == "traces"),
        "{:?}",
        r.requests
    );
    assert!(srv.stop().success());
}
