//! The event pipeline end to end in one embedded process: publish, fan-out, signed webhooks in
//! both modes, retries, duplicates and publish errors.

use crate::api::{Api, base_env};
use crate::common::*;
use hmac::{Hmac, Mac};
use outpost_test_support::receiver::{Receiver, Reply};
use serde_json::json;
use sha2::Sha256;
use std::collections::HashSet;
use std::time::Duration;

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
