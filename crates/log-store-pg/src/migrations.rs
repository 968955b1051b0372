//! Schema migrations: the SQL files of `migrations/postgres`, embedded at build time, applied in
//! version order and recorded in `schema_migrations(version, name, checksum, applied_at)`.
//!
//! * [`Migrator::apply`] runs under a session-level advisory lock (so concurrent processes
//!   apply each migration once), each migration in its own transaction together with its
//!   `schema_migrations` row: a failed migration leaves nothing behind. Migrations therefore
//!   cannot use statements that refuse to run in a transaction (`CREATE INDEX CONCURRENTLY`).
//! * [`Migrator::verify`] compares the checksums recorded at apply time with the embedded files
//!   (SHA-256 of the file with `\r\n` normalised to `\n`) and names the file that drifted.
//! * [`Migrator::pending_count`] is the start-up check: a server refuses to start while
//!   migrations are pending.
//!
//! The table name is the one golang-migrate uses upstream; a `schema_migrations` table without a
//! `checksum` column (an upstream database) is reported as [`MigrationError::ForeignTable`]
//! rather than misread.

use deadpool_postgres::{Object, Pool};
pub use outpost_core::migrations::{Migration, MigrationInfo, MigrationState};
use outpost_core::migrations::{Mismatch, Recorded};
use std::collections::BTreeMap;

/// Advisory lock key held while applying migrations (`"outpost"` in ASCII).
pub const MIGRATION_LOCK_KEY: i64 = 0x006f_7574_706f_7374;

/// The migrations embedded in this binary, in version order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        file: "0001_init.sql",
        sql: include_str!("../../../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        file: "0002_attempt_duration.sql",
        sql: include_str!("../../../migrations/postgres/0002_attempt_duration.sql"),
    },
];

/// Failure of a migration operation.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    /// No connection could be obtained.
    #[error("could not connect to PostgreSQL")]
    Connect(#[source] deadpool_postgres::PoolError),
    /// A query on `schema_migrations` (or the advisory lock) failed.
    #[error("migration bookkeeping failed while {doing}")]
    Query {
        /// What was being done.
        doing: &'static str,
        /// The database error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// A migration's SQL failed; its transaction was rolled back.
    #[error("migration {version} ({file}) failed and was rolled back")]
    Apply {
        /// Version.
        version: i64,
        /// File name.
        file: &'static str,
        /// The database error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// An applied migration's file changed since it was applied.
    #[error(
        "migration {version} ({file}) was modified after it was applied: database has checksum {recorded}, the file has {expected}"
    )]
    Drift {
        /// Version.
        version: i64,
        /// File name.
        file: &'static str,
        /// Checksum recorded when it was applied.
        recorded: String,
        /// Checksum of the embedded file.
        expected: String,
    },
    /// The database has a migration this binary does not know (it was migrated by a newer
    /// version).
    #[error("the database has migration {version} ({name}) which this version does not know")]
    UnknownApplied {
        /// Version.
        version: i64,
        /// Recorded name.
        name: String,
    },
    /// `schema_migrations` exists but was not created by this migrator.
    #[error(
        "table schema_migrations exists but has no checksum column (created by another migration tool?)"
    )]
    ForeignTable,
}

fn query_err(doing: &'static str) -> impl FnOnce(tokio_postgres::Error) -> MigrationError {
    move |source| MigrationError::Query { doing, source }
}

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version bigint PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)";

/// Applies, lists and verifies migrations on one database.
#[derive(Clone)]
pub struct Migrator {
    pool: Pool,
    migrations: Vec<Migration>,
}

impl std::fmt::Debug for Migrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Migrator")
            .field("migrations", &self.migrations.len())
            .finish()
    }
}

impl Migrator {
    /// A migrator with the embedded [`MIGRATIONS`].
    pub fn new(pool: Pool) -> Self {
        Self::with_migrations(pool, MIGRATIONS.to_vec())
    }

    /// A migrator with another set of migrations (sorted by version here).
    pub fn with_migrations(pool: Pool, mut migrations: Vec<Migration>) -> Self {
        migrations.sort_by_key(|m| m.version);
        Self { pool, migrations }
    }

    /// The migrations this migrator knows, in version order.
    pub fn migrations(&self) -> &[Migration] {
        &self.migrations
    }

    async fn client(&self) -> Result<Object, MigrationError> {
        self.pool.get().await.map_err(MigrationError::Connect)
    }

    /// Every known migration with its state, then any applied migration this binary does not
    /// know, in version order.
    pub async fn list(&self) -> Result<Vec<MigrationInfo>, MigrationError> {
        let client = self.client().await?;
        let applied = read_applied(&client).await?;
        Ok(outpost_core::migrations::list(&self.migrations, applied))
    }

    /// The migrations [`Self::apply`] would run, in order.
    pub async fn plan(&self) -> Result<Vec<Migration>, MigrationError> {
        let client = self.client().await?;
        let applied = read_applied(&client).await?;
        Ok(outpost_core::migrations::pending(
            &self.migrations,
            &applied,
        ))
    }

