//! `rabbitmq` destinations (spec §5.9): publish the event data to the configured exchange with
//! routing key = topic, content type `application/json` and the metadata as AMQP headers, over
//! `amqp[s]://username:password@server_url`. Publisher confirms make `OK` mean the broker took
//! the message. One connection and confirm channel per destination config, rebuilt after any
//! connection or channel error.

use crate::SenderSettings;
use crate::cache::ClientCache;
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::protocol::{AMQPErrorKind, AMQPHardError, AMQPSoftError};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ErrorKind};
use outpost_core::destination::Destination;
use outpost_core::event::Event;
use outpost_core::ports::{SendResult, Sender};
use outpost_core::time::Timestamp;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where a `rabbitmq` destination publishes.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// `amqp[s]://user:pass@host:port`.
    pub url: String,
    /// Exchange (empty = the default exchange).
    pub exchange: String,
}

/// Reads the destination's config and credentials.
pub fn target(dest: &Destination) -> Result<Target, String> {
    let get = |m: &BTreeMap<String, String>, k: &str| m.get(k).cloned().unwrap_or_default();
    let server = get(&dest.config, "server_url");
    if server.trim().is_empty() {
        return Err("config.server_url is required".into());
    }
    let tls = matches!(get(&dest.config, "tls").as_str(), "true" | "on");
    let scheme = if tls { "amqps" } else { "amqp" };
    let user = percent_encode(&get(&dest.credentials, "username"));
    let pass = percent_encode(&get(&dest.credentials, "password"));
    Ok(Target {
        url: format!("{scheme}://{user}:{pass}@{}", server.trim()),
        exchange: get(&dest.config, "exchange"),
    })
}

/// Percent-encodes a URL user-info part.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The AMQP headers of a message: the metadata as long strings.
pub fn headers(metadata: &BTreeMap<String, String>) -> FieldTable {
    let mut t = FieldTable::default();
    for (k, v) in metadata {
        t.insert(
            ShortString::from(k.as_str()),
            AMQPValue::LongString(LongString::from(v.as_str())),
        );
    }
    t
}

/// The attempt code of a publish error (spec §5.9).
pub fn error_code(e: &lapin::Error, connecting: bool) -> &'static str {
    match e.kind() {
        ErrorKind::ProtocolError(amqp) => match amqp.kind() {
            AMQPErrorKind::Soft(AMQPSoftError::ACCESSREFUSED) if connecting => "auth_failed",
            AMQPErrorKind::Soft(AMQPSoftError::ACCESSREFUSED) => "access_denied",
            AMQPErrorKind::Soft(AMQPSoftError::NOTFOUND) => "exchange_not_found",
            AMQPErrorKind::Hard(AMQPHardError::CONNECTIONFORCED) => "connection_forced",
            AMQPErrorKind::Hard(AMQPHardError::CHANNELERROR) => "channel_error",
            AMQPErrorKind::Soft(_) => "channel_error",
            _ => "rabbitmq_error",
        },
        ErrorKind::IOError(io) => crate::classify::io_code(io).unwrap_or("rabbitmq_error"),
        ErrorKind::AuthProviderError(_) => "auth_failed",
        ErrorKind::MissingHeartbeatError => "timeout",
        _ => {
            let text = e.to_string().to_ascii_lowercase();
            if connecting && (text.contains("access_refused") || text.contains("authentication")) {
                "auth_failed"
            } else {
                crate::classify::text_code(&text).unwrap_or("rabbitmq_error")
            }
        }
    }
}

/// A connection and its confirm channel.
pub struct Client {
    conn: Connection,
    channel: Channel,
}

impl Client {
    async fn connect(url: &str) -> Result<Self, lapin::Error> {
        let conn = Connection::connect(url, ConnectionProperties::default()).await?;
        let channel = conn.create_channel().await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        Ok(Self { conn, channel })
    }

    fn usable(&self) -> bool {
        self.conn.status().connected() && self.channel.status().connected()
    }
}

/// Sends to RabbitMQ exchanges.
pub struct RabbitSender {
    settings: Arc<SenderSettings>,
    clients: ClientCache<Client>,
}

impl RabbitSender {
    /// A sender with an empty connection cache.
    pub fn new(settings: Arc<SenderSettings>) -> Self {
        Self {
            settings,
            clients: ClientCache::default(),
        }
    }

    async fn client(&self, dest: &Destination, url: &str) -> Result<Arc<Client>, lapin::Error> {
        let c = self
            .clients
            .get_or_try_init(dest, || Client::connect(url))
            .await?;
        if c.usable() {
            return Ok(c);
        }
        self.clients.evict(dest);
        self.clients
            .get_or_try_init(dest, || Client::connect(url))
            .await
    }
}

#[async_trait::async_trait]
impl Sender for RabbitSender {
    async fn send(&self, dest: &Destination, event: &Event, now: Timestamp) -> SendResult {
        let t = match target(dest) {
            Ok(t) => t,
            Err(e) => return SendResult::failed("ERR", e),
        };
        let client = match self.client(dest, &t.url).await {
            Ok(c) => c,
            Err(e) => return SendResult::failed(error_code(&e, true), e.to_string()),
        };
        let metadata = self.settings.metadata(dest, event, now);
        let props = BasicProperties::default()
            .with_content_type("application/json".into())
            .with_delivery_mode(2)
            .with_message_id(event.id.as_str().into())
            .with_headers(headers(&metadata));
        let published = async {
            client
                .channel
                .basic_publish(
                    t.exchange.as_str().into(),
                    event.topic.as_str().into(),
                    BasicPublishOptions::default(),
                    event.data.get().as_bytes(),
                    props,
                )
                .await?
                .await
        }
        .await;
        match published {
            Ok(Confirmation::Ack(_)) | Ok(Confirmation::NotRequested) => SendResult::ok(json!({})),
            Ok(Confirmation::Nack(_)) => {
                SendResult::failed("rabbitmq_error", "the broker refused the message (nack)")
            }
            Err(e) => {
                self.clients.evict(dest);
                SendResult::failed(error_code(&e, false), e.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dest(config: &[(&str, &str)], creds: &[(&str, &str)]) -> Destination {
        crate::testing::destination("rabbitmq", "des_1", config, creds)
    }

    #[test]
    fn url_encodes_credentials_and_picks_scheme() {
        let d = dest(
            &[
                ("server_url", "mq.example.com:5671"),
                ("exchange", "x"),
                ("tls", "true"),
            ],
            &[("username", "u@corp"), ("password", "p:/w d")],
        );
        assert_eq!(
            target(&d).unwrap(),
            Target {
                url: "amqps://u%40corp:p%3A%2Fw%20d@mq.example.com:5671".into(),
                exchange: "x".into()
            }
        );
        let d = dest(
            &[("server_url", "h:5672")],
            &[("username", "g"), ("password", "g")],
        );
        assert_eq!(target(&d).unwrap().url, "amqp://g:g@h:5672");
        assert_eq!(target(&d).unwrap().exchange, "");
        assert!(target(&dest(&[], &[])).is_err());
    }

    #[test]
    fn headers_carry_every_metadata_key() {
        let m = BTreeMap::from([
            ("event-id".to_string(), "evt_1".to_string()),
            ("topic".to_string(), "a.b".to_string()),
        ]);
        let h = headers(&m);
        assert_eq!(h.inner().len(), 2);
        assert_eq!(
            h.inner().get("event-id"),
            Some(&AMQPValue::LongString("evt_1".into()))
        );
    }
}
