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
    assert_eq!(c.destination_cache_ttl_secs, 60, "ours");
    assert_eq!(
        cfg(&[("DESTINATION_CACHE_TTL_SECONDS", "0")])
            .unwrap()
            .destination_cache_ttl_secs,
        0
    );
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

#[test]
fn sqs_internal_queues_and_their_priority() {
    let c = cfg(&[
        ("AWS_SQS_REGION", "eu-west-1"),
        ("RABBITMQ_SERVER_URL", "amqp://x"),
    ])
    .unwrap();
    let s = c.sqs.expect("SQS selected");
    assert_eq!(c.rabbitmq_url, None, "SQS wins over RabbitMQ, as upstream");
    assert_eq!(s.region, "eu-west-1");
    assert_eq!(s.credentials, None, "default chain");
    assert_eq!(
        (s.delivery_queue.as_str(), s.delivery_dlq.as_str()),
        ("outpost-delivery", "outpost-delivery-dlq")
    );
    assert_eq!(
        (s.log_queue.as_str(), s.log_dlq.as_str()),
        ("outpost-log", "outpost-log-dlq")
    );
    let c = cfg(&[
        ("AWS_SQS_REGION", "us-east-1"),
        ("AWS_SQS_ACCESS_KEY_ID", "k"),
        ("AWS_SQS_SECRET_ACCESS_KEY", "s"),
        ("AWS_SQS_ENDPOINT", "http://127.0.0.1:4566"),
        ("AWS_SQS_DELIVERY_QUEUE", "d"),
        ("AWS_SQS_LOG_DLQ", "l-dead"),
    ])
    .unwrap();
    let s = c.sqs.unwrap();
    assert_eq!(s.credentials, Some(("k".into(), "s".into())));
    assert_eq!(
        (s.delivery_dlq.as_str(), s.log_dlq.as_str()),
        ("d-dlq", "l-dead")
    );
    let e = cfg(&[("AWS_SQS_REGION", "r"), ("AWS_SQS_ACCESS_KEY_ID", "k")]).unwrap_err();
    assert_eq!(e.var, "AWS_SQS_SECRET_ACCESS_KEY");
    let e = cfg(&[
        ("AWS_SQS_REGION", "r"),
        ("AWS_SQS_ENDPOINT", "localhost:4566"),
    ])
    .unwrap_err();
    assert_eq!(e.var, "AWS_SQS_ENDPOINT");
    let e = cfg(&[("AWS_SQS_REGION", "r"), ("AWS_SQS_LOG_QUEUE", "bad name")]).unwrap_err();
    assert_eq!(e.var, "AWS_SQS_LOG_QUEUE");
    let e = cfg(&[
        ("AWS_SQS_REGION", "r"),
        ("AWS_SQS_LOG_QUEUE", "outpost-delivery"),
    ])
    .unwrap_err();
    assert!(e.message.contains("must differ"), "{}", e.message);
}

