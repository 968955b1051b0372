//! Tests of the registry: metadata of the ten types and validation of every type.

use crate::{DestError, Registry, Role, Settings};
use outpost_core::destination::{DESTINATION_TYPES, Destination};
use outpost_core::time::now_ms;

fn dest(kind: &str, config: &[(&str, &str)], creds: &[(&str, &str)]) -> Destination {
    Destination {
        id: "d1".into(),
        tenant_id: "t1".into(),
        kind: kind.into(),
        topics: vec!["*".into()],
        filter: None,
        config: config
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        credentials: creds
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        delivery_metadata: None,
        metadata: None,
        created_at: now_ms(),
        updated_at: now_ms(),
        disabled_at: None,
    }
}

fn errors(r: &Registry, d: &Destination) -> Vec<String> {
    match r.validate(d) {
        Ok(()) => vec![],
        Err(DestError::Validation(e)) => e,
        Err(DestError::Message(m)) => vec![m],
    }
}

#[test]
fn ten_types_in_registration_order() {
    let r = Registry::new(&Settings::default()).unwrap();
    let kinds: Vec<&str> = r.types().iter().map(|t| t.kind.as_str()).collect();
    assert_eq!(kinds, DESTINATION_TYPES);
    for t in r.types() {
        assert!(t.icon.starts_with("<svg"), "{} icon", t.kind);
        assert!(!t.instructions.is_empty(), "{} instructions", t.kind);
        assert!(!t.label.is_empty());
    }
    let standard = Registry::new(&Settings {
        standard_webhooks: true,
        ..Settings::default()
    })
    .unwrap();
    assert_eq!(standard.types().len(), 10);
    assert_eq!(standard.types()[0].kind, "webhook");
}

