//! The fault suite's publisher: `prefix<seq>` at a steady rate, each event retried until the
//! API accepts it (as an API client would), remembering when each was accepted.

use super::{API_KEY, TENANT};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Publishes `prefix<seq>` at a steady rate; each event is retried until accepted.
#[derive(Clone)]
pub struct Publisher {
    client: reqwest::Client,
    url: String,
    prefix: String,
    accepted: Arc<Mutex<Vec<(String, Instant)>>>,
    sent: Arc<Mutex<std::collections::HashMap<String, Instant>>>,
    refused: Arc<std::sync::atomic::AtomicU64>,
}

impl Publisher {
    /// A publisher to the API at `api`, with event ids `prefix<seq>`.
    pub fn new(api: &str, prefix: &str) -> anyhow::Result<Self> {
        Ok(Self {
            client: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(10))
                .build()?,
            url: format!("{api}/api/v1/publish"),
            prefix: prefix.to_string(),
            accepted: Arc::default(),
            sent: Arc::default(),
            refused: Arc::default(),
        })
    }

    /// (event id, when it was accepted), in acceptance order.
    pub fn accepted(&self) -> Vec<(String, Instant)> {
        self.accepted
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// When `id` was first sent.
    pub fn sent_at(&self, id: &str) -> Option<Instant> {
        self.sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(id)
            .copied()
    }

    /// Publish requests that were refused or failed (and retried).
    pub fn refused(&self) -> u64 {
        self.refused.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Publishes at `rate` events/s for `load`, then waits for every event to be accepted or
    /// given up.
    pub async fn run(self, rate: u64, load: Duration) {
        let limit = Arc::new(tokio::sync::Semaphore::new(512));
        let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
        let end = Instant::now() + load;
        let mut tasks = tokio::task::JoinSet::new();
        let mut seq = 0u64;
        while Instant::now() < end {
            tick.tick().await;
            let Ok(permit) = limit.clone().acquire_owned().await else {
                break;
            };
            let p = self.clone();
            let id = format!("{}{seq}", self.prefix);
            seq += 1;
            tasks.spawn(async move {
                p.publish(id).await;
                drop(permit);
            });
        }
        while tasks.join_next().await.is_some() {}
    }

    /// Sends until 202, for up to two minutes (an API client's retry loop).
    async fn publish(&self, id: String) {
        let body =
            json!({"id": id, "tenant_id": TENANT, "topic": "fault.test", "data": {"id": id}});
        let give_up = Instant::now() + Duration::from_secs(120);
        self.sent
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(id.clone(), Instant::now());
        while Instant::now() < give_up {
            let r = self
                .client
                .post(&self.url)
                .bearer_auth(API_KEY)
                .json(&body)
                .send()
                .await;
            if r.as_ref().is_ok_and(|r| r.status() == 202) {
                self.accepted
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push((id, Instant::now()));
                return;
            }
            self.refused
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}
