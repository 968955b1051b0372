//! Command-line options and the resolved workload of each case.

use clap::{Parser, ValueEnum};
use std::path::PathBuf;

/// Which cases to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CaseSel {
    /// Case A: 1 destination, closed loop.
    A,
    /// Case B: fan-out to `--fanout` destinations, closed loop.
    B,
    /// Open loop at `--latency-rate` events/s for `--latency-secs` against 1 destination.
    Latency,
    /// Case B with one destination answering after `--slow-delay-ms`.
    Isolation,
    /// Case A's load on one tenant's destination while another tenant's `--fanout` − 1
    /// destinations receive `--quiet-rate` events/s: one busy tenant among quiet ones.
    Mixed,
    /// A, mixed, B, isolation and latency.
    All,
}

/// How the services run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeSel {
    /// `SERVICE=api`, `delivery` and `log` processes on Redis, RabbitMQ and PostgreSQL.
    Split,
    /// One all-in-one process with its embedded in-memory stores and queues.
    Embedded,
    /// Split, then embedded.
    Both,
}

/// Load generator for the outpost binary: starts the services, publishes, measures at a local
/// HTTP sink and prints one table.
#[derive(Debug, Clone, Parser)]
#[command(name = "outpost-loadgen", version, about)]
pub struct Args {
    /// Cases to run, comma-separated or repeated (`--case a,mixed`); they run in the order
    /// A, mixed, B, isolation, latency: each case compared with another runs right after it,
    /// so the box's drift between the two is the least it can be.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "all")]
    pub case: Vec<CaseSel>,
    /// Process layout.
    #[arg(long, value_enum, default_value = "both")]
    pub mode: ModeSel,
    /// The outpost binary (default $CARGO_TARGET_DIR/release/outpost, else
    /// ~/.cache/outpost-rs/target/release/outpost).
    #[arg(long, env = "OUTPOST_BIN")]
    pub outpost: Option<PathBuf>,
    /// Small counts for a quick run (A 2,000, B and isolation 200, latency 5 s); explicit
    /// counts win.
    #[arg(long)]
    pub quick: bool,
    /// Concurrent publishers of the closed-loop cases.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Size of each event's `data` object in bytes.
    #[arg(long, default_value_t = 200)]
    pub event_size: usize,
    /// Destinations of case B and the isolation case.
    #[arg(long, default_value_t = 20)]
    pub fanout: usize,
    /// Events of case A (default 20,000).
    #[arg(long)]
    pub events_a: Option<usize>,
    /// Events of case B (default 2,000).
    #[arg(long)]
    pub events_b: Option<usize>,
    /// Events of the isolation case (default: those of case B).
    #[arg(long)]
    pub events_isolation: Option<usize>,
    /// Offered rate of the latency case, events/s.
    #[arg(long, default_value_t = 1000)]
    pub latency_rate: u64,
    /// Duration of the latency case in seconds (default 30).
    #[arg(long)]
    pub latency_secs: Option<u64>,
    /// Most publishes in flight in the latency case (the offered rate is not kept beyond it).
    #[arg(long, default_value_t = 2048)]
    pub latency_max_in_flight: usize,
    /// Delay of the slow destination's answers in the isolation case.
    #[arg(long, default_value_t = 5000)]
    pub slow_delay_ms: u64,
    /// Events/s the quiet tenant publishes in the mixed case (each to `--fanout` − 1
    /// destinations), from the first measured publish to the last.
    #[arg(long, default_value_t = 20)]
    pub quiet_rate: u64,
    /// Warm-up events published (and awaited) before each measured run; not measured.
    #[arg(long, default_value_t = 100)]
    pub warmup: usize,
    /// DELIVERY_MAX_CONCURRENCY of the delivery process.
    #[arg(long, default_value_t = 64)]
    pub delivery_concurrency: usize,
    /// LOG_LEVEL of the services (their logs go to files).
    #[arg(long, default_value = "info")]
    pub log_level: String,
    /// Extra service settings, KEY=VALUE (repeatable), e.g. --env LOG_BATCH_SIZE=500.
    #[arg(long = "env", value_parser = parse_kv)]
    pub extra_env: Vec<(String, String)>,
    /// Longest wait for the deliveries after the last publish answer, seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout_secs: u64,
    /// Give up waiting after this many seconds without a new delivery.
    #[arg(long, default_value_t = 60)]
    pub stall_secs: u64,
    /// Before each case, wait up to this long for a quiet machine (<12% busy over 3 s); 0 = off.
    #[arg(long, default_value_t = 30)]
    pub quiet_wait_secs: u64,
    /// The servers of split mode.
    #[command(flatten)]
    pub backends: Backends,
    /// Keep the services' log files (they are kept anyway when a run loses deliveries).
    #[arg(long)]
    pub keep_logs: bool,
}

