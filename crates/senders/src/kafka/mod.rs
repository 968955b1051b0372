//! `kafka` destinations (spec §5.10): produce one record per event to the configured topic,
//! with key = the partition key (JMESPath `partition_key_template` over `{metadata, data}`,
//! else the event id), value = the raw event data, and headers `content-type:
//! application/json` plus the merged metadata. The partition is chosen as upstream's
//! kafka-go `Hash` balancer does (FNV-1a 32 of the key, as a signed 32-bit remainder over the
//! topic's partitions), so a key lands on the same partition as it would with Outpost.
//!
//! This module holds the pure parts (config, record, partitioner, error codes); the client
//! and the [`Sender`](outpost_core::ports::Sender) are in [`client`].

pub mod client;

pub use client::KafkaSender;

use crate::jmes::{KeyTemplate, partition_key};
use chrono::{DateTime, Utc};
use outpost_core::destination::Destination;
use outpost_core::event::Event;
use rskafka::client::error::{Error as ClientError, ProtocolError};
use rskafka::record::Record;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Kafka's customary port, added to a broker address that names none.
pub const DEFAULT_PORT: u16 = 9092;

/// A SASL mechanism (config `sasl_mechanism`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// `plain`.
    Plain,
    /// `scram-sha-256`.
    ScramSha256,
    /// `scram-sha-512`.
    ScramSha512,
}

/// SASL settings: mechanism and credentials.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sasl {
    /// Mechanism.
    pub mechanism: Mechanism,
    /// `credentials.username`.
    pub username: String,
    /// `credentials.password`.
    pub password: String,
}

/// Where and how a `kafka` destination produces.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// Bootstrap brokers, `host:port` each.
    pub brokers: Vec<String>,
    /// Topic.
    pub topic: String,
    /// SASL, or `None` when `sasl_mechanism` is empty (no authentication, as upstream).
    pub sasl: Option<Sasl>,
    /// Connect over TLS (`tls` is `true` or `on`).
    pub tls: bool,
    /// `partition_key_template`, when set.
    pub partition_key_template: Option<String>,
}

/// Reads the destination's config and credentials.
pub fn target(dest: &Destination) -> Result<Target, String> {
    let get = |m: &BTreeMap<String, String>, k: &str| m.get(k).cloned().unwrap_or_default();
    let brokers: Vec<String> = get(&dest.config, "brokers")
        .split(',')
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(with_port)
        .collect();
    if brokers.is_empty() {
        return Err("config.brokers is required".into());
    }
    let topic = get(&dest.config, "topic");
    if topic.trim().is_empty() {
        return Err("config.topic is required".into());
    }
    let mechanism = match get(&dest.config, "sasl_mechanism").as_str() {
        "" => None,
        "plain" => Some(Mechanism::Plain),
        "scram-sha-256" => Some(Mechanism::ScramSha256),
        "scram-sha-512" => Some(Mechanism::ScramSha512),
        other => {
            return Err(format!(
                "unsupported config.sasl_mechanism {other:?} (plain, scram-sha-256 or scram-sha-512)"
            ));
        }
    };
    let sasl = match mechanism {
        None => None,
        Some(mechanism) => {
            let username = get(&dest.credentials, "username");
            let password = get(&dest.credentials, "password");
            if username.is_empty() || password.is_empty() {
                return Err(
                    "credentials.username and credentials.password are required with SASL".into(),
                );
            }
            Some(Sasl {
                mechanism,
                username,
                password,
            })
        }
    };
    Ok(Target {
        brokers,
        topic,
        sasl,
        tls: matches!(get(&dest.config, "tls").as_str(), "true" | "on"),
        partition_key_template: Some(get(&dest.config, "partition_key_template"))
            .filter(|t| !t.trim().is_empty()),
    })
}

/// `host` → `host:9092`; an address with a port (`host:p`, `[v6]:p`) is kept.
fn with_port(addr: &str) -> String {
    let has_port = match addr.rsplit_once(':') {
        Some((host, port)) => {
            port.parse::<u16>().is_ok() && (!host.contains(':') || host.ends_with(']'))
        }
        None => false,
    };
    if has_port {
        addr.to_string()
    } else if addr.contains(':') && !addr.starts_with('[') {
        format!("[{addr}]:{DEFAULT_PORT}")
    } else {
        format!("{addr}:{DEFAULT_PORT}")
    }
}

/// 32-bit FNV-1a of `bytes`.
pub fn fnv1a32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

