//! `kafka` destinations against the local Kafka stand-in (Tansu, `scripts/stand-ins.sh
//! start-kafka`, no SASL, so the destinations leave `sasl_mechanism` empty): records read back
//! from the partition their key hashes to, with key, value and headers; then the failure classes.

use crate::destinations::{DestHarness, assert_metadata};
use rskafka::BackoffConfig;
use rskafka::client::partition::UnknownTopicHandling;
use rskafka::client::{Client, ClientBuilder};
use rskafka::record::RecordAndOffset;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const PARTITIONS: i32 = 3;

/// The stand-in's bootstrap broker(s), comma-separated.
fn brokers() -> String {
    outpost_test_support::service_addr("TEST_KAFKA_BROKERS", "127.0.0.1:9092")
}

/// A client of the stand-in, failing loudly when it is not running.
async fn admin() -> Client {
    ClientBuilder::new(brokers().split(',').map(str::to_string).collect())
        .backoff_config(BackoffConfig {
            deadline: Some(Duration::from_secs(5)),
            ..Default::default()
        })
        .build()
        .await
        .expect(
            "connect to the Kafka stand-in (scripts/stand-ins.sh start-kafka; TEST_KAFKA_BROKERS)",
        )
}

/// A new topic with [`PARTITIONS`] partitions.
async fn new_topic(client: &Client) -> String {
    let topic = outpost_test_support::unique("outpost-test-kafka");
    client
        .controller_client()
        .unwrap()
        .create_topic(&topic, PARTITIONS, 1, 5_000)
        .await
        .unwrap();
    topic
}

/// Deletes `topic` (the stand-in keeps topics in memory until it stops).
async fn delete_topic(client: &Client, topic: &str) {
    client
        .controller_client()
        .unwrap()
        .delete_topic(topic, 5_000)
        .await
        .unwrap();
}

/// Every record of every partition of `topic`, waiting until there are `want` in all.
async fn read_all(client: &Client, topic: &str, want: usize) -> Vec<(i32, RecordAndOffset)> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut out = Vec::new();
        for p in 0..PARTITIONS {
            let pc = client
                .partition_client(topic, p, UnknownTopicHandling::Retry)
                .await
                .unwrap();
            let (records, _) = pc.fetch_records(0, 1..1_000_000, 100).await.unwrap();
            out.extend(records.into_iter().map(|r| (p, r)));
        }
        if out.len() >= want {
            return out;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {want} records on {topic}",
            out.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// kafka-go's `Hash` balancer, written out independently of the sender: FNV-1a 32 of the key,
/// as a signed 32-bit value, remainder over the partition count, sign dropped.
fn expected_partition(key: &str) -> i32 {
    let h = key.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    (h.cast_signed() % PARTITIONS).abs()
}

/// A destination on `topic` at `brokers`, keyed by `data.user_id`; SASL when `sasl` names a
/// mechanism and credentials.
fn kafka_dest(topic: &str, brokers: &str, sasl: Option<(&str, &str, &str)>) -> Value {
    let mut d = json!({
        "type": "kafka",
        "config": {
            "brokers": brokers,
            "topic": topic,
            "tls": "false",
            "partition_key_template": "data.user_id",
        },
    });
    if let Some((mechanism, user, pass)) = sasl {
        d["config"]["sasl_mechanism"] = json!(mechanism);
        d["credentials"] = json!({"username": user, "password": pass});
    }
    d
}

/// Record headers as a JSON object of strings.
fn headers_json(r: &RecordAndOffset) -> Value {
    Value::Object(
        r.record
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(String::from_utf8_lossy(v).into())))
            .collect(),
    )
}

