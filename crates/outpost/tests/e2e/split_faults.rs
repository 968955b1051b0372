//! Split services under faults: a delivery or log service killed with SIGKILL, SIGTERM during a
//! delivery, a broker restart and a PostgreSQL outage, and manual retry through the log; every
//! accepted event is delivered and logged.

use crate::api::{Api, KEY, base_env};
use crate::common::Server;
use crate::split::{split_env, start_service};
use outpost_test_support::receiver::{Receiver, Reply};
use serde_json::json;
use std::collections::HashSet;
use std::time::Duration;

/// Split services (api, delivery, log as separate processes) on Redis and RabbitMQ; the
/// delivery service is killed with SIGKILL mid-run and restarted: every accepted event is
/// delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_services_survive_kill_9_of_delivery() {
    let env = split_env();
    let with = |svc: &'static str| start_service(&env, svc);
    let rx = Receiver::start().await;
    let api_srv = with("api").await;
    let log_srv = with("log").await;
    let delivery = with("delivery").await;
    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/topics", delivery.base))
        .bearer_auth(KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "the delivery service serves health only");
    let api = Api::new(&api_srv.base);
    api.tenant("t").await;
    api.webhook("t", &format!("{}/k", rx.base), json!(["*"]), json!({}))
        .await;
    const N: usize = 1000;
    // Publish concurrently; kill the delivery service once deliveries are under way.
    let publisher = {
        let base = api_srv.base.clone();
        tokio::spawn(async move {
            let api = Api::new(&base);
            let api = std::sync::Arc::new(api);
            let mut handles = Vec::new();
            for chunk in 0..16 {
                let api = api.clone();
                handles.push(tokio::spawn(async move {
                    for i in (chunk..N).step_by(16) {
                        let (s, b) = api
                            .publish_raw(&format!(
                                r#"{{"id":"k-{i}","tenant_id":"t","topic":"x","data":{{"i":{i}}}}}"#
                            ))
                            .await;
                        assert_eq!(s, 202, "{b}");
                    }
                }));
            }
            for h in handles {
                h.await.unwrap();
            }
        })
    };
    rx.wait_for("/k", 100, Duration::from_secs(60)).await;
    delivery.kill9();
    let restarted = with("delivery").await;
    publisher.await.unwrap();
    rx.wait_for_events("/k", N, Duration::from_secs(90), "after kill -9")
        .await;
    let total = rx.on("/k").len();
    println!(
        "kill -9 run: {N} events, {total} deliveries ({} redelivered)",
        total - N
    );
    assert!(restarted.stop().success());
    assert!(api_srv.stop().success());
    assert!(log_srv.stop().success());
}

