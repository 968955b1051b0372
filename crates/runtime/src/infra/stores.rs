//! The state half of the infrastructure: tenants, destinations, idempotency, the retry
//! schedule and alert bookkeeping on Redis (or in memory), and the event and attempt log on
//! PostgreSQL, ClickHouse, the log service's gRPC API, or in memory.

use anyhow::Context;
use outpost_config::Config;
use outpost_core::ports::{
    Idempotency, LogStore, MemoryIdempotency, MemoryLogStore, MemoryScheduler, MemoryTenantStore,
    RetryScheduler, TenantStore,
};
use std::sync::Arc;
use std::time::Duration;

/// Most destinations a delivery process keeps in its destination cache (a few MiB at most).
const DESTINATION_CACHE_ENTRIES: usize = 10_000;

/// The Redis-or-memory half of the infrastructure.
pub(super) struct Stores {
    pub store: Arc<dyn TenantStore>,
    pub publish_idempotency: Arc<dyn Idempotency>,
    pub delivery_idempotency: Arc<dyn Idempotency>,
    pub scheduler: Arc<dyn RetryScheduler>,
    pub alert_state: Arc<dyn outpost_core::ports::AlertState>,
}

impl Stores {
    pub fn memory() -> Self {
        Self {
            store: Arc::new(MemoryTenantStore::new()),
            publish_idempotency: Arc::new(MemoryIdempotency::new()),
            delivery_idempotency: Arc::new(MemoryIdempotency::new()),
            scheduler: Arc::new(MemoryScheduler::new()),
            alert_state: Arc::new(outpost_core::ports::MemoryAlertState::new()),
        }
    }

    pub async fn redis(cfg: &Config, r: &outpost_config::RedisConfig) -> anyhow::Result<Self> {
        let settings = outpost_stores::RedisSettings {
            host: r.host.clone(),
            port: r.port,
            username: r.username.clone(),
            password: r.password.clone(),
            database: r.database,
        };
        let connect = || async {
            outpost_stores::connect(&settings)
                .await
                .with_context(|| format!("cannot connect to Redis at {}:{}", r.host, r.port))
        };
        let client = connect().await?;
        let dep = cfg.deployment_id.as_deref();
        let secret = cfg.aes_encryption_secret.clone().unwrap_or_default();
        let mut store = outpost_stores::RedisTenantStore::new(
            client.clone(),
            dep,
            outpost_stores::Cipher::new(&secret),
        );
        // Deliveries read their destination, publishes their tenant's routing table.
        let hot_reads = cfg.service.runs_delivery() || cfg.service.runs_api();
        if hot_reads && cfg.destination_cache_ttl_secs > 0 {
            // Its own connection: a subscribed connection carries nothing else.
            let subscriber = connect().await?;
            let cache = Arc::new(outpost_stores::DestinationCache::new(
                Duration::from_secs(cfg.destination_cache_ttl_secs),
                DESTINATION_CACHE_ENTRIES,
            ));
            outpost_stores::destination_cache::spawn_subscription(
                &cache,
                subscriber,
                client.clone(),
                store.change_channel().to_string(),
            );
            store = store.with_destination_cache(cache);
        }
        let indexed = store
            .ensure_tenant_index()
            .await
            .context("cannot build the tenant list index")?;
        if indexed > 0 {
            tracing::info!(
                tenants = indexed,
                "Tenant list index built from existing tenants."
            );
        }
        Ok(Self {
            store: Arc::new(store),
            publish_idempotency: Arc::new(outpost_stores::RedisIdempotency::new(
                client.clone(),
                dep,
                "publishmq",
            )),
            delivery_idempotency: Arc::new(outpost_stores::RedisIdempotency::new(
                client.clone(),
                dep,
                "deliverymq",
            )),
            scheduler: Arc::new(outpost_stores::RedisScheduler::new(client.clone(), dep)),
            alert_state: Arc::new(outpost_stores::RedisAlertState::new(client, dep)),
        })
    }
}

