//! `POST /publish`: routing, task enqueueing, idempotency, errors.

use crate::both_stores;
use crate::helpers::*;
use outpost_core::ports::Idempotency;
use reqwest::Method;
use serde_json::json;

both_stores! {
    async fn publish_routes_and_enqueues(app) {
        let t = app.tenant().await;
        let a = app.webhook(&t, r#"["user.created"]"#).await;
        let b = app.webhook(&t, r#"["*"]"#).await;
        app.webhook(&t, r#"["order.paid"]"#).await;
        let filtered = app
            .post(&format!("/tenants/{t}/destinations"), r#"{"type":"webhook","topics":["*"],"config":{"url":"https://f.example"},"filter":{"metadata":{"region":"eu"}}}"#)
            .await
            .body;
        let off = app.webhook(&t, r#"["*"]"#).await;
        app.admin(Method::PUT, &format!("/tenants/{t}/destinations/{}/disable", off["id"].as_str().unwrap()), None).await;
        let body = format!(r#"{{"id":"e1","tenant_id":"{t}","topic":"user.created","metadata":{{"region":"us"}},"data":{{"x": 1}}}}"#);
        let r = app.post("/publish", &body).await;
        assert_eq!(r.status, 202, "{}", r.text);
        let mut ids: Vec<String> = r.body["destination_ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
        ids.sort();
        let mut want = vec![a["id"].as_str().unwrap().to_string(), b["id"].as_str().unwrap().to_string()];
        want.sort();
        assert_eq!(ids, want);
        assert_eq!(r.body["duplicate"], false);
        let tasks = app.tasks().await;
        assert_eq!(tasks.len(), 2);
        for task in &tasks {
            assert_eq!(task.attempt, 1);
            assert!(!task.manual);
            assert_eq!(task.event.id, "e1");
            assert_eq!(task.event.data.get(), r#"{"x": 1}"#, "data bytes kept");
            assert!(task.event.eligible_for_retry);
            assert_eq!(task.event.matched_destination_ids.len(), 2);
        }
        // Same id again: a duplicate, nothing enqueued.
        let r = app.post("/publish", &body).await;
        assert_eq!((r.status.as_u16(), r.body["duplicate"].clone()), (202, json!(true)));
        assert!(app.tasks().await.is_empty());
        // The filter matches on metadata.
        let r = app.post("/publish", &format!(r#"{{"tenant_id":"{t}","topic":"x","metadata":{{"region":"eu"}},"data":{{}}}}"#)).await;
        assert!(r.body["destination_ids"].as_array().unwrap().contains(&filtered["id"]));
        assert!(!r.body["id"].as_str().unwrap().is_empty(), "id generated");
        app.tasks().await;
    }

    async fn publish_errors_and_auth(app) {
        let t = app.tenant().await;
        let token = app.token(&t).await;
        let body = format!(r#"{{"tenant_id":"{t}","data":{{}}}}"#);
        assert_empty(&app.call(Method::POST, "/publish", Some(&token), Some(&body)).await, 403);
        assert_empty(&app.call(Method::POST, "/publish", None, Some(&body)).await, 401);
        let r = app.post("/publish", r#"{"tenant_id":"t","data":"text"}"#).await;
        assert_error(&r, 422, "validation error");
        assert_eq!(r.body["data"], json!(["data must be a valid JSON object"]));
        let r = app.post("/publish", r#"{"tenant_id":"t"}"#).await;
        assert_eq!(r.body["data"], json!(["data is required"]));
        assert_error(&app.post("/publish", r#"{"tenant_id":"t","data":{},"eligible_for_retry":"yes"}"#).await, 422, "invalid JSON");
        assert_error(&app.post("/publish", "nope").await, 422, "invalid JSON");
        let r = app.post("/publish", r#"{"tenant_id":"t","data":{},"time":"yesterday"}"#).await;
        assert_error(&r, 422, "validation error");
        // Unknown tenant: accepted, nothing matched, nothing enqueued.
        let r = app.post("/publish", r#"{"tenant_id":"nobody","data":{}}"#).await;
        assert_eq!((r.status.as_u16(), r.body["destination_ids"].clone()), (202, json!([])));
        assert!(app.tasks().await.is_empty());
        // Over the body limit: a JSON 413 naming the limit, and nothing enqueued.
        let huge = format!(r#"{{"tenant_id":"{t}","data":{{"x":"{}"}}}}"#, "a".repeat(1024 * 1024));
        assert_error(&app.post("/publish", &huge).await, 413, "request body too large: the limit is 1048576 bytes");
        assert!(app.tasks().await.is_empty());
    }
}

#[tokio::test]
async fn configured_topics_are_enforced_on_publish() {
    let app = spawn(Store::Memory, |s| s.topics.topics = vec!["a".into()]).await;
    let r = app.post("/publish", r#"{"tenant_id":"t","data":{}}"#).await;
    assert_eq!(r.body["data"], json!(["topic is required"]));
    let r = app
        .post("/publish", r#"{"tenant_id":"t","topic":"b","data":{}}"#)
        .await;
    assert_eq!(r.body["data"], json!(["topic is invalid"]));
    assert_eq!(
        app.post("/publish", r#"{"tenant_id":"t","topic":"a","data":{}}"#)
            .await
            .status,
        202
    );
}

#[tokio::test]
async fn concurrent_publish_of_the_same_id_conflicts() {
    let app = spawn(Store::Memory, |s| s.idgen.event_prefix = "evt_".into()).await;
    let t = app.tenant().await;
    app.webhook(&t, r#"["*"]"#).await;
    // Another publish of "busy" is in progress (its claim is held).
    app.idempotency.claim("busy").await.unwrap();
    let started = std::time::Instant::now();
    let r = app
        .post(
            "/publish",
            &format!(r#"{{"id":"busy","tenant_id":"{t}","data":{{}}}}"#),
        )
        .await;
    assert_empty(&r, 409);
    assert!(started.elapsed() >= std::time::Duration::from_secs(4));
    assert!(app.tasks().await.is_empty());
    let r = app
        .post("/publish", &format!(r#"{{"tenant_id":"{t}","data":{{}}}}"#))
        .await;
    assert!(
        r.body["id"].as_str().unwrap().starts_with("evt_"),
        "IDGEN_EVENT_PREFIX"
    );
}

/// A tenant over its share of tasks a second goes to the busy delivery lane; another tenant's
/// tasks stay in deliverymq (`outpost_core::lanes`).
#[tokio::test]
async fn a_tenant_over_its_share_goes_to_the_busy_lane() {
    let app = spawn_with_lane(Store::Memory, |_| {}, Some(1)).await;
    let busy = app.tenant().await;
    app.webhook(&busy, r#"["*"]"#).await;
    app.webhook(&busy, r#"["*"]"#).await;
    let quiet = app.tenant().await;
    app.webhook(&quiet, r#"["*"]"#).await;
    // Two tasks in one publish: past the limit of one a second.
    let r = app
        .post(
            "/publish",
            &format!(r#"{{"id":"b1","tenant_id":"{busy}","topic":"x","data":{{}}}}"#),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let r = app
        .post(
            "/publish",
            &format!(r#"{{"id":"q1","tenant_id":"{quiet}","topic":"x","data":{{}}}}"#),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    let main: Vec<_> = app.tasks().await.into_iter().map(|t| t.event.id).collect();
    assert_eq!(main, ["q1"]);
    let lane = App::tasks_in(app.busy.as_ref().unwrap()).await;
    let lane: Vec<_> = lane.into_iter().map(|t| t.event.id).collect();
    assert_eq!(lane, ["b1", "b1"]);
}
