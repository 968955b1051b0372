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

/// `n` tasks to `dest`, packed 30 to a message as the api packs them.
fn packed_30(dest: &str, n: usize) -> Vec<Vec<u8>> {
    let tasks: Vec<Vec<u8>> = (0..n).map(|i| task(dest, i)).collect();
    tasks
        .chunks(30)
        .map(|c| pack_items(c.iter().map(Vec::as_slice)))
        .collect()
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
    async fn renew(&self, keys: &[String]) -> Result<usize, outpost_core::StoreError> {
        self.inner.renew(keys).await
    }
}

/// A consumer and a retry monitor over in-memory queues, delivering to two receivers' paths
/// `/slow` and `/fast` with `concurrency` slots, a slow cap of `cap` and a slowness threshold
/// of `slow_after`.
struct Rig {
    deliverymq: Arc<outpost_mq::MemoryQueue>,
    /// The busy lane of deliverymq.
    busy: Arc<outpost_mq::MemoryQueue>,
    logs: Box<dyn Subscription>,
    keys: Arc<Counted>,
    shutdown: CancellationToken,
    workers: Vec<tokio::task::JoinHandle<()>>,
}

impl Rig {
    async fn start(
        slow_rx: &Receiver,
        fast_rx: &Receiver,
        concurrency: usize,
        cap: usize,
        slow_after: Duration,
    ) -> Rig {
        let store = Arc::new(MemoryTenantStore::new());
        for (id, rx) in [("slow", slow_rx), ("fast", fast_rx)] {
            store
                .create_destination(&destination(id, &format!("{}/{id}", rx.base)), 100)
                .await
                .unwrap();
        }
        let deliverymq = Arc::new(outpost_mq::MemoryQueue::new("deliverymq", 10_000));
        let busy = Arc::new(outpost_mq::MemoryQueue::new("deliverymq-busy", 10_000));
        let logmq = Arc::new(outpost_mq::MemoryQueue::new("logmq", 10_000));
        let logs = logmq.subscribe(1000).await.unwrap();
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
            fairness: Fairness::with_threshold(cap, concurrency, slow_after),
            wake: Arc::default(),
            held: Default::default(),
            deferred: Default::default(),
        });
        let wake = deliverer.wake.clone();
        let shutdown = CancellationToken::new();
        let consumer = tokio::spawn(outpost_delivery::consumer::run(
            deliverymq.clone(),
            Some(busy.clone()),
            deliverer,
            concurrency,
            Duration::from_secs(25),
            Health::new(),
            shutdown.clone(),
        ));
        let monitor = tokio::spawn(outpost_delivery::retry_monitor::run(
            scheduler.clone(),
            outpost_delivery::retry_monitor::Lanes {
                main: deliverymq.clone(),
                busy: None,
            },
            Duration::from_millis(50),
            Duration::from_secs(30),
            wake,
            Health::new(),
            shutdown.clone(),
        ));
        Rig {
            deliverymq,
            busy,
            logs,
            keys,
            shutdown,
            workers: vec![consumer, monitor],
        }
    }

    /// Attempt numbers by event id, from the log entries published (waits up to 10 s for `n`
    /// events).
    async fn attempts(&mut self, n: usize) -> HashMap<String, Vec<u32>> {
        let mut attempts = HashMap::<String, Vec<u32>>::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while attempts.len() < n && Instant::now() < deadline {
            if let Ok(Some(Ok(m))) =
                tokio::time::timeout(Duration::from_millis(500), self.logs.next()).await
            {
                let e: LogEntry = serde_json::from_slice(&m.body).unwrap();
                attempts
                    .entry(e.event.id.clone())
                    .or_default()
                    .push(e.attempt.attempt_number);
                m.ack().await.unwrap();
            }
        }
        attempts
    }

    async fn stop(self) {
        self.shutdown.cancel();
        for w in self.workers {
            w.await.unwrap();
        }
    }
}

