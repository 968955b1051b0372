//! Isolation between destinations through the real consumer: a destination whose endpoint hangs
//! keeps at most half of the delivery slots, so a healthy destination's deliveries go on
//! while the hung requests are still open; deferred tasks are delivered later, once each,
//! without being counted as attempts, and without claiming their idempotency keys.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use outpost_core::destination::Destination;
use outpost_core::event::{DeliveryTask, Event, LogEntry};
use outpost_core::health::Health;
use outpost_core::ports::*;
use outpost_core::retry::RetryPolicy;
use outpost_core::time::now_ms;
use outpost_delivery::deliver::Deliverer;
use outpost_delivery::fairness::Fairness;
use outpost_delivery::sender::Sender;
use outpost_delivery::ssrf::Guard;
use outpost_delivery::webhook::WebhookSender;
use outpost_destinations::webhook::request::WebhookSettings;
use outpost_test_support::receiver::{Receiver, Reply};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

fn destination(id: &str, url: &str) -> Destination {
    Destination {
        id: id.into(),
        tenant_id: "t".into(),
        kind: "webhook".into(),
        topics: vec!["*".into()],
        filter: None,
        config: [("url".to_string(), url.to_string())].into(),
        credentials: [("secret".to_string(), "s".to_string())].into(),
        delivery_metadata: None,
        metadata: None,
        created_at: now_ms(),
        updated_at: now_ms(),
        disabled_at: None,
    }
}

fn task(dest: &str, n: usize) -> Vec<u8> {
    let event: Event = serde_json::from_value(serde_json::json!({
        "id": format!("evt-{dest}-{n}"), "tenant_id": "t", "topic": "x", "eligible_for_retry": true,
        "time": "2024-01-01T00:00:00Z", "metadata": {}, "data": {"n": n}
    }))
    .unwrap();
    serde_json::to_vec(&DeliveryTask {
        version: 1,
        event,
        destination_id: dest.into(),
        attempt: 1,
        manual: false,
        telemetry: None,
    })
    .unwrap()
}

/// Idempotency keys that count claims and releases.
#[derive(Default)]
struct Counted {
    inner: MemoryIdempotency,
    claims: AtomicUsize,
    releases: AtomicUsize,
}

#[async_trait::async_trait]
impl Idempotency for Counted {
    async fn claim(&self, key: &str) -> Result<Claim, outpost_core::StoreError> {
        self.claims.fetch_add(1, Ordering::SeqCst);
        self.inner.claim(key).await
    }
    async fn state(&self, key: &str) -> Result<Option<Claim>, outpost_core::StoreError> {
        self.inner.state(key).await
    }
    async fn mark_processed(
        &self,
        key: &str,
        ttl: Duration,
    ) -> Result<(), outpost_core::StoreError> {
        self.inner.mark_processed(key, ttl).await
    }
    async fn release(&self, key: &str) -> Result<(), outpost_core::StoreError> {
        self.releases.fetch_add(1, Ordering::SeqCst);
        self.inner.release(key).await
    }
}

