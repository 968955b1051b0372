//! A private Redis for one run: `redis-server` (part of the local Redis install) on a free port,
//! with an append-only file. For the faults every write is fsynced before it is acknowledged:
//! the Redis fault kills it with SIGKILL and starts it again on the same files, as a crashed
//! production Redis with `appendfsync always` comes back. The soak fsyncs once a second (it
//! measures latency, and kills nothing). The machine's shared Redis is never touched.

use crate::procs::{self, Proc};
use crate::services::free_port;
use anyhow::{Context, bail};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The run's Redis.
pub struct PrivateRedis {
    /// Where it listens.
    pub addr: SocketAddr,
    dir: PathBuf,
    logs: PathBuf,
    tag: String,
    proc: Option<Proc>,
    starts: usize,
    fsync_always: bool,
}

impl PrivateRedis {
    /// Starts it with its data in a new folder under `dir`; waits until it answers.
    /// `fsync_always`: every write on disk before it is acknowledged (else once a second).
    pub async fn start(dir: &Path, tag: &str, fsync_always: bool) -> anyhow::Result<Self> {
        let data = dir.join(format!("{tag}-redis-data"));
        std::fs::create_dir_all(&data)
            .with_context(|| format!("cannot create {}", data.display()))?;
        let mut r = PrivateRedis {
            addr: SocketAddr::from(([127, 0, 0, 1], free_port()?)),
            dir: data,
            logs: dir.to_path_buf(),
            tag: tag.to_string(),
            proc: None,
            starts: 0,
            fsync_always,
        };
        r.launch().await?;
        Ok(r)
    }

    async fn launch(&mut self) -> anyhow::Result<()> {
        self.starts += 1;
        let log = self
            .logs
            .join(format!("{}-redis-{}.log", self.tag, self.starts));
        let port = self.addr.port().to_string();
        let dir = self.dir.to_string_lossy().to_string();
        let args = [
            "--port",
            port.as_str(),
            "--bind",
            "127.0.0.1",
            "--dir",
            dir.as_str(),
            "--appendonly",
            "yes",
            "--appendfsync",
            if self.fsync_always {
                "always"
            } else {
                "everysec"
            },
            "--save",
            "",
            "--protected-mode",
            "no",
        ];
        let bin = which_redis()?;
        let p = procs::spawn("redis", &bin, &args, &[], &self.logs, log)?;
        self.proc = Some(p);
        self.wait_ready(Duration::from_secs(20)).await
    }

    /// Waits until `PING` answers `PONG` (not `LOADING` while it replays its file).
    async fn wait_ready(&mut self, within: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        loop {
            if ping(self.addr).await {
                return Ok(());
            }
            if let Some(p) = self.proc.as_mut()
                && !p.alive()
            {
                bail!(
                    "the private redis-server exited; see its log under {}",
                    self.logs.display()
                );
            }
            if Instant::now() > deadline {
                bail!("the private redis-server did not answer within {within:?}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: it goes away without a chance to flush anything more.
    pub async fn kill9(&mut self) {
        if let Some(p) = self.proc.take() {
            p.kill9().await;
        }
    }

    /// Starts it again on the same port and files.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.launch().await
    }

    /// Stops it (end of the run).
    pub async fn stop(&mut self) {
        if let Some(p) = self.proc.take() {
            p.stop(Duration::from_secs(5)).await;
        }
    }
}

async fn ping(addr: SocketAddr) -> bool {
    let Ok(Ok(mut s)) =
        tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(addr)).await
    else {
        return false;
    };
    if s.write_all(b"PING\r\n").await.is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(
        tokio::time::timeout(Duration::from_secs(1), s.read(&mut buf)).await,
        Ok(Ok(n)) if buf[..n].starts_with(b"+PONG")
    )
}

fn which_redis() -> anyhow::Result<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("redis-server"))
        .find(|p| p.is_file())
        .context("redis-server not found on PATH (it comes with the local Redis install)")
}
