//! `aws_kinesis` destinations (spec §5.5): one `PutRecord` per event to `config.stream_name` in
//! `config.region`. With `DESTINATIONS_AWS_KINESIS_METADATA_IN_PAYLOAD` (the default) the record
//! is `{"metadata":{...},"data":<event data>}`, else the event data alone. The partition key is
//! `config.partition_key_template` (JMESPath) evaluated over that same document, falling back to
//! the event id when the template is absent, fails or yields nothing.

use super::{Connection, cached_client, config_value, connection, failed_send, required_config};
use crate::SenderSettings;
use crate::cache::ClientCache;
use crate::jmes::{KeyTemplate, partition_key};
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::primitives::Blob;
use outpost_core::destination::Destination;
use outpost_core::event::Event;
use outpost_core::ports::{SendResult, Sender};
use outpost_core::time::Timestamp;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where an `aws_kinesis` destination writes.
#[derive(Debug)]
pub struct Target {
    /// Stream name.
    pub stream_name: String,
    /// Partition key template, when configured.
    pub partition_key_template: Option<KeyTemplate>,
    /// Region, endpoint and credentials.
    pub conn: Connection,
}

/// Reads the destination's config and credentials.
pub fn target(dest: &Destination) -> Result<Target, String> {
    let stream_name = required_config(dest, "stream_name")?;
    let region = required_config(dest, "region")?;
    let partition_key_template = config_value(dest, "partition_key_template")
        .map(|t| KeyTemplate::compile(&t))
        .transpose()
        .map_err(|e| format!("config.partition_key_template: {e}"))?;
    Ok(Target {
        stream_name,
        partition_key_template,
        conn: connection(dest, region)?,
    })
}

/// A record ready to put.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Record bytes.
    pub data: Vec<u8>,
    /// Partition key.
    pub partition_key: String,
}

/// Builds the record of `event` (pure). `with_metadata` wraps the data with the metadata.
pub fn record(
    event: &Event,
    metadata: &BTreeMap<String, String>,
    template: Option<&KeyTemplate>,
    with_metadata: bool,
) -> Result<Record, String> {
    let raw = event.data.get();
    let data: Value =
        serde_json::from_str(raw).map_err(|e| format!("event data is not JSON: {e}"))?;
    let (bytes, input) = if with_metadata {
        let md = serde_json::to_string(metadata).map_err(|e| e.to_string())?;
        let bytes = format!(r#"{{"metadata":{md},"data":{raw}}}"#).into_bytes();
        (bytes, json!({"metadata": metadata, "data": data}))
    } else {
        (raw.as_bytes().to_vec(), data)
    };
    Ok(Record {
        data: bytes,
        partition_key: partition_key(template, &input, &event.id),
    })
}

/// Writes to Kinesis data streams.
pub struct KinesisSender {
    settings: Arc<SenderSettings>,
    clients: ClientCache<Client>,
}

impl KinesisSender {
    /// A sender with an empty client cache.
    pub fn new(settings: Arc<SenderSettings>) -> Self {
        Self {
            settings,
            clients: ClientCache::default(),
        }
    }
}

#[async_trait::async_trait]
impl Sender for KinesisSender {
    async fn send(&self, dest: &Destination, event: &Event, now: Timestamp) -> SendResult {
        let t = match target(dest) {
            Ok(t) => t,
            Err(e) => return SendResult::failed("ERR", e),
        };
        let metadata = self.settings.metadata(dest, event, now);
        let rec = match record(
            event,
            &metadata,
            t.partition_key_template.as_ref(),
            self.settings.kinesis_metadata_in_payload,
        ) {
            Ok(r) => r,
            Err(e) => return SendResult::failed("ERR", e),
        };
        let client = cached_client(&self.clients, dest, || {
            Client::new(&super::sdk_config(&t.conn))
        })
        .await;
        let put = client
            .put_record()
            .stream_name(&t.stream_name)
            .partition_key(&rec.partition_key)
            .data(Blob::new(rec.data))
            .send()
            .await;
        match put {
            Ok(out) => SendResult::ok(json!({
                "shard_id": out.shard_id(),
                "sequence_number": out.sequence_number(),
                "partition_key": rec.partition_key,
            })),
            Err(e) => failed_send(&self.clients, dest, "PutRecord", &e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::tests::{CREDS, dest, event, md};

    #[test]
    fn wraps_data_with_metadata_and_keys_by_template() {
        let e = event(r#"{"user":{"id":42,"name":"ann"}}"#);
        let t = KeyTemplate::compile("join('/', [metadata.topic, data.user.name])").unwrap();
        let r = record(&e, &md(), Some(&t), true).unwrap();
        assert_eq!(
            std::str::from_utf8(&r.data).unwrap(),
            r#"{"metadata":{"event-id":"evt_1","topic":"user.created"},"data":{"user":{"id":42,"name":"ann"}}}"#
        );
        assert_eq!(r.partition_key, "user.created/ann");
        let t = KeyTemplate::compile("data.user.id").unwrap();
        assert_eq!(
            record(&e, &md(), Some(&t), true).unwrap().partition_key,
            "42"
        );
    }

    #[test]
    fn unwrapped_records_are_the_data_and_templates_see_only_data() {
        let e = event(r#"{"user":{"id":42}}"#);
        let t = KeyTemplate::compile("user.id").unwrap();
        let r = record(&e, &md(), Some(&t), false).unwrap();
        assert_eq!(r.data, br#"{"user":{"id":42}}"#);
        assert_eq!(r.partition_key, "42");
        // `metadata` is not part of the input any more: falls back to the event id.
        let t = KeyTemplate::compile("metadata.topic").unwrap();
        assert_eq!(
            record(&e, &md(), Some(&t), false).unwrap().partition_key,
            "evt_1"
        );
        assert_eq!(
            record(&e, &md(), None, true).unwrap().partition_key,
            "evt_1"
        );
    }

    #[test]
    fn target_requires_stream_and_region_and_a_valid_template() {
        let d = dest(
            "aws_kinesis",
            &[("stream_name", "s"), ("region", "eu-west-1")],
            CREDS,
        );
        let t = target(&d).unwrap();
        assert_eq!(
            (t.stream_name.as_str(), t.conn.region.as_str()),
            ("s", "eu-west-1")
        );
        assert!(t.partition_key_template.is_none());
        assert_eq!(
            target(&dest("aws_kinesis", &[("stream_name", "s")], CREDS)).unwrap_err(),
            "config.region is required"
        );
        let bad = dest(
            "aws_kinesis",
            &[
                ("stream_name", "s"),
                ("region", "eu-west-1"),
                ("partition_key_template", "data.["),
            ],
            CREDS,
        );
        assert!(
            target(&bad)
                .unwrap_err()
                .starts_with("config.partition_key_template")
        );
    }
}
