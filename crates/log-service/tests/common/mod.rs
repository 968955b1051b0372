//! Log entries for the log-service tests.
#![allow(clippy::unwrap_used, dead_code)]

use outpost_core::event::{AttemptStatus, LogEntry};
use outpost_core::time::{now_ms, parse_rfc3339};
use outpost_test_support::log_store_suite::{attempt, entry as log_entry, event};

/// Attempt `a{n}` of event `e{n}` (data `{"n": n}`) to destination `d` of tenant `t`.
pub fn entry(n: u32, status: AttemptStatus) -> LogEntry {
    let time = parse_rfc3339("2024-01-01T00:00:00Z").unwrap();
    let e = event(
        "t",
        &format!("e{n}"),
        "x",
        time,
        &[],
        &format!(r#"{{"n":{n}}}"#),
    );
    let a = attempt(&e, &format!("a{n}"), "d", 1, status, now_ms());
    log_entry(&e, &a)
}
