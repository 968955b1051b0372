//! Unit tests of the pure parts: config, partitioner, record and error codes.

use super::*;
use outpost_core::time::now_ms;
use rskafka::client::error::RequestContext;

fn dest(config: &[(&str, &str)], creds: &[(&str, &str)]) -> Destination {
    crate::testing::destination("kafka", "des_1", config, creds)
}

fn event(id: &str, data: &str) -> Event {
    serde_json::from_value(json!({
        "id": id, "tenant_id": "t", "topic": "user.created", "eligible_for_retry": true,
        "time": "2024-01-01T00:00:00Z", "metadata": {}, "data": serde_json::from_str::<Value>(data).unwrap(),
    }))
    .unwrap()
}

#[test]
fn reads_brokers_topic_sasl_and_tls() {
    let d = dest(
        &[
            ("brokers", " b1:9093 , b2 ,[::1]:9094,,"),
            ("topic", "events"),
            ("sasl_mechanism", "scram-sha-512"),
            ("tls", "on"),
            ("partition_key_template", "data.user_id"),
        ],
        &[("username", "u"), ("password", "p")],
    );
    assert_eq!(
        target(&d).unwrap(),
        Target {
            brokers: vec!["b1:9093".into(), "b2:9092".into(), "[::1]:9094".into()],
            topic: "events".into(),
            sasl: Some(Sasl {
                mechanism: Mechanism::ScramSha512,
                username: "u".into(),
                password: "p".into()
            }),
            tls: true,
            partition_key_template: Some("data.user_id".into()),
        }
    );
    // Empty mechanism: no SASL, credentials ignored; tls false; blank template absent.
    let d = dest(
        &[
            ("brokers", "k:9092"),
            ("topic", "t"),
            ("tls", "false"),
            ("partition_key_template", " "),
        ],
        &[],
    );
    let t = target(&d).unwrap();
    assert_eq!(
        (t.sasl, t.tls, t.partition_key_template),
        (None, false, None)
    );
    assert_eq!(with_port("::1"), "[::1]:9092");
    assert_eq!(with_port("host"), "host:9092");
}

#[test]
fn rejects_missing_or_unsupported_settings() {
    let e = |c: &[(&str, &str)], cr: &[(&str, &str)]| target(&dest(c, cr)).unwrap_err();
    assert!(e(&[("topic", "t")], &[]).contains("brokers"));
    assert!(e(&[("brokers", " , ")], &[]).contains("brokers"));
    assert!(e(&[("brokers", "b")], &[]).contains("topic"));
    assert!(
        e(
            &[
                ("brokers", "b"),
                ("topic", "t"),
                ("sasl_mechanism", "gssapi")
            ],
            &[]
        )
        .contains("gssapi")
    );
    assert!(
        e(
            &[
                ("brokers", "b"),
                ("topic", "t"),
                ("sasl_mechanism", "plain")
            ],
            &[("username", "u")]
        )
        .contains("password")
    );
}

#[test]
fn fnv1a_and_partitions_match_kafka_go_hash_balancer() {
    assert_eq!(fnv1a32(b""), 0x811c_9dc5);
    assert_eq!(fnv1a32(b"a"), 0xe40c_292c);
    assert_eq!(fnv1a32(b"foobar"), 0xbf9c_f968);
    // kafka-go's own cases for its Hash balancer (balancer_test.go).
    assert_eq!(partition_index(b"blah", 2), 0);
    assert_eq!(partition_index(b"blah", 3), 1);
    assert_eq!(partition_index(b"boop", 3), 2);
    // Sum with the top bit set: negative as int32, remainder taken before the sign is dropped.
    assert_eq!(partition_index(b"20", 16), 1);
    assert_eq!(partition_index(b"anything", 1), 0);
    for k in ["x", "evt_1", "user-42", "ünïcode"] {
        assert!(partition_index(k.as_bytes(), 7) < 7);
    }
}

