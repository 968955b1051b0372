//! The RabbitMQ sink (`OPERATOR_EVENTS_RABBITMQ_SERVER_URL`, `OPERATOR_EVENTS_RABBITMQ_EXCHANGE`).
//!
//! Each event is published to the configured exchange with routing key = the event topic,
//! persistent (delivery mode 2), `content-type: application/json` and `message-id` = the event id,
//! on a channel in publisher-confirm mode; [`Sink::send`] returns only once the broker acked it.
//!
//! The sink connects lazily on the first send (so a broker that is down at startup does not stop
//! the service). When it connects — and whenever it has to open a new channel — it checks with a
//! passive declare that the exchange exists; the sink never creates it, as in Outpost, where the
//! operator provisions the exchange. A missing exchange fails the send with an error naming it.
//! An empty exchange name means the AMQP default exchange (routing by queue name), which needs no
//! check.
//!
//! After a connection or channel failure, the next send opens a new connection (or channel).
//! Lapin's own auto-recovery is not used.

use crate::{OperatorEvent, Sink, SinkError};
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions, ExchangeDeclareOptions};
use lapin::protocol::{AMQPErrorKind, AMQPSoftError};
use lapin::types::{FieldTable, ShortString};
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ErrorKind,
    ExchangeKind,
};
use std::time::Duration;
use tokio::sync::Mutex;

/// Limit on establishing a connection (TCP + AMQP handshake).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

const NAME: &str = "rabbitmq";

/// The live connection and its publishing channel.
struct Link {
    connection: Connection,
    channel: Option<Channel>,
}

/// Publishes operator events to a RabbitMQ exchange.
pub struct RabbitSink {
    url: String,
    exchange: String,
    link: Mutex<Option<Link>>,
}

impl std::fmt::Debug for RabbitSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold credentials: not printed.
        f.debug_struct("RabbitSink")
            .field("exchange", &self.exchange)
            .finish()
    }
}

fn failed(message: String) -> SinkError {
    SinkError::Failed {
        sink: NAME,
        message,
    }
}

fn is_not_found(error: &lapin::Error) -> bool {
    matches!(error.kind(), ErrorKind::ProtocolError(e) if *e.kind() == AMQPErrorKind::Soft(AMQPSoftError::NOTFOUND))
}

impl RabbitSink {
    /// A sink publishing to `exchange` on the broker at `server_url` (an AMQP URI such as
    /// `amqp://guest:guest@127.0.0.1:5672/%2f`). Nothing is contacted until the first send.
    pub fn new(server_url: impl Into<String>, exchange: impl Into<String>) -> Self {
        Self {
            url: server_url.into(),
            exchange: exchange.into(),
            link: Mutex::new(None),
        }
    }

    /// The exchange events go to.
    pub fn exchange(&self) -> &str {
        &self.exchange
    }

    fn missing_exchange(&self) -> SinkError {
        failed(format!(
            "exchange {:?} does not exist on the broker; create it (e.g. a durable topic exchange) \
             or fix OPERATOR_EVENTS_RABBITMQ_EXCHANGE",
            self.exchange
        ))
    }

    /// Closes the connection, so that tests can check that the next send reconnects.
    #[doc(hidden)]
    pub async fn close_for_test(&self) {
        let link = self.link.lock().await;
        if let Some(link) = link.as_ref() {
            let _ = link.connection.close(200, "closed by test".into()).await;
        }
    }

    async fn connect(&self) -> Result<Connection, SinkError> {
        let properties =
            ConnectionProperties::default().with_connection_name("outpost-rs-opevents".into());
        match tokio::time::timeout(CONNECT_TIMEOUT, Connection::connect(&self.url, properties))
            .await
        {
            Ok(Ok(connection)) => Ok(connection),
            Ok(Err(e)) => Err(failed(format!("connect: {e}"))),
            Err(_) => Err(failed(format!(
                "connect: timed out after {CONNECT_TIMEOUT:?}"
            ))),
        }
    }

    /// Checks that the exchange exists (on its own channel: a failed passive declare closes it).
    async fn check_exchange(&self, connection: &Connection) -> Result<(), SinkError> {
        if self.exchange.is_empty() {
            return Ok(());
        }
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| failed(format!("open channel: {e}")))?;
        let passive = ExchangeDeclareOptions {
            passive: true,
            ..ExchangeDeclareOptions::default()
        };
        match channel
            .exchange_declare(
                self.exchange.as_str().into(),
                ExchangeKind::Topic,
                passive,
                FieldTable::default(),
            )
            .await
        {
            Ok(()) => {
                let _ = channel.close(200, "OK".into()).await;
                Ok(())
            }
            Err(e) if is_not_found(&e) => Err(self.missing_exchange()),
            Err(e) => Err(failed(format!("check exchange {:?}: {e}", self.exchange))),
        }
    }

    /// The publishing channel in confirm mode, (re)connecting and checking the exchange as needed.
    async fn channel(&self, link: &mut Option<Link>) -> Result<Channel, SinkError> {
        if let Some(l) = link.as_ref()
            && !l.connection.status().connected()
        {
            tracing::warn!(sink = NAME, "RabbitMQ connection lost; reconnecting.");
            *link = None;
        }
        let l = match link {
            Some(l) => l,
            None => link.insert(Link {
                connection: self.connect().await?,
                channel: None,
            }),
        };
        if let Some(channel) = l.channel.as_ref().filter(|c| c.status().connected()) {
            return Ok(channel.clone());
        }
        l.channel = None;
        self.check_exchange(&l.connection).await?;
        let channel = l
            .connection
            .create_channel()
            .await
            .map_err(|e| failed(format!("open channel: {e}")))?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| failed(format!("enable publisher confirms: {e}")))?;
        l.channel = Some(channel.clone());
        Ok(channel)
    }

    fn publish_error(&self, what: &str, e: &lapin::Error) -> SinkError {
        if is_not_found(e) {
            self.missing_exchange()
        } else {
            failed(format!("{what} to exchange {:?}: {e}", self.exchange))
        }
    }
}

#[async_trait::async_trait]
impl Sink for RabbitSink {
    async fn send(&self, event: &OperatorEvent, body: &[u8]) -> Result<(), SinkError> {
        let routing_key = ShortString::try_new(event.topic.as_str())
            .map_err(|e| failed(format!("invalid routing key {:?}: {e}", event.topic)))?;
        let properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into())
            .with_message_id(event.id.as_str().into());
        // The lock is held while the frames are queued, so that delivery tags follow frame order;
        // the confirmation is awaited without it.
        let confirm = {
            let mut link = self.link.lock().await;
            let channel = self.channel(&mut link).await?;
            channel
                .basic_publish(
                    self.exchange.as_str().into(),
                    routing_key,
                    BasicPublishOptions::default(),
                    body,
                    properties,
                )
                .await
                .map_err(|e| self.publish_error("publish", &e))?
        };
        match confirm.await {
            Ok(Confirmation::Ack(_)) => Ok(()),
            Ok(Confirmation::Nack(_)) => Err(failed(format!(
                "the broker nacked the message published to exchange {:?}",
                self.exchange
            ))),
            Ok(Confirmation::NotRequested) => Err(failed(
                "publisher confirms are not enabled on the channel".to_string(),
            )),
            Err(e) => Err(self.publish_error("confirm of publish", &e)),
        }
    }

    fn name(&self) -> &'static str {
        NAME
    }
}
