//! A process-local cache of destinations for the hot paths: a delivery does not read and
//! decrypt its destination's Redis hash every time, and a publish does not read its tenant's
//! destination summaries (the routing table) every time.
//!
//! Every write of a destination in [`crate::RedisTenantStore`] publishes the destination's
//! identity on a Redis pub/sub channel (see [`change_channel`]): in the script that writes it,
//! or right after the transaction of a tenant's deletion. A cache subscribes to that channel and drops what changed, so changes made
//! through any Outpost process are seen as soon as the message arrives. The cache is trusted only
//! while its subscription is known to be up: on a connection error or a reconnection it is
//! emptied and bypassed until it has subscribed again, since messages published in the gap are
//! lost. Entries also expire after a TTL, which bounds staleness from writers that do not
//! publish (an upstream Outpost sharing the Redis).
//!
//! A read that raced with a change must not put the old value back: every change bumps a
//! generation counter, and a value read from Redis is kept only if the generation it was read
//! under is still current.

use fred::prelude::*;
use outpost_core::destination::DestinationSummary;
use outpost_core::ports::DestinationLookup;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

/// The pub/sub channel carrying destination changes for a deployment (`prefix` is the
/// deployment's key prefix, `""` or `"<id>:"`). Pub/sub channels are shared by every database
/// of a Redis server, so deployments on different database numbers without a deployment id
/// see each other's changes: harmless, each only drops entries it then reads again.
pub fn change_channel(prefix: &str) -> String {
    format!("{prefix}outpost:destination-changes")
}

/// The message announcing a change of one destination, or of all of a tenant's destinations
/// when `destination_id` is `None` (tenant deletion).
pub fn change_message(tenant_id: &str, destination_id: Option<&str>) -> String {
    serde_json::json!([tenant_id, destination_id]).to_string()
}

/// What [`change_message`] encoded; `None` for a message this version does not understand
/// (the caller then drops everything).
fn parse_change(payload: &str) -> Option<(String, Option<String>)> {
    serde_json::from_str(payload).ok()
}

/// A value read from Redis, and when.
struct Entry<T> {
    value: T,
    stored: Instant,
}

impl<T> Entry<T> {
    /// Whether it may still be served at `now`.
    fn fresh(&self, now: Instant, ttl: Duration) -> bool {
        now.saturating_duration_since(self.stored) < ttl
    }
}

/// A tenant's entries: its destinations by id (Found or Deleted; a destination not found is
/// not cached, it may be about to be created), and its summaries.
#[derive(Default)]
struct TenantEntries {
    destinations: HashMap<String, Entry<DestinationLookup>>,
    summaries: Option<Entry<Arc<[DestinationSummary]>>>,
}

impl TenantEntries {
    fn len(&self) -> usize {
        self.destinations.len() + usize::from(self.summaries.is_some())
    }
}

/// Entries by tenant, then destination id: looked up by borrowed ids (no allocation per
/// read), and a tenant's entries dropped at once.
#[derive(Default)]
struct Entries {
    by_tenant: HashMap<String, TenantEntries>,
    len: usize,
}

impl Entries {
    /// A tenant's entries, made if absent (on a miss only: the key is allocated).
    fn tenant(&mut self, tenant_id: &str) -> &mut TenantEntries {
        self.by_tenant.entry(tenant_id.to_string()).or_default()
    }

    fn insert(&mut self, tenant_id: &str, id: &str, entry: Entry<DestinationLookup>) {
        if self
            .tenant(tenant_id)
            .destinations
            .insert(id.to_string(), entry)
            .is_none()
        {
            self.len += 1;
        }
    }

    fn insert_summaries(&mut self, tenant_id: &str, entry: Entry<Arc<[DestinationSummary]>>) {
        if self.tenant(tenant_id).summaries.replace(entry).is_none() {
            self.len += 1;
        }
    }

