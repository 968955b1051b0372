//! One measured run: sink, services, tenant, warm-up, publishing, waiting for the deliveries,
//! and the figures of the row.

use crate::args::{Args, Case, Mode, Workload};
use crate::infra::{self, Registry};
use crate::procs::{self, RssSampler};
use crate::publish::{self, Publisher};
use crate::services;
use crate::sink::{Recorder, Sink};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

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
    /// Redis calls per command over the window (split; machine-wide).
    pub redis_calls: Option<Vec<(String, u64)>>,
    /// Why the wait ended early, if it did.
    pub incomplete: Option<String>,
    /// Service processes that needed SIGKILL.
    pub killed: Vec<String>,
    /// Log files kept (when something went wrong).
    pub kept_logs: Vec<String>,
}

struct CpuSnap {
    procs: HashMap<u32, u64>,
    infra: HashMap<&'static str, u64>,
    me: u64,
    machine: u64,
}

fn cpu_snap(pids: &[(String, u32)]) -> CpuSnap {
    CpuSnap {
        procs: pids
            .iter()
            .map(|(_, p)| (*p, procs::stat(*p).map(|s| s.own).unwrap_or(0)))
            .collect(),
        infra: procs::infra_ticks(),
        me: procs::stat(std::process::id()).map(|s| s.own).unwrap_or(0),
        machine: procs::machine_ticks().0,
    }
}

/// Redis calls per command since `before` (split; machine-wide), most frequent first.
async fn redis_calls_since(
    args: &Args,
    svc: &services::Services,
    before: &Option<BTreeMap<String, u64>>,
) -> Option<Vec<(String, u64)>> {
    let (Some(b), Some(_)) = (before, &svc.infra) else {
        return None;
    };
    let now = infra::redis_command_calls(&args.backends.redis_addr).await?;
    let mut d: Vec<(String, u64)> = now
        .into_iter()
        .map(|(k, v)| {
            let was = b.get(&k).copied().unwrap_or(0);
            (k, v.saturating_sub(was))
        })
        .filter(|(k, v)| *v > 0 && k != "info")
        .collect();
    d.sort_by_key(|x| std::cmp::Reverse(x.1));
    Some(d)
}

/// Everything a run needs from outside.
pub struct Ctx<'a> {
    /// Options.
    pub args: &'a Args,
    /// Cleanup registry.
    pub reg: &'a Registry,
    /// Clock ticks per second.
    pub hz: f64,
    /// Run id (names of databases, queues, tenants).
    pub run_id: String,
    /// Directory of logs (and the services' working directory).
    pub dir: &'a Path,
}

/// Runs one (mode, case).
pub async fn run(ctx: &Ctx<'_>, mode: Mode, w: &Workload) -> anyhow::Result<Row> {
    let args = ctx.args;
    let label = format!("{}/{}", mode.name(), w.case.name());
    let busy_before = if args.quiet_wait_secs > 0 {
        procs::wait_quiet(Duration::from_secs(args.quiet_wait_secs), 0.12).await
    } else {
        0.0
    };
    let tag = format!(
        "{}_{}_{}",
        ctx.run_id,
        mode.name(),
        w.case.name().to_ascii_lowercase()
    );
    eprintln!(
        "[{label}] starting: {} events × {} destination(s){}",
        w.events,
        w.destinations,
        match (w.concurrency, w.slow) {
            (Some(c), None) => format!(", {c} concurrent publishers"),
            (Some(c), Some((i, d))) => format!(
                ", {c} concurrent publishers, destination {i} answers after {} ms",
                d.as_millis()
            ),
            (None, _) => format!(", open loop at {} events/s", w.rate),
        }
    );
    let prefix = format!("{}-{}-{}-", ctx.run_id, mode.name(), w.case.name());
    let rec = Arc::new(Recorder::new(prefix, w.events, w.destinations, w.slow));
    let sink = Sink::start(rec.clone()).await?;
    let result = run_started(ctx, mode, w, &label, &tag, rec, &sink, busy_before).await;
    sink.stop().await;
    result
}

