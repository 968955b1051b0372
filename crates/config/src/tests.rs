//! Tests of configuration loading and validation.

use super::*;

fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::from_raw(RawSettings::from_pairs(pairs)?)
}

#[test]
fn defaults_are_upstreams() {
    let c = cfg(&[]).unwrap();
    assert_eq!(c.service, Service::All);
    assert_eq!(c.api_port, 3333);
    assert!(c.redis.is_none(), "no REDIS_* set means embedded stores");
    assert_eq!(c.max_destinations_per_tenant, 20);
    assert_eq!(c.delivery_timeout_secs, 5);
    assert_eq!(c.retry.interval_secs, 30);
    assert_eq!(c.retry.max_limit, 10);
    assert_eq!(c.publish_idempotency_ttl_secs, 3600);
    assert_eq!(c.alert.consecutive_failure_count, Some(100));
    assert_eq!(c.alert.exhausted_retries_window_secs, Some(3600));
    assert_eq!(
        c.webhook.event_id_header.as_deref(),
        Some("x-outpost-event-id")
    );
    assert_eq!(
        c.webhook.signature_header.as_deref(),
        Some("x-outpost-signature")
    );
    assert_eq!(c.webhook.max_response_body_bytes, 131072);
    assert!(c.user_agent.starts_with("Outpost/"));
}

#[test]
fn errors_name_the_variable() {
    let e = cfg(&[("API_PORT", "eighty")]).unwrap_err();
    assert_eq!(e.var, "API_PORT");
    let e = cfg(&[("SERVICE", "mail")]).unwrap_err();
    assert_eq!(e.var, "SERVICE");
    assert!(e.to_string().contains("mail"));
    let e = cfg(&[("REDIS_HOST", "localhost")]).unwrap_err();
    assert_eq!(e.var, "AES_ENCRYPTION_SECRET");
    let e = cfg(&[("DEPLOYMENT_ID", "bad id!")]).unwrap_err();
    assert_eq!(e.var, "DEPLOYMENT_ID");
    let e = cfg(&[("RETRY_SCHEDULE", "5,0")]).unwrap_err();
    assert_eq!(e.var, "RETRY_SCHEDULE");
    let e = cfg(&[("IDGEN_TYPE", "ulid")]).unwrap_err();
    assert_eq!(e.var, "IDGEN_TYPE");
    let e = cfg(&[(
        "DESTINATIONS_WEBHOOK_TOPIC_HEADER_NAME",
        "X-Outpost-Event-Id",
    )])
    .unwrap_err();
    assert!(e.message.contains("two system headers"), "{e}");
    let e = cfg(&[("DESTINATIONS_WEBHOOK_EVENT_ID_HEADER_NAME", "Host")]).unwrap_err();
    assert!(e.message.contains("reserved"));
    assert!(RawSettings::from_pairs(&[("NOT_A_SETTING", "1")]).is_err());
}

#[test]
fn header_names_are_three_state() {
    let c = cfg(&[
        ("DESTINATIONS_WEBHOOK_EVENT_ID_HEADER_NAME", "X-Request-Id"),
        ("DESTINATIONS_WEBHOOK_TOPIC_HEADER_NAME", ""),
        (
            "DESTINATIONS_WEBHOOK_DISABLE_DEFAULT_TIMESTAMP_HEADER",
            "true",
        ),
    ])
    .unwrap();
    assert_eq!(c.webhook.event_id_header.as_deref(), Some("X-Request-Id"));
    assert_eq!(c.webhook.topic_header, None);
    assert_eq!(c.webhook.timestamp_header, None);
    let c = cfg(&[("DESTINATIONS_WEBHOOK_MODE", "standard")]).unwrap();
    assert_eq!(c.webhook.header_prefix, "webhook-");
}

#[test]
fn retry_schedule_sets_max_retries() {
    let c = cfg(&[("RETRY_SCHEDULE", "5, 60,600")]).unwrap();
    assert_eq!(c.retry.schedule, vec![5, 60, 600]);
    assert_eq!(c.retry.max_limit, 3);
    let c = cfg(&[("ALERT_CONSECUTIVE_FAILURE_COUNT", "")]).unwrap();
    assert_eq!(c.alert.consecutive_failure_count, None);
}

#[test]
fn yaml_file_then_env() {
    let dir = std::env::temp_dir().join(format!("outpost-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("config.yaml");
    std::fs::write(
        &path,
        "api_port: 4444\ntopics: [user.created, user.deleted]\nredis:\n  host: r.local\naes_encryption_secret: s\nretry_max_limit: 3\ndestinations:\n  webhook:\n    mode: standard\n",
    )
    .unwrap();
    let env = |k: &str| (k == "API_PORT").then(|| "5555".to_string());
    let raw = RawSettings::load(Some(&path), &env).unwrap();
    let c = Config::from_raw(raw).unwrap();
    assert_eq!(c.api_port, 5555, "env wins over file");
    assert_eq!(c.topics.topics, vec!["user.created", "user.deleted"]);
    assert_eq!(c.redis.as_ref().unwrap().host, "r.local");
    assert_eq!(c.retry.max_limit, 3);
    assert_eq!(c.webhook.mode, WebhookMode::Standard);
    let text = c.describe();
    assert!(
        text.contains("AES_ENCRYPTION_SECRET=****  # file"),
        "{text}"
    );
    assert!(text.contains("API_PORT=5555  # env"));
    std::fs::write(&path, "- not a mapping\n").unwrap();
    let e = RawSettings::load(Some(&path), &|_: &str| None).unwrap_err();
    assert_eq!(e.var, "CONFIG");
}

#[test]
fn secrets_are_masked() {
    let c = cfg(&[
        ("API_KEY", "supersecretkey"),
        ("API_JWT_SECRET", "jwtsecret"),
    ])
    .unwrap();
    let text = c.describe();
    assert!(!text.contains("supersecretkey"));
    assert!(!text.contains("jwtsecret"));
}
