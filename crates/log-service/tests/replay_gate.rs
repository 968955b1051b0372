//! The replay gate: a redelivered log entry is not counted or alerted twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use outpost_core::event::{AttemptStatus, LogEntry};
use outpost_core::ports::{MemoryAlertState, MemoryTenantStore};
use outpost_log::alerts::{AlertSettings, Alerter};
use outpost_opevents::{Emitter, OperatorEvent, Sink, SinkError, TopicFilter};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

#[async_trait::async_trait]
impl Sink for Recorder {
    async fn send(&self, event: &OperatorEvent, _body: &[u8]) -> Result<(), SinkError> {
        self.0.lock().unwrap().push(event.topic.clone());
        Ok(())
    }
    fn name(&self) -> &'static str {
        "recorder"
    }
}

fn failed(n: u32) -> LogEntry {
    common::entry(n, AttemptStatus::Failed)
}

/// Alerts at 2 consecutive failures on `state`, sending the `topics` events to `sink`.
fn alerter(
    state: Arc<dyn outpost_core::ports::AlertState>,
    sink: Arc<Recorder>,
    topics: &str,
) -> Alerter {
    Alerter {
        settings: AlertSettings {
            consecutive_failure_count: Some(2),
            auto_disable: false,
            exhausted_window: None,
            max_retries: 10,
        },
        state,
        store: Arc::new(MemoryTenantStore::new()),
        emitter: Emitter::new(
            Some(sink),
            TopicFilter::parse(topics).unwrap(),
            None,
            Default::default(),
        ),
    }
}

#[tokio::test]
async fn redelivered_entries_alert_once() {
    let sink = Arc::new(Recorder::default());
    let alerter = alerter(Arc::new(MemoryAlertState::new()), sink.clone(), "*");
    let (a, b) = (failed(1), failed(2));
    alerter.evaluate(&a).await.unwrap();
    alerter.evaluate(&a).await.unwrap(); // redelivery
    alerter.evaluate(&b).await.unwrap();
    alerter.evaluate(&b).await.unwrap(); // redelivery
    let topics = sink.0.lock().unwrap().clone();
    // Threshold 2: the 50 % level is the first failure, 100 % the second; redeliveries add nothing.
    assert_eq!(
        topics,
        vec![
            "attempt.failed",
            "alert.destination.consecutive_failure",
            "attempt.failed",
            "alert.destination.consecutive_failure"
        ]
    );
}

/// Counts resets, passing everything to the memory state.
struct CountingState {
    inner: MemoryAlertState,
    resets: Mutex<u32>,
}

#[async_trait::async_trait]
impl outpost_core::ports::AlertState for CountingState {
    async fn record_failure(
        &self,
        t: &str,
        d: &str,
        a: &str,
    ) -> Result<u64, outpost_core::StoreError> {
        self.inner.record_failure(t, d, a).await
    }
    async fn reset(&self, t: &str, d: &str) -> Result<(), outpost_core::StoreError> {
        *self.resets.lock().unwrap() += 1;
        self.inner.reset(t, d).await
    }
    async fn claim_exhausted_window(
        &self,
        t: &str,
        d: &str,
        w: std::time::Duration,
    ) -> Result<bool, outpost_core::StoreError> {
        self.inner.claim_exhausted_window(t, d, w).await
    }
    async fn is_processed(&self, a: &str) -> Result<bool, outpost_core::StoreError> {
        self.inner.is_processed(a).await
    }
    async fn mark_processed(&self, a: &str) -> Result<(), outpost_core::StoreError> {
        self.inner.mark_processed(a).await
    }
}

fn succeeded(n: u32) -> LogEntry {
    common::entry(n, AttemptStatus::Success)
}

/// A batch resets a destination's count once per run of successes, and counts the failures
/// in order as one entry at a time would.
#[tokio::test]
async fn a_batch_resets_once_per_run_of_successes() {
    let sink = Arc::new(Recorder::default());
    let state = Arc::new(CountingState {
        inner: MemoryAlertState::new(),
        resets: Mutex::new(0),
    });
    // Only alerts go out: attempt.success events would need each success evaluated.
    let alerter = alerter(
        state.clone(),
        sink.clone(),
        "alert.destination.consecutive_failure",
    );
    let batch = vec![
        failed(1),
        succeeded(2),
        succeeded(3),
        succeeded(4),
        failed(5),
        succeeded(6),
        succeeded(7),
        failed(8),
        failed(9),
    ];
    alerter.evaluate_batch(&batch).await.unwrap();
    assert_eq!(
        *state.resets.lock().unwrap(),
        2,
        "one reset per run of successes"
    );
    let topics = sink.0.lock().unwrap().clone();
    // Failures 1 and 5 each follow a reset (count 1: the 50 % alert); 8 and 9 reach 100 %.
    assert_eq!(
        topics,
        vec![
            "alert.destination.consecutive_failure",
            "alert.destination.consecutive_failure",
            "alert.destination.consecutive_failure",
            "alert.destination.consecutive_failure"
        ]
    );
}
