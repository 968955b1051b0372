//! Schema migrations: the SQL files of this crate's `migrations/`, embedded at build time,
//! applied in version order and recorded in `{dp_}schema_migrations(version, name, checksum,
//! applied_at)` (ReplacingMergeTree on `version`). Same API shape as the Postgres store's
//! migrator: [`Migrator::list`], [`Migrator::plan`], [`Migrator::pending_count`],
//! [`Migrator::verify`], [`Migrator::apply`].
//!
//! ClickHouse has neither transactional DDL nor advisory locks, so unlike on Postgres:
//! * every statement of a migration must be idempotent (`IF NOT EXISTS`, ...): a migration that
//!   failed half-way keeps its earlier statements and is not recorded; the next apply runs it
//!   again from the start and completes it;
//! * concurrent applies are safe but not exclusive: two processes may both run a pending
//!   migration (harmless, by idempotency) and both record it; reads take one row per version.
//!
//! A migration file holds statements separated by `;` at the end of a line; lines starting with
//! `--` are comments. `{db}` and `{dp}` stand for the database and the table prefix (both
//! validated identifiers). The checksum is the SHA-256 of the file (with `\r\n` as `\n`), so it
//! does not depend on the database or deployment.

use crate::http::{Http, Num, quote};
use crate::{ChError, Tables};
pub use outpost_core::migrations::{Migration, MigrationInfo, MigrationState};
use outpost_core::migrations::{Mismatch, Recorded};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The statements of a migration's SQL, in order, without comment lines.
pub fn statements(sql: &str) -> Vec<String> {
    let text: Vec<&str> = sql
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect();
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text {
        let line = line.trim_end();
        match line.strip_suffix(';') {
            Some(last) => {
                current.push_str(last);
                out.push(std::mem::take(&mut current));
            }
            None => {
                current.push_str(line);
                current.push('\n');
            }
        }
    }
    out.push(current);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The migrations embedded in this binary, in version order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        file: "0001_init.sql",
        sql: include_str!("../migrations/0001_init.sql"),
    },
    Migration {
        version: 2,
        file: "0002_outpost_settings.sql",
        sql: include_str!("../migrations/0002_outpost_settings.sql"),
    },
];

/// A recorded migration: the latest row of its version.
#[derive(Debug, Deserialize)]
struct Applied {
    version: Num<i64>,
    m_name: String,
    m_checksum: String,
    applied_ms: Num<i64>,
}

/// Applies, lists and verifies migrations on one database and deployment.
#[derive(Debug, Clone)]
pub struct Migrator {
    http: Http,
    tables: Tables,
    migrations: Vec<Migration>,
}

impl Migrator {
    pub(crate) fn new(http: Http, tables: Tables) -> Self {
        Self {
            http,
            tables,
            migrations: MIGRATIONS.to_vec(),
        }
    }

    /// The same migrator with another set of migrations (sorted by version here).
    pub fn with_migrations(mut self, mut migrations: Vec<Migration>) -> Self {
        migrations.sort_by_key(|m| m.version);
        self.migrations = migrations;
        self
    }

    /// The migrations this migrator knows, in version order.
    pub fn migrations(&self) -> &[Migration] {
        &self.migrations
    }

    /// A migration's statements for this database and deployment.
    fn render(&self, m: &Migration) -> Vec<String> {
        statements(m.sql)
            .into_iter()
            .map(|s| {
                s.replace("{db}", &self.tables.database)
                    .replace("{dp}", &self.tables.prefix)
            })
            .collect()
    }

    /// Errors if the migrations table exists without our columns; true if it exists.
    async fn table_exists(&self) -> Result<bool, ChError> {
        #[derive(Deserialize)]
        struct Column {
            name: String,
        }
        let table = format!("{}schema_migrations", self.tables.prefix);
        let cols: Vec<Column> = self
            .http
            .rows(&format!(
                "SELECT name FROM system.columns WHERE database = {} AND table = {}",
                quote(&self.tables.database),
                quote(&table)
            ))
            .await
            .map_err(|e| e.during("reading the migrations table's columns"))?;
        if cols.is_empty() {
            return Ok(false);
        }
        if !cols.iter().any(|c| c.name == "checksum") {
            return Err(ChError::ForeignTable {
                table: format!("{}.{table}", self.tables.database),
            });
        }
        Ok(true)
    }

    /// The recorded migrations (none if the table does not exist yet).
    async fn read_applied(&self) -> Result<BTreeMap<i64, Recorded>, ChError> {
        if !self.table_exists().await? {
            return Ok(BTreeMap::new());
        }
        let rows: Vec<Applied> = self
            .http
            .rows(&format!(
                "SELECT version, argMax(name, applied_at) AS m_name, \
                 argMax(checksum, applied_at) AS m_checksum, \
                 toUnixTimestamp64Milli(min(applied_at)) AS applied_ms \
                 FROM {} GROUP BY version ORDER BY version",
                self.tables.migrations
            ))
            .await
            .map_err(|e| e.during("reading the migrations table"))?;
        Ok(rows
            .into_iter()
            .map(|a| {
                let recorded = Recorded {
                    name: a.m_name,
                    checksum: a.m_checksum,
                    applied_at: outpost_core::time::from_unix_ms(a.applied_ms.0),
                };
                (a.version.0, recorded)
            })
            .collect())
    }

