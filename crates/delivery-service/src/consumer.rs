//! The deliverymq consumer: pulls tasks with at most `DELIVERY_MAX_CONCURRENCY` in flight,
//! acks or nacks each as [`Deliverer::deliver_one`] decides, and on shutdown stops pulling and
//! lets in-flight deliveries finish.

use crate::deliver::{Deliverer, Outcome};
use outpost_core::event::DeliveryTask;
use outpost_core::health::Health;
use outpost_core::ports::Queue;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Health worker name, as upstream.
pub const WORKER: &str = "deliverymq-consumer";
/// Consecutive receive errors after which the worker reports failed.
pub const MAX_CONSECUTIVE_ERRORS: u32 = 10;

/// Runs until `shutdown`, then waits for in-flight deliveries (at most `grace`).
pub async fn run(
    queue: Arc<dyn Queue>,
    deliverer: Arc<Deliverer>,
    concurrency: usize,
    grace: std::time::Duration,
    health: Health,
    shutdown: CancellationToken,
) {
    let concurrency = concurrency.max(1);
    let permits = Arc::new(Semaphore::new(concurrency));
    let tracker = TaskTracker::new();
    let mut errors: u32 = 0;
    health.set(WORKER, true);
    'outer: while !shutdown.is_cancelled() {
        let mut sub = match queue.subscribe(concurrency).await {
            Ok(s) => s,
            Err(e) => {
                errors += 1;
                tracing::error!(error = %e, "Cannot subscribe to deliverymq.");
                if errors >= MAX_CONSECUTIVE_ERRORS {
                    health.set(WORKER, false);
                }
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
            let msg = match msg {
                Some(Ok(m)) => m,
                Some(Err(e)) => {
                    errors += 1;
                    tracing::error!(error = %e, "deliverymq receive failed; resubscribing.");
                    if errors >= MAX_CONSECUTIVE_ERRORS {
                        health.set(WORKER, false);
                    }
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
                health.set(WORKER, true);
            }
            let d = deliverer.clone();
            tracker.spawn(async move {
                let outcome = match serde_json::from_slice::<DeliveryTask>(&msg.body) {
                    Ok(task) => d.deliver_one(task).await,
                    Err(e) => {
                        tracing::error!(error = %e, "Undecodable delivery task.");
                        Outcome::Nack
                    }
                };
                let settled = match outcome {
                    Outcome::Ack => msg.ack().await,
                    Outcome::Nack => msg.nack().await,
                };
                if let Err(e) = settled {
                    tracing::warn!(error = %e, "Cannot settle a deliverymq message; the broker will redeliver it.");
                }
                drop(permit);
            });
        }
    }
    tracker.close();
    tracing::info!(in_flight = tracker.len(), "Draining deliveries.");
    outpost_runtime::drain_within("deliveries", grace, tracker.wait()).await;
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
