//! Log retention (`CLICKHOUSE_LOG_RETENTION_TTL_DAYS`) as a TTL on both tables.
//!
//! As upstream (`internal/logretention`), at start-up the configured number of days is compared
//! with the value last applied; only when they differ are both tables altered:
//! `ALTER TABLE .. MODIFY TTL <time> + INTERVAL N DAY`, or `REMOVE TTL` for 0 (keep forever).
//! ClickHouse then drops expired rows in background merges (`MODIFY TTL` also rewrites the
//! existing parts, so it is worth skipping when nothing changed).
//!
//! Deviations from upstream, both deliberate:
//! * the last applied value lives in the store's own `{dp_}outpost_settings` table (key
//!   `log_retention_ttl_days`), not in Redis under `{dp}outpost:log_retention_ttl`: this store
//!   has no Redis handle, and the value then lives and dies with the tables it describes;
//! * the TTL is on the `DateTime64` column itself, not on `toDateTime(..)` as upstream: the
//!   32-bit `DateTime` wraps after 2106 (a time in the year 7981 becomes 1993), which would
//!   expire rows with far-future times at once.
//!
//! The value is recorded only after both tables were altered, so an interrupted change is
//! redone at the next start; `REMOVE TTL` on a table that has none counts as done.

use crate::http::quote;
use crate::{ChError, ChLogStore};
use serde::{Deserialize, Serialize};

/// The settings key of the retention last applied.
pub const RETENTION_KEY: &str = "log_retention_ttl_days";

/// ClickHouse's BAD_ARGUMENTS, which `REMOVE TTL` reports for a table without TTL.
const BAD_ARGUMENTS: u32 = 36;

/// What [`ChLogStore::apply_retention`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetentionChange {
    /// The tables already had this retention (0: none); nothing was altered.
    Unchanged {
        /// Days (0 = forever).
        days: u32,
    },
    /// A TTL of `to` days was set on both tables (`from` = 0: there was none).
    Set {
        /// The previous retention in days (0 = forever).
        from: u32,
        /// The new retention in days.
        to: u32,
    },
    /// The TTL was removed from both tables: rows are kept forever.
    Removed {
        /// The previous retention in days.
        from: u32,
    },
}

impl ChLogStore {
    /// The retention last applied by [`Self::apply_retention`], in days (0 = forever, also
    /// when none was ever applied).
    pub async fn applied_retention(&self) -> Result<u32, ChError> {
        #[derive(Deserialize)]
        struct Value {
            value: String,
        }
        let rows: Vec<Value> = self
            .http
            .rows(&format!(
                "SELECT value FROM {} WHERE key = {} ORDER BY updated_at DESC LIMIT 1",
                self.tables.settings,
                quote(RETENTION_KEY)
            ))
            .await
            .map_err(|e| e.during("reading the applied retention"))?;
        match rows.first() {
            None => Ok(0),
            Some(v) => v.value.trim().parse().map_err(|e| ChError::Decode {
                what: format!("stored {RETENTION_KEY} {:?}", v.value),
                source: Box::new(e),
            }),
        }
    }

    /// Makes `days` (0 = keep forever) the retention of events and attempts, altering the
    /// tables only if it differs from the retention last applied.
    pub async fn apply_retention(&self, days: u32) -> Result<RetentionChange, ChError> {
        let from = self.applied_retention().await?;
        if from == days {
            return Ok(RetentionChange::Unchanged { days });
        }
        for (table, col) in [
            (&self.tables.events, "event_time"),
            (&self.tables.attempts, "attempt_time"),
        ] {
            let result = if days == 0 {
                match self
                    .http
                    .execute(&format!("ALTER TABLE {table} REMOVE TTL"))
                    .await
                {
                    Err(e) if no_ttl(&e) => Ok(()),
                    other => other,
                }
            } else {
                self.http
                    .execute(&format!(
                        "ALTER TABLE {table} MODIFY TTL {col} + INTERVAL {days} DAY"
                    ))
                    .await
            };
            result.map_err(|e| e.during(format!("setting the retention of {table}")))?;
        }
        #[derive(Serialize)]
        struct Setting {
            key: &'static str,
            value: String,
        }
        self.http
            .insert(
                &self.tables.settings,
                "key, value",
                &[Setting {
                    key: RETENTION_KEY,
                    value: days.to_string(),
                }],
            )
            .await
            .map_err(|e| e.during("recording the applied retention"))?;
        tracing::info!(from, to = days, "ClickHouse log retention changed");
        Ok(if days == 0 {
            RetentionChange::Removed { from }
        } else {
            RetentionChange::Set { from, to: days }
        })
    }
}

/// Whether `e` is `REMOVE TTL`'s complaint about a table without TTL.
fn no_ttl(e: &ChError) -> bool {
    match e {
        ChError::Server { code, message, .. } => {
            *code == Some(BAD_ARGUMENTS) && message.contains("TTL")
        }
        _ => false,
    }
}