#[test]
fn overrides_replace_presentation_only() {
    let dir = std::env::temp_dir().join(format!("outpost-meta-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("aws_sqs")).unwrap();
    std::fs::write(
        dir.join("aws_sqs/metadata.json"),
        r#"{"label":"Queue","type":"ignored"}"#,
    )
    .unwrap();
    std::fs::write(dir.join("aws_sqs/instructions.md"), "custom").unwrap();
    let r = Registry::new(&Settings {
        metadata_path: dir.clone(),
        ..Settings::default()
    })
    .unwrap();
    let t = r.get_type("aws_sqs").unwrap();
    assert_eq!(t.label, "Queue");
    assert_eq!(t.kind, "aws_sqs");
    assert_eq!(t.instructions, "custom");
    std::fs::write(dir.join("aws_sqs/metadata.json"), "{not json").unwrap();
    let e = Registry::new(&Settings {
        metadata_path: dir.clone(),
        ..Settings::default()
    })
    .err()
    .unwrap();
    assert!(e.contains("metadata.json"), "{e}");
}

#[test]
fn required_fields_of_every_type() {
    let r = Registry::new(&Settings::default()).unwrap();
    let cases: &[(&str, &[&str])] = &[
        ("webhook", &["config.url is required"]),
        ("hookdeck", &["credentials.token is required"]),
        (
            "aws_sqs",
            &[
                "config.queue_url is required",
                "credentials.key is required",
                "credentials.secret is required",
            ],
        ),
        (
            "aws_kinesis",
            &[
                "config.stream_name is required",
                "config.region is required",
            ],
        ),
        (
            "aws_s3",
            &["config.bucket is required", "config.region is required"],
        ),
        (
            "aws_eventbridge",
            &[
                "config.region is required",
                "credentials.key is required",
                "credentials.secret is required",
            ],
        ),
        (
            "gcp_pubsub",
            &[
                "config.project_id is required",
                "config.topic is required",
                "credentials.service_account_json is required",
            ],
        ),
        (
            "azure_servicebus",
            &[
                "config.name is required",
                "credentials.connection_string is required",
            ],
        ),
        (
            "rabbitmq",
            &[
                "config.server_url is required",
                "credentials.username is required",
                "credentials.password is required",
            ],
        ),
        (
            "kafka",
            &["config.brokers is required", "config.topic is required"],
        ),
    ];
    for (kind, expected) in cases {
        let e = errors(&r, &dest(kind, &[], &[]));
        for msg in *expected {
            assert!(e.contains(&msg.to_string()), "{kind}: {e:?} lacks {msg}");
        }
    }
    assert_eq!(
        errors(&r, &dest("smtp", &[], &[])),
        vec!["no provider registered for destination type: smtp".to_string()]
    );
}

#[test]
fn patterns_and_type_rules() {
    let r = Registry::new(&Settings::default()).unwrap();
    assert_eq!(
        errors(&r, &dest("webhook", &[("url", "ftp://x")], &[])),
        vec!["config.url failed pattern validation".to_string()]
    );
    let aws = [("key", "AKIA"), ("secret", "s")];
    assert!(
        errors(
            &r,
            &dest(
                "aws_sqs",
                &[("queue_url", "http://localhost:4566/000/q")],
                &aws
            )
        )
        .is_empty()
    );
    assert_eq!(
        errors(
            &r,
            &dest(
                "aws_sqs",
                &[("queue_url", "http://q"), ("endpoint", "localhost")],
                &aws
            )
        ),
        vec!["config.endpoint failed pattern validation".to_string()]
    );
    assert_eq!(
        errors(
            &r,
            &dest(
                "aws_kinesis",
                &[("stream_name", "s p"), ("region", "eu-west-1")],
                &aws
            )
        ),
        vec!["config.stream_name failed pattern validation".to_string()]
    );
    assert_eq!(
        errors(
            &r,
            &dest(
                "aws_s3",
                &[
                    ("bucket", "b"),
                    ("region", "us-east-1"),
                    ("storage_class", "cold")
                ],
                &aws
            )
        ),
        vec!["config.storage_class failed enum validation".to_string()]
    );
    assert_eq!(
        errors(
            &r,
            &dest(
                "aws_s3",
                &[
                    ("bucket", "b"),
                    ("region", "us-east-1"),
                    ("key_template", "join(")
                ],
                &aws
            )
        ),
        vec!["config.key_template failed jmespath validation".to_string()]
    );
    assert!(
        errors(
            &r,
            &dest(
                "aws_s3",
                &[
                    ("bucket", "b"),
                    ("region", "us-east-1"),
                    ("storage_class", "glacier")
                ],
                &aws
            )
        )
        .is_empty()
    );
    assert_eq!(
        errors(
            &r,
            &dest(
                "gcp_pubsub",
                &[("project_id", "p"), ("topic", "t")],
                &[("service_account_json", "{}")]
            )
        ),
        vec!["credentials.service_account_json failed missing_type validation".to_string()]
    );
    assert!(
        errors(
            &r,
            &dest(
                "gcp_pubsub",
                &[
                    ("project_id", "p"),
                    ("topic", "t"),
                    ("endpoint", "http://localhost:8085")
                ],
                &[("service_account_json", "x")]
            )
        )
        .is_empty()
    );
    assert_eq!(
        errors(
            &r,
            &dest(
                "azure_servicebus",
                &[("name", "-bad")],
                &[("connection_string", "c")]
            )
        ),
        vec!["config.name failed pattern validation".to_string()]
    );
    let up = [("username", "u"), ("password", "p")];
    assert_eq!(
        errors(
            &r,
            &dest(
                "kafka",
                &[
                    ("brokers", "b:9092"),
                    ("topic", "t"),
                    ("sasl_mechanism", "gssapi")
                ],
                &up
            )
        ),
        vec!["config.sasl_mechanism failed invalid validation".to_string()]
    );
    // No mechanism: no SASL, no credentials needed; a mechanism needs both credentials.
    let kafka = |mech: &str, creds: &[(&str, &str)]| {
        errors(
            &r,
            &dest(
                "kafka",
                &[
                    ("brokers", "b:9092"),
                    ("topic", "t"),
                    ("sasl_mechanism", mech),
                ],
                creds,
            ),
        )
    };
    assert!(kafka("", &[]).is_empty(), "{:?}", kafka("", &[]));
    assert!(kafka("scram-sha-256", &up).is_empty());
    assert_eq!(
        kafka("plain", &[("username", "u")]),
        vec!["credentials.password is required".to_string()]
    );
    assert_eq!(
        kafka("scram-sha-512", &[]),
        vec![
            "credentials.username is required".to_string(),
            "credentials.password is required".to_string()
        ]
    );
    assert_eq!(
        errors(&r, &dest("hookdeck", &[], &[("token", "not-base64!")])),
        vec!["credentials.token failed invalid_token_format validation".to_string()]
    );
}

#[tokio::test]
async fn normalisation_and_display() {
    let r = Registry::new(&Settings::default()).unwrap();
    let mut d = dest(
        "kafka",
        &[
            ("brokers", " a:9092 , b:9092,"),
            ("topic", "t"),
            ("sasl_mechanism", "plain"),
            ("tls", "on"),
        ],
        &[("username", "user"), ("password", "supersecretpassword")],
    );
    r.preprocess(&mut d, None, Role::Admin).await.unwrap();
    assert_eq!(d.config["brokers"], "a:9092,b:9092");
    assert_eq!(d.config["tls"], "true");
    let shown = r.display(&d);
    assert_eq!(shown["credentials"]["password"], "supe***************");
    assert_eq!(shown["credentials"]["username"], "user");
    assert_eq!(shown["target"], "a:9092 / t");
    assert!(shown["disabled_at"].is_null());
    let mut d = dest(
        "rabbitmq",
        &[("server_url", "localhost:5672"), ("exchange", "ex")],
        &[("username", "u"), ("password", "p")],
    );
    r.preprocess(&mut d, None, Role::Admin).await.unwrap();
    assert_eq!(d.config["tls"], "false");
    assert_eq!(r.display(&d)["target"], "ex -> *");
    let d = dest(
        "aws_sqs",
        &[("queue_url", "https://sqs.eu-west-1.amazonaws.com/123/q")],
        &[],
    );
    let shown = r.display(&d);
    assert_eq!(
        shown["target_url"],
        "https://eu-west-1.console.aws.amazon.com/sqs/v3/home?region=eu-west-1#/queues/https%3A%2F%2Fsqs.eu-west-1.amazonaws.com%2F123%2Fq"
    );
    let d = dest("aws_eventbridge", &[("region", "eu-west-1")], &[]);
    let shown = r.display(&d);
    assert_eq!(shown["target"], "default in eu-west-1");
    assert_eq!(
        shown["target_url"],
        "https://eu-west-1.console.aws.amazon.com/events/home?region=eu-west-1#/eventbus/default"
    );
    let d = dest(
        "aws_eventbridge",
        &[
            ("region", "us-east-1"),
            (
                "event_bus_name",
                "arn:aws:events:us-east-1:123456789012:event-bus/orders",
            ),
        ],
        &[],
    );
    let shown = r.display(&d);
    assert_eq!(
        shown["target"],
        "arn:aws:events:us-east-1:123456789012:event-bus/orders in us-east-1"
    );
    assert!(
        shown["target_url"]
            .as_str()
            .unwrap()
            .ends_with("#/eventbus/orders"),
        "{shown}"
    );
}

#[test]
fn eventbridge_rules() {
    let r = Registry::new(&Settings::default()).unwrap();
    let aws = [("key", "AKIA"), ("secret", "s")];
    let ok = |config: &[(&str, &str)]| errors(&r, &dest("aws_eventbridge", config, &aws));
    assert!(ok(&[("region", "eu-west-1")]).is_empty());
    assert!(
        ok(&[
            ("region", "eu-west-1"),
            (
                "event_bus_name",
                "arn:aws:events:eu-west-1:123456789012:event-bus/orders"
            ),
            ("source", "com.example.shop"),
            ("endpoint", "http://127.0.0.1:4566"),
        ])
        .is_empty()
    );
    assert_eq!(
        ok(&[("region", "eu-west-1"), ("source", "aws.s3")]),
        vec!["config.source failed reserved validation".to_string()]
    );
    assert_eq!(
        ok(&[("region", "eu-west-1"), ("event_bus_name", "my bus")]),
        vec!["config.event_bus_name failed pattern validation".to_string()]
    );
    assert_eq!(
        ok(&[("region", "eu-west-1"), ("endpoint", "ftp://x")]),
        vec!["config.endpoint failed pattern validation".to_string()]
    );
    assert_eq!(
        ok(&[("region", "EU")]),
        vec!["config.region failed pattern validation".to_string()]
    );
}

#[tokio::test]
async fn hookdeck_verification_against_a_local_api() {
    use axum::{Json, Router, routing::get};
    let app = Router::new().route(
        "/2025-01-01/sources/{id}/managed/verify",
        get(|headers: axum::http::HeaderMap| async move {
            if headers
                .get("x-hookdeck-source-token")
                .is_some_and(|t| t == "c3JjXzE6c2VjcmV0")
            {
                (
                    axum::http::StatusCode::OK,
                    Json(serde_json::json!({"name": "my-source"})),
                )
            } else {
                (
                    axum::http::StatusCode::UNAUTHORIZED,
                    Json(serde_json::json!({})),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let r = Registry::new(&Settings {
        hookdeck_api_url: format!("http://{addr}"),
        ..Settings::default()
    })
    .unwrap();
    // base64("src_1:secret")
    let mut d = dest("hookdeck", &[], &[("token", "c3JjXzE6c2VjcmV0")]);
    r.validate(&d).unwrap();
    r.preprocess(&mut d, None, Role::Admin).await.unwrap();
    assert_eq!(d.config["source_id"], "src_1");
    assert_eq!(d.config["source_name"], "my-source");
    assert_eq!(r.display(&d)["target"], "my-source");
    // base64("src_1:other") is well-formed but refused by the API.
    let mut d = dest("hookdeck", &[], &[("token", "c3JjXzE6b3RoZXI=")]);
    assert_eq!(
        r.preprocess(&mut d, None, Role::Admin).await,
        Err(DestError::field(
            "credentials.token failed token_verification_failed validation"
        ))
    );
}