#[allow(clippy::too_many_arguments)]
async fn run_started(
    ctx: &Ctx<'_>,
    mode: Mode,
    w: &Workload,
    label: &str,
    tag: &str,
    rec: Arc<Recorder>,
    sink: &Sink,
    busy_before: f64,
) -> anyhow::Result<Row> {
    let args = ctx.args;
    let t_start = Instant::now();
    let svc = match services::start(args, ctx.reg, mode, w, tag, ctx.dir).await {
        Ok(s) => s,
        Err(e) => {
            ctx.reg.cleanup().await;
            return Err(e);
        }
    };
    eprintln!(
        "[{label}] services up in {:.1}s: {}",
        t_start.elapsed().as_secs_f64(),
        svc.pids
            .iter()
            .map(|(n, p)| format!("{n} (pid {p})"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let measured = measure(ctx, w, label, rec, sink, &svc).await;
    // Peaks need the processes alive.
    let sampler_peaks: Vec<(String, u32, f64)> = match &measured {
        Ok((_, sampler)) => svc
            .pids
            .iter()
            .map(|(n, p)| (n.clone(), *p, sampler.peak_kib(*p) as f64 / 1024.0))
            .collect(),
        Err(_) => Vec::new(),
    };
    let killed = ctx.reg.stop_procs().await;
    ctx.reg.remove_infra().await;
    let (mut row, _) = measured?;
    row.mode = mode;
    row.busy_before = busy_before;
    for pr in &mut row.procs {
        if let Some((_, _, mib)) = sampler_peaks.iter().find(|(n, _, _)| *n == pr.name) {
            pr.rss_mib = *mib;
        }
    }
    row.killed = killed;
    let bad = row.lost > 0 || row.incomplete.is_some() || !row.killed.is_empty();
    for log in &svc.logs {
        if args.keep_logs || bad {
            row.kept_logs.push(log.display().to_string());
        } else {
            let _ = std::fs::remove_file(log);
        }
    }
    Ok(row)
}

async fn measure(
    ctx: &Ctx<'_>,
    w: &Workload,
    label: &str,
    rec: Arc<Recorder>,
    sink: &Sink,
    svc: &services::Services,
) -> anyhow::Result<(Row, RssSampler)> {
    let args = ctx.args;
    let tenant = format!("lg-{}", ctx.run_id);
    let urls: Vec<String> = (0..w.destinations).map(|i| sink.url(i)).collect();
    services::setup_tenant(&svc.api, &tenant, &urls).await?;
    let pool = w.concurrency.unwrap_or(args.latency_max_in_flight);
    let warm = Arc::new(Publisher::new(
        &svc.api,
        services::API_KEY,
        &tenant,
        args.event_size,
        pool,
    )?);
    if args.warmup > 0 {
        let got = publish::warm_up(
            warm,
            rec.clone(),
            args.warmup,
            w.destinations,
            w.concurrency.unwrap_or(64),
            Duration::from_secs(60),
        )
        .await;
        eprintln!(
            "[{label}] warm-up: {} events, {got}/{} deliveries",
            args.warmup,
            args.warmup * w.destinations
        );
    }
    let p = Arc::new(Publisher::new(
        &svc.api,
        services::API_KEY,
        &tenant,
        args.event_size,
        pool,
    )?);
    let sampler = RssSampler::default();
    let sampling = sampler.start(svc.pids.iter().map(|(_, p)| *p).collect());
    let redis_before = match &svc.infra {
        Some(_) => infra::redis_command_calls(&args.backends.redis_addr).await,
        None => None,
    };
    let before = cpu_snap(&svc.pids);
    let t0 = Instant::now();
    let first_send = rec.now_us();
    let publishing = {
        let (p, rec) = (p.clone(), rec.clone());
        let w = w.clone();
        let max_in_flight = args.latency_max_in_flight;
        tokio::spawn(async move {
            match w.concurrency {
                Some(c) => publish::closed_loop(p, rec, c).await,
                None => publish::open_loop(p, rec, w.rate, max_in_flight).await,
            }
        })
    };
    // Progress while publishing and while waiting for the deliveries.
    let total_paths = w.destinations as u64;
    let progress = |phase: &str| {
        let ok = p.ok.load(Ordering::Relaxed);
        let got = rec.unique.load(Ordering::Relaxed);
        let secs = t0.elapsed().as_secs_f64().max(1e-3);
        eprintln!(
            "[{label}] {secs:6.1}s {phase}: published {ok}/{} ({:.0}/s), delivered {got}/{} ({:.0}/s){}",
            w.events,
            ok as f64 / secs,
            ok * total_paths,
            got as f64 / secs,
            match rec.duplicates.load(Ordering::Relaxed) {
                0 => String::new(),
                d => format!(", {d} duplicates"),
            }
        );
    };
    let mut publishing = publishing;
    loop {
        tokio::select! {
            _ = &mut publishing => break,
            _ = tokio::time::sleep(Duration::from_secs(2)) => progress("publishing"),
        }
    }
    let published = p.ok.load(Ordering::Relaxed);
    let expected = published * total_paths;
    // Wait for the deliveries.
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    let mut last_progress = (rec.unique.load(Ordering::Relaxed), Instant::now());
    let mut last_print = Instant::now();
    // Isolation: the figures of the healthy destinations' window (CPU, its end, Redis calls),
    // taken when their last delivery arrives (the slow one's take minutes more).
    let healthy_expected = published * (total_paths - 1);
    let mut healthy_end = None;
    let incomplete = loop {
        let got = rec.unique.load(Ordering::Relaxed);
        if rec.slow_path().is_some()
            && healthy_end.is_none()
            && rec.healthy.load(Ordering::Relaxed) >= healthy_expected
        {
            let (cpu, at) = (cpu_snap(&svc.pids), Instant::now());
            healthy_end = Some((cpu, at, redis_calls_since(args, svc, &redis_before).await));
        }
        if got >= expected {
            break None;
        }
        if got != last_progress.0 {
            last_progress = (got, Instant::now());
        }
        if Instant::now() >= deadline {
            break Some(format!("timed out after {} s", args.timeout_secs));
        }
        if last_progress.1.elapsed() >= Duration::from_secs(args.stall_secs) {
            break Some(format!("no delivery for {} s", args.stall_secs));
        }
        if last_print.elapsed() >= Duration::from_secs(2) {
            progress("waiting");
            last_print = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let done_at = Instant::now();
    // The CPU window: to the last delivery, or in the isolation case to the last healthy one.
    let (after, cpu_end, redis_calls) = match healthy_end {
        Some(end) => end,
        None => {
            let after = cpu_snap(&svc.pids);
            (
                after,
                done_at,
                redis_calls_since(args, svc, &redis_before).await,
            )
        }
    };
    progress(if incomplete.is_some() {
        "gave up"
    } else {
        "done"
    });
    // Late duplicates.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    sampling.abort();

    // The log (split): every attempt in Postgres?
    let logged = match &svc.infra {
        Some(ri) => {
            let want = (expected + (args.warmup as u64) * total_paths) as i64;
            let until = Instant::now() + Duration::from_secs(30);
            let mut n = infra::logged_attempts(&ri.postgres_url).await.unwrap_or(-1);
            while n < want && Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(200)).await;
                n = infra::logged_attempts(&ri.postgres_url).await.unwrap_or(-1);
            }
            let lag = (n >= want).then(|| done_at.elapsed().as_secs_f64());
            Some((n, want, lag))
        }
        None => None,
    };

    // Figures.
    let hz = ctx.hz;
    let window_s = cpu_end.duration_since(t0).as_secs_f64();
    let slow_path = rec.slow_path();
    let mut lat_us = Vec::with_capacity(expected as usize);
    let mut slow_us = Vec::new();
    let (mut delivered, mut lost, mut slow_delivered, mut slow_expected) = (0u64, 0u64, 0u64, 0u64);
    let mut last_healthy = 0u64;
    for seq in 0..w.events {
        let sent = rec.sent[seq].load(Ordering::Acquire);
        if sent == 0 {
            continue;
        }
        for path in 0..w.destinations {
            let at = rec.arrival(seq, path);
            let is_slow = Some(path) == slow_path;
            if is_slow {
                slow_expected += 1;
            }
            if at == 0 {
                lost += 1;
                continue;
            }
            delivered += 1;
            let l = at.saturating_sub(sent);
            if is_slow {
                slow_delivered += 1;
                slow_us.push(l);
            } else {
                lat_us.push(l);
                last_healthy = last_healthy.max(at);
            }
        }
    }
    let healthy = lat_us.len() as u64;
    let lat = Lat::of(&mut lat_us);
    let delivery_rate = if last_healthy > first_send {
        healthy as f64 / ((last_healthy - first_send) as f64 / 1e6)
    } else {
        0.0
    };
    let last_answer = p.last_answer_us.load(Ordering::Relaxed);
    let publish_rate = if last_answer > first_send {
        published as f64 / ((last_answer - first_send) as f64 / 1e6)
    } else {
        0.0
    };
    let publish_lat = {
        let mut v = p.latencies.lock().map(|l| l.clone()).unwrap_or_default();
        Lat::of(&mut v)
    };
    let procs_rows: Vec<ProcRow> = svc
        .pids
        .iter()
        .map(|(n, pid)| ProcRow {
            name: n.clone(),
            cpu_s: (after.procs.get(pid).copied().unwrap_or(0) as f64
                - before.procs.get(pid).copied().unwrap_or(0) as f64)
                / hz,
            rss_mib: 0.0,
        })
        .collect();
    let infra_cpu: Vec<(String, f64)> = procs::INFRA
        .iter()
        .map(|(g, _)| {
            let a = after.infra.get(g).copied().unwrap_or(0) as f64;
            let b = before.infra.get(g).copied().unwrap_or(0) as f64;
            (g.to_string(), ((a - b) / hz).max(0.0))
        })
        .collect();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let loadgen_cpu = after.me.saturating_sub(before.me) as f64 / hz;
    let machine = after.machine.saturating_sub(before.machine) as f64 / hz;
    let ours: f64 = procs_rows.iter().map(|r| r.cpu_s).sum::<f64>()
        + if svc.infra.is_some() {
            infra_cpu.iter().map(|(_, c)| c).sum::<f64>()
        } else {
            0.0
        }
        + loadgen_cpu;
    let row = Row {
        mode: Mode::Split,
        case: w.case,
        events: w.events,
        destinations: w.destinations,
        offered_rate: w.concurrency.is_none().then_some(w.rate),
        published,
        publish_failed: p.failed.load(Ordering::Relaxed),
        publish_retried: p.retried.load(Ordering::Relaxed),
        publish_error: p.first_error.lock().ok().and_then(|e| e.clone()),
        publish_rate,
        publish_lat,
        expected,
        delivered,
        duplicates: rec.duplicates.load(Ordering::Relaxed),
        lost,
        delivery_rate,
        lat,
        wall_s: window_s,
        procs: procs_rows,
        infra_cpu,
        loadgen_cpu,
        other_cpu: (machine - ours).max(0.0),
        machine_busy_pct: 100.0 * machine / (window_s.max(1e-3) * cores as f64),
        cores,
        busy_before: 0.0,
        logged,
        slow: slow_path.map(|_| SlowRow {
            delivered: slow_delivered,
            expected: slow_expected,
            lat: Lat::of(&mut slow_us),
        }),
        incomplete,
        redis_calls,
        killed: Vec::new(),
        kept_logs: Vec::new(),
    };
    Ok((row, sampler))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
