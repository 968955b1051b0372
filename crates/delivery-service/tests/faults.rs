//! `deliver_one` against a local receiver and faulty endpoints: every outcome is recorded as
//! an attempt (or redelivered), retries are scheduled, and nothing is lost.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use outpost_core::destination::Destination;
use outpost_core::event::{AttemptStatus, DeliveryTask, Event, LogEntry};
use outpost_core::ports::*;
use outpost_core::retry::RetryPolicy;
use outpost_core::time::now_ms;
use outpost_delivery::deliver::{Deliverer, Outcome};
use outpost_delivery::sender::Sender;
use outpost_delivery::ssrf::{Guard, Lookup, LookupFuture, SystemLookup};
use outpost_delivery::webhook::WebhookSender;
use outpost_destinations::webhook::request::WebhookSettings;
use outpost_test_support::receiver::{Receiver, Reply};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

struct Rig {
    d: Deliverer,
    store: Arc<MemoryTenantStore>,
    logmq: Arc<outpost_mq::MemoryQueue>,
    scheduler: Arc<MemoryScheduler>,
    logs: Box<dyn Subscription>,
}

async fn rig(guard: Guard, max_body: usize, timeout: Duration) -> Rig {
    rig_with(guard, max_body, timeout, Arc::new(SystemLookup)).await
}

/// A rig whose webhook sender resolves names with `lookup`.
async fn rig_with(
    guard: Guard,
    max_body: usize,
    timeout: Duration,
    lookup: Arc<dyn Lookup>,
) -> Rig {
    let store = Arc::new(MemoryTenantStore::new());
    let logmq = Arc::new(outpost_mq::MemoryQueue::new("logmq", 1000));
    let scheduler = Arc::new(MemoryScheduler::new());
    let webhook = WebhookSender::with_lookup(
        WebhookSettings::outpost_defaults(),
        guard,
        "Outpost/test",
        None,
        max_body,
        4,
        lookup,
    )
    .unwrap();
    let mut senders: HashMap<String, Arc<dyn Sender>> = HashMap::new();
    senders.insert("webhook".into(), Arc::new(webhook));
    let d = Deliverer {
        store: store.clone(),
        idempotency: Arc::new(MemoryIdempotency::new()),
        idempotency_ttl: Duration::from_secs(60),
        scheduler: scheduler.clone(),
        logmq: logmq.clone(),
        senders,
        policy: RetryPolicy {
            schedule: vec![],
            interval_secs: 30,
            max_retries: 2,
        },
        timeout,
        idgen: Default::default(),
        fairness: outpost_delivery::fairness::Fairness::new(4, 16),
        wake: Arc::default(),
        held: Default::default(),
        deferred: Default::default(),
    };
    let logs = logmq.subscribe(100).await.unwrap();
    let now = now_ms();
    store
        .upsert_tenant(&outpost_test_support::tenant_store_suite::tenant("t", now))
        .await
        .unwrap();
    Rig {
        d,
        store,
        logmq,
        scheduler,
        logs,
    }
}

fn allow_local() -> Guard {
    Guard::new(true, &["127.0.0.0/8".into()]).unwrap()
}

async fn dest(r: &Rig, id: &str, url: &str) -> Destination {
    let d = Destination {
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
    };
    r.store.create_destination(&d, 100).await.unwrap();
    d
}

fn task(dest: &str, attempt: u32, eligible: bool) -> DeliveryTask {
    let event: Event = serde_json::from_value(serde_json::json!({
        "id": format!("evt-{dest}"), "tenant_id": "t", "topic": "x", "eligible_for_retry": eligible,
        "time": "2024-01-01T00:00:00Z", "metadata": {}, "data": {"k": 1}
    }))
    .unwrap();
    DeliveryTask {
        version: 1,
        event,
        destination_id: dest.into(),
        attempt,
        manual: false,
        telemetry: None,
    }
}

