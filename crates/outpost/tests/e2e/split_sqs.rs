//! The three services as separate processes with SQS (moto, `TEST_AWS_SQS_ENDPOINT`) as the
//! internal queues instead of RabbitMQ: provisioning at start, publish → delivery → log with
//! retries, and an SQS outage (moto unreachable behind a proxy) during which nothing accepted
//! is lost.

use crate::api::Api;
use crate::split::{split_env, start_service, use_sqs};
use outpost_test_support::receiver::{Receiver, Reply};
use outpost_test_support::tcp_proxy::TcpProxy;
use serde_json::json;
use std::time::{Duration, Instant};

fn moto_addr() -> std::net::SocketAddr {
    use std::net::ToSocketAddrs;
    let endpoint =
        outpost_test_support::service_addr("TEST_AWS_SQS_ENDPOINT", "http://127.0.0.1:4566");
    let hostport = endpoint
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    hostport.to_socket_addrs().unwrap().next().unwrap()
}

/// The split settings with the RabbitMQ variables replaced by SQS ones (through `proxy`).
fn sqs_env(proxy: &TcpProxy) -> Vec<(&'static str, String)> {
    let base = split_env();
    let mut env: Vec<(&'static str, String)> = base.to_vec();
    let id = outpost_test_support::unique("outpost-test-sqs");
    use_sqs(&mut env, format!("http://{}", proxy.addr), &id);
    env.extend([
        ("RETRY_SCHEDULE", "1".to_string()),
        ("MAX_RETRY_LIMIT", "2".to_string()),
    ]);
    // The database and ports of `base` stay valid after it is dropped (only its RabbitMQ
    // topology is removed, which this run does not use).
    env
}

async fn logged(api: &Api, n: usize, within: Duration) -> serde_json::Value {
    let deadline = Instant::now() + within;
    loop {
        let (st, body) = api
            .call(
                reqwest::Method::GET,
                "/attempts?tenant_id=t&limit=1000",
                None,
            )
            .await;
        if st == 200 && body["models"].as_array().is_some_and(|m| m.len() >= n) {
            return body;
        }
        assert!(Instant::now() < deadline, "{n} attempts not logged: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// Multi-threaded: `Server::stop` blocks its thread while a service drains, and the services
// reach moto through this test's proxy, which must keep running meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_services_on_sqs_deliver_retry_log_and_survive_an_outage() {
    let proxy = TcpProxy::start(moto_addr()).await;
    let env = sqs_env(&proxy);
    let rx = Receiver::start().await;
    // The first request fails: one retry through the schedule and deliverymq.
    rx.script([Reply::Status(503, "busy".into())]);
    let log = start_service(&env, "log").await;
    let delivery = start_service(&env, "delivery").await;
    let api_srv = start_service(&env, "api").await;
    let api = Api::new(&api_srv.base);
    api.tenant("t").await;
    api.webhook("t", &format!("{}/h", rx.base), json!(["*"]), json!({}))
        .await;
    let publish =
        |i: usize| format!(r#"{{"id":"sqs-{i}","tenant_id":"t","topic":"x","data":{{"i":{i}}}}}"#);
    for i in 0..20 {
        assert_eq!(api.publish_raw(&publish(i)).await.0, 202);
    }
    rx.wait_for_events("/h", 20, Duration::from_secs(30), "20 events over SQS")
        .await;
    // 20 first attempts, one of them failed and retried once.
    let body = logged(&api, 21, Duration::from_secs(30)).await;
    let failed = body["models"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["status"] == "failed")
        .count();
    assert_eq!(failed, 1, "{body}");

    // SQS unreachable for 5 s: publishes are refused (not lost), deliveries and logging wait.
    proxy.cut();
    let mut accepted: Vec<usize> = (0..20).collect();
    let cut_at = Instant::now();
    let mut refused = 0;
    let mut i = 20;
    while cut_at.elapsed() < Duration::from_secs(5) {
        let (st, _) = api.publish_raw(&publish(i)).await;
        if st == 202 {
            accepted.push(i);
        } else {
            assert!(st >= 500, "status {st}");
            refused += 1;
        }
        i += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        refused > 0,
        "publishes while SQS is unreachable are refused"
    );
    proxy.restore();
    let restored = Instant::now();
    for j in i..i + 20 {
        // After the outage the services reconnect; a publish may fail while they do.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let (st, _) = api.publish_raw(&publish(j)).await;
            if st == 202 {
                accepted.push(j);
                break;
            }
            assert!(
                Instant::now() < deadline,
                "publishing did not recover: {st}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let want: std::collections::HashSet<String> =
        accepted.iter().map(|i| format!("sqs-{i}")).collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got = rx.distinct_events("/h");
        if want.is_subset(&got) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "lost after the outage: {:?}",
            want.difference(&got).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    logged(&api, accepted.len() + 1, Duration::from_secs(60)).await;
    eprintln!(
        "split_sqs: {} accepted, {refused} refused during the outage; all delivered and logged {:.1} s after it",
        accepted.len(),
        restored.elapsed().as_secs_f64()
    );
    for s in [api_srv, delivery, log] {
        assert!(s.stop().success());
    }
}
