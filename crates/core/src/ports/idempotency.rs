//! The idempotency port: a key is claimed as `processing` for a short time while work runs,
//! then marked `processed` for a TTL; a failed run releases it (spec §3.4, §4.1 step 3).

use crate::StoreError;
use crate::ports::expiring::ExpiringMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// State of a key when claiming it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The caller now owns the key and must mark or release it.
    Acquired,
    /// Work for the key already completed.
    Processed,
    /// Someone else is working on it.
    Processing,
}

/// How long a `processing` claim lives if its owner dies (upstream's 5 s). Work that can take
/// longer, such as a delivery with its timeout, renews its claims while it runs
/// ([`Idempotency::renew`]), so a claim outlives a dead owner by this at most and a live one
/// never expires under it.
pub const PROCESSING_TTL: Duration = Duration::from_secs(5);

/// Idempotency keys.
#[async_trait::async_trait]
pub trait Idempotency: Send + Sync + 'static {
    /// How long a claim lives before another worker may take the key.
    fn processing_ttl(&self) -> Duration {
        PROCESSING_TTL
    }
    /// Claims `key` (SET NX `processing` for [`Self::processing_ttl`]), or reports its state.
    async fn claim(&self, key: &str) -> Result<Claim, StoreError>;
    /// Reads the state of `key` (`None` = free).
    async fn state(&self, key: &str) -> Result<Option<Claim>, StoreError>;
    /// Marks `key` processed for `ttl`.
    async fn mark_processed(&self, key: &str, ttl: Duration) -> Result<(), StoreError>;
    /// Frees `key` after a failed run.
    async fn release(&self, key: &str) -> Result<(), StoreError>;
    /// Gives the keys of `keys` that are still `processing` another [`Self::processing_ttl`]
    /// (processed and free keys are left as they are), in one round trip; how many it renewed.
    async fn renew(&self, keys: &[String]) -> Result<usize, StoreError>;
}

/// In-memory idempotency keys (expired keys are dropped when read, and swept as the map
/// grows: [`ExpiringMap`]).
pub struct MemoryIdempotency {
    /// `true` when processed, `false` while processing.
    keys: Mutex<ExpiringMap<bool>>,
    processing_ttl: Duration,
}

impl Default for MemoryIdempotency {
    fn default() -> Self {
        Self {
            keys: Mutex::default(),
            processing_ttl: PROCESSING_TTL,
        }
    }
}

impl MemoryIdempotency {
    /// An empty key space.
    pub fn new() -> Self {
        Self::default()
    }

    /// Claims last `ttl` instead of [`PROCESSING_TTL`].
    pub fn with_processing_ttl(mut self, ttl: Duration) -> Self {
        self.processing_ttl = ttl;
        self
    }

    fn keys(&self) -> std::sync::MutexGuard<'_, ExpiringMap<bool>> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn state_of(processed: bool) -> Claim {
    if processed {
        Claim::Processed
    } else {
        Claim::Processing
    }
}

#[async_trait::async_trait]
impl Idempotency for MemoryIdempotency {
    fn processing_ttl(&self) -> Duration {
        self.processing_ttl
    }

    async fn claim(&self, key: &str) -> Result<Claim, StoreError> {
        let now = Instant::now();
        let mut m = self.keys();
        if let Some(state) = m.get(key, now).map(|p| state_of(*p)) {
            return Ok(state);
        }
        m.insert(key, false, now + self.processing_ttl, now);
        Ok(Claim::Acquired)
    }

    async fn state(&self, key: &str) -> Result<Option<Claim>, StoreError> {
        Ok(self.keys().get(key, Instant::now()).map(|p| state_of(*p)))
    }

    async fn mark_processed(&self, key: &str, ttl: Duration) -> Result<(), StoreError> {
        let now = Instant::now();
        self.keys().insert(key, true, now + ttl, now);
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        self.keys().remove(key);
        Ok(())
    }

    async fn renew(&self, keys: &[String]) -> Result<usize, StoreError> {
        let now = Instant::now();
        let mut m = self.keys();
        let mut renewed = 0;
        for key in keys {
            if m.get(key, now) == Some(&false) {
                m.insert(key, false, now + self.processing_ttl, now);
                renewed += 1;
            }
        }
        Ok(renewed)
    }
}
