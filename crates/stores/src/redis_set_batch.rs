//! Group commit of the idempotency `SET`s: the claims and settlements issued while one batch
//! is on its way to Redis leave together in the next, as one script call.
//!
//! fred writes each command to the socket on its own (a `writev` and, on loopback, the whole
//! TCP receive path) whenever its queue is momentarily empty, which under load is nearly
//! always, pipelines included: in `make bench` case A every idempotency `SET` was a syscall of
//! its own on both sides. Here one worker task takes every `SET` waiting, sends a lone one as
//! the plain command and several as one [`SET_ALL`] call (one frame, one reply), and answers
//! each caller with its own result. Each `SET` keeps its own semantics (the script runs them
//! in order, atomically as a whole); an idle caller waits for nothing but its own command.

use fred::prelude::*;
use fred::types::{Expiration, SetOptions};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::{mpsc, oneshot};

/// Most `SET`s in one call.
const MAX_BATCH: usize = 256;

/// `SET`s waiting for the worker at most (callers wait beyond it).
const QUEUE: usize = 4096;

/// KEYS: the keys; ARGV: per key its value, its TTL in seconds and `1` for `NX` (`0`
/// otherwise). Returns per key 1 when it was set, 0 when `NX` found it taken.
const SET_ALL: &str = r#"
local out = {}
for i, k in ipairs(KEYS) do
  local v, ttl, nx = ARGV[3 * i - 2], ARGV[3 * i - 1], ARGV[3 * i]
  local r
  if nx == '1' then
    r = redis.call('SET', k, v, 'EX', ttl, 'NX')
  else
    r = redis.call('SET', k, v, 'EX', ttl)
  end
  out[i] = r and 1 or 0
end
return out
"#;

/// One `SET key value EX ttl [NX]` and where its answer goes (true: the key was set).
struct SetOp {
    key: String,
    value: &'static str,
    ttl_secs: i64,
    nx: bool,
    done: oneshot::Sender<Result<bool, Error>>,
}

/// The batching front of one client; cheap to clone, the worker starts on first use.
#[derive(Clone)]
pub(crate) struct SetBatcher {
    client: Client,
    queue: Arc<OnceLock<mpsc::Sender<SetOp>>>,
    calls: Arc<AtomicU64>,
}

impl SetBatcher {
    pub(crate) fn new(client: Client) -> Self {
        Self {
            client,
            queue: Arc::default(),
            calls: Arc::default(),
        }
    }

    /// `SET key value EX ttl_secs` (with `NX` when `nx`); true when the key was set.
    pub(crate) async fn set(
        &self,
        key: String,
        value: &'static str,
        ttl_secs: i64,
        nx: bool,
    ) -> Result<bool, Error> {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            tokio::spawn(run(self.client.clone(), rx, self.calls.clone()));
            tx
        });
        let (done, answer) = oneshot::channel();
        let op = SetOp {
            key,
            value,
            ttl_secs,
            nx,
            done,
        };
        let closed = || Error::new(ErrorKind::Canceled, "the idempotency SET worker stopped");
        queue.send(op).await.map_err(|_| closed())?;
        answer.await.unwrap_or_else(|_| Err(closed()))
    }

    /// Redis calls made so far (one per batch).
    #[cfg(test)]
    pub(crate) fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }
}

/// Sends the waiting `SET`s, a batch at a time, until every sender is gone.
async fn run(client: Client, mut rx: mpsc::Receiver<SetOp>, calls: Arc<AtomicU64>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        calls.fetch_add(1, Ordering::Relaxed);
        match send(&client, &batch).await {
            Ok(set) => {
                for (op, set) in batch.drain(..).zip(set) {
                    let _ = op.done.send(Ok(set));
                }
            }
            Err(e) => {
                for op in batch.drain(..) {
                    let _ = op.done.send(Err(e.clone()));
                }
            }
        }
    }
}

/// One call for `batch`: the plain command for one `SET`, [`SET_ALL`] for several.
async fn send(client: &Client, batch: &[SetOp]) -> Result<Vec<bool>, Error> {
    if let [op] = batch {
        let set: Option<String> = client
            .set(
                op.key.as_str(),
                op.value,
                Some(Expiration::EX(op.ttl_secs)),
                op.nx.then_some(SetOptions::NX),
                false,
            )
            .await?;
        return Ok(vec![set.is_some()]);
    }
    let keys: Vec<&str> = batch.iter().map(|op| op.key.as_str()).collect();
    let mut args: Vec<Value> = Vec::with_capacity(batch.len() * 3);
    for op in batch {
        args.push(op.value.into());
        args.push(op.ttl_secs.into());
        args.push(if op.nx { "1" } else { "0" }.into());
    }
    let set: Vec<i64> = client.eval(SET_ALL, keys, args).await?;
    if set.len() != batch.len() {
        return Err(Error::new(
            ErrorKind::Protocol,
            format!(
                "the batched SET answered {} results for {} keys",
                set.len(),
                batch.len()
            ),
        ));
    }
    Ok(set.into_iter().map(|s| s == 1).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RedisSettings, connect};

    /// Fifty `SET`s issued together are one or two Redis calls, and each caller gets its own
    /// answer: every distinct key is set, one of ten `NX` claims of a shared key wins.
    #[tokio::test(flavor = "current_thread")]
    async fn waiting_sets_leave_together_and_keep_their_own_answers() {
        let settings = RedisSettings::at(&outpost_test_support::redis_addr())
            .expect("TEST_REDIS_ADDR is host:port");
        let client = connect(&settings).await.unwrap();
        let prefix = outpost_test_support::unique("setbatch");
        let sets = SetBatcher::new(client.clone());
        let mut calls = tokio::task::JoinSet::new();
        for i in 0..50 {
            let sets = sets.clone();
            let key = if i < 40 {
                format!("{prefix}:k{i}")
            } else {
                format!("{prefix}:shared")
            };
            calls.spawn(async move { (i, sets.set(key, "processing", 5, true).await.unwrap()) });
        }
        let answers = calls.join_all().await;
        assert!(answers.iter().filter(|(i, _)| *i < 40).all(|(_, set)| *set));
        let shared_won = answers.iter().filter(|(i, set)| *i >= 40 && *set).count();
        assert_eq!(shared_won, 1, "one NX claim of the shared key wins");
        assert!(
            sets.calls() <= 2,
            "{} Redis calls for 50 SETs",
            sets.calls()
        );

        // A lone SET goes as the plain command, with the same answers.
        let calls_before = sets.calls();
        let shared = format!("{prefix}:shared");
        assert!(
            !sets
                .set(shared.clone(), "processing", 5, true)
                .await
                .unwrap()
        );
        assert!(
            sets.set(shared.clone(), "processed", 60, false)
                .await
                .unwrap()
        );
        assert_eq!(sets.calls(), calls_before + 2);
        let value: Option<String> = client.get(&shared).await.unwrap();
        assert_eq!(value.as_deref(), Some("processed"));
        let ttl: i64 = client.ttl(&shared).await.unwrap();
        assert!((1..=60).contains(&ttl), "TTL {ttl}");
        let ttl: i64 = client.ttl(format!("{prefix}:k7")).await.unwrap();
        assert!((1..=5).contains(&ttl), "TTL {ttl}");

        let keys: Vec<String> = (0..40)
            .map(|i| format!("{prefix}:k{i}"))
            .chain([shared])
            .collect();
        let _: i64 = client.del(keys).await.unwrap();
    }
}
