//! `outpost-faults` (`make faults`; `make test` runs `--short`): the fault-injection suite. For
//! each fault, the three services run as separate processes on the local Redis, RabbitMQ and
//! PostgreSQL under a steady publish load; the fault strikes a third of the way in, lasts its
//! outage time, and is undone. The publisher retries a refused publish as an API client would.
//! Afterwards every accepted event must reach the sink and have its successful attempt in the
//! log, with no attempt logged twice. One table: fault, outage, events accepted, delivered,
//! lost (must be 0), duplicate deliveries, attempts logged twice, recovery time (from the end
//! of the fault until everything accepted before it was delivered and logged).

pub mod publisher;
pub mod redis;
pub mod rig;
pub mod scenario;
pub mod sink;
pub mod soak;

use crate::infra::Registry;
use anyhow::{Context, bail};
use clap::Parser;
use publisher::Publisher;
use rig::Rig;
use scenario::Fault;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Admin key of the services.
pub const API_KEY: &str = "faults-key";
/// The tenant of every run.
pub const TENANT: &str = "faults";

/// Fault-injection suite for the outpost binary.
#[derive(Debug, Clone, Parser)]
#[command(name = "outpost-faults", version, about)]
pub struct FaultArgs {
    /// The outpost binary (default $CARGO_TARGET_DIR/debug/outpost).
    #[arg(long, env = "OUTPOST_BIN")]
    pub outpost: Option<PathBuf>,
    /// The CI form: 50 events/s for 6 s per fault, outages of 3 s (PostgreSQL 5 s).
    #[arg(long)]
    pub short: bool,
    /// Faults to run (default: all), comma-separated.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub only: Vec<Fault>,
    /// Publish rate, events/s (default 100; short 50).
    #[arg(long)]
    pub rate: Option<u64>,
    /// Publishing time per fault, seconds (default 40; short 6).
    #[arg(long)]
    pub load_secs: Option<u64>,
    /// Outage of each fault, seconds (default 10; short 3).
    #[arg(long)]
    pub outage_secs: Option<u64>,
    /// Outage of PostgreSQL, seconds (default 30; short 5).
    #[arg(long)]
    pub postgres_outage_secs: Option<u64>,
    /// Run the soak instead of the faults, for this many seconds (in 10 windows).
    #[arg(long)]
    pub soak: Option<u64>,
    /// Longest wait for delivery and logging after the load, seconds.
    #[arg(long, default_value_t = 120)]
    pub drain_secs: u64,
    /// The servers the services run on.
    #[command(flatten)]
    pub backends: crate::args::Backends,
}

impl FaultArgs {
    fn bin(&self) -> PathBuf {
        self.outpost.clone().unwrap_or_else(|| {
            let dir = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("target"));
            dir.join("debug/outpost")
        })
    }
    fn pick(&self, v: Option<u64>, full: u64, short: u64) -> u64 {
        v.unwrap_or(if self.short { short } else { full })
    }
    fn rate(&self) -> u64 {
        self.pick(self.rate, 100, 50).max(1)
    }
    fn load(&self) -> Duration {
        Duration::from_secs(self.pick(self.load_secs, 40, 6))
    }
    fn outage(&self, f: Fault) -> Duration {
        Duration::from_secs(match f {
            Fault::Postgres => self.pick(self.postgres_outage_secs, 30, 5),
            _ => self.pick(self.outage_secs, 10, 3),
        })
    }
}

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Row {
    /// The fault.
    pub fault: Fault,
    /// How long it lasted.
    pub outage: Duration,
    /// Publishes answered 202.
    pub accepted: usize,
    /// Publish requests refused or failed (retried by the publisher).
    pub refused: u64,
    /// Accepted events that reached the sink.
    pub delivered: usize,
    /// Accepted events that never reached the sink.
    pub lost: usize,
    /// Delivered events without a successful attempt in the log.
    pub unlogged: usize,
    /// Deliveries beyond the first of an event (at-least-once).
    pub duplicates: u64,
    /// Attempts logged more than once.
    pub logged_twice: i64,
    /// From the end of the fault until every event accepted before it was delivered and logged.
    pub recovery: Option<Duration>,
}