#[tokio::test]
async fn a_quiet_tenants_tasks_go_before_the_busy_lanes_backlog() {
    const TOOK: Duration = Duration::from_millis(50);
    const BACKLOG: usize = 120;
    // The busy tenant's endpoint takes 50 ms; with 4 slots its backlog lasts 1.5 s.
    let busy_rx = Receiver::start().await;
    busy_rx.script(std::iter::repeat_n(Reply::Hang(TOOK), BACKLOG + 10));
    let quiet_rx = Receiver::start().await;
    let mut rig = Rig::start(&busy_rx, &quiet_rx, 4, 4, Duration::from_secs(10)).await;
    // Packed 30 to a message, as the api packs them: the consumer holds the whole backlog,
    // its tasks waiting for slots in the process.
    rig.busy.publish(packed_30("slow", BACKLOG)).await.unwrap();
    busy_rx.wait_for("/slow", 4, Duration::from_secs(5)).await;

    // Main-lane tasks wait for at most one busy-lane task ahead of them, not the backlog in
    // hand (on one FIFO of slots they would go after about 116 of the 120).
    let started = Instant::now();
    rig.deliverymq
        .publish((0..3).map(|n| task("fast", n)).collect())
        .await
        .unwrap();
    quiet_rx
        .wait_for_events("/fast", 3, Duration::from_secs(5), "main-lane deliveries")
        .await;
    let waited = started.elapsed();
    let busy_done = busy_rx.on("/slow").len();
    assert!(
        busy_done < BACKLOG / 2,
        "the main lane's tasks went after {busy_done} of {BACKLOG} busy-lane deliveries ({waited:?})"
    );

    // The busy lane's backlog is all delivered, each task once.
    let attempts = rig.attempts(BACKLOG + 3).await;
    assert_eq!(attempts.len(), BACKLOG + 3, "every event has an attempt");
    assert!(attempts.values().all(|a| a == &vec![1]), "{attempts:?}");
    assert_eq!(busy_rx.on("/slow").len(), BACKLOG, "no duplicate delivery");
    rig.stop().await;
}

#[tokio::test]
async fn a_hanging_destination_does_not_starve_a_healthy_one() {
    const HANG: Duration = Duration::from_secs(2);
    let slow_rx = Receiver::start().await;
    slow_rx.script(std::iter::repeat_n(Reply::Hang(HANG), 20));
    let fast_rx = Receiver::start().await;

    let mut rig = Rig::start(&slow_rx, &fast_rx, 8, 2, Duration::from_millis(200)).await;
    let keys = rig.keys.clone();
    let deliverymq = rig.deliverymq.clone();

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
    let attempts = rig.attempts(68).await;
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
    rig.stop().await;
}

/// The most requests received on `path` within any `window`.
fn most_within(rx: &Receiver, path: &str, window: Duration) -> usize {
    let at: Vec<Instant> = rx.on(path).iter().map(|r| r.at).collect();
    (0..at.len())
        .map(|i| at[i..].iter().take_while(|t| **t - at[i] < window).count())
        .max()
        .unwrap_or(0)
}

