//! Health, routing fallbacks, topics and destination types.

use crate::both_stores;
use crate::helpers::*;
use reqwest::Method;

both_stores! {
    async fn health_and_fallbacks(app) {
        for path in ["/healthz", "/api/v1/healthz"] {
            let r = app.call(Method::GET, path, None, None).await;
            assert_eq!(r.status, 200);
            assert_eq!(r.body["status"], "healthy");
            assert_eq!(r.body["workers"]["http-server"]["status"], "healthy");
        }
        assert_error(&app.get("/no-such-route").await, 404, "not found");
        // Wrong method on a known path is a 404 too, as upstream (gin emits no 405).
        assert_error(&app.delete("/topics").await, 404, "not found");
    }

    async fn destination_types(app) {
        let r = app.get("/destination-types").await;
        assert_eq!(r.status, 200);
        let types: Vec<&str> = r.body.as_array().unwrap().iter().map(|t| t["type"].as_str().unwrap()).collect();
        assert_eq!(types, ["webhook", "hookdeck", "aws_sqs", "aws_kinesis", "aws_s3", "aws_eventbridge", "gcp_pubsub", "azure_servicebus", "rabbitmq", "kafka"]);
        for t in r.body.as_array().unwrap() {
            for k in ["label", "description", "icon", "instructions", "config_fields", "credential_fields"] {
                assert!(!t[k].is_null(), "{} lacks {k}", t["type"]);
            }
            for f in t["config_fields"].as_array().unwrap().iter().chain(t["credential_fields"].as_array().unwrap()) {
                assert!(f["required"].is_boolean() && f["key"].is_string() && f["type"].is_string());
            }
        }
        let r = app.get("/destination-types/aws_sqs").await;
        assert_eq!(r.status, 200);
        assert_eq!(r.body["label"], "AWS SQS");
        assert_eq!(r.body["credential_fields"][1]["sensitive"], true);
        assert_empty(&app.get("/destination-types/smtp").await, 404);
    }
}

#[tokio::test]
async fn topics_are_the_configured_list() {
    let app = spawn(Store::Memory, |s| {
        s.topics.topics = vec!["user.created".into(), "user.deleted".into()]
    })
    .await;
    let r = app.get("/topics").await;
    assert_eq!(r.body, serde_json::json!(["user.created", "user.deleted"]));
    let app = spawn(Store::Memory, |_| {}).await;
    let r = app.get("/topics").await;
    assert_eq!(
        r.body,
        serde_json::json!([]),
        "an array (not null) when TOPICS is unset"
    );
}
