//! The e2e API client and the settings every e2e server starts with.

use serde_json::{Value, json};

/// The admin key of e2e servers (long and unique, so the secrets test can look for it).
pub const KEY: &str = "Sup3rSecretAdminKey-e2e";

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
