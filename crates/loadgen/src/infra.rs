//! Per-run infrastructure of split mode (a fresh PostgreSQL database, RabbitMQ exchange and
//! queues of their own, a Redis key prefix) and the registry that removes it and stops the
//! service processes at the end of a run, at exit and on Ctrl-C.

use crate::procs::Proc;
use anyhow::Context;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio_postgres::NoTls;
use tokio_stream::StreamExt;

/// Names of one split run's resources.
#[derive(Debug, Clone)]
pub struct RunInfra {
    /// PostgreSQL database.
    pub database: String,
    /// `POSTGRES_URL` of that database.
    pub postgres_url: String,
    /// RabbitMQ exchange.
    pub exchange: String,
    /// RabbitMQ delivery queue.
    pub delivery_queue: String,
    /// RabbitMQ log queue.
    pub log_queue: String,
    /// `DEPLOYMENT_ID` (Redis key prefix).
    pub deployment_id: String,
}

impl RunInfra {
    /// Names derived from `tag` (lower-case letters, digits and `_`).
    pub fn new(tag: &str, server_url: &str) -> Self {
        let database = format!("outpost_bench_lg_{tag}");
        Self {
            postgres_url: with_database(server_url, &database),
            database,
            exchange: format!("outpost-lg-{tag}"),
            delivery_queue: format!("outpost-lg-{tag}-delivery"),
            log_queue: format!("outpost-lg-{tag}-log"),
            deployment_id: format!("lg_{tag}"),
        }
    }
}

/// `url` with its database (path) replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let head = match base[after_scheme..].find('/') {
        Some(i) => &base[..after_scheme + i],
        None => base,
    };
    match query {
        Some(q) => format!("{head}/{db}?{q}"),
        None => format!("{head}/{db}"),
    }
}

async fn pg(url: &str) -> anyhow::Result<tokio_postgres::Client> {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .with_context(|| format!("cannot connect to PostgreSQL at {}", redact(url)))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…{}", &url[..s], &url[at..]),
        _ => url.to_string(),
    }
}

/// Creates the database.
pub async fn create_database(server_url: &str, db: &str) -> anyhow::Result<()> {
    let c = pg(server_url).await?;
    c.batch_execute(&format!("CREATE DATABASE \"{db}\""))
        .await
        .with_context(|| format!("CREATE DATABASE {db}"))?;
    Ok(())
}

/// The server's version string.
pub async fn server_version(server_url: &str) -> Option<String> {
    let c = pg(server_url).await.ok()?;
    let row = c.query_one("SHOW server_version", &[]).await.ok()?;
    row.try_get::<_, String>(0).ok()
}

/// Rows of `attempts` in the run's database (None when it cannot be read).
pub async fn logged_attempts(url: &str) -> Option<i64> {
    let c = pg(url).await.ok()?;
    let row = c
        .query_one("SELECT count(*) FROM attempts", &[])
        .await
        .ok()?;
    row.try_get::<_, i64>(0).ok()
}

async fn drop_database(server_url: &str, db: &str) -> anyhow::Result<()> {
    let c = pg(server_url).await?;
    c.batch_execute(&format!("DROP DATABASE IF EXISTS \"{db}\" WITH (FORCE)"))
        .await
        .with_context(|| format!("DROP DATABASE {db}"))?;
    Ok(())
}

async fn delete_rabbit(url: &str, r: &RunInfra) -> anyhow::Result<()> {
    use outpost_mq::rabbitmq::{RabbitQueue, RabbitSettings};
    // The busy delivery lane shares the delivery queue's dead-letter queue.
    let busy = format!("{}.busy", r.delivery_queue);
    for (queue, dlq) in [
        (&busy, &r.delivery_queue),
        (&r.delivery_queue, &r.delivery_queue),
        (&r.log_queue, &r.log_queue),
    ] {
        let q = RabbitQueue::connect(RabbitSettings {
            url: url.to_string(),
            exchange: r.exchange.clone(),
            dlq: format!("{dlq}.dlq"),
            queue: queue.clone(),
            auto_provision: true,
        })
        .await
        .map_err(|e| anyhow::anyhow!("RabbitMQ: {e}"))?;
        // The second teardown finds the exchange gone already; that is fine.
        let _ = q.teardown().await;
    }
    Ok(())
}