    /// Number of pending migrations (0 = the schema is up to date).
    pub async fn pending_count(&self) -> Result<usize, MigrationError> {
        Ok(self.plan().await?.len())
    }

    /// Checks that every applied migration is known and unchanged; the error names the first
    /// one that is not.
    pub async fn verify(&self) -> Result<(), MigrationError> {
        let client = self.client().await?;
        let applied = read_applied(&client).await?;
        self.check(&applied)
    }

    fn check(&self, applied: &BTreeMap<i64, Recorded>) -> Result<(), MigrationError> {
        outpost_core::migrations::check(&self.migrations, applied).map_err(|m| match m {
            Mismatch::Unknown { version, name } => MigrationError::UnknownApplied { version, name },
            Mismatch::Drift {
                version,
                file,
                recorded,
                expected,
            } => MigrationError::Drift {
                version,
                file,
                recorded,
                expected,
            },
        })
    }

    /// Applies the pending migrations in order and returns them. Holds the advisory lock
    /// [`MIGRATION_LOCK_KEY`] throughout, so a concurrent `apply` waits and then finds nothing
    /// to do. Refuses to run (before changing anything) if [`Self::verify`] fails.
    pub async fn apply(&self) -> Result<Vec<Migration>, MigrationError> {
        // A connection of its own, closed afterwards: the session lock can never be returned to
        // the pool, even if this future is dropped half-way.
        let mut client = Object::take(self.client().await?);
        client
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK_KEY])
            .await
            .map_err(query_err("taking the migration lock"))?;
        let result = self.apply_locked(&mut client).await;
        // Closing the session releases the lock anyway; unlock explicitly to be prompt.
        let _ = client
            .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK_KEY])
            .await;
        result
    }

    async fn apply_locked(
        &self,
        client: &mut tokio_postgres::Client,
    ) -> Result<Vec<Migration>, MigrationError> {
        ensure_ours(client).await?;
        client
            .batch_execute(CREATE_TABLE)
            .await
            .map_err(query_err("creating schema_migrations"))?;
        let applied = read_applied(client).await?;
        self.check(&applied)?;
        let mut done = Vec::new();
        for m in outpost_core::migrations::pending(&self.migrations, &applied) {
            let fail = |source| MigrationError::Apply {
                version: m.version,
                file: m.file,
                source,
            };
            let tx = client.transaction().await.map_err(fail)?;
            tx.batch_execute(m.sql).await.map_err(fail)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                &[&m.version, &m.name(), &m.checksum()],
            )
            .await
            .map_err(fail)?;
            tx.commit().await.map_err(fail)?;
            tracing::info!(version = m.version, file = m.file, "applied migration");
            done.push(m);
        }
        Ok(done)
    }
}

/// Errors if `schema_migrations` exists without our columns.
async fn ensure_ours(client: &tokio_postgres::Client) -> Result<bool, MigrationError> {
    let row = client
        .query_one(
            "SELECT to_regclass('schema_migrations') IS NOT NULL, EXISTS (
                SELECT 1 FROM pg_attribute
                WHERE attrelid = to_regclass('schema_migrations') AND attname = 'checksum'
                  AND NOT attisdropped)",
            &[],
        )
        .await
        .map_err(query_err("inspecting schema_migrations"))?;
    let exists: bool = row
        .try_get(0)
        .map_err(query_err("inspecting schema_migrations"))?;
    let ours: bool = row
        .try_get(1)
        .map_err(query_err("inspecting schema_migrations"))?;
    if exists && !ours {
        return Err(MigrationError::ForeignTable);
    }
    Ok(exists)
}

/// The recorded migrations (none if the table does not exist yet).
async fn read_applied(
    client: &tokio_postgres::Client,
) -> Result<BTreeMap<i64, Recorded>, MigrationError> {
    if !ensure_ours(client).await? {
        return Ok(BTreeMap::new());
    }
    let rows = client
        .query(
            "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version",
            &[],
        )
        .await
        .map_err(query_err("reading schema_migrations"))?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get::<_, i64>(0)?,
                Recorded {
                    name: r.try_get(1)?,
                    checksum: r.try_get(2)?,
                    applied_at: r.try_get(3)?,
                },
            ))
        })
        .collect::<Result<_, tokio_postgres::Error>>()
        .map_err(query_err("reading schema_migrations"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_migrations_are_ordered_and_named() {
        let mut last = 0;
        for m in MIGRATIONS {
            assert!(m.version > last, "versions increase");
            last = m.version;
            let prefix: i64 = m.file.split('_').next().unwrap().parse().unwrap();
            assert_eq!(prefix, m.version, "{} prefix matches its version", m.file);
            assert_eq!(m.checksum().len(), 64);
        }
        assert_eq!(MIGRATIONS[0].name(), "init");
    }
}
