//! AWS destinations (`aws_sqs`, `aws_kinesis`, `aws_s3`, `aws_eventbridge`) against moto (see
//! `scripts/stand-ins.sh start-moto`): events published through the running service are read
//! back from the queue, stream, bucket or bus rule target; then the failure classes.
//!
//! Moto is driven over plain HTTP (AWS JSON protocols, S3 REST) so that the SDKs stay in the
//! senders crate and the wire format is checked by an independent client. Moto does not check
//! signatures, so requests carry a well-formed but unsigned `Authorization` header, which moto
//! reads to route by service and region.

use crate::destinations::{DestHarness, assert_metadata};
use base64::Engine;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Moto's base URL: `TEST_AWS_ENDPOINT`, else `TEST_AWS_SQS_ENDPOINT`, else the local default.
fn moto_endpoint() -> String {
    std::env::var("TEST_AWS_ENDPOINT").unwrap_or_else(|_| {
        outpost_test_support::service_addr("TEST_AWS_SQS_ENDPOINT", "http://127.0.0.1:4566")
    })
}

/// A name valid for every AWS resource kind used here (S3 buckets allow no `_`).
fn name(prefix: &str) -> String {
    outpost_test_support::unique(prefix)
        .replace('_', "-")
        .to_lowercase()
}

const CREDS: &str = r#"{"key":"test","secret":"test"}"#;

struct Moto {
    base: String,
    http: reqwest::Client,
}

impl Moto {
    fn new() -> Self {
        Self {
            base: moto_endpoint().trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
        }
    }

    fn auth(service: &str, region: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256 Credential=test/20240101/{region}/{service}/aws4_request, \
             SignedHeaders=host, Signature=0000"
        )
    }

    /// One AWS JSON-protocol call (`AmazonSQS.*`, `Kinesis_20131202.*`, `AWSEvents.*`).
    async fn try_call(&self, region: &str, target: &str, body: Value) -> (u16, Value) {
        let (service, version) = match target.split('.').next().unwrap_or("") {
            "AmazonSQS" => ("sqs", "1.0"),
            "Kinesis_20131202" => ("kinesis", "1.1"),
            "AWSEvents" => ("events", "1.1"),
            other => panic!("unknown JSON target prefix {other}"),
        };
        let resp = self
            .http
            .post(format!("{}/", self.base))
            .header("Authorization", Self::auth(service, region))
            .header("X-Amz-Target", target)
            .header("Content-Type", format!("application/x-amz-json-{version}"))
            .body(body.to_string())
            .send()
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "moto is not reachable at {} ({e}); run scripts/stand-ins.sh start-moto",
                    self.base
                )
            });
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let v = if text.is_empty() {
            json!({})
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, v)
    }

    async fn call(&self, region: &str, target: &str, body: Value) -> Value {
        let (s, v) = self.try_call(region, target, body).await;
        assert_eq!(s, 200, "{target}: {v}");
        v
    }

    /// One S3 REST call, path-style.
    async fn s3(&self, method: reqwest::Method, path: &str) -> reqwest::Response {
        self.http
            .request(method, format!("{}/{path}", self.base))
            .header("Authorization", Self::auth("s3", "us-east-1"))
            .send()
            .await
            .unwrap()
    }

    async fn create_queue(&self, queue: &str) -> String {
        let v = self
            .call(
                "us-east-1",
                "AmazonSQS.CreateQueue",
                json!({"QueueName": queue}),
            )
            .await;
        v["QueueUrl"].as_str().unwrap().to_string()
    }

    async fn delete_queue(&self, url: &str) {
        self.call(
            "us-east-1",
            "AmazonSQS.DeleteQueue",
            json!({"QueueUrl": url}),
        )
        .await;
    }

    /// Waits for one message on the queue (with its attributes) and deletes it.
    async fn receive_one(&self, url: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let v = self
                .call(
                    "us-east-1",
                    "AmazonSQS.ReceiveMessage",
                    json!({"QueueUrl": url, "MessageAttributeNames": ["All"],
                           "MaxNumberOfMessages": 10, "WaitTimeSeconds": 1}),
                )
                .await;
            if let Some(msgs) = v["Messages"].as_array().filter(|m| !m.is_empty()) {
                assert_eq!(msgs.len(), 1, "exactly one message: {v}");
                return msgs[0].clone();
            }
            assert!(Instant::now() < deadline, "no message on {url}");
        }
    }
}

