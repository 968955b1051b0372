//! Log entries for the log-service tests.
#![allow(clippy::unwrap_used, dead_code)]

use outpost_core::event::{Attempt, AttemptStatus, Event, LogEntry};
use outpost_core::time::now_ms;

/// Attempt `a{n}` of event `e{n}` (data `{"n": n}`) to destination `d` of tenant `t`.
pub fn entry(n: u32, status: AttemptStatus) -> LogEntry {
    let event: Event = serde_json::from_value(serde_json::json!({
        "id": format!("e{n}"), "tenant_id": "t", "topic": "x", "eligible_for_retry": true,
        "time": "2024-01-01T00:00:00Z", "metadata": {}, "data": {"n": n}
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
            code: match status {
                AttemptStatus::Success => "200".into(),
                AttemptStatus::Failed => "500".into(),
            },
            status,
            time: now_ms(),
            response_data: None,
            duration_ms: None,
        },
        event,
        destination: None,
        telemetry: None,
    }
}
