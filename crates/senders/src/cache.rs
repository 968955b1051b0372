//! Clients cached per destination: a client (connection, SDK client, producer) is built on a
//! destination's first delivery and reused while its type, config and credentials stay the
//! same. A sender drops it after a connection error, so the next attempt reconnects.

use outpost_core::destination::Destination;
use std::collections::HashMap;
use std::future::Future;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::{Arc, Mutex};

/// Most clients kept; past it the cache is cleared (clients are rebuilt on demand).
pub const DEFAULT_CAPACITY: usize = 4096;

/// Clients of type `C` by destination id, valid for one fingerprint of the destination.
pub struct ClientCache<C> {
    entries: Mutex<HashMap<String, (u64, Arc<C>)>>,
    capacity: usize,
}

impl<C> Default for ClientCache<C> {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }
}

/// What identifies a destination's client: its type, config and credentials.
pub fn fingerprint(dest: &Destination) -> u64 {
    let mut h = DefaultHasher::new();
    dest.tenant_id.hash(&mut h);
    dest.kind.hash(&mut h);
    dest.config.hash(&mut h);
    dest.credentials.hash(&mut h);
    h.finish()
}

impl<C> ClientCache<C> {
    /// A cache of at most `capacity` clients.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// The cached client of `dest`, or a new one from `init` (cached if it succeeds).
    pub async fn get_or_try_init<F, Fut, E>(&self, dest: &Destination, init: F) -> Result<Arc<C>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<C, E>>,
    {
        let fp = fingerprint(dest);
        if let Some(c) = self.lookup(&dest.id, fp) {
            return Ok(c);
        }
        let client = Arc::new(init().await?);
        let mut entries = self.lock();
        if entries.len() >= self.capacity && !entries.contains_key(&dest.id) {
            entries.clear();
        }
        entries.insert(dest.id.clone(), (fp, client.clone()));
        Ok(client)
    }

    /// Drops the client of `dest` (after a connection error).
    pub fn evict(&self, dest: &Destination) {
        self.lock().remove(&dest.id);
    }

    /// Clients held.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no client is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lookup(&self, id: &str, fp: u64) -> Option<Arc<C>> {
        match self.lock().get(id) {
            Some((f, c)) if *f == fp => Some(c.clone()),
            _ => None,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (u64, Arc<C>)>> {
        // A panic while holding this lock leaves a consistent map; keep using it.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dest(id: &str, url: &str) -> Destination {
        crate::testing::destination("rabbitmq", id, &[("server_url", url)], &[])
    }

    #[tokio::test]
    async fn reuses_until_config_changes_or_evicted() {
        let cache = ClientCache::<u32>::default();
        let mut built = 0;
        let mut get = async |d: &Destination| {
            cache
                .get_or_try_init(d, || {
                    built += 1;
                    std::future::ready(Ok::<_, ()>(built))
                })
                .await
                .unwrap()
        };
        let a = dest("d1", "h:1");
        assert_eq!(*get(&a).await, 1);
        assert_eq!(*get(&a).await, 1, "cached");
        assert_eq!(*get(&dest("d1", "h:2")).await, 2, "config changed");
        cache.evict(&a);
        assert_eq!(*get(&dest("d1", "h:2")).await, 3, "evicted");
        assert_eq!(*get(&dest("d2", "h:2")).await, 4, "other destination");
        assert_eq!(cache.len(), 2);
    }

    #[tokio::test]
    async fn failed_init_is_not_cached_and_capacity_is_bounded() {
        let cache = ClientCache::<u32>::with_capacity(2);
        let r = cache
            .get_or_try_init(&dest("d1", "x"), || {
                std::future::ready(Err::<u32, _>("down"))
            })
            .await;
        assert_eq!(r.unwrap_err(), "down");
        assert!(cache.is_empty());
        for i in 0..5 {
            let d = dest(&format!("d{i}"), "x");
            cache
                .get_or_try_init(&d, || std::future::ready(Ok::<_, ()>(i)))
                .await
                .unwrap();
            assert!(cache.len() <= 2);
        }
    }
}
