//! The replay gate: a redelivered log entry is not counted or alerted twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use outpost_core::event::{Attempt, AttemptStatus, Event, LogEntry};
use outpost_core::ports::{MemoryAlertState, MemoryTenantStore};
use outpost_core::time::now_ms;
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
    let event: Event = serde_json::from_value(serde_json::json!({
        "id": format!("e{n}"), "tenant_id": "t", "topic": "x", "eligible_for_retry": true,
        "time": "2024-01-01T00:00:00Z", "metadata": {}, "data": {}
    }))
    .unwrap();
    LogEntry {
        attempt: Attempt {
            id: format!("a{n}"),
            tenant_id: "t".into(),
            event_id: event.id.clone(),
            destination_id: "d".into(),
            destination_type: "webhook".into(),
            attempt_number: 1,
            manual: false,
            status: AttemptStatus::Failed,
            time: now_ms(),
            code: "500".into(),
            response_data: None,
            duration_ms: None,
        },
        event,
        destination: None,
        telemetry: None,
    }
}

#[tokio::test]
async fn redelivered_entries_alert_once() {
    let sink = Arc::new(Recorder::default());
    let alerter = Alerter {
        settings: AlertSettings {
            consecutive_failure_count: Some(2),
            auto_disable: false,
            exhausted_window: None,
            max_retries: 10,
        },
        state: Arc::new(MemoryAlertState::new()),
        store: Arc::new(MemoryTenantStore::new()),
        emitter: Emitter::new(
            Some(sink.clone()),
            TopicFilter::parse("*").unwrap(),
            None,
            Default::default(),
        ),
    };
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
