//! `outpost-faults` (`make faults`; `make test` runs `--short`): the fault-injection suite. For
//! each fault, the three services run as separate processes on the local Redis, RabbitMQ and
//! PostgreSQL under a steady publish load; the fault strikes a third of the way in, lasts its
//! outage time, and is undone. The publisher retries a refused publish as an API client would.
//! Afterwards every accepted event must reach the sink and have its successful attempt in the
//! log, with no attempt logged twice. One table: fault, outage, events accepted, delivered,
//! lost (must be 0), duplicate deliveries, attempts logged twice, recovery time (from the end
//! of the fault until everything accepted before it was delivered and logged).

pub mod publisher;
pub mod scenario;
pub mod sink;

use crate::infra::{self, Registry, RunInfra};
use crate::procs::{self, Proc};
use anyhow::{Context, bail};
use clap::Parser;
use outpost_test_support::tcp_proxy::TcpProxy;
use publisher::Publisher;
use scenario::Fault;
use serde_json::json;
use sink::FaultSink;
use std::collections::{HashMap, HashSet};
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
    /// Longest wait for delivery and logging after the load, seconds.
    #[arg(long, default_value_t = 120)]
    pub drain_secs: u64,
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
    /// PostgreSQL server URL (a database per fault is created and dropped).
    #[arg(
        long,
        env = "TEST_DATABASE_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/postgres"
    )]
    pub database_url: String,
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
    let reg = Registry::new(&a.database_url, &a.rabbitmq_url, &a.redis_addr);
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

/// The services of one fault's run.
struct Stack {
    bin: PathBuf,
    dir: PathBuf,
    env: HashMap<&'static str, Vec<(String, String)>>,
    procs: HashMap<&'static str, Proc>,
    ports: HashMap<&'static str, u16>,
    tag: String,
    starts: usize,
}

impl Stack {
    async fn start(&mut self, role: &'static str) -> anyhow::Result<()> {
        let env = self.env.get(role).context("role")?.clone();
        // A restarted process gets a log of its own, next to its predecessor's.
        self.starts += 1;
        let log = self
            .dir
            .join(format!("{}-{role}-{}.log", self.tag, self.starts));
        let mut p = procs::spawn(role, &self.bin, &["serve"], &env, &self.dir, log)?;
        let base = format!("http://127.0.0.1:{}", self.ports[role]);
        p.wait_healthy(&base, Duration::from_secs(30)).await?;
        self.procs.insert(role, p);
        Ok(())
    }

