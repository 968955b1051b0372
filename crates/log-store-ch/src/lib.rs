//! ClickHouse implementation of the log store port ([`outpost_core::ports::LogStore`]), the
//! alternative to `outpost-log-store-pg`, over ClickHouse's HTTP interface (JSONEachRow).
//!
//! # Layout
//! * [`ChSettings`] / [`http_url`]: where and as whom to connect; `CLICKHOUSE_ADDR` (+ TLS flag)
//!   becomes the HTTP base URL (the native-protocol ports 9000/9440 are refused).
//! * [`ChLogStore`]: the store. Tables follow upstream's `chlogstore` schema
//!   (`{dp_}events`, `{dp_}attempts`, ReplacingMergeTree, monthly partitions, `ORDER BY (time,
//!   id)`, bloom-filter skip indexes), where `{dp_}` is `<DEPLOYMENT_ID>_` when one is set.
//!   Inserts are one `INSERT .. FORMAT JSONEachRow` per table per [`LogStore::insert`] call.
//! * [`migrations`]: versioned, checksummed schema migrations recorded in
//!   `{dp_}schema_migrations` ([`ChLogStore::migrate`], [`ChLogStore::pending`], [`Migrator`]).
//! * [`retention`]: `CLICKHOUSE_LOG_RETENTION_TTL_DAYS` as a table TTL
//!   ([`ChLogStore::apply_retention`]).
//!
//! # Duplicates without FINAL
//! ReplacingMergeTree only collapses rows with the same sorting key when parts merge, at an
//! unknown time, and reads never use `FINAL`. So:
//! * events: [`LogStore::insert`] skips event ids already stored (one `SELECT` by id per batch,
//!   as the Postgres store does), so an event is stored once; lists and aggregates still drop
//!   exact `(time, id)` duplicates (two writers racing on the same new event).
//! * attempts: a status update of an attempt is a new row with the same `(attempt_time,
//!   attempt_id)` and a later `inserted_at` (the table's version column, set by the server).
//!   Reads keep the latest version of each key: `ORDER BY .., inserted_at DESC LIMIT 1 BY
//!   attempt_time, attempt_id`, and in aggregates `argMax(.., inserted_at) .. GROUP BY
//!   attempt_time, attempt_id`. Filters on what an update can change (status, code) apply after
//!   that, so a superseded version never matches.
//!
//! # Times
//! Stored as `DateTime64(3, 'UTC')`, read back as epoch milliseconds. ClickHouse 26 stores and
//! computes calendar fields for the years 1..=9999 (its documentation still says 1900..=2299; the
//! conformance suite's fixtures sit up to the year 8024); other years are refused at insert.
//!
//! [`LogStore::insert`]: outpost_core::ports::LogStore::insert

pub mod addr;
mod aggregates;
mod error;
mod http;
pub mod migrations;
pub mod retention;
mod rows;
mod store;

pub use addr::http_url;
pub use error::ChError;
pub use migrations::{Migration, MigrationInfo, MigrationState, Migrator};
pub use retention::RetentionChange;

use std::time::Duration;

/// `CLICKHOUSE_DATABASE`'s default.
pub const DEFAULT_DATABASE: &str = "outpost";
/// The user when `CLICKHOUSE_USERNAME` is not set (ClickHouse's own default).
pub const DEFAULT_USERNAME: &str = "default";
/// Time limit of the metrics aggregate queries (`max_execution_time`), as the Postgres store's
/// statement timeout.
pub const DEFAULT_AGGREGATE_TIMEOUT: Duration = Duration::from_secs(30);
/// Time limit of every other request.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Where and as whom to connect.
#[derive(Clone, PartialEq, Eq)]
pub struct ChSettings {
    /// Base URL of the HTTP interface (`http://host:8123`; see [`http_url`]).
    pub url: String,
    /// User (`X-ClickHouse-User`).
    pub username: String,
    /// Password (`X-ClickHouse-Key`); may be empty.
    pub password: String,
    /// Database holding the tables; created by the migrations. Letters, digits, `_` and `-`.
    pub database: String,
    /// `DEPLOYMENT_ID`: table names get the prefix `<id>_`. Letters, digits, `_` and `-`.
    pub deployment_id: Option<String>,
}

impl std::fmt::Debug for ChSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChSettings")
            .field("url", &self.url)
            .field("username", &self.username)
            .field(
                "password",
                &if self.password.is_empty() { "" } else { "***" },
            )
            .field("database", &self.database)
            .field("deployment_id", &self.deployment_id)
            .finish()
    }
}

