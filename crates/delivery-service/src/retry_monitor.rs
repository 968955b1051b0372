//! The retry monitor: moves due retries from the scheduler to deliverymq. It sleeps until the
//! next retry is due (bounded by the poll backoff) instead of polling blindly.

use outpost_core::health::Health;
use outpost_core::ports::{Queue, RetryScheduler};
use outpost_core::time::now_ms;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Health worker name, as upstream.
pub const WORKER: &str = "retrymq-consumer";
/// Retries moved per round.
pub const BATCH: usize = 500;

/// Runs until `shutdown`. `max_wait` bounds the sleep between rounds; `visibility` hides a
/// claimed retry until it is enqueued (a crash in between makes it due again).
pub async fn run(
    scheduler: Arc<dyn RetryScheduler>,
    deliverymq: Arc<dyn Queue>,
    max_wait: Duration,
    visibility: Duration,
    health: Health,
    shutdown: CancellationToken,
) {
    health.set(WORKER, true);
    let mut errors = 0u32;
    while !shutdown.is_cancelled() {
        let wait = match round(&*scheduler, &*deliverymq, visibility).await {
            Ok(0) => {
                errors = 0;
                health.set(WORKER, true);
                match scheduler.next_due().await {
                    Ok(Some(at)) => (at - now_ms())
                        .to_std()
                        .unwrap_or(Duration::ZERO)
                        .clamp(Duration::from_millis(10), max_wait),
                    Ok(None) => max_wait,
                    Err(_) => max_wait,
                }
            }
            Ok(_) => Duration::ZERO,
            Err(e) => {
                errors += 1;
                tracing::error!(error = %e, "Retry monitor round failed.");
                if errors >= 10 {
                    health.set(WORKER, false);
                }
                Duration::from_millis(200 * u64::from(errors.min(50)))
            }
        };
        if wait > Duration::ZERO {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(wait) => {}
            }
        }
    }
}

async fn round(
    s: &dyn RetryScheduler,
    q: &dyn Queue,
    visibility: Duration,
) -> Result<usize, String> {
    let due = s
        .claim_due(now_ms(), BATCH, visibility)
        .await
        .map_err(|e| e.to_string())?;
    if due.is_empty() {
        return Ok(0);
    }
    q.publish(due.iter().map(|d| d.payload.clone()).collect())
        .await
        .map_err(|e| e.to_string())?;
    // A retry that already ran and scheduled its successor under the same id keeps that entry.
    s.complete(&due).await.map_err(|e| e.to_string())?;
    tracing::debug!(count = due.len(), "Retries enqueued.");
    Ok(due.len())
}
