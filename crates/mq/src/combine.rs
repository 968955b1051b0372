//! Group commit for an internal queue: bodies published concurrently are packed into fewer,
//! larger broker messages (a JSON array, read back with
//! [`outpost_core::ports::decode_items`]), so the broker stores, replicates, confirms and
//! acks one message where it did many.
//!
//! At most `in_flight` broker publishes run at once; bodies that arrive while they are all
//! busy wait and leave together in the next one. Under light load every publish goes out at
//! once, alone, in upstream's one-object shape; under heavy load the batches grow by
//! themselves. With a `linger` (the queues on RabbitMQ), a round that follows a shared one (the
//! queue is under load) and holds less than a full message waits that long for more bodies
//! first: a broker that confirms within a millisecond otherwise ships many small messages.
//! Every caller still returns only once its own bodies are confirmed, and gets the error of
//! the broker publish that carried them.

use async_trait::async_trait;
use outpost_core::ports::{Queue, QueueError, Subscription, pack_items};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::oneshot;

/// How far bodies are packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CombineLimits {
    /// Largest packed message in bytes (a larger single body is sent alone). Below the
    /// 256 KiB message limit of SQS and Service Bus standard.
    pub message_bytes: usize,
    /// Most bodies in one message.
    pub message_items: usize,
    /// Broker publishes running at once.
    pub in_flight: usize,
    /// Under load (the previous round carried several callers' bodies), how long a round
    /// holding less than a full message waits for more before it goes; zero: never.
    pub linger: Duration,
}

impl CombineLimits {
    /// deliverymq: a message is acked only when all its tasks are settled, so its tasks stay
    /// few enough not to hold each other up for long.
    pub const DELIVERY: CombineLimits = CombineLimits {
        message_bytes: 192 * 1024,
        message_items: 32,
        in_flight: 4,
        linger: Duration::ZERO,
    };
    /// logmq: the log writer commits entries in batches anyway.
    pub const LOG: CombineLimits = CombineLimits {
        message_bytes: 192 * 1024,
        message_items: 64,
        in_flight: 4,
        linger: Duration::ZERO,
    };
}

/// One caller's bodies and where its result goes.
struct Waiting {
    bodies: Vec<Vec<u8>>,
    bytes: usize,
    done: oneshot::Sender<Result<(), QueueError>>,
}

#[derive(Default)]
struct State {
    waiting: VecDeque<Waiting>,
    publishing: usize,
    /// The last round carried more than one caller's bodies: the queue is under load.
    busy: bool,
}

/// A queue whose publishes are packed (see the module docs); subscribing is the inner queue's.
pub struct Combining {
    inner: Arc<dyn Queue>,
    limits: CombineLimits,
    state: Arc<Mutex<State>>,
}

