//! Alerts and operator events end to end: consecutive failures at 50/70/90/100 % with
//! auto-disable, reset on success, exhausted retries once per window, every operator event
//! signed.

use crate::api::{Api, base_env};
use crate::common::*;
use hmac::{Hmac, Mac};
use outpost_test_support::receiver::{Received, Receiver, Reply};
use serde_json::{Value, json};
use sha2::Sha256;
use std::time::Duration;

const OPS_SECRET: &str = "ops-secret";

fn ops_env(ops: &Receiver, extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, String)> {
    let mut env: Vec<(&'static str, String)> = base_env()
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect();
    env.extend([
        ("LOG_BATCH_THRESHOLD_SECONDS", "0".to_string()),
        ("OPERATOR_EVENTS_TOPICS", "*".to_string()),
        ("OPERATOR_EVENTS_HTTP_URL", format!("{}/ops", ops.base)),
        (
            "OPERATOR_EVENTS_HTTP_SIGNING_SECRET",
            OPS_SECRET.to_string(),
        ),
        ("DELIVERY_MAX_CONCURRENCY", "1".to_string()),
    ]);
    env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    env
}

async fn start(env: &[(&'static str, String)]) -> Server {
    let e: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Server::start(&e).await
}

/// Parses an operator event after checking its signature.
fn verified(r: &Received) -> Value {
    let mut m = Hmac::<Sha256>::new_from_slice(OPS_SECRET.as_bytes()).unwrap();
    m.update(&r.body);
    let expected = format!("v0={}", hex::encode(m.finalize().into_bytes()));
    assert_eq!(
        r.header("x-outpost-signature"),
        Some(expected.as_str()),
        "operator event signed"
    );
    serde_json::from_slice(&r.body).unwrap()
}

fn topics(ops: &Receiver, topic: &str) -> Vec<Value> {
    ops.on("/ops")
        .iter()
        .map(verified)
        .filter(|e| e["topic"] == topic)
        .collect()
}

async fn wait_topic(ops: &Receiver, topic: &str, n: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let got = topics(ops, topic);
        if got.len() >= n {
            return got;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{topic}: {} of {n}",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consecutive_failures_alert_and_disable() {
    let ops = Receiver::start().await;
    let rx = Receiver::start().await;
    rx.script((0..40).map(|_| Reply::Status(500, "down".into())));
    let env = ops_env(
        &ops,
        &[
            ("ALERT_CONSECUTIVE_FAILURE_COUNT", "20"),
            ("ALERT_AUTO_DISABLE_DESTINATION", "true"),
        ],
    );
    let s = start(&env).await;
    let api = Api::new(&s.base);
    api.tenant("t").await;
    let d = api
        .webhook("t", &format!("{}/f", rx.base), json!(["*"]), json!({}))
        .await;
    let did = d["id"].as_str().unwrap().to_string();
    for i in 0..20 {
        let body = format!(
            r#"{{"id":"cf-{i}","tenant_id":"t","topic":"x","eligible_for_retry":false,"data":{{}}}}"#
        );
        assert_eq!(api.publish_raw(&body).await.0, 202);
        rx.wait_for("/f", i + 1, Duration::from_secs(10)).await;
    }
    let alerts = wait_topic(&ops, "alert.destination.consecutive_failure", 4).await;
    let mut seen: Vec<(u64, u64)> = alerts
        .iter()
        .map(|a| {
            (
                a["data"]["consecutive_failures"]["current"]
                    .as_u64()
                    .unwrap(),
                a["data"]["consecutive_failures"]["threshold"]
                    .as_u64()
                    .unwrap(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(seen, vec![(10, 50), (14, 70), (18, 90), (20, 100)]);
    let a = &alerts[0];
    assert_eq!(a["tenant_id"], "t");
    assert_eq!(a["data"]["consecutive_failures"]["max"], 20);
    assert_eq!(a["data"]["destination"]["id"], did.as_str());
    assert!(
        a["data"]["destination"].get("credentials").is_none(),
        "no credentials in alerts"
    );
    let disabled = wait_topic(&ops, "alert.destination.disabled", 1).await;
    assert_eq!(disabled[0]["data"]["reason"], "consecutive_failure");
    assert_eq!(disabled[0]["data"]["destination"]["id"], did.as_str());
    assert_eq!(wait_topic(&ops, "attempt.failed", 20).await.len(), 20);
    let (_, dest) = api
        .call(
            reqwest::Method::GET,
            &format!("/tenants/t/destinations/{did}"),
            None,
        )
        .await;
    assert!(dest["disabled_at"].is_string(), "auto-disabled: {dest}");
    // A disabled destination receives nothing more.
    assert_eq!(
        api.publish_raw(r#"{"id":"after","tenant_id":"t","topic":"x","data":{}}"#)
            .await
            .1["destination_ids"],
        json!([])
    );
    // Destination changes emit tenant.subscription.updated.
    api.webhook(
        "t",
        &format!("{}/other", rx.base),
        json!(["new.topic"]),
        json!({}),
    )
    .await;
    let sub = wait_topic(&ops, "tenant.subscription.updated", 2).await;
    assert_eq!(
        sub[0]["data"]["destinations_count"], 1,
        "the first destination"
    );
    assert_eq!(sub.last().unwrap()["data"]["destinations_count"], 2);
    assert_eq!(
        sub.last().unwrap()["data"]["previous_destinations_count"],
        1
    );
    assert!(s.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn success_resets_and_exhausted_retries_alert_once() {
    let ops = Receiver::start().await;
    let rx = Receiver::start().await;
    let mut script: Vec<Reply> = (0..5).map(|_| Reply::Status(500, "x".into())).collect();
    script.push(Reply::Status(200, "ok".into()));
    script.extend((0..10).map(|_| Reply::Status(500, "x".into())));
    rx.script(script);
    let env = ops_env(&ops, &[("ALERT_CONSECUTIVE_FAILURE_COUNT", "20")]);
    let s = start(&env).await;
    let api = Api::new(&s.base);
    api.tenant("t").await;
    api.webhook("t", &format!("{}/r", rx.base), json!(["*"]), json!({}))
        .await;
    for i in 0..15 {
        let body = format!(
            r#"{{"id":"rs-{i}","tenant_id":"t","topic":"x","eligible_for_retry":false,"data":{{}}}}"#
        );
        assert_eq!(api.publish_raw(&body).await.0, 202);
        rx.wait_for("/r", i + 1, Duration::from_secs(10)).await;
    }
    wait_topic(&ops, "attempt.failed", 14).await;
    wait_topic(&ops, "attempt.success", 1).await;
    assert!(
        topics(&ops, "alert.destination.consecutive_failure").is_empty(),
        "9 failures after the reset: below 50 %"
    );
    rx.script([Reply::Status(500, "x".into())]);
    assert_eq!(
        api.publish_raw(
            r#"{"id":"rs-15","tenant_id":"t","topic":"x","eligible_for_retry":false,"data":{}}"#
        )
        .await
        .0,
        202
    );
    let a = wait_topic(&ops, "alert.destination.consecutive_failure", 1).await;
    assert_eq!(a[0]["data"]["consecutive_failures"]["current"], 10);
    assert!(s.stop().success());

    // Exhausted retries: one retry allowed; two events exhaust them, one alert per window.
    let ops = Receiver::start().await;
    let rx = Receiver::start().await;
    rx.script((0..10).map(|_| Reply::Status(503, "x".into())));
    let env = ops_env(&ops, &[("RETRY_SCHEDULE", "1")]);
    let s = start(&env).await;
    let api = Api::new(&s.base);
    api.tenant("t").await;
    api.webhook("t", &format!("{}/e", rx.base), json!(["*"]), json!({}))
        .await;
    for i in 0..2 {
        assert_eq!(
            api.publish_raw(&format!(
                r#"{{"id":"ex-{i}","tenant_id":"t","topic":"x","data":{{}}}}"#
            ))
            .await
            .0,
            202
        );
    }
    rx.wait_for("/e", 4, Duration::from_secs(15)).await;
    let ex = wait_topic(&ops, "alert.attempt.exhausted_retries", 1).await;
    assert_eq!(ex[0]["data"]["attempt"]["attempt_number"], 2);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        topics(&ops, "alert.attempt.exhausted_retries").len(),
        1,
        "suppressed within the window"
    );
    assert!(s.stop().success());
}
