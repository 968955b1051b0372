//! The retry monitor: moves due retries from the scheduler to deliverymq. It sleeps until the
//! next retry is due (bounded by the poll backoff) instead of polling blindly, and is woken
//! ([`Wake`]) when this process schedules something due before it planned to look again (a
//! deferred task comes back within a second, while the backoff may be 30 s).
//!
//! With the busy lane on, a tenant whose retries and deferrals come due faster than its share
//! (`outpost_core::lanes`, counted in this process) has them queued in the busy lane, so a
//! busy tenant's failing endpoint cannot flood the main lane with retries.

use outpost_core::health::Health;
use outpost_core::ports::{DueRetry, Queue, RetryScheduler};
use outpost_core::time::{Timestamp, now_ms};
use outpost_runtime::infra::BusyLane;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// When the monitor plans to look at the schedule again, and how to wake it sooner.
#[derive(Debug)]
pub struct Wake {
    notify: Notify,
    /// Unix ms of the planned look.
    planned_ms: AtomicI64,
}

impl Default for Wake {
    fn default() -> Self {
        Self {
            notify: Notify::new(),
            planned_ms: AtomicI64::new(i64::MAX),
        }
    }
}

impl Wake {
    /// Tells the monitor that an entry due at `due` was scheduled; it wakes only when that is
    /// before its planned look, so a stream of later entries costs nothing.
    pub fn scheduled(&self, due: Timestamp) {
        if due.timestamp_millis() < self.planned_ms.load(Ordering::Acquire) {
            self.notify.notify_one();
        }
    }

    fn plan(&self, at: Timestamp) {
        self.planned_ms
            .store(at.timestamp_millis(), Ordering::Release);
    }
}

/// Health worker name, as upstream.
pub const WORKER: &str = "retrymq-consumer";
/// Retries moved per round.
pub const BATCH: usize = 500;

/// Runs until `shutdown`. `max_wait` bounds the sleep between rounds; `visibility` hides a
/// claimed retry until it is enqueued (a crash in between makes it due again); `wake` cuts a
/// sleep short.
pub async fn run(
    scheduler: Arc<dyn RetryScheduler>,
    lanes: Lanes,
    max_wait: Duration,
    visibility: Duration,
    wake: Arc<Wake>,
    health: Health,
    shutdown: CancellationToken,
) {
    health.set(WORKER, true);
    let mut errors = 0u32;
    while !shutdown.is_cancelled() {
        let wait = match round(&*scheduler, &lanes, visibility).await {
            Ok(0) => {
                errors = 0;
                health.set(WORKER, true);
                // Until the next due entry is known, anything scheduled before the longest
                // sleep wakes the monitor (an entry added after `next_due` read the schedule).
                wake.plan(now_ms() + chrono::Duration::from_std(max_wait).unwrap_or_default());
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
            wake.plan(now_ms() + chrono::Duration::from_std(wait).unwrap_or_default());
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(wait) => {}
                _ = wake.notify.notified() => {}
            }
        }
    }
}

/// deliverymq and its busy lane, when on.
#[derive(Clone)]
pub struct Lanes {
    /// deliverymq.
    pub main: Arc<dyn Queue>,
    /// The busy lane.
    pub busy: Option<BusyLane>,
}

/// The tenant of a delivery task, read without decoding the rest.
#[derive(serde::Deserialize)]
struct TaskTenant<'a> {
    #[serde(borrow)]
    event: EventTenant<'a>,
}

#[derive(serde::Deserialize)]
struct EventTenant<'a> {
    #[serde(borrow)]
    tenant_id: std::borrow::Cow<'a, str>,
}

/// The payloads of `due` for the main lane and for the busy lane. A payload whose tenant
/// cannot be read goes to the main lane (its consumer reports it).
fn split_lanes(due: &[DueRetry], busy: &BusyLane) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let (mut main, mut lane) = (Vec::new(), Vec::new());
    for d in due {
        let over = serde_json::from_slice::<TaskTenant<'_>>(&d.payload)
            .is_ok_and(|t| busy.takes(&t.event.tenant_id, 1));
        if over {
            lane.push(d.payload.clone());
        } else {
            main.push(d.payload.clone());
        }
    }
    (main, lane)
}

