//! The internal queues (deliverymq, logmq) on AWS SQS, behind the queue port.
//!
//! - Provisioning (`MQS_AUTO_PROVISION`): the queue and its dead-letter queue, with a redrive
//!   policy after [`SqsSettings::max_receive_count`] receives (upstream's 6) and the visibility
//!   timeout; without it, a missing queue is a clear start-up error.
//! - Publishing sends batches of up to 10 messages (`SendMessageBatch`), retrying the entries
//!   SQS refuses for a transient reason; it returns once SQS has stored every message.
//! - Receiving long-polls up to 10 messages at a time, and only as many as there are free slots
//!   (`prefetch`), so a message is never received before a worker can take it. While a message
//!   is held, its visibility is extended before it runs out, so a slow delivery or a slow log
//!   batch is never handed to another consumer while still running; if the process dies, the
//!   message comes back after the visibility timeout.
//! - Ack deletes the message (acks arriving together share `DeleteMessageBatch` calls), nack
//!   makes it visible again at once (a redelivery, counted by SQS's
//!   `ApproximateReceiveCount`); a message dropped unsettled, or received for a subscription
//!   that has gone away, is handed back the same way.
//!
//! Bodies are sent as they are when they are text SQS accepts (JSON always is); other bytes are
//! sent base64-encoded with the message attribute `outpost-encoding: base64`.

mod codec;
mod deleter;

use aws_config::BehaviorVersion;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::{Credentials, Region};
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use outpost_core::error::chain_text;
use outpost_core::ports::{Acker, Held, Message, Queue, QueueError, Subscription};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

/// Most messages in one SQS batch call.
const BATCH: usize = 10;
/// Largest total payload of one `SendMessageBatch`.
const BATCH_BYTES: usize = 256 * 1024;
/// Long-poll wait of one receive.
const WAIT_SECS: i32 = 10;

/// Where and how one queue lives.
#[derive(Clone)]
pub struct SqsSettings {
    /// AWS region (`AWS_SQS_REGION`).
    pub region: String,
    /// Endpoint override (`AWS_SQS_ENDPOINT`), e.g. a local stand-in.
    pub endpoint: Option<String>,
    /// Static credentials (access key id, secret); `None`: the AWS default chain.
    pub credentials: Option<(String, String)>,
    /// Queue name.
    pub queue: String,
    /// Dead-letter queue name.
    pub dlq: String,
    /// Create the queues (and set their attributes) at start.
    pub auto_provision: bool,
    /// How long a received message stays invisible to other consumers (extended while held).
    pub visibility_timeout: Duration,
    /// Receives after which SQS moves a message to the dead-letter queue.
    pub max_receive_count: u32,
}

impl std::fmt::Debug for SqsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqsSettings")
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("static_credentials", &self.credentials.is_some())
            .field("queue", &self.queue)
            .field("dlq", &self.dlq)
            .field("auto_provision", &self.auto_provision)
            .field("visibility_timeout", &self.visibility_timeout)
            .finish()
    }
}

/// One SQS queue.
pub struct SqsQueue {
    client: Client,
    url: String,
    name: String,
    visibility: Duration,
    deleter: deleter::Deleter,
}

impl std::fmt::Debug for SqsQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqsQueue").field("url", &self.url).finish()
    }
}

fn broker(what: &str, e: impl std::error::Error + 'static) -> QueueError {
    QueueError::Broker(format!("SQS {what}: {}", chain_text(&e)))
}

/// A client for `s` (region, endpoint, credentials). Every call is bounded: 5 s to connect, one
/// attempt at most the long-poll wait plus 10 s, all retries 60 s, so a connection that stops
/// answering cannot hold a worker (or a shutdown) forever.
pub async fn client(s: &SqsSettings) -> Client {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(WAIT_SECS.unsigned_abs() as u64 + 10))
        .operation_timeout(Duration::from_secs(60))
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(s.region.clone()))
        .timeout_config(timeouts);
    if let Some((k, secret)) = &s.credentials {
        loader = loader.credentials_provider(Credentials::new(
            k.clone(),
            secret.clone(),
            None,
            None,
            "outpost-mqs",
        ));
    }
    if let Some(e) = &s.endpoint {
        loader = loader.endpoint_url(e.clone());
    }
    Client::new(&loader.load().await)
}

