//! The log-service: consumes logmq in batches into the event and attempt log.
//!
//! A batch closes at `LOG_BATCH_SIZE` entries or `LOG_BATCH_THRESHOLD_SECONDS` after its first
//! entry, is written in one store transaction, and only then are its messages acked (a failed
//! write nacks them all, so nothing is lost; writes are idempotent per attempt id, so a
//! redelivered entry is not logged twice).
//!
//! It also serves the gRPC `LogQuery` API on `LOG_GRPC_PORT` and, on Postgres, keeps daily
//! partitions created ahead and drops those past `LOG_RETENTION_DAYS`.

pub mod alerts;
pub mod maintenance;
pub mod writer;

use outpost_config::Config;
use outpost_core::health::Health;
use outpost_runtime::infra::Infra;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Runs the logmq consumer, the gRPC server and partition maintenance until shutdown.
pub async fn run_workers(
    cfg: &Config,
    infra: &Infra,
    health: Health,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    use anyhow::Context;
    health.set("http-server", true);
    // The all-in-one process reads the log in process; it serves gRPC only when asked to.
    let serve_grpc = cfg.service == outpost_config::Service::Log || cfg.raw.is_set("LOG_GRPC_PORT");
    // Bind before anything runs, so a taken port fails the start instead of a silent worker.
    let grpc_listener = if serve_grpc {
        let l = tokio::net::TcpListener::bind(("0.0.0.0", cfg.log_grpc_port))
            .await
            .with_context(|| {
                format!(
                    "cannot listen on port {} (LOG_GRPC_PORT)",
                    cfg.log_grpc_port
                )
            })?;
        tracing::info!(port = cfg.log_grpc_port, "LogQuery gRPC listening.");
        Some(l)
    } else {
        None
    };
    let grpc = async {
        let Some(listener) = grpc_listener else {
            return Ok(());
        };
        let stop = shutdown.clone();
        outpost_log_rpc::serve(
            listener,
            infra.log_store.clone(),
            cfg.log_grpc_token.clone(),
            async move { stop.cancelled().await },
        )
        .await
        .context("LogQuery gRPC server")
    };
    let maintenance = maintenance::run(
        infra.postgres.clone(),
        cfg.log_retention_days,
        shutdown.clone(),
    );
    let threshold = if cfg.log_batch_threshold_secs == 0 {
        Duration::from_millis(1)
    } else {
        Duration::from_secs(cfg.log_batch_threshold_secs)
    };
    let alerter = std::sync::Arc::new(alerts::Alerter {
        settings: alerts::AlertSettings {
            consecutive_failure_count: cfg.alert.consecutive_failure_count,
            auto_disable: cfg.alert.auto_disable_destination,
            exhausted_window: cfg
                .alert
                .exhausted_retries_window_secs
                .map(Duration::from_secs),
            max_retries: cfg.retry.max_limit,
        },
        state: infra.alert_state.clone(),
        store: infra.store.clone(),
        emitter: infra.operator_events.clone(),
    });
    let writer = writer::run(
        infra.logmq("log")?,
        infra.log_store.clone(),
        Some(alerter),
        writer::BatchSettings {
            size: cfg.log_batch_size.max(1),
            threshold,
        },
        health,
        shutdown.clone(),
    );
    // Each part says when it has stopped, so a slow shutdown shows which one held it.
    let (g, _, _) = tokio::join!(
        async {
            let r = grpc.await;
            tracing::info!("LogQuery gRPC server stopped.");
            r
        },
        async {
            // The batch in hand is written and settled first, within SHUTDOWN_GRACE_SECONDS;
            // past that it is given up: its unsettled messages come back from the queue and
            // are deduplicated by the store.
            let grace = Duration::from_secs(cfg.shutdown_grace_secs);
            tokio::select! {
                _ = writer => tracing::info!("logmq writer stopped."),
                _ = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
                    tracing::warn!(
                        grace_secs = grace.as_secs(),
                        "logmq writer still busy after SHUTDOWN_GRACE_SECONDS; giving it up (its messages come back from the queue)."
                    );
                }
            }
        },
        async {
            maintenance.await;
            tracing::info!("Partition maintenance stopped.");
        },
    );
    g
}
