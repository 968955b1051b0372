//! A Pub/Sub subscription behind the queue port: a puller that takes only as many messages as
//! there are free slots, a keeper that extends the ack deadline of the messages held, and the
//! acker of each message (ack, nack, or hand back when dropped unsettled).

use gcloud_gax::conn::{Channel, ConnectionManager};
use gcloud_gax::grpc::{Code, Request};
use gcloud_googleapis::pubsub::v1::subscriber_client::SubscriberClient;
use gcloud_googleapis::pubsub::v1::{AcknowledgeRequest, ModifyAckDeadlineRequest, PullRequest};
use outpost_core::ports::{Acker, Held, Message, QueueError, Subscription};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

/// How long one pull waits for messages before it is asked again.
pub(crate) const PULL_WAIT: Duration = Duration::from_secs(10);
/// Most messages asked for in one pull.
const PULL_MAX: usize = 100;
/// Most ack ids in one `ModifyAckDeadline`.
const MODIFY_MAX: usize = 500;

/// Starts pulling from `subscription` with at most `prefetch` messages held; `seen` counts the
/// deliveries of the queue's subscriptions in this process.
pub(crate) fn start(
    conn: &ConnectionManager,
    subscription: String,
    deadline_secs: i32,
    prefetch: usize,
    seen: Seen,
) -> Box<dyn Subscription> {
    let prefetch = prefetch.max(1);
    let (tx, rx) = mpsc::channel(prefetch);
    let stop = CancellationToken::new();
    let held = Held::default();
    let client = SubscriberClient::new(conn.conn());
    let puller = Puller {
        client: client.clone(),
        subscription: subscription.clone(),
        slots: Arc::new(Semaphore::new(prefetch)),
        held: held.clone(),
        seen,
        tx,
    };
    tokio::spawn(puller.run(stop.clone()));
    tokio::spawn(keep_leases(
        client,
        subscription.clone(),
        deadline_secs,
        held,
        stop.clone(),
    ));
    tracing::debug!(%subscription, prefetch, "Pub/Sub subscription started.");
    Box::new(PubSubSubscription {
        rx,
        _stop: stop.drop_guard(),
    })
}

/// Most message ids whose deliveries a subscription remembers (past it, it starts afresh).
const SEEN_MAX: usize = 50_000;

/// How often this process was handed each unacknowledged message: the redelivery count
/// where the server gives none (`delivery_attempt` is only set with a dead-letter policy, and
/// not at all by some emulators).
#[derive(Clone, Default)]
pub(crate) struct Seen(Arc<Mutex<HashMap<String, u32>>>);

impl Seen {
    /// Counts one delivery of `id`; returns how many came before it.
    fn delivered(&self, id: &str) -> u32 {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if g.len() >= SEEN_MAX && !g.contains_key(id) {
            g.clear();
        }
        let n = g.entry(id.to_string()).or_insert(0);
        let before = *n;
        *n += 1;
        before
    }

    /// Forgets an acknowledged message.
    fn done(&self, id: &str) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    }
}

struct Puller {
    client: SubscriberClient<Channel>,
    subscription: String,
    slots: Arc<Semaphore>,
    held: Held,
    seen: Seen,
    tx: mpsc::Sender<Result<Message, QueueError>>,
}

impl Puller {
    async fn run(mut self, stop: CancellationToken) {
        let mut errors: u32 = 0;
        loop {
            // Pull only for free slots: at least one, at most PULL_MAX.
            let first = tokio::select! {
                _ = stop.cancelled() => return,
                p = self.slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
            };
            let mut permits = vec![first];
            while permits.len() < PULL_MAX {
                match self.slots.clone().try_acquire_owned() {
                    Ok(p) => permits.push(p),
                    Err(_) => break,
                }
            }
            let mut req = Request::new(PullRequest {
                subscription: self.subscription.clone(),
                max_messages: i32::try_from(permits.len()).unwrap_or(1),
                ..Default::default()
            });
            req.set_timeout(PULL_WAIT);
            let began = Instant::now();
            // Not cut short when the subscription goes away: what it takes is handed back at
            // once below, instead of staying leased for a whole deadline.
            let pulled = self.client.pull(req).await;
            if stop.is_cancelled() {
                if let Ok(out) = pulled {
                    let ids = out
                        .into_inner()
                        .received_messages
                        .into_iter()
                        .map(|m| m.ack_id)
                        .collect::<Vec<_>>();
                    release(&mut self.client, &self.subscription, ids).await;
                }
                return;
            }
            let received = match pulled {
                Ok(out) => {
                    errors = 0;
                    out.into_inner().received_messages
                }
                // Nothing came within the wait.
                Err(e) if e.code() == Code::DeadlineExceeded => Vec::new(),
                Err(e) => {
                    errors += 1;
                    let err = crate::broker(&format!("Pull {}", self.subscription), &e);
                    tracing::warn!(error = %err, "Pub/Sub pull failed.");
                    if self.tx.send(Err(err)).await.is_err() {
                        return;
                    }
                    // Short: the consumer backs off on the error it was handed; this only
                    // spaces the pulls of a subscription that is kept.
                    let backoff = Duration::from_millis(100 * 2u64.pow(errors.min(4)));
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    continue;
                }
            };
            if received.is_empty() && began.elapsed() < Duration::from_secs(1) {
                // A server that answers an empty pull at once (an emulator): do not spin.
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_millis(20)) => {}
                }
            }
            for m in received {
                let Some(permit) = permits.pop() else {
                    // More than asked for: hand the rest back.
                    release(&mut self.client, &self.subscription, vec![m.ack_id]).await;
                    continue;
                };
                let (body, message_id) = m
                    .message
                    .map(|p| (p.data, p.message_id))
                    .unwrap_or_default();
                // Set only with a dead-letter policy: 1 on the first delivery.
                let counted = u32::try_from(m.delivery_attempt.max(1) - 1).unwrap_or(0);
                let redeliveries = counted.max(self.seen.delivered(&message_id));
                let id = self.held.add(m.ack_id.clone());
                let acker = PubSubAcker {
                    client: self.client.clone(),
                    subscription: self.subscription.clone(),
                    ack_id: m.ack_id,
                    message_id,
                    seen: self.seen.clone(),
                    held: self.held.clone(),
                    id,
                    settled: false,
                    _slot: permit,
                };
                if self
                    .tx
                    .send(Ok(Message::new(body, redeliveries, Box::new(acker))))
                    .await
                    .is_err()
                {
                    // The subscription is gone: the message (dropped unsettled with the send
                    // error) is handed back by its acker; the rest too, as the loop goes on.
                    continue;
                }
            }
        }
    }
}

