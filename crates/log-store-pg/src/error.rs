//! Errors of connecting to the database.

/// Failure to set up the connection pool.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The connection string could not be parsed.
    #[error("invalid PostgreSQL connection string")]
    Url(#[source] tokio_postgres::Error),
    /// The pool could not be built.
    #[error("could not build the PostgreSQL connection pool")]
    Pool(#[source] deadpool_postgres::BuildError),
    /// No connection could be opened.
    #[error("could not connect to PostgreSQL")]
    Connect(#[source] deadpool_postgres::PoolError),
}
