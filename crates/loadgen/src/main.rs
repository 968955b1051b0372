//! `outpost-loadgen` (`make bench`): a load generator, not a timed test. It runs the release
//! `outpost` binary as three services (api, delivery, log on the local Redis, RabbitMQ and
//! PostgreSQL) and as one embedded all-in-one process, points webhook destinations at an
//! in-process HTTP sink, publishes, and prints one table: publish requests/s, deliveries/s,
//! publish→delivery latency, CPU seconds and peak RSS of each process, lost and duplicated
//! deliveries.

use outpost_loadgen::{args, bench, infra, procs, report};

use anyhow::Context;
use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    outpost_loadgen::run_main(run(args::Args::parse()))
}

/// Runs every selected (mode, case); true when nothing was lost and nothing failed.
async fn run(args: args::Args) -> anyhow::Result<bool> {
    let bin = args.outpost_bin();
    let dir_version = procs::run_to_end(&bin, &["version"], &[], &std::env::temp_dir())
        .await
        .with_context(|| {
            format!(
                "cannot run {} (build it with `cargo build --release --locked --bin outpost -p outpost`, or pass --outpost)",
                bin.display()
            )
        })?;
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let run_id = format!(
        "{:x}",
        ((secs & 0xff_ffff) << 16) ^ u64::from(std::process::id())
    );
    let dir = std::env::temp_dir().join(format!("outpost-loadgen-{run_id}"));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let reg = infra::Registry::new(
        &args.backends.database_url,
        &args.backends.rabbitmq_url,
        &args.backends.redis_addr,
    );
    let machine = report::Machine::read();
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            format!(
                ", work tree at {}",
                String::from_utf8_lossy(&o.stdout).trim()
            )
        })
        .unwrap_or_default();
    let mut extra = vec![format!(
        "binary: {} ({}{commit})",
        bin.display(),
        dir_version.trim()
    )];
    if args.modes().contains(&args::Mode::Split) {
        extra.push(format!(
            "split mode on Redis {}, RabbitMQ {}, PostgreSQL {}",
            args.backends.redis_addr,
            redact_url(&args.backends.rabbitmq_url),
            infra::server_version(&args.backends.database_url)
                .await
                .unwrap_or_else(|| "(version unknown)".into())
        ));
    }
    let ctx = bench::Ctx {
        args: &args,
        reg: &reg,
        hz: procs::clock_ticks(),
        run_id,
        dir: &dir,
    };
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let interrupted = {
        let all = async {
            for mode in args.modes() {
                for case in args.cases() {
                    let w = args.workload(case);
                    match bench::run(&ctx, mode, &w).await {
                        Ok(row) => rows.push(row),
                        Err(e) => {
                            eprintln!("[{}/{}] failed: {e:#}", mode.name(), case.name());
                            errors.push(format!("{}/{}: {e:#}", mode.name(), case.name()));
                        }
                    }
                }
            }
        };
        // The services run in process groups of their own: Ctrl-C at a terminal does not
        // reach them, and neither does a SIGTERM sent to this process (`timeout`, a CI job
        // stopped), so both are caught and the services stopped here.
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            _ = all => None,
            _ = tokio::signal::ctrl_c() => Some("Ctrl-C"),
            _ = term.recv() => Some("SIGTERM"),
        }
    };
    if let Some(signal) = interrupted {
        eprintln!(
            "interrupted ({signal}): stopping the services and removing the run's database and queues"
        );
    }
    reg.cleanup().await;
    let mut text = report::render(&args, &machine, &extra, &rows);
    for e in &errors {
        text.push_str(&format!("- FAILED {e}\n"));
    }
    if let Some(signal) = interrupted {
        text.push_str(&format!(
            "- interrupted ({signal}): the table holds the runs that finished\n"
        ));
    }
    println!("\n{text}");
    if rows.iter().all(|r| r.kept_logs.is_empty()) {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(interrupted.is_none() && errors.is_empty() && rows.iter().all(|r| r.lost == 0))
}

fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…{}", &url[..s], &url[at..]),
        _ => url.to_string(),
    }
}
