//! The deliverymq consumer: at most `DELIVERY_MAX_CONCURRENCY` deliveries running at once,
//! from twice as many messages in hand. A message carries one task or, when the publisher
//! packed several (`outpost_mq::Combining`), a list of them: its tasks run side by side and
//! it is acked once every one is done, nacked if any is not (a redelivery skips the tasks
//! already done through their idempotency keys). On shutdown it stops pulling and lets
//! in-flight deliveries finish (the loop is [`outpost_runtime::consume`]).
//!
//! A delivery still in flight after the slowness threshold
//! ([`crate::fairness::Fairness::slow_after`]) hands its slot to the next task and waits in a
//! second pool of as many slots: a hanging endpoint's requests cost a socket and a timer, not
//! the CPU a slot stands for, and the slots it would hold (its cap, [`crate::fairness`]) stay
//! with the healthy destinations (seen in `make bench`, isolation case: 8 of 64 slots held by
//! the slow destination for its 5 s answers). At most twice `DELIVERY_MAX_CONCURRENCY`
//! deliveries are thus in flight, half of them slow.

use crate::deliver::{Deliverer, Outcome};
use outpost_core::event::DeliveryTask;
use outpost_core::health::Health;
use outpost_core::ports::{Queue, decode_items};
use outpost_runtime::consume::{Consumer, Settle};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, SemaphorePermit};
use tokio::task::JoinSet;
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
        // Twice as many messages as deliveries: a message held by one slow task (packed
        // with others already done) must not keep the process from pulling more work.
        concurrency: concurrency.max(1) * 2,
        grace,
    };
    // Deliveries running at once, whatever the number of tasks per message.
    let slots = Arc::new(Slots::new(
        concurrency.max(1),
        deliverer.fairness.slow_after(),
    ));
    outpost_runtime::consume::run(queue, consumer, health, shutdown, move |body| {
        let d = deliverer.clone();
        let slots = slots.clone();
        async move {
            let tasks = match decode_items::<DeliveryTask>(&body) {
                Ok(tasks) => tasks,
                Err(e) => {
                    tracing::error!(error = %e, "Undecodable delivery task.");
                    return Settle::Nack;
                }
            };
            if deliver_all(d, slots, tasks).await {
                Settle::Ack
            } else {
                Settle::Nack
            }
        }
    })
    .await;
}

/// Delivery slots: `fresh` for deliveries in flight for less than `slow_after`, `slow` (as
/// many) for those past it.
struct Slots {
    fresh: Semaphore,
    slow: Semaphore,
    slow_after: Duration,
}

impl Slots {
    fn new(concurrency: usize, slow_after: Duration) -> Self {
        Self {
            fresh: Semaphore::new(concurrency),
            slow: Semaphore::new(concurrency),
            slow_after,
        }
    }

    /// Runs `task` in a fresh slot, moved to a slow one if it is still in flight after
    /// `slow_after` and one is free (else it keeps its fresh slot).
    async fn deliver(&self, d: &Deliverer, task: DeliveryTask) -> Outcome {
        let Ok(fresh) = self.fresh.acquire().await else {
            return Outcome::Nack;
        };
        let delivery = d.deliver_one(task);
        tokio::pin!(delivery);
        tokio::select! {
            biased;
            outcome = &mut delivery => return outcome,
            () = tokio::time::sleep(self.slow_after) => {}
        }
        let _held: SemaphorePermit<'_> = match self.slow.try_acquire() {
            Ok(slow) => {
                drop(fresh);
                slow
            }
            Err(_) => fresh,
        };
        delivery.await
    }
}

/// Runs `tasks`, each with a delivery slot; true when every one may be acked. The tasks of a
/// packed message run as tasks of their own (aborted if the message is given up).
async fn deliver_all(d: Arc<Deliverer>, slots: Arc<Slots>, mut tasks: Vec<DeliveryTask>) -> bool {
    if tasks.len() == 1
        && let Some(task) = tasks.pop()
    {
        return slots.deliver(&d, task).await == Outcome::Ack;
    }
    let mut set = JoinSet::new();
    for task in tasks {
        let d = d.clone();
        let slots = slots.clone();
        set.spawn(async move { slots.deliver(&d, task).await });
    }
    let mut all_done = true;
    while let Some(outcome) = set.join_next().await {
        all_done &= matches!(outcome, Ok(Outcome::Ack));
    }
    all_done
}
