//! Destinations: create (every type), validation errors, list filters, PATCH semantics,
//! enable/disable, delete, limits.

use crate::both_stores;
use crate::helpers::*;
use serde_json::{Value, json};

fn dpath(t: &str) -> String {
    format!("/tenants/{t}/destinations")
}

both_stores! {
    async fn create_every_type(app) {
        let t = app.tenant().await;
        let aws = r#"{"key":"AKIAEXAMPLEKEY","secret":"verysecretvalue"}"#;
        let cases = [
            (r#"{"type":"webhook","topics":["*"],"config":{"url":"https://example.com/h","custom_headers":"{\"X-Team\":\"core\"}"}}"#, "https://example.com/h"),
            (&*format!(r#"{{"type":"aws_sqs","topics":["*"],"config":{{"queue_url":"https://sqs.us-east-1.amazonaws.com/1/q"}},"credentials":{aws}}}"#), "https://sqs.us-east-1.amazonaws.com/1/q"),
            (&*format!(r#"{{"type":"aws_kinesis","topics":["*"],"config":{{"stream_name":"s","region":"eu-west-1","partition_key_template":"metadata.topic"}},"credentials":{aws}}}"#), "s in eu-west-1"),
            (&*format!(r#"{{"type":"aws_s3","topics":["*"],"config":{{"bucket":"b","region":"us-east-2","storage_class":"standard_ia"}},"credentials":{aws}}}"#), "b in us-east-2"),
            (r#"{"type":"gcp_pubsub","topics":["*"],"config":{"project_id":"p","topic":"t"},"credentials":{"service_account_json":"{\"type\":\"service_account\"}"}}"#, "p/t"),
            (r#"{"type":"azure_servicebus","topics":["*"],"config":{"name":"events"},"credentials":{"connection_string":"Endpoint=sb://myns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=v"}}"#, "myns/events"),
            (r#"{"type":"rabbitmq","topics":["a"],"config":{"server_url":"localhost:5672","exchange":"ex","tls":"on"},"credentials":{"username":"guest","password":"guestpassword"}}"#, "ex -> a"),
            (r#"{"type":"kafka","topics":["*"],"config":{"brokers":"k1:9092, k2:9092","topic":"events","sasl_mechanism":"plain"},"credentials":{"username":"u","password":"kafkapassword"}}"#, "k1:9092 / events"),
        ];
        for (body, target) in cases {
            let r = app.post(&dpath(&t), body).await;
            assert_eq!(r.status, 201, "{body}: {}", r.text);
            assert_eq!(r.body["target"], target, "{}", r.text);
            assert_eq!(r.body["tenant_id"], t.as_str());
            assert!(r.body["disabled_at"].is_null());
            let id = r.body["id"].as_str().unwrap();
            let got = app.get(&format!("{}/{id}", dpath(&t))).await;
            assert_eq!(got.status, 200);
            assert_eq!(got.body["config"], r.body["config"], "stored config matches the answer");
        }
        let list = app.get(&dpath(&t)).await;
        assert_eq!(list.body.as_array().unwrap().len(), 8);
        let sqs = list.body.as_array().unwrap().iter().find(|d| d["type"] == "aws_sqs").unwrap();
        assert_eq!(sqs["credentials"]["secret"], "very***********", "sensitive credentials obfuscated");
        let rabbit = list.body.as_array().unwrap().iter().find(|d| d["type"] == "rabbitmq").unwrap();
        assert_eq!(rabbit["config"]["tls"], "true");
        assert_eq!(rabbit["credentials"]["username"], "guest");
        let kafka = list.body.as_array().unwrap().iter().find(|d| d["type"] == "kafka").unwrap();
        assert_eq!(kafka["config"]["brokers"], "k1:9092,k2:9092");
        assert_eq!(kafka["config"]["tls"], "false");
        let tenant = app.get(&format!("/tenants/{t}")).await;
        assert_eq!(tenant.body["destinations_count"], 8);
        assert_eq!(tenant.body["topics"], json!(["*"]));
    }

    async fn webhook_secret_and_shape(app) {
        let t = app.tenant().await;
        let d = app.webhook(&t, r#""*""#).await;
        assert_eq!(d["topics"], json!(["*"]));
        let secret = d["credentials"]["secret"].as_str().unwrap();
        assert!(secret.starts_with("whsec_") && secret.len() == 70, "{secret}");
        assert_eq!(d["config"], json!({"url": "https://example.com/hook"}));
        assert!(d.get("filter").is_none() && d.get("metadata").is_none());
        for k in ["id", "type", "created_at", "updated_at", "target"] {
            assert!(d[k].is_string(), "{k}");
        }
        // Admin may set the secret, and a custom id.
        let r = app.post(&dpath(&t), r#"{"id":"my-hook","type":"webhook","topics":["a"],"config":{"url":"http://x.example"},"credentials":{"secret":"s3cr3t"}}"#).await;
        assert_eq!(r.status, 201, "{}", r.text);
        assert_eq!(r.body["id"], "my-hook");
        assert_eq!(r.body["credentials"]["secret"], "s3cr3t");
        assert_error(&app.post(&dpath(&t), r#"{"id":"my-hook","type":"webhook","topics":["a"],"config":{"url":"http://x.example"}}"#).await, 400, "destination already exists");
    }

    async fn validation_errors_change_nothing(app) {
        let t = app.tenant().await;
        let p = dpath(&t);
        let check = |r: Resp, data: Value| {
            assert_error(&r, 422, "validation error");
            assert_eq!(r.body["data"], data, "{}", r.text);
        };
        check(app.post(&p, "{}").await, json!(["type is required", "topics is required"]));
        check(app.post(&p, r#"{"type":"webhook","topics":["*"]}"#).await, json!(["config.url is required"]));
        check(app.post(&p, r#"{"type":"webhook","topics":["*"],"config":{"url":"not a url"}}"#).await, json!(["config.url failed pattern validation"]));
        check(
            app.post(&p, r#"{"type":"webhook","topics":["*"],"config":{"url":"https://a.b","custom_headers":"{\"Host\":\"x\"}"}}"#).await,
            json!(["config.custom_headers.Host is forbidden"]),
        );
        check(
            app.post(&p, r#"{"type":"webhook","topics":["*"],"config":{"url":"https://a.b"},"credentials":{"rotate_secret":"true"}}"#).await,
            json!(["credentials.rotate_secret failed invalid validation"]),
        );
        check(app.post(&p, r#"{"type":"aws_sqs","topics":["*"],"config":{"queue_url":"https://q"}}"#).await, json!(["credentials.key is required", "credentials.secret is required"]));
        assert_error(&app.post(&p, r#"{"type":"smtp","topics":["*"]}"#).await, 422, "no provider registered for destination type: smtp");
        assert_error(&app.post(&p, r#"{"type":"webhook","topics":"user.created","config":{"url":"https://a.b"}}"#).await, 422, "validation failed: invalid topics format");
        assert_error(&app.post(&p, r#"{"type":"webhook","topics":[],"config":{"url":"https://a.b"}}"#).await, 422, "validation failed: invalid topics");
        assert_error(&app.post(&p, r#"{"type":"webhook","topics":["user.*"],"config":{"url":"https://a.b"}}"#).await, 422, "validation failed: invalid topics");
        assert_error(&app.post(&p, r#"{"type":"webhook","topics":["*"],"config":{"url":"https://a.b"},"created_at":"2999-01-01T00:00:00Z"}"#).await, 422, "created_at cannot be in the future");
        assert_error(&app.post(&p, "{broken").await, 422, "invalid JSON");
        assert_error(&app.post(&p, r#"{"type":7,"topics":["*"]}"#).await, 422, "invalid JSON");
        assert_error(&app.post(&p, r#"{"type":"webhook","topics":["*"],"config":"url"}"#).await, 422, "invalid JSON");
        assert_error(&app.post(&p, r#"{"type":"webhook","topics":["*"],"config":{"url":"https://a.b"},"filter":[1]}"#).await, 422, "invalid JSON");
        let huge = format!(r#"{{"type":"webhook","topics":["*"],"config":{{"url":"https://a.b","x":"{}"}}}}"#, "a".repeat(2 * 1024 * 1024));
        assert_error(&app.post(&p, &huge).await, 413, "request body too large: the limit is 1048576 bytes");
        assert_eq!(app.get(&p).await.body, json!([]), "nothing was created");
        assert_error(&app.post("/tenants/nobody/destinations", r#"{"type":"webhook","topics":["*"],"config":{"url":"https://a.b"}}"#).await, 404, "tenant not found");
    }

    async fn list_filters(app) {
        let t = app.tenant().await;
        let a = app.webhook(&t, r#"["user.created","user.deleted"]"#).await;
        let b = app.webhook(&t, r#"["*"]"#).await;
        let c = app.post(&dpath(&t), r#"{"type":"kafka","topics":["order.paid"],"config":{"brokers":"k:9092","topic":"t","sasl_mechanism":"plain"},"credentials":{"username":"u","password":"p"}}"#).await.body;
        let ids = |r: Resp| -> Vec<String> { r.body.as_array().unwrap().iter().map(|d| d["id"].as_str().unwrap().to_string()).collect() };
        let all = ids(app.get(&dpath(&t)).await);
        assert_eq!(all, [a["id"].as_str().unwrap(), b["id"].as_str().unwrap(), c["id"].as_str().unwrap()], "oldest first");
        assert_eq!(ids(app.get(&format!("{}?type[]=kafka", dpath(&t))).await), [c["id"].as_str().unwrap()]);
        assert_eq!(ids(app.get(&format!("{}?type=kafka&type=webhook", dpath(&t))).await).len(), 3);
        let r = ids(app.get(&format!("{}?topics[0]=user.created&topics[1]=user.deleted", dpath(&t))).await);
        assert_eq!(r, [a["id"].as_str().unwrap(), b["id"].as_str().unwrap()]);
        assert_eq!(ids(app.get(&format!("{}?topics[]=*", dpath(&t))).await), [b["id"].as_str().unwrap()]);
    }

    async fn patch_semantics(app) {
        let t = app.tenant().await;
        let r = app.post(&dpath(&t), r#"{"type":"webhook","topics":["a","b"],"filter":{"data":{"x":1}},"config":{"url":"https://a.example","custom_headers":"{\"X-A\":\"1\"}"},"metadata":{"k1":"v1","k2":"v2"},"delivery_metadata":{"src":"s"}}"#).await;
        assert_eq!(r.status, 201, "{}", r.text);
        let id = r.body["id"].as_str().unwrap().to_string();
        let created_at = r.body["created_at"].clone();
        let path = format!("{}/{id}", dpath(&t));
        let r = app.patch(&path, r#"{"type":"webhook","topics":["c"],"metadata":{"k1":null,"k3":3},"config":{"custom_headers":null}}"#).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["topics"], json!(["c"]), "topics replaced");
        assert_eq!(r.body["metadata"], json!({"k2": "v2", "k3": "3"}), "merge-patch");
        assert_eq!(r.body["config"], json!({"url": "https://a.example"}));
        assert_eq!(r.body["filter"], json!({"data": {"x": 1}}), "filter kept when omitted");
        assert_eq!(r.body["delivery_metadata"], json!({"src": "s"}));
        assert_eq!(r.body["created_at"], created_at);
        let r = app.patch(&path, r#"{"filter":{},"metadata":null,"delivery_metadata":{}}"#).await;
        assert!(r.body.get("filter").is_none(), "{}", r.text);
        assert!(r.body.get("metadata").is_none());
        assert_eq!(r.body["delivery_metadata"], json!({"src": "s"}), "{{}} is no change");
        let r = app.patch(&path, r#"{"disabled_at":"2024-01-01T00:00:00Z"}"#).await;
        assert_eq!(r.body["disabled_at"], "2024-01-01T00:00:00Z");
        let r = app.patch(&path, r#"{"disabled_at":null}"#).await;
        assert!(r.body["disabled_at"].is_null());
        assert_error(&app.patch(&path, r#"{"type":"kafka"}"#).await, 422, "type cannot be updated");
        assert_error(&app.patch(&path, r#"{"config":{"url":"nope"}}"#).await, 422, "validation error");
        assert_error(&app.patch(&path, r#"{"topics":[]}"#).await, 422, "validation failed: invalid topics");
        assert_error(&app.patch(&path, "nope").await, 422, "invalid JSON");
        assert_error(&app.patch(&path, r#"{"disabled_at":"2999-01-01T00:00:00Z"}"#).await, 422, "disabled_at cannot be in the future");
        assert_eq!(app.get(&path).await.body["config"]["url"], "https://a.example", "failed patches changed nothing");
        // Rotation by the admin keeps the previous secret for 24 h.
        let old = app.get(&path).await.body["credentials"]["secret"].clone();
        let r = app.patch(&path, r#"{"credentials":{"rotate_secret":true}}"#).await;
        assert_eq!(r.body["credentials"]["previous_secret"], old);
        assert!(r.body["credentials"]["previous_secret_invalid_at"].is_string());
        assert_empty(&app.patch(&format!("{}/nope", dpath(&t)), "{}").await, 404);
    }

    async fn enable_disable_delete(app) {
        let t = app.tenant().await;
        let d = app.webhook(&t, r#"["*"]"#).await;
        let path = format!("{}/{}", dpath(&t), d["id"].as_str().unwrap());
        let r = app.admin(reqwest::Method::PUT, &format!("{path}/disable"), None).await;
        assert_eq!(r.status, 200);
        let disabled_at = r.body["disabled_at"].clone();
        assert!(disabled_at.is_string());
        assert_eq!(r.body["updated_at"], d["updated_at"], "enable/disable do not bump updated_at");
        let r = app.admin(reqwest::Method::PUT, &format!("{path}/disable"), None).await;
        assert_eq!(r.body["disabled_at"], disabled_at, "idempotent");
        assert_eq!(app.get(&format!("/tenants/{t}")).await.body["destinations_count"], 1, "disabled still counted");
        let r = app.admin(reqwest::Method::PUT, &format!("{path}/enable"), None).await;
        assert!(r.body["disabled_at"].is_null());
        let r = app.delete(&path).await;
        assert_eq!(r.body, json!({"success": true}));
        assert_empty(&app.get(&path).await, 404);
        assert_empty(&app.delete(&path).await, 404);
        assert_empty(&app.admin(reqwest::Method::PUT, &format!("{path}/enable"), None).await, 404);
        assert_eq!(app.get(&format!("/tenants/{t}")).await.body["destinations_count"], 0);
    }
}

#[tokio::test]
async fn max_destinations_per_tenant() {
    let app = spawn(Store::Memory, |s| s.max_destinations_per_tenant = 2).await;
    let t = app.tenant().await;
    app.webhook(&t, r#"["*"]"#).await;
    let d = app.webhook(&t, r#"["*"]"#).await;
    app.admin(
        reqwest::Method::PUT,
        &format!("{}/{}/disable", dpath(&t), d["id"].as_str().unwrap()),
        None,
    )
    .await;
    let r = app
        .post(
            &dpath(&t),
            r#"{"type":"webhook","topics":["*"],"config":{"url":"https://a.b"}}"#,
        )
        .await;
    assert_error(&r, 400, "maximum number of destinations per tenant reached");
}

#[tokio::test]
async fn configured_topics_and_wildcards() {
    let app = spawn(Store::Memory, |s| {
        s.topics.topics = vec!["user.created".into(), "user.deleted".into()];
        s.topics.allow_wildcards = true;
    })
    .await;
    let t = app.tenant().await;
    let d = app.webhook(&t, r#"["user.*","user.created"]"#).await;
    assert_eq!(d["topics"], json!(["user.*"]), "normalised");
    let r = app
        .post(
            &dpath(&t),
            r#"{"type":"webhook","topics":["order.*"],"config":{"url":"https://a.b"}}"#,
        )
        .await;
    assert_error(&r, 422, "validation failed: invalid topics");
    let r = app
        .post(
            &dpath(&t),
            r#"{"type":"webhook","topics":["*","user.created"],"config":{"url":"https://a.b"}}"#,
        )
        .await;
    assert_error(&r, 422, "validation failed: invalid topics");
}
