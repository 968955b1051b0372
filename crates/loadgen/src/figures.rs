//! The figures of one measured run: latency percentiles, the row the report prints, and the
//! tally of a run's record (what arrived where, and when).

use crate::args::{Case, Mode};
use crate::sink::Recorder;
use std::sync::atomic::Ordering;

/// Latency percentiles in ms.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lat {
    /// p50.
    pub p50: f64,
    /// p90.
    pub p90: f64,
    /// p99.
    pub p99: f64,
    /// max.
    pub max: f64,
}

impl Lat {
    /// Percentiles of `us` (sorted in place).
    pub fn of(us: &mut [u64]) -> Lat {
        us.sort_unstable();
        let pick = |p: f64| -> f64 {
            if us.is_empty() {
                return 0.0;
            }
            let i = ((us.len() as f64) * p).ceil() as usize;
            us[i.clamp(1, us.len()) - 1] as f64 / 1000.0
        };
        Lat {
            p50: pick(0.50),
            p90: pick(0.90),
            p99: pick(0.99),
            max: us.last().map(|&v| v as f64 / 1000.0).unwrap_or(0.0),
        }
    }
}

/// One service process's figures.
#[derive(Debug, Clone)]
pub struct ProcRow {
    /// Role.
    pub name: String,
    /// CPU seconds over the measured window.
    pub cpu_s: f64,
    /// Peak RSS, MiB.
    pub rss_mib: f64,
}

/// The slow destination's figures (isolation case).
#[derive(Debug, Clone)]
pub struct SlowRow {
    /// Unique deliveries.
    pub delivered: u64,
    /// Expected.
    pub expected: u64,
    /// Latency.
    pub lat: Lat,
}

/// The quiet tenant's figures (mixed case).
#[derive(Debug, Clone)]
pub struct QuietRow {
    /// Its destinations.
    pub destinations: usize,
    /// Its offered events/s.
    pub rate: u64,
    /// Its accepted publishes.
    pub published: u64,
    /// Unique deliveries.
    pub delivered: u64,
    /// Expected (published × destinations).
    pub expected: u64,
    /// Deliveries beyond the first.
    pub duplicates: u64,
    /// Publish→delivery latency.
    pub lat: Lat,
}

/// The figures of one (mode, case).
#[derive(Debug, Clone)]
pub struct Row {
    /// Mode.
    pub mode: Mode,
    /// Case.
    pub case: Case,
    /// Events offered.
    pub events: usize,
    /// Destinations.
    pub destinations: usize,
    /// Offered rate (open loop), events/s.
    pub offered_rate: Option<u64>,
    /// Accepted publishes.
    pub published: u64,
    /// Publishes given up.
    pub publish_failed: u64,
    /// Publish requests retried.
    pub publish_retried: u64,
    /// The first publish error.
    pub publish_error: Option<String>,
    /// 2xx answers / (last answer − first send).
    pub publish_rate: f64,
    /// Publish request latency.
    pub publish_lat: Lat,
    /// Expected deliveries (accepted events × destinations).
    pub expected: u64,
    /// Of those, delivered.
    pub delivered: u64,
    /// Deliveries beyond the first.
    pub duplicates: u64,
    /// Expected but not delivered within the wait.
    pub lost: u64,
    /// Healthy deliveries / (last healthy arrival − first send).
    pub delivery_rate: f64,
    /// Publish→delivery latency of healthy deliveries.
    pub lat: Lat,
    /// First send → last delivery, or last healthy delivery in the isolation case (the CPU
    /// window), s.
    pub wall_s: f64,
    /// Per service process.
    pub procs: Vec<ProcRow>,
    /// CPU s of postgres, redis, rabbitmq over the window.
    pub infra_cpu: Vec<(String, f64)>,
    /// CPU s of the load generator (publishers + sink).
    pub loadgen_cpu: f64,
    /// CPU s of everything else on the machine.
    pub other_cpu: f64,
    /// Machine busy over the window, % of all cores.
    pub machine_busy_pct: f64,
    /// Cores.
    pub cores: usize,
    /// Machine busy fraction just before the run.
    pub busy_before: f64,
    /// Attempts in the Postgres log vs expected (split), and seconds after the last delivery
    /// until they were all there.
    pub logged: Option<(i64, i64, Option<f64>)>,
    /// Slow destination (isolation).
    pub slow: Option<SlowRow>,
    /// The quiet tenant (mixed); its losses are in `lost` too.
    pub quiet: Option<QuietRow>,
    /// Redis calls per command over the window (split; machine-wide).
    pub redis_calls: Option<Vec<(String, u64)>>,
    /// Messages RabbitMQ received over the window (split; machine-wide), or why not known.
    pub rabbitmq_messages: Option<Result<u64, String>>,
    /// Why the wait ended early, if it did.
    pub incomplete: Option<String>,
    /// Service processes that needed SIGKILL.
    pub killed: Vec<String>,
    /// Log files kept (when something went wrong).
    pub kept_logs: Vec<String>,
}

