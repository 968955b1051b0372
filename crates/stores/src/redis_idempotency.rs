//! [`Idempotency`] on Redis: `SET key processing NX EX 5`, then `SET key processed EX ttl`
//! (keys `{dp}idempotency:<scope>:<key>` as upstream); a claim held longer is renewed by a
//! script that extends the keys still `processing`. The claims and settlements issued at the
//! same time go to Redis together ([`crate::redis_set_batch`]).

use crate::redis_client::expiry_secs;
use crate::redis_set_batch::SetBatcher;
use fred::prelude::*;
use outpost_core::StoreError;
use outpost_core::ports::idempotency::{Claim, Idempotency, PROCESSING_TTL};
use std::time::Duration;

/// KEYS: claims; ARGV[1]: their new TTL in milliseconds. Extends the keys still
/// `processing` (a processed key keeps its own TTL, a free key stays free); how many.
const RENEW: &str = r#"
local n = 0
for _, k in ipairs(KEYS) do
  if redis.call('GET', k) == 'processing' then
    redis.call('PEXPIRE', k, ARGV[1])
    n = n + 1
  end
end
return n
"#;

/// Idempotency keys of one scope (`publishmq` or `deliverymq`).
#[derive(Clone)]
pub struct RedisIdempotency {
    client: Client,
    sets: SetBatcher,
    prefix: String,
    processing_ttl: Duration,
}

impl RedisIdempotency {
    /// Keys under `{dp}idempotency:<scope>:`.
    pub fn new(client: Client, deployment_id: Option<&str>, scope: &str) -> Self {
        let dp = deployment_id.map(|d| format!("{d}:")).unwrap_or_default();
        Self {
            sets: SetBatcher::new(client.clone()),
            client,
            prefix: format!("{dp}idempotency:{scope}:"),
            processing_ttl: PROCESSING_TTL,
        }
    }

    /// Claims last `ttl` (whole seconds, at least 1) instead of [`PROCESSING_TTL`].
    pub fn with_processing_ttl(mut self, ttl: Duration) -> Self {
        self.processing_ttl = ttl;
        self
    }

    fn key(&self, k: &str) -> String {
        format!("{}{k}", self.prefix)
    }
}

fn be(e: Error) -> StoreError {
    StoreError::backend(e)
}

fn parse(v: Option<String>) -> Option<Claim> {
    match v.as_deref() {
        Some("processed") => Some(Claim::Processed),
        Some(_) => Some(Claim::Processing),
        None => None,
    }
}

#[async_trait::async_trait]
impl Idempotency for RedisIdempotency {
    fn processing_ttl(&self) -> Duration {
        self.processing_ttl
    }

    async fn claim(&self, key: &str) -> Result<Claim, StoreError> {
        let ttl = expiry_secs(self.processing_ttl);
        let set = self
            .sets
            .set(self.key(key), "processing", ttl, true)
            .await
            .map_err(be)?;
        if set {
            return Ok(Claim::Acquired);
        }
        Ok(self.state(key).await?.unwrap_or(Claim::Processing))
    }

    async fn state(&self, key: &str) -> Result<Option<Claim>, StoreError> {
        let v: Option<String> = self.client.get(self.key(key)).await.map_err(be)?;
        Ok(parse(v))
    }

    async fn mark_processed(&self, key: &str, ttl: Duration) -> Result<(), StoreError> {
        self.sets
            .set(self.key(key), "processed", expiry_secs(ttl), false)
            .await
            .map_err(be)?;
        Ok(())
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        let _: () = self.client.del(self.key(key)).await.map_err(be)?;
        Ok(())
    }

    async fn renew(&self, keys: &[String]) -> Result<usize, StoreError> {
        if keys.is_empty() {
            return Ok(0);
        }
        let ttl_ms = i64::try_from(self.processing_ttl.as_millis().max(1000)).unwrap_or(i64::MAX);
        let renewed: i64 = self
            .client
            .eval(
                RENEW,
                keys.iter().map(|k| self.key(k)).collect::<Vec<_>>(),
                vec![Value::from(ttl_ms)],
            )
            .await
            .map_err(be)?;
        Ok(usize::try_from(renewed).unwrap_or(0))
    }
}
