//! What a delivery process keeps between deliveries: the idempotency claims it holds
//! ([`HeldClaims`]) and the tasks it deferred while their destination was slow
//! ([`Deferred`]).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Most deferred tasks remembered at once (about 100 bytes each); past it a task deferred
/// keeps its due time even if its destination turns quick again.
pub const DEFERRED_REMEMBERED: usize = 100_000;

/// The attempt keys a process has claimed and not yet settled, with how many of its
/// deliveries hold each (two copies of a task in one process can both hold its key when the
/// first one's claim lapsed). [`crate::deliver::Deliverer::keep_claims`] renews them while they run. A
/// delivery given up at shutdown (dropped when `SHUTDOWN_GRACE_SECONDS` runs out) leaves its
/// key here, and [`crate::deliver::Deliverer::release_abandoned`] releases it: the copy of its task that the
/// broker hands to another process is then sent at once, not after the claim's TTL.
#[derive(Debug, Default)]
pub struct HeldClaims(Mutex<HashMap<String, u32>>);

impl HeldClaims {
    fn keys(&self) -> MutexGuard<'_, HashMap<String, u32>> {
        // A panic while holding the lock leaves the map usable.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn hold(&self, key: &str) {
        *self.keys().entry(key.to_string()).or_default() += 1;
    }

    pub(crate) fn settle(&self, key: &str) {
        let mut keys = self.keys();
        if let Some(n) = keys.get_mut(key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                keys.remove(key);
            }
        }
    }

    /// The keys claimed and not settled.
    pub fn len(&self) -> usize {
        self.keys().len()
    }

    /// True when no claim is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn take(&self) -> Vec<String> {
        self.keys().drain().map(|(k, _)| k).collect()
    }

    pub(crate) fn snapshot(&self) -> Vec<String> {
        self.keys().keys().cloned().collect()
    }
}

/// The retry-schedule ids of the tasks this process deferred because their destination was
/// slow (`tenant/destination` -> ids). Deferrals are spread up to a minute ahead at the pace
/// the destination was served while slow; when it answers quickly again they are brought
/// forward ([`crate::deliver::Deliverer`]), so a recovered endpoint's backlog does not wait for
/// its due times.
#[derive(Debug, Default)]
pub struct Deferred(Mutex<DeferredIds>);

#[derive(Debug, Default)]
struct DeferredIds {
    by_dest: HashMap<String, Vec<String>>,
    total: usize,
}

impl Deferred {
    fn ids(&self) -> MutexGuard<'_, DeferredIds> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Remembers the deferral `id` of a task of `dest` (while fewer than
    /// [`DEFERRED_REMEMBERED`] are).
    pub(crate) fn add(&self, dest: &str, id: String) {
        let mut ids = self.ids();
        if ids.total >= DEFERRED_REMEMBERED {
            return;
        }
        ids.total += 1;
        match ids.by_dest.get_mut(dest) {
            Some(list) => list.push(id),
            None => {
                ids.by_dest.insert(dest.to_string(), vec![id]);
            }
        }
    }

    /// Forgets and returns the deferral ids of `dest`.
    pub(crate) fn take(&self, dest: &str) -> Vec<String> {
        let mut ids = self.ids();
        let taken = ids.by_dest.remove(dest).unwrap_or_default();
        ids.total -= taken.len();
        taken
    }

    /// Deferrals remembered.
    pub fn len(&self) -> usize {
        self.ids().total
    }

    /// True when none is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::{DEFERRED_REMEMBERED, Deferred, HeldClaims};

    #[test]
    fn a_key_held_twice_stays_held_until_both_settle() {
        let held = HeldClaims::default();
        held.hold("k");
        held.hold("k");
        held.hold("j");
        held.settle("k");
        assert_eq!(held.len(), 2);
        let mut keys = held.snapshot();
        keys.sort();
        assert_eq!(keys, ["j", "k"]);
        held.settle("k");
        held.settle("k");
        assert_eq!(held.snapshot(), ["j"]);
        assert_eq!(held.take(), ["j"]);
        assert!(held.is_empty());
    }

    #[test]
    fn deferrals_are_taken_per_destination_and_bounded() {
        let d = Deferred::default();
        d.add("t/a", "1".into());
        d.add("t/b", "2".into());
        d.add("t/a", "3".into());
        assert_eq!(d.len(), 3);
        assert_eq!(d.take("t/a"), ["1", "3"]);
        assert!(d.take("t/a").is_empty());
        assert_eq!(d.len(), 1);
        for i in 0..DEFERRED_REMEMBERED + 5 {
            d.add("t/c", i.to_string());
        }
        assert_eq!(d.len(), DEFERRED_REMEMBERED);
        assert_eq!(d.take("t/c").len(), DEFERRED_REMEMBERED - 1);
        assert_eq!(d.take("t/b"), ["2"]);
        assert!(d.is_empty());
    }
}
