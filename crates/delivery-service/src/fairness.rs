//! Isolation between destinations: one slow or hanging endpoint must not take every delivery
//! slot of the process.
//! - A destination whose deliveries are in flight for longer than [`SLOW_AFTER`], or whose last
//!   delivery took that long (remembered for [`REMEMBER_SLOW`], so that a slow endpoint
//!   answering a whole wave at once is not taken for a fast one when the next wave starts),
//!   may hold at most `slow_cap` slots once half of the process' slots are busy.
//! - No destination that is not keeping up may hold more than `slow_cap` slots, busy or not:
//!   before its slowness shows, an endpoint that just turned slow (or a new slow one) could
//!   otherwise hold every slot for as long as its answers take (the tasks of other
//!   destinations waiting for a slot are not seen here). A destination keeps up when one of
//!   its deliveries ended quickly since its oldest delivery in flight started, or when its
//!   last delivery was quick and recent and nothing of it has been in flight for longer than
//!   twice that one took ([`LOOK_AGAIN_MIN`] at least). The second is for a quick destination
//!   whose tasks arrive in packs (up to 32 a queue message) that start before any answers:
//!   held to the cap, 1–5 % of a busy destination's tasks went back to the schedule while
//!   another tenant published beside it (`make bench`, mixed case, split mode: 0.01–0.05
//!   ZADDs per event, none since); one that turned slow shows it within twice its usual
//!   delivery time. A task over the limit is deferred only as long as the oldest delivery
//!   has been running ([`LOOK_AGAIN_MIN`] to a quarter of [`SLOW_AFTER`]), as the
//!   destination may well be fast: its first quick answer lifts the limit. A burst to a
//!   destination not heard from lately comes back within milliseconds, not a quarter of a
//!   second (seen in `make bench`, embedded case B: 338 deferrals of one healthy
//!   destination's tasks, some five times over, and a tail of 1.2 s); one that turned slow is
//!   looked at twice as late each time until its slowness shows. A destination that answered
//!   quickly of late and has had the process to itself for [`SLOW_AFTER`] (no other
//!   destination in flight or answered) is exempt: a short stall of its endpoint, or of a
//!   saturated machine, must not send a wave of its tasks back to the schedule when no other
//!   destination waits (seen in `make bench`, embedded case A: 600 deferrals a run and tails
//!   of 1–2 s).
//!
//! A task that would exceed that is deferred (rescheduled, without counting as an attempt, for
//! its turn at the rate the destination is being served, at most [`MAX_DEFER`] ahead) so its
//! slot goes to the other destinations. A fast destination is never capped, so one busy
//! endpoint can still use the whole process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// In-flight age from which a destination counts as slow.
pub const SLOW_AFTER: Duration = Duration::from_secs(1);

/// How long a destination whose delivery took [`SLOW_AFTER`] or more is still treated as slow
/// with nothing in flight (a fast delivery ends it sooner).
pub const REMEMBER_SLOW: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Slots {
    /// This destination's number in [`State`] (for [`State::recent_done`]).
    key: u64,
    next: u64,
    started: HashMap<u64, Instant>,
    /// How long the last completed delivery took, and when it ended.
    last_done: Option<(Duration, Instant)>,
    /// When the next deferred task of this destination should come back: deferred tasks are
    /// spread at the rate the destination is served, so each is deferred about once.
    next_due: Option<Instant>,
}

/// Destinations tracked before those with nothing in flight and no recent delivery are pruned.
const PRUNE_FROM: usize = 1024;

/// Shortest deferral.
pub const MIN_DEFER: Duration = Duration::from_secs(1);
/// Shortest deferral of a task whose destination is at its cap without having answered yet
/// (not known to be slow).
pub const LOOK_AGAIN_MIN: Duration = Duration::from_millis(10);
/// Longest deferral. A slow destination's backlog is spread at the rate it is served while
/// the process is busy, and no further: in `make bench`'s isolation case its 2,000 tasks were
/// spread 8–10 minutes out during the 8 s others kept the process busy, and then trickled
/// back at 3–6 a second while it could have taken 6 a second with the process otherwise idle.
/// A destination that answers quickly again has its deferred tasks brought forward to then
/// ([`crate::tracked::Deferred`]).
pub const MAX_DEFER: Duration = Duration::from_secs(60);

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
    /// Destinations tracked before idle ones are forgotten.
    prune_at: usize,
    /// Numbers given to destinations ([`Slots::key`]; 0 is none).
    keys: u64,
    /// The last completion of the two destinations that completed last, most recent first:
    /// whether a destination other than a given one completed lately, without a scan.
    recent_done: [(u64, Option<Instant>); 2],
}