impl SqsQueue {
    /// Connects to (and, with auto-provisioning, creates) the queue and its dead-letter queue.
    pub async fn connect(s: SqsSettings) -> Result<Self, QueueError> {
        let client = client(&s).await;
        let url = if s.auto_provision {
            provision(&client, &s).await?
        } else {
            existing_url(&client, &s.queue).await?
        };
        tracing::info!(queue = %s.queue, url = %url, "SQS queue ready.");
        Ok(Self {
            deleter: deleter::Deleter::start(client.clone(), url.clone()),
            client,
            url,
            name: s.queue,
            visibility: s.visibility_timeout,
        })
    }

    /// The queue URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

async fn existing_url(client: &Client, name: &str) -> Result<String, QueueError> {
    match client.get_queue_url().queue_name(name).send().await {
        Ok(out) => out
            .queue_url
            .ok_or_else(|| QueueError::Broker(format!("SQS returned no URL for {name}"))),
        Err(e) => {
            let missing = e
                .as_service_error()
                .is_some_and(|se| se.is_queue_does_not_exist());
            if missing {
                Err(QueueError::Missing(format!(
                    "SQS queue {name} (create it, or set MQS_AUTO_PROVISION=true)"
                )))
            } else {
                Err(broker(&format!("GetQueueUrl {name}"), e))
            }
        }
    }
}

/// Creates the dead-letter queue and the queue, or brings the attributes of existing ones up to
/// date; returns the queue URL.
async fn provision(client: &Client, s: &SqsSettings) -> Result<String, QueueError> {
    let dlq_url = create_or_get(client, &s.dlq, HashMap::new()).await?;
    let arn = client
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| broker(&format!("GetQueueAttributes {}", s.dlq), e))?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| QueueError::Broker(format!("SQS returned no ARN for {}", s.dlq)))?;
    let attrs: HashMap<QueueAttributeName, String> = [
        (
            QueueAttributeName::RedrivePolicy,
            serde_json::json!({
                "deadLetterTargetArn": arn,
                "maxReceiveCount": s.max_receive_count.to_string(),
            })
            .to_string(),
        ),
        (
            QueueAttributeName::VisibilityTimeout,
            s.visibility_timeout.as_secs().clamp(1, 43_200).to_string(),
        ),
    ]
    .into();
    let url = create_or_get(client, &s.queue, attrs.clone()).await?;
    // An existing queue keeps its old attributes through CreateQueue; set them.
    client
        .set_queue_attributes()
        .queue_url(&url)
        .set_attributes(Some(attrs))
        .send()
        .await
        .map_err(|e| broker(&format!("SetQueueAttributes {}", s.queue), e))?;
    Ok(url)
}

async fn create_or_get(
    client: &Client,
    name: &str,
    attrs: HashMap<QueueAttributeName, String>,
) -> Result<String, QueueError> {
    if let Ok(url) = existing_url(client, name).await {
        return Ok(url);
    }
    let out = client
        .create_queue()
        .queue_name(name)
        .set_attributes((!attrs.is_empty()).then_some(attrs))
        .send()
        .await;
    match out {
        Ok(o) => o
            .queue_url
            .ok_or_else(|| QueueError::Broker(format!("SQS returned no URL for {name}"))),
        // Another replica created it meanwhile.
        Err(e)
            if e.as_service_error()
                .is_some_and(|se| se.is_queue_name_exists()) =>
        {
            existing_url(client, name).await
        }
        Err(e) => Err(broker(&format!("CreateQueue {name}"), e)),
    }
}

#[async_trait::async_trait]
impl Queue for SqsQueue {
    async fn publish(&self, bodies: Vec<Vec<u8>>) -> Result<(), QueueError> {
        for chunk in codec::batches(bodies, BATCH, BATCH_BYTES) {
            self.send_batch(chunk).await?;
        }
        Ok(())
    }

    async fn subscribe(&self, prefetch: usize) -> Result<Box<dyn Subscription>, QueueError> {
        let prefetch = prefetch.max(1);
        let (tx, rx) = mpsc::channel(prefetch);
        let stop = CancellationToken::new();
        let held = Held::default();
        let receiver = Receiver {
            client: self.client.clone(),
            url: self.url.clone(),
            slots: Arc::new(Semaphore::new(prefetch)),
            held: held.clone(),
            deleter: self.deleter.clone(),
            tx,
        };
        tokio::spawn(receiver.run(stop.clone()));
        tokio::spawn(extend_visibility(
            self.client.clone(),
            self.url.clone(),
            self.visibility,
            held,
            stop.clone(),
        ));
        tracing::debug!(queue = %self.name, prefetch, "SQS subscription started.");
        Ok(Box::new(SqsSubscription {
            rx,
            _stop: stop.drop_guard(),
        }))
    }
}

