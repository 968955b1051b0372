//! Pure domain of the Outpost-compatible event destinations service.
//!
//! Everything here is deterministic logic with no network, runtime or storage I/O: identifiers,
//! the tenant / destination / event models and their JSON shapes, topic and filter matching,
//! merge-patch on string maps, pagination cursors, the Go-template subset used for signing
//! configuration, and the ports (traits) that the I/O crates implement, each with an in-memory
//! implementation used by the embedded mode and by tests.
#![warn(missing_docs)]

pub mod alerts;
pub mod cursor;
pub mod destination;
pub mod error;
pub mod event;
pub mod filter;
pub mod health;
pub mod ids;
pub mod lanes;
pub mod metrics;
pub mod migrations;
pub mod patch;
pub mod ports;
pub mod publish;
pub mod retry;
pub mod template;
pub mod tenant;
pub mod time;
pub mod topic;

pub use error::StoreError;
