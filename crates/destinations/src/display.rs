//! How a destination is shown by the API: sensitive credentials obfuscated, expired rotation
//! secrets hidden, and the human `target` / `target_url` of each type.

use crate::Registry;
use outpost_core::destination::Destination;
use outpost_core::patch::StringMap;
use outpost_core::time::{format_rfc3339_nano, now_ms, parse_rfc3339};
use serde_json::{Map, Value, json};

/// Obfuscates a sensitive value: first 4 characters then `*` when 10+ long, all `*` otherwise.
pub fn obfuscate(v: &str) -> String {
    let n = v.chars().count();
    if n >= 10 {
        let head: String = v.chars().take(4).collect();
        format!("{head}{}", "*".repeat(n - 4))
    } else {
        "*".repeat(n)
    }
}

fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `(target, target_url)` of a destination.
pub fn target(d: &Destination) -> (String, Option<String>) {
    let c = |k: &str| d.config.get(k).cloned().unwrap_or_default();
    match d.kind.as_str() {
        "webhook" => (c("url"), None),
        "hookdeck" => {
            let id = c("source_id");
            let name = d
                .config
                .get("source_name")
                .cloned()
                .unwrap_or_else(|| format!("Hookdeck source ID: {id}"));
            let url =
                (!id.is_empty()).then(|| format!("https://dashboard.hookdeck.com/sources/{id}"));
            (name, url)
        }
        "aws_sqs" => {
            let q = c("queue_url");
            let host = q
                .split("://")
                .nth(1)
                .and_then(|r| r.split('/').next())
                .unwrap_or("");
            let region = host
                .strip_prefix("sqs.")
                .and_then(|r| r.strip_suffix(".amazonaws.com"))
                .map(str::to_string);
            let url = region.map(|r| {
                format!(
                    "https://{r}.console.aws.amazon.com/sqs/v3/home?region={r}#/queues/{}",
                    percent_encode(&q)
                )
            });
            (q, url)
        }
        "aws_kinesis" => (format!("{} in {}", c("stream_name"), c("region")), None),
        "aws_s3" => (
            format!("{} in {}", c("bucket"), c("region")),
            Some(format!(
                "https://s3.console.aws.amazon.com/s3/buckets/{}?region={}",
                c("bucket"),
                c("region")
            )),
        ),
        "aws_eventbridge" => {
            let bus = d
                .config
                .get("event_bus_name")
                .map(|b| b.trim())
                .filter(|b| !b.is_empty())
                .unwrap_or("default")
                .to_string();
            let region = c("region");
            // An ARN names its bus after `event-bus/`; the console wants the name.
            let name = bus.rsplit("event-bus/").next().unwrap_or(&bus).to_string();
            let url = format!(
                "https://{region}.console.aws.amazon.com/events/home?region={region}#/eventbus/{}",
                percent_encode(&name)
            );
            (format!("{bus} in {region}"), Some(url))
        }
        "gcp_pubsub" => (
            format!("{}/{}", c("project_id"), c("topic")),
            Some(format!(
                "https://console.cloud.google.com/cloudpubsub/topic/detail/{}?project={}",
                c("topic"),
                c("project_id")
            )),
        ),
        "azure_servicebus" => {
            let cs = d
                .credentials
                .get("connection_string")
                .cloned()
                .unwrap_or_default();
            let ns = cs
                .split(';')
                .find_map(|p| p.trim().strip_prefix("Endpoint=sb://"))
                .and_then(|r| r.split('.').next())
                .filter(|n| !n.is_empty());
            match ns {
                Some(ns) => (format!("{ns}/{}", c("name")), None),
                None => (c("name"), None),
            }
        }
        "rabbitmq" => (
            format!("{} -> {}", c("exchange"), d.topics.join(", ")),
            None,
        ),
        "kafka" => {
            let first = c("brokers")
                .split(',')
                .next()
                .unwrap_or("")
                .trim()
                .to_string();
            (format!("{first} / {}", c("topic")), None)
        }
        _ => (String::new(), None),
    }
}

fn map_json(m: &StringMap) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

impl Registry {
    /// The API JSON of a destination (`Destination` in Outpost's OpenAPI, plus `tenant_id`).
    pub fn display(&self, d: &Destination) -> Value {
        let sensitive: Vec<&str> = self
            .get_type(&d.kind)
            .map(|t| {
                t.credential_fields
                    .iter()
                    .filter(|f| f.sensitive == Some(true))
                    .map(|f| f.key.as_str())
                    .collect()
            })
            .unwrap_or_default();
        let mut creds = d.credentials.clone();
        if d.kind == "webhook" {
            let expired = creds
                .get("previous_secret_invalid_at")
                .and_then(|s| parse_rfc3339(s))
                .is_some_and(|at| at <= now_ms());
            if expired {
                creds.remove("previous_secret");
                creds.remove("previous_secret_invalid_at");
            }
        }
        for (k, v) in creds.iter_mut() {
            if sensitive.contains(&k.as_str()) {
                *v = obfuscate(v);
            }
        }
        let (target, target_url) = target(d);
        let mut o = Map::new();
        o.insert("id".into(), json!(d.id));
        o.insert("tenant_id".into(), json!(d.tenant_id));
        o.insert("type".into(), json!(d.kind));
        o.insert("topics".into(), json!(d.topics));
        if let Some(f) = d
            .filter
            .as_ref()
            .filter(|f| f.as_object().is_some_and(|o| !o.is_empty()))
        {
            o.insert("filter".into(), f.clone());
        }
        o.insert("config".into(), map_json(&d.config));
        o.insert("credentials".into(), map_json(&creds));
        if let Some(m) = &d.delivery_metadata {
            o.insert("delivery_metadata".into(), map_json(m));
        }
        if let Some(m) = &d.metadata {
            o.insert("metadata".into(), map_json(m));
        }
        o.insert(
            "created_at".into(),
            json!(format_rfc3339_nano(&d.created_at)),
        );
        o.insert(
            "updated_at".into(),
            json!(format_rfc3339_nano(&d.updated_at)),
        );
        o.insert(
            "disabled_at".into(),
            d.disabled_at
                .as_ref()
                .map_or(Value::Null, |t| json!(format_rfc3339_nano(t))),
        );
        o.insert("target".into(), json!(target));
        if let Some(u) = target_url {
            o.insert("target_url".into(), json!(u));
        }
        Value::Object(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obfuscation_rule() {
        assert_eq!(obfuscate("abcdefghij"), "abcd******");
        assert_eq!(obfuscate("short"), "*****");
        assert_eq!(obfuscate(""), "");
    }
}
