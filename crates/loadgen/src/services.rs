//! Starting the outpost services of one run (split or embedded) and creating the tenant and
//! its destinations through the API.

use crate::args::{Args, Mode, Workload};
use crate::infra::{self, Registry, RunInfra};
use crate::procs;
use anyhow::{Context, bail};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Admin API key of the services.
pub const API_KEY: &str = "loadgen-key";

/// The running services of one run.
pub struct Services {
    /// API base URL.
    pub api: String,
    /// (role, pid) of each process.
    pub pids: Vec<(String, u32)>,
    /// Split mode's infrastructure.
    pub infra: Option<RunInfra>,
    /// Log files.
    pub logs: Vec<PathBuf>,
}

/// A free loopback port.
pub fn free_port() -> anyhow::Result<u16> {
    use std::sync::{Mutex, OnceLock};
    // The kernel may hand the same free port to two probes in a row; never give one out twice
    // in this process (two services of a run on one port answer each other's health checks).
    static GIVEN: OnceLock<Mutex<std::collections::HashSet<u16>>> = OnceLock::new();
    let given = GIVEN.get_or_init(Default::default);
    for _ in 0..100 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        if given.lock().unwrap_or_else(|p| p.into_inner()).insert(port) {
            return Ok(port);
        }
    }
    anyhow::bail!("no free port found that was not handed out already")
}

/// One setting.
pub fn kv(k: &str, v: impl ToString) -> (String, String) {
    (k.to_string(), v.to_string())
}

/// The settings of service `role` (api, delivery or log) listening on `port`, from the shared
/// ones; the log service serves gRPC on `grpc`, which the api service reads.
pub fn role_env(
    shared: &[(String, String)],
    role: &str,
    port: u16,
    grpc: u16,
) -> Vec<(String, String)> {
    let mut env = shared.to_vec();
    env.push(kv("SERVICE", role));
    env.push(kv("API_PORT", port));
    match role {
        "log" => env.push(kv("LOG_GRPC_PORT", grpc)),
        "api" => env.push(kv("LOG_GRPC_URL", format!("http://127.0.0.1:{grpc}"))),
        _ => {}
    }
    env
}

/// Settings every process gets.
fn common_env(args: &Args, w: &Workload) -> Vec<(String, String)> {
    let mut env = vec![
        kv("API_KEY", API_KEY),
        kv("API_JWT_SECRET", "loadgen-jwt-secret"),
        kv("AES_ENCRYPTION_SECRET", "loadgen-aes-secret"),
        kv("LOG_LEVEL", &args.log_level),
        kv("DESTINATIONS_WEBHOOK_ALLOWED_CIDRS", "127.0.0.0/8"),
        kv("DELIVERY_MAX_CONCURRENCY", args.delivery_concurrency),
        kv("LOG_BATCH_THRESHOLD_SECONDS", 1),
        kv("MAX_DESTINATIONS_PER_TENANT", w.destinations.max(20)),
    ];
    if let Some((_, delay)) = w.slow {
        // The slow destination answers (late) rather than timing out.
        env.push(kv("DELIVERY_TIMEOUT_SECONDS", delay.as_secs().max(5) + 5));
    }
    env
}

fn with_extra(mut env: Vec<(String, String)>, args: &Args) -> Vec<(String, String)> {
    for (k, v) in &args.extra_env {
        env.retain(|(ek, _)| ek != k);
        env.push((k.clone(), v.clone()));
    }
    env
}

