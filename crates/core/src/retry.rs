//! Retry schedule maths: exponential from `RETRY_INTERVAL_SECONDS` or an explicit
//! `RETRY_SCHEDULE`, bounded by `MAX_RETRY_LIMIT` (spec §4.2).

use std::time::Duration;

/// The retry policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Explicit delays in seconds; when non-empty, overrides the exponential schedule and sets
    /// the retry count to its length.
    pub schedule: Vec<u64>,
    /// Base interval of the exponential schedule, seconds.
    pub interval_secs: u64,
    /// Automatic retries after the first attempt.
    pub max_retries: u32,
}

impl RetryPolicy {
    /// Delay before the retry that follows attempt `attempt` (1-based).
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let n = attempt.max(1);
        let secs = if self.schedule.is_empty() {
            let exp = (n - 1).min(40);
            self.interval_secs.saturating_mul(1u64 << exp)
        } else {
            let i = (n as usize - 1).min(self.schedule.len() - 1);
            self.schedule[i]
        };
        Duration::from_secs(secs)
    }

    /// Whether a failed attempt number `attempt` gets an automatic retry.
    pub fn should_retry(&self, attempt: u32) -> bool {
        let max = if self.schedule.is_empty() {
            self.max_retries
        } else {
            u32::try_from(self.schedule.len()).unwrap_or(u32::MAX)
        };
        attempt <= max
    }

    /// The shortest configured delay (the retry monitor's default poll bound).
    pub fn shortest_delay(&self) -> Duration {
        match self.schedule.iter().min() {
            Some(s) => Duration::from_secs(*s),
            None => Duration::from_secs(self.interval_secs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_default() {
        let p = RetryPolicy {
            schedule: vec![],
            interval_secs: 30,
            max_retries: 10,
        };
        let d: Vec<u64> = (1..=10).map(|n| p.delay_after(n).as_secs()).collect();
        assert_eq!(d, [30, 60, 120, 240, 480, 960, 1920, 3840, 7680, 15360]);
        assert!(p.should_retry(10));
        assert!(!p.should_retry(11), "11 attempts in total");
    }

    #[test]
    fn explicit_schedule() {
        let p = RetryPolicy {
            schedule: vec![5, 60, 600],
            interval_secs: 30,
            max_retries: 10,
        };
        assert_eq!(p.delay_after(1).as_secs(), 5);
        assert_eq!(p.delay_after(3).as_secs(), 600);
        assert_eq!(p.delay_after(7).as_secs(), 600, "last value reused");
        assert!(p.should_retry(3));
        assert!(!p.should_retry(4));
        assert_eq!(p.shortest_delay().as_secs(), 5);
    }

    #[test]
    fn huge_attempt_numbers_saturate() {
        let p = RetryPolicy {
            schedule: vec![],
            interval_secs: 30,
            max_retries: 100,
        };
        assert!(p.delay_after(99).as_secs() > 0);
    }
}
