//! Isolation between destinations: one slow or hanging endpoint must not take every delivery
//! slot of the process. A destination whose deliveries are in flight for longer than
//! [`SLOW_AFTER`] may hold at most `slow_cap` slots once half of the process' slots are busy;
//! a task that would exceed that is deferred (rescheduled, without counting as an attempt, for
//! its turn at the rate the destination is being served) so its slot goes to the other
//! destinations. A fast destination is never capped,
//! so one busy healthy endpoint can still use the whole process, and a lone slow one can use
//! half of it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// In-flight age from which a destination counts as slow.
pub const SLOW_AFTER: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Slots {
    next: u64,
    started: HashMap<u64, Instant>,
    /// When the next deferred task of this destination should come back: deferred tasks are
    /// spread at the rate the destination is served, so each is deferred about once.
    next_due: Option<Instant>,
}

/// Shortest deferral.
pub const MIN_DEFER: Duration = Duration::from_secs(1);
/// Longest deferral.
pub const MAX_DEFER: Duration = Duration::from_secs(600);

/// In-flight deliveries per destination.
pub struct Fairness {
    slow_cap: usize,
    busy_from: usize,
    slow_after: Duration,
    by_dest: Mutex<State>,
}

#[derive(Default)]
struct State {
    total: usize,
    by_dest: HashMap<String, Slots>,
}

/// A held slot; released on drop.
pub struct Slot {
    owner: Arc<Fairness>,
    dest: String,
    id: u64,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut guard = self.owner.lock();
        let state = &mut *guard;
        if let Some(s) = state.by_dest.get_mut(&self.dest) {
            if s.started.remove(&self.id).is_some() {
                state.total = state.total.saturating_sub(1);
            }
            if s.started.is_empty() {
                state.by_dest.remove(&self.dest);
            }
        }
    }
}

impl Fairness {
    /// In a process of `concurrency` slots, slow destinations get at most `slow_cap` slots
    /// (at least 1) once half of the slots are busy.
    pub fn new(slow_cap: usize, concurrency: usize) -> Arc<Self> {
        Self::with_threshold(slow_cap, concurrency, SLOW_AFTER)
    }

    /// As [`Fairness::new`] with another slowness threshold.
    pub fn with_threshold(slow_cap: usize, concurrency: usize, slow_after: Duration) -> Arc<Self> {
        Arc::new(Self {
            slow_cap: slow_cap.max(1),
            busy_from: (concurrency / 2).max(1),
            slow_after,
            by_dest: Mutex::new(State::default()),
        })
    }

    /// The default cap for a process of `concurrency` slots: an eighth, at least 1.
    pub fn default_cap(concurrency: usize) -> usize {
        (concurrency / 8).max(1)
    }

    /// A slot for `dest` at `now`, or, when the destination is slow and at its cap, how long to
    /// defer the task: its turn at the rate the destination is served (its oldest delivery's
    /// age spread over the deliveries it has in flight), at least [`MIN_DEFER`].
    pub fn try_acquire(self: &Arc<Self>, dest: &str, now: Instant) -> Result<Slot, Duration> {
        let mut guard = self.lock();
        let state = &mut *guard;
        let busy = state.total >= self.busy_from;
        let slots = state.by_dest.entry(dest.to_string()).or_default();
        if busy && slots.started.len() >= self.slow_cap {
            let age = slots
                .started
                .values()
                .min()
                .map_or(Duration::ZERO, |t| now.saturating_duration_since(*t));
            if age >= self.slow_after {
                // It completes about `in flight` deliveries per `age`.
                let in_flight = u32::try_from(slots.started.len()).unwrap_or(u32::MAX);
                let spacing = age / in_flight.max(1);
                let due = slots.next_due.unwrap_or(now).max(now + MIN_DEFER);
                slots.next_due = Some(due + spacing);
                return Err((due - now).min(MAX_DEFER));
            }
        }
        let id = slots.next;
        slots.next += 1;
        slots.started.insert(id, now);
        state.total += 1;
        Ok(Slot {
            owner: self.clone(),
            dest: dest.to_string(),
            id,
        })
    }

    /// Slots held by `dest`.
    pub fn in_flight(&self, dest: &str) -> usize {
        self.lock().by_dest.get(dest).map_or(0, |s| s.started.len())
    }

    /// Slots held by all destinations.
    pub fn total(&self) -> usize {
        self.lock().total
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.by_dest.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_destination_is_never_capped() {
        let f = Fairness::new(2, 8);
        let now = Instant::now();
        let held: Vec<_> = (0..50)
            .map(|_| f.try_acquire("d", now).ok().unwrap())
            .collect();
        assert_eq!(f.in_flight("d"), 50);
        drop(held);
        assert_eq!((f.in_flight("d"), f.total()), (0, 0));
    }

    #[test]
    fn slow_destination_is_capped_when_busy_and_others_are_not() {
        let f = Fairness::new(2, 8);
        let t0 = Instant::now();
        let later = t0 + Duration::from_millis(1500);
        let mut slow: Vec<_> = (0..2).map(|_| f.try_acquire("slow", t0).unwrap()).collect();
        // Alone, a slow destination may use half the process.
        slow.extend((0..2).map(|_| f.try_acquire("slow", later).unwrap()));
        assert_eq!(f.total(), 4);
        // Slow, at cap, process busy: deferred one after the other at its service rate (oldest
        // delivery 1.5 s old, 4 in flight: 375 ms apart), the first after 1 s.
        let waits: Vec<Duration> = (0..3)
            .map(|_| f.try_acquire("slow", later).err().unwrap())
            .collect();
        assert_eq!(waits, [1000, 1375, 1750].map(Duration::from_millis));
        let fast: Vec<_> = (0..4)
            .map(|_| f.try_acquire("fast", later).unwrap())
            .collect();
        assert_eq!(f.total(), 8);
        // Under the cap a slow destination still gets slots.
        slow.truncate(1);
        assert!(f.try_acquire("slow", later).is_ok());
        drop(fast);
    }

    #[test]
    fn default_cap_is_an_eighth() {
        assert_eq!(Fairness::default_cap(1), 1);
        assert_eq!(Fairness::default_cap(64), 8);
    }
}
