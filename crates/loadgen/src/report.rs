//! The printed report: machine facts, one table with a row per (mode, case), and notes.

use crate::args::{Args, Case, Mode};
use crate::figures::Row;
use std::fmt::Write as _;

/// Machine facts printed above the table.
pub struct Machine {
    /// UTC date and time.
    pub date: String,
    /// CPUs available.
    pub nproc: usize,
    /// MemTotal, GiB.
    pub mem_gib: f64,
    /// CPU model.
    pub cpu: String,
    /// Kernel release.
    pub kernel: String,
}

impl Machine {
    /// Reads /proc.
    pub fn read() -> Machine {
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let mem_kib: f64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0.0);
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu = cpuinfo
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == "model name").then(|| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        Machine {
            date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            nproc: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            mem_gib: mem_kib / 1024.0 / 1024.0,
            cpu,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_string(),
        }
    }
}

fn f0(v: f64) -> String {
    format!("{v:.0}")
}

fn f1(v: f64) -> String {
    format!("{v:.1}")
}

fn ms(v: f64) -> String {
    if v >= 100.0 { f0(v) } else { f1(v) }
}

fn short(name: &str) -> &str {
    match name {
        "delivery" => "dlv",
        "postgres" => "pg",
        "rabbitmq" => "rmq",
        n => n,
    }
}

/// Renders rows as a Markdown table with padded columns.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let n = header.len();
    let mut w: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(n) {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |cells: Vec<String>| -> String {
        let mut s = String::from("|");
        for (i, c) in cells.iter().enumerate() {
            let pad = w[i].saturating_sub(c.chars().count());
            // Numbers right-aligned, text left-aligned.
            if i >= 2 {
                let _ = write!(s, " {}{} |", " ".repeat(pad), c);
            } else {
                let _ = write!(s, " {}{} |", c, " ".repeat(pad));
            }
        }
        s
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    out.push('\n');
    out.push('|');
    for (i, wi) in w.iter().enumerate() {
        if i >= 2 {
            let _ = write!(out, "{}:|", "-".repeat(wi + 1));
        } else {
            let _ = write!(out, "{}|", "-".repeat(wi + 2));
        }
    }
    out.push('\n');
    for r in rows {
        let mut cells = r.clone();
        cells.resize(n, String::new());
        out.push_str(&line(cells));
        out.push('\n');
    }
    out
}

fn case_cell(r: &Row) -> String {
    match (r.case, r.offered_rate) {
        (Case::Latency, Some(rate)) => format!("latency @{rate}/s"),
        (Case::Isolation, _) => format!("isolation ({}-1 healthy)", r.destinations),
        (Case::B, _) => format!("B (fan-out {})", r.destinations),
        (Case::A, _) => "A (1 dest)".to_string(),
        (Case::Mixed, _) => format!(
            "mixed (1 busy + {} quiet)",
            r.quiet.as_ref().map_or(0, |q| q.destinations)
        ),
        (c, _) => c.name().to_string(),
    }
}

/// The whole report.
pub fn render(args: &Args, m: &Machine, extra: &[String], rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "outpost load test — {} — {} CPUs ({}), {:.1} GiB RAM, Linux {}",
        m.date, m.nproc, m.cpu, m.mem_gib, m.kernel
    );
    for e in extra {
        let _ = writeln!(out, "{e}");
    }
    let _ = writeln!(
        out,
        "workload: {} concurrent publishers (closed loop), data {} B, DELIVERY_MAX_CONCURRENCY {}, LOG_LEVEL {}, warm-up {} events per run{}",
        args.concurrency,
        args.event_size,
        args.delivery_concurrency,
        args.log_level,
        args.warmup,
        if args.extra_env.is_empty() {
            String::new()
        } else {
            format!(
                ", extra env {}",
                args.extra_env
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        }
    );
    let _ = writeln!(out);
    let header = [
        "mode",
        "case",
        "events",
        "deliveries",
        "publish req/s",
        "deliveries/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "CPU s per process",
        "peak RSS MiB per process",
        "infra CPU s pg/redis/rmq",
        "loadgen/other CPU s",
        "window s",
        "lost",
        "dup",
    ];
    let rows_txt: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.mode.name().to_string(),
                case_cell(r),
                if r.published as usize == r.events {
                    r.published.to_string()
                } else {
                    format!("{}/{}", r.published, r.events)
                },
                if r.delivered == r.expected {
                    r.expected.to_string()
                } else {
                    format!("{}/{}", r.delivered, r.expected)
                },
                f0(r.publish_rate),
                f0(r.delivery_rate),
                ms(r.lat.p50),
                ms(r.lat.p90),
                ms(r.lat.p99),
                ms(r.lat.max),
                r.procs
                    .iter()
                    .map(|p| format!("{} {}", short(&p.name), f1(p.cpu_s)))
                    .collect::<Vec<_>>()
                    .join(", "),
                r.procs
                    .iter()
                    .map(|p| format!("{} {}", short(&p.name), f0(p.rss_mib)))
                    .collect::<Vec<_>>()
                    .join(", "),
                if r.mode == Mode::Split {
                    r.infra_cpu
                        .iter()
                        .map(|(_, c)| f1(*c))
                        .collect::<Vec<_>>()
                        .join("/")
                } else {
                    "-".to_string()
                },
                format!("{}/{}", f1(r.loadgen_cpu), f1(r.other_cpu)),
                f1(r.wall_s),
                r.lost.to_string(),
                r.duplicates.to_string(),
            ]
        })
        .collect();
    out.push_str(&table(&header, &rows_txt));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "deliveries/s = distinct deliveries at the sink / (last arrival − first publish); latency = sink arrival − publish send (same clock); CPU, window and Redis commands over [first publish, last delivery] (isolation: last healthy delivery); infra CPU is machine-wide (every postgres, redis-server, beam.smp process); other = machine busy − services − infra − loadgen (foreign load: compilers, kernel threads)."
    );
    let notes = notes(rows);
    if !notes.is_empty() {
        let _ = writeln!(out);
        for n in notes {
            let _ = writeln!(out, "- {n}");
        }
    }
    out
}

