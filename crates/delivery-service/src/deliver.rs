//! One delivery task, start to finish (spec §4.1): load the destination, skip deleted or
//! disabled ones, take a delivery slot or defer the task when its destination is slow and at
//! its cap ([`crate::fairness`]), claim the attempt's idempotency key, send with the delivery
//! timeout, schedule or cancel the retry, publish the attempt to logmq, and say whether to ack.

use crate::fairness::{Fairness, Slot};
use crate::sender::{SendResult, Sender, Unsupported};
use crate::tracked::{Deferred, HeldClaims};
use outpost_core::destination::Destination;
use outpost_core::event::{Attempt, AttemptStatus, DeliveryTask, LogEntryRef};
use outpost_core::ids::IdGen;
use outpost_core::ports::{
    Claim, DestinationLookup, Idempotency, Queue, RetryScheduler, TenantStore, retry_id,
};
use outpost_core::retry::RetryPolicy;
use outpost_core::time::now_ms;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::Instrument;

/// Tries of a log entry's publish before the task is given up (waits 0.25, 0.5, 1 and 2 s).
const LOG_PUBLISH_TRIES: u32 = 5;
/// The first wait between those tries; it doubles.
const LOG_PUBLISH_FIRST_WAIT: Duration = Duration::from_millis(250);

/// What to do with the queue message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Done (delivered, failed and recorded, or nothing to do).
    Ack,
    /// Not done: redeliver later.
    Nack,
}

/// Everything a delivery needs.
pub struct Deliverer {
    /// Destinations.
    pub store: Arc<dyn TenantStore>,
    /// Attempt idempotency (`idempotency:deliverymq:`).
    pub idempotency: Arc<dyn Idempotency>,
    /// How long a done attempt is remembered.
    pub idempotency_ttl: Duration,
    /// Retry schedule.
    pub scheduler: Arc<dyn RetryScheduler>,
    /// Where attempts go.
    pub logmq: Arc<dyn Queue>,
    /// Senders by destination type.
    pub senders: HashMap<String, Arc<dyn Sender>>,
    /// Retry policy.
    pub policy: RetryPolicy,
    /// Timeout of one attempt.
    pub timeout: Duration,
    /// Attempt ids.
    pub idgen: IdGen,
    /// Slots per destination: a slow destination at its cap has its tasks deferred.
    pub fairness: Arc<Fairness>,
    /// Wakes this process's retry monitor for a deferral due before it planned to look.
    pub wake: Arc<crate::retry_monitor::Wake>,
    /// The attempt keys this process has claimed and not yet settled.
    pub held: HeldClaims,
    /// The tasks this process deferred while their destination was slow.
    pub deferred: Deferred,
}

impl Deliverer {
    fn sender(&self, kind: &str) -> Arc<dyn Sender> {
        self.senders
            .get(kind)
            .cloned()
            .unwrap_or_else(|| Arc::new(Unsupported))
    }

    /// Runs one task, in a span that continues the trace the task carries.
    pub async fn deliver_one(&self, task: DeliveryTask) -> Outcome {
        let span = tracing::info_span!(
            "delivery",
            otel.name = "EventTracer.Deliver",
            tenant_id = %task.event.tenant_id,
            destination_id = %task.destination_id,
            event_id = %task.event.id,
            attempt = task.attempt,
            destination_type = tracing::field::Empty,
            code = tracing::field::Empty,
        );
        outpost_telemetry::adopt(&span, task.telemetry.as_ref());
        if task.attempt == 1
            && !task.manual
            && let Some(received) = task.telemetry.as_ref().and_then(|t| t.received_time)
        {
            let m = outpost_telemetry::metrics::metrics();
            m.queue_lag.record(
                outpost_telemetry::metrics::ms_since(received),
                &outpost_telemetry::metrics::attrs([("queue", "deliverymq".to_string())]),
            );
        }
        self.run(task).instrument(span).await
    }