/// Whether, by `recent_done` ([`State::recent_done`]), a destination other than `key` completed
/// a delivery since `since`.
fn other_done_since(recent_done: &[(u64, Option<Instant>); 2], key: u64, since: Instant) -> bool {
    recent_done
        .iter()
        .any(|(k, at)| *k != key && at.is_some_and(|at| at >= since))
}

/// A held slot; released on drop.
pub struct Slot {
    owner: Arc<Fairness>,
    dest: String,
    id: u64,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let now = Instant::now();
        let mut guard = self.owner.lock();
        let state = &mut *guard;
        if let Some(s) = state.by_dest.get_mut(&self.dest)
            && let Some(started) = s.started.remove(&self.id)
        {
            state.total = state.total.saturating_sub(1);
            s.last_done = Some((now.saturating_duration_since(started), now));
            let key = s.key;
            if state.recent_done[0].0 != key {
                state.recent_done[1] = state.recent_done[0];
            }
            state.recent_done[0] = (key, Some(now));
        }
    }
}

impl Slots {
    /// When its oldest delivery in flight started.
    fn oldest(&self) -> Option<Instant> {
        self.started.values().min().copied()
    }

    /// How long this destination takes per delivery when it counts as slow at `now`
    /// (`oldest` is [`Slots::oldest`]).
    fn slowness(
        &self,
        now: Instant,
        slow_after: Duration,
        oldest: Option<Instant>,
    ) -> Option<Duration> {
        let age = oldest.map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
        let took = age.max(self.recent(now).unwrap_or(Duration::ZERO));
        (took >= slow_after).then_some(took)
    }

    /// How long the last delivery took, if it ended after `oldest` (the oldest delivery in
    /// flight) started: deliveries are completing despite that one.
    fn pace_since(&self, oldest: Option<Instant>) -> Option<Duration> {
        let oldest = oldest?;
        self.last_done
            .filter(|(_, at)| *at > oldest)
            .map(|(took, _)| took)
    }

    /// How long the last delivery took, if it ended within [`REMEMBER_SLOW`].
    fn recent(&self, now: Instant) -> Option<Duration> {
        self.last_done
            .filter(|(_, at)| now.saturating_duration_since(*at) < REMEMBER_SLOW)
            .map(|(took, _)| took)
    }

    /// Keeping up at `now`: one of its deliveries ended quickly after `oldest` (its oldest
    /// delivery in flight) started, or its last delivery was quick and recent and nothing in
    /// flight has run for longer than twice that one took ([`LOOK_AGAIN_MIN`] at least).
    /// The second is a destination served in waves: a pack of its tasks arrives together,
    /// after its last answer, and all of it starts before the first answer comes back. A
    /// destination that turned slow shows it within twice its usual delivery time; until
    /// then it is taken for what it was.
    fn keeping_up(&self, now: Instant, slow_after: Duration, oldest: Option<Instant>) -> bool {
        if self
            .pace_since(oldest)
            .is_some_and(|took| took < slow_after)
        {
            return true;
        }
        let age = oldest.map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
        self.recent(now)
            .is_some_and(|took| took < slow_after && age <= (took * 2).max(LOOK_AGAIN_MIN))
    }