async fn next_log(r: &mut Rig) -> LogEntry {
    let m = tokio::time::timeout(Duration::from_secs(5), r.logs.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let e: LogEntry = serde_json::from_slice(&m.body).unwrap();
    m.ack().await.unwrap();
    e
}

async fn no_log(r: &mut Rig) {
    assert!(
        tokio::time::timeout(Duration::from_millis(200), r.logs.next())
            .await
            .is_err(),
        "no attempt expected"
    );
}

#[tokio::test]
async fn success_is_recorded_once() {
    let rx = Receiver::start().await;
    let mut r = rig(allow_local(), 1024, Duration::from_secs(5)).await;
    dest(&r, "d1", &format!("{}/ok", rx.base)).await;
    assert_eq!(r.d.deliver_one(task("d1", 1, true)).await, Outcome::Ack);
    let e = next_log(&mut r).await;
    assert_eq!(e.attempt.status, AttemptStatus::Success);
    assert_eq!(e.attempt.code, "200");
    assert_eq!(
        e.attempt.response_data,
        Some(serde_json::json!({"status": 200, "body": "ok"}))
    );
    assert_eq!(e.attempt.attempt_number, 1);
    assert_eq!(e.destination.unwrap().id, "d1");
    // The same attempt again (a queue redelivery) is not sent twice.
    assert_eq!(r.d.deliver_one(task("d1", 1, true)).await, Outcome::Ack);
    no_log(&mut r).await;
    assert_eq!(rx.on("/ok").len(), 1);
    assert!(r.scheduler.next_due().await.unwrap().is_none());
    let _ = &r.logmq;
}

#[tokio::test]
async fn server_errors_fail_and_schedule_a_retry() {
    let rx = Receiver::start().await;
    rx.script([
        Reply::Status(503, "busy".into()),
        Reply::Status(404, "gone".into()),
        Reply::Status(500, "x".into()),
    ]);
    let mut r = rig(allow_local(), 1024, Duration::from_secs(5)).await;
    dest(&r, "d1", &format!("{}/e", rx.base)).await;
    let before = now_ms();
    assert_eq!(r.d.deliver_one(task("d1", 1, true)).await, Outcome::Ack);
    let e = next_log(&mut r).await;
    assert_eq!(
        (e.attempt.status, e.attempt.code.as_str()),
        (AttemptStatus::Failed, "503")
    );
    assert_eq!(e.attempt.response_data.unwrap()["body"], "busy");
    let due = r.scheduler.next_due().await.unwrap().unwrap();
    let delay = (due - before).num_seconds();
    assert!(
        (29..=31).contains(&delay),
        "first retry after 30 s, got {delay}"
    );
    let claimed = r
        .scheduler
        .claim_due(due, 10, Duration::from_secs(30))
        .await
        .unwrap();
    let next: DeliveryTask = serde_json::from_slice(&claimed[0].payload).unwrap();
    assert_eq!(next.attempt, 2);
    r.scheduler.complete(&claimed[..1]).await.unwrap();
    // The last allowed attempt (max 2 retries = 3 attempts) schedules nothing more.
    assert_eq!(r.d.deliver_one(task("d1", 3, true)).await, Outcome::Ack);
    assert_eq!(next_log(&mut r).await.attempt.code, "404");
    assert!(r.scheduler.next_due().await.unwrap().is_none());
    // Not eligible for retry: recorded, not scheduled.
    dest(&r, "d2", &format!("{}/e", rx.base)).await;
    assert_eq!(r.d.deliver_one(task("d2", 1, false)).await, Outcome::Ack);
    assert_eq!(next_log(&mut r).await.attempt.code, "500");
    assert!(r.scheduler.next_due().await.unwrap().is_none());
}

#[tokio::test]
async fn hanging_endpoint_times_out() {
    let rx = Receiver::start().await;
    rx.script([Reply::Hang(Duration::from_secs(5))]);
    let mut r = rig(allow_local(), 1024, Duration::from_millis(500)).await;
    dest(&r, "d1", &format!("{}/slow", rx.base)).await;
    let started = std::time::Instant::now();
    assert_eq!(r.d.deliver_one(task("d1", 1, true)).await, Outcome::Ack);
    assert!(started.elapsed() < Duration::from_secs(2));
    let e = next_log(&mut r).await;
    assert_eq!(
        (e.attempt.status, e.attempt.code.as_str()),
        (AttemptStatus::Failed, "timeout")
    );
    assert!(
        r.scheduler.next_due().await.unwrap().is_some(),
        "a timeout is retried"
    );
}

#[tokio::test]
async fn refused_and_reset_connections() {
    let mut r = rig(allow_local(), 1024, Duration::from_secs(5)).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    dest(&r, "d1", &format!("http://{closed}/")).await;
    r.d.deliver_one(task("d1", 1, true)).await;
    assert_eq!(next_log(&mut r).await.attempt.code, "connection_refused");
    // A server that accepts and closes at once.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            if let Ok((s, _)) = l.accept().await {
                drop(s);
            }
        }
    });
    dest(&r, "d2", &format!("http://{addr}/")).await;
    r.d.deliver_one(task("d2", 1, true)).await;
    let e = next_log(&mut r).await;
    assert_eq!(e.attempt.status, AttemptStatus::Failed);
    assert_eq!(e.attempt.code, "connection_reset", "{e:?}");
}