    /// Drops destination `id` of the tenant, and the tenant's summaries (they list it).
    fn remove(&mut self, tenant_id: &str, id: &str) {
        if let Some(tenant) = self.by_tenant.get_mut(tenant_id) {
            let before = tenant.len();
            tenant.destinations.remove(id);
            tenant.summaries = None;
            self.len -= before - tenant.len();
            if tenant.len() == 0 {
                self.by_tenant.remove(tenant_id);
            }
        }
    }

    fn remove_tenant(&mut self, tenant_id: &str) {
        if let Some(tenant) = self.by_tenant.remove(tenant_id) {
            self.len -= tenant.len();
        }
    }

    fn retain_fresh(&mut self, now: Instant, ttl: Duration) {
        self.by_tenant.retain(|_, tenant| {
            tenant.destinations.retain(|_, e| e.fresh(now, ttl));
            if tenant
                .summaries
                .as_ref()
                .is_some_and(|e| !e.fresh(now, ttl))
            {
                tenant.summaries = None;
            }
            tenant.len() > 0
        });
        self.len = self.by_tenant.values().map(TenantEntries::len).sum();
    }

    fn clear(&mut self) {
        self.by_tenant.clear();
        self.len = 0;
    }
}

/// The cache. Shared by the tenant store (reads) and the subscription task (changes).
pub struct DestinationCache {
    entries: RwLock<Entries>,
    generation: AtomicU64,
    live: AtomicBool,
    ttl: Duration,
    max_entries: usize,
}

