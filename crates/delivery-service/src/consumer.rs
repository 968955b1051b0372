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
//!
//! The idempotency claims of the deliveries in flight are renewed while they run, so a
//! delivery longer than the claim's TTL (upstream's 5 s) is not sent a second time by a
//! redelivered copy alongside it; those given up when the grace runs out are released before
//! the consumer returns, so their redelivered copies go out at once.
//!
//! With the busy lane on (`outpost_core::lanes`), a second consumer takes the busy lane's
//! messages and its tasks take a slot only when no main-lane task is waiting for one: a
//! quiet tenant's task waits at most for one busy-lane task ahead of it, not for the busy
//! lane's backlog, and the busy lane has every slot the main lane leaves.
//!
//! The tasks of a packed message become tasks of their own only as they can soon run: each
//! lane has at most three times `DELIVERY_MAX_CONCURRENCY` of them started and unfinished
//! (as many as the fresh and slow slots hold, and as many again waiting for a fresh one);
//! the rest wait in their message as JSON text, decoded when they start. A started task holds
//! its whole delivery's state (the request, the signature, the HTTP exchange), a few KiB, and
//! a decoded task its strings one allocation each (in a fan-out, each carries every matched
//! destination's id): 128 messages of 32 tasks in hand would otherwise be 4,096 of them.
//! A task that does not decode fails its message (nacked, dead-lettered after its
//! redeliveries) without holding back the others.

use crate::deliver::{Deliverer, Outcome};
use outpost_core::event::DeliveryTask;
use outpost_core::health::Health;
use outpost_core::lanes::Lane;
use outpost_core::ports::{Queue, decode_items};
use outpost_runtime::consume::{Consumer, Settle};
use serde_json::value::RawValue;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, SemaphorePermit};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Health worker name, as upstream.
pub const WORKER: &str = "deliverymq-consumer";

/// Health worker name of the busy lane's consumer (ours).
pub const BUSY_WORKER: &str = "deliverymq-busy-consumer";

/// Runs until `shutdown`, then waits for in-flight deliveries (at most `grace`).
pub async fn run(
    queue: Arc<dyn Queue>,
    busy_lane: Option<Arc<dyn Queue>>,
    deliverer: Arc<Deliverer>,
    concurrency: usize,
    grace: std::time::Duration,
    health: Health,
    shutdown: CancellationToken,
) {
    // Deliveries running at once, whatever the number of tasks per message and the lane.
    let slots = Arc::new(Slots::new(
        concurrency.max(1),
        deliverer.fairness.slow_after(),
    ));
    let consumer = |worker, queue| Consumer {
        worker,
        queue,
        // Twice as many messages as deliveries: a message held by one slow task (packed
        // with others already done) must not keep the process from pulling more work.
        concurrency: concurrency.max(1) * 2,
        grace,
    };
    let main = lane(
        queue,
        consumer(WORKER, "deliverymq"),
        Lane::Main,
        deliverer.clone(),
        slots.clone(),
        health.clone(),
        shutdown.clone(),
    );
    let lanes = async {
        match busy_lane {
            Some(busy) => {
                let busy = lane(
                    busy,
                    consumer(BUSY_WORKER, "deliverymq-busy"),
                    Lane::Busy,
                    deliverer.clone(),
                    slots,
                    health,
                    shutdown,
                );
                tokio::join!(main, busy);
            }
            None => main.await,
        }
    };
    tokio::select! {
        () = lanes => {}
        () = deliverer.keep_claims() => {}
    }
    // Every delivery has finished, or was given up when the grace ran out.
    deliverer.release_abandoned().await;
}

/// Consumes one lane until shutdown.
async fn lane(
    queue: Arc<dyn Queue>,
    consumer: Consumer,
    lane: Lane,
    deliverer: Arc<Deliverer>,
    slots: Arc<Slots>,
    health: Health,
    shutdown: CancellationToken,
) {
    outpost_runtime::consume::run(queue, consumer, health, shutdown, move |body| {
        let d = deliverer.clone();
        let slots = slots.clone();
        async move {
            // Split into the tasks' JSON texts, each decoded when it starts.
            let tasks = match decode_items::<Box<RawValue>>(&body) {
                Ok(tasks) => tasks,
                Err(e) => {
                    tracing::error!(error = %e, "Undecodable deliverymq message: not a task or a list of tasks.");
                    return Settle::Nack;
                }
            };
            drop(body);
            if deliver_all(d, slots, lane, tasks).await {
                Settle::Ack
            } else {
                Settle::Nack
            }
        }
    })
    .await;
}