#[tokio::test]
async fn huge_bodies_and_redirects() {
    let rx = Receiver::start().await;
    rx.script([Reply::Status(200, "x".repeat(4096))]);
    let mut r = rig(allow_local(), 1024, Duration::from_secs(5)).await;
    dest(&r, "d1", &format!("{}/big", rx.base)).await;
    r.d.deliver_one(task("d1", 1, true)).await;
    let e = next_log(&mut r).await;
    assert_eq!(e.attempt.status, AttemptStatus::Success);
    assert_eq!(
        e.attempt.response_data.unwrap()["body"],
        "Response body exceeded 1024 bytes and was not stored"
    );
    // A redirect loop stops with redirect_error.
    rx.script((0..12).map(|_| Reply::Redirect("/loop".into())));
    dest(&r, "d2", &format!("{}/loop", rx.base)).await;
    r.d.deliver_one(task("d2", 1, true)).await;
    assert_eq!(next_log(&mut r).await.attempt.code, "redirect_error");
    // A redirect to a private address is refused.
    rx.script([Reply::Redirect("http://10.0.0.1/internal".into())]);
    dest(&r, "d3", &format!("{}/hop", rx.base)).await;
    r.d.deliver_one(task("d3", 1, true)).await;
    assert_eq!(next_log(&mut r).await.attempt.code, "ssrf_blocked");
}

/// Every name resolves to one fixed address.
struct OneAddress(std::net::IpAddr);

impl Lookup for OneAddress {
    fn lookup(&self, _host: &str) -> LookupFuture {
        let ip = self.0;
        Box::pin(async move { Ok(vec![ip]) })
    }
}

/// A public-looking endpoint redirects to a host *name* that resolves to a private address
/// (127.0.0.2 here; only 127.0.0.1 is allowed): the hop is refused as ssrf_blocked and the
/// private listener never sees a request.
#[tokio::test]
async fn redirect_to_a_name_resolving_privately_is_refused() {
    let public = Receiver::start().await;
    let private = Receiver::start_on("127.0.0.2").await;
    let private_port = private.base.rsplit(':').next().unwrap().to_string();
    let guard = Guard::new(true, &["127.0.0.1/32".into()]).unwrap();
    let lookup = Arc::new(OneAddress("127.0.0.2".parse().unwrap()));
    let mut r = rig_with(guard, 1024, Duration::from_secs(5), lookup).await;
    public.script([Reply::Redirect(format!(
        "http://internal.example:{private_port}/admin"
    ))]);
    dest(&r, "d1", &format!("{}/hop", public.base)).await;
    r.d.deliver_one(task("d1", 1, true)).await;
    let e = next_log(&mut r).await;
    assert_eq!(
        e.attempt.code, "ssrf_blocked",
        "{:?}",
        e.attempt.response_data
    );
    assert_eq!(public.received().len(), 1);
    assert!(
        private.received().is_empty(),
        "the private listener was reached"
    );
    // The same name as the destination URL itself is refused before any connection.
    dest(
        &r,
        "d2",
        &format!("http://internal.example:{private_port}/admin"),
    )
    .await;
    r.d.deliver_one(task("d2", 1, true)).await;
    assert_eq!(next_log(&mut r).await.attempt.code, "ssrf_blocked");
    assert!(private.received().is_empty());
}

