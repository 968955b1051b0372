//! The crate's error type: every failure of the store, its migrations and its retention, with the
//! underlying cause (transport error, ClickHouse's own error text, decoding error) as source.

/// Failure of a ClickHouse operation.
#[derive(Debug, thiserror::Error)]
pub enum ChError {
    /// A setting is unusable (address, database name, deployment id).
    #[error("invalid ClickHouse settings: {0}")]
    Config(String),
    /// The HTTP client could not be built.
    #[error("could not build the HTTP client for ClickHouse")]
    Client(#[source] reqwest::Error),
    /// The request did not get an answer (connection refused, timeout, broken connection).
    #[error("could not reach ClickHouse at {url}")]
    Unreachable {
        /// The base URL.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// ClickHouse answered with an error.
    #[error("ClickHouse answered HTTP {status}: {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// ClickHouse's error code (`X-ClickHouse-Exception-Code`, or `Code: N.` of the text).
        code: Option<u32>,
        /// ClickHouse's error text (cut to a few KiB).
        message: String,
    },
    /// An answer could not be decoded.
    #[error("unexpected answer from ClickHouse: {what}")]
    Decode {
        /// What was being decoded.
        what: String,
        /// The decoding error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A value cannot be stored (e.g. a time outside the years 1..=9999).
    #[error("cannot store {0}")]
    Unstorable(String),
    /// A step of a larger operation failed.
    #[error("ClickHouse {doing} failed")]
    Step {
        /// What was being done.
        doing: String,
        /// Why it failed.
        #[source]
        source: Box<ChError>,
    },
    /// A migration statement failed. Earlier statements of the migration stay applied (DDL is
    /// not transactional); every statement is idempotent, so the next apply completes it.
    #[error("migration {version} ({file}) failed")]
    Apply {
        /// Version.
        version: i64,
        /// File name.
        file: &'static str,
        /// The failing statement's error.
        #[source]
        source: Box<ChError>,
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
    /// The database has a migration this binary does not know (a newer version applied it).
    #[error("the database has migration {version} ({name}) which this version does not know")]
    UnknownApplied {
        /// Version.
        version: i64,
        /// Recorded name.
        name: String,
    },
    /// The migrations table exists but was not created by this migrator (upstream's
    /// golang-migrate table has no `checksum` column).
    #[error("table {table} exists but has no checksum column (created by another migration tool?)")]
    ForeignTable {
        /// The table.
        table: String,
    },
}

impl ChError {
    /// Wraps `self` as the cause of a failed step.
    pub(crate) fn during(self, doing: impl Into<String>) -> Self {
        Self::Step {
            doing: doing.into(),
            source: Box::new(self),
        }
    }

    /// ClickHouse's error code, looking through wrapping steps.
    pub fn code(&self) -> Option<u32> {
        match self {
            Self::Server { code, .. } => *code,
            Self::Step { source, .. } | Self::Apply { source, .. } => source.code(),
            _ => None,
        }
    }
}
