//! PostgreSQL implementation of the log store port ([`outpost_core::ports::LogStore`]).
//!
//! * [`PgLogStore`]: batch inserts (one transaction, one multi-row `INSERT .. SELECT FROM
//!   unnest(..)` per table) and keyset-paginated queries on `(time, id)` that page exactly like
//!   the in-memory store (both use [`outpost_core::ports::PageRequest::scan`] / `build`).
//! * [`migrations`]: the SQL files of `migrations/postgres`, embedded in the binary, applied
//!   under an advisory lock and tracked with checksums in `schema_migrations`.
//! * [`partitions`]: daily range partitions created ahead of time and dropped whole when they
//!   fall out of the retention window.
//! * Metrics aggregates (`event_aggregates`, `attempt_aggregates`): one `GROUP BY` query each,
//!   bucketed on epoch milliseconds (months: calendar months in UTC), under a statement timeout
//!   ([`DEFAULT_AGGREGATE_TIMEOUT`]); a timeout or resource error reports
//!   [`outpost_core::metrics::TOO_BROAD`].
//!
//! Times are stored at millisecond precision (the precision of cursors and of every store), the
//! event payload as the exact text the publisher sent.

mod aggregates;
mod error;
pub mod migrations;
pub mod partitions;
mod store;

pub use error::PgError;
pub use migrations::{Migration, MigrationError, MigrationInfo, MigrationState, Migrator};
pub use partitions::{DroppedPartitions, PartitionError, PartitionInfo};
pub use {deadpool_postgres, tokio_postgres};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use std::time::Duration;
use tokio_postgres::NoTls;

/// The log store on a PostgreSQL connection pool.
#[derive(Clone)]
pub struct PgLogStore {
    pool: Pool,
    aggregate_timeout: Duration,
}

/// Statement timeout of the metrics aggregate queries (spec §8.1: 30 s on PostgreSQL).
pub const DEFAULT_AGGREGATE_TIMEOUT: Duration = Duration::from_secs(30);

impl std::fmt::Debug for PgLogStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.pool.status();
        f.debug_struct("PgLogStore")
            .field("pool_size", &s.size)
            .field("pool_max_size", &s.max_size)
            .field("aggregate_timeout", &self.aggregate_timeout)
            .finish()
    }
}

impl PgLogStore {
    /// Connects to `url` (`postgres://user:pass@host:port/db?options` or a key=value string)
    /// with a pool of at most `pool_size` connections (at least 1), and checks that a connection
    /// can be opened. TLS is not used.
    pub async fn connect(url: &str, pool_size: usize) -> Result<Self, PgError> {
        let cfg: tokio_postgres::Config = url.parse().map_err(PgError::Url)?;
        Self::connect_config(cfg, pool_size).await
    }

    /// Like [`Self::connect`] with an already parsed configuration.
    pub async fn connect_config(
        cfg: tokio_postgres::Config,
        pool_size: usize,
    ) -> Result<Self, PgError> {
        let pool = pool_from_config(cfg, pool_size)?;
        drop(pool.get().await.map_err(PgError::Connect)?);
        Ok(Self::from_pool(pool))
    }

    /// Wraps an existing pool (no connection check).
    pub fn from_pool(pool: Pool) -> Self {
        Self {
            pool,
            aggregate_timeout: DEFAULT_AGGREGATE_TIMEOUT,
        }
    }

    /// The same store with another statement timeout for the metrics aggregate queries
    /// (default [`DEFAULT_AGGREGATE_TIMEOUT`]; whole milliseconds, at least 1).
    pub fn with_aggregate_timeout(mut self, timeout: Duration) -> Self {
        self.aggregate_timeout = timeout;
        self
    }

    /// The connection pool.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The migrator for this database, with the embedded migrations.
    pub fn migrator(&self) -> Migrator {
        Migrator::new(self.pool.clone())
    }
}

/// Builds a connection pool for `url` without connecting.
pub fn pool(url: &str, pool_size: usize) -> Result<Pool, PgError> {
    pool_from_config(url.parse().map_err(PgError::Url)?, pool_size)
}

/// Builds a connection pool (at most `pool_size` connections, at least 1) without connecting.
pub fn pool_from_config(cfg: tokio_postgres::Config, pool_size: usize) -> Result<Pool, PgError> {
    let manager = Manager::from_config(
        cfg,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(pool_size.max(1))
        .runtime(Runtime::Tokio1)
        .create_timeout(Some(Duration::from_secs(10)))
        .wait_timeout(Some(Duration::from_secs(30)))
        .build()
        .map_err(PgError::Pool)
}
