//! A map whose entries expire, for the in-memory stores: an expired entry is dropped when it is
//! read, and all expired entries are swept out when the map has grown, at most once per
//! doubling, so the sweeps cost O(1) per insert however many entries are live.

use std::time::Instant;

/// Entries held before the first sweep.
pub const SWEEP_FROM: usize = 100_000;

/// String keys to values with an expiry.
pub struct ExpiringMap<V> {
    /// Hashed with foldhash, randomly seeded per map so colliding keys cannot be prepared in
    /// advance: SipHash was a visible share of a publish in the embedded mode.
    entries: foldhash::HashMap<String, (V, Instant)>,
    /// Swept when it holds more than this: [`SWEEP_FROM`], or twice what the last sweep left.
    sweep_at: usize,
    sweeps: u64,
}

impl<V> Default for ExpiringMap<V> {
    fn default() -> Self {
        Self {
            entries: foldhash::HashMap::default(),
            sweep_at: SWEEP_FROM,
            sweeps: 0,
        }
    }
}

impl<V> ExpiringMap<V> {
    /// The live value of `key` at `now`; an expired one is dropped.
    pub fn get(&mut self, key: &str, now: Instant) -> Option<&V> {
        let expired = self
            .entries
            .get(key)
            .is_some_and(|(_, until)| *until <= now);
        if expired {
            self.entries.remove(key);
        }
        self.entries.get(key).map(|(v, _)| v)
    }

    /// Whether `key` is live at `now`, without dropping anything.
    pub fn contains(&self, key: &str, now: Instant) -> bool {
        self.entries.get(key).is_some_and(|(_, until)| *until > now)
    }

    /// Sets `key` to `value` until `until`, sweeping expired entries first when the map has
    /// grown past its sweep mark.
    pub fn insert(&mut self, key: &str, value: V, until: Instant, now: Instant) {
        if self.entries.len() >= self.sweep_at {
            self.entries.retain(|_, (_, u)| *u > now);
            self.sweep_at = SWEEP_FROM.max(self.entries.len() * 2);
            self.sweeps += 1;
        }
        match self.entries.get_mut(key) {
            Some(e) => *e = (value, until),
            None => {
                self.entries.insert(key.to_string(), (value, until));
            }
        }
    }

    /// Drops `key`.
    pub fn remove(&mut self, key: &str) {
        self.entries.remove(key);
    }

    /// Entries held, expired or not.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many sweeps ran.
    pub fn sweeps(&self) -> u64 {
        self.sweeps
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn expired_entries_are_not_served_and_are_dropped_on_read() {
        let now = Instant::now();
        let mut m = ExpiringMap::default();
        m.insert("a", 1, now + Duration::from_secs(1), now);
        m.insert("b", 2, now, now);
        assert_eq!(m.get("a", now), Some(&1));
        assert!(m.contains("a", now));
        assert!(!m.contains("b", now));
        assert_eq!(m.get("b", now), None);
        assert_eq!(m.len(), 1, "the expired entry went when read");
        m.insert("a", 3, now + Duration::from_secs(1), now);
        assert_eq!(m.get("a", now), Some(&3));
        assert_eq!(m.len(), 1);
        m.remove("a");
        assert!(m.is_empty());
    }

    #[test]
    fn many_live_entries_are_swept_once_per_doubling_not_on_every_insert() {
        let now = Instant::now();
        let later = now + Duration::from_secs(60);
        let mut m = ExpiringMap::default();
        // More live entries than the first sweep mark, then as many again: one sweep at the
        // mark (nothing to drop), the next only when twice as many are held.
        for i in 0..(2 * SWEEP_FROM) {
            m.insert(&i.to_string(), (), later, now);
        }
        assert_eq!(m.len(), 2 * SWEEP_FROM);
        assert_eq!(m.sweeps(), 1);
        m.insert("one more", (), later, now);
        assert_eq!(m.sweeps(), 2);
        assert_eq!(m.len(), 2 * SWEEP_FROM + 1);
    }

    #[test]
    fn a_sweep_drops_every_expired_entry() {
        let now = Instant::now();
        let mut m = ExpiringMap::default();
        for i in 0..SWEEP_FROM {
            m.insert(&i.to_string(), (), now + Duration::from_millis(1), now);
        }
        let later = now + Duration::from_secs(1);
        m.insert("live", (), later + Duration::from_secs(1), later);
        assert_eq!((m.sweeps(), m.len()), (1, 1));
        assert!(m.contains("live", later));
    }
}
