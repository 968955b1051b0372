//! A subscription's receiver link behind the queue port. The SDK's receiver needs exclusive
//! access for every call, so one task (the driver) owns it: it receives while a worker slot is
//! free, settles what the workers' ackers ask for, renews the locks of held messages, and,
//! once the subscription is dropped, stays until every held message is settled.

use azservicebus::{
    ServiceBusClient, ServiceBusReceiveMode, ServiceBusReceivedMessage, ServiceBusReceiver,
    ServiceBusReceiverOptions,
};
use outpost_core::ports::{Acker, Message, QueueError, Subscription};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// How long a receive waits while messages are held (their settlements wait behind it).
const BUSY_WAIT: Duration = Duration::from_millis(20);
/// How long a receive waits while nothing is held (a stop is noticed between receives).
const IDLE_WAIT: Duration = Duration::from_millis(250);
/// Lock renewal period when Service Bus does not say until when a message is locked.
const DEFAULT_RENEW: Duration = Duration::from_secs(10);

/// Opens a peek-lock receiver on `topic/subscription` with `prefetch` messages buffered.
pub(crate) async fn open(
    client: &mut ServiceBusClient<azservicebus::core::BasicRetryPolicy>,
    topic: &str,
    subscription: &str,
    prefetch: u32,
) -> Result<ServiceBusReceiver, QueueError> {
    let options = ServiceBusReceiverOptions {
        prefetch_count: prefetch,
        receive_mode: ServiceBusReceiveMode::PeekLock,
        ..Default::default()
    };
    client
        .create_receiver_for_subscription(topic, subscription, options)
        .await
        .map_err(|e| {
            crate::broker(
                &format!("open a receiver on {topic}/subscriptions/{subscription}"),
                &e,
            )
        })
}

/// Closes a receiver, bounded in time.
pub(crate) async fn close(receiver: ServiceBusReceiver) {
    if tokio::time::timeout(Duration::from_secs(5), receiver.dispose())
        .await
        .is_err()
    {
        tracing::warn!("A Service Bus receiver did not close within 5 s.");
    }
}

/// What an acker asks of the driver.
enum Command {
    Complete(u64, oneshot::Sender<Result<(), QueueError>>),
    Abandon(u64, Option<oneshot::Sender<Result<(), QueueError>>>),
}

/// A message handed to a worker, and when its lock is next renewed.
struct Held {
    message: ServiceBusReceivedMessage,
    renew_at: Instant,
}

/// When to renew a lock: halfway to its expiry.
fn renew_at(message: &ServiceBusReceivedMessage) -> Instant {
    let left = message
        .locked_until()
        .map(|until| until - time::OffsetDateTime::now_utc())
        .and_then(|d| Duration::try_from(d).ok())
        .map_or(DEFAULT_RENEW, |d| d / 2);
    Instant::now() + left.max(Duration::from_millis(500))
}

/// Starts the driver of `receiver`, handing out at most `slots` messages at a time.
pub(crate) fn start(
    receiver: ServiceBusReceiver,
    name: String,
    slots: usize,
) -> Box<dyn Subscription> {
    let (tx, rx) = mpsc::channel(slots);
    let (commands_tx, commands) = mpsc::unbounded_channel();
    let stop = CancellationToken::new();
    let driver = Driver {
        receiver,
        name,
        slots: Arc::new(Semaphore::new(slots)),
        held: HashMap::new(),
        next_id: 0,
        tx: Some(tx),
        commands,
        commands_tx: Some(commands_tx),
    };
    tokio::spawn(driver.run(stop.clone()));
    Box::new(ServiceBusSubscription {
        rx,
        _stop: stop.drop_guard(),
    })
}

struct Driver {
    receiver: ServiceBusReceiver,
    name: String,
    slots: Arc<Semaphore>,
    held: HashMap<u64, Held>,
    next_id: u64,
    /// Where messages go; `None` once the subscription is gone.
    tx: Option<mpsc::Sender<Result<Message, QueueError>>>,
    commands: mpsc::UnboundedReceiver<Command>,
    /// Cloned into each acker; dropped here once the subscription is gone, so the channel
    /// ends when the last acker does.
    commands_tx: Option<mpsc::UnboundedSender<Command>>,
}

impl Driver {
    async fn run(mut self, stop: CancellationToken) {
        let mut errors: u32 = 0;
        while !stop.is_cancelled() {
            while let Ok(c) = self.commands.try_recv() {
                self.settle(c).await;
            }
            self.renew_due().await;
            let Ok(permit) = self.slots.clone().try_acquire_owned() else {
                // Every slot is busy: wait for a settlement, a renewal or the stop.
                let next_renewal = self.next_renewal();
                tokio::select! {
                    c = self.commands.recv() => if let Some(c) = c { self.settle(c).await },
                    _ = tokio::time::sleep_until(next_renewal.into()) => {}
                    _ = stop.cancelled() => {}
                }
                continue;
            };
            let wait = if self.held.is_empty() {
                IDLE_WAIT
            } else {
                BUSY_WAIT
            };
            match self.receiver.receive_message_with_max_wait_time(wait).await {
                Ok(Some(m)) => {
                    errors = 0;
                    self.hand_out(m, permit).await;
                }
                Ok(None) => errors = 0,
                Err(e) => {
                    errors += 1;
                    let err = crate::broker(&format!("receive from {}", self.name), &e);
                    tracing::warn!(error = %err, "Service Bus receive failed.");
                    let gone = match &self.tx {
                        Some(tx) => tx.send(Err(err)).await.is_err(),
                        None => true,
                    };
                    if gone {
                        break;
                    }
                    let backoff = Duration::from_millis(100 * 2u64.pow(errors.min(4)));
                    tokio::select! {
                        _ = stop.cancelled() => {}
                        _ = tokio::time::sleep(backoff) => {}
                    }
                }
            }
        }
        self.finish().await;
    }

