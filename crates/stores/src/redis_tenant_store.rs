//! [`TenantStore`] on Redis, in Outpost's key layout (spec §11.1): a tenant hash, a summary hash
//! of the tenant's destinations (drives matching and counts), one hash per destination with
//! AES-GCM encrypted credentials. Listing tenants uses a lexicographic sorted-set index of our
//! own, so it works on plain Redis without RediSearch; the index is rebuilt from the tenant hashes
//! when it is missing (e.g. on a Redis written by upstream Outpost).

use crate::cipher::Cipher;
use crate::destination_cache::{DestinationCache, change_channel, change_message};
use crate::keys::{Keys, index_member, parse_index_member};
use crate::redis_tenant_codec::{
    destination_fields, parse_destination, parse_record, parse_summaries, text, time_field,
};
use fred::prelude::*;
use fred::types::sorted_sets::{ZRange, ZRangeBound, ZRangeKind};
use outpost_core::StoreError;
use outpost_core::destination::{Destination, DestinationSummary};
use outpost_core::ports::page::Dir;
use outpost_core::ports::{DestinationLookup, TenantKey, TenantListQuery, TenantPage, TenantStore};
use outpost_core::tenant::{Tenant, TenantRecord};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// Seconds a soft-deleted record is kept (as upstream).
const DELETED_TTL_SECS: i64 = 7 * 24 * 3600;

/// Creates or replaces a destination hash and its summary atomically; on create, refuses an
/// existing id or a full tenant. Keys share the tenant hash tag, so this is cluster-safe.
/// Announces the change on the destination change channel (ARGV 5 and 6) in the same step;
/// `pcall`, so a Redis user without pub/sub rights (Redis 7 ACLs grant no channels by default)
/// still writes (the caches of such a deployment never go live: they cannot subscribe either).
const UPSERT_DESTINATION: &str = r#"
if ARGV[1] == 'create' then
  if redis.call('HEXISTS', KEYS[2], ARGV[3]) == 1 then return 'exists' end
  if redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[2]) then return 'max' end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 7))
redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
redis.pcall('PUBLISH', ARGV[5], ARGV[6])
return 'ok'
"#;

/// Soft-deletes a destination if it is live, and announces it (ARGV 4 and 5).
const DELETE_DESTINATION: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'deleted_at') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'deleted_at', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('HDEL', KEYS[2], ARGV[3])
redis.pcall('PUBLISH', ARGV[4], ARGV[5])
return 1
"#;

/// The Redis tenant store.
#[derive(Clone)]
pub struct RedisTenantStore {
    client: Client,
    keys: Keys,
    cipher: Cipher,
    /// Where destination changes are announced ([`crate::destination_cache`]).
    changes: String,
    /// Destinations read lately, when this process follows the change channel.
    cache: Option<Arc<DestinationCache>>,
}

fn be(e: Error) -> StoreError {
    StoreError::backend(e)
}

impl RedisTenantStore {
    /// A store on `client` for the deployment, encrypting with `cipher`.
    pub fn new(client: Client, deployment_id: Option<&str>, cipher: Cipher) -> Self {
        let keys = Keys::new(deployment_id);
        Self {
            client,
            changes: change_channel(keys.prefix()),
            keys,
            cipher,
            cache: None,
        }
    }

    /// The same store, answering [`TenantStore::get_destination`] and
    /// [`TenantStore::list_summaries`] from `cache` while it is live (see [`DestinationCache`];
    /// [`crate::destination_cache::spawn_subscription`] keeps it so).
    pub fn with_destination_cache(mut self, cache: Arc<DestinationCache>) -> Self {
        self.cache = Some(cache);
        self
    }

    /// The channel this store announces destination changes on.
    pub fn change_channel(&self) -> &str {
        &self.changes
    }

    /// A tenant's destination summaries, from Redis.
    async fn read_summaries(&self, tenant_id: &str) -> Result<Vec<DestinationSummary>, StoreError> {
        let h: HashMap<String, String> = self
            .client
            .hgetall(self.keys.summaries(tenant_id))
            .await
            .map_err(be)?;
        parse_summaries(h)
    }

    /// Drops `tenant_id`'s destination `id` (all of its destinations for `None`) from this
    /// process's cache at once, without waiting for the change message to come back.
    fn forget(&self, tenant_id: &str, id: Option<&str>) {
        if let Some(c) = &self.cache {
            c.invalidate(tenant_id, id);
        }
    }

