//! Partition maintenance of the Postgres log: at start and then hourly, create the daily
//! partitions of the coming week and drop those older than the retention period.

use outpost_log_store_pg::PgLogStore;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Days of partitions created ahead.
pub const DAYS_AHEAD: u32 = 7;
/// Time between rounds.
pub const INTERVAL: Duration = Duration::from_secs(3600);

/// One round: ensure partitions ahead, drop expired ones when `retention_days` > 0.
pub async fn round(pg: &PgLogStore, retention_days: u32) {
    match pg.ensure_partitions(DAYS_AHEAD).await {
        Ok(created) if !created.is_empty() => {
            tracing::info!(partitions = ?created, "Log partitions created.")
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "Cannot create log partitions."),
    }
    if retention_days > 0 {
        match pg.drop_expired(retention_days).await {
            Ok(d) if !d.partitions.is_empty() || d.default_rows_deleted > 0 => tracing::info!(
                partitions = ?d.partitions,
                default_rows_deleted = d.default_rows_deleted,
                "Expired log data dropped."
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "Cannot drop expired log partitions."),
        }
    }
}

/// Runs rounds until shutdown (returns at once without Postgres).
pub async fn run(pg: Option<PgLogStore>, retention_days: u32, shutdown: CancellationToken) {
    let Some(pg) = pg else { return };
    loop {
        round(&pg, retention_days).await;
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(INTERVAL) => {}
        }
    }
}
