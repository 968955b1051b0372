//! One run's services and surroundings: a fresh database, queues and key prefix; a private
//! Redis (so it can be killed and restarted); TCP proxies in front of PostgreSQL and the sink
//! (so they can be cut); the three services as separate processes that can be killed and
//! started again; the tenant and its webhook destination.

use super::redis::PrivateRedis;
use super::sink::FaultSink;
use super::{API_KEY, FaultArgs, TENANT};
use crate::infra::{self, Registry, RunInfra};
use crate::procs::{self, Proc};
use crate::services::{free_port, kv, role_env};
use anyhow::{Context, bail};
use outpost_test_support::tcp_proxy::TcpProxy;
use serde_json::json;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Everything one run uses.
pub struct Rig {
    /// The service processes.
    pub stack: Stack,
    /// The run's own Redis.
    pub redis: PrivateRedis,
    /// In front of PostgreSQL.
    pub pg_proxy: TcpProxy,
    /// The destination.
    pub sink: FaultSink,
    /// In front of the destination (its URL points here).
    pub sink_proxy: TcpProxy,
    /// Database, queues, key prefix.
    pub infra: RunInfra,
}

impl Rig {
    /// Creates the run's infrastructure, proxies and sink, migrates, and prepares the services'
    /// settings (nothing runs yet).
    pub async fn prepare(
        a: &FaultArgs,
        slug: &str,
        bin: &Path,
        dir: &Path,
        reg: &Registry,
        run_id: &str,
    ) -> anyhow::Result<Rig> {
        let tag = format!("f{run_id}_{slug}");
        let ri = RunInfra::new(&tag, &a.backends.database_url);
        reg.add_infra(ri.clone()).await;
        infra::create_database(&a.backends.database_url, &ri.database).await?;
        // Only the soak (which kills nothing) trades per-write fsync for latency.
        let redis = PrivateRedis::start(dir, &tag, slug != "soak").await?;
        let pg_target = crate::services::host_port(&a.backends.database_url, 5432)
            .context("database URL host")?;
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
            kv("REDIS_PORT", redis.addr.port()),
            kv("DEPLOYMENT_ID", &ri.deployment_id),
            kv("RABBITMQ_SERVER_URL", &a.backends.rabbitmq_url),
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
            stack.env.insert(role, role_env(&shared, role, port, grpc));
            stack.ports.insert(role, port);
        }
        Ok(Rig {
            stack,
            redis,
            pg_proxy,
            sink,
            sink_proxy,
            infra: ri,
        })
    }

    /// Starts the services and creates the tenant and its destination.
    pub async fn start(&mut self) -> anyhow::Result<()> {
        for role in ["log", "delivery", "api"] {
            self.stack.start(role).await?;
        }
        setup(
            &self.api(),
            &format!("http://{}/hook", self.sink_proxy.addr),
        )
        .await
    }

    /// The API's base URL.
    pub fn api(&self) -> String {
        format!("http://127.0.0.1:{}", self.stack.ports["api"])
    }
}

/// The services of one run.
pub struct Stack {
    bin: PathBuf,
    dir: PathBuf,
    env: HashMap<&'static str, Vec<(String, String)>>,
    /// Running processes by role.
    pub procs: HashMap<&'static str, Proc>,
    ports: HashMap<&'static str, u16>,
    tag: String,
    starts: usize,
}

impl Stack {
    /// Starts `role` and waits for its health.
    pub async fn start(&mut self, role: &'static str) -> anyhow::Result<()> {
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

    /// SIGTERM to every process.
    pub async fn stop_all(&mut self) {
        for role in ["api", "delivery", "log"] {
            if let Some(p) = self.procs.remove(role) {
                p.stop(Duration::from_secs(10)).await;
            }
        }
    }
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

fn resolve(addr: &str) -> anyhow::Result<std::net::SocketAddr> {
    use std::net::ToSocketAddrs;
    addr.to_socket_addrs()?
        .next()
        .with_context(|| format!("cannot resolve {addr}"))
}