#[test]
fn servicebus_internal_queues_by_connection_string() {
    let cs = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=v";
    let c = cfg(&[
        ("AZURE_SERVICEBUS_CONNECTION_STRING", cs),
        ("GCP_PUBSUB_PROJECT", "p"),
        ("RABBITMQ_SERVER_URL", "amqp://h"),
    ])
    .unwrap();
    assert_eq!(c.rabbitmq_url, None);
    assert!(
        c.pubsub.is_none(),
        "Service Bus wins over Pub/Sub, as upstream"
    );
    let sb = c.servicebus.expect("Service Bus selected");
    assert_eq!(
        (
            sb.delivery_topic.as_str(),
            sb.delivery_subscription.as_str(),
            sb.log_topic.as_str(),
            sb.log_subscription.as_str()
        ),
        (
            "outpost-delivery",
            "outpost-delivery-sub",
            "outpost-log",
            "outpost-log-sub"
        )
    );
    assert!(!format!("{sb:?}").contains("SharedAccessKey=v"));
    // SQS wins over Service Bus.
    let c = cfg(&[
        ("AZURE_SERVICEBUS_CONNECTION_STRING", cs),
        ("AWS_SQS_REGION", "r"),
    ])
    .unwrap();
    assert!(c.servicebus.is_none() && c.sqs.is_some());
    // A service principal alone is refused, naming the variable; so are bad strings and names.
    for (pairs, var, says) in [
        (
            vec![("AZURE_SERVICEBUS_NAMESPACE", "ns")],
            "AZURE_SERVICEBUS_NAMESPACE",
            "service principal",
        ),
        (
            vec![("AZURE_SERVICEBUS_CONNECTION_STRING", "Endpoint=sb://x/")],
            "AZURE_SERVICEBUS_CONNECTION_STRING",
            "SharedAccessKey",
        ),
        (
            vec![(
                "AZURE_SERVICEBUS_CONNECTION_STRING",
                "SharedAccessKeyName=k;SharedAccessKey=v",
            )],
            "AZURE_SERVICEBUS_CONNECTION_STRING",
            "Endpoint=sb://",
        ),
        (
            vec![
                ("AZURE_SERVICEBUS_CONNECTION_STRING", cs),
                ("AZURE_SERVICEBUS_LOG_TOPIC", "bad name"),
            ],
            "AZURE_SERVICEBUS_LOG_TOPIC",
            "entity name",
        ),
        (
            vec![
                ("AZURE_SERVICEBUS_CONNECTION_STRING", cs),
                ("AZURE_SERVICEBUS_LOG_TOPIC", "outpost-delivery"),
            ],
            "AZURE_SERVICEBUS_LOG_TOPIC",
            "must differ",
        ),
        (
            vec![("PUBLISH_AZURE_SERVICEBUS_CONNECTION_STRING", cs)],
            "PUBLISH_AZURE_SERVICEBUS_TOPIC",
            "is required",
        ),
    ] {
        let e = cfg(&pairs).unwrap_err();
        assert_eq!(e.var, var, "{pairs:?}");
        assert!(e.message.contains(says), "{var}: {}", e.message);
    }
    // With SQS selected (it has priority), the lower-priority backends are not read.
    assert!(cfg(&[("AWS_SQS_REGION", "r"), ("AZURE_SERVICEBUS_NAMESPACE", "n")]).is_ok());
    use crate::mqs::PublishQueue;
    let c = cfg(&[
        ("PUBLISH_AZURE_SERVICEBUS_CONNECTION_STRING", cs),
        ("PUBLISH_AZURE_SERVICEBUS_TOPIC", "in"),
        ("PUBLISH_AZURE_SERVICEBUS_SUBSCRIPTION", "outpost"),
        ("PUBLISH_GCP_PUBSUB_PROJECT", "p"),
    ])
    .unwrap();
    match c.publish_queue {
        Some(PublishQueue::ServiceBus {
            topic,
            subscription,
            ..
        }) => assert_eq!((topic.as_str(), subscription.as_str()), ("in", "outpost")),
        other => panic!("Service Bus wins over Pub/Sub for publishing too: {other:?}"),
    }
}

