//! Publishers: `POST /api/v1/publish` over HTTP/1.1 keep-alive, in a closed loop of N tasks or
//! an open loop at a fixed rate. The send time of each event's first attempt goes into the
//! [`Recorder`]; failed requests are retried (same id, so the service deduplicates them).

use crate::sink::Recorder;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Attempts per event before it counts as a publish failure.
pub const ATTEMPTS: u32 = 5;

/// Builds publish bodies and sends them.
pub struct Publisher {
    client: reqwest::Client,
    url: String,
    key: String,
    tenant: String,
    event_size: usize,
    /// 2xx answers.
    pub ok: AtomicU64,
    /// Events given up after [`ATTEMPTS`].
    pub failed: AtomicU64,
    /// Requests that were retried.
    pub retried: AtomicU64,
    /// Time of the last 2xx answer, µs on the recorder's clock.
    pub last_answer_us: AtomicU64,
    /// Request latencies of successful publishes, µs (first attempt to answer).
    pub latencies: Mutex<Vec<u64>>,
    /// The first error seen, for the report.
    pub first_error: Mutex<Option<String>>,
}

/// `data` of event `seq`: `{"seq":…,"ts":<unix µs>,"pad":"xx…"}`, padded to `size` bytes
/// when `size` allows.
pub fn data(seq: usize, ts_unix_us: u64, size: usize) -> String {
    let mut s = format!(r#"{{"seq":{seq},"ts":{ts_unix_us},"pad":""#);
    let pad = size.saturating_sub(s.len() + 2);
    s.extend(std::iter::repeat_n('x', pad));
    s.push_str("\"}");
    s
}

fn unix_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

impl Publisher {
    /// A publisher to `api` (base URL) for `tenant`, with up to `pool` idle connections.
    pub fn new(
        api: &str,
        key: &str,
        tenant: &str,
        event_size: usize,
        pool: usize,
    ) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .http1_only()
            .no_proxy()
            .tcp_nodelay(true)
            .pool_max_idle_per_host(pool.max(1))
            .pool_idle_timeout(Duration::from_secs(90))
            .timeout(Duration::from_secs(30))
            .build()?;
        Ok(Self {
            client,
            url: format!("{api}/api/v1/publish"),
            key: key.to_string(),
            tenant: tenant.to_string(),
            event_size,
            ok: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            last_answer_us: AtomicU64::new(0),
            latencies: Mutex::new(Vec::new()),
            first_error: Mutex::new(None),
        })
    }

    fn body(&self, id: &str, seq: usize) -> String {
        format!(
            r#"{{"id":"{id}","tenant_id":"{}","topic":"bench.event","data":{}}}"#,
            self.tenant,
            data(seq, unix_us(), self.event_size)
        )
    }

    fn note_error(&self, e: String) {
        if let Ok(mut f) = self.first_error.lock()
            && f.is_none()
        {
            *f = Some(e);
        }
    }

    /// Publishes `id`; `Some(latency µs)` on a 2xx answer (retrying up to [`ATTEMPTS`]).
    /// `on_send` is called with the send time of the first attempt.
    async fn send(
        &self,
        rec: &Recorder,
        id: &str,
        seq: usize,
        on_send: impl FnOnce(u64),
    ) -> Option<u64> {
        let body = self.body(id, seq);
        let t0 = rec.now_us();
        on_send(t0);
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                self.retried.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
            let r = self
                .client
                .post(&self.url)
                .bearer_auth(&self.key)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await;
            match r {
                Ok(resp) if resp.status().is_success() => {
                    let _ = resp.bytes().await;
                    let now = rec.now_us();
                    self.last_answer_us.fetch_max(now, Ordering::Relaxed);
                    return Some(now.saturating_sub(t0));
                }
                Ok(resp) => {
                    let status = resp.status();
                    let text = resp.text().await.unwrap_or_default();
                    self.note_error(format!("HTTP {status}: {}", text.trim()));
                }
                Err(e) => self.note_error(format!("{e}")),
            }
        }
        None
    }

    /// Publishes measured event `seq` (id `<prefix><seq>`).
    pub async fn publish(&self, rec: &Recorder, seq: usize) -> bool {
        let id = format!("{}{seq}", rec.prefix);
        let sent = &rec.sent[seq];
        match self
            .send(rec, &id, seq, |t| sent.store(t, Ordering::Release))
            .await
        {
            Some(lat) => {
                self.ok.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut l) = self.latencies.lock() {
                    l.push(lat);
                }
                true
            }
            None => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                sent.store(0, Ordering::Release);
                false
            }
        }
    }

    /// Publishes an unmeasured event (warm-up) with id `id`.
    pub async fn publish_unmeasured(&self, rec: &Recorder, id: &str, seq: usize) -> bool {
        self.send(rec, id, seq, |_| {}).await.is_some()
    }
}

/// Closed loop: `concurrency` tasks each publish the next seq and wait for its answer.
pub async fn closed_loop(p: Arc<Publisher>, rec: Arc<Recorder>, concurrency: usize) {
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency.max(1) {
        let (p, rec, next) = (p.clone(), rec.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let seq = next.fetch_add(1, Ordering::Relaxed);
                if seq >= rec.events {
                    break;
                }
                p.publish(&rec, seq).await;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

/// Open loop: event `i` is sent at `start + i / rate`, each in its own task, at most
/// `max_in_flight` at once (beyond that the schedule slips, which the achieved rate shows).
/// No event is sent once `stop` is set; returns when every event sent has its answer.
pub async fn open_loop(
    p: Arc<Publisher>,
    rec: Arc<Recorder>,
    rate: u64,
    max_in_flight: usize,
    stop: Arc<AtomicBool>,
) {
    let sem = Arc::new(tokio::sync::Semaphore::new(max_in_flight.max(1)));
    let start = tokio::time::Instant::now();
    let rate = rate.max(1);
    for seq in 0..rec.events {
        let at = start + Duration::from_micros(seq as u64 * 1_000_000 / rate);
        tokio::time::sleep_until(at).await;
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let Ok(permit) = sem.clone().acquire_owned().await else {
            break;
        };
        let (p, rec) = (p.clone(), rec.clone());
        tokio::spawn(async move {
            p.publish(&rec, seq).await;
            drop(permit);
        });
    }
    let _ = sem.acquire_many(max_in_flight.max(1) as u32).await;
}

/// Publishes `n` warm-up events (ids `<prefix>w<i>`) and waits until their deliveries to
/// `paths` destinations have arrived (at most `timeout`). Returns the deliveries seen.
pub async fn warm_up(
    p: Arc<Publisher>,
    rec: Arc<Recorder>,
    n: usize,
    paths: usize,
    concurrency: usize,
    timeout: Duration,
) -> u64 {
    if n == 0 {
        return 0;
    }
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency.clamp(1, n) {
        let (p, rec, next) = (p.clone(), rec.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    break;
                }
                let id = format!("{}w{i}", rec.prefix);
                p.publish_unmeasured(&rec, &id, i).await;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let want = (n * paths) as u64;
    let deadline = Instant::now() + timeout;
    while rec.other.load(Ordering::Relaxed) < want && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    rec.other.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_padded_to_the_size_and_valid_json() {
        for size in [0usize, 10, 64, 200, 1024] {
            let d = data(123, 1_700_000_000_000_000, size);
            let v: serde_json::Value = serde_json::from_str(&d).expect("json");
            assert_eq!(v["seq"], 123);
            if size >= 60 {
                assert_eq!(d.len(), size, "{d}");
            }
        }
    }
}
