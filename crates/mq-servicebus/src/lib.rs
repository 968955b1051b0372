//! The internal queues (deliverymq, logmq) and the publish queue on Azure Service Bus, behind
//! the queue port. One queue is a topic (where messages are sent) and a subscription on it
//! (where they are received), as upstream.
//!
//! - Connection: a Service Bus connection string (`Endpoint=sb://..;SharedAccessKeyName=..;
//!   SharedAccessKey=..`), AMQP over TLS; with `UseDevelopmentEmulator=true` plain AMQP (the
//!   official emulator's flag).
//! - Opening the connection and links at the start, and a receiver when subscribing, is bounded:
//!   an attempt still unanswered after 15 s is dropped and started again on a new connection,
//!   three times at most, since the client has been seen to stall there now and then.
//! - Provisioning ([`Provision`], `MQS_AUTO_PROVISION`): the topic and the subscription (lock
//!   duration, max delivery count, dead-lettering on expiry) through the management REST API
//!   with the same connection string ([`admin`]). Without it, a missing topic or subscription
//!   stops the start with its name.
//! - Sending: messages are packed into batches as large as the link allows, over a few sender
//!   links used in turn; it returns once Service Bus has accepted every batch. A batch not
//!   accepted within 10 s is sent again on a new connection (a duplicate is possible then, as
//!   with any at-least-once queue; deliveries are deduplicated downstream).
//! - Receiving: peek-lock, one message at a time from the link's prefetch buffer and only while
//!   a worker slot is free. While a message is held its lock is renewed before it runs out, so a
//!   slow delivery is never handed to another consumer while still running; if the process
//!   dies, the message comes back when its lock expires (and is dead-lettered by Service Bus
//!   after the subscription's max delivery count).
//! - Ack completes the message; nack abandons it (redelivered at once, counted by Service Bus's
//!   delivery count). A message dropped unsettled, or left when the subscription goes away, is
//!   abandoned the same way.

mod admin;
mod receiver;

pub use admin::Provision;

use azservicebus::primitives::service_bus_retry_options::ServiceBusRetryOptions;
use azservicebus::{
    ServiceBusClient, ServiceBusClientOptions, ServiceBusMessage, ServiceBusSender,
    ServiceBusSenderOptions,
};
use outpost_core::ports::{Queue, QueueError, Subscription};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Mutex;

/// Sender links per queue, used in turn by concurrent publishes.
const SENDERS: usize = 4;
/// How long one SDK try may take (retried by the SDK up to [`SDK_RETRIES`] times).
const TRY_TIMEOUT: Duration = Duration::from_secs(20);
/// SDK retries of a failed operation.
const SDK_RETRIES: u32 = 2;
/// Longest wait for Service Bus to accept one batch before it is sent again on a new
/// connection.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for one attempt at opening a queue's connection and links, or a receiver.
const OPEN_TIMEOUT: Duration = Duration::from_secs(15);
/// Attempts at opening them before the start (or the subscription) fails.
const OPEN_ATTEMPTS: u32 = 3;

/// The client type (its retry policy is the SDK's basic one).
type Client = ServiceBusClient<azservicebus::core::BasicRetryPolicy>;

/// Where one queue lives.
#[derive(Clone)]
pub struct ServiceBusSettings {
    /// The namespace's connection string.
    pub connection_string: String,
    /// Topic name.
    pub topic: String,
    /// Subscription name on the topic.
    pub subscription: String,
    /// Create the topic and subscription (or bring them up to date) through the management
    /// API first (`MQS_AUTO_PROVISION`); `None`: they must exist.
    pub provision: Option<Provision>,
}

impl std::fmt::Debug for ServiceBusSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceBusSettings")
            .field("endpoint", &endpoint(&self.connection_string))
            .field("topic", &self.topic)
            .field("subscription", &self.subscription)
            .finish()
    }
}

/// The `key=value` pairs of a connection string.
fn pairs(cs: &str) -> impl Iterator<Item = (&str, &str)> {
    cs.split(';').filter_map(|p| {
        let (k, v) = p.split_once('=')?;
        Some((k.trim(), v.trim()))
    })
}

/// The `Endpoint` of a connection string (what may be shown of it).
pub fn endpoint(cs: &str) -> Option<&str> {
    pairs(cs)
        .find(|(k, _)| k.eq_ignore_ascii_case("Endpoint"))
        .map(|(_, v)| v)
}

