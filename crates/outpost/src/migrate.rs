//! `outpost migrate list|plan|apply|verify`: the log store's schema migrations, on Postgres or
//! ClickHouse.

use anyhow::Context;
use outpost_log_store_pg::migrations::{MigrationInfo, Migrator};

/// What to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Every migration and its state.
    List,
    /// The pending migrations.
    Plan,
    /// Apply the pending migrations (`yes` confirms).
    Apply {
        /// Confirmed on the command line.
        yes: bool,
    },
    /// Check applied migrations against this binary's files.
    Verify,
}

/// The store whose schema is migrated: Postgres (`POSTGRES_URL`) or ClickHouse
/// (`CLICKHOUSE_ADDR`). Both migrators have the same shape; this maps their answers to one.
enum Target {
    Postgres(Migrator),
    ClickHouse(Box<outpost_log_store_ch::Migrator>),
}

impl Target {
    async fn list(&self) -> anyhow::Result<Vec<MigrationInfo>> {
        Ok(match self {
            Self::Postgres(m) => m.list().await?,
            Self::ClickHouse(m) => m.list().await?,
        })
    }

    /// File names of the pending migrations.
    async fn plan(&self) -> anyhow::Result<Vec<&'static str>> {
        Ok(match self {
            Self::Postgres(m) => m.plan().await?.into_iter().map(|p| p.file).collect(),
            Self::ClickHouse(m) => m.plan().await?.into_iter().map(|p| p.file).collect(),
        })
    }

    /// Applies the pending migrations; the file names applied.
    async fn apply(&self) -> anyhow::Result<Vec<&'static str>> {
        Ok(match self {
            Self::Postgres(m) => m.apply().await?.into_iter().map(|p| p.file).collect(),
            Self::ClickHouse(m) => m.apply().await?.into_iter().map(|p| p.file).collect(),
        })
    }

    async fn verify(&self) -> anyhow::Result<()> {
        match self {
            Self::Postgres(m) => m.verify().await?,
            Self::ClickHouse(m) => m.verify().await?,
        }
        Ok(())
    }

    async fn pending_count(&self) -> anyhow::Result<usize> {
        Ok(match self {
            Self::Postgres(m) => m.pending_count().await?,
            Self::ClickHouse(m) => m.pending_count().await?,
        })
    }
}

/// Runs `action` against `POSTGRES_URL` or `CLICKHOUSE_ADDR`.
pub async fn run(cfg: &outpost_config::Config, action: Action) -> anyhow::Result<()> {
    let m = match (&cfg.postgres_url, &cfg.clickhouse) {
        (Some(url), _) => {
            let pool = outpost_log_store_pg::pool(url, 2).context("POSTGRES_URL")?;
            Target::Postgres(Migrator::new(pool))
        }
        (None, Some(ch)) => {
            let settings = outpost_runtime::infra::clickhouse_settings(cfg, ch)?;
            let store = outpost_log_store_ch::ChLogStore::new(settings)
                .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
            Target::ClickHouse(Box::new(store.migrator()))
        }
        (None, None) => anyhow::bail!(
            "invalid configuration: POSTGRES_URL: `outpost migrate` needs the log store: set POSTGRES_URL or CLICKHOUSE_ADDR"
        ),
    };
    match action {
        Action::List => {
            for info in m.list().await.context("cannot list migrations")? {
                println!(
                    "{:04} {:<30} {}",
                    info.version,
                    info.name,
                    info.state.describe()
                );
            }
        }
        Action::Plan => {
            let pending = m.plan().await.context("cannot plan migrations")?;
            if pending.is_empty() {
                println!("Nothing to apply: the schema is up to date.");
            }
            for file in pending {
                println!("would apply {file}");
            }
        }
        Action::Apply { yes } => {
            let pending = m.plan().await.context("cannot plan migrations")?;
            if pending.is_empty() {
                println!("Nothing to apply: the schema is up to date.");
                return Ok(());
            }
            if !yes {
                for file in &pending {
                    println!("would apply {file}");
                }
                anyhow::bail!(
                    "{} migration(s) pending: re-run with --yes to apply them",
                    pending.len()
                );
            }
            println!("Applying {} migration(s)...", pending.len());
            for file in m.apply().await.context("migration failed")? {
                println!("applied {file}");
            }
            println!("Done.");
        }
        Action::Verify => {
            m.verify().await.context("verification failed")?;
            let pending = m.pending_count().await?;
            println!("Applied migrations match this version ({pending} pending).");
        }
    }
    Ok(())
}
