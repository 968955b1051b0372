//! The idempotency port: a key is claimed as `processing` for a short time while work runs,
//! then marked `processed` for a TTL; a failed run releases it (spec §3.4, §4.1 step 3).

use crate::StoreError;
use std::collections::HashMap;
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

/// How long a `processing` claim lives if its owner dies (upstream's 5 s; work that can take
/// longer, such as a delivery with its timeout, must use a longer claim, see
/// [`Idempotency::processing_ttl`]).
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
}

/// In-memory idempotency keys (expired keys are dropped lazily).
pub struct MemoryIdempotency {
    keys: Mutex<HashMap<String, (bool, Instant)>>,
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

    fn live(map: &mut HashMap<String, (bool, Instant)>, key: &str) -> Option<Claim> {
        match map.get(key) {
            Some((_, until)) if *until <= Instant::now() => {
                map.remove(key);
                None
            }
            Some((true, _)) => Some(Claim::Processed),
            Some((false, _)) => Some(Claim::Processing),
            None => None,
        }
    }
}

#[async_trait::async_trait]
impl Idempotency for MemoryIdempotency {
    fn processing_ttl(&self) -> Duration {
        self.processing_ttl
    }

    async fn claim(&self, key: &str) -> Result<Claim, StoreError> {
        let mut m = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() > 100_000 {
            let now = Instant::now();
            m.retain(|_, (_, until)| *until > now);
        }
        match Self::live(&mut m, key) {
            Some(state) => Ok(state),
            None => {
                m.insert(
                    key.to_string(),
                    (false, Instant::now() + self.processing_ttl),
                );
                Ok(Claim::Acquired)
            }
        }
    }

    async fn state(&self, key: &str) -> Result<Option<Claim>, StoreError> {
        let mut m = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        Ok(Self::live(&mut m, key))
    }

    async fn mark_processed(&self, key: &str, ttl: Duration) -> Result<(), StoreError> {
        let mut m = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        m.insert(key.to_string(), (true, Instant::now() + ttl));
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        self.keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
        Ok(())
    }
}