#[test]
fn key_comes_from_the_template_or_the_event_id() {
    let ev = event("evt_9", r#"{"user_id":"u-42","n":7}"#);
    let md = BTreeMap::from([
        ("event-id".to_string(), "evt_9".to_string()),
        ("topic".to_string(), "user.created".to_string()),
    ]);
    let input = template_input(&md, &ev);
    let t = |s: &str| KeyTemplate::compile(s).unwrap();
    assert_eq!(key_of(Some(&t("data.user_id")), &input, &ev), "u-42");
    assert_eq!(key_of(Some(&t("data.n")), &input, &ev), "7");
    assert_eq!(
        key_of(Some(&t("metadata.topic")), &input, &ev),
        "user.created"
    );
    assert_eq!(key_of(Some(&t("data.missing")), &input, &ev), "evt_9");
    assert_eq!(key_of(None, &input, &ev), "evt_9");
    // Data that is not an object still evaluates (to nothing) and falls back.
    let ev = event("evt_3", "[1,2]");
    let input = template_input(&md, &ev);
    assert_eq!(key_of(Some(&t("data.user_id")), &input, &ev), "evt_3");
}

#[test]
fn record_has_key_raw_value_and_headers() {
    let ev = event("evt_1", r#"{"a":1}"#);
    let now = now_ms();
    let md = BTreeMap::from([
        ("event-id".to_string(), "evt_1".to_string()),
        ("source".to_string(), "ünï".to_string()),
    ]);
    let r = record("k1".into(), &ev, &md, now);
    assert_eq!(r.key.as_deref(), Some(&b"k1"[..]));
    assert_eq!(r.value.as_deref(), Some(ev.data.get().as_bytes()));
    assert_eq!(r.timestamp, now);
    assert_eq!(
        r.headers,
        BTreeMap::from([
            ("content-type".to_string(), b"application/json".to_vec()),
            ("event-id".to_string(), b"evt_1".to_vec()),
            ("source".to_string(), "ünï".as_bytes().to_vec()),
        ])
    );
    let md = BTreeMap::from([("content-type".to_string(), "text/plain".to_string())]);
    let r = record("k".into(), &ev, &md, now);
    assert_eq!(r.headers["content-type"], b"text/plain");
}

fn server_error(p: ProtocolError) -> KafkaError {
    KafkaError::Client(ClientError::ServerError {
        protocol_error: p,
        error_message: None,
        request: RequestContext::Topic("t".into()),
        response: None,
        is_virtual: false,
    })
}

#[test]
fn broker_error_codes() {
    for (p, code) in [
        (ProtocolError::UnknownTopicOrPartition, "topic_not_found"),
        (ProtocolError::MessageTooLarge, "message_too_large"),
        (ProtocolError::RecordListTooLarge, "message_too_large"),
        (ProtocolError::SaslAuthenticationFailed, "auth_failed"),
        (ProtocolError::RequestTimedOut, "timeout"),
        (ProtocolError::NotEnoughReplicas, "kafka_error"),
    ] {
        let e = server_error(p);
        assert_eq!(error_code(&e), code, "{e}");
        assert!(!e.is_connection(), "{e}");
    }
    let e = KafkaError::TopicNotFound("t".into());
    assert_eq!(error_code(&e), "topic_not_found");
    assert!(e.to_string().contains("\"t\""));
    assert!(!e.is_connection());
    assert_eq!(error_code(&KafkaError::Tls("x".into())), "tls_error");
    assert!(KafkaError::Client(ClientError::Timeout).is_connection());
    assert_eq!(
        error_code(&KafkaError::Client(ClientError::Timeout)),
        "timeout"
    );
}

#[test]
fn connection_error_wording_codes() {
    for (text, code) in [
        (
            "error connecting to broker \"127.0.0.1:1\": IO Error: Connection refused (os error 111)",
            "connection_refused",
        ),
        (
            "IO Error: failed to lookup address information: Name or service not known",
            "dns_error",
        ),
        (
            "Sasl handshake failed: API error: SaslAuthenticationFailed",
            "auth_failed",
        ),
        (
            "IO Error: invalid peer certificate: UnknownIssuer",
            "tls_error",
        ),
        (
            "IO Error: Connection reset by peer (os error 104)",
            "kafka_error",
        ),
        ("Invalid response: Expected a single topic", "kafka_error"),
    ] {
        assert_eq!(text_code(&text.to_ascii_lowercase()), code, "{text}");
    }
}