#[tokio::test]
async fn a_hanging_destination_does_not_starve_a_healthy_one() {
    const HANG: Duration = Duration::from_secs(2);
    let slow_rx = Receiver::start().await;
    slow_rx.script(std::iter::repeat_n(Reply::Hang(HANG), 20));
    let fast_rx = Receiver::start().await;

    let store = Arc::new(MemoryTenantStore::new());
    for (id, rx) in [("slow", &slow_rx), ("fast", &fast_rx)] {
        store
            .create_destination(&destination(id, &format!("{}/{id}", rx.base)), 100)
            .await
            .unwrap();
    }
    let deliverymq = Arc::new(outpost_mq::MemoryQueue::new("deliverymq", 10_000));
    let logmq = Arc::new(outpost_mq::MemoryQueue::new("logmq", 10_000));
    let mut logs = logmq.subscribe(1000).await.unwrap();
    let scheduler = Arc::new(MemoryScheduler::new());
    let webhook = WebhookSender::new(
        WebhookSettings::outpost_defaults(),
        Guard::new(true, &["127.0.0.0/8".into()]).unwrap(),
        "Outpost/test",
        None,
        1024,
        16,
    )
    .unwrap();
    let mut senders: HashMap<String, Arc<dyn Sender>> = HashMap::new();
    senders.insert("webhook".into(), Arc::new(webhook));
    let keys = Arc::new(Counted::default());
    let deliverer = Arc::new(Deliverer {
        store: store.clone(),
        idempotency: keys.clone(),
        idempotency_ttl: Duration::from_secs(60),
        scheduler: scheduler.clone(),
        logmq: logmq.clone(),
        senders,
        policy: RetryPolicy {
            schedule: vec![],
            interval_secs: 30,
            max_retries: 0,
        },
        timeout: Duration::from_secs(10),
        idgen: Default::default(),
        fairness: Fairness::with_threshold(2, 8, Duration::from_millis(200)),
        wake: Arc::default(),
    });
    let wake = deliverer.wake.clone();
    let shutdown = CancellationToken::new();
    let consumer = tokio::spawn(outpost_delivery::consumer::run(
        deliverymq.clone(),
        deliverer,
        8,
        Duration::from_secs(25),
        Health::new(),
        shutdown.clone(),
    ));
    let monitor = tokio::spawn(outpost_delivery::retry_monitor::run(
        scheduler.clone(),
        deliverymq.clone(),
        Duration::from_millis(50),
        Duration::from_secs(30),
        wake,
        Health::new(),
        shutdown.clone(),
    ));

    // Two slow deliveries start and hang; once they are older than the threshold the slow
    // destination is at its cap.
    deliverymq
        .publish(vec![task("slow", 0), task("slow", 1)])
        .await
        .unwrap();
    slow_rx.wait_for("/slow", 2, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // More slow tasks interleaved with healthy ones: without the cap, the slow tasks would
    // take the six free slots and hold them for the whole hang.
    let started = Instant::now();
    let mut batch = Vec::new();
    for n in 0..60 {
        if n % 10 == 0 {
            batch.push(task("slow", 2 + n / 10));
        }
        batch.push(task("fast", n));
    }
    deliverymq.publish(batch).await.unwrap();
    fast_rx
        .wait_for_events("/fast", 60, HANG, "healthy deliveries during the hang")
        .await;
    assert!(
        started.elapsed() < HANG,
        "the healthy destination waited for the hung one"
    );
    let slow_started = slow_rx.on("/slow").len();
    assert!(
        slow_started <= 4,
        "the slow destination took {slow_started} of 8 slots; at most half while others wait"
    );

    // Every slow task is delivered in the end, each once, as attempt 1.
    slow_rx
        .wait_for_events(
            "/slow",
            8,
            Duration::from_secs(30),
            "deferred slow deliveries",
        )
        .await;
    let mut attempts = HashMap::<String, Vec<u32>>::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while attempts.len() < 68 && Instant::now() < deadline {
        if let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::from_millis(500), logs.next()).await
        {
            let e: LogEntry = serde_json::from_slice(&m.body).unwrap();
            attempts
                .entry(e.event.id.clone())
                .or_default()
                .push(e.attempt.attempt_number);
            m.ack().await.unwrap();
        }
    }
    assert_eq!(attempts.len(), 68, "every event has an attempt");
    assert!(
        attempts.values().all(|a| a == &vec![1]),
        "one attempt each, none counted for deferrals: {attempts:?}"
    );
    let slow_events: HashSet<_> = slow_rx.distinct_events("/slow");
    assert_eq!(slow_events.len(), 8);
    // A deferred task is put back before its key is claimed: one claim per send, no release.
    assert_eq!(
        (
            keys.claims.load(Ordering::SeqCst),
            keys.releases.load(Ordering::SeqCst)
        ),
        (68, 0),
        "claims and releases"
    );
    shutdown.cancel();
    consumer.await.unwrap();
    monitor.await.unwrap();
}