async fn delete_redis_keys(addr: &str, prefix: &str) -> anyhow::Result<usize> {
    use fred::prelude::*;
    let config = Config::from_url(&format!("redis://{addr}"))?;
    let client = Builder::from_config(config).build()?;
    client.init().await?;
    let mut keys = Vec::new();
    let mut stream = client.scan_buffered(format!("{prefix}:*"), Some(1000), None);
    while let Some(k) = stream.next().await {
        keys.push(k?);
    }
    drop(stream);
    let n = keys.len();
    for chunk in keys.chunks(500) {
        let _: i64 = client.unlink(chunk.to_vec()).await?;
    }
    let _ = client.quit().await;
    Ok(n)
}

/// Calls per command from Redis `INFO commandstats` (machine-wide: every client counts).
pub async fn redis_command_calls(addr: &str) -> Option<BTreeMap<String, u64>> {
    use fred::prelude::*;
    let config = Config::from_url(&format!("redis://{addr}")).ok()?;
    let client = Builder::from_config(config).build().ok()?;
    client.init().await.ok()?;
    let text: String = client
        .info(Some(fred::types::InfoKind::CommandStats))
        .await
        .ok()?;
    let _ = client.quit().await;
    Some(parse_commandstats(&text))
}

/// Messages RabbitMQ has received over AMQP 0.9.1 since it started (every client counts),
/// from its global counters through `rabbitmqctl eval` (so on the broker's own machine only);
/// `Err` says why not.
pub async fn rabbitmq_messages_received() -> Result<u64, String> {
    const EXPR: &str = "maps:get([{protocol,amqp091}], rabbit_global_counters:overview()).";
    let run = tokio::process::Command::new("rabbitmqctl")
        .args(["eval", EXPR])
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let out = match tokio::time::timeout(std::time::Duration::from_secs(15), run).await {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => return Err(format!("rabbitmqctl: {e}")),
        Err(_) => return Err("rabbitmqctl took over 15 s".into()),
    };
    let text = String::from_utf8_lossy(&out.stdout);
    parse_messages_received(&text).ok_or_else(|| {
        let err = String::from_utf8_lossy(&out.stderr);
        let why = err
            .lines()
            .chain(text.lines())
            .find(|l| !l.trim().is_empty());
        format!(
            "rabbitmqctl eval ({}): {}",
            out.status,
            why.unwrap_or("no counter in its output")
        )
    })
}

