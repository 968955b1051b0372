//! Authentication rules: admin key, tenant JWTs, VPC mode.

use crate::both_stores;
use crate::helpers::*;
use reqwest::Method;

both_stores! {
    async fn missing_or_bad_credentials_are_401(app) {
        assert_empty(&app.call(Method::GET, "/topics", None, None).await, 401);
        assert_empty(&app.call(Method::GET, "/topics", Some(""), None).await, 401);
        assert_empty(&app.call(Method::GET, "/topics", Some("wrong-key"), None).await, 401);
        let r = app.http.get(format!("{}/api/v1/topics", app.base)).header("Authorization", KEY).send().await.unwrap();
        assert_eq!(r.status(), 401, "key without Bearer prefix");
        // A JWT signed with another secret.
        let foreign = outpost_api::jwt::issue("other-secret", "t", None, chrono_now());
        assert_empty(&app.call(Method::GET, "/topics", Some(&foreign), None).await, 401);
        // An expired JWT.
        let old = outpost_api::jwt::issue(JWT_SECRET, "t", None, chrono_now() - 2 * 24 * 3600);
        assert_empty(&app.call(Method::GET, "/topics", Some(&old), None).await, 401);
    }

    async fn tenant_jwt_scope(app) {
        let mine = app.tenant().await;
        let other = app.tenant().await;
        let token = app.token(&mine).await;
        let t = Some(token.as_str());
        assert_eq!(app.call(Method::GET, &format!("/tenants/{mine}"), t, None).await.status, 200);
        assert_eq!(app.call(Method::GET, "/topics", t, None).await.status, 200);
        assert_eq!(app.call(Method::GET, "/destination-types", t, None).await.status, 200);
        // Another tenant's routes: 403, empty body, nothing changed.
        assert_empty(&app.call(Method::GET, &format!("/tenants/{other}"), t, None).await, 403);
        assert_empty(&app.call(Method::GET, &format!("/tenants/{other}/destinations"), t, None).await, 403);
        let body = r#"{"type":"webhook","topics":["*"],"config":{"url":"https://evil.example"}}"#;
        assert_empty(&app.call(Method::POST, &format!("/tenants/{other}/destinations"), t, Some(body)).await, 403);
        assert_empty(&app.call(Method::DELETE, &format!("/tenants/{other}"), t, None).await, 403);
        assert_empty(&app.call(Method::PUT, &format!("/tenants/{other}"), t, Some("{}")).await, 403);
        assert_eq!(app.get(&format!("/tenants/{other}/destinations")).await.body, serde_json::json!([]));
        // Admin-only routes.
        assert_empty(&app.call(Method::GET, &format!("/tenants/{mine}/token"), t, None).await, 403);
        assert_empty(&app.call(Method::GET, &format!("/tenants/{mine}/portal"), t, None).await, 403);
        // Listing tenants with a JWT shows only the caller.
        let r = app.call(Method::GET, "/tenants", t, None).await;
        assert_eq!(r.body["count"], 1);
        assert_eq!(r.body["models"][0]["id"], mine.as_str());
        assert_eq!(r.body["pagination"]["dir"], "desc");
        // A token of a deleted tenant is stale.
        assert_eq!(app.delete(&format!("/tenants/{mine}")).await.status, 200);
        assert_empty(&app.call(Method::GET, "/topics", t, None).await, 401);
    }

    async fn tenant_cannot_set_timestamps_or_secrets(app) {
        let tenant = app.tenant().await;
        let token = app.token(&tenant).await;
        let t = Some(token.as_str());
        let path = format!("/tenants/{tenant}/destinations");
        let body = r#"{"type":"webhook","topics":["*"],"config":{"url":"https://a.example"},"created_at":"2024-01-01T00:00:00Z"}"#;
        assert_error(&app.call(Method::POST, &path, t, Some(body)).await, 403, "created_at and updated_at can only be set with API key authentication");
        let body = r#"{"type":"webhook","topics":["*"],"config":{"url":"https://a.example"},"credentials":{"secret":"mine"}}"#;
        let r = app.call(Method::POST, &path, t, Some(body)).await;
        assert_error(&r, 422, "validation error");
        assert_eq!(r.body["data"], serde_json::json!(["credentials.secret is forbidden"]));
        let body = r#"{"type":"webhook","topics":["*"],"config":{"url":"https://a.example"}}"#;
        let r = app.call(Method::POST, &path, t, Some(body)).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let id = r.body["id"].as_str().unwrap().to_string();
        let secret = r.body["credentials"]["secret"].as_str().unwrap().to_string();
        let r = app.call(Method::PATCH, &format!("{path}/{id}"), t, Some(r#"{"credentials":{"secret":"changed"}}"#)).await;
        assert_eq!(r.body["data"], serde_json::json!(["credentials.secret is forbidden"]), "{}", r.text);
        let r = app.call(Method::PATCH, &format!("{path}/{id}"), t, Some(r#"{"credentials":{"rotate_secret":true}}"#)).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["credentials"]["previous_secret"], secret.as_str());
        assert_ne!(r.body["credentials"]["secret"], secret.as_str());
    }
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn vpc_mode_without_api_key() {
    let app = spawn(Store::Memory, |s| s.api_key = String::new()).await;
    let r = app.call(Method::PUT, "/tenants/vpc", None, Some("")).await;
    assert_eq!(r.status, 201, "{}", r.text);
    assert_eq!(
        app.call(Method::GET, "/tenants/vpc", Some("anything"), None)
            .await
            .status,
        200
    );
}

/// A token with `header` and `claims`, its signature HMAC-SHA256 over them with `secret`.
fn forge(header: &str, claims: &serde_json::Value, secret: &str) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use hmac::{Hmac, Mac};
    let input = format!("{}.{}", B64.encode(header), B64.encode(claims.to_string()));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    format!("{input}.{}", B64.encode(mac.finalize().into_bytes()))
}

/// Algorithm confusion, `none`, tampering and malformed tokens are all 401 with an empty body,
/// over HTTP; the one well-formed token of the same shape is accepted (so the forgeries fail
/// for the reason tested, not for their claims).
#[tokio::test]
async fn forged_tenant_tokens_are_refused() {
    let app = spawn(Store::Memory, |_| {}).await;
    let tenant = app.tenant().await;
    let now = chrono_now();
    let claims =
        serde_json::json!({"iss": "outpost", "sub": tenant, "iat": now, "exp": now + 3600});
    let path = format!("/tenants/{tenant}");
    let good = forge(r#"{"alg":"HS256","typ":"JWT"}"#, &claims, JWT_SECRET);
    assert_eq!(
        app.call(Method::GET, &path, Some(&good), None).await.status,
        200
    );

    let unsigned = |header: &str| {
        let mut parts: Vec<&str> = Vec::new();
        let t = forge(header, &claims, JWT_SECRET);
        parts.extend(t.split('.').take(2));
        format!("{}.{}.", parts[0], parts[1])
    };
    let mut forged = vec![
        (
            "alg none, no signature",
            unsigned(r#"{"alg":"none","typ":"JWT"}"#),
        ),
        (
            "alg None, no signature",
            unsigned(r#"{"alg":"None","typ":"JWT"}"#),
        ),
        ("alg NONE, no signature", unsigned(r#"{"alg":"NONE"}"#)),
        (
            "alg none, HMAC signature",
            forge(r#"{"alg":"none"}"#, &claims, JWT_SECRET),
        ),
        // Key confusion: an asymmetric algorithm "verified" with the shared secret as its key.
        (
            "RS256 signed with the secret",
            forge(r#"{"alg":"RS256"}"#, &claims, JWT_SECRET),
        ),
        (
            "ES256 signed with the secret",
            forge(r#"{"alg":"ES256"}"#, &claims, JWT_SECRET),
        ),
        (
            "PS256 signed with the secret",
            forge(r#"{"alg":"PS256"}"#, &claims, JWT_SECRET),
        ),
        ("no alg", forge(r#"{"typ":"JWT"}"#, &claims, JWT_SECRET)),
        (
            "alg not a string",
            forge(r#"{"alg":256}"#, &claims, JWT_SECRET),
        ),
        (
            "signed with the API key",
            forge(r#"{"alg":"HS256"}"#, &claims, KEY),
        ),
        (
            "wrong issuer",
            forge(
                r#"{"alg":"HS256"}"#,
                &serde_json::json!({"iss": "other", "sub": tenant, "iat": now, "exp": now + 3600}),
                JWT_SECRET,
            ),
        ),
        (
            "no expiry",
            forge(
                r#"{"alg":"HS256"}"#,
                &serde_json::json!({"iss": "outpost", "sub": tenant, "iat": now}),
                JWT_SECRET,
            ),
        ),
        (
            "empty subject",
            forge(
                r#"{"alg":"HS256"}"#,
                &serde_json::json!({"iss": "outpost", "sub": "", "iat": now, "exp": now + 3600}),
                JWT_SECRET,
            ),
        ),
        ("two parts", good.rsplit_once('.').unwrap().0.to_string()),
        ("four parts", format!("{good}.x")),
        ("not base64", "a$.b$.c$".to_string()),
    ];
    // Tampering: another tenant's subject under the good token's signature.
    let other =
        serde_json::json!({"iss": "outpost", "sub": "someone-else", "iat": now, "exp": now + 3600});
    let swapped = forge(r#"{"alg":"HS256","typ":"JWT"}"#, &other, JWT_SECRET);
    let sig = good.rsplit('.').next().unwrap();
    let head = swapped.rsplit_once('.').unwrap().0;
    forged.push((
        "payload swapped under a valid signature",
        format!("{head}.{sig}"),
    ));
    for (what, token) in forged {
        let r = app.call(Method::GET, &path, Some(&token), None).await;
        assert_eq!((r.status.as_u16(), r.text.as_str()), (401, ""), "{what}");
        let r = app.call(Method::GET, "/topics", Some(&token), None).await;
        assert_eq!(r.status, 401, "{what}");
    }
}
