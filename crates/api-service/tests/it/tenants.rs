//! Tenants: upsert, get, delete, list and pagination, token and portal.

use crate::both_stores;
use crate::helpers::*;
use serde_json::json;

both_stores! {
    async fn upsert_get_delete(app) {
        let id = outpost_test_support::unique("t");
        let path = format!("/tenants/{id}");
        let r = app.put(&path, r#"{"metadata":{"plan":"pro","seats":5,"beta":true}}"#).await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.body["id"], id.as_str());
        assert_eq!(r.body["destinations_count"], 0);
        assert_eq!(r.body["topics"], json!([]));
        assert_eq!(r.body["metadata"], json!({"plan": "pro", "seats": "5", "beta": "true"}));
        let created = r.body["created_at"].clone();
        assert!(created.as_str().unwrap().ends_with('Z'));
        let r = app.put(&path, r#"{"metadata":{"plan":"team"}}"#).await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["metadata"], json!({"plan": "team"}), "metadata is replaced");
        assert_eq!(r.body["created_at"], created);
        let r = app.put(&path, "").await;
        assert_eq!(r.status, 200);
        assert!(r.body.get("metadata").is_none(), "omitting metadata clears it: {}", r.text);
        assert_eq!(app.get(&path).await.body["id"], id.as_str());
        // Bad bodies change nothing.
        assert_error(&app.put(&path, "{not json").await, 422, "invalid JSON");
        assert_error(&app.put(&path, r#"{"metadata":"x"}"#).await, 422, "invalid JSON");
        assert_error(&app.put(&path, "[1]").await, 422, "invalid JSON");
        assert!(app.get(&path).await.body.get("metadata").is_none());
        let r = app.delete(&path).await;
        assert_eq!((r.status.as_u16(), r.body.clone()), (200, json!({"success": true})));
        assert_error(&app.get(&path).await, 404, "tenant not found");
        assert_error(&app.delete(&path).await, 404, "tenant not found");
        // Recreated fresh.
        assert_eq!(app.put(&path, "").await.status, 201);
        let r = app.put("/tenants/bad%20id", "").await;
        assert_error(&r, 422, "validation error");
    }

    async fn delete_cascades_to_destinations(app) {
        let t = app.tenant().await;
        let d = app.webhook(&t, r#"["*"]"#).await;
        assert_eq!(app.get(&format!("/tenants/{t}")).await.body["destinations_count"], 1);
        assert_eq!(app.delete(&format!("/tenants/{t}")).await.status, 200);
        assert_eq!(app.put(&format!("/tenants/{t}"), "").await.status, 201);
        assert_eq!(app.get(&format!("/tenants/{t}/destinations")).await.body, json!([]));
        assert_empty(&app.get(&format!("/tenants/{t}/destinations/{}", d["id"].as_str().unwrap())).await, 404);
    }

    async fn list_with_pagination(app) {
        let mut ids = Vec::new();
        for _ in 0..5 {
            ids.push(app.tenant().await);
            tokio::time::sleep(std::time::Duration::from_millis(3)).await;
        }
        let filter: String = ids.iter().enumerate().map(|(i, id)| format!("&id[{i}]={id}")).collect();
        let r = app.get(&format!("/tenants?limit=2{filter}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["count"], 5);
        assert_eq!(r.body["pagination"]["order_by"], "created_at");
        assert_eq!(r.body["pagination"]["dir"], "desc");
        assert_eq!(r.body["pagination"]["limit"], 2);
        assert!(r.body["pagination"]["prev"].is_null());
        let page1: Vec<&str> = r.body["models"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
        assert_eq!(page1, [ids[4].as_str(), ids[3].as_str()]);
        let next = r.body["pagination"]["next"].as_str().unwrap().to_string();
        let r2 = app.get(&format!("/tenants?limit=2&next={next}{filter}")).await;
        let page2: Vec<&str> = r2.body["models"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
        assert_eq!(page2, [ids[2].as_str(), ids[1].as_str()]);
        let prev = r2.body["pagination"]["prev"].as_str().unwrap().to_string();
        let back = app.get(&format!("/tenants?limit=2&prev={prev}{filter}")).await;
        assert_eq!(back.body["models"], r.body["models"]);
        let asc = app.get(&format!("/tenants?dir=asc&limit=100{filter}")).await;
        assert_eq!(asc.body["models"][0]["id"], ids[0].as_str());
        assert!(asc.body["pagination"]["next"].is_null());
        // Unfiltered: every tenant of this store appears once across pages.
        let all = app.get("/tenants?limit=100").await;
        assert!(all.body["count"].as_u64().unwrap() >= 5);
    }

    async fn list_parameter_errors(app) {
        assert_error(&app.get("/tenants?limit=abc").await, 400, "invalid limit: must be an integer");
        assert_error(&app.get("/tenants?limit=0").await, 400, "invalid limit: must be between 1 and 100");
        assert_error(&app.get("/tenants?limit=101").await, 400, "invalid limit: must be between 1 and 100");
        let r = app.get("/tenants?dir=sideways").await;
        assert_error(&r, 422, "validation error");
        assert_eq!(r.body["data"], json!({"query.dir": "must be 'asc' or 'desc'"}));
        assert_error(&app.get("/tenants?next=a&prev=b").await, 400, "cannot specify both 'next' and 'prev' cursors");
        assert_error(&app.get("/tenants?next=!!!").await, 400, "invalid cursor");
        let evt = outpost_core::cursor::encode("tnt", "02", "1");
        assert_error(&app.get(&format!("/tenants?next={evt}")).await, 400, "cursor version mismatch: expected version 01");
    }

    async fn token_and_portal(app) {
        let t = app.tenant().await;
        let r = app.get(&format!("/tenants/{t}/token")).await;
        assert_eq!(r.body["tenant_id"], t.as_str());
        let claims = outpost_api::jwt::verify(JWT_SECRET, r.body["token"].as_str().unwrap(), now()).unwrap();
        assert_eq!(claims.sub, t);
        assert_eq!(claims.iss, "outpost");
        assert_eq!(claims.exp - claims.iat, 24 * 3600);
        let r = app.get(&format!("/tenants/{t}/portal?theme=dark")).await;
        assert_eq!(r.body["tenant_id"], t.as_str());
        let url = r.body["redirect_url"].as_str().unwrap();
        let host = app.base.trim_start_matches("http://");
        assert!(url.starts_with(&format!("http://{host}?token=")), "{url}");
        assert!(url.ends_with("&theme=dark"), "{url}");
        assert_error(&app.get("/tenants/missing-tenant/token").await, 404, "tenant not found");
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
