//! Publishing through a queue the operator owns (`PUBLISH_AWS_SQS_*` or `PUBLISH_RABBITMQ_*`,
//! spec §3.7): each message body is the JSON of `POST /publish` and goes through the same
//! validation, routing, idempotency and enqueueing. Success acks; invalid JSON, a failed
//! validation or an error nacks, so the broker delivers it again (and, past its redelivery
//! limit, dead-letters it, as upstream). At most `PUBLISH_MAX_CONCURRENCY` in flight.

use crate::routes::publish::{parse_event, publish_event};
use crate::state::AppState;
use outpost_core::health::Health;
use outpost_core::ports::Queue;
use outpost_runtime::consume::{Consumer, Settle};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Health worker name, as upstream.
pub const WORKER: &str = "publishmq-consumer";

/// Consumes `queue` until `shutdown`, then drains (at most `grace`).
pub async fn run(
    queue: Arc<dyn Queue>,
    state: AppState,
    concurrency: usize,
    grace: Duration,
    health: Health,
    shutdown: CancellationToken,
) {
    let consumer = Consumer {
        worker: WORKER,
        queue: "publishmq",
        concurrency,
        grace,
    };
    let state = Arc::new(state);
    outpost_runtime::consume::run(queue, consumer, health, shutdown, move |body| {
        let s = state.clone();
        async move { handle(&s, &body).await }
    })
    .await;
}

/// One message: published (ack) or not (nack, with the reason in the log).
pub async fn handle(s: &AppState, body: &[u8]) -> Settle {
    let event = match parse_event(s, body) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!(error = %e, "publishmq: refused message; the broker will deliver it again.");
            return Settle::Nack;
        }
    };
    let id = event.id.clone();
    match publish_event(s, event).await {
        Ok((duplicate, ids)) => {
            tracing::debug!(event_id = %id, duplicate, destinations = ids.len(), "publishmq: published.");
            Settle::Ack
        }
        Err(e) => {
            tracing::warn!(event_id = %id, error = %e, "publishmq: cannot publish; the broker will deliver it again.");
            Settle::Nack
        }
    }
}
