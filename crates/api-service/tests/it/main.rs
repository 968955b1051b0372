//! Black-box HTTP tests of the API: a real server on a loopback port, driven with reqwest,
//! every test run against both tenant-store implementations (memory and the local Redis).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod destinations;
mod helpers;
mod isolation;
mod logs;
mod meta;
mod metrics;
mod openapi;
mod portal;
mod publish;
mod tenants;