    /// Every known migration with its state, then any applied migration this binary does not
    /// know, in version order.
    pub async fn list(&self) -> Result<Vec<MigrationInfo>, ChError> {
        let applied = self.read_applied().await?;
        Ok(outpost_core::migrations::list(&self.migrations, applied))
    }

    /// The migrations [`Self::apply`] would run, in order.
    pub async fn plan(&self) -> Result<Vec<Migration>, ChError> {
        let applied = self.read_applied().await?;
        Ok(outpost_core::migrations::pending(
            &self.migrations,
            &applied,
        ))
    }

    /// Number of pending migrations (0 = the schema is up to date).
    pub async fn pending_count(&self) -> Result<usize, ChError> {
        Ok(self.plan().await?.len())
    }

    /// Checks that every applied migration is known and unchanged; the error names the first
    /// one that is not.
    pub async fn verify(&self) -> Result<(), ChError> {
        self.check(&self.read_applied().await?)
    }

    fn check(&self, applied: &BTreeMap<i64, Recorded>) -> Result<(), ChError> {
        outpost_core::migrations::check(&self.migrations, applied).map_err(|m| match m {
            Mismatch::Unknown { version, name } => ChError::UnknownApplied { version, name },
            Mismatch::Drift {
                version,
                file,
                recorded,
                expected,
            } => ChError::Drift {
                version,
                file,
                recorded,
                expected,
            },
        })
    }

    /// Creates the database and the migrations table if needed, then applies the pending
    /// migrations in order and returns them. Refuses to run (before changing anything but the
    /// database and migrations table) if [`Self::verify`] fails.
    pub async fn apply(&self) -> Result<Vec<Migration>, ChError> {
        let exists = self.table_exists().await?;
        if !exists {
            self.http
                .execute(&format!(
                    "CREATE DATABASE IF NOT EXISTS `{}`",
                    self.tables.database
                ))
                .await
                .map_err(|e| e.during("creating the database"))?;
            self.http
                .execute(&format!(
                    "CREATE TABLE IF NOT EXISTS {} (version Int64, name String, checksum String, \
                     applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) \
                     ENGINE = ReplacingMergeTree(applied_at) ORDER BY version",
                    self.tables.migrations
                ))
                .await
                .map_err(|e| e.during("creating the migrations table"))?;
        }
        let applied = self.read_applied().await?;
        self.check(&applied)?;
        let mut done = Vec::new();
        for m in outpost_core::migrations::pending(&self.migrations, &applied) {
            let fail = |e: ChError| ChError::Apply {
                version: m.version,
                file: m.file,
                source: Box::new(e),
            };
            for statement in self.render(&m) {
                self.http.execute(&statement).await.map_err(fail)?;
            }
            #[derive(serde::Serialize)]
            struct Record<'a> {
                version: i64,
                name: &'a str,
                checksum: String,
            }
            let record = Record {
                version: m.version,
                name: m.name(),
                checksum: m.checksum(),
            };
            self.http
                .insert(
                    &self.tables.migrations,
                    "version, name, checksum",
                    &[record],
                )
                .await
                .map_err(fail)?;
            tracing::info!(
                version = m.version,
                file = m.file,
                "applied ClickHouse migration"
            );
            done.push(m);
        }
        Ok(done)
    }
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
            assert!(!statements(m.sql).is_empty(), "{} has statements", m.file);
            for s in statements(m.sql) {
                assert!(s.contains("IF NOT EXISTS"), "{}: idempotent: {s}", m.file);
                assert!(s.contains("`{db}`.`{dp}"), "{}: qualified: {s}", m.file);
            }
        }
        assert_eq!(MIGRATIONS[0].name(), "init");
        assert_eq!(statements(MIGRATIONS[0].sql).len(), 2);
    }

    #[test]
    fn statements_split_on_line_end_semicolons_and_drop_comments() {
        let m = Migration {
            version: 9,
            file: "0009_x.sql",
            sql: "-- header; not a statement\nCREATE TABLE a\n(\n  x String -- 'a;b'\n);\r\n\n  -- c\nSELECT 'x;y';\nSELECT 2",
        };
        assert_eq!(
            statements(m.sql),
            vec![
                "CREATE TABLE a\n(\n  x String -- 'a;b'\n)".to_string(),
                "SELECT 'x;y'".to_string(),
                "SELECT 2".to_string(),
            ]
        );
        let crlf = Migration {
            sql: "SELECT 1;\r\nSELECT 2;\r\n",
            ..m
        };
        let lf = Migration {
            sql: "SELECT 1;\nSELECT 2;\n",
            ..m
        };
        assert_eq!(crlf.checksum(), lf.checksum());
        assert_eq!(statements(crlf.sql), statements(lf.sql));
    }
}