    async fn stop_all(&mut self) {
        for role in ["api", "delivery", "log"] {
            if let Some(p) = self.procs.remove(role) {
                p.stop(Duration::from_secs(10)).await;
            }
        }
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn kv(k: &str, v: impl ToString) -> (String, String) {
    (k.to_string(), v.to_string())
}

async fn run_one(
    a: &FaultArgs,
    fault: Fault,
    bin: &Path,
    dir: &Path,
    reg: &Registry,
    run_id: &str,
) -> anyhow::Result<Row> {
    let tag = format!("f{run_id}_{}", fault.slug());
    let ri = RunInfra::new(&tag, &a.database_url);
    reg.add_infra(ri.clone()).await;
    infra::create_database(&a.database_url, &ri.database).await?;
    let redis_proxy = TcpProxy::start(resolve(&a.redis_addr)?).await;
    let pg_target = host_port(&a.database_url, 5432).context("database URL host")?;
    let pg_proxy = TcpProxy::start(resolve(&pg_target)?).await;
    let sink = FaultSink::start().await?;
    let sink_proxy = TcpProxy::start(sink.addr).await;
    let postgres_url = ri
        .postgres_url
        .replacen(&pg_target, &pg_proxy.addr.to_string(), 1);
    let schedule: Vec<String> = (0..40).map(|i| (1 + i / 10).to_string()).collect();
    let shared = vec![
        kv("API_KEY", API_KEY),
        kv("API_JWT_SECRET", "faults-jwt"),
        kv("AES_ENCRYPTION_SECRET", "faults-aes"),
        kv("DESTINATIONS_WEBHOOK_ALLOWED_CIDRS", "127.0.0.0/8"),
        kv("REDIS_HOST", "127.0.0.1"),
        kv("REDIS_PORT", redis_proxy.addr.port()),
        kv("DEPLOYMENT_ID", &ri.deployment_id),
        kv("RABBITMQ_SERVER_URL", &a.rabbitmq_url),
        kv("RABBITMQ_EXCHANGE", &ri.exchange),
        kv("RABBITMQ_DELIVERY_QUEUE", &ri.delivery_queue),
        kv("RABBITMQ_LOG_QUEUE", &ri.log_queue),
        kv("POSTGRES_URL", &postgres_url),
        kv("LOG_BATCH_THRESHOLD_SECONDS", 1),
        kv("DELIVERY_TIMEOUT_SECONDS", 2),
        kv("RETRY_SCHEDULE", schedule.join(",")),
        kv("RETRY_POLL_BACKOFF_MS", 100),
    ];
    procs::run_to_end(bin, &["migrate", "apply", "--yes"], &shared, dir)
        .await
        .context("outpost migrate apply")?;
    let grpc = free_port()?;
    let mut stack = Stack {
        bin: bin.to_path_buf(),
        dir: dir.to_path_buf(),
        env: HashMap::new(),
        procs: HashMap::new(),
        ports: HashMap::new(),
        tag,
        starts: 0,
    };
    for role in ["log", "delivery", "api"] {
        let port = free_port()?;
        let mut env = shared.clone();
        env.push(kv("SERVICE", role));
        env.push(kv("API_PORT", port));
        match role {
            "log" => env.push(kv("LOG_GRPC_PORT", grpc)),
            "api" => env.push(kv("LOG_GRPC_URL", format!("http://127.0.0.1:{grpc}"))),
            _ => {}
        }
        stack.env.insert(role, env);
        stack.ports.insert(role, port);
    }
    let outcome = async {
        for role in ["log", "delivery", "api"] {
            stack.start(role).await?;
        }
        let api = format!("http://127.0.0.1:{}", stack.ports["api"]);
        setup(&api, &format!("http://{}/hook", sink_proxy.addr)).await?;
        let publisher = Publisher::new(&api, &format!("{tag_prefix}-", tag_prefix = fault.slug()))?;
        let load = tokio::spawn(publisher.clone().run(a.rate(), a.load()));
        tokio::time::sleep(a.load() / 3).await;
        let outage = a.outage(fault);
        inject(fault, outage, &mut stack, &redis_proxy, &pg_proxy, &sink, &sink_proxy).await?;
        let fault_end = Instant::now();
        load.await.context("publisher")?;
        let pg = pg_client(&ri.postgres_url).await?;
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
                    .all(|(id, _)| sink.first(id).is_some() && logged.contains(id))
            {
                recovery = Some(fault_end.elapsed());
            }
            let all_done = accepted
                .iter()
                .all(|(id, _)| sink.first(id).is_some() && logged.contains(id));
            if (recovery.is_some() && all_done) || Instant::now() > deadline {
                break logged;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let accepted = publisher.accepted();
        let delivered = accepted.iter().filter(|(id, _)| sink.first(id).is_some()).count();
        let unlogged = accepted
            .iter()
            .filter(|(id, _)| sink.first(id).is_some() && !logged.contains(id))
            .count();
        let (_, duplicates) = sink.counts();
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
    stack.stop_all().await;
    outcome
}

/// Breaks what `fault` breaks for `outage`, then undoes it.
async fn inject(
    fault: Fault,
    outage: Duration,
    stack: &mut Stack,
    redis: &TcpProxy,
    pg: &TcpProxy,
    sink: &FaultSink,
    sink_proxy: &TcpProxy,
) -> anyhow::Result<()> {
    match fault {
        Fault::KillApi | Fault::KillDelivery | Fault::KillLog => {
            let role = fault.killed_service().context("a killed service")?;
            if let Some(p) = stack.procs.remove(role) {
                p.kill9().await;
            }
            tokio::time::sleep(outage).await;
            stack.start(role).await?;
        }
        Fault::Redis | Fault::Postgres | Fault::SinkReset => {
            let proxy = match fault {
                Fault::Redis => redis,
                Fault::Postgres => pg,
                _ => sink_proxy,
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
            sink.set_hang(true);
            tokio::time::sleep(outage).await;
            sink.set_hang(false);
        }
    }
    Ok(())
}

async fn setup(api: &str, url: &str) -> anyhow::Result<()> {
    let c = reqwest::Client::builder().no_proxy().build()?;
    let base = format!("{api}/api/v1");
    let r = c
        .put(format!("{base}/tenants/{TENANT}"))
        .bearer_auth(API_KEY)
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("PUT tenant: {}", r.status());
    }
    let r = c
        .post(format!("{base}/tenants/{TENANT}/destinations"))
        .bearer_auth(API_KEY)
        .json(&json!({"type": "webhook", "topics": ["*"], "config": {"url": url}}))
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("POST destination: {} {}", r.status(), r.text().await?);
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

fn resolve(addr: &str) -> anyhow::Result<std::net::SocketAddr> {
    use std::net::ToSocketAddrs;
    addr.to_socket_addrs()?
        .next()
        .with_context(|| format!("cannot resolve {addr}"))
}

fn host_port(url: &str, default_port: u16) -> Option<String> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    let hp = rest.split(['/', '?']).next()?;
    (!hp.is_empty()).then(|| {
        if hp.contains(':') {
            hp.to_string()
        } else {
            format!("{hp}:{default_port}")
        }
    })
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

    #[test]
    fn pg_host_port() {
        assert_eq!(
            host_port("postgres://postgres@127.0.0.1:5432/postgres", 5432).as_deref(),
            Some("127.0.0.1:5432")
        );
        assert_eq!(
            host_port("postgres://u@db/x", 5432).as_deref(),
            Some("db:5432")
        );
    }
}
