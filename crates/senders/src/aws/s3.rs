//! `aws_s3` destinations (spec §5.6): one `PutObject` per event into `config.bucket`, with the
//! event data as the body, `Content-Type: application/json`, the merged metadata as S3 user
//! metadata, the configured storage class and a SHA-256 checksum. The object key is
//! `config.key_template` (JMESPath) over `{data, metadata, time}` where `time` describes the
//! event's time in UTC; an empty or null key fails the attempt. With `config.endpoint` the
//! bucket is addressed path-style (`<endpoint>/<bucket>/<key>`).

use super::{Connection, cached_client, config_value, connection, failed_send, required_config};
use crate::SenderSettings;
use crate::cache::ClientCache;
use crate::jmes::KeyTemplate;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, StorageClass};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use outpost_core::destination::Destination;
use outpost_core::event::Event;
use outpost_core::ports::{SendResult, Sender};
use outpost_core::time::{Timestamp, format_rfc3339_nano, format_rfc3339_secs};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Key template used when `config.key_template` is empty.
pub const DEFAULT_KEY_TEMPLATE: &str =
    r#"join('', [time.rfc3339_nano, '_', metadata."event-id", '.json'])"#;

/// Where an `aws_s3` destination writes.
#[derive(Debug)]
pub struct Target {
    /// Bucket name.
    pub bucket: String,
    /// Object key template.
    pub key_template: KeyTemplate,
    /// Storage class of new objects.
    pub storage_class: StorageClass,
    /// Region, endpoint and credentials.
    pub conn: Connection,
}

/// Reads the destination's config and credentials.
pub fn target(dest: &Destination) -> Result<Target, String> {
    let bucket = required_config(dest, "bucket")?;
    let region = required_config(dest, "region")?;
    let template = config_value(dest, "key_template");
    let key_template = KeyTemplate::compile(template.as_deref().unwrap_or(DEFAULT_KEY_TEMPLATE))
        .map_err(|e| format!("config.key_template: {e}"))?;
    let storage_class = storage_class(config_value(dest, "storage_class").as_deref())?;
    Ok(Target {
        bucket,
        key_template,
        storage_class,
        conn: connection(dest, region)?,
    })
}

/// The storage class named (case-insensitive), `STANDARD` when none is.
pub fn storage_class(name: Option<&str>) -> Result<StorageClass, String> {
    let Some(name) = name else {
        return Ok(StorageClass::Standard);
    };
    let upper = name.trim().to_ascii_uppercase();
    if StorageClass::values().contains(&upper.as_str()) {
        Ok(StorageClass::from(upper.as_str()))
    } else {
        Err(format!(
            "config.storage_class: unknown S3 storage class {name:?}"
        ))
    }
}

/// The `time` object of the key template input: the event time in UTC.
pub fn time_fields(t: &Timestamp) -> Value {
    json!({
        "year": t.format("%Y").to_string(),
        "month": t.format("%m").to_string(),
        "day": t.format("%d").to_string(),
        "hour": t.format("%H").to_string(),
        "minute": t.format("%M").to_string(),
        "second": t.format("%S").to_string(),
        "date": t.format("%Y-%m-%d").to_string(),
        "datetime": t.format("%Y-%m-%dT%H:%M:%S").to_string(),
        "unix": t.timestamp().to_string(),
        "rfc3339": format_rfc3339_secs(t),
        "rfc3339_nano": format_rfc3339_nano(t),
    })
}

/// The object key of `event` (pure).
pub fn object_key(
    template: &KeyTemplate,
    event: &Event,
    metadata: &BTreeMap<String, String>,
) -> Result<String, String> {
    let data: Value = serde_json::from_str(event.data.get())
        .map_err(|e| format!("event data is not JSON: {e}"))?;
    let input = json!({"data": data, "metadata": metadata, "time": time_fields(&event.time)});
    match template.render(&input) {
        Ok(Some(key)) => Ok(key),
        Ok(None) => Err("the key template produced an empty object key".into()),
        Err(e) => Err(format!("the key template failed: {e}")),
    }
}

/// Base64 SHA-256 of the body, as S3's `x-amz-checksum-sha256` wants it.
pub fn checksum_sha256(body: &[u8]) -> String {
    B64.encode(Sha256::digest(body))
}

/// Writes objects to S3 buckets.
pub struct S3Sender {
    settings: Arc<SenderSettings>,
    clients: ClientCache<Client>,
}

impl S3Sender {
    /// A sender with an empty client cache.
    pub fn new(settings: Arc<SenderSettings>) -> Self {
        Self {
            settings,
            clients: ClientCache::default(),
        }
    }
}