#[test]
fn pubsub_internal_queues_with_upstream_defaults_and_priority() {
    let c = cfg(&[
        ("GCP_PUBSUB_PROJECT", "proj"),
        ("RABBITMQ_SERVER_URL", "amqp://h"),
        ("PUBSUB_EMULATOR_HOST", "http://127.0.0.1:8085/"),
    ])
    .unwrap();
    assert_eq!(
        c.rabbitmq_url, None,
        "Pub/Sub wins over RabbitMQ, as upstream"
    );
    let p = c.pubsub.expect("Pub/Sub selected");
    assert_eq!(p.project, "proj");
    assert_eq!(p.emulator.as_deref(), Some("127.0.0.1:8085"));
    assert_eq!(p.delivery.topic, "outpost-delivery");
    assert_eq!(p.delivery.subscription, "outpost-delivery-sub");
    assert_eq!(p.delivery.dlq_topic, "outpost-delivery-dlq");
    assert_eq!(p.delivery.dlq_subscription, "outpost-delivery-dlq-sub");
    assert_eq!(p.log.topic, "outpost-log");
    assert_eq!(p.log.subscription, "outpost-log-sub");
    assert_eq!(p.log.dlq_topic, "outpost-log-dlq");
    let c = cfg(&[
        ("GCP_PUBSUB_PROJECT", "proj"),
        ("GCP_PUBSUB_LOG_TOPIC", "logs"),
        ("GCP_PUBSUB_LOG_DLQ_TOPIC", "dead"),
    ])
    .unwrap();
    let p = c.pubsub.unwrap();
    assert_eq!(
        (p.log.subscription.as_str(), p.log.dlq_subscription.as_str()),
        ("outpost-log-sub", "dead-sub"),
        "upstream's subscription default does not follow the topic; the DLQ's does"
    );
    // SQS wins over Pub/Sub.
    let c = cfg(&[("GCP_PUBSUB_PROJECT", "p"), ("AWS_SQS_REGION", "r")]).unwrap();
    assert!(c.pubsub.is_none() && c.sqs.is_some());
    // Bad ids and addresses name their variable.
    for (var, value) in [
        ("GCP_PUBSUB_DELIVERY_TOPIC", "goog-x"),
        ("GCP_PUBSUB_LOG_SUBSCRIPTION", "a/b"),
        ("GCP_PUBSUB_DELIVERY_DLQ_TOPIC", "1abc"),
        ("PUBSUB_EMULATOR_HOST", "http://h:1/path"),
        ("PUBSUB_EMULATOR_HOST", "no-port"),
    ] {
        let e = cfg(&[("GCP_PUBSUB_PROJECT", "p"), (var, value)]).unwrap_err();
        assert_eq!(e.var, var, "{value}");
    }
    let e = cfg(&[
        ("GCP_PUBSUB_PROJECT", "p"),
        ("GCP_PUBSUB_LOG_TOPIC", "outpost-delivery"),
    ])
    .unwrap_err();
    assert!(e.message.contains("must differ"), "{}", e.message);
}

#[test]
fn pubsub_publish_queue_needs_topic_and_subscription() {
    use crate::mqs::PublishQueue;
    let c = cfg(&[
        ("PUBLISH_GCP_PUBSUB_PROJECT", "proj"),
        ("PUBLISH_GCP_PUBSUB_TOPIC", "pub"),
        ("PUBLISH_GCP_PUBSUB_SUBSCRIPTION", "pub-sub"),
        ("PUBLISH_RABBITMQ_SERVER_URL", "amqp://h"),
        ("PUBLISH_RABBITMQ_QUEUE", "q"),
    ])
    .unwrap();
    match c.publish_queue {
        Some(PublishQueue::PubSub {
            project,
            topic,
            subscription,
            ..
        }) => assert_eq!(
            (project.as_str(), topic.as_str(), subscription.as_str()),
            ("proj", "pub", "pub-sub"),
            "Pub/Sub wins over RabbitMQ"
        ),
        other => panic!("{other:?}"),
    }
    let e = cfg(&[
        ("PUBLISH_GCP_PUBSUB_PROJECT", "proj"),
        ("PUBLISH_GCP_PUBSUB_TOPIC", "pub"),
    ])
    .unwrap_err();
    assert_eq!(e.var, "PUBLISH_GCP_PUBSUB_SUBSCRIPTION");
}

#[test]
fn publish_queue_settings() {
    use crate::mqs::PublishQueue;
    let c = cfg(&[
        ("PUBLISH_RABBITMQ_SERVER_URL", "amqp://u:p@h/%2f"),
        ("PUBLISH_RABBITMQ_QUEUE", "pubq"),
    ])
    .unwrap();
    assert_eq!(
        c.publish_queue,
        Some(PublishQueue::RabbitMq {
            url: "amqp://u:p@h/%2f".into(),
            exchange: String::new(),
            queue: "pubq".into()
        })
    );
    assert!(
        !format!("{:?}", c.publish_queue).contains("u:p"),
        "the URL's password is not printed"
    );
    let c = cfg(&[
        ("PUBLISH_AWS_SQS_REGION", "eu-west-1"),
        ("PUBLISH_AWS_SQS_QUEUE", "events"),
        ("PUBLISH_RABBITMQ_SERVER_URL", "amqp://x"),
    ])
    .unwrap();
    assert!(
        matches!(c.publish_queue, Some(PublishQueue::Sqs { ref queue, .. }) if queue == "events"),
        "SQS first, as upstream"
    );
    assert_eq!(
        cfg(&[("PUBLISH_RABBITMQ_SERVER_URL", "amqp://x")])
            .unwrap_err()
            .var,
        "PUBLISH_RABBITMQ_QUEUE"
    );
    assert_eq!(
        cfg(&[("PUBLISH_AWS_SQS_REGION", "r")]).unwrap_err().var,
        "PUBLISH_AWS_SQS_QUEUE"
    );
    assert!(cfg(&[]).unwrap().publish_queue.is_none());
}

