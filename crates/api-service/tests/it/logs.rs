//! Events, attempts and manual retry over the log store.

use crate::helpers::*;
use crate::log_stores;
use outpost_core::event::{Attempt, AttemptStatus, Event, LogEntry};
use outpost_core::time::from_unix_ms;
use reqwest::Method;
use serde_json::json;

pub fn entry(
    tenant: &str,
    event: &str,
    dest: &str,
    n: u32,
    ok: bool,
    ms: i64,
    topic: &str,
) -> LogEntry {
    let e: Event = serde_json::from_value(json!({
        "id": event, "tenant_id": tenant, "topic": topic, "eligible_for_retry": true,
        "time": outpost_core::time::format_rfc3339_nano(&from_unix_ms(ms)),
        "metadata": {"k": "v"}, "matched_destination_ids": [dest], "data": {"n": n}
    }))
    .unwrap();
    LogEntry {
        event: e,
        attempt: Attempt {
            id: format!("{event}-{dest}-{n}"),
            tenant_id: tenant.into(),
            event_id: event.into(),
            destination_id: dest.into(),
            destination_type: "webhook".into(),
            attempt_number: n,
            manual: false,
            status: if ok {
                AttemptStatus::Success
            } else {
                AttemptStatus::Failed
            },
            time: from_unix_ms(ms + i64::from(n) * 1000),
            code: if ok { "200".into() } else { "503".into() },
            response_data: Some(json!({"status": if ok { 200 } else { 503 }, "body": "b"})),
            duration_ms: Some(if ok { 20 } else { 60 }),
        },
        destination: None,
        telemetry: None,
    }
}