impl std::fmt::Debug for DestinationCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DestinationCache")
            .field("ttl", &self.ttl)
            .field("live", &self.live.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl DestinationCache {
    /// An empty cache keeping entries for `ttl`, at most `max_entries` of them. It is not live
    /// (serves nothing) until [`DestinationCache::set_live`] is called.
    pub fn new(ttl: Duration, max_entries: usize) -> Self {
        Self {
            entries: RwLock::new(Entries::default()),
            generation: AtomicU64::new(0),
            live: AtomicBool::new(false),
            ttl,
            max_entries: max_entries.max(1),
        }
    }

    /// The generation to pass to [`DestinationCache::insert`] for a value about to be read.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Whether the cache may serve (its change feed is up).
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    /// Marks the change feed up (`true`) or down (`false`). Either way the cache starts empty:
    /// changes may have been missed while the feed was down.
    pub fn set_live(&self, live: bool) {
        if !live {
            self.live.store(false, Ordering::Release);
        }
        self.clear();
        if live {
            self.live.store(true, Ordering::Release);
        }
    }

    /// The cached lookup of a destination, if live, present and fresh.
    pub fn get(&self, tenant_id: &str, id: &str, now: Instant) -> Option<DestinationLookup> {
        self.serve(tenant_id, now, |t| t.destinations.get(id))
    }

    /// The cached summaries of a tenant's destinations, if live, present and fresh.
    pub fn get_summaries(
        &self,
        tenant_id: &str,
        now: Instant,
    ) -> Option<Arc<[DestinationSummary]>> {
        self.serve(tenant_id, now, |t| t.summaries.as_ref())
    }

    /// The value `pick` finds among a tenant's entries, if the cache is live and it is fresh.
    fn serve<T: Clone>(
        &self,
        tenant_id: &str,
        now: Instant,
        pick: impl FnOnce(&TenantEntries) -> Option<&Entry<T>>,
    ) -> Option<T> {
        if !self.is_live() {
            return None;
        }
        let entries = self.entries.read().ok()?;
        let e = pick(entries.by_tenant.get(tenant_id)?)?;
        e.fresh(now, self.ttl).then(|| e.value.clone())
    }

    /// Keeps a tenant's summaries, read from Redis under `generation`, unless a change arrived
    /// since (or the feed is down).
    pub fn insert_summaries(
        &self,
        generation: u64,
        tenant_id: &str,
        value: Arc<[DestinationSummary]>,
        now: Instant,
    ) {
        if let Some(mut entries) = self.writable(generation, now) {
            entries.insert_summaries(tenant_id, Entry { value, stored: now });
        }
    }

    /// The entries, write-locked, when a value read under `generation` may be kept: the feed
    /// is live and no change arrived since. Room is made for one more entry.
    fn writable(
        &self,
        generation: u64,
        now: Instant,
    ) -> Option<std::sync::RwLockWriteGuard<'_, Entries>> {
        let mut entries = self.entries.write().ok()?;
        // Checked under the write lock: `invalidate` bumps the generation before it takes the
        // lock, so either it sees this entry and drops it, or this sees the new generation.
        if !self.is_live() || self.generation.load(Ordering::Acquire) != generation {
            return None;
        }
        if entries.len >= self.max_entries {
            entries.retain_fresh(now, self.ttl);
            if entries.len >= self.max_entries {
                entries.clear();
            }
        }
        Some(entries)
    }

    /// Keeps `value`, read from Redis under `generation`, unless a change arrived since (or the
    /// feed is down).
    pub fn insert(
        &self,
        generation: u64,
        tenant_id: &str,
        id: &str,
        value: DestinationLookup,
        now: Instant,
    ) {
        if matches!(value, DestinationLookup::NotFound) {
            return;
        }
        if let Some(mut entries) = self.writable(generation, now) {
            entries.insert(tenant_id, id, Entry { value, stored: now });
        }
    }

    /// Drops one destination, or every destination of the tenant when `id` is `None`.
    pub fn invalidate(&self, tenant_id: &str, id: Option<&str>) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut entries) = self.entries.write() {
            match id {
                Some(id) => entries.remove(tenant_id, id),
                None => entries.remove_tenant(tenant_id),
            }
        }
    }

    /// Drops everything.
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Ok(mut entries) = self.entries.write() {
            entries.clear();
        }
    }

    /// Applies one message of the change channel.
    pub fn apply_change(&self, payload: &str) {
        match parse_change(payload) {
            Some((tenant, id)) => self.invalidate(&tenant, id.as_deref()),
            None => {
                tracing::warn!(
                    payload,
                    "Unknown destination change message; the destination cache is emptied."
                );
                self.clear();
            }
        }
    }

    /// How many entries are held (fresh or not).
    pub fn len(&self) -> usize {
        self.entries.read().map(|e| e.len).unwrap_or(0)
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How often the subscription's connection state is checked.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// How long a probe may take to come back before it is sent again.
const PROBE_WAIT: Duration = Duration::from_secs(2);

/// Keeps `cache` in step with `channel` on the Redis that `subscriber` (a client of its own,
/// already connected) talks to, in a task that ends when the cache is dropped. `publisher` (any
/// other client of that Redis) sends the probe that proves the subscription works: the cache
/// goes live only once its own probe came back through the channel (a SUBSCRIBE answered but
/// refused, as under an ACL without channel rights, must not leave it live and deaf).
pub fn spawn_subscription(
    cache: &Arc<DestinationCache>,
    subscriber: Client,
    publisher: Client,
    channel: String,
) {
    let weak = Arc::downgrade(cache);
    tokio::spawn(async move {
        follow(weak, subscriber.clone(), publisher, channel).await;
        let _ = subscriber.quit().await;
    });
}

/// Where the subscription stands on the current connection.
enum Feed {
    /// Not subscribed.
    Down,
    /// Subscribed; no probe on its way.
    Subscribed,
    /// This probe was published and is awaited until the instant.
    Probing(String, tokio::time::Instant),
    /// The probe came back: the cache is live.
    Live,
}

async fn follow(cache: Weak<DestinationCache>, sub: Client, publisher: Client, channel: String) {
    use tokio::sync::broadcast::error::RecvError;
    let mut messages = sub.message_rx();
    let mut reconnects = sub.reconnect_rx();
    let mut errors = sub.error_rx();
    let mut tick = tokio::time::interval(CHECK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut feed = Feed::Down;
    // Whether a failure to set the feed up was reported (once per failing streak).
    let mut warned = false;
    let warn = |warned: &mut bool, e: &dyn std::fmt::Display| {
        if !std::mem::replace(warned, true) {
            tracing::warn!(
                error = %e,
                channel,
                "Cannot follow destination changes (does the Redis user have rights on this channel?); destinations are read from Redis for every delivery until it can."
            );
        }
    };
    let mut probes = 0u64;
    loop {
        if matches!(feed, Feed::Down) && sub.is_connected() {
            match sub.subscribe(channel.as_str()).await {
                Ok(()) => feed = Feed::Subscribed,
                Err(e) => warn(&mut warned, &e),
            }
        }
        if matches!(feed, Feed::Subscribed) {
            probes += 1;
            let nonce = format!("probe-{}-{probes}", std::process::id());
            let sent: Result<Value, Error> = publisher
                .publish(channel.as_str(), change_message("", Some(&nonce)))
                .await;
            match sent {
                Ok(_) => feed = Feed::Probing(nonce, tokio::time::Instant::now() + PROBE_WAIT),
                Err(e) => warn(&mut warned, &e),
            }
        }
        tokio::select! {
            m = messages.recv() => {
                let Some(c) = cache.upgrade() else { return };
                match m {
                    Ok(m) => {
                        let payload = m.value.as_str().map(|p| p.into_owned()).unwrap_or_default();
                        if let Feed::Probing(nonce, _) = &feed
                            && parse_change(&payload) == Some((String::new(), Some(nonce.clone())))
                        {
                            feed = Feed::Live;
                            warned = false;
                            c.set_live(true);
                            tracing::debug!(channel, "Destination cache following changes.");
                        } else {
                            c.apply_change(&payload);
                        }
                    }
                    // Messages were dropped on our side: anything may have changed.
                    Err(RecvError::Lagged(_)) => c.clear(),
                    Err(RecvError::Closed) => {
                        c.set_live(false);
                        return;
                    }
                }
            }
            r = reconnects.recv() => {
                if let Some(c) = cache.upgrade() { c.set_live(false) }
                feed = Feed::Down;
                if matches!(r, Err(RecvError::Closed)) { return; }
            }
            e = errors.recv() => {
                if let Ok((e, _)) = &e {
                    tracing::debug!(error = %e, "Destination change feed interrupted.");
                }
                if let Some(c) = cache.upgrade() { c.set_live(false) }
                feed = Feed::Down;
                if matches!(e, Err(RecvError::Closed)) { return; }
            }
            _ = tick.tick() => {
                let Some(c) = cache.upgrade() else { return };
                if !matches!(feed, Feed::Down) && !sub.is_connected() {
                    c.set_live(false);
                    feed = Feed::Down;
                }
                if let Feed::Probing(_, until) = &feed
                    && tokio::time::Instant::now() >= *until
                {
                    warn(&mut warned, &"the probe published on the channel never came back");
                    feed = Feed::Subscribed;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use outpost_core::time::now_ms;

    fn dest(tenant: &str, id: &str) -> DestinationLookup {
        DestinationLookup::Found(Arc::new(outpost_core::destination::Destination {
            id: id.into(),
            tenant_id: tenant.into(),
            kind: "webhook".into(),
            topics: vec!["*".into()],
            filter: None,
            config: Default::default(),
            credentials: Default::default(),
            delivery_metadata: None,
            metadata: None,
            created_at: now_ms(),
            updated_at: now_ms(),
            disabled_at: None,
        }))
    }

    fn live(ttl_ms: u64, max: usize) -> DestinationCache {
        let c = DestinationCache::new(Duration::from_millis(ttl_ms), max);
        c.set_live(true);
        c
    }

    #[test]
    fn serves_only_while_live_and_fresh() {
        let t0 = Instant::now();
        let c = DestinationCache::new(Duration::from_millis(100), 10);
        let g = c.generation();
        c.insert(g, "t", "d", dest("t", "d"), t0);
        assert!(c.get("t", "d", t0).is_none(), "not live: nothing kept");
        c.set_live(true);
        let g = c.generation();
        c.insert(g, "t", "d", dest("t", "d"), t0);
        assert!(matches!(c.get("t", "d", t0), Some(DestinationLookup::Found(d)) if d.id == "d"));
        assert!(c.get("t", "d", t0 + Duration::from_millis(99)).is_some());
        assert!(c.get("t", "d", t0 + Duration::from_millis(100)).is_none());
        c.set_live(false);
        assert!(c.get("t", "d", t0).is_none());
        assert!(c.is_empty(), "going down empties the cache");
    }

    #[test]
    fn a_change_during_a_read_keeps_the_old_value_out() {
        let now = Instant::now();
        let c = live(10_000, 10);
        let g = c.generation();
        c.apply_change(&change_message("t", Some("d")));
        c.insert(g, "t", "d", dest("t", "d"), now);
        assert!(c.get("t", "d", now).is_none());
        let g = c.generation();
        c.insert(g, "t", "d", dest("t", "d"), now);
        assert!(c.get("t", "d", now).is_some());
    }

    #[test]
    fn changes_drop_one_destination_or_a_whole_tenant() {
        let now = Instant::now();
        let c = live(10_000, 10);
        for (t, d) in [("t1", "a"), ("t1", "b"), ("t2", "a")] {
            let g = c.generation();
            c.insert(g, t, d, dest(t, d), now);
        }
        c.insert(c.generation(), "t1", "a", dest("t1", "a"), now);
        assert_eq!(c.len(), 3, "storing a held destination again replaces it");
        c.apply_change(&change_message("t1", Some("a")));
        assert!(c.get("t1", "a", now).is_none());
        assert!(c.get("t1", "b", now).is_some());
        assert_eq!(c.len(), 2);
        c.apply_change(&change_message("t1", None));
        assert!(c.get("t1", "b", now).is_none());
        assert!(c.get("t2", "a", now).is_some());
        assert_eq!(c.len(), 1);
        c.apply_change("not a change");
        assert!(c.is_empty(), "an unknown message empties the cache");
    }

    #[test]
    fn a_tenants_summaries_go_with_any_change_of_its_destinations() {
        let now = Instant::now();
        let c = live(10_000, 10);
        let summaries = |t: &str| -> Arc<[DestinationSummary]> {
            match dest(t, "a") {
                DestinationLookup::Found(d) => Arc::from(vec![d.summary()]),
                _ => unreachable!(),
            }
        };
        for t in ["t1", "t2"] {
            c.insert(c.generation(), t, "a", dest(t, "a"), now);
            c.insert_summaries(c.generation(), t, summaries(t), now);
        }
        assert_eq!(c.len(), 4);
        assert_eq!(c.get_summaries("t1", now).map(|s| s.len()), Some(1));
        // A change of one destination drops it and its tenant's summaries, nothing else.
        c.apply_change(&change_message("t1", Some("other")));
        assert!(c.get_summaries("t1", now).is_none());
        assert!(c.get("t1", "a", now).is_some());
        assert!(c.get_summaries("t2", now).is_some());
        assert_eq!(c.len(), 3);
        // A read that overlapped a change is not kept.
        let g = c.generation();
        c.apply_change(&change_message("t1", Some("a")));
        c.insert_summaries(g, "t1", summaries("t1"), now);
        assert!(c.get_summaries("t1", now).is_none());
        // Stale summaries are not served.
        let later = now + Duration::from_secs(11);
        assert!(c.get_summaries("t2", later).is_none());
        c.apply_change(&change_message("t2", None));
        assert!(c.is_empty());
    }

    #[test]
    fn stays_within_its_size() {
        let t0 = Instant::now();
        let c = live(1_000, 3);
        let put = |id: &str, after_ms: u64| {
            let at = t0 + Duration::from_millis(after_ms);
            c.insert(c.generation(), "t", id, DestinationLookup::Deleted, at);
        };
        for id in ["d0", "d1", "d2"] {
            put(id, 0);
        }
        assert_eq!(c.len(), 3);
        // Full of fresh entries: emptied, then the new one kept.
        put("d3", 0);
        assert_eq!(c.len(), 1);
        put("d4", 0);
        put("d5", 500);
        // Full with two expired: only those go.
        put("d6", 1_200);
        assert_eq!(c.len(), 2);
        assert!(matches!(
            c.get("t", "d6", t0 + Duration::from_millis(1_200)),
            Some(DestinationLookup::Deleted)
        ));
    }
}