impl Row {
    fn ok(&self) -> bool {
        self.lost == 0 && self.unlogged == 0 && self.logged_twice == 0 && self.accepted > 0
    }
}

/// Runs the suite and prints the table; true when every fault lost nothing.
pub async fn run(a: FaultArgs) -> anyhow::Result<bool> {
    let bin = a.bin();
    if !bin.exists() {
        bail!(
            "{} not found: build it with `cargo build --locked --bin outpost -p outpost`, or pass --outpost",
            bin.display()
        );
    }
    let faults: Vec<Fault> = if a.only.is_empty() {
        Fault::ALL.to_vec()
    } else {
        a.only.clone()
    };
    let run_id = format!("{:x}", std::process::id());
    let dir = std::env::temp_dir().join(format!("outpost-faults-{run_id}"));
    std::fs::create_dir_all(&dir)?;
    let reg = Registry::new(
        &a.backends.database_url,
        &a.backends.rabbitmq_url,
        &a.backends.redis_addr,
    );
    if let Some(secs) = a.soak {
        let ok = soak::run(&a, secs, &bin, &dir, &reg, &run_id).await;
        reg.remove_infra().await;
        let ok = ok?;
        if ok {
            let _ = std::fs::remove_dir_all(&dir);
        } else {
            println!("- service logs kept in {}", dir.display());
        }
        return Ok(ok);
    }
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for f in faults {
        eprintln!(
            "[{}] starting ({} events/s for {:?}, outage {:?})",
            f.label(),
            a.rate(),
            a.load(),
            a.outage(f)
        );
        let result = run_one(&a, f, &bin, &dir, &reg, &run_id).await;
        reg.remove_infra().await;
        match result {
            Ok(row) => {
                eprintln!(
                    "[{}] accepted {}, delivered {}, lost {}, unlogged {}, duplicates {}, logged twice {}",
                    f.label(),
                    row.accepted,
                    row.delivered,
                    row.lost,
                    row.unlogged,
                    row.duplicates,
                    row.logged_twice
                );
                rows.push(row);
            }
            Err(e) => {
                eprintln!("[{}] failed: {e:#}", f.label());
                errors.push(format!("{}: {e:#}", f.label()));
            }
        }
    }
    println!("\n{}", table(&rows));
    for e in &errors {
        println!("- FAILED {e}");
    }
    let ok = errors.is_empty() && rows.iter().all(Row::ok);
    if ok {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        println!("- service logs kept in {}", dir.display());
    }
    Ok(ok)
}

/// The result table (Markdown).
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| fault | outage | accepted | refused (retried) | delivered | lost | not logged | duplicates | logged twice | recovery |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} s | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.fault.label(),
            r.outage.as_secs(),
            r.accepted,
            r.refused,
            r.delivered,
            r.lost,
            r.unlogged,
            r.duplicates,
            r.logged_twice,
            r.recovery.map_or_else(
                || "not recovered".to_string(),
                |d| format!("{:.1} s", d.as_secs_f64())
            )
        ));
    }
    out
}