log_stores! {
    async fn events_and_attempts(app) {
        let t = app.tenant().await;
        let other = app.tenant().await;
        let d = app.webhook(&t, r#"["*"]"#).await;
        let did = d["id"].as_str().unwrap().to_string();
        let base = 1_700_000_000_000i64;
        let mut entries = Vec::new();
        for i in 0..5 {
            entries.push(entry(&t, &format!("e{i}"), &did, 1, i % 2 == 0, base + i * 10_000, if i < 3 { "a" } else { "b" }));
        }
        entries.push(entry(&t, "e1", &did, 2, true, base + 10_000, "a"));
        entries.push(entry(&other, "x1", "dx", 1, true, base, "a"));
        app.logs.insert(&entries).await.unwrap();

        let r = app.get(&format!("/events?tenant_id={t}&limit=2")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let ids: Vec<&str> = r.body["models"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["e4", "e3"], "newest first");
        assert_eq!(r.body["pagination"]["order_by"], "time");
        assert_eq!(r.body["models"][0]["data"], json!({"n": 1}));
        assert_eq!(r.body["models"][0]["matched_destination_ids"], json!([did]));
        let next = r.body["pagination"]["next"].as_str().unwrap();
        let r2 = app.get(&format!("/events?tenant_id={t}&limit=2&next={next}")).await;
        let ids: Vec<&str> = r2.body["models"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["e2", "e1"]);
        let prev = r2.body["pagination"]["prev"].as_str().unwrap();
        let back = app.get(&format!("/events?tenant_id={t}&limit=2&prev={prev}")).await;
        assert_eq!(back.body["models"], r.body["models"]);
        let r = app.get(&format!("/events?tenant_id={t}&topic=b&dir=asc")).await;
        let ids: Vec<&str> = r.body["models"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["e3", "e4"]);
        let r = app.get(&format!("/events?tenant_id={t}&time[gte]=2023-11-14T22:13:30Z&time[lt]=2023-11-14T22:13:50Z")).await;
        assert_eq!(r.body["models"].as_array().unwrap().len(), 2, "{}", r.text);
        let r = app.get("/events?time[any]=2024-01-01").await;
        assert_error(&r, 400, "operator 'any' is not supported, use 'gte', 'lte', 'gt', or 'lt'");
        let r = app.get("/events?time[gte]=soon").await;
        assert_error(&r, 422, "validation error");
        assert!(r.body["data"]["query.time[gte]"].as_str().unwrap().starts_with("invalid format"));
        let r = app.get("/events?order_by=topic").await;
        assert_eq!(r.body["data"], json!({"query.order_by": "must be one of: [time]"}));
        for bad in ["abc", "0", "-5", "null", "1.5"] {
            let r = app.get(&format!("/events?limit={bad}")).await;
            assert_error(&r, 422, "validation error");
            assert_eq!(r.body["data"], json!({"query.limit": "must be a positive integer"}), "limit={bad}");
            let r = app.get(&format!("/attempts?limit={bad}")).await;
            assert_eq!(r.body["data"], json!({"query.limit": "must be a positive integer"}), "limit={bad}");
        }
        let r = app.get(&format!("/events?tenant_id={t}&limit=")).await;
        assert_eq!(r.body["pagination"]["limit"], 100, "empty means the default");
        let r = app.get(&format!("/events?tenant_id={t}&limit=5000")).await;
        assert_eq!(r.body["pagination"]["limit"], 1000, "capped");
        assert_error(&app.get("/events/nope").await, 404, "event not found");
        assert_eq!(app.get("/events/e1").await.body["id"], "e1");
        assert_error(&app.get(&format!("/events/x1?tenant_id={t}")).await, 404, "event not found");

        // Attempts: filters and include options.
        let r = app.get(&format!("/attempts?tenant_id={t}&status=failed")).await;
        let ids: Vec<&str> = r.body["models"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 2, "{ids:?}");
        assert!(r.body["models"][0].get("response_data").is_none());
        assert!(r.body["models"][0].get("event").is_none());
        let r = app.get("/attempts?event_id=e1&include[]=event.data&include[]=response_data&include[]=destination").await;
        let m = &r.body["models"][0];
        assert_eq!(m["attempt_number"], 2);
        assert_eq!(m["response_data"]["status"], 200);
        assert_eq!(m["event"]["data"], json!({"n": 2}));
        assert_eq!(m["destination"]["id"], did.as_str());
        assert_eq!(m["destination_type"], "webhook");
        let r = app.get(&format!("/attempts/e1-{did}-1?include=event")).await;
        assert_eq!(r.body["event"]["topic"], "a");
        assert!(r.body["event"].get("data").is_none());
        assert_error(&app.get("/attempts/none").await, 404, "attempt not found");
        let r = app.get(&format!("/tenants/{t}/destinations/{did}/attempts?limit=3")).await;
        assert_eq!(r.body["models"].as_array().unwrap().len(), 3);
        assert!(r.body["pagination"]["next"].is_string());
        let r = app.get(&format!("/tenants/{t}/destinations/{did}/attempts/e0-{did}-1")).await;
        assert_eq!(r.body["status"], "success");
        assert_error(&app.get(&format!("/tenants/{t}/destinations/other/attempts/e0-{did}-1")).await, 404, "attempt not found");

        // A tenant token sees only its own log.
        let token = app.token(&other).await;
        let r = app.call(Method::GET, "/events", Some(&token), None).await;
        let ids: Vec<&str> = r.body["models"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
        assert_eq!(ids, ["x1"]);
        let r = app.call(Method::GET, &format!("/events?tenant_id={t}"), Some(&token), None).await;
        assert_error(&r, 403, "tenant_id query parameter does not match authenticated tenant");
        assert_error(&app.call(Method::GET, "/events/e1", Some(&token), None).await, 404, "event not found");
        assert_error(&app.call(Method::GET, &format!("/attempts/e1-{did}-1"), Some(&token), None).await, 404, "attempt not found");
    }

    async fn manual_retry(app) {
        let t = app.tenant().await;
        let d = app.webhook(&t, r#"["a"]"#).await;
        let did = d["id"].as_str().unwrap().to_string();
        app.logs.insert(&[entry(&t, "ev", &did, 1, false, 1_700_000_000_000, "a"), entry(&t, "ev", &did, 2, false, 1_700_000_000_000, "a")]).await.unwrap();
        let r = app.post("/retry", &format!(r#"{{"event_id":"ev","destination_id":"{did}"}}"#)).await;
        assert_eq!((r.status.as_u16(), r.body.clone()), (202, json!({"success": true})));
        let tasks = app.tasks().await;
        assert_eq!(tasks.len(), 1);
        assert_eq!((tasks[0].attempt, tasks[0].manual), (3, true));
        assert_eq!(tasks[0].event.id, "ev");
        assert_eq!(tasks[0].destination_id, did);
        let r = app.post("/retry", r#"{"event_id":"ev"}"#).await;
        assert_eq!(r.body["data"], json!(["destination_id is required"]));
        assert_error(&app.post("/retry", &format!(r#"{{"event_id":"nope","destination_id":"{did}"}}"#)).await, 404, "event not found");
        // Another tenant's token cannot retry it.
        let other = app.tenant().await;
        let token = app.token(&other).await;
        let r = app.call(Method::POST, "/retry", Some(&token), Some(&format!(r#"{{"event_id":"ev","destination_id":"{did}"}}"#))).await;
        assert_error(&r, 404, "event not found");
        // Topic no longer matching.
        app.patch(&format!("/tenants/{t}/destinations/{did}"), r#"{"topics":["b"]}"#).await;
        assert_error(&app.post("/retry", &format!(r#"{{"event_id":"ev","destination_id":"{did}"}}"#)).await, 400, "destination does not match event");
        // Disabled.
        app.admin(Method::PUT, &format!("/tenants/{t}/destinations/{did}/disable"), None).await;
        let r = app.post("/retry", &format!(r#"{{"event_id":"ev","destination_id":"{did}"}}"#)).await;
        assert_error(&r, 400, "Destination is disabled");
        assert_eq!(r.body["data"], json!({"error": "destination_disabled"}));
        // Deleted.
        app.delete(&format!("/tenants/{t}/destinations/{did}")).await;
        assert_error(&app.post("/retry", &format!(r#"{{"event_id":"ev","destination_id":"{did}"}}"#)).await, 404, "destination not found");
        assert!(app.tasks().await.is_empty());
    }
}
