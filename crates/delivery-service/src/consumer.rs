//! The deliverymq consumer: pulls tasks with at most `DELIVERY_MAX_CONCURRENCY` in flight,
//! acks or nacks each as [`Deliverer::deliver_one`] decides, and on shutdown stops pulling and
//! lets in-flight deliveries finish (the loop is [`outpost_runtime::consume`]).

use crate::deliver::{Deliverer, Outcome};
use outpost_core::event::DeliveryTask;
use outpost_core::health::Health;
use outpost_core::ports::Queue;
use outpost_runtime::consume::{Consumer, Settle};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Health worker name, as upstream.
pub const WORKER: &str = "deliverymq-consumer";

/// Runs until `shutdown`, then waits for in-flight deliveries (at most `grace`).
pub async fn run(
    queue: Arc<dyn Queue>,
    deliverer: Arc<Deliverer>,
    concurrency: usize,
    grace: std::time::Duration,
    health: Health,
    shutdown: CancellationToken,
) {
    let consumer = Consumer {
        worker: WORKER,
        queue: "deliverymq",
        concurrency,
        grace,
    };
    outpost_runtime::consume::run(queue, consumer, health, shutdown, move |body| {
        let d = deliverer.clone();
        async move {
            match serde_json::from_slice::<DeliveryTask>(&body) {
                Ok(task) => match d.deliver_one(task).await {
                    Outcome::Ack => Settle::Ack,
                    Outcome::Nack => Settle::Nack,
                },
                Err(e) => {
                    tracing::error!(error = %e, "Undecodable delivery task.");
                    Settle::Nack
                }
            }
        }
    })
    .await;
}
