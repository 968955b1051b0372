//! [`AlertState`] on Redis with upstream's keys: `{dp}alert:<tenant>:<dest>:cf` (set of failed
//! attempt ids), `{dp}opevents:exhausted:<tenant>:<dest>` (suppression window) and
//! `{dp}logmq:processed:<attempt_id>` (replay gate).

use crate::redis_client::expiry_secs;
use fred::prelude::*;
use fred::types::{Expiration, SetOptions};
use outpost_core::StoreError;
use outpost_core::ports::alert_state::{AlertState, STATE_TTL};
use std::time::Duration;

/// The Redis alert state.
#[derive(Clone)]
pub struct RedisAlertState {
    client: Client,
    dp: String,
}

fn be(e: Error) -> StoreError {
    StoreError::backend(e)
}

impl RedisAlertState {
    /// State for the deployment.
    pub fn new(client: Client, deployment_id: Option<&str>) -> Self {
        Self {
            client,
            dp: deployment_id.map(|d| format!("{d}:")).unwrap_or_default(),
        }
    }
}

#[async_trait::async_trait]
impl AlertState for RedisAlertState {
    async fn record_failure(&self, t: &str, d: &str, attempt_id: &str) -> Result<u64, StoreError> {
        let key = format!("{}alert:{t}:{d}:cf", self.dp);
        let p = self.client.pipeline();
        let _: () = p.sadd(&key, attempt_id).await.map_err(be)?;
        let _: () = p.scard(&key).await.map_err(be)?;
        let _: () = p
            .expire(&key, expiry_secs(STATE_TTL), None)
            .await
            .map_err(be)?;
        let (_, count, _): (i64, i64, i64) = p.all().await.map_err(be)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    async fn reset(&self, t: &str, d: &str) -> Result<(), StoreError> {
        let _: () = self
            .client
            .del(format!("{}alert:{t}:{d}:cf", self.dp))
            .await
            .map_err(be)?;
        Ok(())
    }

    async fn claim_exhausted_window(
        &self,
        t: &str,
        d: &str,
        window: Duration,
    ) -> Result<bool, StoreError> {
        if window.is_zero() {
            return Ok(true);
        }
        let set: Option<String> = self
            .client
            .set(
                format!("{}opevents:exhausted:{t}:{d}", self.dp),
                "1",
                Some(Expiration::EX(expiry_secs(window))),
                Some(SetOptions::NX),
                false,
            )
            .await
            .map_err(be)?;
        Ok(set.is_some())
    }

    async fn is_processed(&self, attempt_id: &str) -> Result<bool, StoreError> {
        let n: i64 = self
            .client
            .exists(format!("{}logmq:processed:{attempt_id}", self.dp))
            .await
            .map_err(be)?;
        Ok(n > 0)
    }

    async fn mark_processed(&self, attempt_id: &str) -> Result<(), StoreError> {
        let _: () = self
            .client
            .set(
                format!("{}logmq:processed:{attempt_id}", self.dp),
                "1",
                Some(Expiration::EX(expiry_secs(STATE_TTL))),
                None,
                false,
            )
            .await
            .map_err(be)?;
        Ok(())
    }
}