impl SqsQueue {
    /// Sends one batch; entries SQS refuses for a transient reason are sent again (3 tries).
    async fn send_batch(&self, chunk: Vec<Vec<u8>>) -> Result<(), QueueError> {
        let mut pending: Vec<(String, Vec<u8>)> = chunk
            .into_iter()
            .enumerate()
            .map(|(i, b)| (i.to_string(), b))
            .collect();
        for attempt in 1..=3 {
            let entries = pending
                .iter()
                .map(|(id, body)| {
                    let (text, attrs) = codec::encode(body);
                    SendMessageBatchRequestEntry::builder()
                        .id(id)
                        .message_body(text)
                        .set_message_attributes(attrs)
                        .build()
                        .map_err(|e| broker("message", e))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let out = self
                .client
                .send_message_batch()
                .queue_url(&self.url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| broker("SendMessageBatch", e))?;
            let failed = out.failed;
            if failed.is_empty() {
                return Ok(());
            }
            if let Some(f) = failed.iter().find(|f| f.sender_fault) {
                return Err(QueueError::Broker(format!(
                    "SQS refused a message: {} {}",
                    f.code,
                    f.message.as_deref().unwrap_or("")
                )));
            }
            let again: std::collections::HashSet<&str> =
                failed.iter().map(|f| f.id.as_str()).collect();
            pending.retain(|(id, _)| again.contains(id.as_str()));
            tracing::warn!(
                failed = pending.len(),
                attempt,
                "SQS did not take every message of a batch; sending those again."
            );
            tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
        }
        Err(QueueError::Broker(format!(
            "SQS did not take {} message(s) after 3 tries",
            pending.len()
        )))
    }
}

struct Receiver {
    client: Client,
    url: String,
    slots: Arc<Semaphore>,
    held: Held,
    deleter: deleter::Deleter,
    tx: mpsc::Sender<Result<Message, QueueError>>,
}

impl Receiver {
    async fn run(self, stop: CancellationToken) {
        let mut errors: u32 = 0;
        loop {
            // Receive only for free slots: at least one, at most a batch.
            let first = tokio::select! {
                _ = stop.cancelled() => return,
                p = self.slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => return },
            };
            let mut permits = vec![first];
            while permits.len() < BATCH {
                match self.slots.clone().try_acquire_owned() {
                    Ok(p) => permits.push(p),
                    Err(_) => break,
                }
            }
            let want = i32::try_from(permits.len()).unwrap_or(1);
            // Not cut short when the subscription goes away: what it receives is handed back
            // at once below, instead of staying invisible for a whole timeout.
            let received = self
                .client
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(want)
                .wait_time_seconds(WAIT_SECS)
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .message_attribute_names(codec::ENCODING_ATTRIBUTE)
                .send()
                .await;
            if stop.is_cancelled() {
                if let Ok(out) = received {
                    let receipts = out
                        .messages
                        .unwrap_or_default()
                        .into_iter()
                        .filter_map(|m| m.receipt_handle)
                        .collect::<Vec<_>>();
                    release(&self.client, &self.url, &receipts).await;
                }
                return;
            }
            let messages = match received {
                Ok(out) => {
                    errors = 0;
                    out.messages.unwrap_or_default()
                }
                Err(e) => {
                    errors += 1;
                    let err = broker("ReceiveMessage", e);
                    tracing::warn!(error = %err, "SQS receive failed.");
                    if self.tx.send(Err(err)).await.is_err() {
                        return;
                    }
                    // Short: the consumer backs off on the error it was handed; this only spaces
                    // the receives of a subscription that is kept.
                    let backoff = Duration::from_millis(100 * 2u64.pow(errors.min(4)));
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    continue;
                }
            };
            for m in messages {
                let Some(permit) = permits.pop() else { break };
                let Some(receipt) = m.receipt_handle.clone() else {
                    continue;
                };
                let body = match codec::decode(&m) {
                    Ok(b) => b,
                    Err(why) => {
                        tracing::error!(reason = %why, "Undecodable SQS message; leaving it to the dead-letter queue.");
                        continue;
                    }
                };
                let redeliveries = m
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|n| n.parse::<u32>().ok())
                    .map_or(0, |n| n.saturating_sub(1));
                let id = self.held.add(receipt.clone());
                let acker = SqsAcker {
                    client: self.client.clone(),
                    url: self.url.clone(),
                    deleter: self.deleter.clone(),
                    receipt,
                    held: self.held.clone(),
                    id,
                    settled: false,
                    _slot: permit,
                };
                let msg = Message::new(body, redeliveries, Box::new(acker));
                if self.tx.send(Ok(msg)).await.is_err() {
                    // The subscription is gone: the message (dropped unsettled with the send
                    // error) is handed back by its acker; the rest of the batch too, as the
                    // loop goes on.
                    continue;
                }
            }
        }
    }
}