fn assert_ok(a: &Value) {
    assert_eq!(
        (a["status"].as_str(), a["code"].as_str()),
        (Some("success"), Some("OK")),
        "{a}"
    );
}

#[tokio::test]
async fn aws_sqs_destination_sends_the_data_with_a_metadata_attribute() {
    let moto = Moto::new();
    let url = moto.create_queue(&name("outpost-test-sqs")).await;
    let h = DestHarness::start(&[]).await;
    let d = h
        .create(json!({"type": "aws_sqs", "topics": ["order.paid"],
                       "config": {"queue_url": url, "endpoint": moto.base},
                       "credentials": serde_json::from_str::<Value>(CREDS).unwrap()}))
        .await;
    assert_eq!(d["target"], json!(url), "{d}");
    let data = r#"{"order":"ünïcode ✓","amount":1.50,"items":[1,2]}"#;
    let md = json!({"source": "e2e"});
    let id = h.publish("order.paid", data, md.clone()).await;
    let a = h.attempt(&id, 1).await;
    assert_ok(&a);
    assert_eq!(a["response_data"], json!({}), "{a}");

    let msg = moto.receive_one(&url).await;
    assert_eq!(msg["Body"].as_str(), Some(data), "{msg}");
    let attrs = msg["MessageAttributes"].as_object().unwrap();
    assert_eq!(attrs.len(), 1, "only the metadata attribute: {msg}");
    assert_eq!(attrs["metadata"]["DataType"], "String", "{msg}");
    let meta: Value =
        serde_json::from_str(attrs["metadata"]["StringValue"].as_str().unwrap()).unwrap();
    assert_metadata(&meta, &id, "order.paid", &md);
    moto.delete_queue(&url).await;
    assert!(h.server.stop().success());
}

/// Reads the record at `sequence` of `shard` in `stream` (region eu-west-1).
async fn kinesis_record(moto: &Moto, stream: &str, shard: &str, sequence: &str) -> Value {
    let it = moto
        .call(
            "eu-west-1",
            "Kinesis_20131202.GetShardIterator",
            json!({"StreamName": stream, "ShardId": shard,
                   "ShardIteratorType": "AT_SEQUENCE_NUMBER", "StartingSequenceNumber": sequence}),
        )
        .await;
    let recs = moto
        .call(
            "eu-west-1",
            "Kinesis_20131202.GetRecords",
            json!({"ShardIterator": it["ShardIterator"], "Limit": 1}),
        )
        .await;
    recs["Records"][0].clone()
}