/// Delivery slots: `fresh` for deliveries in flight for less than `slow_after`, `slow` (as
/// many) for those past it. A busy-lane task queues for `busy_turn` (one at a time) before
/// it queues for a fresh slot, so at most one of them is ahead of a main-lane task there.
/// `started_main` and `started_busy` bound each lane's tasks started and unfinished (one
/// budget per lane, so a main-lane task never queues for it behind the busy lane's backlog).
struct Slots {
    fresh: Semaphore,
    slow: Semaphore,
    busy_turn: Semaphore,
    started_main: Arc<Semaphore>,
    started_busy: Arc<Semaphore>,
    slow_after: Duration,
}

impl Slots {
    fn new(concurrency: usize, slow_after: Duration) -> Self {
        let started = || Arc::new(Semaphore::new(concurrency.saturating_mul(3)));
        Self {
            fresh: Semaphore::new(concurrency),
            slow: Semaphore::new(concurrency),
            busy_turn: Semaphore::new(1),
            started_main: started(),
            started_busy: started(),
            slow_after,
        }
    }

    /// Leave to start one more task of `lane`; `None` once the slots are closed.
    async fn start(&self, lane: Lane) -> Option<OwnedSemaphorePermit> {
        let budget = match lane {
            Lane::Main => &self.started_main,
            Lane::Busy => &self.started_busy,
        };
        budget.clone().acquire_owned().await.ok()
    }

    /// A fresh slot for a task of `lane`; `None` once the slots are closed.
    async fn fresh(&self, lane: Lane) -> Option<SemaphorePermit<'_>> {
        match lane {
            Lane::Main => self.fresh.acquire().await.ok(),
            Lane::Busy => {
                let _turn = self.busy_turn.acquire().await.ok()?;
                self.fresh.acquire().await.ok()
            }
        }
    }

    /// Runs `task` in a fresh slot, moved to a slow one if it is still in flight after
    /// `slow_after` and one is free (else it keeps its fresh slot).
    async fn deliver(&self, d: &Deliverer, lane: Lane, task: DeliveryTask) -> Outcome {
        let Some(fresh) = self.fresh(lane).await else {
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
/// packed message run as tasks of their own (aborted if the message is given up), started
/// as the lane's budget allows.
async fn deliver_all(
    d: Arc<Deliverer>,
    slots: Arc<Slots>,
    lane: Lane,
    mut tasks: Vec<Box<RawValue>>,
) -> bool {
    if tasks.len() == 1
        && let Some(task) = tasks.pop()
    {
        return match decode(&task) {
            Some(task) => slots.deliver(&d, lane, task).await == Outcome::Ack,
            None => false,
        };
    }
    let mut set = JoinSet::new();
    let mut all_done = true;
    for raw in tasks {
        let Some(started) = slots.start(lane).await else {
            all_done = false;
            break;
        };
        // A task that does not decode keeps the message from being acked (it is
        // dead-lettered after its redeliveries); the others go on.
        let Some(task) = decode(&raw) else {
            all_done = false;
            continue;
        };
        drop(raw);
        let d = d.clone();
        let slots = slots.clone();
        set.spawn(async move {
            let outcome = slots.deliver(&d, lane, task).await;
            drop(started);
            outcome
        });
    }
    while let Some(outcome) = set.join_next().await {
        all_done &= matches!(outcome, Ok(Outcome::Ack));
    }
    all_done
}

/// One task of a message, decoded; `None` (logged) if it does not decode.
fn decode(raw: &RawValue) -> Option<DeliveryTask> {
    serde_json::from_str(raw.get())
        .inspect_err(
            |e| tracing::error!(error = %e, "Undecodable delivery task in a deliverymq message."),
        )
        .ok()
}
