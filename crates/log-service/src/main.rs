//! `outpost-log`: the log-service alone (as `outpost serve` with SERVICE=log).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    outpost_runtime::worker_main(
        outpost_config::Service::Log,
        |cfg, infra, health, shutdown| async move {
            outpost_log::run_workers(&cfg, &infra, health, shutdown).await
        },
    )
    .await
}