    async fn run(&self, task: DeliveryTask) -> Outcome {
        let dest = match self
            .store
            .get_destination(&task.event.tenant_id, &task.destination_id)
            .await
        {
            Ok(DestinationLookup::Found(d)) => d,
            Ok(DestinationLookup::Deleted) => return Outcome::Ack,
            Ok(DestinationLookup::NotFound) => {
                tracing::warn!("Destination not found; the task will be redelivered.");
                return Outcome::Nack;
            }
            Err(e) => {
                tracing::error!(error = %e, "Cannot load the destination.");
                return Outcome::Nack;
            }
        };
        if dest.disabled_at.is_some() {
            return Outcome::Ack;
        }
        let key = task.idempotency_key();
        let slot_key = slot_key(&task);
        let _slot = match self.slot_and_claim(&task, &slot_key, &key).await {
            Ok(slot) => slot,
            Err(outcome) => return outcome,
        };
        let started = Instant::now();
        let outcome = self.attempt(&task, &dest).await;
        if started.elapsed() < self.fairness.slow_after() {
            self.bring_forward(&slot_key).await;
        }
        let settled = match outcome {
            Ok(()) => self
                .idempotency
                .mark_processed(&key, self.idempotency_ttl)
                .await
                .map(|_| Outcome::Ack),
            Err(()) => self.idempotency.release(&key).await.map(|_| Outcome::Nack),
        };
        self.held.settle(&key);
        settled.unwrap_or_else(|e| {
            tracing::error!(error = %e, "Cannot settle the delivery idempotency key.");
            // The attempt is recorded; the key expires on its own.
            if outcome.is_ok() {
                Outcome::Ack
            } else {
                Outcome::Nack
            }
        })
    }

    /// Renews the claims of the deliveries in flight, a third of the claim's TTL apart, until
    /// dropped: a claim lives as long as its delivery (however long `DELIVERY_TIMEOUT_SECONDS`)
    /// and, when its holder dies, at most the TTL (upstream's 5 s) longer.
    pub async fn keep_claims(&self) {
        let every = (self.idempotency.processing_ttl() / 3).max(Duration::from_millis(100));
        loop {
            tokio::time::sleep(every).await;
            let keys = self.held.snapshot();
            if keys.is_empty() {
                continue;
            }
            if let Err(e) = self.idempotency.renew(&keys).await {
                tracing::warn!(
                    error = %e,
                    claims = keys.len(),
                    "Cannot renew the idempotency claims of the deliveries in flight; a redelivered copy may be sent alongside."
                );
            }
        }
    }

    /// Releases the claims of the deliveries given up at shutdown (see [`HeldClaims`]); the
    /// number released. Call once every delivery has finished or been dropped.
    pub async fn release_abandoned(&self) -> usize {
        let keys = self.held.take();
        let mut released = 0;
        for key in &keys {
            match self.idempotency.release(key).await {
                Ok(()) => released += 1,
                Err(e) => tracing::warn!(
                    error = %e,
                    "Cannot release the claim of a delivery given up; its redelivery waits for the claim to expire."
                ),
            }
        }
        if !keys.is_empty() {
            tracing::info!(
                released,
                abandoned = keys.len(),
                "Released the idempotency claims of the deliveries given up at shutdown."
            );
        }
        released
    }

    /// A delivery slot for the task's destination and the claim of its attempt's key, or the
    /// outcome when the task does not run now. The slot comes first: a task deferred because
    /// its destination is saturated costs no claim and release (a copy delivered meanwhile is
    /// acked on its return, through its key). A key held by another worker is waited for
    /// without a slot: only the send counts towards a destination's slowness.
    async fn slot_and_claim(
        &self,
        task: &DeliveryTask,
        slot_key: &str,
        key: &str,
    ) -> Result<Slot, Outcome> {
        let slot = match self.fairness.try_acquire(slot_key, Instant::now()) {
            Ok(slot) => slot,
            Err(after) => return Err(self.defer(task, after).await),
        };
        let claimed = match self.idempotency.claim(key).await {
            Ok(Claim::Processing) => {
                drop(slot);
                self.claim(key).await
            }
            Ok(Claim::Acquired) => {
                self.held.hold(key);
                return Ok(slot);
            }
            other => other,
        };
        match claimed {
            Ok(Claim::Acquired) => self.held.hold(key),
            Ok(Claim::Processed) => return Err(Outcome::Ack),
            Ok(Claim::Processing) => return Err(Outcome::Nack),
            Err(e) => {
                tracing::error!(error = %e, "Cannot claim the delivery idempotency key.");
                return Err(Outcome::Nack);
            }
        }
        match self.fairness.try_acquire(slot_key, Instant::now()) {
            Ok(slot) => Ok(slot),
            Err(after) => {
                let deferred = self.defer(task, after).await;
                if let Err(e) = self.idempotency.release(key).await {
                    tracing::warn!(error = %e, "Cannot release the delivery idempotency key.");
                }
                self.held.settle(key);
                Err(deferred)
            }
        }
    }