fn client(conn: &Connection) -> Client {
    let config = aws_sdk_s3::config::Builder::from(&super::sdk_config(conn))
        .force_path_style(conn.endpoint.is_some())
        .build();
    Client::from_conf(config)
}

#[async_trait::async_trait]
impl Sender for S3Sender {
    async fn send(&self, dest: &Destination, event: &Event, now: Timestamp) -> SendResult {
        let t = match target(dest) {
            Ok(t) => t,
            Err(e) => return SendResult::failed("ERR", e),
        };
        let metadata = self.settings.metadata(dest, event, now);
        let key = match object_key(&t.key_template, event, &metadata) {
            Ok(k) => k,
            Err(e) => return SendResult::failed("ERR", e),
        };
        let body = event.data.get().as_bytes().to_vec();
        let checksum = checksum_sha256(&body);
        let client = cached_client(&self.clients, dest, || client(&t.conn)).await;
        let put = client
            .put_object()
            .bucket(&t.bucket)
            .key(&key)
            .body(ByteStream::from(body))
            .content_type("application/json")
            .set_metadata(Some(metadata.into_iter().collect::<HashMap<_, _>>()))
            .storage_class(t.storage_class)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .checksum_sha256(checksum)
            .send()
            .await;
        match put {
            Ok(_) => SendResult::ok(json!({"bucket": t.bucket, "key": key})),
            Err(e) => failed_send(&self.clients, dest, "PutObject", &e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::tests::{CREDS, dest, event, md};

    #[test]
    fn default_key_is_event_time_and_id() {
        let e = event(r#"{"a":1}"#);
        let t = KeyTemplate::compile(DEFAULT_KEY_TEMPLATE).unwrap();
        assert_eq!(
            object_key(&t, &e, &md()).unwrap(),
            "2024-02-03T04:05:06.789Z_evt_1.json"
        );
    }

    #[test]
    fn time_fields_are_zero_padded_strings_of_the_event_time() {
        let e = event("{}");
        assert_eq!(
            time_fields(&e.time),
            json!({"year": "2024", "month": "02", "day": "03", "hour": "04", "minute": "05",
                   "second": "06", "date": "2024-02-03", "datetime": "2024-02-03T04:05:06",
                   "unix": "1706933106", "rfc3339": "2024-02-03T04:05:06Z",
                   "rfc3339_nano": "2024-02-03T04:05:06.789Z"})
        );
        let t = KeyTemplate::compile(
            "join('/', [time.year, time.month, time.day, data.kind, metadata.\"event-id\"])",
        )
        .unwrap();
        let e = event(r#"{"kind":"signup"}"#);
        assert_eq!(
            object_key(&t, &e, &md()).unwrap(),
            "2024/02/03/signup/evt_1"
        );
    }

    #[test]
    fn empty_or_failing_keys_are_errors() {
        let e = event(r#"{"n":1}"#);
        let t = KeyTemplate::compile("data.missing").unwrap();
        assert!(object_key(&t, &e, &md()).unwrap_err().contains("empty"));
        let t = KeyTemplate::compile("join('', [data.n])").unwrap();
        assert!(object_key(&t, &e, &md()).unwrap_err().contains("failed"));
        let t = KeyTemplate::compile("data.n").unwrap();
        assert_eq!(object_key(&t, &e, &md()).unwrap(), "1");
    }

    #[test]
    fn storage_class_is_case_insensitive_with_standard_default() {
        assert_eq!(storage_class(None).unwrap(), StorageClass::Standard);
        assert_eq!(
            storage_class(Some("standard_ia")).unwrap(),
            StorageClass::StandardIa
        );
        assert!(storage_class(Some("COLD")).unwrap_err().contains("COLD"));
    }

    #[test]
    fn checksum_matches_reference() {
        // python3: base64.b64encode(hashlib.sha256(b'{"a":1}').digest())
        assert_eq!(
            checksum_sha256(br#"{"a":1}"#),
            "AVq9f1zFei3ZS3WQ8ErYCEJzkF7jPsXOvq5iJ2qX+GI="
        );
    }

    #[test]
    fn target_defaults_and_path_style_client() {
        let d = dest(
            "aws_s3",
            &[
                ("bucket", "b"),
                ("region", "eu-west-1"),
                ("endpoint", "http://127.0.0.1:4566"),
            ],
            CREDS,
        );
        let t = target(&d).unwrap();
        assert_eq!(t.bucket, "b");
        assert_eq!(t.storage_class, StorageClass::Standard);
        let c = client(&t.conn);
        assert_eq!(c.config().region().map(|r| r.as_ref()), Some("eu-west-1"));
        assert_eq!(
            target(&dest("aws_s3", &[("bucket", "b")], CREDS)).unwrap_err(),
            "config.region is required"
        );
    }
}