/// Checks a connection string before any I/O: an `sb://` endpoint and one way to sign in.
pub fn check_connection_string(cs: &str) -> Result<(), String> {
    let has = |key: &str| pairs(cs).any(|(k, v)| k.eq_ignore_ascii_case(key) && !v.is_empty());
    match endpoint(cs) {
        Some(e) if e.starts_with("sb://") && e.len() > "sb://".len() => {}
        Some(e) => return Err(format!("Endpoint {e:?} is not sb://<namespace host>/")),
        None => return Err("no Endpoint=sb://<namespace host>/".into()),
    }
    let key = has("SharedAccessKeyName") && has("SharedAccessKey");
    if !key && !has("SharedAccessSignature") {
        return Err(
            "needs SharedAccessKeyName and SharedAccessKey (or SharedAccessSignature)".into(),
        );
    }
    Ok(())
}

/// `UseDevelopmentEmulator=true`: plain AMQP, as the official emulator.
fn emulator(cs: &str) -> bool {
    pairs(cs).any(|(k, v)| {
        k.eq_ignore_ascii_case("UseDevelopmentEmulator") && v.eq_ignore_ascii_case("true")
    })
}

/// A broker error naming the operation, with the causes.
pub(crate) fn broker(what: &str, e: &(dyn std::error::Error + 'static)) -> QueueError {
    QueueError::Broker(format!(
        "Service Bus {what}: {}",
        outpost_core::error::chain_text(e)
    ))
}

/// Whether an attach failed because the entity does not exist.
fn not_found(e: &QueueError) -> bool {
    let QueueError::Broker(text) = e else {
        return false;
    };
    let t = text.to_ascii_lowercase();
    t.contains("not-found") || t.contains("notfound") || t.contains("not found")
}

/// Opens a connection to the namespace.
async fn client(cs: &str) -> Result<Client, QueueError> {
    let options = ServiceBusClientOptions {
        retry_options: ServiceBusRetryOptions {
            max_retries: SDK_RETRIES,
            try_timeout: TRY_TIMEOUT,
            ..Default::default()
        },
        ..Default::default()
    };
    let connected = if emulator(cs) {
        ServiceBusClient::unsecured()
            .new_from_connection_string(cs, options)
            .await
    } else {
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            // Losing a race to another installer is fine: a provider is then in place.
            let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        }
        ServiceBusClient::new_from_connection_string(cs, options).await
    };
    connected.map_err(|e| broker(&format!("connect to {}", endpoint(cs).unwrap_or("?")), &e))
}

/// Opens a connection to the namespace, the sender links to `s.topic`, and a receiver on the
/// subscription (closed again at once) to check that it exists.
async fn open_links(s: &ServiceBusSettings) -> Result<(Client, Vec<Mutex<Slot>>), QueueError> {
    let mut client = client(&s.connection_string).await?;
    let missing = |what: String| {
        QueueError::Missing(format!(
            "Service Bus {what} (create it, or set MQS_AUTO_PROVISION=true)"
        ))
    };
    let mut senders = Vec::with_capacity(SENDERS);
    for _ in 0..SENDERS {
        let sender = client
            .create_sender(s.topic.as_str(), ServiceBusSenderOptions::default())
            .await
            .map_err(|e| broker(&format!("open a sender to topic {}", s.topic), &e))
            .map_err(|e| {
                if not_found(&e) {
                    missing(format!("topic {}", s.topic))
                } else {
                    e
                }
            })?;
        senders.push(Mutex::new(Slot {
            sender,
            own_client: None,
        }));
    }
    // A receiver link checks the subscription; it is closed again at once.
    let probe = receiver::open(&mut client, &s.topic, &s.subscription, 0)
        .await
        .map_err(|e| {
            if not_found(&e) {
                missing(format!("subscription {}/{}", s.topic, s.subscription))
            } else {
                e
            }
        })?;
    receiver::close(probe).await;
    Ok((client, senders))
}

/// Runs `attempt` (given its number, from 1) up to `attempts` times, each bounded by `limit`:
/// an attempt that stalls is dropped (with the connection it was opening) and the next starts
/// afresh. An attempt that
/// fails is not repeated (the SDK has retried it already); its error is returned.
///
/// The Service Bus client has been seen to stall while opening links now and then: the broker
/// answered its token request and the client never took the answer (see
/// `outpost_runtime::on_workers`), and the process then waited on nothing.
async fn bounded_attempts<T, F, Fut>(
    what: &str,
    limit: Duration,
    attempts: u32,
    mut attempt: F,
) -> Result<T, QueueError>
where
    F: FnMut(u32) -> Fut,
    Fut: std::future::Future<Output = Result<T, QueueError>>,
{
    for n in 1..=attempts {
        match tokio::time::timeout(limit, attempt(n)).await {
            Ok(r) => return r,
            Err(_) => tracing::warn!(
                attempt = n,
                of = attempts,
                "Service Bus: {what} took over {} s; starting again.",
                limit.as_secs()
            ),
        }
    }
    Err(QueueError::Broker(format!(
        "Service Bus {what}: no answer within {} s, {attempts} times",
        limit.as_secs()
    )))
}