    /// Claims the attempt's key. A key held by another worker (as long as its delivery runs,
    /// renewing the claim, or the claim's TTL after that worker died) is waited for rather than
    /// nacked at once, so a redelivery storm cannot exhaust the broker's delivery limit.
    async fn claim(&self, key: &str) -> Result<Claim, outpost_core::StoreError> {
        let deadline = tokio::time::Instant::now()
            + self.timeout.max(self.idempotency.processing_ttl())
            + Duration::from_secs(10);
        loop {
            match self.idempotency.claim(key).await? {
                Claim::Processing if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                other => return Ok(other),
            }
        }
    }

    /// Brings the tasks this process deferred for `slot_key`'s destination forward to now: it
    /// has just answered quickly, so they need not wait for the due times they got while it
    /// was slow (up to a minute out).
    async fn bring_forward(&self, slot_key: &str) {
        let ids = self.deferred.take(slot_key);
        if ids.is_empty() {
            return;
        }
        let now = now_ms();
        match self.scheduler.advance(&ids, now).await {
            Ok(0) => {}
            Ok(moved) => {
                self.wake.scheduled(now);
                tracing::info!(
                    destination = slot_key,
                    tasks = moved,
                    "Destination answering quickly again; its deferred tasks are due now."
                );
            }
            Err(e) => tracing::warn!(
                error = %e,
                destination = slot_key,
                "Cannot bring deferred tasks forward; they come back at their due times."
            ),
        }
    }