/// The local servers the split services run on (a fresh database, queues and key prefix per
/// run).
#[derive(Debug, Clone, clap::Args)]
pub struct Backends {
    /// Redis host:port.
    #[arg(long, env = "TEST_REDIS_ADDR", default_value = "127.0.0.1:6379")]
    pub redis_addr: String,
    /// RabbitMQ URL.
    #[arg(
        long,
        env = "TEST_RABBITMQ_URL",
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f"
    )]
    pub rabbitmq_url: String,
    /// PostgreSQL server URL; a fresh database is created on it per run.
    #[arg(
        long,
        env = "TEST_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub database_url: String,
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))?;
    if k.is_empty() {
        return Err(format!("expected KEY=VALUE, got {s:?}"));
    }
    Ok((k.to_string(), v.to_string()))
}

/// The kind of one measured run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// 1 destination, closed loop.
    A,
    /// Fan-out, closed loop.
    B,
    /// Open loop at a fixed rate, 1 destination.
    Latency,
    /// Fan-out with one slow destination.
    Isolation,
    /// One busy destination, and a quiet tenant's destinations beside it.
    Mixed,
}

impl Case {
    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Case::A => "A",
            Case::B => "B",
            Case::Latency => "latency",
            Case::Isolation => "isolation",
            Case::Mixed => "mixed",
        }
    }
}

/// The services' layout of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Three processes.
    Split,
    /// One process, in-memory infrastructure.
    Embedded,
}

impl Mode {
    /// Short name.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Split => "split",
            Mode::Embedded => "embedded",
        }
    }
}

/// What one case publishes.
#[derive(Debug, Clone)]
pub struct Workload {
    /// The case.
    pub case: Case,
    /// Events published.
    pub events: usize,
    /// Destinations (sink paths) every event goes to.
    pub destinations: usize,
    /// Closed-loop publishers, or `None` for the open-loop latency case.
    pub concurrency: Option<usize>,
    /// Offered events/s of the open loop.
    pub rate: u64,
    /// The sink path (destination index) that answers late, and how late.
    pub slow: Option<(usize, std::time::Duration)>,
    /// Another tenant publishing beside the measured one: its destinations, and its
    /// events/s (open loop, for as long as the measured publishers run).
    pub quiet: Option<(usize, u64)>,
}

impl Args {
    /// The cases selected, in run order.
    pub fn cases(&self) -> Vec<Case> {
        let all = [
            (CaseSel::A, Case::A),
            (CaseSel::Mixed, Case::Mixed),
            (CaseSel::B, Case::B),
            (CaseSel::Isolation, Case::Isolation),
            (CaseSel::Latency, Case::Latency),
        ];
        all.into_iter()
            .filter(|(sel, _)| self.case.iter().any(|c| c == sel || *c == CaseSel::All))
            .map(|(_, case)| case)
            .collect()
    }

    /// The modes selected, in run order.
    pub fn modes(&self) -> Vec<Mode> {
        match self.mode {
            ModeSel::Split => vec![Mode::Split],
            ModeSel::Embedded => vec![Mode::Embedded],
            ModeSel::Both => vec![Mode::Split, Mode::Embedded],
        }
    }