#[test]
fn clickhouse_log_store_settings() {
    let c = cfg(&[
        ("CLICKHOUSE_ADDR", "ch:8123"),
        ("CLICKHOUSE_PASSWORD", "pw"),
        ("CLICKHOUSE_LOG_RETENTION_TTL_DAYS", "30"),
    ])
    .unwrap();
    let ch = c.clickhouse.expect("ClickHouse selected");
    assert_eq!(ch.addr, "ch:8123");
    assert_eq!(
        ch.database.as_deref(),
        Some("outpost"),
        "upstream's default"
    );
    assert_eq!(ch.retention_days, 30);
    assert!(!ch.tls);
    assert!(!format!("{ch:?}").contains("pw"));
    assert!(cfg(&[]).unwrap().clickhouse.is_none());
    let e = cfg(&[
        ("CLICKHOUSE_ADDR", "ch:8123"),
        ("POSTGRES_URL", "postgres://x"),
    ])
    .unwrap_err();
    assert_eq!(e.var, "CLICKHOUSE_ADDR");
    assert!(e.message.contains("set one"), "{}", e.message);
    let e = cfg(&[
        ("CLICKHOUSE_ADDR", "ch:8123"),
        ("CLICKHOUSE_LOG_RETENTION_TTL_DAYS", "-1"),
    ])
    .unwrap_err();
    assert_eq!(e.var, "CLICKHOUSE_LOG_RETENTION_TTL_DAYS");
}

#[test]
fn busy_tenant_lane_limit() {
    assert_eq!(
        cfg(&[]).unwrap().delivery_busy_tenant_rate,
        None,
        "automatic"
    );
    let set = |v: &str| {
        cfg(&[("DELIVERY_BUSY_TENANT_TASKS_PER_SECOND", v)]).map(|c| c.delivery_busy_tenant_rate)
    };
    assert_eq!(set("").unwrap(), None);
    assert_eq!(set("0").unwrap(), Some(0), "off");
    assert_eq!(set("250").unwrap(), Some(250));
    let e = set("many").unwrap_err();
    assert_eq!(e.var, "DELIVERY_BUSY_TENANT_TASKS_PER_SECOND");
    let c = cfg(&[
        ("GCP_PUBSUB_PROJECT", "p"),
        ("DELIVERY_BUSY_TENANT_TASKS_PER_SECOND", "250"),
    ])
    .unwrap();
    assert_eq!(c.delivery_busy_tenant_rate, Some(250), "on every backend");
}

#[test]
fn in_memory_internal_queues_and_servicebus_queues_are_told_apart() {
    assert!(cfg(&[]).unwrap().internal_queues_in_memory());
    let cs = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=v";
    for (var, value) in [
        ("RABBITMQ_SERVER_URL", "amqp://h"),
        ("AWS_SQS_REGION", "eu-west-1"),
        ("AZURE_SERVICEBUS_CONNECTION_STRING", cs),
        ("GCP_PUBSUB_PROJECT", "p"),
    ] {
        let c = cfg(&[(var, value)]).unwrap();
        assert!(!c.internal_queues_in_memory(), "{var} set");
        assert_eq!(
            c.opens_servicebus_queues(),
            var == "AZURE_SERVICEBUS_CONNECTION_STRING",
            "{var} set"
        );
    }
    let publish_on_servicebus = cfg(&[
        ("PUBLISH_AZURE_SERVICEBUS_CONNECTION_STRING", cs),
        ("PUBLISH_AZURE_SERVICEBUS_TOPIC", "t"),
        ("PUBLISH_AZURE_SERVICEBUS_SUBSCRIPTION", "s"),
    ])
    .unwrap();
    assert!(publish_on_servicebus.internal_queues_in_memory());
    assert!(publish_on_servicebus.opens_servicebus_queues());
    assert!(!cfg(&[]).unwrap().opens_servicebus_queues());
}
