//! The service processes (spawned, health-checked, stopped with SIGTERM) and what /proc says
//! about them and about the machine: CPU seconds, RSS, machine-wide busy time.

use anyhow::{Context, bail};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

/// One running service process.
pub struct Proc {
    /// Role: api, delivery, log or all.
    pub name: String,
    /// Process id.
    pub pid: u32,
    /// Its stdout+stderr.
    pub log: PathBuf,
    child: Child,
}

/// Spawns `bin args` with exactly `env` (plus PATH), in its own process group (so a terminal
/// Ctrl-C reaches only the load generator, which then stops it), output to `log`.
pub fn spawn(
    name: &str,
    bin: &Path,
    args: &[&str],
    env: &[(String, String)],
    dir: &Path,
    log: PathBuf,
) -> anyhow::Result<Proc> {
    let out =
        std::fs::File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
    let err = out.try_clone()?;
    let mut c = Command::new(bin);
    c.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .process_group(0)
        .kill_on_drop(true);
    let child = c
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let pid = child.id().context("no pid")?;
    Ok(Proc {
        name: name.to_string(),
        pid,
        log,
        child,
    })
}

/// Runs `bin args` with `env` to completion; fails with its output when it fails.
pub async fn run_to_end(
    bin: &Path,
    args: &[&str],
    env: &[(String, String)],
    dir: &Path,
) -> anyhow::Result<String> {
    let out = Command::new(bin)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("cannot run {}", bin.display()))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        bail!(
            "`{} {}` failed: {}",
            bin.display(),
            args.join(" "),
            text.trim()
        );
    }
    Ok(text)
}

impl Proc {
    /// Waits until `GET <base>/healthz` answers 200; fails if the process exits first.
    pub async fn wait_healthy(&mut self, base: &str, timeout: Duration) -> anyhow::Result<()> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(2))
            .build()?;
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "{} exited with {status} before becoming healthy:\n{}",
                    self.name,
                    tail(&self.log, 20)
                );
            }
            if let Ok(r) = client.get(format!("{base}/healthz")).send().await
                && r.status() == 200
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "{} did not become healthy within {timeout:?}:\n{}",
                    self.name,
                    tail(&self.log, 20)
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL, and waits for the process to be gone.
    pub async fn kill9(mut self) {
        let _ = self.child.kill().await;
    }

    /// Still running?
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, then SIGKILL after `grace`. Returns whether it exited on SIGTERM.
    pub async fn stop(mut self, grace: Duration) -> bool {
        if !self.alive() {
            return true;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await;
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(_) => true,
            Err(_) => {
                let _ = self.child.kill().await;
                false
            }
        }
    }
}

/// The last `n` lines of a file.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Clock ticks per second of /proc times.
pub fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .trim()
                .parse::<f64>()
                .ok()
        })
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// CPU figures of one process from /proc/<pid>/stat, in ticks.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcStat {
    /// utime + stime.
    pub own: u64,
    /// cutime + cstime (waited-for children).
    pub children: u64,
}

/// Parses /proc/<pid>/stat text.
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // f[0] is field 3 (state); utime is field 14.
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok());
    Some(ProcStat {
        own: n(11)? + n(12)?,
        children: n(13)? + n(14)?,
    })
}

/// /proc/<pid>/stat of a process.
pub fn stat(pid: u32) -> Option<ProcStat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// A `Vm*:` figure of /proc/<pid>/status in KiB.
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// Machine-wide (busy, total) ticks from /proc/stat.
pub fn machine_ticks() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = text.lines().find(|l| l.starts_with("cpu ")) else {
        return (0, 0);
    };
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest is already in user)
    let total: u64 = v.iter().take(8).sum();
    let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
    (total.saturating_sub(idle), total)
}

/// The infrastructure process groups whose CPU is reported.
pub const INFRA: [(&str, &[&str]); 3] = [
    ("postgres", &["postgres"]),
    ("redis", &["redis-server"]),
    (
        "rabbitmq",
        &["beam.smp", "erl_child_setup", "inet_gethost", "epmd"],
    ),
];

/// Ticks (own + waited children) of every process whose comm is in each INFRA group. The
/// difference of two such sums is the group's CPU in between, exited backends included (their
/// time moves to the parent's children figures).
pub fn infra_ticks() -> HashMap<&'static str, u64> {
    let mut sums: HashMap<&'static str, u64> = INFRA.iter().map(|(g, _)| (*g, 0)).collect();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return sums;
    };
    for e in dir.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(comm) = std::fs::read_to_string(format!("/proc/{pid}/comm")) else {
            continue;
        };
        let comm = comm.trim();
        if let Some((group, _)) = INFRA.iter().find(|(_, names)| names.contains(&comm))
            && let Some(s) = stat(pid)
            && let Some(v) = sums.get_mut(group)
        {
            *v += s.own + s.children;
        }
    }
    sums
}

/// Peak RSS of processes, sampled in the background (VmRSS every 250 ms, VmHWM at the end).
#[derive(Clone, Default)]
pub struct RssSampler {
    peaks: Arc<Mutex<HashMap<u32, u64>>>,
}

impl RssSampler {
    /// Samples `pids` until the returned handle is aborted.
    pub fn start(&self, pids: Vec<u32>) -> tokio::task::JoinHandle<()> {
        let peaks = self.peaks.clone();
        tokio::spawn(async move {
            loop {
                for &pid in &pids {
                    if let Some(kib) = status_kib(pid, "VmRSS")
                        && let Ok(mut p) = peaks.lock()
                    {
                        let e = p.entry(pid).or_insert(0);
                        *e = (*e).max(kib);
                    }
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    }

    /// The peak in KiB: the larger of the sampled VmRSS and VmHWM (read now).
    pub fn peak_kib(&self, pid: u32) -> u64 {
        let sampled = self
            .peaks
            .lock()
            .ok()
            .and_then(|p| p.get(&pid).copied())
            .unwrap_or(0);
        sampled.max(status_kib(pid, "VmHWM").unwrap_or(0))
    }
}

/// Waits until the machine is quiet (busy under `threshold` of all cores over 3 s), at most
/// `max`. Returns the busy fraction of the last window.
pub async fn wait_quiet(max: Duration, threshold: f64) -> f64 {
    let deadline = Instant::now() + max;
    loop {
        let (b0, t0) = machine_ticks();
        tokio::time::sleep(Duration::from_secs(3)).await;
        let (b1, t1) = machine_ticks();
        let busy = if t1 > t0 {
            (b1 - b0) as f64 / (t1 - t0) as f64
        } else {
            0.0
        };
        if busy < threshold || Instant::now() >= deadline {
            return busy;
        }
        eprintln!(
            "  waiting for a quiet machine: {:.0}% busy over the last 3 s",
            busy * 100.0
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_spaces_in_comm() {
        let s = "123 (my (odd) proc) S 1 123 123 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 1 0 99 0 0";
        let p = parse_stat(s).expect("parses");
        assert_eq!(p.own, 300);
        assert_eq!(p.children, 10);
    }

    #[test]
    fn reads_own_process() {
        let me = std::process::id();
        assert!(stat(me).is_some());
        assert!(status_kib(me, "VmRSS").unwrap_or(0) > 0);
        let (busy, total) = machine_ticks();
        assert!(total >= busy && total > 0);
    }
}
