//! The alert state port: consecutive failures per destination (a set of failed attempt ids, so
//! counting is idempotent), the exhausted-retries suppression window, and the replay gate that
//! keeps redelivered log entries from alerting twice.

use crate::StoreError;
use crate::ports::expiring::ExpiringMap;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long failure sets and replay marks live.
pub const STATE_TTL: Duration = Duration::from_secs(24 * 3600);

/// Alert bookkeeping.
#[async_trait::async_trait]
pub trait AlertState: Send + Sync + 'static {
    /// Records a failed attempt; returns the number of consecutive failures.
    async fn record_failure(
        &self,
        tenant_id: &str,
        destination_id: &str,
        attempt_id: &str,
    ) -> Result<u64, StoreError>;
    /// A success: the count starts over.
    async fn reset(&self, tenant_id: &str, destination_id: &str) -> Result<(), StoreError>;
    /// Takes the exhausted-retries window of a destination; false while it is taken
    /// (a zero window never suppresses).
    async fn claim_exhausted_window(
        &self,
        tenant_id: &str,
        destination_id: &str,
        window: Duration,
    ) -> Result<bool, StoreError>;
    /// Whether an attempt's alerts were already handled.
    async fn is_processed(&self, attempt_id: &str) -> Result<bool, StoreError>;
    /// Marks an attempt's alerts handled.
    async fn mark_processed(&self, attempt_id: &str) -> Result<(), StoreError>;
}

#[derive(Default)]
struct Inner {
    failures: HashMap<(String, String), HashSet<String>>,
    windows: HashMap<(String, String), Instant>,
    processed: ExpiringMap<()>,
}

/// In-memory alert state.
#[derive(Default)]
pub struct MemoryAlertState {
    inner: Mutex<Inner>,
}

impl MemoryAlertState {
    /// Empty state.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait::async_trait]
impl AlertState for MemoryAlertState {
    async fn record_failure(&self, t: &str, d: &str, attempt_id: &str) -> Result<u64, StoreError> {
        let mut i = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let set = i
            .failures
            .entry((t.to_string(), d.to_string()))
            .or_default();
        set.insert(attempt_id.to_string());
        Ok(set.len() as u64)
    }

    async fn reset(&self, t: &str, d: &str) -> Result<(), StoreError> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .failures
            .remove(&(t.to_string(), d.to_string()));
        Ok(())
    }

    async fn claim_exhausted_window(
        &self,
        t: &str,
        d: &str,
        window: Duration,
    ) -> Result<bool, StoreError> {
        if window.is_zero() {
            return Ok(true);
        }
        let mut i = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let key = (t.to_string(), d.to_string());
        let now = Instant::now();
        match i.windows.get(&key) {
            Some(until) if *until > now => Ok(false),
            _ => {
                i.windows.insert(key, now + window);
                Ok(true)
            }
        }
    }

    async fn is_processed(&self, attempt_id: &str) -> Result<bool, StoreError> {
        let i = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        Ok(i.processed.contains(attempt_id, Instant::now()))
    }

    async fn mark_processed(&self, attempt_id: &str) -> Result<(), StoreError> {
        let mut i = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        i.processed.insert(attempt_id, (), now + STATE_TTL, now);
        Ok(())
    }
}
