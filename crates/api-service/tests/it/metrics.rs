//! `GET /metrics/events` and `/metrics/attempts`.

use crate::helpers::*;
use crate::log_stores;
use crate::logs::entry;
use reqwest::Method;
use serde_json::json;

// 2023-11-14T22:13:20Z
const BASE: i64 = 1_700_000_000_000;

log_stores! {
    async fn metrics_by_bucket_and_dimension(app) {
        let t = app.tenant().await;
        let mut entries = Vec::new();
        // Three events in the first hour (one failed), one in the third hour; a retry of e0.
        for (i, ok, offset_min) in [(0, false, 0i64), (1, true, 10), (2, true, 20), (3, true, 130)] {
            entries.push(entry(&t, &format!("e{i}"), "d1", 1, ok, BASE + offset_min * 60_000, "a"));
        }
        entries.push(entry(&t, "e0", "d1", 2, true, BASE, "a"));
        app.logs.insert(&entries).await.unwrap();
        let q = |kind: &str, rest: &str| format!("/metrics/{kind}?time[start]=2023-11-14T22:00:00Z&time[end]=2023-11-15T01:00:00Z&{rest}");
        let r = app.get(&q("events", "granularity=1h&measures[]=count&measures[]=rate")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let data = r.body["data"].as_array().unwrap();
        assert_eq!(data.len(), 3, "zero-filled hourly buckets: {}", r.text);
        assert_eq!(data[0]["time_bucket"], "2023-11-14T22:00:00Z");
        assert_eq!(data[0]["metrics"]["count"], 3);
        assert_eq!(data[1]["metrics"]["count"], 0);
        assert_eq!(data[2]["metrics"]["count"], 1);
        assert!((data[0]["metrics"]["rate"].as_f64().unwrap() - 3.0 / 3600.0).abs() < 1e-9);
        assert_eq!(r.body["metadata"]["granularity"], "1h");
        assert_eq!(r.body["metadata"]["row_count"], 3);
        assert_eq!(r.body["metadata"]["truncated"], false);
        let r = app.get(&q("attempts", "measures[]=count&measures[]=failed_count&measures[]=error_rate&measures[]=retry_count&measures[]=first_attempt_count&dimensions[]=status")).await;
        let data = r.body["data"].as_array().unwrap();
        let failed = data.iter().find(|d| d["dimensions"]["status"] == "failed").unwrap();
        let success = data.iter().find(|d| d["dimensions"]["status"] == "success").unwrap();
        assert_eq!(failed["metrics"]["count"], 1);
        assert_eq!(failed["metrics"]["error_rate"], 1.0);
        assert_eq!(success["metrics"]["count"], 4);
        assert_eq!(success["metrics"]["retry_count"], 1);
        assert_eq!(success["metrics"]["first_attempt_count"], 3);
        assert!(data[0].get("time_bucket").is_none());
        // Send durations (ours): four successes of 20 ms, one failure of 60 ms.
        let r = app.get(&q("attempts", "measures[]=avg_duration_ms&measures[]=max_duration_ms")).await;
        assert_eq!(r.body["data"][0]["metrics"], serde_json::json!({"avg_duration_ms": 28.0, "max_duration_ms": 60}), "{}", r.text);
        let r = app.get(&q("attempts", "measures[]=avg_duration_ms&dimensions[]=status&filters[status][]=failed")).await;
        assert_eq!(r.body["data"][0]["metrics"]["avg_duration_ms"], 60.0, "{}", r.text);
        let r = app.get(&q("attempts", "measures[]=count&dimensions[]=attempt_number&filters[status][]=success")).await;
        let data = r.body["data"].as_array().unwrap();
        let two = data.iter().find(|d| d["dimensions"]["attempt_number"] == 2).unwrap();
        assert_eq!(two["metrics"]["count"], 1);
        let r = app.get(&q("events", "measures[]=count&dimensions[]=destination_id")).await;
        assert_eq!(r.body["data"][0]["dimensions"]["destination_id"], "d1");
        assert_eq!(r.body["data"][0]["metrics"]["count"], 4);
        // A tenant token sees only its own tenant.
        let other = app.tenant().await;
        let token = app.token(&other).await;
        let r = app.call(Method::GET, &q("events", "measures[]=count"), Some(&token), None).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["data"], json!([]));
        let r = app.call(Method::GET, &q("events", "measures[]=count&dimensions[]=tenant_id"), Some(&token), None).await;
        assert_error(&r, 403, "tenant_id dimension is not allowed for tenant-scoped requests");
        let r = app.call(Method::GET, &q("events", &format!("measures[]=count&filters[tenant_id][]={t}")), Some(&token), None).await;
        assert_error(&r, 403, "filters[tenant_id] does not match authenticated tenant");
    }

    async fn metrics_parameter_errors(app) {
        let base = "/metrics/attempts?time[start]=2024-01-01T00:00:00Z&time[end]=2024-01-02T00:00:00Z";
        assert_error(&app.get("/metrics/events?measures[]=count").await, 400, "time[start] and time[end] are required");
        assert_error(&app.get("/metrics/events?time[start]=2024-01-02T00:00:00Z&time[end]=2024-01-01T00:00:00Z&measures[]=count").await, 400, "invalid time range: start must be before end");
        assert_error(&app.get(base).await, 400, "at least one measures[] is required");
        assert_error(&app.get(&format!("{base}&measures[]=volume")).await, 400, "unknown measure \"volume\"");
        assert_error(&app.get(&format!("{base}&measures[]=count&dimensions[]=color")).await, 400, "unknown dimension \"color\"");
        let r = app.get(&format!("{base}&measures[]=count&granularity=25h")).await;
        assert_eq!(r.status, 400);
        assert!(r.body["message"].as_str().unwrap().contains("granularity"));
        let r = app.get("/metrics/attempts?time[start]=2000-01-01T00:00:00Z&time[end]=2024-01-01T00:00:00Z&measures[]=count&granularity=1s").await;
        assert_error(&r, 400, "query too broad: try fewer dimensions, more filters, or a shorter time range");
        assert_error(&app.get("/metrics/events?time[start]=2024-01-01T00:00:00Z&time[end]=2024-01-02T00:00:00Z&measures[]=failed_count").await, 400, "unknown measure \"failed_count\"");
    }
}
