//! [`RetryScheduler`] on Redis: a sorted set of ids by due time (ms) and a hash of payloads,
//! under `{dp}outpost:retry:`. Claiming due entries is one Lua script, so several monitors can
//! poll the same Redis without taking the same entry twice.

use fred::prelude::*;
use outpost_core::StoreError;
use outpost_core::ports::scheduler::{DueRetry, RetryScheduler};
use outpost_core::time::{Timestamp, from_unix_ms};
use std::time::Duration;

const CLAIM: &str = r#"
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], ARGV[3], id)
  table.insert(out, id)
  table.insert(out, redis.call('HGET', KEYS[2], id) or '')
end
return out
"#;

/// Removes each (id, payload) pair of ARGV whose stored payload is still that payload.
const COMPLETE: &str = r#"
local n = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[i + 1] then
    redis.call('ZREM', KEYS[1], ARGV[i])
    redis.call('HDEL', KEYS[2], ARGV[i])
    n = n + 1
  end
end
return n
"#;

/// The Redis retry scheduler.
#[derive(Clone)]
pub struct RedisScheduler {
    client: Client,
    due_key: String,
    payload_key: String,
}

fn be(e: Error) -> StoreError {
    StoreError::backend(e)
}

/// KEYS[1]: the due set; ARGV[1]: the new due time (ms); ARGV[2..]: ids. Moves the ids due
/// later than that to it; how many.
const ADVANCE: &str = r#"
local due = tonumber(ARGV[1])
local n = 0
for i = 2, #ARGV do
  local at = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if at and tonumber(at) > due then
    redis.call('ZADD', KEYS[1], 'XX', due, ARGV[i])
    n = n + 1
  end
end
return n
"#;

impl RedisScheduler {
    /// A scheduler for the deployment.
    pub fn new(client: Client, deployment_id: Option<&str>) -> Self {
        let dp = deployment_id.map(|d| format!("{d}:")).unwrap_or_default();
        Self {
            client,
            due_key: format!("{dp}outpost:retry:{{q}}:due"),
            payload_key: format!("{dp}outpost:retry:{{q}}:payload"),
        }
    }
}

#[async_trait::async_trait]
impl RetryScheduler for RedisScheduler {
    async fn schedule(&self, id: &str, due: Timestamp, payload: Vec<u8>) -> Result<(), StoreError> {
        let tx = self.client.multi();
        let _: () = tx
            .hset(&self.payload_key, (id, Value::Bytes(payload.into())))
            .await
            .map_err(be)?;
        let _: () = tx
            .zadd(
                &self.due_key,
                None,
                None,
                false,
                false,
                (due.timestamp_millis() as f64, id),
            )
            .await
            .map_err(be)?;
        let _: Value = tx.exec(true).await.map_err(be)?;
        Ok(())
    }

    async fn cancel(&self, id: &str) -> Result<(), StoreError> {
        let tx = self.client.multi();
        let _: () = tx.zrem(&self.due_key, id).await.map_err(be)?;
        let _: () = tx.hdel(&self.payload_key, id).await.map_err(be)?;
        let _: Value = tx.exec(true).await.map_err(be)?;
        Ok(())
    }

    async fn claim_due(
        &self,
        now: Timestamp,
        max: usize,
        visibility: Duration,
    ) -> Result<Vec<DueRetry>, StoreError> {
        let now_ms = now.timestamp_millis();
        let hidden = now_ms + i64::try_from(visibility.as_millis()).unwrap_or(i64::MAX / 4);
        let flat: Vec<Value> = self
            .client
            .eval(
                CLAIM,
                vec![self.due_key.clone(), self.payload_key.clone()],
                vec![
                    Value::from(now_ms),
                    Value::from(max as i64),
                    Value::from(hidden),
                ],
            )
            .await
            .map_err(be)?;
        let mut out = Vec::with_capacity(flat.len() / 2);
        for pair in flat.chunks(2) {
            if let [id, payload] = pair {
                let id = id.as_str().map(|s| s.into_owned()).unwrap_or_default();
                let payload = payload.as_bytes().map(<[u8]>::to_vec).unwrap_or_default();
                out.push(DueRetry { id, payload });
            }
        }
        Ok(out)
    }

    async fn complete(&self, done: &[DueRetry]) -> Result<(), StoreError> {
        if done.is_empty() {
            return Ok(());
        }
        let args: Vec<Value> = done
            .iter()
            .flat_map(|d| {
                [
                    Value::from(d.id.as_str()),
                    Value::Bytes(d.payload.clone().into()),
                ]
            })
            .collect();
        let _: i64 = self
            .client
            .eval(
                COMPLETE,
                vec![self.due_key.clone(), self.payload_key.clone()],
                args,
            )
            .await
            .map_err(be)?;
        Ok(())
    }

    async fn advance(&self, ids: &[String], due: Timestamp) -> Result<usize, StoreError> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut args = Vec::with_capacity(ids.len() + 1);
        args.push(Value::from(due.timestamp_millis()));
        args.extend(ids.iter().map(|id| Value::from(id.as_str())));
        let moved: i64 = self
            .client
            .eval(ADVANCE, vec![self.due_key.clone()], args)
            .await
            .map_err(be)?;
        Ok(usize::try_from(moved).unwrap_or(0))
    }

    async fn next_due(&self) -> Result<Option<Timestamp>, StoreError> {
        let first: Vec<(String, f64)> = self
            .client
            .zrange(&self.due_key, 0, 0, None, false, None, true)
            .await
            .map_err(be)?;
        Ok(first.first().map(|(_, s)| from_unix_ms(*s as i64)))
    }
}