#[tokio::test]
async fn ssrf_guard_blocks_internal_targets() {
    let rx = Receiver::start().await;
    let mut r = rig(Guard::new(true, &[]).unwrap(), 1024, Duration::from_secs(5)).await;
    dest(&r, "d1", &format!("{}/x", rx.base)).await;
    r.d.deliver_one(task("d1", 1, true)).await;
    let e = next_log(&mut r).await;
    assert_eq!(e.attempt.code, "ssrf_blocked");
    let port = rx.base.rsplit(':').next().unwrap();
    dest(&r, "d2", &format!("http://localhost:{port}/x")).await;
    r.d.deliver_one(task("d2", 1, true)).await;
    assert_eq!(
        next_log(&mut r).await.attempt.code,
        "ssrf_blocked",
        "names resolving to loopback too"
    );
    dest(&r, "d3", "http://169.254.169.254/latest/meta-data").await;
    r.d.deliver_one(task("d3", 1, true)).await;
    assert_eq!(next_log(&mut r).await.attempt.code, "ssrf_blocked");
    assert!(rx.received().is_empty());
}

#[tokio::test]
async fn deleted_disabled_and_missing_destinations() {
    let rx = Receiver::start().await;
    let mut r = rig(allow_local(), 1024, Duration::from_secs(5)).await;
    dest(&r, "gone", &format!("{}/x", rx.base)).await;
    r.store.delete_destination("t", "gone").await.unwrap();
    assert_eq!(r.d.deliver_one(task("gone", 1, true)).await, Outcome::Ack);
    let mut off = dest(&r, "off", &format!("{}/x", rx.base)).await;
    off.disabled_at = Some(now_ms());
    r.store.update_destination(&off).await.unwrap();
    assert_eq!(r.d.deliver_one(task("off", 1, true)).await, Outcome::Ack);
    assert_eq!(
        r.d.deliver_one(task("never-existed", 1, true)).await,
        Outcome::Nack
    );
    no_log(&mut r).await;
    assert!(rx.received().is_empty());
}

#[tokio::test]
async fn manual_success_cancels_the_pending_retry() {
    let rx = Receiver::start().await;
    rx.script([Reply::Status(500, "no".into())]);
    let mut r = rig(allow_local(), 1024, Duration::from_secs(5)).await;
    dest(&r, "d1", &format!("{}/m", rx.base)).await;
    r.d.deliver_one(task("d1", 1, true)).await;
    next_log(&mut r).await;
    assert!(r.scheduler.next_due().await.unwrap().is_some());
    let mut manual = task("d1", 2, true);
    manual.manual = true;
    r.d.deliver_one(manual).await;
    let e = next_log(&mut r).await;
    assert!(e.attempt.manual);
    assert_eq!(e.attempt.status, AttemptStatus::Success);
    assert!(
        r.scheduler.next_due().await.unwrap().is_none(),
        "pending retry cancelled"
    );
}

/// A packed deliverymq message (several tasks, as `outpost_mq::Combining` publishes them):
/// its tasks are all delivered; one that cannot be done nacks the whole message, and the
/// redeliveries do not send the others again.
#[tokio::test]
async fn packed_tasks_run_together_and_a_nack_redelivers_without_duplicates() {
    let rx = Receiver::start().await;
    let r = rig(allow_local(), 1024, Duration::from_secs(5)).await;
    dest(&r, "a", &format!("{}/a", rx.base)).await;
    dest(&r, "b", &format!("{}/b", rx.base)).await;
    let Rig { d, mut logs, .. } = r;
    let deliverymq = Arc::new(outpost_mq::MemoryQueue::new("deliverymq", 100));
    // "gone" was never created: its task is nacked each time.
    let bodies: Vec<Vec<u8>> = ["a", "b", "gone"]
        .iter()
        .map(|id| serde_json::to_vec(&task(id, 1, true)).unwrap())
        .collect();
    deliverymq
        .publish(vec![pack_items(bodies.iter().map(Vec::as_slice))])
        .await
        .unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let consumer = tokio::spawn(outpost_delivery::consumer::run(
        deliverymq.clone(),
        None,
        Arc::new(d),
        4,
        Duration::from_secs(1),
        outpost_core::health::Health::new(),
        stop.clone(),
    ));
    rx.wait_for("/a", 1, Duration::from_secs(5)).await;
    rx.wait_for("/b", 1, Duration::from_secs(5)).await;
    // The memory queue redelivers a nacked message at once, up to its delivery limit.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rx.on("/a").len(), 1, "a was sent again on redelivery");
    assert_eq!(rx.on("/b").len(), 1, "b was sent again on redelivery");
    let mut logged = Vec::new();
    while let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::from_millis(300), logs.next()).await
    {
        logged.extend(decode_items::<LogEntry>(&m.body).unwrap());
        m.ack().await.unwrap();
    }
    let mut dests: Vec<String> = logged
        .iter()
        .map(|e| e.attempt.destination_id.clone())
        .collect();
    dests.sort();
    assert_eq!(
        dests,
        vec!["a", "b"],
        "one attempt each, none for the missing one"
    );
    stop.cancel();
    consumer.await.unwrap();
}