/// One Service Bus queue: a topic to send to and a subscription to receive from.
pub struct ServiceBusQueue {
    client: Arc<Mutex<Client>>,
    senders: Vec<Mutex<Slot>>,
    next: AtomicUsize,
    connection_string: String,
    topic: String,
    subscription: String,
}

/// One sender link, on the queue's connection or, after a failed send, on a fresh one of its
/// own (kept here so it lives as long as the link).
struct Slot {
    sender: ServiceBusSender,
    own_client: Option<Client>,
}

impl std::fmt::Debug for ServiceBusQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceBusQueue")
            .field("topic", &self.topic)
            .field("subscription", &self.subscription)
            .finish()
    }
}

impl ServiceBusQueue {
    /// Connects and checks that the topic and subscription exist (by opening links to them).
    pub async fn connect(s: ServiceBusSettings) -> Result<Self, QueueError> {
        check_connection_string(&s.connection_string)
            .map_err(|e| QueueError::Broker(format!("Service Bus connection string: {e}")))?;
        if let Some(p) = &s.provision {
            admin::provision(&s.connection_string, &s.topic, &s.subscription, p).await?;
        }
        let what = format!("open topic {} and subscription {}", s.topic, s.subscription);
        // Boxed: the opening future is deeply nested, and inline it took the binaries' start
        // futures past rustc's layout query depth limit.
        let (client, senders) =
            Box::pin(bounded_attempts(&what, OPEN_TIMEOUT, OPEN_ATTEMPTS, |_| {
                open_links(&s)
            }))
            .await?;
        tracing::info!(
            topic = %s.topic,
            subscription = %s.subscription,
            "Service Bus queue ready."
        );
        Ok(Self {
            client: Arc::new(Mutex::new(client)),
            senders,
            next: AtomicUsize::new(0),
            connection_string: s.connection_string,
            topic: s.topic,
            subscription: s.subscription,
        })
    }

    /// Sends one batch that Service Bus must accept whole, within [`SEND_TIMEOUT`]. A send that
    /// fails or hangs is tried once more on a new connection, which the slot keeps: a link or
    /// connection that stopped answering must not hold every later publish.
    async fn send(&self, slot: &mut Slot, batch: Vec<Vec<u8>>) -> Result<(), QueueError> {
        let first = self.send_on(&mut slot.sender, &batch).await;
        let Err(e) = first else {
            return Ok(());
        };
        tracing::warn!(error = %e, topic = %self.topic, "Service Bus send failed; retrying on a new connection.");
        let mut client = client(&self.connection_string).await?;
        let sender = client
            .create_sender(self.topic.as_str(), ServiceBusSenderOptions::default())
            .await
            .map_err(|e| broker(&format!("open a sender to topic {}", self.topic), &e))?;
        let old = std::mem::replace(
            slot,
            Slot {
                sender,
                own_client: Some(client),
            },
        );
        tokio::spawn(async move {
            let close = async {
                let _ = old.sender.dispose().await;
                if let Some(c) = old.own_client {
                    let _ = c.dispose().await;
                }
            };
            let _ = tokio::time::timeout(Duration::from_secs(5), close).await;
        });
        self.send_on(&mut slot.sender, &batch).await
    }

    async fn send_on(
        &self,
        sender: &mut ServiceBusSender,
        bodies: &[Vec<u8>],
    ) -> Result<(), QueueError> {
        let mut batch = sender
            .create_message_batch(Default::default())
            .map_err(|e| broker("create a message batch", &e))?;
        for body in bodies {
            batch
                .try_add_message(ServiceBusMessage::new(body.clone()))
                .map_err(|e| broker(&format!("a message for topic {}", self.topic), &e))?;
        }
        match tokio::time::timeout(SEND_TIMEOUT, sender.send_message_batch(batch)).await {
            Ok(r) => r.map_err(|e| broker(&format!("send to topic {}", self.topic), &e)),
            Err(_) => Err(QueueError::Broker(format!(
                "Service Bus send to topic {} took over {} s",
                self.topic,
                SEND_TIMEOUT.as_secs()
            ))),
        }
    }
}