    /// Rebuilds the tenant list index from the tenant hashes if it does not exist yet.
    /// Returns how many tenants were indexed (0 when the index already existed).
    pub async fn ensure_tenant_index(&self) -> Result<usize, StoreError> {
        let marker = format!("{}:built", self.keys.tenant_index());
        let exists: bool = self.client.exists(&marker).await.map_err(be)?;
        if exists {
            return Ok(0);
        }
        let mut cursor = "0".to_string();
        let mut count = 0usize;
        loop {
            let (next, keys): (String, Vec<String>) = self
                .client
                .custom(
                    fred::cmd!("SCAN"),
                    vec![
                        cursor.clone(),
                        "MATCH".into(),
                        self.keys.tenant_pattern(),
                        "COUNT".into(),
                        "500".into(),
                    ],
                )
                .await
                .map_err(be)?;
            for key in keys {
                let h: HashMap<String, Value> = self.client.hgetall(&key).await.map_err(be)?;
                if h.contains_key("deleted_at") {
                    continue;
                }
                let (Some(id), Some(created)) =
                    (h.get("id").and_then(text), time_field(&h, "created_at"))
                else {
                    continue;
                };
                let _: () = self
                    .client
                    .zadd(
                        self.keys.tenant_index(),
                        None,
                        None,
                        false,
                        false,
                        (0.0, index_member(created.timestamp_millis(), &id)),
                    )
                    .await
                    .map_err(be)?;
                count += 1;
            }
            if next == "0" {
                break;
            }
            cursor = next;
        }
        let _: () = self
            .client
            .set(&marker, "1", None, None, false)
            .await
            .map_err(be)?;
        Ok(count)
    }

    /// Reads and decrypts a destination's hash.
    async fn read_destination(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<DestinationLookup, StoreError> {
        let h: HashMap<String, Value> = self
            .client
            .hgetall(self.keys.destination(tenant_id, id))
            .await
            .map_err(be)?;
        if h.is_empty() {
            return Ok(DestinationLookup::NotFound);
        }
        if h.contains_key("deleted_at") {
            return Ok(DestinationLookup::Deleted);
        }
        Ok(DestinationLookup::Found(std::sync::Arc::new(
            parse_destination(&self.cipher, tenant_id, &h)?,
        )))
    }

    async fn tenants_by_ids(&self, ids: &[String]) -> Result<Vec<Tenant>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let p = self.client.pipeline();
        for id in ids {
            let _: () = p.hgetall(self.keys.tenant(id)).await.map_err(be)?;
            let _: () = p.hgetall(self.keys.summaries(id)).await.map_err(be)?;
        }
        let results: Vec<Value> = p.all().await.map_err(be)?;
        let mut out = Vec::with_capacity(ids.len());
        for pair in results.chunks(2) {
            let [tenant, summaries] = pair else { continue };
            let th: HashMap<String, Value> = tenant.clone().convert().map_err(be)?;
            let sh: HashMap<String, String> = summaries.clone().convert().map_err(be)?;
            if let Some(rec) = parse_record(&th)? {
                out.push(Tenant::from_parts(rec, &parse_summaries(sh)?));
            }
        }
        Ok(out)
    }

    async fn upsert_destination(
        &self,
        d: &Destination,
        mode: &str,
        max: usize,
    ) -> Result<(), StoreError> {
        let summary =
            serde_json::to_string(&d.summary()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut args: Vec<Value> = vec![
            mode.into(),
            (max as i64).into(),
            d.id.clone().into(),
            summary.into(),
            self.changes.clone().into(),
            change_message(&d.tenant_id, Some(&d.id)).into(),
        ];
        args.extend(destination_fields(&self.cipher, d)?);
        let res: String = self
            .client
            .eval(
                UPSERT_DESTINATION,
                vec![
                    self.keys.destination(&d.tenant_id, &d.id),
                    self.keys.summaries(&d.tenant_id),
                ],
                args,
            )
            .await
            .map_err(be)?;
        self.forget(&d.tenant_id, Some(&d.id));
        match res.as_str() {
            "ok" => Ok(()),
            "exists" => Err(StoreError::DestinationExists),
            "max" => Err(StoreError::MaxDestinations),
            other => Err(StoreError::Corrupt(format!(
                "unexpected script reply {other}"
            ))),
        }
    }
}

#[async_trait::async_trait]
impl TenantStore for RedisTenantStore {
    async fn get_tenant(&self, id: &str) -> Result<Option<Tenant>, StoreError> {
        Ok(self.tenants_by_ids(&[id.to_string()]).await?.pop())
    }