    /// The subscription is gone: settle what the workers still hold, then close the link.
    async fn finish(mut self) {
        self.tx = None;
        self.commands_tx = None;
        while !self.held.is_empty() {
            let next_renewal = self.next_renewal();
            tokio::select! {
                c = self.commands.recv() => match c {
                    Some(c) => self.settle(c).await,
                    None => break,
                },
                _ = tokio::time::sleep_until(next_renewal.into()) => self.renew_due().await,
            }
        }
        tracing::debug!(subscription = %self.name, "Service Bus subscription closed.");
        close(self.receiver).await;
    }

    async fn hand_out(&mut self, m: ServiceBusReceivedMessage, permit: OwnedSemaphorePermit) {
        let body = match m.body() {
            Ok(b) => b.to_vec(),
            Err(_) => {
                tracing::error!(subscription = %self.name, "A Service Bus message without a single data section; dead-lettering it.");
                if let Err(e) = self
                    .receiver
                    .dead_letter_message(&m, Default::default())
                    .await
                {
                    tracing::warn!(error = %e, "Cannot dead-letter a Service Bus message.");
                }
                return;
            }
        };
        // Service Bus counts the first delivery as 1.
        let redeliveries = m.delivery_count().unwrap_or(1).saturating_sub(1);
        self.next_id += 1;
        let id = self.next_id;
        self.held.insert(
            id,
            Held {
                renew_at: renew_at(&m),
                message: m,
            },
        );
        let (Some(tx), Some(commands)) = (&self.tx, &self.commands_tx) else {
            return;
        };
        let acker = ServiceBusAcker {
            id,
            commands: commands.clone(),
            settled: false,
            _slot: permit,
        };
        // A refused send drops the message, whose acker then asks for it to be abandoned.
        let _ = tx
            .send(Ok(Message::new(body, redeliveries, Box::new(acker))))
            .await;
    }

    async fn settle(&mut self, c: Command) {
        let (id, complete, reply) = match c {
            Command::Complete(id, r) => (id, true, Some(r)),
            Command::Abandon(id, r) => (id, false, r),
        };
        let result = match self.held.remove(&id) {
            None => Err(QueueError::Closed),
            Some(h) if complete => self
                .receiver
                .complete_message(&h.message)
                .await
                .map_err(|e| crate::broker("complete", &e)),
            Some(h) => self
                .receiver
                .abandon_message(&h.message, None)
                .await
                .map_err(|e| crate::broker("abandon", &e)),
        };
        match reply {
            Some(r) => {
                let _ = r.send(result);
            }
            None => {
                if let Err(e) = result {
                    tracing::warn!(error = %e, "Cannot hand back a Service Bus message; it comes back when its lock expires.");
                }
            }
        }
    }

    fn next_renewal(&self) -> Instant {
        self.held
            .values()
            .map(|h| h.renew_at)
            .min()
            .unwrap_or_else(|| Instant::now() + DEFAULT_RENEW)
    }

    /// Renews the locks that are halfway to expiring.
    async fn renew_due(&mut self) {
        let now = Instant::now();
        let due: Vec<u64> = self
            .held
            .iter()
            .filter(|(_, h)| h.renew_at <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            let Some(h) = self.held.get_mut(&id) else {
                continue;
            };
            match self.receiver.renew_message_lock(&mut h.message).await {
                Ok(()) => h.renew_at = renew_at(&h.message),
                Err(e) => {
                    tracing::warn!(error = %e, subscription = %self.name, "Cannot renew the lock of a held Service Bus message; it may be redelivered.");
                    h.renew_at = now + DEFAULT_RENEW;
                }
            }
        }
    }
}

struct ServiceBusSubscription {
    rx: mpsc::Receiver<Result<Message, QueueError>>,
    _stop: tokio_util::sync::DropGuard,
}

#[async_trait::async_trait]
impl Subscription for ServiceBusSubscription {
    async fn next(&mut self) -> Option<Result<Message, QueueError>> {
        self.rx.recv().await
    }
}

struct ServiceBusAcker {
    id: u64,
    commands: mpsc::UnboundedSender<Command>,
    settled: bool,
    _slot: OwnedSemaphorePermit,
}

impl ServiceBusAcker {
    async fn ask(
        &mut self,
        make: impl FnOnce(oneshot::Sender<Result<(), QueueError>>) -> Command,
    ) -> Result<(), QueueError> {
        self.settled = true;
        let (tx, rx) = oneshot::channel();
        self.commands
            .send(make(tx))
            .map_err(|_| QueueError::Closed)?;
        rx.await.map_err(|_| QueueError::Closed)?
    }
}

/// A message dropped unsettled (its handler or subscription went away) is abandoned at once.
impl Drop for ServiceBusAcker {
    fn drop(&mut self) {
        if !self.settled {
            let _ = self.commands.send(Command::Abandon(self.id, None));
        }
    }
}

#[async_trait::async_trait]
impl Acker for ServiceBusAcker {
    async fn ack(mut self: Box<Self>) -> Result<(), QueueError> {
        let id = self.id;
        self.ask(|r| Command::Complete(id, r)).await
    }

    async fn nack(mut self: Box<Self>) -> Result<(), QueueError> {
        let id = self.id;
        self.ask(|r| Command::Abandon(id, Some(r))).await
    }
}
