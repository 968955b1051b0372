//! `outpost-api`: the api-service alone (as `outpost serve` with SERVICE=api).

use outpost_config::Service;
use outpost_core::health::Health;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cfg = outpost_runtime::load_config(None, Some(Service::Api))?;
    outpost_runtime::init_telemetry(&cfg)?;
    let shutdown = outpost_runtime::shutdown_on_signal();
    let infra = outpost_runtime::infra::Infra::connect(&cfg).await?;
    let health = Health::new();
    let router = outpost_api::app(&cfg, &infra, health.clone()).await?;
    let listener = outpost_runtime::bind(cfg.api_port).await?;
    tracing::info!(port = cfg.api_port, "API listening.");
    let delay = std::time::Duration::from_secs(cfg.shutdown_delay_secs);
    let stop = shutdown.clone();
    let workers = {
        let (health, shutdown) = (health.clone(), shutdown.clone());
        async move {
            let r = outpost_api::run_workers(&cfg, &infra, health, shutdown.clone()).await;
            if r.is_err() {
                shutdown.cancel();
            }
            stop.cancelled().await;
            r
        }
    };
    let (served, worked) =
        outpost_runtime::serve_until_drained(listener, router, health, shutdown, delay, workers)
            .await;
    worked?;
    outpost_runtime::stop_telemetry().await;
    served?;
    Ok(())
}
