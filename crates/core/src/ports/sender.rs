//! The destination port: the I/O that delivers one event to one destination and reports the
//! attempt's outcome in Outpost's terms (status, code, response data, spec §2.4). Each
//! destination type implements [`Sender`]; the delivery service picks one by type.

use crate::destination::Destination;
use crate::event::{AttemptStatus, Event};
use crate::time::Timestamp;
use serde_json::{Value, json};

/// What one send produced.
#[derive(Debug, Clone, PartialEq)]
pub enum SendResult {
    /// An attempt to record (success or failure).
    Attempt {
        /// Outcome.
        status: AttemptStatus,
        /// HTTP status as a string, `OK`, or an error class.
        code: String,
        /// Type-specific detail.
        response_data: Option<Value>,
    },
    /// Our own infrastructure failed (e.g. the forward proxy): no attempt is recorded and the
    /// task is redelivered, so the customer's retry budget is not charged.
    NoAttempt(String),
}

impl SendResult {
    /// A successful attempt with code `OK` and `response_data`.
    pub fn ok(response_data: Value) -> Self {
        SendResult::Attempt {
            status: AttemptStatus::Success,
            code: "OK".into(),
            response_data: Some(response_data),
        }
    }

    /// A failed attempt with an error message (`{"error": ...}`).
    pub fn failed(code: &str, error: impl Into<String>) -> Self {
        SendResult::Attempt {
            status: AttemptStatus::Failed,
            code: code.into(),
            response_data: Some(json!({"error": error.into()})),
        }
    }

    /// The attempt code, if this is an attempt.
    pub fn code(&self) -> Option<&str> {
        match self {
            SendResult::Attempt { code, .. } => Some(code),
            SendResult::NoAttempt(_) => None,
        }
    }

    /// Whether this is a successful attempt.
    pub fn is_success(&self) -> bool {
        matches!(
            self,
            SendResult::Attempt {
                status: AttemptStatus::Success,
                ..
            }
        )
    }
}

/// Delivers events to destinations of one type.
#[async_trait::async_trait]
pub trait Sender: Send + Sync {
    /// Sends `event` to `dest`; `now` is the attempt time (used for signatures and metadata).
    async fn send(&self, dest: &Destination, event: &Event, now: Timestamp) -> SendResult;
}

/// The sender for types this build cannot deliver to: records a failed attempt saying so
/// (the event is kept and retried on schedule, so nothing is lost).
pub struct Unsupported;

#[async_trait::async_trait]
impl Sender for Unsupported {
    async fn send(&self, dest: &Destination, _event: &Event, _now: Timestamp) -> SendResult {
        SendResult::failed(
            "ERR",
            format!(
                "delivery to {} destinations is not supported by this build",
                dest.kind
            ),
        )
    }
}