/// The log store of this process: the log service's gRPC API for a split api-service, else
/// Postgres or ClickHouse when configured, else memory.
pub(super) async fn log_store(
    cfg: &Config,
) -> anyhow::Result<(Arc<dyn LogStore>, Option<outpost_log_store_pg::PgLogStore>)> {
    if cfg.service == outpost_config::Service::Api {
        let url = cfg.log_grpc_url.as_deref().ok_or_else(|| {
            anyhow::anyhow!(
                "invalid configuration: LOG_GRPC_URL: SERVICE=api reads events and attempts from the log service; set LOG_GRPC_URL (e.g. http://outpost-log:3334)"
            )
        })?;
        let client = outpost_log_rpc::GrpcLogStore::connect(url, cfg.log_grpc_token.as_deref())
            .map_err(|e| anyhow::anyhow!("invalid configuration: LOG_GRPC_URL: {e}"))?;
        return Ok((Arc::new(client), None));
    }
    if matches!(
        cfg.service,
        outpost_config::Service::Log | outpost_config::Service::All
    ) {
        if let Some(url) = &cfg.postgres_url {
            let pg =
                outpost_log_store_pg::PgLogStore::connect(url, cfg.log_max_concurrency.max(4) + 4)
                    .await
                    .context("cannot connect to PostgreSQL (POSTGRES_URL)")?;
            let pending = outpost_log_store_pg::migrations::Migrator::new(pg.pool().clone())
                .pending_count()
                .await
                .context("cannot read the migration state of PostgreSQL")?;
            refuse_pending("PostgreSQL", pending)?;
            return Ok((Arc::new(pg.clone()), Some(pg)));
        }
        if let Some(ch) = &cfg.clickhouse {
            return Ok((Arc::new(clickhouse(cfg, ch).await?), None));
        }
        if cfg.service == outpost_config::Service::Log {
            tracing::warn!(
                "No POSTGRES_URL or CLICKHOUSE_ADDR: the event and attempt log is kept in memory and lost on exit."
            );
        }
    }
    Ok((Arc::new(MemoryLogStore::new()), None))
}

/// The ClickHouse settings `CLICKHOUSE_*` and `DEPLOYMENT_ID` name, checked.
pub fn clickhouse_settings(
    cfg: &Config,
    ch: &outpost_config::ClickHouseConfig,
) -> anyhow::Result<outpost_log_store_ch::ChSettings> {
    outpost_log_store_ch::ChSettings::from_upstream(
        &ch.addr,
        ch.tls,
        ch.username.as_deref(),
        ch.password.as_deref(),
        ch.database.as_deref(),
        cfg.deployment_id.as_deref(),
    )
    .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))
}

/// Connects the ClickHouse log store, refuses to start on pending migrations, and brings the
/// retention TTL up to `CLICKHOUSE_LOG_RETENTION_TTL_DAYS`.
async fn clickhouse(
    cfg: &Config,
    ch: &outpost_config::ClickHouseConfig,
) -> anyhow::Result<outpost_log_store_ch::ChLogStore> {
    let store = outpost_log_store_ch::ChLogStore::connect(clickhouse_settings(cfg, ch)?)
        .await
        .context("cannot connect to ClickHouse (CLICKHOUSE_ADDR)")?;
    let pending = store
        .migrator()
        .pending_count()
        .await
        .context("cannot read the migration state of ClickHouse")?;
    refuse_pending("ClickHouse", pending)?;
    match store
        .apply_retention(ch.retention_days)
        .await
        .context("cannot apply CLICKHOUSE_LOG_RETENTION_TTL_DAYS")?
    {
        outpost_log_store_ch::RetentionChange::Unchanged { .. } => {}
        change => tracing::info!(?change, "ClickHouse log retention changed."),
    }
    Ok(store)
}

/// Refuses to start on a log store with `pending` migrations not applied.
fn refuse_pending(store: &str, pending: usize) -> anyhow::Result<()> {
    if pending > 0 {
        anyhow::bail!(
            "{store} has {pending} pending migration(s): run `outpost migrate apply` (see `outpost migrate plan`) before starting"
        );
    }
    Ok(())
}
