//! `outpost migrate list|plan|apply|verify`: the Postgres log schema migrations.

use anyhow::Context;
use outpost_log_store_pg::migrations::{MigrationState, Migrator};

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

/// Runs `action` against `POSTGRES_URL`.
pub async fn run(cfg: &outpost_config::Config, action: Action) -> anyhow::Result<()> {
    let url = cfg.postgres_url.as_deref().ok_or_else(|| {
        anyhow::anyhow!("invalid configuration: POSTGRES_URL: required by `outpost migrate`")
    })?;
    let pool = outpost_log_store_pg::pool(url, 2).context("POSTGRES_URL")?;
    let m = Migrator::new(pool);
    match action {
        Action::List => {
            for info in m.list().await.context("cannot list migrations")? {
                let state = match info.state {
                    MigrationState::Pending => "pending".to_string(),
                    MigrationState::Applied {
                        applied_at,
                        checksum_matches,
                    } => format!(
                        "applied {}{}",
                        outpost_core::time::format_rfc3339_secs(&applied_at),
                        if checksum_matches {
                            ""
                        } else {
                            " (CHECKSUM DIFFERS)"
                        }
                    ),
                    MigrationState::Unknown { applied_at } => format!(
                        "applied {} (unknown to this version)",
                        outpost_core::time::format_rfc3339_secs(&applied_at)
                    ),
                };
                println!("{:04} {:<30} {state}", info.version, info.name);
            }
        }
        Action::Plan => {
            let pending = m.plan().await.context("cannot plan migrations")?;
            if pending.is_empty() {
                println!("Nothing to apply: the schema is up to date.");
            }
            for p in pending {
                println!("would apply {}", p.file);
            }
        }
        Action::Apply { yes } => {
            let pending = m.plan().await.context("cannot plan migrations")?;
            if pending.is_empty() {
                println!("Nothing to apply: the schema is up to date.");
                return Ok(());
            }
            if !yes {
                for p in &pending {
                    println!("would apply {}", p.file);
                }
                anyhow::bail!(
                    "{} migration(s) pending: re-run with --yes to apply them",
                    pending.len()
                );
            }
            println!("Applying {} migration(s)...", pending.len());
            for applied in m.apply().await.context("migration failed")? {
                println!("applied {}", applied.file);
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