/// The `messages_received_total => N` counter of `rabbit_global_counters:overview()`'s output.
pub fn parse_messages_received(text: &str) -> Option<u64> {
    let flat: String = text.split_whitespace().collect();
    let at = flat.find("messages_received_total=>")? + "messages_received_total=>".len();
    let digits: String = flat[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// Parses `cmdstat_<name>:calls=<n>,...` lines.
pub fn parse_commandstats(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|l| {
            let (name, rest) = l.trim().strip_prefix("cmdstat_")?.split_once(':')?;
            let calls = rest
                .split(',')
                .find_map(|kv| kv.strip_prefix("calls="))?
                .parse()
                .ok()?;
            Some((name.to_string(), calls))
        })
        .collect()
}

/// What a run started, for cleanup.
#[derive(Default)]
struct Held {
    procs: Vec<Proc>,
    infra: Vec<RunInfra>,
}

/// Everything to stop or remove; shared with the Ctrl-C path.
#[derive(Clone)]
pub struct Registry {
    held: Arc<Mutex<Held>>,
    server_url: String,
    rabbitmq_url: String,
    redis_addr: String,
}

impl Registry {
    /// An empty registry for these servers.
    pub fn new(server_url: &str, rabbitmq_url: &str, redis_addr: &str) -> Self {
        Self {
            held: Arc::default(),
            server_url: server_url.to_string(),
            rabbitmq_url: rabbitmq_url.to_string(),
            redis_addr: redis_addr.to_string(),
        }
    }

    /// Keeps a process to stop later.
    pub async fn add_proc(&self, p: Proc) {
        self.held.lock().await.procs.push(p);
    }

    /// Keeps a run's infrastructure to remove later.
    pub async fn add_infra(&self, r: RunInfra) {
        self.held.lock().await.infra.push(r);
    }

    /// Stops every held process (SIGTERM, SIGKILL after 10 s). Returns those that needed
    /// SIGKILL.
    pub async fn stop_procs(&self) -> Vec<String> {
        let procs = std::mem::take(&mut self.held.lock().await.procs);
        let mut killed = Vec::new();
        // Stop the API first so nothing new comes in, then the workers.
        let mut procs = procs;
        procs.sort_by_key(|p| match p.name.as_str() {
            "api" => 0,
            "delivery" => 1,
            _ => 2,
        });
        for p in procs {
            let name = p.name.clone();
            if !p.stop(Duration::from_secs(10)).await {
                killed.push(name);
            }
        }
        killed
    }

    /// Removes every held run's database, queues and Redis keys; problems are printed.
    pub async fn remove_infra(&self) {
        let infra = std::mem::take(&mut self.held.lock().await.infra);
        for r in infra {
            if let Err(e) = drop_database(&self.server_url, &r.database).await {
                eprintln!("cleanup: cannot drop database {}: {e:#}", r.database);
            }
            match tokio::time::timeout(
                Duration::from_secs(20),
                delete_rabbit(&self.rabbitmq_url, &r),
            )
            .await
            {
                Ok(Ok(())) => {}
                Ok(Err(e)) => eprintln!("cleanup: RabbitMQ {}: {e:#}", r.exchange),
                Err(_) => eprintln!("cleanup: RabbitMQ {}: timed out", r.exchange),
            }
            match tokio::time::timeout(
                Duration::from_secs(20),
                delete_redis_keys(&self.redis_addr, &r.deployment_id),
            )
            .await
            {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => eprintln!("cleanup: Redis keys {}:*: {e:#}", r.deployment_id),
                Err(_) => eprintln!("cleanup: Redis keys {}:*: timed out", r.deployment_id),
            }
        }
    }

    /// Stops the processes, then removes the infrastructure.
    pub async fn cleanup(&self) {
        let killed = self.stop_procs().await;
        if !killed.is_empty() {
            eprintln!(
                "cleanup: {} did not stop on SIGTERM within 10 s (killed)",
                killed.join(", ")
            );
        }
        self.remove_infra().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rabbitmqs_received_counter() {
        let out = "#{consumers => 0,messages_confirmed_total => 39327,\n        \
                   messages_received_confirm_total => 39327,\n        \
                   messages_received_total => 39328,messages_routed_total => 39328,\n        \
                   publishers => -184}\n";
        assert_eq!(parse_messages_received(out), Some(39328));
        assert_eq!(
            parse_messages_received("Error: unable to perform an operation"),
            None
        );
        assert_eq!(
            parse_messages_received("messages_received_total => x"),
            None
        );
    }

    #[test]
    fn replaces_the_database() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
        assert_eq!(redact("postgres://u:p@h/db"), "postgres://…@h/db");
        let s = parse_commandstats(
            "# Commandstats\r\ncmdstat_get:calls=12,usec=3,usec_per_call=0.25\r\ncmdstat_evalsha:calls=5,usec=1\r\n",
        );
        assert_eq!(s.get("get"), Some(&12));
        assert_eq!(s.get("evalsha"), Some(&5));
    }
}