/// Starts the services for `mode`, registering processes and infrastructure in `reg`.
pub async fn start(
    args: &Args,
    reg: &Registry,
    mode: Mode,
    w: &Workload,
    tag: &str,
    dir: &Path,
) -> anyhow::Result<Services> {
    let bin = args.outpost_bin();
    if !bin.exists() {
        bail!(
            "{} not found: build it with `cargo build --release --locked --bin outpost -p outpost` or pass --outpost",
            bin.display()
        );
    }
    let common = common_env(args, w);
    let mut logs = Vec::new();
    match mode {
        Mode::Embedded => {
            let port = free_port()?;
            let mut env = common;
            env.push(kv("API_PORT", port));
            let env = with_extra(env, args);
            let log = dir.join(format!("{tag}-all.log"));
            logs.push(log.clone());
            let mut p = procs::spawn("all", &bin, &["serve"], &env, dir, log)?;
            let pid = p.pid;
            let api = format!("http://127.0.0.1:{port}");
            let healthy = p.wait_healthy(&api, Duration::from_secs(30)).await;
            reg.add_proc(p).await;
            healthy?;
            Ok(Services {
                api,
                pids: vec![("all".into(), pid)],
                infra: None,
                logs,
            })
        }
        Mode::Split => {
            wait_for_infra(args).await?;
            let ri = RunInfra::new(tag, &args.backends.database_url);
            reg.add_infra(ri.clone()).await;
            infra::create_database(&args.backends.database_url, &ri.database).await?;
            let (rhost, rport) = args
                .backends
                .redis_addr
                .rsplit_once(':')
                .context("--redis-addr is host:port")?;
            let mut shared = common;
            shared.extend([
                kv("REDIS_HOST", rhost),
                kv("REDIS_PORT", rport),
                kv("DEPLOYMENT_ID", &ri.deployment_id),
                kv("RABBITMQ_SERVER_URL", &args.backends.rabbitmq_url),
                kv("RABBITMQ_EXCHANGE", &ri.exchange),
                kv("RABBITMQ_DELIVERY_QUEUE", &ri.delivery_queue),
                kv("RABBITMQ_LOG_QUEUE", &ri.log_queue),
                kv("POSTGRES_URL", &ri.postgres_url),
            ]);
            procs::run_to_end(
                &bin,
                &["migrate", "apply", "--yes"],
                &with_extra(shared.clone(), args),
                dir,
            )
            .await
            .context("outpost migrate apply")?;
            let grpc = free_port()?;
            let mut pids = Vec::new();
            let mut api = String::new();
            for role in ["log", "delivery", "api"] {
                let port = free_port()?;
                let env = with_extra(role_env(&shared, role, port, grpc), args);
                let log = dir.join(format!("{tag}-{role}.log"));
                logs.push(log.clone());
                let mut p = procs::spawn(role, &bin, &["serve"], &env, dir, log)?;
                pids.push((role.to_string(), p.pid));
                let base = format!("http://127.0.0.1:{port}");
                let healthy = p.wait_healthy(&base, Duration::from_secs(30)).await;
                reg.add_proc(p).await;
                healthy?;
                if role == "api" {
                    api = base;
                }
            }
            Ok(Services {
                api,
                pids,
                infra: Some(ri),
                logs,
            })
        }
    }
}

/// `host:port` of a URL (`default_port` when it names none).
pub fn host_port(url: &str, default_port: u16) -> Option<String> {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let rest = rest.rsplit_once('@').map(|(_, r)| r).unwrap_or(rest);
    let hp = rest.split(['/', '?']).next()?;
    if hp.is_empty() {
        return None;
    }
    Some(if hp.contains(':') {
        hp.to_string()
    } else {
        format!("{hp}:{default_port}")
    })
}

/// Waits (up to 2 minutes) until Redis, RabbitMQ and PostgreSQL accept connections: another
/// job on the machine may be restarting one of them.
async fn wait_for_infra(args: &Args) -> anyhow::Result<()> {
    let targets = [
        ("Redis", Some(args.backends.redis_addr.clone())),
        ("RabbitMQ", host_port(&args.backends.rabbitmq_url, 5672)),
        ("PostgreSQL", host_port(&args.backends.database_url, 5432)),
    ];
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    for (name, addr) in targets {
        let Some(addr) = addr else { continue };
        let mut said = false;
        loop {
            let ok = tokio::time::timeout(
                Duration::from_secs(2),
                tokio::net::TcpStream::connect(addr.as_str()),
            )
            .await
            .is_ok_and(|r| r.is_ok());
            if ok {
                break;
            }
            if std::time::Instant::now() > deadline {
                bail!("{name} at {addr} does not accept connections");
            }
            if !said {
                eprintln!("  waiting for {name} at {addr} to accept connections");
                said = true;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    Ok(())
}

/// Creates `tenant` and one webhook destination per sink URL (all topics).
pub async fn setup_tenant(api: &str, tenant: &str, urls: &[String]) -> anyhow::Result<()> {
    let c = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()?;
    let base = format!("{api}/api/v1");
    let r = c
        .put(format!("{base}/tenants/{tenant}"))
        .bearer_auth(API_KEY)
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("PUT /tenants/{tenant}: {} {}", r.status(), r.text().await?);
    }
    for url in urls {
        let r = c
            .post(format!("{base}/tenants/{tenant}/destinations"))
            .bearer_auth(API_KEY)
            .json(&json!({"type": "webhook", "topics": ["*"], "config": {"url": url}}))
            .send()
            .await?;
        if !r.status().is_success() {
            bail!(
                "POST /tenants/{tenant}/destinations: {} {}",
                r.status(),
                r.text().await?
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_ports() {
        assert_eq!(
            host_port("amqp://guest:guest@127.0.0.1:5672/%2f", 5672).as_deref(),
            Some("127.0.0.1:5672")
        );
        assert_eq!(
            host_port("postgres://postgres@localhost/postgres", 5432).as_deref(),
            Some("localhost:5432")
        );
    }
}
