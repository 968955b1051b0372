//! Worker health as reported by `/healthz`: each long-running worker registers under its
//! upstream name (`http-server`, `deliverymq-consumer`, ...) and flips to failed when it dies.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Shared registry of worker states.
#[derive(Debug, Clone, Default)]
pub struct Health {
    workers: Arc<Mutex<BTreeMap<String, bool>>>,
}

impl Health {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks `worker` healthy or failed.
    pub fn set(&self, worker: &str, healthy: bool) {
        self.workers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(worker.to_string(), healthy);
    }

    /// A snapshot: worker name to healthy.
    pub fn snapshot(&self) -> BTreeMap<String, bool> {
        self.workers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Whether every worker is healthy.
    pub fn all_healthy(&self) -> bool {
        self.snapshot().values().all(|h| *h)
    }
}