    /// Puts `task` back on the retry schedule `after` from now without attempting it (its
    /// destination is saturated). `Nack` when the schedule cannot take it.
    pub async fn defer(&self, task: &DeliveryTask, after: Duration) -> Outcome {
        // Unique per deferral: the same task deferred again while the retry monitor has yet to
        // complete its previous entry would otherwise be deleted by that completion (same id,
        // same payload), and lost.
        let id = format!(
            "{}:defer:{}{}:{}",
            retry_id(&task.event.id, &task.destination_id),
            task.attempt,
            if task.manual { ":manual" } else { "" },
            self.idgen.attempt()
        );
        let due = now_ms() + chrono::Duration::from_std(after).unwrap_or_default();
        let scheduled = match serde_json::to_vec(task) {
            Ok(payload) => self
                .scheduler
                .schedule(&id, due, payload)
                .await
                .map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        match scheduled {
            Ok(()) => {
                self.deferred.add(&slot_key(task), id);
                self.wake.scheduled(due);
                tracing::debug!(
                    tenant_id = %task.event.tenant_id,
                    destination_id = %task.destination_id,
                    event_id = %task.event.id,
                    "Destination saturated by slow deliveries; task deferred."
                );
                Outcome::Ack
            }
            Err(e) => {
                tracing::warn!(error = %e, "Cannot defer a task; the broker will redeliver it.");
                Outcome::Nack
            }
        }
    }

    /// Sends, schedules the retry and records the attempt. `Err` means nothing durable
    /// happened and the task must be redelivered.
    async fn attempt(&self, task: &DeliveryTask, dest: &Destination) -> Result<(), ()> {
        let now = now_ms();
        let started = Instant::now();
        let sender = self.sender(&dest.kind);
        let m = outpost_telemetry::metrics::metrics();
        m.in_flight.add(1, &[]);
        let result =
            match tokio::time::timeout(self.timeout, sender.send(dest, &task.event, now)).await {
                Ok(r) => r,
                Err(_) => SendResult::Attempt {
                    status: AttemptStatus::Failed,
                    code: "timeout".into(),
                    response_data: None,
                },
            };
        m.in_flight.add(-1, &[]);
        let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let (status, code, response_data) = match result {
            SendResult::Attempt {
                status,
                code,
                response_data,
            } => (status, code, response_data),
            SendResult::NoAttempt(why) => {
                tracing::warn!(reason = %why, "Delivery not attempted; the task will be redelivered.");
                return Err(());
            }
        };
        let rid = retry_id(&task.event.id, &task.destination_id);
        if status == AttemptStatus::Failed
            && task.event.eligible_for_retry
            && self.policy.should_retry(task.attempt)
        {
            let next = DeliveryTask {
                version: DeliveryTask::VERSION,
                event: task.event.clone(),
                destination_id: task.destination_id.clone(),
                attempt: task.attempt + 1,
                manual: false,
                telemetry: task.telemetry.clone(),
            };
            let delay = self.policy.delay_after(task.attempt);
            let due = now
                + chrono::Duration::from_std(delay).unwrap_or_else(|_| chrono::Duration::days(365));
            let payload = serde_json::to_vec(&next)
                .map_err(|e| tracing::error!(error = %e, "Cannot encode the retry."))?;
            self.scheduler
                .schedule(&rid, due, payload)
                .await
                .map_err(|e| tracing::error!(error = %e, "Cannot schedule the retry."))?;
        } else if task.manual {
            // A manual attempt replaces any pending automatic retry.
            self.scheduler
                .cancel(&rid)
                .await
                .map_err(|e| tracing::error!(error = %e, "Cannot cancel the pending retry."))?;
        }
        let attempt = Attempt {
            id: self.idgen.attempt(),
            tenant_id: task.event.tenant_id.clone(),
            event_id: task.event.id.clone(),
            destination_id: dest.id.clone(),
            destination_type: dest.kind.clone(),
            attempt_number: task.attempt,
            manual: task.manual,
            status,
            time: now,
            code,
            response_data,
            duration_ms: Some(duration_ms),
        };
        let status_text = match attempt.status {
            AttemptStatus::Success => "success",
            AttemptStatus::Failed => "failed",
        };
        if outpost_telemetry::traces_enabled() {
            // For the exported span; the log lines below carry both fields themselves.
            let span = tracing::Span::current();
            span.record("destination_type", dest.kind.as_str());
            span.record("code", attempt.code.as_str());
        }
        m.delivered_events.add(
            1,
            &outpost_telemetry::metrics::attrs([
                ("type", dest.kind.clone()),
                ("status", status_text.to_string()),
            ]),
        );
        if let Some(received) = task.telemetry.as_ref().and_then(|t| t.received_time) {
            m.delivery_latency.record(
                outpost_telemetry::metrics::ms_since(received),
                &outpost_telemetry::metrics::attrs([("type", dest.kind.clone())]),
            );
        }
        // One line per delivery: at debug when it succeeded (at info, formatting it cost a
        // sixth of the delivery service's CPU in `make bench`), at info when it failed.
        let took_ms = started.elapsed().as_millis() as u64;
        if attempt.status == AttemptStatus::Success {
            tracing::debug!(status = status_text, code = %attempt.code, destination_type = %dest.kind, duration_ms = took_ms, "Delivery attempted.");
        } else {
            tracing::info!(status = status_text, code = %attempt.code, destination_type = %dest.kind, duration_ms = took_ms, "Delivery attempted.");
        }
        let telemetry = outpost_telemetry::current();
        let entry = LogEntryRef {
            event: &task.event,
            attempt: &attempt,
            destination: Some(dest),
            telemetry: telemetry.as_ref(),
        };
        let body = serde_json::to_vec(&entry)
            .map_err(|e| tracing::error!(error = %e, "Cannot encode the log entry."))?;
        self.publish_log(body).await
    }

    /// Publishes a log entry, trying again for a few seconds: the send has been made, and a
    /// task given up here is redelivered and sent again (a duplicate at the destination), so
    /// a broker restart is waited out. The same entry published twice (its confirm lost) is
    /// one attempt: the log store keys attempts by id.
    async fn publish_log(&self, mut body: Vec<u8>) -> Result<(), ()> {
        let mut wait = LOG_PUBLISH_FIRST_WAIT;
        for attempt in 1..=LOG_PUBLISH_TRIES {
            let last = attempt == LOG_PUBLISH_TRIES;
            let message = if last {
                std::mem::take(&mut body)
            } else {
                body.clone()
            };
            match self.logmq.publish(vec![message]).await {
                Ok(()) => return Ok(()),
                Err(e) if last => {
                    tracing::error!(error = %e, "Cannot publish the attempt to logmq; the task will be redelivered.");
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "Cannot publish the attempt to logmq; trying again.");
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
            }
        }
        Err(())
    }
}

/// The fairness and deferral key of `task`'s destination: `tenant/destination`.
fn slot_key(task: &DeliveryTask) -> String {
    format!("{}/{}", task.event.tenant_id, task.destination_id)
}
