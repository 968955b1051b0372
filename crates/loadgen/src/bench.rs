//! One measured run: sinks, services, tenants, warm-up, publishing, waiting for the
//! deliveries, and the figures of the row ([`crate::figures`]).

use crate::args::{Args, Mode, Workload};
use crate::figures::{Lat, ProcRow, QuietRow, Row, SlowRow, Tally, tally};
use crate::infra::{self, Registry};
use crate::procs::{self, RssSampler};
use crate::publish::{self, Publisher};
use crate::services;
use crate::sink::{Recorder, Sink};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

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

/// RabbitMQ's received-message counter when the services run on RabbitMQ (split), else `None`.
async fn rabbitmq_messages(svc: &services::Services) -> Option<Result<u64, String>> {
    svc.infra.as_ref()?;
    Some(infra::rabbitmq_messages_received().await)
}

/// Messages RabbitMQ received since `before`.
async fn rabbitmq_messages_since(
    svc: &services::Services,
    before: &Option<Result<u64, String>>,
) -> Option<Result<u64, String>> {
    let now = rabbitmq_messages(svc).await?;
    Some(match (before.clone()?, now) {
        (Ok(b), Ok(n)) => Ok(n.saturating_sub(b)),
        (Err(e), _) | (_, Err(e)) => Err(e),
    })
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
    let rec = Arc::new(Recorder::new(
        prefix.clone(),
        w.events,
        w.destinations,
        w.slow,
    ));
    let sink = Sink::start(rec.clone()).await?;
    let quiet = match w.quiet {
        Some((paths, rate)) => {
            // Room for the longest run; the publisher stops with the measured one.
            let events = (rate * args.timeout_secs.max(60)) as usize;
            let rec = Arc::new(Recorder::new(format!("{prefix}q-"), events, paths, None));
            match Sink::start(rec.clone()).await {
                Ok(sink) => Some(Quiet { rec, sink, rate }),
                Err(e) => {
                    sink.stop().await;
                    return Err(e);
                }
            }
        }
        None => None,
    };
    let sinks = Sinks {
        rec,
        sink: &sink,
        quiet: quiet.as_ref(),
    };
    let result = run_started(ctx, mode, w, &label, &tag, &sinks, busy_before).await;
    sink.stop().await;
    if let Some(q) = quiet {
        q.sink.stop().await;
    }
    result
}

/// The quiet tenant of the mixed case: its record, its sink and its rate.
struct Quiet {
    rec: Arc<Recorder>,
    sink: Sink,
    rate: u64,
}

/// Where a run's deliveries arrive.
struct Sinks<'a> {
    rec: Arc<Recorder>,
    sink: &'a Sink,
    quiet: Option<&'a Quiet>,
}

async fn run_started(
    ctx: &Ctx<'_>,
    mode: Mode,
    w: &Workload,
    label: &str,
    tag: &str,
    sinks: &Sinks<'_>,
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
    let measured = measure(ctx, w, label, sinks, &svc).await;
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
    sinks: &Sinks<'_>,
    svc: &services::Services,
) -> anyhow::Result<(Row, RssSampler)> {
    let args = ctx.args;
    let rec = sinks.rec.clone();
    let tenant = format!("lg-{}", ctx.run_id);
    let urls: Vec<String> = (0..w.destinations).map(|i| sinks.sink.url(i)).collect();
    services::setup_tenant(&svc.api, &tenant, &urls).await?;
    let quiet = match sinks.quiet {
        Some(q) => {
            let tenant = format!("lg-{}-quiet", ctx.run_id);
            let urls: Vec<String> = (0..q.rec.paths).map(|i| q.sink.url(i)).collect();
            services::setup_tenant(&svc.api, &tenant, &urls).await?;
            let p = Publisher::new(&svc.api, services::API_KEY, &tenant, args.event_size, 16)?;
            Some((q, Arc::new(p)))
        }
        None => None,
    };
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
    // Before the CPU snapshot: the command line is an Erlang VM of its own for half a second.
    let rabbitmq_before = rabbitmq_messages(svc).await;
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
                None => {
                    let never = Arc::new(AtomicBool::new(false));
                    publish::open_loop(p, rec, w.rate, max_in_flight, never).await
                }
            }
        })
    };
    // The quiet tenant publishes for as long as the measured publishers run.
    let quiet_stop = Arc::new(AtomicBool::new(false));
    let quiet_publishing = quiet.as_ref().map(|(q, qp)| {
        tokio::spawn(publish::open_loop(
            qp.clone(),
            q.rec.clone(),
            q.rate,
            64,
            quiet_stop.clone(),
        ))
    });
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
    quiet_stop.store(true, Ordering::Relaxed);
    if let Some(h) = quiet_publishing {
        let _ = h.await;
    }
    let quiet_expected = quiet.as_ref().map_or(0, |(q, qp)| {
        qp.ok.load(Ordering::Relaxed) * q.rec.paths as u64
    });
    let quiet_got = || {
        quiet
            .as_ref()
            .map_or(0, |(q, _)| q.rec.unique.load(Ordering::Relaxed))
    };
    let published = p.ok.load(Ordering::Relaxed);
    let expected = published * total_paths;
    // Wait for the deliveries.
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
    let mut last_progress = (
        rec.unique.load(Ordering::Relaxed) + quiet_got(),
        Instant::now(),
    );
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
            healthy_end = Some((
                cpu,
                at,
                redis_calls_since(args, svc, &redis_before).await,
                rabbitmq_messages_since(svc, &rabbitmq_before).await,
            ));
        }
        if got >= expected && quiet_got() >= quiet_expected {
            break None;
        }
        if got + quiet_got() != last_progress.0 {
            last_progress = (got + quiet_got(), Instant::now());
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
    let (after, cpu_end, redis_calls, rabbitmq_messages) = match healthy_end {
        Some(end) => end,
        None => {
            let after = cpu_snap(&svc.pids);
            (
                after,
                done_at,
                redis_calls_since(args, svc, &redis_before).await,
                rabbitmq_messages_since(svc, &rabbitmq_before).await,
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
    let Tally {
        delivered,
        lost,
        healthy_us: mut lat_us,
        mut slow_us,
        slow_expected,
        last_healthy,
    } = tally(&rec);
    let quiet_row = quiet.as_ref().map(|(q, qp)| {
        let mut t = tally(&q.rec);
        QuietRow {
            destinations: q.rec.paths,
            rate: q.rate,
            published: qp.ok.load(Ordering::Relaxed),
            delivered: t.delivered,
            expected: t.delivered + t.lost,
            duplicates: q.rec.duplicates.load(Ordering::Relaxed),
            lat: Lat::of(&mut t.healthy_us),
        }
    });
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
        lost: lost + quiet_row.as_ref().map_or(0, |q| q.expected - q.delivered),
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
            delivered: slow_us.len() as u64,
            expected: slow_expected,
            lat: Lat::of(&mut slow_us),
        }),
        quiet: quiet_row,
        incomplete,
        redis_calls,
        rabbitmq_messages,
        killed: Vec::new(),
        kept_logs: Vec::new(),
    };
    Ok((row, sampler))
}