async fn run_one(
    a: &FaultArgs,
    fault: Fault,
    bin: &Path,
    dir: &Path,
    reg: &Registry,
    run_id: &str,
) -> anyhow::Result<Row> {
    let mut rig = Rig::prepare(a, fault.slug(), bin, dir, reg, run_id).await?;
    let outcome = async {
        rig.start().await?;
        let api = rig.api();
        let publisher = Publisher::new(&api, &format!("{tag_prefix}-", tag_prefix = fault.slug()))?;
        let load = tokio::spawn(publisher.clone().run(a.rate(), a.load()));
        tokio::time::sleep(a.load() / 3).await;
        let outage = a.outage(fault);
        inject(fault, outage, &mut rig).await?;
        let fault_end = Instant::now();
        load.await.context("publisher")?;
        let pg = pg_client(&rig.infra.postgres_url).await?;
        let deadline = fault_end + outage.max(a.load()) + Duration::from_secs(a.drain_secs);
        let mut recovery = None;
        let logged = loop {
            let accepted = publisher.accepted();
            let logged = logged_successes(&pg).await?;
            let before: Vec<&(String, Instant)> =
                accepted.iter().filter(|(_, t)| *t <= fault_end).collect();
            if recovery.is_none()
                && before
                    .iter()
                    .all(|(id, _)| rig.sink.first(id).is_some() && logged.contains(id))
            {
                recovery = Some(fault_end.elapsed());
            }
            let all_done = accepted
                .iter()
                .all(|(id, _)| rig.sink.first(id).is_some() && logged.contains(id));
            if (recovery.is_some() && all_done) || Instant::now() > deadline {
                break logged;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let accepted = publisher.accepted();
        let delivered = accepted.iter().filter(|(id, _)| rig.sink.first(id).is_some()).count();
        let unlogged = accepted
            .iter()
            .filter(|(id, _)| rig.sink.first(id).is_some() && !logged.contains(id))
            .count();
        let (_, duplicates) = rig.sink.counts();
        let row = pg
            .query_one(
                "SELECT count(*) - count(DISTINCT (event_id, destination_id, attempt_number)) FROM attempts",
                &[],
            )
            .await?;
        Ok::<Row, anyhow::Error>(Row {
            fault,
            outage,
            accepted: accepted.len(),
            refused: publisher.refused(),
            delivered,
            lost: accepted.len() - delivered,
            unlogged,
            duplicates,
            logged_twice: row.get(0),
            recovery,
        })
    }
    .await;
    rig.stack.stop_all().await;
    rig.redis.stop().await;
    outcome
}

/// Breaks what `fault` breaks for `outage`, then undoes it.
async fn inject(fault: Fault, outage: Duration, rig: &mut Rig) -> anyhow::Result<()> {
    match fault {
        Fault::KillApi | Fault::KillDelivery | Fault::KillLog => {
            let role = fault.killed_service().context("a killed service")?;
            if let Some(p) = rig.stack.procs.remove(role) {
                p.kill9().await;
            }
            tokio::time::sleep(outage).await;
            rig.stack.start(role).await?;
        }
        Fault::Redis => {
            rig.redis.kill9().await;
            tokio::time::sleep(outage).await;
            rig.redis.restart().await?;
        }
        Fault::Postgres | Fault::SinkReset => {
            let proxy = match fault {
                Fault::Postgres => &rig.pg_proxy,
                _ => &rig.sink_proxy,
            };
            proxy.cut();
            tokio::time::sleep(outage).await;
            proxy.restore();
        }
        Fault::Rabbitmq => {
            scenario::rabbitmqctl(&["stop_app"]).await?;
            tokio::time::sleep(outage).await;
            scenario::rabbitmqctl(&["start_app"]).await?;
            scenario::rabbitmqctl(&["await_startup"]).await?;
        }
        Fault::SinkHang => {
            rig.sink.set_hang(true);
            tokio::time::sleep(outage).await;
            rig.sink.set_hang(false);
        }
    }
    Ok(())
}

async fn pg_client(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .context("PostgreSQL")?;
    tokio::spawn(conn);
    Ok(client)
}

async fn logged_successes(pg: &tokio_postgres::Client) -> anyhow::Result<HashSet<String>> {
    let rows = pg
        .query(
            "SELECT DISTINCT event_id FROM attempts WHERE tenant_id = $1 AND status = 'success'",
            &[&TENANT],
        )
        .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_shows_every_column_and_unrecovered_runs() {
        let row = Row {
            fault: Fault::Postgres,
            outage: Duration::from_secs(30),
            accepted: 10,
            refused: 2,
            delivered: 10,
            lost: 0,
            unlogged: 0,
            duplicates: 1,
            logged_twice: 0,
            recovery: None,
        };
        let t = table(std::slice::from_ref(&row));
        assert!(
            t.contains(
                "| PostgreSQL stopped | 30 s | 10 | 2 | 10 | 0 | 0 | 1 | 0 | not recovered |"
            ),
            "{t}"
        );
        assert!(row.ok());
        assert!(
            !Row {
                lost: 1,
                ..row.clone()
            }
            .ok()
        );
        assert!(
            !Row {
                logged_twice: 1,
                ..row
            }
            .ok()
        );
    }
}
