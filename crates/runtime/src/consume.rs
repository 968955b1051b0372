//! The queue consumer loop the services share (deliverymq in the delivery service, the publish
//! queue in the api service): at most `concurrency` messages in flight, each handed to the
//! handler and acked or nacked as it decides; receive errors back off 200 ms · 2^n (at most
//! 15 s) and resubscribe, and after [`MAX_CONSECUTIVE_ERRORS`] the worker reports failed in
//! `/healthz` until a message comes through again. On shutdown it stops pulling and waits for
//! the messages in flight, at most `grace`; what is still in flight then is given up and its
//! message nacked, so the broker hands it to another consumer at once (instead of after a
//! visibility timeout, on SQS).

use outpost_core::health::Health;
use outpost_core::ports::Queue;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Consecutive receive errors after which the worker reports failed.
pub const MAX_CONSECUTIVE_ERRORS: u32 = 10;

/// What to do with a handled message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// Done: remove it.
    Ack,
    /// Not done: the broker delivers it again.
    Nack,
}

/// One consumer's settings.
#[derive(Debug, Clone)]
pub struct Consumer {
    /// Health worker name (upstream's, e.g. `deliverymq-consumer`).
    pub worker: &'static str,
    /// The queue's name in log lines (`deliverymq`, `publishmq`).
    pub queue: &'static str,
    /// Messages in flight at most.
    pub concurrency: usize,
    /// Longest wait for the messages in flight after shutdown.
    pub grace: Duration,
}

/// Runs until `shutdown`, then drains.
pub async fn run<H, F>(
    queue: Arc<dyn Queue>,
    c: Consumer,
    health: Health,
    shutdown: CancellationToken,
    handle: H,
) where
    H: Fn(Vec<u8>) -> F + Send + Sync + 'static,
    F: Future<Output = Settle> + Send + 'static,
{
    let concurrency = c.concurrency.max(1);
    let permits = Arc::new(Semaphore::new(concurrency));
    let tracker = TaskTracker::new();
    let handle = Arc::new(handle);
    let abandon = CancellationToken::new();
    let mut errors: u32 = 0;
    let failed = |errors: u32| {
        if errors >= MAX_CONSECUTIVE_ERRORS {
            health.set(c.worker, false);
        }
    };
    health.set(c.worker, true);
    'outer: while !shutdown.is_cancelled() {
        let mut sub = match queue.subscribe(concurrency).await {
            Ok(s) => s,
            Err(e) => {
                errors += 1;
                tracing::error!(error = %e, queue = c.queue, "Cannot subscribe.");
                failed(errors);
                if backoff(errors, &shutdown).await {
                    break;
                }
                continue;
            }
        };
        loop {
            let permit = tokio::select! {
                _ = shutdown.cancelled() => break 'outer,
                p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break 'outer },
            };
            let msg = tokio::select! {
                _ = shutdown.cancelled() => break 'outer,
                m = sub.next() => m,
            };
            let mut msg = match msg {
                Some(Ok(m)) => m,
                Some(Err(e)) => {
                    errors += 1;
                    tracing::error!(error = %e, queue = c.queue, "Receive failed; resubscribing.");
                    failed(errors);
                    if backoff(errors, &shutdown).await {
                        break 'outer;
                    }
                    break;
                }
                None => {
                    if backoff(1, &shutdown).await {
                        break 'outer;
                    }
                    break;
                }
            };
            if errors > 0 {
                errors = 0;
                health.set(c.worker, true);
            }
            let handle = handle.clone();
            let queue_name = c.queue;
            let abandoned = abandon.clone();
            tracker.spawn(async move {
                let body = std::mem::take(&mut msg.body);
                let outcome = tokio::select! {
                    o = handle(body) => o,
                    _ = abandoned.cancelled() => Settle::Nack,
                };
                let settled = match outcome {
                    Settle::Ack => msg.ack().await,
                    Settle::Nack => msg.nack().await,
                };
                if let Err(e) = settled {
                    tracing::warn!(error = %e, queue = queue_name, "Cannot settle a message; the broker will redeliver it.");
                }
                drop(permit);
            });
        }
    }
    tracker.close();
    tracing::info!(in_flight = tracker.len(), queue = c.queue, "Draining.");
    if tokio::time::timeout(c.grace, tracker.wait()).await.is_err() {
        tracing::warn!(
            in_flight = tracker.len(),
            queue = c.queue,
            grace_secs = c.grace.as_secs(),
            "Still in flight after SHUTDOWN_GRACE_SECONDS; giving them up and handing their messages back to the broker."
        );
        abandon.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(5), tracker.wait()).await;
    }
}

/// Sleeps 200 ms · 2^(n-1), at most 15 s; true when shutdown came first.
async fn backoff(n: u32, shutdown: &CancellationToken) -> bool {
    let ms = 200u64
        .saturating_mul(1 << n.saturating_sub(1).min(10))
        .min(15_000);
    tokio::select! {
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(Duration::from_millis(ms)) => false,
    }
}