/// A task deferred again while the retry monitor has not yet completed the entry that brought
/// it back must survive that completion (it once shared the entry's id and payload, so the
/// completion deleted it and the task was lost).
#[tokio::test]
async fn a_task_deferred_again_survives_the_completion_of_its_previous_entry() {
    let r = rig(allow_local(), 1024, Duration::from_secs(5)).await;
    let t = task("d", 1, true);
    assert_eq!(r.d.defer(&t, Duration::ZERO).await, Outcome::Ack);
    let far = now_ms() + chrono::Duration::seconds(60);
    let first = r
        .scheduler
        .claim_due(far, 10, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    // The monitor published it; the delivery service defers it again before the monitor
    // completes the first entry.
    assert_eq!(r.d.defer(&t, Duration::ZERO).await, Outcome::Ack);
    r.scheduler.complete(&first).await.unwrap();
    let again = r
        .scheduler
        .claim_due(far, 10, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(
        again.len(),
        1,
        "the second deferral was deleted with the first"
    );
    let back: DeliveryTask = serde_json::from_slice(&again[0].payload).unwrap();
    assert_eq!(back, t);
}

/// A delivery given up when the shutdown grace runs out leaves no claim behind: its message
/// goes back to the queue and the next consumer sends it at once, instead of waiting for the
/// claim's processing TTL.
#[tokio::test]
async fn a_delivery_given_up_at_shutdown_releases_its_claim() {
    let rx = Receiver::start().await;
    rx.script([Reply::Hang(Duration::from_secs(30))]);
    let r = rig(allow_local(), 1024, Duration::from_secs(60)).await;
    dest(&r, "h", &format!("{}/h", rx.base)).await;
    let Rig { d, .. } = r;
    // A claim outlives the test unless released.
    let d = with_claim_ttl(d, Duration::from_secs(600));
    let t = task("h", 1, true);
    let deliverymq = queued(&t).await;
    let run = |stop| consume(&deliverymq, &d, Duration::from_millis(200), stop);
    let stop = tokio_util::sync::CancellationToken::new();
    let first = run(stop.clone());
    rx.wait_for("/h", 1, Duration::from_secs(5)).await;
    assert_eq!(
        d.idempotency.state(&t.idempotency_key()).await.unwrap(),
        Some(Claim::Processing)
    );
    assert_eq!(d.held.len(), 1);
    stop.cancel();
    first.await.unwrap();
    assert!(d.held.is_empty());
    assert_eq!(
        d.idempotency.state(&t.idempotency_key()).await.unwrap(),
        None,
        "the claim of the delivery given up is released"
    );
    // The message came back; the next consumer sends it now (the receiver answers 200).
    let stop = tokio_util::sync::CancellationToken::new();
    let second = run(stop.clone());
    rx.wait_for("/h", 2, Duration::from_secs(5)).await;
    stop.cancel();
    second.await.unwrap();
    assert_eq!(
        d.idempotency.state(&t.idempotency_key()).await.unwrap(),
        Some(Claim::Processed)
    );
}

/// A delivery that runs longer than the claim's TTL keeps its claim: a copy of its task that
/// arrives meanwhile (a redelivery) waits for it and is not sent alongside.
#[tokio::test]
async fn a_long_delivery_keeps_its_claim_past_the_ttl() {
    let rx = Receiver::start().await;
    rx.script([Reply::Hang(Duration::from_millis(3000))]);
    let r = rig(allow_local(), 1024, Duration::from_secs(10)).await;
    dest(&r, "h", &format!("{}/h", rx.base)).await;
    let Rig { d, mut logs, .. } = r;
    let d = with_claim_ttl(d, Duration::from_secs(1));
    let t = task("h", 1, true);
    let deliverymq = queued(&t).await;
    let stop = tokio_util::sync::CancellationToken::new();
    let consumer = consume(&deliverymq, &d, Duration::from_secs(5), stop.clone());
    rx.wait_for("/h", 1, Duration::from_secs(5)).await;
    // Twice the TTL into the first delivery, a copy of the task.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        d.idempotency.state(&t.idempotency_key()).await.unwrap(),
        Some(Claim::Processing)
    );
    assert_eq!(d.deliver_one(t.clone()).await, Outcome::Ack);
    assert_eq!(rx.on("/h").len(), 1, "the copy was sent alongside");
    let m = tokio::time::timeout(Duration::from_secs(5), logs.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(decode_items::<LogEntry>(&m.body).unwrap().len(), 1);
    stop.cancel();
    consumer.await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(300), logs.next())
            .await
            .is_err(),
        "one attempt recorded"
    );
}

