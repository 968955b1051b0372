//! The event pipeline end to end: publish, fan-out, signed webhooks, retries, duplicates, and
//! a delivery service killed mid-run (split services on Redis and RabbitMQ).

use crate::common::*;
use hmac::{Hmac, Mac};
use outpost_test_support::receiver::{Receiver, Reply};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::HashSet;
use std::time::Duration;

const KEY: &str = "k";

pub fn base_env() -> Vec<(&'static str, &'static str)> {
    vec![
        ("API_KEY", KEY),
        ("API_JWT_SECRET", "j"),
        ("DESTINATIONS_WEBHOOK_ALLOWED_CIDRS", "127.0.0.0/8"),
        ("RETRY_POLL_BACKOFF_MS", "50"),
        ("DELIVERY_MAX_CONCURRENCY", "16"),
    ]
}

pub struct Api {
    base: String,
    http: reqwest::Client,
}

impl Api {
    pub fn new(base: &str) -> Self {
        Self {
            base: format!("{base}/api/v1"),
            http: reqwest::Client::new(),
        }
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(KEY);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn tenant(&self, id: &str) {
        assert_eq!(
            self.call(reqwest::Method::PUT, &format!("/tenants/{id}"), None)
                .await
                .0,
            201
        );
    }

    pub async fn webhook(&self, tenant: &str, url: &str, topics: Value, extra: Value) -> Value {
        let mut body = json!({"type": "webhook", "topics": topics, "config": {"url": url}});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        let (s, d) = self
            .call(
                reqwest::Method::POST,
                &format!("/tenants/{tenant}/destinations"),
                Some(body),
            )
            .await;
        assert_eq!(s, 201, "{d}");
        d
    }

    /// Publishes raw JSON text (so the exact data bytes can be checked).
    pub async fn publish_raw(&self, body: &str) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}/publish", self.base))
            .bearer_auth(KEY)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    m.update(body);
    hex::encode(m.finalize().into_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fan_out_delivers_signed_exact_bytes() {
    let rx = Receiver::start().await;
    let s = Server::start(&base_env()).await;
    let api = Api::new(&s.base);
    api.tenant("acme").await;
    let a = api
        .webhook(
            "acme",
            &format!("{}/a", rx.base),
            json!(["user.created"]),
            json!({"credentials": {"secret": "secret-a"}}),
        )
        .await;
    let b = api
        .webhook(
            "acme",
            &format!("{}/b", rx.base),
            json!(["*"]),
            json!({"delivery_metadata": {"team": "core"}}),
        )
        .await;
    api.webhook(
        "acme",
        &format!("{}/c", rx.base),
        json!(["order.paid"]),
        json!({}),
    )
    .await;
    api.webhook(
        "acme",
        &format!("{}/d", rx.base),
        json!(["*"]),
        json!({"filter": {"data": {"amount": {"$gte": 100}}}}),
    )
    .await;
    let data = r#"{"amount": 5,   "name":"x",
  "nested":{"k":[1,2]}}"#;
    let (status, resp) = api
        .publish_raw(&format!(r#"{{"id":"evt-1","tenant_id":"acme","topic":"user.created","metadata":{{"source":"test"}},"data":{data}}}"#))
        .await;
    assert_eq!(status, 202, "{resp}");
    assert_eq!(resp["id"], "evt-1");
    assert_eq!(resp["duplicate"], false);
    let ids: HashSet<&str> = resp["destination_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        HashSet::from([a["id"].as_str().unwrap(), b["id"].as_str().unwrap()])
    );
    let got_a = rx.wait_for("/a", 1, Duration::from_secs(10)).await;
    let got_b = rx.wait_for("/b", 1, Duration::from_secs(10)).await;
    for (got, secret) in [
        (&got_a[0], "secret-a"),
        (&got_b[0], b["credentials"]["secret"].as_str().unwrap()),
    ] {
        assert_eq!(got.body, data.as_bytes(), "the data bytes, verbatim");
        assert_eq!(
            got.header("x-outpost-signature").unwrap(),
            format!("v0={}", sign(secret, data.as_bytes()))
        );
        assert_eq!(got.header("x-outpost-event-id"), Some("evt-1"));
        assert_eq!(got.header("x-outpost-topic"), Some("user.created"));
        assert_eq!(got.header("x-outpost-source"), Some("test"));
        assert_eq!(got.header("content-type"), Some("application/json"));
        assert!(got.header("user-agent").unwrap().starts_with("Outpost/"));
        let ts = got.header("x-outpost-timestamp").unwrap();
        assert!(ts.ends_with('Z') && ts.len() == 20, "{ts}");
    }
    assert_eq!(
        got_b[0].header("x-outpost-team"),
        Some("core"),
        "delivery metadata header"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(rx.on("/c").is_empty(), "topic mismatch");
    assert!(rx.on("/d").is_empty(), "filter mismatch");
    assert_eq!(rx.on("/a").len(), 1);
    // Explicit destination targeting still applies topic rules.
    let (_, resp) = api
        .publish_raw(&format!(
            r#"{{"tenant_id":"acme","topic":"order.paid","destination_id":"{}","data":{{}}}}"#,
            a["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(resp["destination_ids"], json!([]));
    let (_, resp) = api
        .publish_raw(&format!(
            r#"{{"tenant_id":"acme","topic":"user.created","destination_id":"{}","data":{{}}}}"#,
            a["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(resp["destination_ids"], json!([a["id"]]));
    rx.wait_for("/a", 2, Duration::from_secs(10)).await;
    assert!(s.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_retry_on_schedule_and_duplicates_are_ignored() {
    let rx = Receiver::start().await;
    let mut env = base_env();
    env.push(("RETRY_SCHEDULE", "1,2"));
    let s = Server::start(&env).await;
    let api = Api::new(&s.base);
    api.tenant("t").await;
    api.webhook("t", &format!("{}/r", rx.base), json!(["*"]), json!({}))
        .await;
    rx.script([
        Reply::Status(503, "busy".into()),
        Reply::Status(500, "boom".into()),
    ]);
    let body = r#"{"id":"retry-1","tenant_id":"t","topic":"x","data":{"n":1}}"#;
    assert_eq!(api.publish_raw(body).await.0, 202);
    let (status, resp) = api.publish_raw(body).await;
    assert_eq!(
        (status, resp["duplicate"].clone()),
        (202, json!(true)),
        "same id again is a duplicate"
    );
    let got = rx.wait_for("/r", 3, Duration::from_secs(15)).await;
    let gap1 = got[1].at - got[0].at;
    let gap2 = got[2].at - got[1].at;
    assert!(
        gap1 >= Duration::from_millis(900) && gap1 < Duration::from_millis(2500),
        "{gap1:?}"
    );
    assert!(
        gap2 >= Duration::from_millis(1900) && gap2 < Duration::from_millis(3500),
        "{gap2:?}"
    );
    assert!(
        got.iter()
            .all(|g| g.header("x-outpost-event-id") == Some("retry-1"))
    );
    // Success after the third attempt: nothing more arrives.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(rx.on("/r").len(), 3);
    // Not eligible for retry: one attempt only.
    rx.script([Reply::Status(503, "busy".into())]);
    let body =
        r#"{"id":"once-1","tenant_id":"t","topic":"x","eligible_for_retry":false,"data":{"n":2}}"#;
    assert_eq!(api.publish_raw(body).await.0, 202);
    rx.wait_for("/r", 4, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(rx.on("/r").len(), 4);
    assert!(s.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publish_errors() {
    let s = Server::start(&base_env()).await;
    let api = Api::new(&s.base);
    let (st, b) = api.publish_raw(r#"{"tenant_id":"t","data":[1]}"#).await;
    assert_eq!(
        (st, b["data"].clone()),
        (422, json!(["data must be a valid JSON object"]))
    );
    let (st, b) = api.publish_raw(r#"{"data":{}}"#).await;
    assert_eq!(
        (st, b["data"].clone()),
        (422, json!(["tenant_id is required"]))
    );
    let (st, b) = api
        .publish_raw(r#"{"tenant_id":"t","data":{},"metadata":{"a":1}}"#)
        .await;
    assert_eq!((st, b["message"].clone()), (422, json!("invalid JSON")));
    let (st, b) = api.publish_raw(r#"{"tenant_id":"nobody","data":{}}"#).await;
    assert_eq!(st, 202);
    assert_eq!(b["destination_ids"], json!([]));
    assert!(s.stop().success());
}

/// Environment of split services on the local Redis and RabbitMQ, isolated by unique names.
/// Dropping it deletes the test's RabbitMQ exchange and queues.
pub struct SplitEnv {
    vars: Vec<(&'static str, String)>,
    _topology: outpost_test_support::rabbit::TopologyGuard,
}

impl std::ops::Deref for SplitEnv {
    type Target = Vec<(&'static str, String)>;
    fn deref(&self) -> &Self::Target {
        &self.vars
    }
}

impl std::ops::DerefMut for SplitEnv {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.vars
    }
}

/// A [`SplitEnv`] with fresh names, a fresh migrated database and free ports.
pub fn split_env() -> SplitEnv {
    let redis = std::env::var("TEST_REDIS_ADDR").unwrap_or_else(|_| "127.0.0.1:6379".into());
    let (rhost, rport) = redis.rsplit_once(':').unwrap();
    let rabbit = std::env::var("TEST_RABBITMQ_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    let id = outpost_test_support::unique("e2e");
    let mut env: Vec<(&'static str, String)> = base_env()
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect();
    env.extend([
        ("REDIS_HOST", rhost.to_string()),
        ("REDIS_PORT", rport.to_string()),
        ("AES_ENCRYPTION_SECRET", "aes".to_string()),
        ("DEPLOYMENT_ID", id.clone()),
        ("RABBITMQ_SERVER_URL", rabbit.clone()),
        ("RABBITMQ_EXCHANGE", id.clone()),
        ("RABBITMQ_DELIVERY_QUEUE", format!("{id}-delivery")),
        ("RABBITMQ_LOG_QUEUE", format!("{id}-log")),
        ("LOG_BATCH_THRESHOLD_SECONDS", "0".to_string()),
    ]);
    let grpc = free_port();
    env.push(("LOG_GRPC_PORT", grpc.to_string()));
    env.push(("LOG_GRPC_URL", format!("http://127.0.0.1:{grpc}")));
    env.push(("POSTGRES_URL", fresh_database(&id)));
    let e: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = base_cmd(&["migrate", "apply", "--yes"], &e)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "migrate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let queues = ["delivery", "log"]
        .iter()
        .flat_map(|q| [format!("{id}-{q}"), format!("{id}-{q}.dlq")])
        .collect();
    let topology =
        outpost_test_support::rabbit::TopologyGuard::new(&rabbit, vec![id.clone()], queues);
    SplitEnv {
        vars: env,
        _topology: topology,
    }
}

/// Creates an empty database on the local PostgreSQL (`TEST_DATABASE_URL` names the server)
/// and returns its URL.
fn fresh_database(id: &str) -> String {
    let server = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = id.replace('-', "_").to_ascii_lowercase();
    let out = std::process::Command::new("psql")
        .args([
            server.as_str(),
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            &format!("CREATE DATABASE {name}"),
        ])
        .output()
        .expect("psql (the PostgreSQL client)");
    assert!(
        out.status.success(),
        "create database: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let base = server.rsplit_once('/').map(|(b, _)| b).unwrap_or(&server);
    format!("{base}/{name}")
}

pub async fn start_service(env: &[(&'static str, String)], svc: &'static str) -> Server {
    let mut e: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    e.push(("SERVICE", svc));
    Server::start(&e).await
}

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

/// Standard Webhooks mode: `webhook-id`, `webhook-timestamp`, `webhook-signature` verifiable
/// with the destination's `whsec_` secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standard_webhooks_mode() {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD as B64;
    let rx = Receiver::start().await;
    let mut env = base_env();
    env.push(("DESTINATIONS_WEBHOOK_MODE", "standard"));
    let s = Server::start(&env).await;
    let api = Api::new(&s.base);
    api.tenant("t").await;
    let d = api
        .webhook("t", &format!("{}/s", rx.base), json!(["*"]), json!({}))
        .await;
    let secret = d["credentials"]["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(
        api.publish_raw(
            r#"{"id":"std-1","tenant_id":"t","topic":"x","metadata":{"m":"1"},"data":{"a":1}}"#
        )
        .await
        .0,
        202
    );
    let got = rx.wait_for("/s", 1, Duration::from_secs(10)).await;
    let r = &got[0];
    assert_eq!(r.header("webhook-id"), Some("std-1"));
    let ts = r.header("webhook-timestamp").unwrap();
    assert!(ts.parse::<i64>().is_ok(), "unix seconds: {ts}");
    let key = B64.decode(secret.trim_start_matches("whsec_")).unwrap();
    let mut m = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    m.update(format!("std-1.{ts}.").as_bytes());
    m.update(&r.body);
    let expected = format!("v1,{}", B64.encode(m.finalize().into_bytes()));
    assert_eq!(r.header("webhook-signature"), Some(expected.as_str()));
    assert_eq!(r.header("webhook-topic"), Some("x"));
    assert_eq!(
        r.header("m"),
        Some("1"),
        "event metadata also without prefix"
    );
    assert!(s.stop().success());
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

/// Waits until the log (read through the api-service) holds `n` attempts for tenant `t`;
/// returns the attempt ids.
async fn logged_attempts(api: &Api, n: usize, within: Duration) -> Vec<String> {
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

/// PostgreSQL unreachable for a while: the log service nacks its batches, the entries wait on
/// logmq, and once the database is back every attempt is written exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_loses_no_log_entry() {
    let mut env = split_env();
    let pg_url = env
        .iter()
        .find(|(k, _)| *k == "POSTGRES_URL")
        .map(|(_, v)| v.clone())
        .unwrap();
    let proxy =
        outpost_test_support::tcp_proxy::TcpProxy::start("127.0.0.1:5432".parse().unwrap()).await;
    let proxied = pg_url.replacen("127.0.0.1:5432", &proxy.addr.to_string(), 1);
    for (k, v) in env.iter_mut() {
        if *k == "POSTGRES_URL" {
            *v = proxied.clone();
        }
    }
    let rx = Receiver::start().await;
    let api_srv = start_service(&env, "api").await;
    let log_srv = start_service(&env, "log").await;
    let delivery = start_service(&env, "delivery").await;
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