    async fn upsert_tenant(&self, t: &TenantRecord) -> Result<(), StoreError> {
        let key = self.keys.tenant(&t.id);
        let tx = self.client.multi();
        let _: () = tx.persist(&key).await.map_err(be)?;
        let _: () = tx.hdel(&key, "deleted_at").await.map_err(be)?;
        let mut fields: Vec<(String, Value)> = vec![
            ("id".into(), t.id.clone().into()),
            ("entity".into(), "tenant".into()),
            ("created_at".into(), t.created_at.timestamp_millis().into()),
            ("updated_at".into(), t.updated_at.timestamp_millis().into()),
        ];
        match &t.metadata {
            Some(m) => fields.push((
                "metadata".into(),
                serde_json::to_string(m).unwrap_or_default().into(),
            )),
            None => {
                let _: () = tx.hdel(&key, "metadata").await.map_err(be)?;
            }
        }
        let _: () = tx.hset(&key, fields).await.map_err(be)?;
        let _: () = tx
            .zadd(
                self.keys.tenant_index(),
                None,
                None,
                false,
                false,
                (0.0, index_member(t.created_at.timestamp_millis(), &t.id)),
            )
            .await
            .map_err(be)?;
        let _: Value = tx.exec(true).await.map_err(be)?;
        Ok(())
    }

    async fn delete_tenant(&self, id: &str) -> Result<bool, StoreError> {
        let key = self.keys.tenant(id);
        let h: HashMap<String, Value> = self.client.hgetall(&key).await.map_err(be)?;
        let Some(rec) = parse_record(&h)? else {
            return Ok(false);
        };
        let dest_ids: Vec<String> = self
            .client
            .hkeys(self.keys.summaries(id))
            .await
            .map_err(be)?;
        let now = outpost_core::time::now_ms().timestamp_millis();
        let tx = self.client.multi();
        for d in &dest_ids {
            let dk = self.keys.destination(id, d);
            let _: () = tx.hset(&dk, ("deleted_at", now)).await.map_err(be)?;
            let _: () = tx.expire(&dk, DELETED_TTL_SECS, None).await.map_err(be)?;
        }
        let _: () = tx.del(self.keys.summaries(id)).await.map_err(be)?;
        let _: () = tx.hset(&key, ("deleted_at", now)).await.map_err(be)?;
        let _: () = tx.expire(&key, DELETED_TTL_SECS, None).await.map_err(be)?;
        let _: () = tx
            .zrem(
                self.keys.tenant_index(),
                index_member(rec.created_at.timestamp_millis(), &rec.id),
            )
            .await
            .map_err(be)?;
        let _: Value = tx.exec(true).await.map_err(be)?;
        // After the transaction, not in it: a PUBLISH refused by an ACL would abort it.
        let announced: Result<(), Error> = self
            .client
            .publish(&self.changes, change_message(id, None))
            .await;
        if let Err(e) = announced {
            tracing::warn!(error = %e, tenant_id = id, "Cannot announce the tenant's deletion to destination caches; they drop its destinations within DESTINATION_CACHE_TTL_SECONDS.");
        }
        self.forget(id, None);
        Ok(true)
    }

