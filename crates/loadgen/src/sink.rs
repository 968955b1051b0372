//! The HTTP sink the destinations point at (`POST /hook/{index}` on 127.0.0.1), and the
//! per-run record of publish send times and delivery arrival times.
//!
//! Every measured event id is `<prefix><seq>`; the sink records, per (seq, path), the arrival
//! time of the first delivery and how many arrived. Other ids (warm-up) are only counted.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;

/// Header carrying the event id (Outpost's default webhook mode).
pub const EVENT_ID_HEADER: &str = "x-outpost-event-id";

/// Send and arrival times of one run, in µs since `base` (+1, so 0 means "none").
pub struct Recorder {
    base: Instant,
    /// Prefix of measured event ids.
    pub prefix: String,
    /// Events of the run.
    pub events: usize,
    /// Sink paths (destinations).
    pub paths: usize,
    /// Publish send time per seq (first attempt); 0 = not published (yet, or failed).
    pub sent: Vec<AtomicU64>,
    first: Vec<AtomicU64>,
    counts: Vec<AtomicU32>,
    /// Distinct (event, path) deliveries.
    pub unique: AtomicU64,
    /// Distinct deliveries to the paths other than the slow one.
    pub healthy: AtomicU64,
    /// Deliveries beyond the first of an (event, path).
    pub duplicates: AtomicU64,
    /// Deliveries of other ids (warm-up, strays).
    pub other: AtomicU64,
    slow: Option<(usize, Duration)>,
}

impl Recorder {
    /// A record for `events` events to `paths` paths; `slow` delays one path's answers.
    pub fn new(
        prefix: String,
        events: usize,
        paths: usize,
        slow: Option<(usize, Duration)>,
    ) -> Self {
        let n = events * paths;
        Self {
            base: Instant::now(),
            prefix,
            events,
            paths,
            sent: (0..events).map(|_| AtomicU64::new(0)).collect(),
            first: (0..n).map(|_| AtomicU64::new(0)).collect(),
            counts: (0..n).map(|_| AtomicU32::new(0)).collect(),
            unique: AtomicU64::new(0),
            healthy: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            other: AtomicU64::new(0),
            slow,
        }
    }

    /// Now, in µs since the base (+1).
    pub fn now_us(&self) -> u64 {
        self.base.elapsed().as_micros() as u64 + 1
    }

    /// The slow path, if any.
    pub fn slow_path(&self) -> Option<usize> {
        self.slow.map(|s| s.0)
    }

    /// Records one arrival; true when it is a measured delivery.
    pub fn arrive(&self, event_id: Option<&str>, path: usize) -> bool {
        let now = self.now_us();
        let seq = event_id
            .and_then(|id| id.strip_prefix(self.prefix.as_str()))
            .and_then(|s| s.parse::<usize>().ok())
            .filter(|&s| s < self.events && path < self.paths);
        let Some(seq) = seq else {
            self.other.fetch_add(1, Ordering::Relaxed);
            return false;
        };
        let slot = seq * self.paths + path;
        if self.counts[slot].fetch_add(1, Ordering::AcqRel) == 0 {
            self.first[slot].store(now, Ordering::Release);
            self.unique.fetch_add(1, Ordering::Relaxed);
            if self.slow_path() != Some(path) {
                self.healthy.fetch_add(1, Ordering::Relaxed);
            }
        } else {
            self.duplicates.fetch_add(1, Ordering::Relaxed);
        }
        true
    }

    /// Arrival time of (seq, path), µs since the base (+1), 0 if none.
    pub fn arrival(&self, seq: usize, path: usize) -> u64 {
        self.first[seq * self.paths + path].load(Ordering::Acquire)
    }

    /// Deliveries of (seq, path).
    #[cfg(test)]
    pub fn count(&self, seq: usize, path: usize) -> u32 {
        self.counts[seq * self.paths + path].load(Ordering::Acquire)
    }
}

async fn hook(
    State(r): State<Arc<Recorder>>,
    Path(path): Path<usize>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let id = headers.get(EVENT_ID_HEADER).and_then(|v| v.to_str().ok());
    let measured = r.arrive(id, path);
    drop(body);
    if measured
        && let Some((slow, delay)) = r.slow
        && slow == path
    {
        tokio::time::sleep(delay).await;
    }
    StatusCode::OK
}

/// A running sink.
pub struct Sink {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Sink {
    /// Starts a sink on a free loopback port recording into `r`.
    pub async fn start(r: Arc<Recorder>) -> anyhow::Result<Sink> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .route("/hook/{path}", post(hook))
            .with_state(r);
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Sink {
            base: format!("http://{addr}"),
            stop,
            task,
        })
    }

    /// URL of destination `i`.
    pub fn url(&self, i: usize) -> String {
        format!("{}/hook/{i}", self.base)
    }

    /// Stops the sink (open connections are dropped after a short grace period).
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let mut task = self.task;
        if tokio::time::timeout(Duration::from_secs(2), &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_first_arrival_and_duplicates() {
        let r = Recorder::new("p-".into(), 3, 2, None);
        assert!(r.arrive(Some("p-1"), 1));
        assert!(r.arrive(Some("p-1"), 1));
        assert!(r.arrive(Some("p-2"), 0));
        assert!(!r.arrive(Some("w-1"), 0));
        assert!(!r.arrive(Some("p-9"), 0));
        assert!(!r.arrive(Some("p-1"), 5));
        assert!(!r.arrive(None, 0));
        assert_eq!(r.unique.load(Ordering::Relaxed), 2);
        assert_eq!(
            r.healthy.load(Ordering::Relaxed),
            2,
            "no slow path: all healthy"
        );
        assert_eq!(r.duplicates.load(Ordering::Relaxed), 1);
        assert_eq!(r.other.load(Ordering::Relaxed), 4);
        assert_eq!(r.count(1, 1), 2);
        assert!(r.arrival(1, 1) > 0);
        assert_eq!(r.arrival(0, 0), 0);
    }

    #[tokio::test]
    async fn serves_and_delays_only_measured_slow_deliveries() -> anyhow::Result<()> {
        let r = Arc::new(Recorder::new(
            "p-".into(),
            2,
            2,
            Some((1, Duration::from_millis(300))),
        ));
        let sink = Sink::start(r.clone()).await?;
        let c = reqwest::Client::builder().no_proxy().build()?;
        let t = Instant::now();
        let s = c
            .post(sink.url(1))
            .header(EVENT_ID_HEADER, "w-0")
            .body("{}")
            .send()
            .await?;
        assert_eq!(s.status(), 200);
        assert!(
            t.elapsed() < Duration::from_millis(300),
            "warm-up not delayed"
        );
        let t = Instant::now();
        c.post(sink.url(1))
            .header(EVENT_ID_HEADER, "p-0")
            .body("{}")
            .send()
            .await?;
        assert!(t.elapsed() >= Duration::from_millis(300));
        c.post(sink.url(0))
            .header(EVENT_ID_HEADER, "p-1")
            .body("{}")
            .send()
            .await?;
        assert_eq!(r.unique.load(Ordering::Relaxed), 2);
        assert_eq!(
            r.healthy.load(Ordering::Relaxed),
            1,
            "the slow path's is not healthy"
        );
        assert_eq!(r.other.load(Ordering::Relaxed), 1);
        sink.stop().await;
        Ok(())
    }
}