/// The index, among `n` partitions, that kafka-go's `Hash` balancer picks for `key`:
/// `|int32(fnv1a32(key)) % n|`.
pub fn partition_index(key: &[u8], n: usize) -> usize {
    let n = i64::try_from(n.max(1)).unwrap_or(i64::MAX);
    // Same bits as Go's int32(sum); the remainder of an i32 by n ≤ i32::MAX fits an i32.
    let signed = i64::from(fnv1a32(key).cast_signed());
    usize::try_from((signed % n).unsigned_abs()).unwrap_or(0)
}

/// The input of the partition key template: `{"metadata": {...}, "data": <event data>}` (data
/// that does not parse, or is null, counts as `{}`).
pub fn template_input(metadata: &BTreeMap<String, String>, event: &Event) -> Value {
    let data = match serde_json::from_str::<Value>(event.data.get()) {
        Ok(Value::Null) | Err(_) => json!({}),
        Ok(v) => v,
    };
    json!({"metadata": metadata, "data": data})
}

/// The record of one event: key, raw data, `content-type` plus metadata headers (a metadata
/// key `content-type` wins over the default, as the later duplicate header does upstream).
pub fn record(
    key: String,
    event: &Event,
    metadata: &BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Record {
    let mut headers = BTreeMap::from([("content-type".to_string(), b"application/json".to_vec())]);
    for (k, v) in metadata {
        headers.insert(k.clone(), v.as_bytes().to_vec());
    }
    Record {
        key: Some(key.into_bytes()),
        value: Some(event.data.get().as_bytes().to_vec()),
        headers,
        timestamp: now,
    }
}

/// The partition key of `event`: the template's value or the event id.
pub fn key_of(template: Option<&KeyTemplate>, input: &Value, event: &Event) -> String {
    partition_key(template, input, &event.id)
}

/// A failure to produce.
#[derive(Debug)]
pub enum KafkaError {
    /// The topic is not in the cluster's metadata.
    TopicNotFound(String),
    /// The TLS client configuration could not be built.
    Tls(String),
    /// A client error.
    Client(ClientError),
}

impl std::fmt::Display for KafkaError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KafkaError::TopicNotFound(t) => write!(f, "Unknown Topic Or Partition: topic {t:?}"),
            KafkaError::Tls(e) => write!(f, "TLS configuration: {e}"),
            KafkaError::Client(e) => write!(f, "{}", crate::classify::chain_text(e)),
        }
    }
}

impl From<ClientError> for KafkaError {
    fn from(e: ClientError) -> Self {
        KafkaError::Client(e)
    }
}

impl KafkaError {
    /// Whether the client should be dropped and rebuilt (anything but a broker's answer).
    pub fn is_connection(&self) -> bool {
        matches!(
            self,
            KafkaError::Client(e) if !matches!(e, ClientError::ServerError { .. })
        )
    }
}

/// The attempt code of a failure (spec §5.10): a broker's error code when there is one, else
/// the wording of the connection failure.
pub fn error_code(e: &KafkaError) -> &'static str {
    match e {
        KafkaError::TopicNotFound(_) => "topic_not_found",
        KafkaError::Tls(_) => "tls_error",
        KafkaError::Client(ClientError::ServerError { protocol_error, .. }) => {
            protocol_code(protocol_error)
        }
        KafkaError::Client(e) => text_code(&crate::classify::chain_text(e).to_ascii_lowercase()),
    }
}

/// The attempt code of a broker error code.
fn protocol_code(p: &ProtocolError) -> &'static str {
    match p {
        ProtocolError::UnknownTopicOrPartition => "topic_not_found",
        ProtocolError::MessageTooLarge | ProtocolError::RecordListTooLarge => "message_too_large",
        ProtocolError::SaslAuthenticationFailed
        | ProtocolError::IllegalSaslState
        | ProtocolError::UnsupportedSaslMechanism => "auth_failed",
        ProtocolError::RequestTimedOut => "timeout",
        _ => "kafka_error",
    }
}

/// The attempt code named by an error's wording (lower case). Authentication comes first: a
/// failed SASL exchange mentions a "handshake", which is not a TLS failure.
fn text_code(text: &str) -> &'static str {
    if text.contains("sasl") || text.contains("authentication") {
        return "auth_failed";
    }
    for (needle, code) in [
        ("unknowntopicorpartition", "topic_not_found"),
        ("messagetoolarge", "message_too_large"),
        ("recordlisttoolarge", "message_too_large"),
    ] {
        if text.contains(needle) {
            return code;
        }
    }
    match crate::classify::text_code(text) {
        Some(c @ ("connection_refused" | "dns_error" | "timeout" | "tls_error")) => c,
        _ => "kafka_error",
    }
}

#[cfg(test)]
mod tests;
