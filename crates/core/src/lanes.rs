//! Delivery lanes: which tenants' tasks go to the busy lane.
//!
//! deliverymq is a FIFO: a tenant that publishes faster than the deliveries go builds a backlog,
//! and every other tenant's events wait behind it. With lanes, the api service counts each
//! tenant's delivery tasks per second and sends a tenant's tasks to a second queue, the busy
//! lane, once it has queued more than its share within the current or the previous second.
//! The delivery service serves the main lane first, so a quiet tenant's events never queue
//! behind a busy tenant's backlog; busy tenants share their own lane, in order of arrival.
//!
//! The meter is per process: with several api replicas behind a load balancer, a tenant is busy
//! when it sends more than the limit to one of them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Which lane a publish goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// The delivery queue itself: quiet tenants, retries, manual retries.
    Main,
    /// The busy lane: tasks of tenants over the limit.
    Busy,
}

/// One tenant's task counts: in `second` and in the second before it.
#[derive(Debug, Clone, Copy)]
struct Count {
    second: u64,
    this: u64,
    last: u64,
}

/// Counts delivery tasks per tenant and second (see the module documentation).
#[derive(Debug)]
pub struct TenantMeter {
    limit: u64,
    origin: Instant,
    inner: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    /// The second of the last sweep.
    swept: u64,
    by_tenant: HashMap<String, Count>,
}

impl TenantMeter {
    /// A meter that calls a tenant busy once it queues more than `tasks_per_second` tasks in a
    /// second (at least 1).
    pub fn new(tasks_per_second: u64) -> Self {
        Self {
            limit: tasks_per_second.max(1),
            origin: Instant::now(),
            inner: Mutex::new(Counts::default()),
        }
    }

    /// The limit, in tasks per second.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Counts `tasks` queued now for `tenant` and says which lane they go to.
    pub fn lane(&self, tenant: &str, tasks: u64) -> Lane {
        self.lane_at(tenant, tasks, self.origin.elapsed().as_secs())
    }

    /// [`Self::lane`] at `second` (seconds since an origin; never decreasing between calls).
    ///
    /// Busy when these tasks take the tenant past the limit in this second, or it went past
    /// it in the previous one: the first `limit` tasks of a second stay in the main lane, and
    /// a tenant leaves the busy lane after a whole second within the limit.
    pub fn lane_at(&self, tenant: &str, tasks: u64, second: u64) -> Lane {
        let mut counts = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if second > counts.swept {
            // Tenants not heard from in the last two seconds are under the limit anyway.
            counts.swept = second;
            counts
                .by_tenant
                .retain(|_, c| c.second.saturating_add(1) >= second);
        }
        let count = match counts.by_tenant.get_mut(tenant) {
            Some(c) => c,
            None => counts.by_tenant.entry(tenant.to_string()).or_insert(Count {
                second,
                this: 0,
                last: 0,
            }),
        };
        if count.second != second {
            count.last = if count.second + 1 == second {
                count.this
            } else {
                0
            };
            count.this = 0;
            count.second = second;
        }
        count.this = count.this.saturating_add(tasks);
        if count.last > self.limit || count.this > self.limit {
            Lane::Busy
        } else {
            Lane::Main
        }
    }

    /// Tenants counted at the moment (for tests and diagnostics).
    pub fn tracked(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .by_tenant
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_under_the_limit_stays_in_the_main_lane() {
        let m = TenantMeter::new(100);
        for s in 0..5 {
            for _ in 0..10 {
                assert_eq!(m.lane_at("quiet", 10, s), Lane::Main);
            }
        }
    }

    #[test]
    fn tasks_past_the_limit_of_a_second_go_to_the_busy_lane() {
        let m = TenantMeter::new(100);
        assert_eq!(m.lane_at("t", 60, 0), Lane::Main);
        assert_eq!(m.lane_at("t", 40, 0), Lane::Main, "exactly the limit");
        assert_eq!(m.lane_at("t", 1, 0), Lane::Busy);
        // Another tenant is counted on its own.
        assert_eq!(m.lane_at("other", 20, 0), Lane::Main);
    }

    #[test]
    fn a_busy_tenant_stays_busy_through_the_next_second_then_returns() {
        let m = TenantMeter::new(100);
        assert_eq!(m.lane_at("t", 150, 0), Lane::Busy);
        // The previous second went past the limit: busy from the first task.
        assert_eq!(m.lane_at("t", 1, 1), Lane::Busy);
        // Second 1 held 1 task: second 2 is back in the main lane.
        assert_eq!(m.lane_at("t", 1, 2), Lane::Main);
        // A gap of several seconds forgets the old count.
        assert_eq!(m.lane_at("t", 150, 3), Lane::Busy);
        assert_eq!(m.lane_at("t", 1, 6), Lane::Main);
    }

    #[test]
    fn one_event_fanned_out_past_the_limit_is_busy_alone() {
        let m = TenantMeter::new(10);
        assert_eq!(m.lane_at("t", 20, 0), Lane::Busy);
    }

    #[test]
    fn tenants_not_heard_from_for_two_seconds_are_forgotten() {
        let m = TenantMeter::new(100);
        for i in 0..50 {
            m.lane_at(&format!("t{i}"), 1, 0);
        }
        m.lane_at("recent", 1, 1);
        assert_eq!(m.tracked(), 51);
        m.lane_at("recent", 1, 2);
        assert_eq!(
            m.tracked(),
            1,
            "only the tenant heard from in second 1 or 2"
        );
    }

    #[test]
    fn a_zero_limit_means_one() {
        let m = TenantMeter::new(0);
        assert_eq!(m.limit(), 1);
        assert_eq!(m.lane_at("t", 1, 0), Lane::Main);
        assert_eq!(m.lane_at("t", 1, 0), Lane::Busy);
    }
}
