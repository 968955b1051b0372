//! The retry scheduler port: at most one pending retry per id (scheduling again replaces it),
//! ordered by due time; the monitor claims due entries for a visibility timeout, enqueues them
//! and then removes them (spec §4.3). Removal after a claim is conditional: an entry scheduled
//! again meanwhile (the enqueued retry already ran, failed and scheduled the next one under the
//! same id) is kept.

use crate::StoreError;
use crate::time::Timestamp;
use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

/// A due retry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueRetry {
    /// Schedule id (`<event_id>:<destination_id>`).
    pub id: String,
    /// The payload given to `schedule`.
    pub payload: Vec<u8>,
}

/// Delayed retries.
#[async_trait::async_trait]
pub trait RetryScheduler: Send + Sync + 'static {
    /// Schedules (or replaces) `id` to become due at `due`.
    async fn schedule(&self, id: &str, due: Timestamp, payload: Vec<u8>) -> Result<(), StoreError>;
    /// Removes a pending retry (no-op when absent).
    async fn cancel(&self, id: &str) -> Result<(), StoreError>;
    /// Claims up to `max` entries due at `now`, hiding them for `visibility` so that a crash
    /// before [`Self::complete`] makes them due again.
    async fn claim_due(
        &self,
        now: Timestamp,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<DueRetry>, StoreError>;
    /// Removes claimed entries once their retries are enqueued, each only while it still holds
    /// the claimed payload (an entry scheduled again since the claim stays).
    async fn complete(&self, done: &[DueRetry]) -> Result<(), StoreError>;
    /// When the next entry becomes due, if any.
    async fn next_due(&self) -> Result<Option<Timestamp>, StoreError>;
    /// Brings the entries among `ids` that are due after `due` forward to it (absent ids and
    /// earlier entries are left alone), in one round trip; how many moved.
    async fn advance(&self, ids: &[String], due: Timestamp) -> Result<usize, StoreError>;
}

/// The retry schedule id of an (event, destination) pair.
pub fn retry_id(event_id: &str, destination_id: &str) -> String {
    format!("{event_id}:{destination_id}")
}

#[derive(Default)]
struct Inner {
    order: BTreeSet<(i64, String)>,
    entries: HashMap<String, (i64, Vec<u8>)>,
}

/// In-memory scheduler.
#[derive(Default)]
pub struct MemoryScheduler {
    inner: Mutex<Inner>,
}

impl MemoryScheduler {
    /// An empty scheduler.
    pub fn new() -> Self {
        Self::default()
    }

    fn set(inner: &mut Inner, id: &str, at: i64, payload: Vec<u8>) {
        if let Some((old, _)) = inner.entries.get(id) {
            inner.order.remove(&(*old, id.to_string()));
        }
        inner.order.insert((at, id.to_string()));
        inner.entries.insert(id.to_string(), (at, payload));
    }
}

#[async_trait::async_trait]
impl RetryScheduler for MemoryScheduler {
    async fn schedule(&self, id: &str, due: Timestamp, payload: Vec<u8>) -> Result<(), StoreError> {
        let mut i = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        Self::set(&mut i, id, due.timestamp_millis(), payload);
        Ok(())
    }

    async fn cancel(&self, id: &str) -> Result<(), StoreError> {
        let mut i = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, _)) = i.entries.remove(id) {
            i.order.remove(&(at, id.to_string()));
        }
        Ok(())
    }

    async fn claim_due(
        &self,
        now: Timestamp,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<DueRetry>, StoreError> {
        let mut i = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let now_ms = now.timestamp_millis();
        let due: Vec<(i64, String)> = i
            .order
            .iter()
            .take_while(|(at, _)| *at <= now_ms)
            .take(max)
            .cloned()
            .collect();
        let hidden_until = now_ms + i64::try_from(visibility.as_millis()).unwrap_or(i64::MAX / 2);
        let mut out = Vec::with_capacity(due.len());
        for (_, id) in due {
            let payload = i
                .entries
                .get(&id)
                .map(|(_, p)| p.clone())
                .unwrap_or_default();
            Self::set(&mut i, &id, hidden_until, payload.clone());
            out.push(DueRetry { id, payload });
        }
        Ok(out)
    }

    async fn complete(&self, done: &[DueRetry]) -> Result<(), StoreError> {
        let mut i = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        for d in done {
            if let Some((at, payload)) = i.entries.get(&d.id)
                && *payload == d.payload
            {
                let at = *at;
                i.entries.remove(&d.id);
                i.order.remove(&(at, d.id.clone()));
            }
        }
        Ok(())
    }

    async fn advance(&self, ids: &[String], due: Timestamp) -> Result<usize, StoreError> {
        let mut i = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let due_ms = due.timestamp_millis();
        let mut moved = 0;
        for id in ids {
            let Some((at, payload)) = i.entries.get(id) else {
                continue;
            };
            if *at > due_ms {
                let payload = payload.clone();
                Self::set(&mut i, id, due_ms, payload);
                moved += 1;
            }
        }
        Ok(moved)
    }

    async fn next_due(&self) -> Result<Option<Timestamp>, StoreError> {
        let i = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        Ok(i.order
            .iter()
            .next()
            .map(|(at, _)| crate::time::from_unix_ms(*at)))
    }
}
