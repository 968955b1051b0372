//! Horizontal scaling: two replicas of every service on the same Redis, RabbitMQ and Postgres.
//! Every event is delivered, each retry runs once, each attempt is logged once, and stopping
//! one replica of each service mid-run loses nothing.

use crate::api::Api;
use crate::common::*;
use crate::split::{split_env, start_service};
use outpost_test_support::receiver::{Receiver, Reply};
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_of_every_service() {
    let mut env = split_env();
    env.push(("RETRY_SCHEDULE", "1".to_string()));
    let rx = Receiver::start().await;
    // Every 10th delivery fails once, so retries run while replicas come and go.
    let mut script = Vec::new();
    for i in 0..2000 {
        script.push(if i % 10 == 0 {
            Reply::Status(503, "busy".into())
        } else {
            Reply::Status(200, "ok".into())
        });
    }
    rx.script(script);
    let mut api1 = Some(start_service(&env, "api").await);
    let api2 = start_service(&env, "api").await;
    let log1 = start_service(&env, "log").await;
    // The second log replica needs its own gRPC port; the api replicas read through the first
    // (in Kubernetes, LOG_GRPC_URL is a Service over all log replicas).
    let mut log_env = env.clone();
    let grpc2 = free_port().to_string();
    log_env.push(("LOG_GRPC_PORT", grpc2));
    let mut log2 = Some(start_service(&log_env, "log").await);
    let mut del1 = Some(start_service(&env, "delivery").await);
    let del2 = start_service(&env, "delivery").await;
    let a1 = Api::new(&api1.as_ref().unwrap().base);
    let a2 = Api::new(&api2.base);
    a1.tenant("t").await;
    a1.webhook("t", &format!("{}/s", rx.base), json!(["*"]), json!({}))
        .await;
    const N: usize = 400;
    for i in 0..N {
        let api = if i % 2 == 0 && api1.is_some() {
            &a1
        } else {
            &a2
        };
        let (st, b) = api
            .publish_raw(&format!(
                r#"{{"id":"r-{i}","tenant_id":"t","topic":"x","data":{{"i":{i}}}}}"#
            ))
            .await;
        assert_eq!(st, 202, "{b}");
        if i == N / 2 {
            // Stop one replica of each service mid-run (graceful: drains in-flight work).
            for s in [api1.take(), del1.take(), log2.take()]
                .into_iter()
                .flatten()
            {
                assert!(s.stop().success());
            }
        }
    }
    rx.wait_for_events("/s", N, Duration::from_secs(90), "with replicas stopped")
        .await;
    // Every delivery to the sink is an attempt; each attempt is logged exactly once and each
    // failed first attempt was retried exactly once.
    // Let the last retries land, then compare what the sink saw with what the log holds.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let deliveries = rx.on("/s").len();
    let mut attempts = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let path = match &next {
            Some(c) => format!("/attempts?tenant_id=t&limit=1000&next={c}"),
            None => "/attempts?tenant_id=t&limit=1000".to_string(),
        };
        let (st, body) = a2.call(reqwest::Method::GET, &path, None).await;
        assert_eq!(st, 200, "{body}");
        attempts.extend(body["models"].as_array().unwrap().iter().cloned());
        match body["pagination"]["next"].as_str() {
            Some(c) => next = Some(c.to_string()),
            None => break,
        }
    }
    let ids: HashSet<&str> = attempts.iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), attempts.len(), "no attempt logged twice");
    let mut per_event: HashMap<(String, u64), usize> = HashMap::new();
    for a in &attempts {
        *per_event
            .entry((
                a["event_id"].as_str().unwrap().to_string(),
                a["attempt_number"].as_u64().unwrap(),
            ))
            .or_default() += 1;
    }
    let dup: Vec<_> = per_event.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dup.is_empty(), "an attempt number ran twice: {dup:?}");
    let retries = attempts.iter().filter(|a| a["attempt_number"] == 2).count();
    let failed_first = attempts
        .iter()
        .filter(|a| a["attempt_number"] == 1 && a["status"] == "failed")
        .count();
    assert_eq!(
        retries, failed_first,
        "each failed first attempt retried once"
    );
    println!(
        "scaling run: {N} events, {deliveries} deliveries, {} attempts logged, {retries} retries",
        attempts.len()
    );
    let mut codes: HashMap<String, usize> = HashMap::new();
    for a in &attempts {
        *codes
            .entry(a["code"].as_str().unwrap_or("").to_string())
            .or_default() += 1;
    }
    assert_eq!(
        attempts.len(),
        deliveries,
        "every request to the sink logged once: {codes:?}"
    );
    for s in [api2, del2, log1] {
        assert!(s.stop().success());
    }
}