/// Tasks deferred while their destination was slow come back as soon as it answers quickly
/// again, not at the due times they got while it was slow (up to a minute out).
#[tokio::test]
async fn a_quick_answer_brings_the_destinations_deferred_tasks_forward() {
    let rx = Receiver::start().await;
    let r = rig(allow_local(), 1024, Duration::from_secs(5)).await;
    dest(&r, "d", &format!("{}/d", rx.base)).await;
    dest(&r, "other", &format!("{}/o", rx.base)).await;
    let Rig { d, scheduler, .. } = r;
    let with_event = |dest: &str, event: &str| {
        let mut t = task(dest, 1, true);
        t.event.id = event.into();
        t
    };
    // Deferred a minute while the destinations were slow.
    for (dest, event) in [("d", "e1"), ("d", "e2"), ("other", "e3")] {
        assert_eq!(
            d.defer(&with_event(dest, event), Duration::from_secs(60))
                .await,
            Outcome::Ack
        );
    }
    assert_eq!(d.deferred.len(), 3);
    let now = now_ms();
    assert!(
        scheduler
            .claim_due(now, 10, Duration::from_secs(30))
            .await
            .unwrap()
            .is_empty()
    );
    // d answers a delivery quickly: its two deferred tasks are due now, the other's are not.
    assert_eq!(d.deliver_one(with_event("d", "e0")).await, Outcome::Ack);
    let due = scheduler
        .claim_due(now_ms(), 10, Duration::from_secs(30))
        .await
        .unwrap();
    let mut events: Vec<String> = due
        .iter()
        .map(|r| {
            serde_json::from_slice::<DeliveryTask>(&r.payload)
                .unwrap()
                .event
                .id
        })
        .collect();
    events.sort();
    assert_eq!(events, ["e1", "e2"]);
    assert_eq!(
        d.deferred.len(),
        1,
        "the other destination's deferral is still remembered"
    );
}

/// `d` with in-memory claims of `ttl`.
fn with_claim_ttl(d: Deliverer, ttl: Duration) -> Arc<Deliverer> {
    Arc::new(Deliverer {
        idempotency: Arc::new(MemoryIdempotency::new().with_processing_ttl(ttl)),
        ..d
    })
}

/// An in-memory deliverymq holding `t`.
async fn queued(t: &DeliveryTask) -> Arc<outpost_mq::MemoryQueue> {
    let q = Arc::new(outpost_mq::MemoryQueue::new("deliverymq", 100));
    q.publish(vec![serde_json::to_vec(t).unwrap()])
        .await
        .unwrap();
    q
}

/// `d`'s deliverymq consumer over `queue` (4 slots, no busy lane) until `stop`.
fn consume(
    queue: &Arc<outpost_mq::MemoryQueue>,
    d: &Arc<Deliverer>,
    grace: Duration,
    stop: tokio_util::sync::CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(outpost_delivery::consumer::run(
        queue.clone(),
        None,
        d.clone(),
        4,
        grace,
        outpost_core::health::Health::new(),
        stop,
    ))
}