#[tokio::test]
async fn hung_deliveries_give_their_slots_to_the_healthy_destinations() {
    // Four slots; the slow destination's two hung deliveries are past the threshold when the
    // healthy tasks come. The healthy endpoint takes 60 ms per request, so with only the two
    // slots the hung ones leave, no 50 ms window would see more than two of its requests. The
    // cap is the whole process, so that only the slots, not fairness, limit the healthy one
    // (which is held to the cap until it has answered).
    const FAST: Duration = Duration::from_millis(60);
    let slow_rx = Receiver::start().await;
    slow_rx.script(std::iter::repeat_n(Reply::Hang(Duration::from_secs(3)), 2));
    let fast_rx = Receiver::start().await;
    fast_rx.script(std::iter::repeat_n(Reply::Hang(FAST), 100));
    let mut rig = Rig::start(&slow_rx, &fast_rx, 4, 4, Duration::from_millis(300)).await;

    rig.deliverymq
        .publish(vec![task("slow", 0), task("slow", 1)])
        .await
        .unwrap();
    slow_rx.wait_for("/slow", 2, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    rig.deliverymq
        .publish((0..24).map(|n| task("fast", n)).collect())
        .await
        .unwrap();
    fast_rx
        .wait_for_events("/fast", 24, Duration::from_secs(10), "healthy deliveries")
        .await;
    assert!(
        started.elapsed() < Duration::from_millis(2_400),
        "the healthy deliveries were not done before the hung ones answered"
    );
    let most = most_within(&fast_rx, "/fast", Duration::from_millis(50));
    assert!(
        most >= 3,
        "at most {most} healthy requests in flight at once: the hung deliveries kept their slots"
    );

    let attempts = rig.attempts(26).await;
    assert_eq!(attempts.len(), 26, "every event has an attempt");
    assert!(
        attempts.values().all(|a| a == &vec![1]),
        "one attempt each: {attempts:?}"
    );
    rig.stop().await;
}

#[tokio::test]
async fn a_packed_backlog_is_started_a_few_slots_at_a_time() {
    const TASKS: usize = 240;
    const CONCURRENCY: usize = 4;
    // Each answer takes 10 ms: the backlog lasts 0.6 s with 4 slots.
    let busy_rx = Receiver::start().await;
    busy_rx.script(std::iter::repeat_n(
        Reply::Hang(Duration::from_millis(10)),
        TASKS,
    ));
    let other_rx = Receiver::start().await;
    let mut rig = Rig::start(
        &busy_rx,
        &other_rx,
        CONCURRENCY,
        CONCURRENCY,
        Duration::from_secs(10),
    )
    .await;
    let metrics = tokio::runtime::Handle::current().metrics();
    let before = metrics.num_alive_tasks();
    // Packed 30 to a message: the consumer holds 8 of them (twice its slots) at once, 240
    // tasks it must not all start.
    rig.deliverymq
        .publish(packed_30("slow", TASKS))
        .await
        .unwrap();
    let mut peak = 0;
    let deadline = Instant::now() + Duration::from_secs(10);
    while busy_rx.on("/slow").len() < TASKS && Instant::now() < deadline {
        peak = peak.max(metrics.num_alive_tasks().saturating_sub(before));
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    // Started tasks: at most 3 × 4 per lane, beside the 8 messages' own and the HTTP
    // connections' tasks; all 240 would be started at once without the budget.
    assert!(
        peak <= 12 + 8 + 2 * CONCURRENCY + 8,
        "{peak} tasks alive beyond the {before} from before"
    );
    assert!(peak >= 12, "the slots were used ({peak} tasks alive)");
    let attempts = rig.attempts(TASKS).await;
    assert_eq!(attempts.len(), TASKS, "every event has an attempt");
    assert!(attempts.values().all(|a| a == &vec![1]), "{attempts:?}");
    rig.stop().await;
}

#[tokio::test]
async fn a_task_that_does_not_decode_fails_its_message_but_not_the_others() {
    let rx = Receiver::start().await;
    let other_rx = Receiver::start().await;
    let mut rig = Rig::start(&rx, &other_rx, 4, 4, Duration::from_secs(10)).await;
    let good = [task("slow", 0), task("slow", 1)];
    let bad = br#"{"version":1,"event":{"id":"broken"},"destination_id":"slow"}"#.to_vec();
    let packed = pack_items([good[0].as_slice(), bad.as_slice(), good[1].as_slice()].into_iter());
    rig.deliverymq.publish(vec![packed]).await.unwrap();
    // The good tasks are delivered once each, the redeliveries of their message skipping them
    // (their idempotency keys), and the message is redelivered until it is dead-lettered.
    let attempts = rig.attempts(2).await;
    assert_eq!(attempts.len(), 2, "{attempts:?}");
    assert!(attempts.values().all(|a| a == &vec![1]), "{attempts:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.on("/slow").len(), 2, "each good task delivered once");
    // Not acked: redelivered, its good tasks looked up again (and skipped).
    let claims = rig.keys.claims.load(Ordering::SeqCst);
    assert!(
        claims > 2,
        "the message was not redelivered ({claims} claims)"
    );
    rig.stop().await;
}
