//! Shared test helpers: unique names, service addresses from the environment (with loud skips),
//! and the conformance suites every implementation of a port must pass.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod log_store_durations;
pub mod log_store_suite;
pub mod otlp;
pub mod pipeline_suites;
pub mod queue_suite;
pub mod rabbit;
pub mod receiver;
pub mod tcp_proxy;
pub mod tenant_store_suite;

/// A name unique to this process and call, for per-test isolation in shared services.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::new_v4().simple())
}

/// The local PostgreSQL server of the default test run, database `postgres`.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
/// The local Redis of the default test run.
pub const DEFAULT_REDIS_ADDR: &str = "127.0.0.1:6379";

/// The PostgreSQL server tests create their databases on (`TEST_DATABASE_URL`).
pub fn postgres_url() -> String {
    service_addr("TEST_DATABASE_URL", DEFAULT_POSTGRES_URL)
}

/// The Redis tests use, as `host:port` (`TEST_REDIS_ADDR`).
pub fn redis_addr() -> String {
    service_addr("TEST_REDIS_ADDR", DEFAULT_REDIS_ADDR)
}

/// `server`'s URL naming the database `name` instead of its own.
pub fn database_url(server: &str, name: &str) -> String {
    let base = server.rsplit_once('/').map(|(b, _)| b).unwrap_or(server);
    format!("{base}/{name}")
}

/// The address of a real service for integration tests, from `var` or `default`.
/// Tests use the local services by default; set `var` to point elsewhere.
pub fn service_addr(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_string())
}
