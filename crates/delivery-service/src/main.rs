//! `outpost-delivery`: the delivery-service alone (as `outpost serve` with SERVICE=delivery).

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    outpost_runtime::worker_main(
        outpost_config::Service::Delivery,
        |cfg, infra, health, shutdown| async move {
            outpost_delivery::run_workers(&cfg, &infra, health, shutdown).await
        },
    )
    .await
}
