//! RabbitMQ backend of the [`Queue`] port, compatible with Outpost's `internal/mqinfra` layout.
//!
//! # Topology
//!
//! With [`RabbitSettings::auto_provision`] the backend declares, in Outpost's order: a durable
//! **topic** exchange; the durable **quorum** queue (`x-queue-type: quorum`) with
//! `x-delivery-limit` = [`DELIVERY_LIMIT`], `x-dead-letter-exchange` = the exchange and
//! `x-dead-letter-routing-key` = the DLQ name, bound to the exchange with routing key = queue name;
//! then the DLQ, a durable quorum queue bound with its own name. Without it, the exchange, the
//! queue and the DLQ are only checked (passive declares, each on its own channel since a failed
//! passive declare closes the channel) and any missing one is reported as
//! [`QueueError::Missing`].
//!
//! # Publishing
//!
//! Messages go to the exchange with routing key = queue name, persistent (delivery mode 2),
//! `content-type: application/json`, `mandatory` (an unroutable message comes back as a return),
//! on one shared channel in publisher-confirm mode. A batch is pipelined: every message of the
//! batch is handed to the connection before any confirmation is awaited, then all confirmations
//! are collected; [`Queue::publish`] returns `Ok` only once the broker acked every message. A
//! broker nack or a return fails the batch with [`QueueError::Broker`].
//!
//! The publishing channel is guarded by a mutex held only while a batch's frames are queued, so
//! that lapin's delivery-tag assignment matches the frame order and concurrent publishers still
//! overlap while they wait for their confirmations.
//!
//! # Connection robustness
//!
//! A [`RabbitQueue`] owns one AMQP connection (lapin's own auto-recovery is not used). When the
//! connection or the publishing channel is found dead, the next `publish` opens a new one
//! (connection and/or channel) and re-sends the messages of the batch that were not confirmed,
//! up to [`PUBLISH_ATTEMPTS`] attempts with a short exponential backoff, before failing with
//! [`QueueError::Broker`]. Delivery is at least once: a message whose confirmation was lost with
//! the connection is sent again and may be stored twice.
//!
//! Each subscription has its own channel (with `basic.qos` = prefetch). If that channel or the
//! connection dies, or the broker cancels the consumer (queue deleted), the subscription yields
//! one error item and then `None`; the consumer is expected to back off and call
//! [`Queue::subscribe`] again, which reconnects if needed. Messages not acked on a dead channel
//! are requeued by the broker.
//!
//! # Redelivery count
//!
//! [`Message::redeliveries`] is the `x-delivery-count` header that quorum queues add to
//! redelivered messages; without that header it is 1 when the `redelivered` flag is set and 0
//! otherwise. A nack requeues the message; past the delivery limit the broker dead-letters it to
//! the DLQ.

use async_trait::async_trait;
use futures_lite::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, ExchangeDeclareOptions, ExchangeDeleteOptions, QueueBindOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::protocol::{AMQPErrorKind, AMQPSoftError};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{
    BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ErrorKind,
    ExchangeKind,
};
use outpost_core::ports::{Acker, Message, Queue, QueueError, Subscription};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

mod subscription;
mod topology;

use subscription::RabbitSubscription;
use topology::{Names, check_exists, provision};

/// Deliveries of one message after which the broker dead-letters it (`x-delivery-limit`).
pub const DELIVERY_LIMIT: i32 = 5;

/// Attempts of one `publish` (the first one included) when the connection is lost.
pub const PUBLISH_ATTEMPTS: u32 = 4;

/// Default exchange name, as in Outpost.
pub const DEFAULT_EXCHANGE: &str = "outpost";

/// Backoff before the second publish attempt; doubled for each further attempt.
const RETRY_BACKOFF: Duration = Duration::from_millis(100);

/// Limit on establishing a connection (TCP + AMQP handshake).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings of one RabbitMQ-backed queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RabbitSettings {
    /// AMQP URI, e.g. `amqp://guest:guest@127.0.0.1:5672/%2f`.
    pub url: String,
    /// Topic exchange the queue is bound to (default [`DEFAULT_EXCHANGE`]; empty means default).
    pub exchange: String,
    /// Queue name; also the routing key of published messages.
    pub queue: String,
    /// Dead-letter queue name (default `<queue>.dlq`; empty means default).
    pub dlq: String,
    /// Declare the topology at connect time; otherwise only check that it exists.
    pub auto_provision: bool,
}