/// Sets the ack deadline of `ack_ids` to `secs` (0: redeliver now); `Err` carries the first
/// failure.
async fn modify_deadline(
    client: &mut SubscriberClient<Channel>,
    subscription: &str,
    ack_ids: Vec<String>,
    secs: i32,
) -> Result<(), QueueError> {
    let mut result = Ok(());
    for chunk in ack_ids.chunks(MODIFY_MAX) {
        if let Err(e) = client
            .modify_ack_deadline(ModifyAckDeadlineRequest {
                subscription: subscription.to_string(),
                ack_ids: chunk.to_vec(),
                ack_deadline_seconds: secs,
            })
            .await
            && result.is_ok()
        {
            result = Err(crate::broker("ModifyAckDeadline", &e));
        }
    }
    result
}

/// Hands pulled messages back at once (nothing will handle them here).
async fn release(client: &mut SubscriberClient<Channel>, subscription: &str, ack_ids: Vec<String>) {
    if ack_ids.is_empty() {
        return;
    }
    if let Err(e) = modify_deadline(client, subscription, ack_ids, 0).await {
        tracing::warn!(error = %e, "Cannot hand back pulled Pub/Sub messages; they come back after their ack deadline.");
    }
}

/// Keeps the held messages leased: every third of the deadline, extends them by a full one.
async fn keep_leases(
    mut client: SubscriberClient<Channel>,
    subscription: String,
    deadline_secs: i32,
    held: Held,
    stop: CancellationToken,
) {
    let period = Duration::from_secs(u64::from(deadline_secs.unsigned_abs()) / 3)
        .max(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(period) => {}
        }
        let ids = held.snapshot();
        if ids.is_empty() {
            continue;
        }
        if let Err(e) = modify_deadline(&mut client, &subscription, ids, deadline_secs).await {
            tracing::warn!(error = %e, "Cannot extend the ack deadline of held Pub/Sub messages.");
        }
    }
}

struct PubSubSubscription {
    rx: mpsc::Receiver<Result<Message, QueueError>>,
    _stop: tokio_util::sync::DropGuard,
}

#[async_trait::async_trait]
impl Subscription for PubSubSubscription {
    async fn next(&mut self) -> Option<Result<Message, QueueError>> {
        self.rx.recv().await
    }
}

struct PubSubAcker {
    client: SubscriberClient<Channel>,
    subscription: String,
    ack_id: String,
    message_id: String,
    seen: Seen,
    held: Held,
    id: u64,
    settled: bool,
    _slot: OwnedSemaphorePermit,
}

/// A message dropped unsettled (its handler or subscription went away) is handed back at once,
/// as a nack: it stops being extended and is redelivered.
impl Drop for PubSubAcker {
    fn drop(&mut self) {
        self.held.remove(self.id);
        if self.settled {
            return;
        }
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let (mut client, subscription, ack_id) = (
                self.client.clone(),
                self.subscription.clone(),
                self.ack_id.clone(),
            );
            rt.spawn(async move { release(&mut client, &subscription, vec![ack_id]).await });
        }
    }
}

#[async_trait::async_trait]
impl Acker for PubSubAcker {
    async fn ack(mut self: Box<Self>) -> Result<(), QueueError> {
        self.settled = true;
        self.held.remove(self.id);
        self.seen.done(&self.message_id);
        let req = AcknowledgeRequest {
            subscription: self.subscription.clone(),
            ack_ids: vec![std::mem::take(&mut self.ack_id)],
        };
        self.client
            .acknowledge(req)
            .await
            .map(|_| ())
            .map_err(|e| crate::broker("Acknowledge", &e))
    }

    async fn nack(mut self: Box<Self>) -> Result<(), QueueError> {
        self.settled = true;
        self.held.remove(self.id);
        let ids = vec![std::mem::take(&mut self.ack_id)];
        let subscription = self.subscription.clone();
        modify_deadline(&mut self.client, &subscription, ids, 0).await
    }
}
