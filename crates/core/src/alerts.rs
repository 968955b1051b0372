//! Alert rules (spec §4.8), pure: the consecutive-failure levels of a threshold and which
//! level a failure count reaches.

/// The alert levels, in percent of the threshold.
pub const LEVELS: [u32; 4] = [50, 70, 90, 100];

/// The failure counts of the 50/70/90/100 % levels: ceil(N·p/100).
pub fn level_counts(threshold: u32) -> [u64; 4] {
    LEVELS.map(|p| (u64::from(threshold) * u64::from(p)).div_ceil(100))
}

/// The level (in percent) a failure count triggers: 50/70/90 when the count equals that level,
/// 100 on every failure at or above the threshold, else none.
pub fn consecutive_alert(count: u64, threshold: u32) -> Option<u32> {
    if threshold == 0 {
        return None;
    }
    let counts = level_counts(threshold);
    if count >= counts[3] {
        return Some(100);
    }
    LEVELS[..3]
        .iter()
        .zip(counts[..3].iter())
        .find(|(_, c)| **c == count)
        .map(|(p, _)| *p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_of_twenty() {
        assert_eq!(level_counts(20), [10, 14, 18, 20]);
        let fired: Vec<(u64, u32)> = (1..=22)
            .filter_map(|c| consecutive_alert(c, 20).map(|l| (c, l)))
            .collect();
        assert_eq!(
            fired,
            vec![
                (10, 50),
                (14, 70),
                (18, 90),
                (20, 100),
                (21, 100),
                (22, 100)
            ]
        );
    }

    #[test]
    fn rounding_up_and_small_thresholds() {
        assert_eq!(level_counts(3), [2, 3, 3, 3]);
        assert_eq!(consecutive_alert(2, 3), Some(50));
        assert_eq!(
            consecutive_alert(3, 3),
            Some(100),
            "100 % wins when levels coincide"
        );
        assert_eq!(level_counts(1), [1, 1, 1, 1]);
        assert_eq!(consecutive_alert(1, 1), Some(100));
        assert_eq!(consecutive_alert(5, 0), None);
    }
}