    /// Whether it is worth remembering at `now`.
    fn active(&self, now: Instant) -> bool {
        !self.started.is_empty() || self.recent(now).is_some()
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

    /// In-flight age from which a destination counts as slow.
    pub fn slow_after(&self) -> Duration {
        self.slow_after
    }

    /// The default cap for a process of `concurrency` slots: an eighth, at least 1.
    pub fn default_cap(concurrency: usize) -> usize {
        (concurrency / 8).max(1)
    }

    /// A slot for `dest` at `now`, or, when the destination is slow and at its cap, how long to
    /// defer the task: its turn at the rate the destination is served (its oldest delivery's
    /// age, or its last delivery's duration, spread over the deliveries it has in flight), at
    /// least [`MIN_DEFER`].
    pub fn try_acquire(self: &Arc<Self>, dest: &str, now: Instant) -> Result<Slot, Duration> {
        let mut guard = self.lock();
        let state = &mut *guard;
        let busy = state.total >= self.busy_from;
        if state.by_dest.len() > state.prune_at.max(PRUNE_FROM) {
            // Forget destinations idle for a while; next time when twice as many are tracked.
            state.by_dest.retain(|_, s| s.active(now));
            state.prune_at = state.by_dest.len() * 2;
        }
        let slots = state.by_dest.entry(dest.to_string()).or_insert_with(|| {
            state.keys += 1;
            Slots {
                key: state.keys,
                ..Slots::default()
            }
        });
        let mine = slots.started.len();
        let oldest = slots.oldest();
        let slowness = slots.slowness(now, self.slow_after, oldest);
        // At the slow cap and not keeping up (no quick answer since its oldest delivery in
        // flight began, nor a wave of a quick one just started): before its slowness shows,
        // an endpoint that just turned slow could otherwise hold every slot for as long as
        // its answers take.
        // Unless it has had the process to itself lately and answered quickly: then nobody
        // waits for its slots, and a stall must not send its tasks back to the schedule.
        let alone_and_quick = state.total == mine
            && !other_done_since(
                &state.recent_done,
                slots.key,
                now.checked_sub(self.slow_after).unwrap_or(now),
            )
            && slots.recent(now).is_some_and(|t| t < self.slow_after);
        if slowness.is_none()
            && mine >= self.slow_cap
            && !alone_and_quick
            && !slots.keeping_up(now, self.slow_after, oldest)
        {
            // Not known to be slow yet: look again when its oldest delivery in flight has run
            // about twice as long: a fast destination has answered by then.
            let age = oldest.map_or(Duration::ZERO, |t| now.saturating_duration_since(t));
            return Err(age.clamp(LOOK_AGAIN_MIN, (self.slow_after / 4).max(LOOK_AGAIN_MIN)));
        }
        if let Some(took) = slowness
            && busy
            && mine >= self.slow_cap
        {
            // It completes about `in flight` deliveries per delivery time, and at least its
            // cap's worth (with fewer in flight it is not capped). The delivery time is that
            // of its last completed delivery if that ended after its oldest delivery in flight
            // started: a single stuck request among quick ones must not space every deferred
            // task by the stuck one's age (a fast destination's backlog would be pushed
            // minutes out). Otherwise (nothing completed since; the destination may have
            // turned slow) it is the age of that oldest delivery.
            let pace = slots.pace_since(oldest).unwrap_or(took);
            let in_flight = u32::try_from(mine.max(self.slow_cap)).unwrap_or(u32::MAX);
            let spacing = pace / in_flight.max(1);
            // Never further out than MAX_DEFER: the spacing is the rate of this busy moment,
            // and once the others are done the destination is served faster; a task spread
            // far out would wait for its turn with the slots free. Past the horizon tasks come
            // back at the rate they were deferred, and are deferred again if still capped.
            let due = slots
                .next_due
                .unwrap_or(now)
                .max(now + MIN_DEFER)
                .min(now + MAX_DEFER);
            slots.next_due = Some(due + spacing);
            return Err(due - now);
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
        // One delivery in flight, and a later one already answered: it keeps up.
        let first = f.try_acquire("d", Instant::now()).unwrap();
        drop(f.try_acquire("d", Instant::now()).unwrap());
        let now = Instant::now();
        let mut held: Vec<_> = (0..49)
            .map(|_| f.try_acquire("d", now).ok().unwrap())
            .collect();
        held.push(first);
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
        // Other destinations are not capped (new ones up to the slow cap until they answer).
        let fast: Vec<_> = ["fast-1", "fast-1", "fast-2", "fast-2"]
            .iter()
            .map(|d| f.try_acquire(d, later).unwrap())
            .collect();
        assert_eq!(f.total(), 8);
        // Under the cap a slow destination still gets slots.
        slow.truncate(1);
        assert!(f.try_acquire("slow", later).is_ok());
        drop(fast);
    }

    #[test]
    fn no_destination_unheard_from_holds_more_than_the_slow_cap() {
        let f = Fairness::new(2, 8);
        let t0 = Instant::now();
        let other = f.try_acquire("other", t0).unwrap();
        let held: Vec<_> = (0..2).map(|_| f.try_acquire("new", t0).unwrap()).collect();
        // Nothing of it answered yet: the slow cap (2) is its limit, and it is looked at again
        // as soon as its oldest delivery has run about twice as long, as it may be fast: at
        // least 10 ms, at most a quarter of the 1 s threshold.
        let after = |ms: u64| f.try_acquire("new", t0 + Duration::from_millis(ms)).err();
        assert_eq!(after(0), Some(LOOK_AGAIN_MIN));
        assert_eq!(after(3), Some(LOOK_AGAIN_MIN));
        assert_eq!(after(100), Some(Duration::from_millis(100)));
        assert_eq!(after(600), Some(Duration::from_millis(250)));
        // Once one of its deliveries ends quickly it may go on.
        let mut held = held;
        drop(held.pop());
        let more: Vec<_> = (0..5)
            .map(|_| f.try_acquire("new", Instant::now()).unwrap())
            .collect();
        assert_eq!(f.total(), 7, "answering: no limit but the process");
        drop(other);
        drop((held, more));
        // Alone it is capped too: other destinations' tasks may be waiting for a slot.
        let alone = Fairness::new(2, 8);
        let held: Vec<_> = (0..2)
            .map(|_| alone.try_acquire("new", t0).unwrap())
            .collect();
        assert!(alone.try_acquire("new", t0).is_err());
        drop(held);
    }

    #[test]
    fn a_quick_destination_alone_is_not_held_back_by_a_stall() {
        let f = Fairness::new(2, 8);
        // It answered quickly; now its deliveries stall (none answered since they started).
        drop(f.try_acquire("d", Instant::now()).unwrap());
        let t0 = Instant::now();
        let mut held: Vec<_> = (0..2).map(|_| f.try_acquire("d", t0).unwrap()).collect();
        // Nobody else in flight or answered lately: it may take more than the slow cap.
        held.extend((0..4).map(|_| f.try_acquire("d", t0).unwrap()));
        assert_eq!(f.in_flight("d"), 6);
        // Another destination in flight: the limit is back once its deliveries have run for
        // longer than twice its last one took (10 ms at least): it may have turned slow.
        let other = f.try_acquire("other", t0).unwrap();
        let stalled = t0 + Duration::from_millis(100);
        assert!(f.try_acquire("d", stalled).is_err());
        // And while that one answered within the last second.
        drop(other);
        assert!(f.try_acquire("d", stalled.max(Instant::now())).is_err());
        // A destination never heard from gets no exemption, alone or not.
        drop(held);
        let alone = Fairness::new(2, 8);
        let _held: Vec<_> = (0..2)
            .map(|_| alone.try_acquire("new", t0).unwrap())
            .collect();
        assert!(alone.try_acquire("new", t0).is_err());
    }

    #[test]
    fn a_pack_of_tasks_to_a_quick_destination_goes_before_its_first_answer() {
        let f = Fairness::new(2, 64);
        let _others: Vec<_> = ["o1", "o2"]
            .iter()
            .map(|d| f.try_acquire(d, Instant::now()).unwrap())
            .collect();
        // Its last delivery took 5 ms.
        drop(
            f.try_acquire("d", Instant::now() - Duration::from_millis(5))
                .unwrap(),
        );
        // A pack of 32 of its tasks arrives together: all of it goes, four times the slow
        // cap, though none of them has answered (the others are busy too).
        let t1 = Instant::now();
        let wave: Vec<_> = (0..32).map(|_| f.try_acquire("d", t1).unwrap()).collect();
        assert_eq!(f.in_flight("d"), 32);
        // 100 ms later none has answered (twenty times what the last one took): it may have
        // turned slow, and it waits for an answer.
        let wait = f.try_acquire("d", t1 + Duration::from_millis(100)).err();
        assert_eq!(wait, Some(Duration::from_millis(100)));
        // One answer, and the next pack goes.
        drop(wave);
        let next: Vec<_> = (0..32)
            .map(|_| f.try_acquire("d", Instant::now()).unwrap())
            .collect();
        assert_eq!(f.in_flight("d"), 32);
        drop(next);
    }

    #[test]
    fn one_stuck_delivery_does_not_push_a_quick_destinations_backlog_out() {
        let f = Fairness::new(2, 4);
        let t0 = Instant::now();
        let _stuck = f.try_acquire("d", t0).unwrap();
        // Its other deliveries answer at once.
        drop(f.try_acquire("d", t0).unwrap());
        let _other = f.try_acquire("other", t0).unwrap();
        let _held = f.try_acquire("d", Instant::now()).unwrap();
        // 3 s later the stuck one makes it slow; at its cap, with the process busy, its tasks
        // are deferred, but at the pace of its completed deliveries (instant), not 3 s / 2
        // apart: a thousand of them all come back after the shortest deferral.
        let later = t0 + Duration::from_secs(3);
        let waits: Vec<Duration> = (0..1000)
            .map(|_| f.try_acquire("d", later).err().expect("deferred"))
            .collect();
        let last = waits.last().copied();
        assert!(
            last < Some(MIN_DEFER + Duration::from_millis(200)),
            "{last:?}"
        );
    }

    #[test]
    fn a_destination_turned_slow_is_paced_by_its_stuck_deliveries() {
        let f = Fairness::new(2, 4);
        // It answered quickly once, then every delivery hangs.
        drop(f.try_acquire("d", Instant::now()).unwrap());
        std::thread::sleep(Duration::from_millis(2));
        let t0 = Instant::now();
        let _hung: Vec<_> = (0..2).map(|_| f.try_acquire("d", t0).unwrap()).collect();
        let _other = f.try_acquire("other", t0).unwrap();
        let _other2 = f.try_acquire("other-2", t0).unwrap();
        // 2 s later, nothing completed since they started: 2 s per delivery, 2 at a time,
        // so its deferred tasks come back a second apart.
        let later = t0 + Duration::from_secs(2);
        let waits: Vec<Duration> = (0..3)
            .map(|_| f.try_acquire("d", later).err().expect("deferred"))
            .collect();
        assert_eq!(waits, [1, 2, 3].map(Duration::from_secs));
    }

    #[test]
    fn a_slow_destination_is_remembered_after_its_deliveries_end() {
        let f = Fairness::with_threshold(1, 4, Duration::from_millis(30));
        let now = Instant::now();
        let busy: Vec<_> = ["fast-1", "fast-2"]
            .iter()
            .map(|d| f.try_acquire(d, now).unwrap())
            .collect();
        // A delivery of 40 ms (slow here) ends: nothing of "slow" is in flight any more.
        let slot = f.try_acquire("slow", Instant::now()).unwrap();
        std::thread::sleep(Duration::from_millis(40));
        drop(slot);
        // The next wave: under the cap it still gets a slot; at the cap, with the process
        // busy, the task is deferred although no delivery of it has been in flight for long.
        let t = Instant::now();
        let held = f.try_acquire("slow", t).unwrap();
        let wait = f.try_acquire("slow", t).err().expect("deferred");
        assert!(wait >= MIN_DEFER);
        // A fast delivery ends the slowness.
        drop(held);
        let quick = f.try_acquire("slow", Instant::now()).unwrap();
        drop(quick);
        // Fast again: no slow-cap deferral (at least a second). Past its cap a second
        // concurrent delivery goes too while the first has run no longer than twice its last
        // one took (10 ms at least), and after that waits only for an answer (a quarter of
        // the threshold).
        let t = Instant::now();
        let again = f.try_acquire("slow", t).expect("under the cap");
        let wave = f.try_acquire("slow", t).expect("quick of late");
        let wait = f
            .try_acquire("slow", t + Duration::from_millis(20))
            .err()
            .expect("one wave at a time until it answers");
        assert!(wait < MIN_DEFER, "{wait:?}");
        drop((again, wave, busy));
    }

    #[test]
    fn a_slow_backlog_is_spread_no_further_than_the_longest_deferral() {
        let f = Fairness::new(2, 4);
        let t0 = Instant::now();
        let _hung: Vec<_> = (0..2).map(|_| f.try_acquire("d", t0).unwrap()).collect();
        let _others: Vec<_> = ["o1", "o2"]
            .iter()
            .map(|d| f.try_acquire(d, t0).unwrap())
            .collect();
        // 10 s per delivery, 2 at a time: its tasks are spread 5 s apart from a second out, up
        // to a minute out; the rest come back a minute after they were deferred.
        let later = t0 + Duration::from_secs(10);
        let waits: Vec<Duration> = (0..30)
            .map(|_| f.try_acquire("d", later).err().expect("deferred"))
            .collect();
        assert_eq!(waits[..3], [1, 6, 11].map(Duration::from_secs));
        assert_eq!(waits[11], Duration::from_secs(56));
        assert_eq!(waits[12..], [MAX_DEFER; 18]);
        let then = later + Duration::from_secs(2);
        assert_eq!(f.try_acquire("d", then).err(), Some(MAX_DEFER));
    }

    #[test]
    fn default_cap_is_an_eighth() {
        assert_eq!(Fairness::default_cap(1), 1);
        assert_eq!(Fairness::default_cap(64), 8);
    }
}