impl Combining {
    /// Packs publishes to `inner` within `limits`.
    pub fn new(inner: Arc<dyn Queue>, limits: CombineLimits) -> Self {
        Self {
            inner,
            limits: CombineLimits {
                message_bytes: limits.message_bytes.max(1),
                message_items: limits.message_items.max(1),
                in_flight: limits.in_flight.max(1),
                linger: limits.linger,
            },
            state: Arc::default(),
        }
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    // The state stays consistent whatever panicked while holding it (plain pushes and pops).
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// Takes the callers whose bodies go in the next broker publish: whole callers, up to a
/// budget of a few full messages (at least one caller).
fn take_round(state: &mut State, limits: CombineLimits) -> Vec<Waiting> {
    let budget_bytes = limits.message_bytes.saturating_mul(4);
    let budget_items = limits.message_items.saturating_mul(4);
    let mut round = Vec::new();
    let (mut bytes, mut items) = (0usize, 0usize);
    while let Some(next) = state.waiting.front() {
        if !round.is_empty()
            && (bytes + next.bytes > budget_bytes || items + next.bodies.len() > budget_items)
        {
            break;
        }
        bytes += next.bytes;
        items += next.bodies.len();
        if let Some(w) = state.waiting.pop_front() {
            round.push(w);
        }
    }
    round
}

/// Packs `bodies` into messages within `limits`, in order; a body that goes alone is moved,
/// not copied.
pub(crate) fn pack(bodies: Vec<Vec<u8>>, limits: CombineLimits) -> Vec<Vec<u8>> {
    fn flush(group: &mut Vec<Vec<u8>>, messages: &mut Vec<Vec<u8>>) {
        if group.len() == 1 {
            messages.extend(group.pop());
        } else if !group.is_empty() {
            messages.push(pack_items(group.iter().map(Vec::as_slice)));
            group.clear();
        }
    }
    let mut messages = Vec::new();
    let mut group: Vec<Vec<u8>> = Vec::new();
    let mut bytes = 2; // the array's brackets
    for body in bodies {
        let add = body.len() + 1;
        if !group.is_empty()
            && (group.len() >= limits.message_items || bytes + add > limits.message_bytes)
        {
            flush(&mut group, &mut messages);
            bytes = 2;
        }
        bytes += add;
        group.push(body);
    }
    flush(&mut group, &mut messages);
    messages
}

/// Whether the next round should wait [`CombineLimits::linger`] for more bodies first.
fn should_linger(state: &State, limits: CombineLimits) -> bool {
    !limits.linger.is_zero()
        && state.busy
        && state.waiting.iter().map(|w| w.bodies.len()).sum::<usize>() < limits.message_items
}

/// Publishes rounds until nobody is waiting, then gives its publishing slot back.
async fn publish_rounds(inner: Arc<dyn Queue>, limits: CombineLimits, state: Arc<Mutex<State>>) {
    let mut lingered = false;
    loop {
        let round = {
            let mut s = lock(&state);
            if s.waiting.is_empty() {
                s.publishing -= 1;
                return;
            }
            if !lingered && should_linger(&s, limits) {
                None
            } else {
                let round = take_round(&mut s, limits);
                s.busy = round.len() > 1;
                Some(round)
            }
        };
        let Some(round) = round else {
            lingered = true;
            tokio::time::sleep(limits.linger).await;
            continue;
        };
        lingered = false;
        let mut bodies = Vec::new();
        let mut waiters = Vec::with_capacity(round.len());
        for w in round {
            bodies.extend(w.bodies);
            waiters.push(w.done);
        }
        let items = bodies.len();
        let messages = pack(bodies, limits);
        tracing::trace!(items, messages = messages.len(), "Packed publish round.");
        let result = inner.publish(messages).await;
        for done in waiters {
            let _ = done.send(result.clone());
        }
    }
}

#[async_trait]
impl Queue for Combining {
    async fn publish(&self, bodies: Vec<Vec<u8>>) -> Result<(), QueueError> {
        if bodies.is_empty() {
            return Ok(());
        }
        let (done, result) = oneshot::channel();
        let bytes = bodies.iter().map(|b| b.len() + 1).sum();
        let start = {
            let mut s = lock(&self.state);
            s.waiting.push_back(Waiting {
                bodies,
                bytes,
                done,
            });
            let start = s.publishing < self.limits.in_flight;
            if start {
                s.publishing += 1;
            }
            start
        };
        if start {
            // A task of its own: the round it publishes may carry other callers' bodies,
            // and must finish even if this caller stops waiting.
            tokio::spawn(publish_rounds(
                self.inner.clone(),
                self.limits,
                self.state.clone(),
            ));
        }
        result.await.unwrap_or(Err(QueueError::Closed))
    }

    async fn subscribe(&self, prefetch: usize) -> Result<Box<dyn Subscription>, QueueError> {
        self.inner.subscribe(prefetch).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryQueue;
    use outpost_core::ports::decode_items;

    const SMALL: CombineLimits = CombineLimits {
        message_bytes: 40,
        message_items: 3,
        in_flight: 1,
        linger: Duration::ZERO,
    };

    #[test]
    fn packing_respects_item_and_byte_limits_and_keeps_order() {
        let bodies: Vec<Vec<u8>> = (0..7)
            .map(|n| format!("{{\"n\":{n}}}").into_bytes())
            .collect();
        let messages = pack(bodies.clone(), SMALL);
        let sizes: Vec<usize> = messages
            .iter()
            .map(|m| decode_items::<serde_json::Value>(m).unwrap().len())
            .collect();
        assert_eq!(sizes, vec![3, 3, 1]);
        assert_eq!(
            messages[2],
            br#"{"n":6}"#.to_vec(),
            "one body is sent as is"
        );
        let big = vec![b'"'; 100];
        let with_big = vec![bodies[0].clone(), big.clone(), bodies[1].clone()];
        let messages = pack(with_big, SMALL);
        assert_eq!(messages.len(), 3, "a body over the byte limit goes alone");
        assert_eq!(messages[1], big);
    }

    /// A queue whose publishes wait for a gate, counting broker publishes and messages.
    struct Gated {
        inner: MemoryQueue,
        gate: tokio::sync::Semaphore,
        publishes: std::sync::atomic::AtomicUsize,
        fail: std::sync::atomic::AtomicBool,
    }

    /// A gated queue whose gate lets `permits` publishes through.
    fn gated(permits: usize) -> Arc<Gated> {
        Arc::new(Gated {
            inner: MemoryQueue::new("t", 100),
            gate: tokio::sync::Semaphore::new(permits),
            publishes: Default::default(),
            fail: Default::default(),
        })
    }

    #[async_trait]
    impl Queue for Gated {
        async fn publish(&self, bodies: Vec<Vec<u8>>) -> Result<(), QueueError> {
            self.publishes
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = self.gate.acquire().await.map(|p| p.forget());
            if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(QueueError::Broker("refused by test".into()));
            }
            self.inner.publish(bodies).await
        }
        async fn subscribe(&self, p: usize) -> Result<Box<dyn Subscription>, QueueError> {
            self.inner.subscribe(p).await
        }
    }

    #[tokio::test]
    async fn concurrent_publishes_share_broker_messages_and_each_waits_for_its_own() {
        let gated = gated(0);
        let q = Arc::new(Combining::new(
            gated.clone(),
            CombineLimits {
                message_bytes: 1024,
                message_items: 100,
                in_flight: 1,
                linger: Duration::ZERO,
            },
        ));
        let mut calls = tokio::task::JoinSet::new();
        let publish = |n: u32| {
            let q = q.clone();
            async move { q.publish(vec![format!("{{\"n\":{n}}}").into_bytes()]).await }
        };
        // The first publish is held at the gate; the nine others queue behind it.
        calls.spawn(publish(0));
        while gated.publishes.load(std::sync::atomic::Ordering::SeqCst) < 1 {
            tokio::task::yield_now().await;
        }
        for n in 1..10 {
            calls.spawn(publish(n));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(
            calls.try_join_next().is_none(),
            "nobody returns before its confirm"
        );
        gated.gate.add_permits(10);
        while let Some(r) = calls.join_next().await {
            r.unwrap().unwrap();
        }
        assert_eq!(
            gated.publishes.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "the nine waiting bodies left in one publish"
        );
        let mut sub = q.subscribe(10).await.unwrap();
        let mut seen = Vec::new();
        while seen.len() < 10 {
            let m = sub.next().await.unwrap().unwrap();
            seen.extend(decode_items::<serde_json::Value>(&m.body).unwrap());
            m.ack().await.unwrap();
        }
        let mut ns: Vec<u64> = seen.iter().map(|v| v["n"].as_u64().unwrap()).collect();
        ns.sort();
        assert_eq!(ns, (0..10).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn every_caller_of_a_failed_publish_gets_the_error() {
        let gated = gated(0);
        gated.fail.store(true, std::sync::atomic::Ordering::SeqCst);
        let q = Arc::new(Combining::new(gated.clone(), SMALL));
        let mut calls = tokio::task::JoinSet::new();
        for n in 0..4 {
            let q = q.clone();
            calls
                .spawn(async move { q.publish(vec![format!("{{\"n\":{n}}}").into_bytes()]).await });
        }
        gated.gate.add_permits(10);
        let mut errors = 0;
        while let Some(r) = calls.join_next().await {
            match r.unwrap() {
                Err(QueueError::Broker(m)) => {
                    assert!(m.contains("refused by test"));
                    errors += 1;
                }
                other => panic!("expected the broker's error, got {other:?}"),
            }
        }
        assert_eq!(errors, 4);
        // Nothing is left waiting, and the queue works again once the broker does.
        gated.fail.store(false, std::sync::atomic::Ordering::SeqCst);
        q.publish(vec![b"{\"n\":9}".to_vec()]).await.unwrap();
    }

    /// Under load a round waits its linger for more bodies; idle, a publish goes at once.
    #[tokio::test(start_paused = true)]
    async fn under_load_a_round_lingers_for_more_bodies() {
        let gated = gated(100);
        let q = Arc::new(Combining::new(
            gated.clone(),
            CombineLimits {
                message_bytes: 1024,
                message_items: 100,
                in_flight: 1,
                linger: Duration::from_millis(10),
            },
        ));
        let publishes = || gated.publishes.load(std::sync::atomic::Ordering::SeqCst);
        let two_spaced = |gap: Duration| {
            let (a, b) = (q.clone(), q.clone());
            async move {
                let first = tokio::spawn(async move { a.publish(vec![b"1".to_vec()]).await });
                tokio::time::sleep(gap).await;
                let second = tokio::spawn(async move { b.publish(vec![b"2".to_vec()]).await });
                first.await.unwrap().unwrap();
                second.await.unwrap().unwrap();
            }
        };
        // Idle: two publishes 5 ms apart are two broker publishes (no waiting for company).
        two_spaced(Duration::from_millis(5)).await;
        assert_eq!(publishes(), 2);
        // Under load (the last round was shared), the same two leave together.
        lock(&q.state).busy = true;
        two_spaced(Duration::from_millis(5)).await;
        assert_eq!(
            publishes(),
            3,
            "the first waited 10 ms and took the second along"
        );
        // The shared round keeps the queue under load; a gap longer than the linger is not
        // bridged.
        two_spaced(Duration::from_millis(30)).await;
        assert_eq!(publishes(), 5);
    }
}
