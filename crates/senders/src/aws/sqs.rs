//! `aws_sqs` destinations (spec §5.4): `SendMessage` to `config.queue_url` with the event data
//! as the body and one `String` message attribute `metadata` holding the merged metadata as a
//! JSON object. The region comes from the queue URL host (`sqs.<region>.amazonaws.com`), else
//! `us-east-1`; `config.endpoint` replaces the service endpoint. A queue URL on a host that is
//! not AWS's (a local stand-in) is also the endpoint when `config.endpoint` is not set.

use super::{Connection, cached_client, config_value, connection, failed_send, is_http_url};
use crate::SenderSettings;
use crate::cache::ClientCache;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::MessageAttributeValue;
use outpost_core::destination::Destination;
use outpost_core::event::Event;
use outpost_core::ports::{SendResult, Sender};
use outpost_core::time::Timestamp;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Region used when the queue URL names none.
pub const DEFAULT_REGION: &str = "us-east-1";

/// Where an `aws_sqs` destination sends.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Queue URL.
    pub queue_url: String,
    /// Region, endpoint and credentials.
    pub conn: Connection,
}

/// Reads the destination's config and credentials.
pub fn target(dest: &Destination) -> Result<Target, String> {
    let queue_url = config_value(dest, "queue_url").ok_or("config.queue_url is required")?;
    if !is_http_url(&queue_url) {
        return Err(format!(
            "config.queue_url is not an http(s) URL: {queue_url:?}"
        ));
    }
    let region = region_from_queue_url(&queue_url).unwrap_or_else(|| DEFAULT_REGION.into());
    let mut conn = connection(dest, region)?;
    if conn.endpoint.is_none() && !is_aws_host(host(&queue_url)) {
        conn.endpoint = Some(origin(&queue_url));
    }
    Ok(Target { queue_url, conn })
}

/// The host of an http(s) URL, lower case, without port or user info.
fn host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    host.split(':').next().unwrap_or("")
}

/// `scheme://authority` of an http(s) URL.
fn origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("https", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    format!("{scheme}://{authority}")
}

fn is_aws_host(host: &str) -> bool {
    let h = host.to_ascii_lowercase();
    h.ends_with(".amazonaws.com") || h.ends_with(".amazonaws.com.cn")
}

/// The region in a queue URL host: `sqs.<region>.amazonaws.com` (also inside VPC endpoint
/// names) or the legacy `<region>.queue.amazonaws.com`; `None` for other hosts.
pub fn region_from_queue_url(queue_url: &str) -> Option<String> {
    let host = host(queue_url).to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    let is_region = |l: &str| {
        l.contains('-')
            && l.ends_with(|c: char| c.is_ascii_digit())
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    labels.iter().enumerate().find_map(|(i, l)| {
        let next = labels.get(i + 1).copied().unwrap_or("");
        if *l == "sqs" && is_region(next) {
            Some(next.to_string())
        } else if next == "queue" && is_region(l) {
            Some(l.to_string())
        } else {
            None
        }
    })
}

/// The `metadata` message attribute: the merged metadata as a JSON object.
pub fn metadata_attribute(
    metadata: &BTreeMap<String, String>,
) -> Result<MessageAttributeValue, String> {
    let json = serde_json::to_string(metadata).map_err(|e| e.to_string())?;
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(json)
        .build()
        .map_err(|e| format!("cannot build the metadata attribute: {e}"))
}

/// Sends to SQS queues.
pub struct SqsSender {
    settings: Arc<SenderSettings>,
    clients: ClientCache<Client>,
}

impl SqsSender {
    /// A sender with an empty client cache.
    pub fn new(settings: Arc<SenderSettings>) -> Self {
        Self {
            settings,
            clients: ClientCache::default(),
        }
    }
}

#[async_trait::async_trait]
impl Sender for SqsSender {
    async fn send(&self, dest: &Destination, event: &Event, now: Timestamp) -> SendResult {
        let t = match target(dest) {
            Ok(t) => t,
            Err(e) => return SendResult::failed("ERR", e),
        };
        let metadata = self.settings.metadata(dest, event, now);
        let attribute = match metadata_attribute(&metadata) {
            Ok(a) => a,
            Err(e) => return SendResult::failed("ERR", e),
        };
        let client = cached_client(&self.clients, dest, || {
            Client::new(&super::sdk_config(&t.conn))
        })
        .await;
        let sent = client
            .send_message()
            .queue_url(&t.queue_url)
            .message_body(event.data.get())
            .message_attributes("metadata", attribute)
            .send()
            .await;
        match sent {
            Ok(_) => SendResult::ok(json!({})),
            Err(e) => failed_send(&self.clients, dest, "SendMessage", &e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::tests::{CREDS, dest};

    #[test]
    fn region_comes_from_the_queue_url() {
        let r = |u: &str| region_from_queue_url(u);
        assert_eq!(
            r("https://sqs.eu-west-1.amazonaws.com/123/q").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(
            r("https://vpce-1a.sqs.ap-south-1.vpce.amazonaws.com/1/q").as_deref(),
            Some("ap-south-1")
        );
        assert_eq!(
            r("https://us-west-2.queue.amazonaws.com/1/q").as_deref(),
            Some("us-west-2")
        );
        assert_eq!(r("http://127.0.0.1:4566/123456789012/q"), None);
        assert_eq!(r("https://sqs.amazonaws.com/1/q"), None);
    }

    #[test]
    fn target_uses_region_endpoint_and_stand_in_origin() {
        let d = dest(
            "aws_sqs",
            &[("queue_url", "https://sqs.eu-central-1.amazonaws.com/1/q")],
            CREDS,
        );
        let t = target(&d).unwrap();
        assert_eq!(t.conn.region, "eu-central-1");
        assert_eq!(t.conn.endpoint, None, "AWS queue: regional endpoint");

        let d = dest(
            "aws_sqs",
            &[("queue_url", "http://127.0.0.1:4566/123456789012/q")],
            CREDS,
        );
        let t = target(&d).unwrap();
        assert_eq!(t.conn.region, DEFAULT_REGION);
        assert_eq!(t.conn.endpoint.as_deref(), Some("http://127.0.0.1:4566"));

        let d = dest(
            "aws_sqs",
            &[
                ("queue_url", "https://sqs.us-east-2.amazonaws.com/1/q"),
                ("endpoint", "http://localhost:9324"),
            ],
            CREDS,
        );
        let t = target(&d).unwrap();
        assert_eq!(t.conn.region, "us-east-2");
        assert_eq!(t.conn.endpoint.as_deref(), Some("http://localhost:9324"));

        assert_eq!(
            target(&dest("aws_sqs", &[], CREDS)).unwrap_err(),
            "config.queue_url is required"
        );
        assert!(target(&dest("aws_sqs", &[("queue_url", "q")], CREDS)).is_err());
        assert_eq!(
            target(&dest("aws_sqs", &[("queue_url", "https://x/q")], &[])).unwrap_err(),
            "credentials.key is required"
        );
    }

    #[test]
    fn metadata_attribute_is_a_json_string() {
        let m = BTreeMap::from([
            ("topic".to_string(), "a.b".to_string()),
            ("event-id".to_string(), "evt_1".to_string()),
        ]);
        let a = metadata_attribute(&m).unwrap();
        assert_eq!(a.data_type(), "String");
        assert_eq!(
            a.string_value(),
            Some(r#"{"event-id":"evt_1","topic":"a.b"}"#)
        );
    }
}
