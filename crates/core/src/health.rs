//! Worker health as reported by `/healthz`: each long-running worker registers under its
//! upstream name (`http-server`, `deliverymq-consumer`, ...) and flips to failed when it dies.
//! The process is also marked draining once shutdown begins, which `/readyz` reports.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Shared registry of worker states.
#[derive(Debug, Clone, Default)]
pub struct Health {
    workers: Arc<Mutex<BTreeMap<String, bool>>>,
    draining: Arc<AtomicBool>,
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

    /// Marks the process as shutting down: it takes no new work and should get no traffic.
    pub fn set_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Whether shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Whether every worker is healthy.
    pub fn all_healthy(&self) -> bool {
        self.snapshot().values().all(|h| *h)
    }
}