/// Sets the visibility timeout of `receipts` to `secs`, a batch call per 10; `Err` carries the
/// first failure (a message settled meanwhile fails its entry harmlessly, without an error).
async fn change_visibility(
    client: &Client,
    url: &str,
    receipts: &[String],
    secs: i32,
) -> Result<(), QueueError> {
    let mut result = Ok(());
    for chunk in receipts.chunks(BATCH) {
        let entries: Vec<_> = chunk
            .iter()
            .enumerate()
            .filter_map(|(i, r)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(r)
                    .visibility_timeout(secs)
                    .build()
                    .ok()
            })
            .collect();
        if let Err(e) = client
            .change_message_visibility_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            && result.is_ok()
        {
            result = Err(broker("ChangeMessageVisibilityBatch", e));
        }
    }
    result
}

/// Makes received messages visible again at once (nothing will handle them here).
async fn release(client: &Client, url: &str, receipts: &[String]) {
    if let Err(e) = change_visibility(client, url, receipts, 0).await {
        tracing::warn!(error = %e, "Cannot hand back received SQS messages; they come back after their visibility timeout.");
    }
}

/// Keeps the held messages invisible: every third of the timeout, extends them by a full one.
async fn extend_visibility(
    client: Client,
    url: String,
    visibility: Duration,
    held: Held,
    stop: CancellationToken,
) {
    let period = (visibility / 3).max(Duration::from_secs(1));
    let secs = i32::try_from(visibility.as_secs().clamp(1, 43_200)).unwrap_or(30);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(period) => {}
        }
        if let Err(e) = change_visibility(&client, &url, &held.snapshot(), secs).await {
            tracing::warn!(error = %e, "Cannot extend the visibility of held SQS messages.");
        }
    }
}

struct SqsSubscription {
    rx: mpsc::Receiver<Result<Message, QueueError>>,
    _stop: tokio_util::sync::DropGuard,
}

#[async_trait::async_trait]
impl Subscription for SqsSubscription {
    async fn next(&mut self) -> Option<Result<Message, QueueError>> {
        self.rx.recv().await
    }
}

struct SqsAcker {
    client: Client,
    url: String,
    deleter: deleter::Deleter,
    receipt: String,
    held: Held,
    id: u64,
    settled: bool,
    _slot: OwnedSemaphorePermit,
}

/// A message dropped unsettled (its handler or subscription went away) is handed back at once,
/// as a nack: it stops being extended and becomes visible again.
impl Drop for SqsAcker {
    fn drop(&mut self) {
        self.held.remove(self.id);
        if self.settled {
            return;
        }
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let (client, url, receipt) =
                (self.client.clone(), self.url.clone(), self.receipt.clone());
            rt.spawn(async move { release(&client, &url, &[receipt]).await });
        }
    }
}

#[async_trait::async_trait]
impl Acker for SqsAcker {
    async fn ack(mut self: Box<Self>) -> Result<(), QueueError> {
        self.settled = true;
        self.held.remove(self.id);
        self.deleter.delete(std::mem::take(&mut self.receipt)).await
    }

    async fn nack(mut self: Box<Self>) -> Result<(), QueueError> {
        self.settled = true;
        self.held.remove(self.id);
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(&self.receipt)
            .visibility_timeout(0)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| broker("ChangeMessageVisibility", e))
    }
}
