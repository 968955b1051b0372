//! The fault suite's webhook sink: counts deliveries per event id with the time of the first,
//! and can hang (answer nothing until the sender gives up) on demand.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What arrived.
#[derive(Default)]
pub struct Arrivals {
    /// Deliveries per event id, and when the first came.
    pub by_id: HashMap<String, (u32, Instant)>,
}

/// A running sink.
#[derive(Clone)]
pub struct FaultSink {
    arrivals: Arc<Mutex<Arrivals>>,
    hang: Arc<AtomicBool>,
    /// `127.0.0.1:<port>`.
    pub addr: std::net::SocketAddr,
}

impl FaultSink {
    /// Starts on a free loopback port.
    pub async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let sink = Self {
            arrivals: Arc::default(),
            hang: Arc::default(),
            addr: listener.local_addr()?,
        };
        let app = Router::new()
            .route("/hook", post(hook))
            .with_state(sink.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(sink)
    }

    /// Hang every request (`true`) or answer 200 again.
    pub fn set_hang(&self, on: bool) {
        self.hang.store(on, Ordering::SeqCst);
    }

    /// (distinct events, deliveries beyond the first of an event).
    pub fn counts(&self) -> (usize, u64) {
        let a = self.lock();
        let dup = a.by_id.values().map(|(n, _)| u64::from(n - 1)).sum();
        (a.by_id.len(), dup)
    }

    /// When `id` was first delivered.
    pub fn first(&self, id: &str) -> Option<Instant> {
        self.lock().by_id.get(id).map(|(_, t)| *t)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Arrivals> {
        self.arrivals
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

async fn hook(State(s): State<FaultSink>, headers: HeaderMap) -> StatusCode {
    if s.hang.load(Ordering::SeqCst) {
        // Longer than any delivery timeout of the run: the attempt fails as a timeout.
        tokio::time::sleep(Duration::from_secs(120)).await;
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    if let Some(id) = headers
        .get(crate::sink::EVENT_ID_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        let mut a = s.lock();
        let e = a.by_id.entry(id.to_string()).or_insert((0, Instant::now()));
        e.0 += 1;
    }
    StatusCode::OK
}
