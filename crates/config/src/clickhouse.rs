//! The ClickHouse log store's settings (`CLICKHOUSE_*`), the alternative to `POSTGRES_URL`.

use crate::{ConfigError, RawSettings, opt, parse_bool, parse_num};

/// The ClickHouse log store's settings (`CLICKHOUSE_*`), as given: the store checks the
/// address and names when it connects.
#[derive(Clone, PartialEq, Eq)]
pub struct ClickHouseConfig {
    /// `CLICKHOUSE_ADDR`: the HTTP interface, `host:port` or `http(s)://host:port`.
    pub addr: String,
    /// `CLICKHOUSE_TLS_ENABLED`.
    pub tls: bool,
    /// `CLICKHOUSE_USERNAME`.
    pub username: Option<String>,
    /// `CLICKHOUSE_PASSWORD`.
    pub password: Option<String>,
    /// `CLICKHOUSE_DATABASE`.
    pub database: Option<String>,
    /// `CLICKHOUSE_LOG_RETENTION_TTL_DAYS` (0 = keep forever).
    pub retention_days: u32,
}

impl std::fmt::Debug for ClickHouseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickHouseConfig")
            .field("addr", &self.addr)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("database", &self.database)
            .field("retention_days", &self.retention_days)
            .finish_non_exhaustive()
    }
}

/// Reads `CLICKHOUSE_*`; `None` without `CLICKHOUSE_ADDR`. With `POSTGRES_URL` too it is an
/// error (upstream would log to ClickHouse but migrate Postgres).
pub(crate) fn clickhouse(raw: &RawSettings) -> Result<Option<ClickHouseConfig>, ConfigError> {
    let Some(addr) = opt(raw, "CLICKHOUSE_ADDR") else {
        return Ok(None);
    };
    if opt(raw, "POSTGRES_URL").is_some() {
        return Err(ConfigError::new(
            "CLICKHOUSE_ADDR",
            "and POSTGRES_URL are both set: the log goes to one store; set one of them".into(),
        ));
    }
    Ok(Some(ClickHouseConfig {
        addr,
        tls: parse_bool(raw, "CLICKHOUSE_TLS_ENABLED")?,
        username: opt(raw, "CLICKHOUSE_USERNAME"),
        password: opt(raw, "CLICKHOUSE_PASSWORD"),
        database: opt(raw, "CLICKHOUSE_DATABASE"),
        retention_days: parse_num(raw, "CLICKHOUSE_LOG_RETENTION_TTL_DAYS", 0u32)?,
    }))
}
