//! The batch writer: logmq messages to log store batches, ack after commit. A message holds one
//! entry, or several when the delivery service packed them (`outpost_mq::Combining`); the
//! batch size counts entries.

use crate::alerts::Alerter;
use outpost_core::event::LogEntry;
use outpost_core::health::Health;
use outpost_core::ports::{LogStore, Message, Queue, decode_items};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Health worker name, as upstream.
pub const WORKER: &str = "logmq-consumer";

/// When a batch is written.
#[derive(Debug, Clone, Copy)]
pub struct BatchSettings {
    /// Entries per batch.
    pub size: usize,
    /// Longest wait after the first entry of a batch.
    pub threshold: Duration,
}

/// Consumes `queue` into `store` until `shutdown`; the batch in hand is written first.
pub async fn run(
    queue: Arc<dyn Queue>,
    store: Arc<dyn LogStore>,
    alerter: Option<Arc<Alerter>>,
    settings: BatchSettings,
    health: Health,
    shutdown: CancellationToken,
) {
    health.set(WORKER, true);
    let mut failures = 0u32;
    while !shutdown.is_cancelled() {
        // Messages may carry many entries each: a quarter of the batch size in messages keeps
        // batches full without holding a backlog's worth of entries in memory.
        let prefetch = (settings.size / 4).clamp(16, 10_000);
        let mut sub = match queue.subscribe(prefetch).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "Cannot subscribe to logmq.");
                failures += 1;
                health.set(WORKER, failures < 10);
                if sleep_or_stop(Duration::from_secs(1), &shutdown).await {
                    return;
                }
                continue;
            }
        };
        'batches: loop {
            let mut batch = Batch::default();
            // Wait for the first entry without a deadline.
            let first = tokio::select! {
                _ = shutdown.cancelled() => return,
                m = sub.next() => m,
            };
            let mut closed = false;
            match first {
                Some(Ok(m)) => push(&mut batch, m).await,
                _ => break 'batches,
            }
            let deadline = tokio::time::Instant::now() + settings.threshold;
            // The broker sends no more than `prefetch` unacked messages: with them all in hand,
            // waiting longer only delays the write.
            while batch.entries.len() < settings.size && batch.messages.len() < prefetch {
                let next = tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep_until(deadline) => break,
                    m = sub.next() => m,
                };
                match next {
                    Some(Ok(m)) => push(&mut batch, m).await,
                    _ => {
                        closed = true;
                        break;
                    }
                }
            }
            if shutdown.is_cancelled() && !batch.is_empty() {
                tracing::info!(
                    entries = batch.entries.len(),
                    "Writing the batch in hand before stopping."
                );
            }
            if !batch.is_empty()
                && !write(&*store, alerter.as_deref(), batch, &health, &shutdown).await
            {
                return;
            }
            if closed || shutdown.is_cancelled() {
                break 'batches;
            }
        }
        if sleep_or_stop(Duration::from_millis(200), &shutdown).await {
            return;
        }
    }
}

/// Entries to write, and the messages to settle once they are.
#[derive(Default)]
struct Batch {
    entries: Vec<LogEntry>,
    messages: Vec<Message>,
}

impl Batch {
    fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }
}

/// Decodes a message into the batch; an undecodable one is nacked (dead-lettered by the
/// broker's delivery limit) rather than blocking the batch.
async fn push(batch: &mut Batch, m: Message) {
    match decode_items::<LogEntry>(&m.body) {
        Ok(entries) => {
            batch.entries.extend(entries);
            batch.messages.push(m);
        }
        Err(err) => {
            tracing::error!(error = %err, "Undecodable log entry.");
            let _ = m.nack().await;
        }
    }
}

/// Writes one batch, retrying while the store is unavailable: the messages stay unacked on
/// the queue meanwhile (nacking them would spend the broker's delivery limit and dead-letter
/// them during a long outage). Acks after the commit; on shutdown before success, nacks them
/// for redelivery. Returns whether it was written.
async fn write(
    store: &dyn LogStore,
    alerter: Option<&Alerter>,
    batch: Batch,
    health: &Health,
    shutdown: &CancellationToken,
) -> bool {
    let Batch { entries, messages } = batch;
    // One span per traced attempt, a child of its delivery, open until the batch commits.
    let spans: Vec<tracing::Span> = entries
        .iter()
        .filter(|e| e.telemetry.is_some())
        .map(|e| {
            let span = tracing::info_span!(
                "log",
                otel.name = "EventTracer.Log",
                tenant_id = %e.event.tenant_id,
                event_id = %e.event.id,
                attempt_id = %e.attempt.id,
                batch = entries.len(),
            );
            outpost_telemetry::adopt(&span, e.telemetry.as_ref());
            span
        })
        .collect();
    let mut failures = 0u32;
    loop {
        match store.insert(&entries).await {
            Ok(()) => {
                drop(spans);
                let m = outpost_telemetry::metrics::metrics();
                for e in &entries {
                    let status = match e.attempt.status {
                        outpost_core::event::AttemptStatus::Success => "success",
                        outpost_core::event::AttemptStatus::Failed => "failed",
                    };
                    m.logged_attempts.add(
                        1,
                        &outpost_telemetry::metrics::attrs([("status", status.to_string())]),
                    );
                }
                tracing::debug!(entries = entries.len(), "Log batch written.");
                if let Some(a) = alerter.filter(|a| a.active())
                    && let Err(err) = a.evaluate_batch(&entries).await
                {
                    // The batch is stored; redelivery re-evaluates only the entries not yet
                    // marked processed.
                    tracing::error!(error = %err, "Alert evaluation failed; the batch will be redelivered.");
                    settle_all(messages, false).await;
                    return !shutdown.is_cancelled();
                }
                if failures > 0 {
                    tracing::info!(entries = entries.len(), "Log store back; batch written.");
                    health.set(WORKER, true);
                }
                if shutdown.is_cancelled() {
                    tracing::info!(entries = entries.len(), "Last batch written; settling it.");
                }
                settle_all(messages, true).await;
                return true;
            }
            Err(e) => {
                failures += 1;
                tracing::error!(error = %e, entries = entries.len(), attempt = failures, "Cannot write the log batch; retrying.");
                if failures >= 10 {
                    health.set(WORKER, false);
                }
                let wait = Duration::from_millis(200u64.saturating_mul(1 << failures.min(5)));
                if sleep_or_stop(wait, shutdown).await {
                    settle_all(messages, false).await;
                    return false;
                }
            }
        }
    }
}

/// Acks (or nacks) a batch's messages concurrently: on a broker where each settlement is a
/// request (SQS), one after the other makes a large batch slow to finish, and a shutdown wait
/// for it.
async fn settle_all(messages: Vec<Message>, ack: bool) {
    // At most 32 at a time, so a 1,000-entry batch does not open 1,000 connections.
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(32));
    let mut set = tokio::task::JoinSet::new();
    for m in messages {
        let slots = slots.clone();
        set.spawn(async move {
            let _slot = slots.acquire_owned().await;
            if ack { m.ack().await } else { m.nack().await }
        });
    }
    while let Some(r) = set.join_next().await {
        if let Ok(Err(e)) = r {
            tracing::warn!(error = %e, ack, "Cannot settle a logmq message; it will be redelivered and deduplicated.");
        }
    }
}

async fn sleep_or_stop(d: Duration, shutdown: &CancellationToken) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(d) => false,
    }
}