impl ChSettings {
    /// Settings from upstream's variables: `CLICKHOUSE_ADDR`, `CLICKHOUSE_TLS_ENABLED`,
    /// `CLICKHOUSE_USERNAME` (default [`DEFAULT_USERNAME`]), `CLICKHOUSE_PASSWORD`,
    /// `CLICKHOUSE_DATABASE` (default [`DEFAULT_DATABASE`]) and `DEPLOYMENT_ID`; empty values
    /// count as unset. Fails on an unusable address or name.
    pub fn from_upstream(
        addr: &str,
        tls: bool,
        username: Option<&str>,
        password: Option<&str>,
        database: Option<&str>,
        deployment_id: Option<&str>,
    ) -> Result<Self, ChError> {
        let settings = Self {
            url: http_url(addr, tls)?,
            username: set(username).unwrap_or(DEFAULT_USERNAME).to_string(),
            password: password.unwrap_or_default().to_string(),
            database: set(database).unwrap_or(DEFAULT_DATABASE).to_string(),
            deployment_id: set(deployment_id).map(str::to_string),
        };
        settings.validate()?;
        Ok(settings)
    }

    /// Checks the names used in SQL identifiers.
    fn validate(&self) -> Result<(), ChError> {
        check_name("CLICKHOUSE_DATABASE", &self.database)?;
        if let Some(dp) = &self.deployment_id {
            check_name("DEPLOYMENT_ID", dp)?;
        }
        Ok(())
    }
}

/// A trimmed, non-empty value.
fn set(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|v| !v.is_empty())
}

/// Accepts 1 to 64 of `[A-Za-z0-9_-]`, which need no escaping inside backquotes.
fn check_name(what: &str, v: &str) -> Result<(), ChError> {
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(ChError::Config(format!(
            "{what} {v:?}: use 1 to 64 letters, digits, '_' or '-'"
        )))
    }
}

/// Fully qualified, quoted names of the store's tables.
#[derive(Debug, Clone)]
pub(crate) struct Tables {
    /// The database, unquoted.
    pub(crate) database: String,
    /// The table name prefix: `<deployment id>_` or empty.
    pub(crate) prefix: String,
    pub(crate) events: String,
    pub(crate) attempts: String,
    pub(crate) settings: String,
    pub(crate) migrations: String,
}

impl Tables {
    fn new(s: &ChSettings) -> Self {
        let prefix = s
            .deployment_id
            .as_deref()
            .map(|d| format!("{d}_"))
            .unwrap_or_default();
        let t = |name: &str| format!("`{}`.`{prefix}{name}`", s.database);
        Self {
            events: t("events"),
            attempts: t("attempts"),
            settings: t("outpost_settings"),
            migrations: t("schema_migrations"),
            database: s.database.clone(),
            prefix,
        }
    }
}

/// The log store on ClickHouse. Cheap to clone (one shared HTTP connection pool).
#[derive(Debug, Clone)]
pub struct ChLogStore {
    http: http::Http,
    tables: Tables,
    settings: ChSettings,
    aggregate_timeout: Duration,
}

impl ChLogStore {
    /// The store for `settings`, without contacting ClickHouse.
    pub fn new(settings: ChSettings) -> Result<Self, ChError> {
        settings.validate()?;
        Ok(Self {
            http: http::Http::new(&settings)?,
            tables: Tables::new(&settings),
            settings,
            aggregate_timeout: DEFAULT_AGGREGATE_TIMEOUT,
        })
    }

    /// The store for `settings`, after checking that ClickHouse answers a query with these
    /// credentials.
    pub async fn connect(settings: ChSettings) -> Result<Self, ChError> {
        let store = Self::new(settings)?;
        store.http.execute("SELECT 1").await?;
        Ok(store)
    }

    /// The same store with another time limit for the metrics aggregate queries (default
    /// [`DEFAULT_AGGREGATE_TIMEOUT`], at least 1 ms).
    pub fn with_aggregate_timeout(mut self, timeout: Duration) -> Self {
        self.aggregate_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The settings.
    pub fn settings(&self) -> &ChSettings {
        &self.settings
    }

    /// The migrator of this store's database and deployment, with the embedded migrations.
    pub fn migrator(&self) -> Migrator {
        Migrator::new(self.http.clone(), self.tables.clone())
    }

    /// Creates the database if needed and applies the pending migrations (idempotent); returns
    /// those applied. Same as `self.migrator().apply()`.
    pub async fn migrate(&self) -> Result<Vec<Migration>, ChError> {
        self.migrator().apply().await
    }

    /// The migrations not applied yet, in order: the start-up check refuses to serve while this
    /// is not empty. Same as `self.migrator().plan()`.
    pub async fn pending(&self) -> Result<Vec<Migration>, ChError> {
        self.migrator().plan().await
    }
}