    async fn list_tenants(&self, q: &TenantListQuery) -> Result<TenantPage, StoreError> {
        if !q.ids.is_empty() {
            let mut ids = q.ids.clone();
            ids.sort();
            ids.dedup();
            let mut all = self.tenants_by_ids(&ids).await?;
            all.sort_by_key(Tenant::sort_key);
            let count = all.len();
            let (dir, after) = q.page.scan();
            if dir == Dir::Desc {
                all.reverse();
            }
            let items: Vec<Tenant> = all
                .into_iter()
                .filter(|t| match (after, dir) {
                    (None, _) => true,
                    (Some(a), Dir::Asc) => t.sort_key() > *a,
                    (Some(a), Dir::Desc) => t.sort_key() < *a,
                })
                .take(q.page.limit + 1)
                .collect();
            return Ok(TenantPage {
                page: q.page.build(items, Tenant::sort_key),
                count,
            });
        }
        let index = self.keys.tenant_index();
        let count: i64 = self.client.zcard(&index).await.map_err(be)?;
        let (dir, after) = q.page.scan();
        let bound = |k: &TenantKey| ZRange {
            kind: ZRangeKind::Exclusive,
            range: ZRangeBound::Lex(index_member(k.created_ms, &k.id)),
        };
        let limit = Some((0i64, (q.page.limit + 1) as i64));
        let members: Vec<String> = match dir {
            Dir::Asc => {
                let min = after.map(bound).unwrap_or(ZRange {
                    kind: ZRangeKind::Inclusive,
                    range: ZRangeBound::NegInfinityLex,
                });
                let max = ZRange {
                    kind: ZRangeKind::Inclusive,
                    range: ZRangeBound::InfiniteLex,
                };
                self.client
                    .zrangebylex(&index, min, max, limit)
                    .await
                    .map_err(be)?
            }
            Dir::Desc => {
                let max = after.map(bound).unwrap_or(ZRange {
                    kind: ZRangeKind::Inclusive,
                    range: ZRangeBound::InfiniteLex,
                });
                let min = ZRange {
                    kind: ZRangeKind::Inclusive,
                    range: ZRangeBound::NegInfinityLex,
                };
                self.client
                    .zrevrangebylex(&index, max, min, limit)
                    .await
                    .map_err(be)?
            }
        };
        let ids: Vec<String> = members
            .iter()
            .filter_map(|m| parse_index_member(m).map(|(_, id)| id))
            .collect();
        let by_id: HashMap<String, Tenant> = self
            .tenants_by_ids(&ids)
            .await?
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect();
        let items: Vec<Tenant> = ids.iter().filter_map(|id| by_id.get(id).cloned()).collect();
        Ok(TenantPage {
            page: q.page.build(items, Tenant::sort_key),
            count: usize::try_from(count).unwrap_or(0),
        })
    }

    async fn list_destinations(&self, tenant_id: &str) -> Result<Vec<Destination>, StoreError> {
        let ids: Vec<String> = self
            .client
            .hkeys(self.keys.summaries(tenant_id))
            .await
            .map_err(be)?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let p = self.client.pipeline();
        for id in &ids {
            let _: () = p
                .hgetall(self.keys.destination(tenant_id, id))
                .await
                .map_err(be)?;
        }
        let results: Vec<HashMap<String, Value>> = p.all().await.map_err(be)?;
        let mut out: Vec<Destination> = Vec::with_capacity(results.len());
        for h in results {
            if h.is_empty() || h.contains_key("deleted_at") {
                continue;
            }
            out.push(parse_destination(&self.cipher, tenant_id, &h)?);
        }
        out.sort_by(|a, b| {
            a.created_at
                .cmp(&b.created_at)
                .then_with(|| a.id.cmp(&b.id))
        });
        Ok(out)
    }

    async fn get_destination(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<DestinationLookup, StoreError> {
        let Some(cache) = &self.cache else {
            return self.read_destination(tenant_id, id).await;
        };
        if let Some(hit) = cache.get(tenant_id, id, Instant::now()) {
            return Ok(hit);
        }
        let generation = cache.generation();
        let lookup = self.read_destination(tenant_id, id).await?;
        cache.insert(generation, tenant_id, id, lookup.clone(), Instant::now());
        Ok(lookup)
    }

    async fn create_destination(&self, d: &Destination, max: usize) -> Result<(), StoreError> {
        self.upsert_destination(d, "create", max).await
    }

    async fn update_destination(&self, d: &Destination) -> Result<(), StoreError> {
        self.upsert_destination(d, "update", usize::MAX >> 1).await
    }

    async fn delete_destination(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        let now = outpost_core::time::now_ms().timestamp_millis();
        let n: i64 = self
            .client
            .eval(
                DELETE_DESTINATION,
                vec![
                    self.keys.destination(tenant_id, id),
                    self.keys.summaries(tenant_id),
                ],
                vec![
                    Value::from(now),
                    Value::from(DELETED_TTL_SECS),
                    Value::from(id.to_string()),
                    Value::from(self.changes.clone()),
                    Value::from(change_message(tenant_id, Some(id))),
                ],
            )
            .await
            .map_err(be)?;
        self.forget(tenant_id, Some(id));
        Ok(n == 1)
    }

    async fn list_summaries(&self, tenant_id: &str) -> Result<Vec<DestinationSummary>, StoreError> {
        let Some(cache) = &self.cache else {
            return self.read_summaries(tenant_id).await;
        };
        if let Some(hit) = cache.get_summaries(tenant_id, Instant::now()) {
            return Ok(hit.to_vec());
        }
        let generation = cache.generation();
        let summaries = self.read_summaries(tenant_id).await?;
        cache.insert_summaries(
            generation,
            tenant_id,
            Arc::from(summaries.as_slice()),
            Instant::now(),
        );
        Ok(summaries)
    }
}