impl RabbitSettings {
    /// Settings for `queue` at `url` with the defaults: exchange [`DEFAULT_EXCHANGE`], DLQ
    /// `<queue>.dlq`, auto-provisioning on.
    pub fn new(url: impl Into<String>, queue: impl Into<String>) -> Self {
        let queue = queue.into();
        Self {
            url: url.into(),
            exchange: DEFAULT_EXCHANGE.to_string(),
            dlq: format!("{queue}.dlq"),
            queue,
            auto_provision: true,
        }
    }
}

/// The live connection and its publishing channel (opened lazily).
struct Link {
    connection: Connection,
    publisher: Option<Channel>,
}

struct Inner {
    url: String,
    names: Names,
    /// Shared with the queue's siblings ([`RabbitQueue::sibling`]).
    link: Arc<Mutex<Option<Link>>>,
}

/// A durable queue on RabbitMQ. Cloning shares the connection.
#[derive(Clone)]
pub struct RabbitQueue {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RabbitQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RabbitQueue")
            .field("exchange", &self.inner.names.exchange.as_str())
            .field("queue", &self.inner.names.queue.as_str())
            .field("dlq", &self.inner.names.dlq.as_str())
            .finish()
    }
}

fn broker(context: &str, error: impl std::fmt::Display) -> QueueError {
    QueueError::Broker(format!("rabbitmq {context}: {error}"))
}

fn is_not_found(error: &lapin::Error) -> bool {
    matches!(error.kind(), ErrorKind::ProtocolError(e) if *e.kind() == AMQPErrorKind::Soft(AMQPSoftError::NOTFOUND))
}

fn long_string(s: &ShortString) -> AMQPValue {
    AMQPValue::LongString(LongString::from(s.as_str()))
}

async fn open_connection(url: &str) -> Result<Connection, QueueError> {
    let properties = ConnectionProperties::default().with_connection_name("outpost-rs".into());
    match tokio::time::timeout(CONNECT_TIMEOUT, Connection::connect(url, properties)).await {
        Ok(Ok(connection)) => Ok(connection),
        Ok(Err(e)) => Err(broker("connect", e)),
        Err(_) => Err(QueueError::Broker(format!(
            "rabbitmq connect: timed out after {CONNECT_TIMEOUT:?}"
        ))),
    }
}

async fn open_channel(connection: &Connection) -> Result<Channel, QueueError> {
    connection
        .create_channel()
        .await
        .map_err(|e| broker("open channel", e))
}

impl RabbitQueue {
    /// Connects to the broker and provisions (or, without auto-provisioning, checks) the
    /// exchange, the queue and the DLQ.
    ///
    /// Fails with [`QueueError::Missing`] naming what does not exist when auto-provisioning is
    /// off, and with [`QueueError::Broker`] when the broker is unreachable, refuses the
    /// declarations (e.g. an existing queue with other arguments) or a name is invalid.
    pub async fn connect(settings: RabbitSettings) -> Result<RabbitQueue, QueueError> {
        let names = Names::from_settings(&settings)?;
        let connection = open_connection(&settings.url).await?;
        if settings.auto_provision {
            provision(&connection, &names).await?;
        } else {
            check_exists(&connection, &names).await?;
        }
        Ok(RabbitQueue {
            inner: Arc::new(Inner {
                url: settings.url,
                names,
                link: Arc::new(Mutex::new(Some(Link {
                    connection,
                    publisher: None,
                }))),
            }),
        })
    }

