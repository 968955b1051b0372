//! `outpost serve`: one HTTP listener on `API_PORT` (the API in api/all mode, `/healthz`
//! always) plus the workers of the selected services.

use anyhow::Context;
use outpost_config::{Config, Service};
use outpost_core::health::Health;
use std::sync::OnceLock;

/// `--service` from the command line, which wins over `SERVICE`.
pub static SERVICE_OVERRIDE: OnceLock<String> = OnceLock::new();

/// Runs until SIGINT/SIGTERM.
pub async fn serve(mut cfg: Config) -> anyhow::Result<()> {
    if let Some(s) = SERVICE_OVERRIDE.get() {
        cfg.service = match s.as_str() {
            "" | "all" => Service::All,
            "api" => Service::Api,
            "delivery" => Service::Delivery,
            "log" => Service::Log,
            other => {
                anyhow::bail!("invalid --service {other:?}: expected api, delivery, log or all")
            }
        };
    }
    outpost_runtime::init_telemetry(&cfg)?;
    let shutdown = outpost_runtime::shutdown_on_signal();
    let health = Health::new();
    let infra = outpost_runtime::infra::Infra::connect(&cfg).await?;
    let router = if cfg.service.runs_api() {
        outpost_api::app(&cfg, &infra, health.clone()).await?
    } else {
        health.set("http-server", true);
        outpost_runtime::health_router(health.clone())
    };
    let listener = outpost_runtime::bind(cfg.api_port).await?;
    let addr = listener.local_addr().context("listener address")?;
    let embedded = infra.embedded;
    tracing::info!(
        service = cfg.service.as_str(),
        address = %addr,
        embedded,
        "Outpost listening on http://{addr} (API under /api/v1).{}",
        if embedded { " Embedded mode: in-memory stores, nothing is persisted." } else { "" }
    );
    // A service that fails stops the whole process (rather than leaving it up and healthy).
    let delivery = async {
        if !cfg.service.runs_delivery() {
            return Ok(());
        }
        let r = outpost_delivery::run_workers(&cfg, &infra, health.clone(), shutdown.clone()).await;
        if r.is_err() {
            shutdown.cancel();
        }
        r
    };
    let log = async {
        if !cfg.service.runs_log() {
            return Ok(());
        }
        let r = outpost_log::run_workers(&cfg, &infra, health.clone(), shutdown.clone()).await;
        if r.is_err() {
            shutdown.cancel();
        }
        r
    };
    let api_workers = async {
        if !cfg.service.runs_api() {
            return Ok(());
        }
        let r = outpost_api::run_workers(&cfg, &infra, health.clone(), shutdown.clone()).await;
        if r.is_err() {
            shutdown.cancel();
        }
        r
    };
    let workers = async {
        let (a, d, l) = tokio::join!(api_workers, delivery, log);
        // With no workers (SERVICE=api), the API alone runs until the signal.
        shutdown.cancelled().await;
        (a, d, l)
    };
    let delay = std::time::Duration::from_secs(cfg.shutdown_delay_secs);
    let (h, (a, d, l)) = outpost_runtime::serve_until_drained(
        listener,
        router,
        health.clone(),
        shutdown.clone(),
        delay,
        workers,
    )
    .await;
    outpost_runtime::stop_telemetry().await;
    h.context("HTTP server")?;
    a.context("api service workers")?;
    d.context("delivery service")?;
    l.context("log service")?;
    tracing::info!("Stopped.");
    Ok(())
}