/// A failed delivery shows in the log; a manual retry delivers it again and is logged as manual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manual_retry_through_the_log() {
    let rx = Receiver::start().await;
    let mut env = base_env();
    env.push(("LOG_BATCH_THRESHOLD_SECONDS", "0"));
    env.push(("RETRY_SCHEDULE", "3600"));
    let s = Server::start(&env).await;
    let api = Api::new(&s.base);
    api.tenant("t").await;
    let d = api
        .webhook("t", &format!("{}/m", rx.base), json!(["*"]), json!({}))
        .await;
    let did = d["id"].as_str().unwrap().to_string();
    rx.script([Reply::Status(500, "down".into())]);
    assert_eq!(
        api.publish_raw(r#"{"id":"m-1","tenant_id":"t","topic":"x","data":{"v":1}}"#)
            .await
            .0,
        202
    );
    rx.wait_for("/m", 1, Duration::from_secs(10)).await;
    // The failed attempt reaches the log.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = api
            .call(
                reqwest::Method::GET,
                "/attempts?event_id=m-1&include=response_data",
                None,
            )
            .await;
        if body["models"].as_array().is_some_and(|m| !m.is_empty()) {
            assert_eq!(body["models"][0]["status"], "failed");
            assert_eq!(body["models"][0]["code"], "500");
            assert_eq!(body["models"][0]["response_data"]["body"], "down");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "attempt not logged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (_, ev) = api.call(reqwest::Method::GET, "/events/m-1", None).await;
    assert_eq!(ev["data"], json!({"v": 1}));
    assert_eq!(ev["matched_destination_ids"], json!([did]));
    let (st, _) = api
        .call(
            reqwest::Method::POST,
            "/retry",
            Some(json!({"event_id": "m-1", "destination_id": did})),
        )
        .await;
    assert_eq!(st, 202);
    let got = rx.wait_for("/m", 2, Duration::from_secs(10)).await;
    assert_eq!(got[1].body, br#"{"v":1}"#);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = api
            .call(reqwest::Method::GET, "/attempts?event_id=m-1&dir=asc", None)
            .await;
        let models = body["models"].as_array().cloned().unwrap_or_default();
        if models.len() == 2 {
            assert_eq!(models[1]["attempt_number"], 2);
            assert_eq!(models[1]["manual"], true);
            assert_eq!(models[1]["status"], "success");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "manual attempt not logged: {body}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(s.stop().success());
}

fn rabbitmqctl(args: &[&str]) {
    let out = std::process::Command::new("rabbitmqctl")
        .args(args)
        .output()
        .expect("rabbitmqctl (part of the local RabbitMQ)");
    assert!(
        out.status.success(),
        "rabbitmqctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// RabbitMQ stops for a few seconds during a run: publishes made while it is down are refused
/// (500, so the publisher retries), every accepted event is delivered once the broker is back,
/// and the services recover without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_restart_mid_run_loses_nothing() {
    let mq = crate::split::internal_mq();
    if mq != "rabbitmq" {
        // pstest and moto keep everything in memory: a restart is a new, empty broker. Their
        // outages are tested in `split_sqs` and the queue crates.
        eprintln!(
            "SKIP broker_restart_mid_run_loses_nothing: restarts RabbitMQ; TEST_INTERNAL_MQ={mq}"
        );
        return;
    }
    let env = split_env();
    let rx = Receiver::start().await;
    let api_srv = start_service(&env, "api").await;
    let log_srv = start_service(&env, "log").await;
    let delivery = start_service(&env, "delivery").await;
    let api = Api::new(&api_srv.base);
    api.tenant("t").await;
    api.webhook("t", &format!("{}/b", rx.base), json!(["*"]), json!({}))
        .await;
    const N: usize = 200;
    let mut refused = 0usize;
    for i in 0..N {
        if i == N / 3 {
            rabbitmqctl(&["stop_app"]);
            let restart = tokio::spawn(async {
                tokio::time::sleep(Duration::from_secs(3)).await;
                tokio::task::spawn_blocking(|| rabbitmqctl(&["start_app"]))
                    .await
                    .unwrap();
            });
            std::mem::forget(restart);
        }
        // A publisher retries until the event is accepted, as a client of the API would.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let (st, body) = api
                .publish_raw(&format!(
                    r#"{{"id":"b-{i}","tenant_id":"t","topic":"x","data":{{"i":{i}}}}}"#
                ))
                .await;
            if st == 202 {
                break;
            }
            assert_eq!(st, 500, "{body}");
            refused += 1;
            assert!(
                std::time::Instant::now() < deadline,
                "the API did not recover"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    rx.wait_for_events("/b", N, Duration::from_secs(90), "after the broker restart")
        .await;
    println!(
        "broker restart run: {N} events accepted, {refused} publishes refused while down, {} deliveries",
        rx.on("/b").len()
    );
    for s in [api_srv, log_srv, delivery] {
        assert!(s.stop().success());
    }
}

/// SIGTERM while a delivery is in flight: the process stops pulling, finishes the delivery,
/// then exits cleanly; the task is not delivered again afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_in_flight_deliveries() {
    let env = split_env();
    let rx = Receiver::start().await;
    rx.script([Reply::Hang(Duration::from_secs(2))]);
    let api_srv = start_service(&env, "api").await;
    let log_srv = start_service(&env, "log").await;
    let delivery = start_service(&env, "delivery").await;
    let api = Api::new(&api_srv.base);
    api.tenant("t").await;
    api.webhook("t", &format!("{}/h", rx.base), json!(["*"]), json!({}))
        .await;
    assert_eq!(
        api.publish_raw(r#"{"id":"drain-1","tenant_id":"t","topic":"x","data":{}}"#)
            .await
            .0,
        202
    );
    rx.wait_for("/h", 1, Duration::from_secs(10)).await;
    let started = std::time::Instant::now();
    assert!(delivery.stop().success(), "clean exit after draining");
    assert!(
        started.elapsed() >= Duration::from_millis(1000),
        "waited for the in-flight delivery"
    );
    // A new delivery service finds nothing left to deliver.
    let again = start_service(&env, "delivery").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(rx.on("/h").len(), 1);
    for s in [again, api_srv, log_srv] {
        assert!(s.stop().success());
    }
}

/// SIGTERM with a delivery stuck past the grace period: `/readyz` turns 503 `draining` at once
/// (liveness stays 200), the process exits once SHUTDOWN_GRACE_SECONDS have passed instead of
/// waiting for the delivery, and the unsettled message is delivered again by the next replica.
#[tokio::test]
async fn sigterm_turns_unready_and_gives_up_after_the_grace_period() {
    let mut env = split_env();
    env.push(("SHUTDOWN_GRACE_SECONDS", "2".to_string()));
    env.push(("DELIVERY_TIMEOUT_SECONDS", "60".to_string()));
    let rx = Receiver::start().await;
    rx.script([Reply::Hang(Duration::from_secs(40))]);
    let api_srv = start_service(&env, "api").await;
    let log_srv = start_service(&env, "log").await;
    let delivery = start_service(&env, "delivery").await;
    let http = reqwest::Client::new();
    let ready = http
        .get(format!("{}/readyz", delivery.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let api = Api::new(&api_srv.base);
    api.tenant("t").await;
    api.webhook("t", &format!("{}/h", rx.base), json!(["*"]), json!({}))
        .await;
    assert_eq!(
        api.publish_raw(r#"{"id":"grace-1","tenant_id":"t","topic":"x","data":{}}"#)
            .await
            .0,
        202
    );
    rx.wait_for("/h", 1, Duration::from_secs(10)).await;
    let started = std::time::Instant::now();
    delivery.terminate();
    // Draining: unready, still alive.
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    let readyz = loop {
        let r = http
            .get(format!("{}/readyz", delivery.base))
            .send()
            .await
            .unwrap();
        if r.status() == 503 {
            break r.json::<serde_json::Value>().await.unwrap();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "/readyz stayed 200 after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(readyz["status"], "draining");
    let live = http
        .get(format!("{}/healthz", delivery.base))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200, "liveness holds while draining");
    let status = delivery.wait_exit(Duration::from_secs(10));
    let took = started.elapsed();
    assert!(status.success(), "{status:?}");
    assert!(
        took >= Duration::from_millis(1900),
        "left before the grace period: {took:?}"
    );
    assert!(
        took < Duration::from_secs(8),
        "waited for the stuck delivery: {took:?}"
    );
    // The unsettled message comes back to the next replica and is delivered.
    let again = start_service(&env, "delivery").await;
    rx.wait_for("/h", 2, Duration::from_secs(20)).await;
    let ids = rx.distinct_events("/h");
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert!(ids.contains("grace-1"));
    for s in [again, api_srv, log_srv] {
        assert!(s.stop().success());
    }
}

/// Waits until the log (read through the api-service) holds `n` attempts for tenant `t`;
/// returns the attempt ids.
pub(crate) async fn logged_attempts(api: &Api, n: usize, within: Duration) -> Vec<String> {
    let deadline = std::time::Instant::now() + within;
    loop {
        let (st, body) = api
            .call(
                reqwest::Method::GET,
                "/attempts?tenant_id=t&limit=1000",
                None,
            )
            .await;
        let ids: Vec<String> = body["models"]
            .as_array()
            .map(|m| {
                m.iter()
                    .filter_map(|a| a["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if st == 200 && ids.len() >= n {
            return ids;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} of {n} attempts logged ({st})",
            ids.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// PostgreSQL (ClickHouse with `TEST_LOG_STORE=clickhouse`) unreachable for a while: the log
/// service nacks its batches, the entries wait on logmq, and once the database is back every
/// attempt is written exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_loses_no_log_entry() {
    let env = split_env();
    // The log store's connection goes through a proxy that the test cuts: PostgreSQL, or
    // ClickHouse with TEST_LOG_STORE=clickhouse.
    let (var, server) = match crate::split::log_store().as_str() {
        "clickhouse" => ("CLICKHOUSE_ADDR", "127.0.0.1:8123"),
        _ => ("POSTGRES_URL", "127.0.0.1:5432"),
    };
    let proxy = outpost_test_support::tcp_proxy::TcpProxy::start(server.parse().unwrap()).await;
    let proxied = crate::split::through_proxy(&env, var, server, &proxy);
    let rx = Receiver::start().await;
    let api_srv = start_service(&proxied, "api").await;
    let log_srv = start_service(&proxied, "log").await;
    let delivery = start_service(&proxied, "delivery").await;
    let api = Api::new(&api_srv.base);
    api.tenant("t").await;
    api.webhook("t", &format!("{}/p", rx.base), json!(["*"]), json!({}))
        .await;
    proxy.cut();
    const N: usize = 50;
    for i in 0..N {
        assert_eq!(
            api.publish_raw(&format!(
                r#"{{"id":"pg-{i}","tenant_id":"t","topic":"x","data":{{}}}}"#
            ))
            .await
            .0,
            202
        );
    }
    rx.wait_for("/p", N, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    proxy.restore();
    let ids = logged_attempts(&api, N, Duration::from_secs(60)).await;
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), N, "no attempt logged twice");
    assert_eq!(unique.len(), N);
    for s in [api_srv, log_srv, delivery] {
        assert!(s.stop().success());
    }
}

/// The log service killed with SIGKILL mid-run and restarted: every attempt is logged once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_service_kill_9_loses_nothing() {
    let mut env = split_env();
    env.push(("LOG_BATCH_THRESHOLD_SECONDS", "1".to_string()));
    let rx = Receiver::start().await;
    let api_srv = start_service(&env, "api").await;
    let mut log_srv = Some(start_service(&env, "log").await);
    let delivery = start_service(&env, "delivery").await;
    let api = Api::new(&api_srv.base);
    api.tenant("t").await;
    api.webhook("t", &format!("{}/l", rx.base), json!(["*"]), json!({}))
        .await;
    const N: usize = 300;
    for i in 0..N {
        assert_eq!(
            api.publish_raw(&format!(
                r#"{{"id":"l-{i}","tenant_id":"t","topic":"x","data":{{}}}}"#
            ))
            .await
            .0,
            202
        );
        if i == N / 2
            && let Some(l) = log_srv.take()
        {
            l.kill9();
        }
    }
    let log_again = start_service(&env, "log").await;
    rx.wait_for("/l", N, Duration::from_secs(60)).await;
    let ids = logged_attempts(&api, N, Duration::from_secs(60)).await;
    assert_eq!(ids.len(), N, "each attempt logged once");
    for s in [api_srv, log_again, delivery] {
        assert!(s.stop().success());
    }
}