    /// Consumes an existing queue someone else owns (the publish queue, `PUBLISH_RABBITMQ_*`):
    /// only the queue is checked, nothing is declared. Publishing on it goes to `exchange`
    /// with the queue name as routing key.
    pub async fn existing(
        url: &str,
        exchange: &str,
        queue: &str,
    ) -> Result<RabbitQueue, QueueError> {
        let names = Names::from_settings(&RabbitSettings {
            url: url.to_string(),
            exchange: exchange.to_string(),
            queue: queue.to_string(),
            dlq: queue.to_string(),
            auto_provision: false,
        })?;
        let connection = open_connection(url).await?;
        let channel = open_channel(&connection).await?;
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::durable()
        };
        match channel
            .queue_declare(names.queue.clone(), passive, FieldTable::default())
            .await
        {
            Ok(_) => {
                let _ = channel.close(200, "OK".into()).await;
            }
            Err(e) if is_not_found(&e) => {
                return Err(QueueError::Missing(format!("rabbitmq queue {queue}")));
            }
            Err(e) => return Err(broker(&format!("check queue {queue}"), e)),
        }
        Ok(RabbitQueue {
            inner: Arc::new(Inner {
                url: url.to_string(),
                names,
                link: Arc::new(Mutex::new(Some(Link {
                    connection,
                    publisher: None,
                }))),
            }),
        })
    }

    /// Another queue on this one's exchange, connection and publishing channel, provisioned
    /// (or checked) as [`Self::connect`] does; `settings.url` and `settings.exchange` are
    /// this queue's. Either one reconnects both. A connection costs the process an I/O thread
    /// and about 11 MiB of resident memory (`make bench`, case B), a queue on it nothing.
    pub async fn sibling(&self, settings: RabbitSettings) -> Result<RabbitQueue, QueueError> {
        let names = Names::from_settings(&RabbitSettings {
            url: self.inner.url.clone(),
            exchange: self.inner.names.exchange.to_string(),
            ..settings
        })?;
        {
            let mut link = self.inner.link.lock().await;
            let connection = self.ensure_connection(&mut link).await?;
            if settings.auto_provision {
                provision(connection, &names).await?;
            } else {
                check_exists(connection, &names).await?;
            }
        }
        Ok(RabbitQueue {
            inner: Arc::new(Inner {
                url: self.inner.url.clone(),
                names,
                link: self.inner.link.clone(),
            }),
        })
    }

    /// Deletes the queue, the DLQ and the exchange (Outpost's infra teardown). Messages they
    /// hold are lost.
    pub async fn teardown(&self) -> Result<(), QueueError> {
        let channel = {
            let mut link = self.inner.link.lock().await;
            let connection = self.ensure_connection(&mut link).await?;
            open_channel(connection).await?
        };
        let names = &self.inner.names;
        for queue in [&names.queue, &names.dlq] {
            channel
                .queue_delete(queue.clone(), QueueDeleteOptions::default())
                .await
                .map_err(|e| broker(&format!("delete queue {queue}"), e))?;
        }
        channel
            .exchange_delete(names.exchange.clone(), ExchangeDeleteOptions::default())
            .await
            .map_err(|e| broker(&format!("delete exchange {}", names.exchange), e))?;
        let _ = channel.close(200, "OK".into()).await;
        Ok(())
    }

    /// Closes the underlying connection, so that tests can check recovery from a lost
    /// connection: subscriptions end with an error and the next publish reconnects.
    #[doc(hidden)]
    pub async fn close_for_test(&self) {
        let link = self.inner.link.lock().await;
        if let Some(link) = link.as_ref() {
            let _ = link.connection.close(200, "closed by test".into()).await;
        }
    }

    /// The live connection, reconnecting when there is none or it is no longer usable.
    async fn ensure_connection<'a>(
        &self,
        link: &'a mut Option<Link>,
    ) -> Result<&'a Connection, QueueError> {
        let alive = link
            .as_ref()
            .is_some_and(|l| l.connection.status().connected());
        if !alive {
            if link.is_some() {
                tracing::warn!(queue = %self.inner.names.queue, "RabbitMQ connection lost; reconnecting.");
            }
            *link = None;
            let connection = open_connection(&self.inner.url).await?;
            *link = Some(Link {
                connection,
                publisher: None,
            });
        }
        match link.as_ref() {
            Some(l) => Ok(&l.connection),
            None => Err(QueueError::Closed),
        }
    }

    /// The publishing channel in confirm mode, reopening the connection or channel as needed.
    async fn ensure_publisher(&self, link: &mut Option<Link>) -> Result<Channel, QueueError> {
        self.ensure_connection(link).await?;
        let Some(l) = link.as_mut() else {
            return Err(QueueError::Closed);
        };
        if let Some(channel) = l.publisher.as_ref().filter(|c| c.status().connected()) {
            return Ok(channel.clone());
        }
        let channel = open_channel(&l.connection).await?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| broker("enable publisher confirms", e))?;
        l.publisher = Some(channel.clone());
        Ok(channel)
    }

    /// One publishing attempt for `bodies[i]`, `i` in `pending`.
    async fn publish_once(&self, bodies: &[Vec<u8>], pending: &[usize]) -> Attempt {
        let names = &self.inner.names;
        let properties = BasicProperties::default()
            .with_delivery_mode(2)
            .with_content_type("application/json".into());
        let options = BasicPublishOptions {
            mandatory: true,
            immediate: false,
        };
        let sent = {
            let mut link = self.inner.link.lock().await;
            let channel = match self.ensure_publisher(&mut link).await {
                Ok(channel) => channel,
                Err(e) => {
                    return Attempt::Lost {
                        unconfirmed: pending.to_vec(),
                        error: e.to_string(),
                    };
                }
            };
            // Send every message before awaiting any confirmation. Awaiting `basic_publish` only
            // waits for lapin's I/O thread to take the frames (not for the broker), so the
            // confirmations of the whole batch are outstanding at once. (Polling the sends
            // concurrently instead measured no faster: the broker is the bottleneck.)
            let mut sent = Vec::with_capacity(pending.len());
            for &i in pending {
                let result = channel
                    .basic_publish(
                        names.exchange.clone(),
                        names.queue.clone(),
                        options,
                        &bodies[i],
                        properties.clone(),
                    )
                    .await;
                sent.push((i, result));
            }
            sent
        };
        let mut unconfirmed = Vec::new();
        let mut rejected = None;
        let mut error = None;
        let mut confirms = Vec::with_capacity(sent.len());
        for (i, result) in sent {
            match result {
                Ok(confirm) => confirms.push((i, confirm)),
                Err(e) => {
                    error.get_or_insert_with(|| e.to_string());
                    unconfirmed.push(i);
                }
            }
        }
        // The confirmations arrive concurrently; awaiting them in order costs no extra round trip.
        for (i, confirm) in confirms {
            match confirm.await {
                Ok(Confirmation::Ack(None)) => {}
                Ok(Confirmation::Ack(Some(returned))) => {
                    rejected.get_or_insert_with(|| {
                        format!(
                            "rabbitmq returned a message: {} {} (is {} bound to {}?)",
                            returned.reply_code, returned.reply_text, names.queue, names.exchange
                        )
                    });
                }
                Ok(Confirmation::Nack(_)) => {
                    rejected
                        .get_or_insert_with(|| "rabbitmq nacked a published message".to_string());
                }
                Ok(Confirmation::NotRequested) => {
                    rejected
                        .get_or_insert_with(|| "rabbitmq publish was not confirmed".to_string());
                }
                Err(e) => {
                    error.get_or_insert_with(|| e.to_string());
                    unconfirmed.push(i);
                }
            }
        }
        if let Some(message) = rejected {
            Attempt::Rejected(message)
        } else if unconfirmed.is_empty() {
            Attempt::Done
        } else {
            Attempt::Lost {
                unconfirmed,
                error: error.unwrap_or_default(),
            }
        }
    }
}

