//! `hookdeck` destinations against a local HTTP server standing in for Hookdeck's API (token
//! verification on create) and its ingestion endpoint (deliveries), both at configurable URLs.

use crate::destinations::{DestHarness, assert_metadata};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use outpost_test_support::receiver::{Receiver, Reply};
use serde_json::{Value, json};
use std::time::Duration;

async fn harness(rx: &Receiver) -> DestHarness {
    DestHarness::start(&[
        ("DESTINATIONS_HOOKDECK_API_URL", rx.base.as_str()),
        ("DESTINATIONS_HOOKDECK_EVENTS_URL", rx.base.as_str()),
    ])
    .await
}

#[tokio::test]
async fn hookdeck_destination_posts_signed_event_to_its_source() {
    let rx = Receiver::start().await;
    let h = harness(&rx).await;
    let token = B64.encode("src_e2e:s3cr3t");
    rx.script([Reply::Status(200, r#"{"name":"orders-source"}"#.into())]);
    let d = h
        .create(json!({"type": "hookdeck", "credentials": {"token": token}}))
        .await;
    assert_eq!(d["config"]["source_name"], "orders-source", "{d}");
    let verify = rx
        .wait_for(
            "/2025-01-01/sources/src_e2e/managed/verify",
            1,
            Duration::from_secs(5),
        )
        .await;
    assert_eq!(
        verify[0].header("x-hookdeck-source-token"),
        Some(token.as_str())
    );

    let data = r#"{"order":42,"note":"ünïcode ✓"}"#;
    let md = json!({"region": "eu"});
    let id = h.publish("order.paid", data, md.clone()).await;
    let got = rx.wait_for("/src_e2e", 1, Duration::from_secs(20)).await;
    let req = &got[0];
    assert_eq!(std::str::from_utf8(&req.body).unwrap(), data);
    assert_eq!(req.header("content-type"), Some("application/json"));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(token.as_bytes()).unwrap();
    mac.update(data.as_bytes());
    let want = format!("v0={}", B64.encode(mac.finalize().into_bytes()));
    assert_eq!(req.header("x-hookdeck-signature"), Some(want.as_str()));
    let outpost_headers: serde_json::Map<String, Value> = req
        .headers
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("x-outpost-")
                .map(|k| (k.to_string(), Value::from(v.as_str())))
        })
        .collect();
    assert_metadata(&Value::Object(outpost_headers), &id, "order.paid", &md);
    let a = h.attempt(&id, 1).await;
    assert_eq!(
        (a["status"].as_str(), a["code"].as_str()),
        (Some("success"), Some("200")),
        "{a}"
    );
    assert_eq!(a["response_data"]["status_code"], 200, "{a}");
    assert_eq!(a["response_data"]["body"], "ok", "{a}");
    assert!(h.server.stop().success());
}

#[tokio::test]
async fn hookdeck_failures_record_status_or_error_and_retry() {
    let rx = Receiver::start().await;
    let h = harness(&rx).await;
    rx.script([Reply::Status(200, r#"{"name":"s"}"#.into())]);
    h.create(json!({"type": "hookdeck", "topics": ["rejected"],
                    "credentials": {"token": B64.encode("src_rej:k")}}))
        .await;
    // Token rejected by Hookdeck's API: the destination is not created.
    rx.script([Reply::Status(401, "{}".into())]);
    let (s, b) = h
        .api
        .call(
            reqwest::Method::POST,
            &format!("/tenants/{}/destinations", h.tenant),
            Some(json!({"type": "hookdeck", "topics": "*", "credentials": {"token": B64.encode("src_bad:k")}})),
        )
        .await;
    assert_eq!(s, 422, "{b}");

    rx.script([Reply::Status(503, "busy".into())]);
    let id = h.publish("rejected", r#"{"x":1}"#, json!({})).await;
    let a = h.attempt(&id, 1).await;
    assert_eq!(
        (a["status"].as_str(), a["code"].as_str()),
        (Some("failed"), Some("503")),
        "{a}"
    );
    assert_eq!(a["response_data"]["body"], "busy", "{a}");
    let retry = h.attempt(&id, 2).await;
    assert_eq!(retry["code"], "200", "the retry succeeds: {retry}");
    assert!(h.server.stop().success());

    // Unreachable ingestion endpoint: transport error code ERROR.
    let closed = format!("http://127.0.0.1:{}", crate::common::free_port());
    let h = DestHarness::start(&[
        ("DESTINATIONS_HOOKDECK_API_URL", rx.base.as_str()),
        ("DESTINATIONS_HOOKDECK_EVENTS_URL", closed.as_str()),
    ])
    .await;
    rx.script([Reply::Status(200, r#"{"name":"s"}"#.into())]);
    h.create(json!({"type": "hookdeck", "credentials": {"token": B64.encode("src_down:k")}}))
        .await;
    let id = h.publish("any", r#"{"x":1}"#, json!({})).await;
    let a = h.attempt(&id, 1).await;
    assert_eq!(
        (a["status"].as_str(), a["code"].as_str()),
        (Some("failed"), Some("ERROR")),
        "{a}"
    );
    assert!(h.server.stop().success());
}