#[async_trait::async_trait]
impl Queue for ServiceBusQueue {
    async fn publish(&self, bodies: Vec<Vec<u8>>) -> Result<(), QueueError> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.senders.len();
        let mut slot = self.senders[i].lock().await;
        // Pack batches as large as the link allows: a trial batch tells where each one ends.
        let mut trial = slot
            .sender
            .create_message_batch(Default::default())
            .map_err(|e| broker("create a message batch", &e))?;
        let mut pending: Vec<Vec<u8>> = Vec::new();
        for body in bodies {
            if trial
                .try_add_message(ServiceBusMessage::new(body.clone()))
                .is_err()
            {
                if pending.is_empty() {
                    return Err(QueueError::Broker(format!(
                        "a message of {} bytes does not fit a Service Bus batch for topic {}",
                        body.len(),
                        self.topic
                    )));
                }
                self.send(&mut slot, std::mem::take(&mut pending)).await?;
                trial.clear();
                if trial
                    .try_add_message(ServiceBusMessage::new(body.clone()))
                    .is_err()
                {
                    return Err(QueueError::Broker(format!(
                        "a message of {} bytes does not fit a Service Bus batch for topic {}",
                        body.len(),
                        self.topic
                    )));
                }
            }
            pending.push(body);
        }
        if !pending.is_empty() {
            self.send(&mut slot, pending).await?;
        }
        Ok(())
    }

    async fn subscribe(&self, prefetch: usize) -> Result<Box<dyn Subscription>, QueueError> {
        let credit = u32::try_from(prefetch.clamp(1, 1000)).unwrap_or(1);
        let what = format!(
            "open a receiver on {}/subscriptions/{}",
            self.topic, self.subscription
        );
        // An attempt after a stalled one opens a new connection for the queue first.
        let link = bounded_attempts(&what, OPEN_TIMEOUT, OPEN_ATTEMPTS, |n| async move {
            let mut client = self.client.lock().await;
            if n > 1 {
                *client = crate::client(&self.connection_string).await?;
            }
            receiver::open(&mut client, &self.topic, &self.subscription, credit).await
        })
        .await?;
        Ok(receiver::start(
            link,
            format!("{}/{}", self.topic, self.subscription),
            prefetch.max(1),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_strings_are_checked_before_any_io() {
        let ok = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=v";
        assert_eq!(check_connection_string(ok), Ok(()));
        assert!(!emulator(ok));
        assert!(emulator(&format!("{ok};UseDevelopmentEmulator=True")));
        assert_eq!(endpoint(ok), Some("sb://ns.servicebus.windows.net/"));
        let sas = "Endpoint=sb://ns/;SharedAccessSignature=SharedAccessSignature sr=x&sig=y";
        assert_eq!(check_connection_string(sas), Ok(()));
        for (bad, says) in [
            ("SharedAccessKeyName=k;SharedAccessKey=v", "no Endpoint"),
            (
                "Endpoint=https://ns/;SharedAccessKeyName=k;SharedAccessKey=v",
                "not sb://",
            ),
            (
                "Endpoint=sb://ns/;SharedAccessKeyName=k",
                "needs SharedAccessKeyName",
            ),
        ] {
            let e = check_connection_string(bad).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
        let settings = ServiceBusSettings {
            connection_string: ok.into(),
            topic: "t".into(),
            subscription: "s".into(),
            provision: None,
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains("SharedAccessKey=v"), "{shown}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_open_is_dropped_and_started_again() {
        let limit = Duration::from_secs(15);
        let r = bounded_attempts("open x", limit, 3, |n| async move {
            if n == 1 {
                std::future::pending::<()>().await;
            }
            Ok(n)
        })
        .await;
        assert_eq!(r.unwrap(), 2, "the second attempt answered");

        let mut calls = 0u32;
        let started = tokio::time::Instant::now();
        let r: Result<(), _> = bounded_attempts("open y", limit, 3, |_| {
            calls += 1;
            std::future::pending()
        })
        .await;
        let e = r.unwrap_err().to_string();
        assert!(e.contains("open y: no answer within 15 s, 3 times"), "{e}");
        assert_eq!(calls, 3);
        assert_eq!(started.elapsed(), limit * 3);

        let mut calls = 0u32;
        let r: Result<(), _> = bounded_attempts("open z", limit, 3, |_| {
            calls += 1;
            async { Err(QueueError::Missing("topic z".into())) }
        })
        .await;
        assert!(matches!(r, Err(QueueError::Missing(_))), "{r:?}");
        assert_eq!(calls, 1, "a failed attempt is not repeated");
    }

    #[test]
    fn missing_entities_are_recognised() {
        assert!(not_found(&QueueError::Broker(
            "Service Bus open: amqp:not-found: entity 'x'".into()
        )));
        assert!(!not_found(&QueueError::Broker("timeout".into())));
        assert!(!not_found(&QueueError::Closed));
    }
}