/// Outcome of one publishing attempt.
enum Attempt {
    Done,
    /// The broker refused a message (nack or return): not retried.
    Rejected(String),
    /// The connection or channel failed; these messages are not known to be stored.
    Lost {
        unconfirmed: Vec<usize>,
        error: String,
    },
}

#[async_trait]
impl Queue for RabbitQueue {
    async fn publish(&self, bodies: Vec<Vec<u8>>) -> Result<(), QueueError> {
        let mut pending: Vec<usize> = (0..bodies.len()).collect();
        let mut attempt = 1;
        while !pending.is_empty() {
            match self.publish_once(&bodies, &pending).await {
                Attempt::Done => return Ok(()),
                Attempt::Rejected(message) => return Err(QueueError::Broker(message)),
                Attempt::Lost { unconfirmed, error } => {
                    if attempt >= PUBLISH_ATTEMPTS {
                        return Err(QueueError::Broker(format!(
                            "rabbitmq publish failed after {attempt} attempts: {error}"
                        )));
                    }
                    tracing::warn!(
                        queue = %self.inner.names.queue,
                        unconfirmed = unconfirmed.len(),
                        %error,
                        "RabbitMQ publish interrupted; retrying."
                    );
                    tokio::time::sleep(RETRY_BACKOFF * 2u32.pow(attempt - 1)).await;
                    attempt += 1;
                    pending = unconfirmed;
                }
            }
        }
        Ok(())
    }

    async fn subscribe(&self, prefetch: usize) -> Result<Box<dyn Subscription>, QueueError> {
        let channel = {
            let mut link = self.inner.link.lock().await;
            let connection = self.ensure_connection(&mut link).await?;
            open_channel(connection).await?
        };
        let prefetch = u16::try_from(prefetch.max(1)).unwrap_or(u16::MAX);
        channel
            .basic_qos(prefetch, BasicQosOptions::default())
            .await
            .map_err(|e| broker("set prefetch", e))?;
        let queue = self.inner.names.queue.clone();
        let consumer = channel
            .basic_consume(
                queue.clone(),
                "".into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await
            .map_err(|e| broker(&format!("consume {queue}"), e))?;
        Ok(Box::new(RabbitSubscription {
            _channel: channel,
            consumer,
            queue,
            ended: false,
        }))
    }
}
