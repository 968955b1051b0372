//! Rules of the queue and storage types beyond their metadata: endpoint URLs, JMESPath
//! templates, enumerations, and the normalisation applied before saving.

use crate::validate::{is_http_url, jmespath_compiles};
use outpost_core::destination::Destination;

/// S3 storage classes (upper case).
pub const S3_STORAGE_CLASSES: [&str; 8] = [
    "STANDARD",
    "REDUCED_REDUNDANCY",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER",
    "DEEP_ARCHIVE",
    "GLACIER_IR",
];
/// Kafka SASL mechanisms.
pub const KAFKA_SASL: [&str; 3] = ["plain", "scram-sha-256", "scram-sha-512"];

fn non_empty<'a>(d: &'a Destination, key: &str) -> Option<&'a str> {
    d.config
        .get(key)
        .map(String::as_str)
        .filter(|v| !v.trim().is_empty())
}

fn bool_like(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "" | "on" | "off" | "true" | "false"
    )
}

/// Type-specific checks for the types other than webhook and hookdeck.
pub fn validate(kind: &str, d: &Destination) -> Vec<String> {
    let mut e = Vec::new();
    let endpoint_ok = |e: &mut Vec<String>| {
        if let Some(ep) = non_empty(d, "endpoint")
            && !is_http_url(ep)
        {
            e.push("config.endpoint failed pattern validation".to_string());
        }
    };
    match kind {
        "aws_sqs" => endpoint_ok(&mut e),
        "aws_kinesis" => {
            endpoint_ok(&mut e);
            if non_empty(d, "partition_key_template").is_some_and(|t| !jmespath_compiles(t)) {
                e.push("config.partition_key_template failed jmespath validation".into());
            }
        }
        "aws_s3" => {
            endpoint_ok(&mut e);
            if non_empty(d, "key_template").is_some_and(|t| !jmespath_compiles(t)) {
                e.push("config.key_template failed jmespath validation".into());
            }
            if let Some(sc) = non_empty(d, "storage_class")
                && !S3_STORAGE_CLASSES.contains(&sc.to_ascii_uppercase().as_str())
            {
                e.push("config.storage_class failed enum validation".into());
            }
        }
        // Its endpoint pattern is in the metadata; `aws.` sources are reserved by AWS.
        "aws_eventbridge"
            if non_empty(d, "source")
                .is_some_and(|s| s.to_ascii_lowercase().starts_with("aws.")) =>
        {
            e.push("config.source failed reserved validation".into());
        }
        "gcp_pubsub" => {
            endpoint_ok(&mut e);
            let emulator = non_empty(d, "endpoint").is_some();
            if let Some(json) = d
                .credentials
                .get("service_account_json")
                .filter(|v| !v.is_empty())
                && !emulator
            {
                match serde_json::from_str::<serde_json::Value>(json) {
                    Ok(v) if v.get("type").is_some() => {}
                    Ok(_) => e.push(
                        "credentials.service_account_json failed missing_type validation".into(),
                    ),
                    Err(_) => {
                        e.push("credentials.service_account_json failed format validation".into())
                    }
                }
            }
        }
        "rabbitmq" if non_empty(d, "tls").is_some_and(|t| !bool_like(t)) => {
            e.push("config.tls failed invalid validation".into());
        }
        "kafka" => {
            // An empty mechanism means no SASL (stand-ins and brokers without authentication);
            // with a mechanism, both credentials are required.
            match non_empty(d, "sasl_mechanism") {
                Some(m) if !KAFKA_SASL.contains(&m) => {
                    e.push("config.sasl_mechanism failed invalid validation".into());
                }
                Some(_) => {
                    for key in ["username", "password"] {
                        if d.credentials.get(key).is_none_or(|v| v.is_empty()) {
                            e.push(format!("credentials.{key} is required"));
                        }
                    }
                }
                None => {}
            }
            if non_empty(d, "tls").is_some_and(|t| !bool_like(t)) {
                e.push("config.tls failed invalid validation".into());
            }
            if non_empty(d, "partition_key_template").is_some_and(|t| !jmespath_compiles(t)) {
                e.push("config.partition_key_template failed jmespath validation".into());
            }
        }
        _ => {}
    }
    e
}

fn normalize_tls(d: &mut Destination) {
    let v = d
        .config
        .get("tls")
        .map(|t| t.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let norm = if v == "on" || v == "true" {
        "true"
    } else {
        "false"
    };
    d.config.insert("tls".into(), norm.into());
}

/// Normalises config before saving (tls flags, broker lists, storage class case).
pub fn normalize(kind: &str, d: &mut Destination) {
    match kind {
        "rabbitmq" => normalize_tls(d),
        "kafka" => {
            normalize_tls(d);
            if let Some(b) = d.config.get("brokers") {
                let joined = b
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(",");
                d.config.insert("brokers".into(), joined);
            }
        }
        "aws_s3" => {
            if let Some(sc) = d.config.get("storage_class") {
                let up = sc.trim().to_ascii_uppercase();
                d.config.insert("storage_class".into(), up);
            }
        }
        _ => {}
    }
}