impl Row {
    /// The CPU of outpost's processes (and in split mode of PostgreSQL, Redis and RabbitMQ)
    /// over the load generator's (publishers and sink) in the same window. The load
    /// generator's work per delivery is the same in every run of a case, so this ratio
    /// follows the services' efficiency and not the box's speed, which changes by up to 2×
    /// from one second to the next (a single-threaded hashing loop ran 1.3–2.3 million
    /// SHA-256 a second in consecutive seconds, and the same binary's CPU per delivery in
    /// embedded case B doubled between runs five minutes apart while this ratio stayed within
    /// 3.4–3.9).
    pub fn cost_vs_loadgen(&self) -> Option<f64> {
        let services: f64 = self.procs.iter().map(|p| p.cpu_s).sum::<f64>()
            + if self.mode == Mode::Split {
                self.infra_cpu.iter().map(|(_, c)| c).sum::<f64>()
            } else {
                0.0
            };
        (self.loadgen_cpu > 0.0 && services > 0.0).then(|| services / self.loadgen_cpu)
    }
}

/// The deliveries of one record: counts, and latencies with the slow path's apart.
#[derive(Debug, Default)]
pub struct Tally {
    /// Distinct deliveries of published events.
    pub delivered: u64,
    /// (Published event, path) pairs with no delivery.
    pub lost: u64,
    /// Latencies (µs) of the paths other than the slow one.
    pub healthy_us: Vec<u64>,
    /// Latencies (µs) of the slow path.
    pub slow_us: Vec<u64>,
    /// Deliveries expected at the slow path.
    pub slow_expected: u64,
    /// Arrival of the last delivery to the other paths.
    pub last_healthy: u64,
}

/// Tallies every published event of `rec` at every path.
pub fn tally(rec: &Recorder) -> Tally {
    let slow_path = rec.slow_path();
    let mut t = Tally::default();
    for seq in 0..rec.events {
        let sent = rec.sent[seq].load(Ordering::Acquire);
        if sent == 0 {
            continue;
        }
        for path in 0..rec.paths {
            let at = rec.arrival(seq, path);
            let is_slow = Some(path) == slow_path;
            if is_slow {
                t.slow_expected += 1;
            }
            if at == 0 {
                t.lost += 1;
                continue;
            }
            t.delivered += 1;
            let l = at.saturating_sub(sent);
            if is_slow {
                t.slow_us.push(l);
            } else {
                t.healthy_us.push(l);
                t.last_healthy = t.last_healthy.max(at);
            }
        }
    }
    t
}

/// A row of one delivery whose processes used 3 CPU s, the infrastructure 1.5 and the load
/// generator 1.5.
#[cfg(test)]
pub(crate) fn sample_row(mode: Mode) -> Row {
    Row {
        mode,
        case: Case::B,
        events: 1,
        destinations: 1,
        offered_rate: None,
        published: 1,
        publish_failed: 0,
        publish_retried: 0,
        publish_error: None,
        publish_rate: 0.0,
        publish_lat: Lat::default(),
        expected: 1,
        delivered: 1,
        duplicates: 0,
        lost: 0,
        delivery_rate: 0.0,
        lat: Lat::default(),
        wall_s: 1.0,
        procs: vec![ProcRow {
            name: "all".into(),
            cpu_s: 3.0,
            rss_mib: 0.0,
        }],
        infra_cpu: vec![("postgres".into(), 1.0), ("redis".into(), 0.5)],
        loadgen_cpu: 1.5,
        other_cpu: 0.0,
        machine_busy_pct: 0.0,
        cores: 2,
        busy_before: 0.0,
        logged: None,
        slow: None,
        quiet: None,
        redis_calls: None,
        rabbitmq_messages: None,
        incomplete: None,
        killed: Vec::new(),
        kept_logs: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn percentiles() {
        let mut v: Vec<u64> = (1..=100).map(|i| i * 1000).collect();
        let l = Lat::of(&mut v);
        assert_eq!(l.p50, 50.0);
        assert_eq!(l.p90, 90.0);
        assert_eq!(l.p99, 99.0);
        assert_eq!(l.max, 100.0);
        assert_eq!(Lat::of(&mut []).p99, 0.0);
        assert_eq!(Lat::of(&mut [7000]).p50, 7.0);
    }

    #[test]
    fn cost_against_the_load_generator_counts_the_infrastructure_in_split_mode() {
        let row = sample_row;
        assert_eq!(row(Mode::Embedded).cost_vs_loadgen(), Some(2.0));
        assert_eq!(row(Mode::Split).cost_vs_loadgen(), Some(3.0));
        let idle = Row {
            loadgen_cpu: 0.0,
            ..row(Mode::Split)
        };
        assert_eq!(idle.cost_vs_loadgen(), None);
    }

    #[test]
    fn tally_counts_published_events_at_every_path_and_keeps_the_slow_one_apart() {
        let rec = Recorder::new("p-".into(), 4, 2, Some((1, Duration::from_secs(5))));
        // Events 0..3 published (3 never was); 0 arrived at both paths, 1 only at the slow
        // one, 2 only at the healthy one.
        for seq in 0..3 {
            rec.sent[seq].store(1, Ordering::Release);
        }
        assert!(rec.arrive(Some("p-0"), 0));
        assert!(rec.arrive(Some("p-0"), 1));
        assert!(rec.arrive(Some("p-1"), 1));
        assert!(rec.arrive(Some("p-2"), 0));
        assert!(rec.arrive(Some("p-3"), 0), "recorded, but never published");
        let t = tally(&rec);
        assert_eq!((t.delivered, t.lost), (4, 2));
        assert_eq!(
            (t.healthy_us.len(), t.slow_us.len(), t.slow_expected),
            (2, 2, 3)
        );
        assert_eq!(t.last_healthy, rec.arrival(2, 0).max(rec.arrival(0, 0)));
    }
}
