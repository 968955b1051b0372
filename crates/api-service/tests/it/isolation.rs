//! Tenant isolation on every route: a tenant's token never reads, changes, retries or publishes
//! another tenant's resources, whatever ids it names, and the other tenant's data is unchanged
//! afterwards.

use crate::both_stores;
use crate::logs::entry;
use reqwest::Method;

both_stores! {
    async fn a_tenant_token_reaches_nothing_of_another_tenant(app) {
        let mine = app.tenant().await;
        let other = app.tenant().await;
        let my_dest = app.webhook(&mine, r#"["*"]"#).await["id"].as_str().unwrap().to_string();
        let their_dest = app.webhook(&other, r#"["*"]"#).await;
        let did = their_dest["id"].as_str().unwrap().to_string();
        let base = 1_700_000_000_000i64;
        app.logs
            .insert(&[
                entry(&other, "their-evt", &did, 1, false, base, "a"),
                entry(&mine, "my-evt", &my_dest, 1, true, base, "a"),
            ])
            .await
            .unwrap();
        let their_attempt = format!("their-evt-{did}-1");
        let token = app.token(&mine).await;
        let t = Some(token.as_str());

        let denied: Vec<(Method, String, Option<String>)> = vec![
            (Method::GET, format!("/tenants/{other}"), None),
            (Method::PUT, format!("/tenants/{other}"), Some("{}".into())),
            (Method::DELETE, format!("/tenants/{other}"), None),
            (Method::GET, format!("/tenants/{other}/destinations"), None),
            (
                Method::POST,
                format!("/tenants/{other}/destinations"),
                Some(r#"{"type":"webhook","topics":["*"],"config":{"url":"https://evil.example"}}"#.into()),
            ),
            (Method::GET, format!("/tenants/{other}/destinations/{did}"), None),
            (
                Method::PATCH,
                format!("/tenants/{other}/destinations/{did}"),
                Some(r#"{"config":{"url":"https://evil.example"}}"#.into()),
            ),
            (Method::DELETE, format!("/tenants/{other}/destinations/{did}"), None),
            (Method::PUT, format!("/tenants/{other}/destinations/{did}/disable"), None),
            (Method::PUT, format!("/tenants/{other}/destinations/{did}/enable"), None),
            (Method::GET, format!("/tenants/{other}/destinations/{did}/attempts"), None),
            (
                Method::GET,
                format!("/tenants/{other}/destinations/{did}/attempts/{their_attempt}"),
                None,
            ),
            (Method::GET, format!("/tenants/{other}/token"), None),
            (Method::GET, format!("/tenants/{other}/portal"), None),
        ];
        for (method, path, body) in &denied {
            let r = app.call(method.clone(), path, t, body.as_deref()).await;
            assert_eq!(r.status, 403, "{method} {path}: {}", r.text);
            assert!(!r.text.contains(&did) && !r.text.contains("their-evt"), "{method} {path} leaked: {}", r.text);
        }

        // Routes that take ids without a tenant in the path: the other tenant's ids are not
        // found, and filters naming the other tenant are refused or ignored, never served.
        let window = "time[start]=2023-01-01T00:00:00Z&time[end]=2030-01-01T00:00:00Z&measures[]=count";
        let probes: Vec<(Method, String, Option<String>, u16)> = vec![
            (Method::GET, "/events/their-evt".into(), None, 404),
            (Method::GET, format!("/attempts/{their_attempt}"), None, 404),
            (Method::GET, format!("/tenants/{mine}/destinations/{did}"), None, 404),
            (Method::GET, format!("/tenants/{mine}/destinations/{did}/attempts/{their_attempt}"), None, 404),
            (Method::GET, format!("/events?tenant_id={other}"), None, 403),
            (Method::GET, format!("/attempts?tenant_id={other}"), None, 403),
            (Method::GET, format!("/metrics/attempts?filters[tenant_id]={other}&{window}"), None, 403),
            (Method::GET, format!("/metrics/events?filters[tenant_id]={other}&{window}"), None, 403),
            (
                Method::POST,
                "/retry".into(),
                Some(format!(r#"{{"event_id":"their-evt","destination_id":"{did}"}}"#)),
                404,
            ),
            (
                Method::POST,
                "/publish".into(),
                Some(format!(r#"{{"tenant_id":"{other}","topic":"a","data":{{"x":1}}}}"#)),
                403,
            ),
        ];
        for (method, path, body, status) in &probes {
            let r = app.call(method.clone(), path, t, body.as_deref()).await;
            assert_eq!(r.status, *status, "{method} {path}: {}", r.text);
            assert!(
                !r.text.contains(&did) && !r.text.contains("their-evt"),
                "{method} {path} leaked the other tenant's data: {}",
                r.text
            );
        }
        // Filters naming the other tenant's destination are served from the caller's own data.
        for path in [
            format!("/attempts?destination_id={did}"),
            format!("/events?destination_id={did}"),
        ] {
            let r = app.call(Method::GET, &path, t, None).await;
            assert_eq!(r.status, 200, "{path}: {}", r.text);
            assert_eq!(r.body["models"], serde_json::json!([]), "{path}: {}", r.text);
        }
        // Metrics are always the caller's: the other tenant's destination counts nothing, while
        // the caller's own attempt is counted.
        for (path, want) in [
            (format!("/metrics/attempts?filters[destination_id]={did}&{window}"), 0),
            (format!("/metrics/attempts?{window}"), 1),
        ] {
            let r = app.call(Method::GET, &path, t, None).await;
            assert_eq!(r.status, 200, "{path}: {}", r.text);
            let count: u64 = r.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|row| row["metrics"]["count"].as_u64().unwrap())
                .sum();
            assert_eq!(count, want, "{path}: {}", r.text);
        }
        assert!(app.tasks().await.is_empty(), "nothing was queued for the other tenant");

        // The other tenant is intact.
        let r = app.get(&format!("/tenants/{other}/destinations/{did}")).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["config"], their_dest["config"]);
        assert_eq!(r.body["disabled_at"], their_dest["disabled_at"]);
        assert_eq!(app.get(&format!("/tenants/{other}")).await.status, 200);
    }
}