/// `r`'s throughput and p99 against `base`'s (the all-healthy run of its case), and its CPU
/// per delivery against the load generator's beside `base`'s (see [`Row::cost_vs_loadgen`]).
fn against(label: &str, what: &str, r: &Row, base: &Row) -> String {
    let cost = match (r.cost_vs_loadgen(), base.cost_vs_loadgen()) {
        (Some(a), Some(b)) => {
            format!("; CPU per delivery {a:.2} vs {b:.2} times the load generator's")
        }
        _ => String::new(),
    };
    format!(
        "{label}: {what}: {:.0} vs {:.0} deliveries/s ({:.0}%), p99 {} vs {} ms{cost}",
        r.delivery_rate,
        base.delivery_rate,
        100.0 * r.delivery_rate / base.delivery_rate,
        ms(r.lat.p99),
        ms(base.lat.p99),
    )
}

fn notes(rows: &[Row]) -> Vec<String> {
    let mut n = Vec::new();
    for r in rows {
        let label = format!("{}/{}", r.mode.name(), r.case.name());
        n.push(format!(
            "{label}: publish request latency p50 {} ms, p99 {} ms{}",
            ms(r.publish_lat.p50),
            ms(r.publish_lat.p99),
            match r.offered_rate {
                Some(rate) => format!("; offered {rate}/s, achieved {:.0}/s", r.publish_rate),
                None => String::new(),
            }
        ));
        if r.expected > 0 {
            let per = |s: f64| s * 1000.0 / r.expected as f64;
            let mut parts: Vec<String> = r
                .procs
                .iter()
                .map(|p| format!("{} {:.3}", short(&p.name), per(p.cpu_s)))
                .collect();
            if r.mode == Mode::Split {
                parts.extend(
                    r.infra_cpu
                        .iter()
                        .map(|(g, c)| format!("{} {:.3}", short(g), per(*c))),
                );
            }
            parts.push(format!("loadgen {:.3}", per(r.loadgen_cpu)));
            n.push(format!(
                "{label}: CPU ms per delivery: {} (machine busy {:.0}% of {} cores over the window){}",
                parts.join(", "),
                r.machine_busy_pct,
                r.cores,
                r.cost_vs_loadgen()
                    .map(|c| format!("; outpost and its infrastructure {c:.2} times the load generator"))
                    .unwrap_or_default()
            ));
        }
        if r.wall_s > 0.0 && r.other_cpu / r.wall_s > 0.15 {
            n.push(format!(
                "{label}: CONTAMINATED: other processes used {:.0}% of a core during the run",
                100.0 * r.other_cpu / r.wall_s
            ));
        }
        if r.publish_failed > 0 || r.publish_retried > 0 {
            n.push(format!(
                "{label}: {} publishes failed after retries, {} requests retried; first error: {}",
                r.publish_failed,
                r.publish_retried,
                r.publish_error.as_deref().unwrap_or("-")
            ));
        }
        if let Some(s) = &r.slow {
            n.push(format!(
                "{label}: slow destination: {}/{} delivered, latency p50 {} / p99 {} / max {} ms (the healthy figures in the table exclude it)",
                s.delivered,
                s.expected,
                ms(s.lat.p50),
                ms(s.lat.p99),
                ms(s.lat.max)
            ));
            if let Some(b) = rows
                .iter()
                .find(|b| b.mode == r.mode && b.case == Case::B && b.destinations == r.destinations)
                && b.delivery_rate > 0.0
            {
                n.push(against(
                    &label,
                    "healthy destinations vs the all-healthy B run",
                    r,
                    b,
                ));
            }
        }
        if let Some(q) = &r.quiet {
            n.push(format!(
                "{label}: quiet tenant: {} events at {}/s to {} destinations, {}/{} delivered, {} duplicated, latency p50 {} / p99 {} / max {} ms (the table's figures are the busy destination's)",
                q.published,
                q.rate,
                q.destinations,
                q.delivered,
                q.expected,
                q.duplicates,
                ms(q.lat.p50),
                ms(q.lat.p99),
                ms(q.lat.max)
            ));
            if let Some(a) = rows.iter().find(|a| a.mode == r.mode && a.case == Case::A)
                && a.delivery_rate > 0.0
            {
                n.push(against(&label, "busy destination vs the A run", r, a));
            }
        }
        if let Some(calls) = &r.redis_calls
            && r.published > 0
        {
            let total: u64 = calls.iter().map(|(_, c)| c).sum();
            let per = |c: u64| c as f64 / r.published as f64;
            n.push(format!(
                "{label}: Redis commands per event {:.1} (per delivery {:.1}): {}",
                per(total),
                total as f64 / r.expected.max(1) as f64,
                calls
                    .iter()
                    .take(8)
                    .map(|(k, c)| format!("{k} {:.2}", per(*c)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        match &r.rabbitmq_messages {
            Some(Ok(m)) if *m > 0 => {
                let rmq = r
                    .infra_cpu
                    .iter()
                    .find(|(k, _)| k == "rabbitmq")
                    .map_or(0.0, |(_, c)| *c);
                n.push(format!(
                    "{label}: RabbitMQ received {m} messages (task and log messages together): {:.1} deliveries a message, {:.2} ms of its CPU a message",
                    r.delivered as f64 / *m as f64,
                    rmq * 1e3 / *m as f64
                ));
            }
            Some(Ok(_)) => n.push(format!("{label}: RabbitMQ received no message")),
            Some(Err(e)) => n.push(format!(
                "{label}: RabbitMQ's message count is not known: {e}"
            )),
            None => {}
        }
        if let Some((got, want, lag)) = r.logged {
            n.push(match lag {
                Some(l) => format!(
                    "{label}: all {want} attempts in the Postgres log {l:.1} s after the last delivery"
                ),
                None => format!(
                    "{label}: Postgres log has {got} of {want} attempts 30 s after the last delivery"
                ),
            });
        }
        if let Some(why) = &r.incomplete {
            n.push(format!("{label}: stopped waiting: {why}"));
        }
        if r.busy_before >= 0.12 {
            n.push(format!(
                "{label}: the machine was {:.0}% busy before the run (not quiet)",
                r.busy_before * 100.0
            ));
        }
        if !r.killed.is_empty() {
            n.push(format!(
                "{label}: {} did not stop on SIGTERM within 10 s",
                r.killed.join(", ")
            ));
        }
        if !r.kept_logs.is_empty() {
            n.push(format!("{label}: logs kept: {}", r.kept_logs.join(" ")));
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_against_its_all_healthy_one() {
        use crate::figures::sample_row;
        let r = Row {
            delivery_rate: 900.0,
            ..sample_row(Mode::Split)
        };
        let base = Row {
            delivery_rate: 1000.0,
            loadgen_cpu: 1.0,
            ..sample_row(Mode::Split)
        };
        assert_eq!(
            against("split/isolation", "healthy vs B", &r, &base),
            "split/isolation: healthy vs B: 900 vs 1000 deliveries/s (90%), p99 0.0 vs 0.0 ms; \
             CPU per delivery 3.00 vs 4.50 times the load generator's"
        );
        let unmeasured = Row {
            loadgen_cpu: 0.0,
            ..base
        };
        assert!(!against("l", "w", &r, &unmeasured).contains("CPU"));
    }

    #[test]
    fn table_pads_and_aligns() {
        let t = table(
            &["mode", "case", "n"],
            &[vec!["split".into(), "A".into(), "12345".into()]],
        );
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0], "| mode  | case |     n |");
        assert_eq!(lines[1], "|-------|------|------:|");
        assert_eq!(lines[2], "| split | A    | 12345 |");
    }
}