#[tokio::test]
async fn kafka_destination_produces_keyed_records_with_metadata_headers() {
    let admin = admin().await;
    let topic = new_topic(&admin).await;
    let h = DestHarness::start(&[]).await;
    let d = h
        .create(kafka_dest(&topic, &format!(" {} ", brokers()), None))
        .await;
    assert_eq!(d["config"]["tls"], "false", "tls normalised: {d}");
    let first = brokers().split(',').next().unwrap().to_string();
    assert_eq!(d["target"], json!(format!("{first} / {topic}")), "{d}");

    // Keys from the template land on all three partitions; no user_id → the event id.
    assert_eq!(
        ["u-3", "u-42", "u-1"].map(expected_partition),
        [0, 1, 2],
        "hash oracle"
    );
    let md = json!({"source": "e2e"});
    let mut sent = Vec::new();
    for user in ["u-3", "u-42", "u-1"] {
        let data = format!(r#"{{"user_id":"{user}","name":"ünïcode ✓","n":1.50}}"#);
        let id = h.publish("user.created", &data, md.clone()).await;
        sent.push((id, user.to_string(), data));
    }
    let data = r#"{"no_user":true}"#.to_string();
    let id = h.publish("user.created", &data, md.clone()).await;
    sent.push((id.clone(), id, data));

    for (id, ..) in &sent {
        let a = h.attempt(id, 1).await;
        assert_eq!(
            (a["status"].as_str(), a["code"].as_str()),
            (Some("success"), Some("OK")),
            "{a}"
        );
        assert_eq!(a["response_data"], json!({}), "{a}");
    }
    let records = read_all(&admin, &topic, sent.len()).await;
    assert_eq!(records.len(), sent.len(), "one record per event");
    for (id, key, data) in &sent {
        let (partition, r) = records
            .iter()
            .find(|(_, r)| r.record.key.as_deref() == Some(key.as_bytes()))
            .unwrap_or_else(|| panic!("no record with key {key}"));
        assert_eq!(*partition, expected_partition(key), "partition of {key}");
        assert_eq!(r.record.value.as_deref(), Some(data.as_bytes()), "value");
        let hd = headers_json(r);
        assert_eq!(hd["content-type"], "application/json", "{hd}");
        assert_metadata(&hd, id, "user.created", &md);
    }
    delete_topic(&admin, &topic).await;
    assert!(h.server.stop().success());
}

#[tokio::test]
async fn kafka_failures_have_their_attempt_codes() {
    let admin = admin().await;
    let topic = new_topic(&admin).await;
    let h = DestHarness::start(&[]).await;
    let missing = outpost_test_support::unique("outpost-test-kafka-missing");
    let closed = format!("127.0.0.1:{}", crate::common::free_port());
    let b = brokers();
    for (t, dest) in [
        ("t.missing", kafka_dest(&missing, &b, None)),
        // The stand-in offers no SASL: the handshake is refused.
        (
            "t.auth",
            kafka_dest(&topic, &b, Some(("scram-sha-512", "nobody", "wrong"))),
        ),
        ("t.closed", kafka_dest(&topic, &closed, None)),
        (
            "t.dns",
            kafka_dest(&topic, "outpost-test-broker.invalid:9092", None),
        ),
    ] {
        let mut dest = dest;
        dest["topics"] = json!([t]);
        h.create(dest).await;
    }
    for (t, code) in [
        ("t.missing", "topic_not_found"),
        ("t.auth", "auth_failed"),
        ("t.closed", "connection_refused"),
        ("t.dns", "dns_error"),
    ] {
        let id = h.publish(t, r#"{"x":1}"#, json!({})).await;
        let a = h.attempt(&id, 1).await;
        assert_eq!(a["status"], "failed", "{t}: {a}");
        assert_eq!(a["code"], code, "{t}: {a}");
        assert!(
            a["response_data"]["error"]
                .as_str()
                .is_some_and(|e| !e.is_empty()),
            "{t}: {a}"
        );
        // Failed attempts are retried as configured (MAX_RETRY_LIMIT=1: one retry).
        let retry = h.attempt(&id, 2).await;
        assert_eq!(retry["code"], code, "{t} retry: {retry}");
    }
    // Nothing was produced to the existing topic by the failing destinations, and the
    // missing topic was not auto-created.
    let topics = admin.list_topics().await.unwrap();
    assert!(topics.iter().all(|t| t.name != missing), "{topics:?}");
    for p in 0..PARTITIONS {
        let pc = admin
            .partition_client(&topic, p, UnknownTopicHandling::Retry)
            .await
            .unwrap();
        let (records, _) = pc.fetch_records(0, 1..1_000_000, 10).await.unwrap();
        assert!(records.is_empty(), "partition {p}: {records:?}");
    }
    delete_topic(&admin, &topic).await;
    assert!(h.server.stop().success());
}