async fn round(
    s: &dyn RetryScheduler,
    lanes: &Lanes,
    visibility: Duration,
) -> Result<usize, String> {
    let due = s
        .claim_due(now_ms(), BATCH, visibility)
        .await
        .map_err(|e| e.to_string())?;
    if due.is_empty() {
        return Ok(0);
    }
    let (main, busy) = match &lanes.busy {
        Some(b) => split_lanes(&due, b),
        None => (due.iter().map(|d| d.payload.clone()).collect(), Vec::new()),
    };
    if !main.is_empty() {
        lanes.main.publish(main).await.map_err(|e| e.to_string())?;
    }
    if let Some(lane) = &lanes.busy
        && !busy.is_empty()
    {
        lane.queue.publish(busy).await.map_err(|e| e.to_string())?;
    }
    // A retry that already ran and scheduled its successor under the same id keeps that entry.
    s.complete(&due).await.map_err(|e| e.to_string())?;
    tracing::debug!(count = due.len(), "Retries enqueued.");
    Ok(due.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use outpost_core::ports::MemoryScheduler;

    /// An entry scheduled while the monitor sleeps a long backoff comes out when it is due,
    /// not when the backoff ends.
    #[tokio::test]
    async fn an_earlier_entry_wakes_the_sleeping_monitor() {
        let scheduler = Arc::new(MemoryScheduler::new());
        let queue = Arc::new(outpost_mq::MemoryQueue::new("deliverymq", 10));
        let mut sub = queue.subscribe(10).await.unwrap();
        let wake = Arc::new(Wake::default());
        let shutdown = CancellationToken::new();
        let monitor = tokio::spawn(run(
            scheduler.clone(),
            Lanes {
                main: queue.clone(),
                busy: None,
            },
            Duration::from_secs(30),
            Duration::from_secs(30),
            wake.clone(),
            Health::new(),
            shutdown.clone(),
        ));
        // The schedule is empty: the monitor goes to sleep for the whole backoff.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let due = now_ms() + chrono::Duration::milliseconds(50);
        scheduler.schedule("r1", due, b"{}".to_vec()).await.unwrap();
        wake.scheduled(due);
        let got = tokio::time::timeout(Duration::from_secs(3), sub.next()).await;
        let message = got.expect("enqueued within 3 s").unwrap().unwrap();
        assert_eq!(message.body, b"{}");
        shutdown.cancel();
        monitor.await.unwrap();
    }

    /// Retries of a tenant over its share go to the busy lane, the others to deliverymq.
    #[tokio::test]
    async fn a_busy_tenants_retries_go_to_the_busy_lane() {
        let scheduler = MemoryScheduler::new();
        let main = Arc::new(outpost_mq::MemoryQueue::new("deliverymq", 100));
        let lane = Arc::new(outpost_mq::MemoryQueue::new("busy", 100));
        let lanes = Lanes {
            main: main.clone(),
            busy: Some(BusyLane {
                queue: lane.clone(),
                meter: Arc::new(outpost_core::lanes::TenantMeter::new(2)),
            }),
        };
        let task = |tenant: &str, n: u32| {
            format!(r#"{{"event":{{"id":"e{n}","tenant_id":"{tenant}","data":{{}}}},"destination_id":"d","attempt":2}}"#)
                .into_bytes()
        };
        let now = now_ms();
        for n in 0..5 {
            let id = format!("busy{n}");
            scheduler.schedule(&id, now, task("busy", n)).await.unwrap();
        }
        scheduler
            .schedule("quiet", now, task("quiet", 9))
            .await
            .unwrap();
        scheduler
            .schedule("odd", now, b"{}".to_vec())
            .await
            .unwrap();
        let moved = round(&scheduler, &lanes, Duration::from_secs(30))
            .await
            .unwrap();
        assert_eq!(moved, 7);
        let take = |q: Arc<outpost_mq::MemoryQueue>| async move {
            let mut sub = q.subscribe(100).await.unwrap();
            let mut tenants = Vec::new();
            while let Ok(Some(Ok(m))) =
                tokio::time::timeout(Duration::from_millis(100), sub.next()).await
            {
                let v: serde_json::Value = serde_json::from_slice(&m.body).unwrap();
                tenants.push(v["event"]["tenant_id"].as_str().unwrap_or("?").to_string());
                m.ack().await.unwrap();
            }
            tenants.sort();
            tenants
        };
        // Two of the busy tenant's five within its share; an unreadable payload stays in
        // the main lane, where its consumer reports it.
        assert_eq!(take(main).await, ["?", "busy", "busy", "quiet"]);
        assert_eq!(take(lane).await, ["busy", "busy", "busy"]);
        assert_eq!(scheduler.next_due().await.unwrap(), None, "all completed");
    }

    #[tokio::test]
    async fn only_entries_due_before_the_planned_look_wake() {
        let wake = Wake::default();
        let at = now_ms() + chrono::Duration::seconds(10);
        wake.plan(at);
        wake.scheduled(at + chrono::Duration::seconds(1));
        let woken = tokio::time::timeout(Duration::from_millis(50), wake.notify.notified()).await;
        assert!(woken.is_err(), "a later entry does not wake the monitor");
        wake.scheduled(at - chrono::Duration::seconds(1));
        let woken = tokio::time::timeout(Duration::from_millis(50), wake.notify.notified()).await;
        assert!(woken.is_ok(), "an earlier entry does");
    }
}