    fn events_b(&self) -> usize {
        self.events_b
            .unwrap_or(if self.quick { 200 } else { 2_000 })
    }

    /// Seconds of the latency case.
    pub fn latency_secs(&self) -> u64 {
        self.latency_secs
            .unwrap_or(if self.quick { 5 } else { 30 })
            .max(1)
    }

    /// The workload of `case`.
    pub fn workload(&self, case: Case) -> Workload {
        let fanout = self.fanout.max(1);
        match case {
            Case::A => Workload {
                case,
                events: self
                    .events_a
                    .unwrap_or(if self.quick { 2_000 } else { 20_000 }),
                destinations: 1,
                concurrency: Some(self.concurrency.max(1)),
                rate: 0,
                slow: None,
                quiet: None,
            },
            Case::B => Workload {
                case,
                events: self.events_b(),
                destinations: fanout,
                concurrency: Some(self.concurrency.max(1)),
                rate: 0,
                slow: None,
                quiet: None,
            },
            Case::Latency => Workload {
                case,
                events: (self.latency_rate.max(1) * self.latency_secs()) as usize,
                destinations: 1,
                concurrency: None,
                rate: self.latency_rate.max(1),
                slow: None,
                quiet: None,
            },
            Case::Isolation => Workload {
                case,
                events: self.events_isolation.unwrap_or_else(|| self.events_b()),
                destinations: fanout,
                concurrency: Some(self.concurrency.max(1)),
                rate: 0,
                slow: Some((
                    fanout - 1,
                    std::time::Duration::from_millis(self.slow_delay_ms),
                )),
                quiet: None,
            },
            Case::Mixed => Workload {
                quiet: Some(((fanout - 1).max(1), self.quiet_rate.max(1))),
                case,
                ..self.workload(Case::A)
            },
        }
    }

    /// The outpost binary to run.
    pub fn outpost_bin(&self) -> PathBuf {
        if let Some(p) = &self.outpost {
            return p.clone();
        }
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let home = std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .unwrap_or_default();
                home.join(".cache/outpost-rs/target")
            });
        target.join("release/outpost")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quick_sizes_and_overrides() {
        let a = Args::parse_from(["x", "--quick", "--events-b", "50"]);
        assert_eq!(a.workload(Case::A).events, 2_000);
        assert_eq!(a.workload(Case::B).events, 50);
        assert_eq!(a.workload(Case::Isolation).events, 50);
        assert_eq!(a.workload(Case::Latency).events, 5_000);
        let d = Args::parse_from(["x"]);
        assert_eq!(d.workload(Case::A).events, 20_000);
        assert_eq!(d.workload(Case::B).destinations, 20);
        assert_eq!(
            d.workload(Case::Isolation).slow.map(|s| s.0),
            Some(19),
            "the last destination is the slow one"
        );
        assert_eq!(
            d.cases(),
            vec![
                Case::A,
                Case::Mixed,
                Case::B,
                Case::Isolation,
                Case::Latency
            ],
            "each case compared with another right after it"
        );
        let two = Args::parse_from(["x", "--case", "isolation,b,a", "--case", "a"]);
        assert_eq!(
            two.cases(),
            vec![Case::A, Case::B, Case::Isolation],
            "each once, in run order"
        );
        let m = d.workload(Case::Mixed);
        assert_eq!((m.events, m.destinations), (20_000, 1), "case A's load");
        assert_eq!(m.quiet, Some((19, 20)), "beside 19 quiet destinations");
        assert_eq!(d.workload(Case::A).quiet, None);
        assert_eq!(d.modes(), vec![Mode::Split, Mode::Embedded]);
    }

    #[test]
    fn env_pairs() {
        let a = Args::parse_from(["x", "--env", "LOG_BATCH_SIZE=5", "--env", "A=b=c"]);
        assert_eq!(
            a.extra_env,
            vec![
                ("LOG_BATCH_SIZE".to_string(), "5".to_string()),
                ("A".to_string(), "b=c".to_string())
            ]
        );
        assert!(Args::try_parse_from(["x", "--env", "nope"]).is_err());
    }
}
