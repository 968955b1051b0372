//! Shared test helpers: unique names, service addresses from the environment (with loud skips),
//! and the conformance suites every implementation of a port must pass.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod log_store_suite;
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

/// The address of a real service for integration tests, from `var` or `default`.
/// Tests use the local services by default; set `var` to point elsewhere.
pub fn service_addr(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_string())
}