fn record_text(rec: &Value) -> String {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(rec["Data"].as_str().unwrap())
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

#[tokio::test]
async fn aws_kinesis_destination_puts_records_with_template_partition_keys() {
    let moto = Moto::new();
    let stream = name("outpost-test-kinesis");
    moto.call(
        "eu-west-1",
        "Kinesis_20131202.CreateStream",
        json!({"StreamName": stream, "ShardCount": 1}),
    )
    .await;
    let dest = json!({"type": "aws_kinesis", "topics": ["invoice.created"],
        "config": {"stream_name": stream, "region": "eu-west-1", "endpoint": moto.base,
                   "partition_key_template": "join('/', [metadata.topic, data.customer.id])"},
        "credentials": serde_json::from_str::<Value>(CREDS).unwrap()});
    let data = r#"{"customer":{"id":"cus_42"},"total":12.5}"#;
    let md = json!({"region": "emea"});

    // Default: the record is {"metadata":…,"data":…} and the template sees both.
    let h = DestHarness::start(&[]).await;
    h.create(dest.clone()).await;
    let id = h.publish("invoice.created", data, md.clone()).await;
    let a = h.attempt(&id, 1).await;
    assert_ok(&a);
    let rd = &a["response_data"];
    assert_eq!(rd["partition_key"], "invoice.created/cus_42", "{a}");
    let rec = kinesis_record(
        &moto,
        &stream,
        rd["shard_id"].as_str().unwrap(),
        rd["sequence_number"].as_str().unwrap(),
    )
    .await;
    assert_eq!(rec["PartitionKey"], "invoice.created/cus_42", "{rec}");
    let text = record_text(&rec);
    assert!(
        text.starts_with(r#"{"metadata":{"#) && text.ends_with(&format!(r#","data":{data}}}"#)),
        "wrapped record keeps the data bytes: {text}"
    );
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_metadata(&body["metadata"], &id, "invoice.created", &md);
    assert!(h.server.stop().success());

    // Without metadata in the payload the record is the data and the template sees only it,
    // so this template yields nothing and the key falls back to the event id.
    let h = DestHarness::start(&[("DESTINATIONS_AWS_KINESIS_METADATA_IN_PAYLOAD", "false")]).await;
    h.create(dest).await;
    let id = h.publish("invoice.created", data, md).await;
    let a = h.attempt(&id, 1).await;
    assert_ok(&a);
    let rd = &a["response_data"];
    assert_eq!(rd["partition_key"], json!(id), "{a}");
    let rec = kinesis_record(
        &moto,
        &stream,
        rd["shard_id"].as_str().unwrap(),
        rd["sequence_number"].as_str().unwrap(),
    )
    .await;
    assert_eq!(record_text(&rec), data);
    moto.call(
        "eu-west-1",
        "Kinesis_20131202.DeleteStream",
        json!({"StreamName": stream}),
    )
    .await;
    assert!(h.server.stop().success());
}

#[tokio::test]
async fn aws_s3_destination_writes_objects_under_template_keys() {
    let moto = Moto::new();
    let bucket = name("outpost-test-s3");
    let r = moto.s3(reqwest::Method::PUT, &bucket).await;
    assert_eq!(r.status(), 200, "create bucket: {:?}", r.text().await);
    let h = DestHarness::start(&[]).await;
    let s3 = |topic: &str, extra: Value| {
        let mut config = json!({"bucket": bucket, "region": "us-east-1", "endpoint": moto.base});
        for (k, v) in extra.as_object().unwrap() {
            config[k] = v.clone();
        }
        json!({"type": "aws_s3", "topics": [topic], "config": config,
               "credentials": serde_json::from_str::<Value>(CREDS).unwrap()})
    };
    let template = r#"join('/', [time.year, time.month, time.day, metadata.topic, join('', [metadata."event-id", '.json'])])"#;
    let d = h
        .create(s3(
            "report.ready",
            json!({"key_template": template, "storage_class": "standard_ia"}),
        ))
        .await;
    assert_eq!(d["config"]["storage_class"], "STANDARD_IA", "{d}");
    h.create(s3("report.default", json!({}))).await;
    h.create(s3("report.nokey", json!({"key_template": "data.missing"})))
        .await;

    // The event time (not the attempt time) names the object.
    let publish = |topic: &str, id: &str, data: &str| {
        format!(
            r#"{{"id":"{id}","tenant_id":"{}","topic":"{topic}","time":"2024-02-03T04:05:06.789Z","metadata":{{"source":"e2e"}},"data":{data}}}"#,
            h.tenant
        )
    };
    let data = r#"{"report":"q1","pages":3}"#;
    let md = json!({"source": "e2e"});
    let mut objects = Vec::new();
    for (topic, expected_key) in [
        ("report.ready", "2024/02/03/report.ready/{id}.json"),
        ("report.default", "2024-02-03T04:05:06.789Z_{id}.json"),
    ] {
        let id = outpost_test_support::unique("evt");
        let (s, b) = h.api.publish_raw(&publish(topic, &id, data)).await;
        assert_eq!(s, 202, "{b}");
        let key = expected_key.replace("{id}", &id);
        let a = h.attempt(&id, 1).await;
        assert_ok(&a);
        assert_eq!(
            a["response_data"],
            json!({"bucket": bucket, "key": key}),
            "{a}"
        );

        let r = moto
            .s3(reqwest::Method::GET, &format!("{bucket}/{key}"))
            .await;
        assert_eq!(r.status(), 200, "{topic}: object {key}");
        let headers = r.headers().clone();
        let header = |k: &str| headers.get(k).map(|v| v.to_str().unwrap().to_string());
        assert_eq!(header("content-type").as_deref(), Some("application/json"));
        let class = if topic == "report.ready" {
            "STANDARD_IA"
        } else {
            "STANDARD"
        };
        assert_eq!(
            header("x-amz-storage-class").unwrap_or_else(|| "STANDARD".into()),
            class,
            "{topic}"
        );
        let meta: serde_json::Map<String, Value> = headers
            .iter()
            .filter_map(|(k, v)| {
                k.as_str()
                    .strip_prefix("x-amz-meta-")
                    .map(|m| (m.to_string(), json!(v.to_str().unwrap())))
            })
            .collect();
        assert_metadata(&Value::Object(meta), &id, topic, &md);
        assert_eq!(r.text().await.unwrap(), data);
        objects.push(key);
    }

    // A template that yields no key fails the attempt, which is retried.
    let id = outpost_test_support::unique("evt");
    let (s, b) = h.api.publish_raw(&publish("report.nokey", &id, data)).await;
    assert_eq!(s, 202, "{b}");
    for n in [1, 2] {
        let a = h.attempt(&id, n).await;
        assert_eq!(
            (a["status"].as_str(), a["code"].as_str()),
            (Some("failed"), Some("ERR")),
            "{a}"
        );
        let err = a["response_data"]["error"].as_str().unwrap();
        assert!(err.contains("empty object key"), "{a}");
    }

    for key in objects {
        moto.s3(reqwest::Method::DELETE, &format!("{bucket}/{key}"))
            .await;
    }
    let r = moto.s3(reqwest::Method::DELETE, &bucket).await;
    assert_eq!(r.status(), 204, "delete bucket");
    assert!(h.server.stop().success());
}

#[tokio::test]
async fn aws_eventbridge_destination_puts_events_that_rules_route() {
    let moto = Moto::new();
    let region = "us-east-1";
    let bus = name("outpost-test-bus");
    let rule = name("outpost-test-rule");
    let source = format!("com.example.{}", name("shop"));
    let queue_url = moto.create_queue(&name("outpost-test-eb")).await;
    let arn = moto
        .call(
            region,
            "AmazonSQS.GetQueueAttributes",
            json!({"QueueUrl": queue_url, "AttributeNames": ["QueueArn"]}),
        )
        .await["Attributes"]["QueueArn"]
        .clone();
    moto.call(region, "AWSEvents.CreateEventBus", json!({"Name": bus}))
        .await;
    moto.call(
        region,
        "AWSEvents.PutRule",
        json!({"Name": rule, "EventBusName": bus, "State": "ENABLED",
               "EventPattern": json!({"source": [source]}).to_string()}),
    )
    .await;
    moto.call(
        region,
        "AWSEvents.PutTargets",
        json!({"Rule": rule, "EventBusName": bus, "Targets": [{"Id": "q", "Arn": arn}]}),
    )
    .await;

    let h = DestHarness::start(&[]).await;
    let d = h
        .create(
            json!({"type": "aws_eventbridge", "topics": ["shipment.sent"],
            "config": {"event_bus_name": bus, "region": region, "endpoint": moto.base,
                       "source": source},
            "credentials": serde_json::from_str::<Value>(CREDS).unwrap()}),
        )
        .await;
    assert_eq!(d["target"], json!(format!("{bus} in {region}")), "{d}");
    assert_eq!(d["credentials"]["secret"], "****", "sensitive: {d}");
    let data = r#"{"shipment":{"id":"shp_1","carrier":"ünï"},"weight":2.5}"#;
    let id = h.publish("shipment.sent", data, json!({})).await;
    let a = h.attempt(&id, 1).await;
    assert_ok(&a);
    let eb_id = a["response_data"]["event_id"].as_str().unwrap().to_string();
    assert!(!eb_id.is_empty(), "{a}");

    let msg = moto.receive_one(&queue_url).await;
    let envelope: Value = serde_json::from_str(msg["Body"].as_str().unwrap()).unwrap();
    assert_eq!(envelope["source"], json!(source), "{envelope}");
    assert_eq!(envelope["detail-type"], "shipment.sent", "{envelope}");
    assert_eq!(
        envelope["detail"],
        serde_json::from_str::<Value>(data).unwrap(),
        "{envelope}"
    );
    assert_eq!(envelope["id"], json!(eb_id), "{envelope}");

    moto.call(
        region,
        "AWSEvents.RemoveTargets",
        json!({"Rule": rule, "EventBusName": bus, "Ids": ["q"]}),
    )
    .await;
    moto.call(
        region,
        "AWSEvents.DeleteRule",
        json!({"Name": rule, "EventBusName": bus}),
    )
    .await;
    moto.call(region, "AWSEvents.DeleteEventBus", json!({"Name": bus}))
        .await;
    moto.delete_queue(&queue_url).await;
    assert!(h.server.stop().success());
}

#[tokio::test]
async fn aws_failures_have_their_attempt_codes_and_are_retried() {
    let moto = Moto::new();
    let closed = format!("http://127.0.0.1:{}", crate::common::free_port());
    let creds: Value = serde_json::from_str(CREDS).unwrap();
    let h = DestHarness::start(&[]).await;
    let cases = [
        (
            "t.sqs.missing",
            // No endpoint: a queue URL on a non-AWS host is its own endpoint.
            json!({"type": "aws_sqs", "config": {"queue_url":
                format!("{}/123456789012/{}", moto.base, name("outpost-test-missing"))}}),
            "ERR",
            "NonExistentQueue",
        ),
        (
            "t.kinesis.missing",
            json!({"type": "aws_kinesis", "config": {"stream_name": name("outpost-test-missing"),
                "region": "eu-west-1", "endpoint": moto.base}}),
            "ERR",
            "ResourceNotFoundException",
        ),
        (
            "t.s3.missing",
            json!({"type": "aws_s3", "config": {"bucket": name("outpost-test-missing"),
                "region": "us-east-1", "endpoint": moto.base}}),
            "ERR",
            "NoSuchBucket",
        ),
        (
            "t.eventbridge.missing",
            json!({"type": "aws_eventbridge", "config": {"event_bus_name":
                name("outpost-test-missing"), "region": "us-east-1", "endpoint": moto.base}}),
            "ERR",
            "ResourceNotFoundException",
        ),
        (
            "t.sqs.closed",
            json!({"type": "aws_sqs", "config": {"queue_url": "https://sqs.us-east-1.amazonaws.com/1/q",
                "endpoint": closed}}),
            "connection_refused",
            "could not be sent",
        ),
        (
            "t.kinesis.closed",
            json!({"type": "aws_kinesis", "config": {"stream_name": "s", "region": "eu-west-1",
                "endpoint": closed}}),
            "connection_refused",
            "could not be sent",
        ),
    ];
    for (topic, dest, ..) in &cases {
        let mut dest = dest.clone();
        dest["topics"] = json!([topic]);
        dest["credentials"] = creds.clone();
        h.create(dest).await;
    }
    for (topic, _, code, needle) in &cases {
        let id = h.publish(topic, r#"{"x":1}"#, json!({})).await;
        for n in [1, 2] {
            let a = h.attempt(&id, n).await;
            assert_eq!(
                (a["status"].as_str(), a["code"].as_str()),
                (Some("failed"), Some(*code)),
                "{topic} attempt {n}: {a}"
            );
            let err = a["response_data"]["error"].as_str().unwrap_or_default();
            assert!(err.contains(needle), "{topic} attempt {n}: {a}");
        }
    }
    assert!(h.server.stop().success());
}
