//! The gRPC contract for log queries (`proto/outpost/log/v1/log.proto`) and its adapters both
//! ways: [`LogQueryService`]/[`serve`] expose any [`LogStore`](outpost_core::ports::LogStore)
//! (the log service's Postgres store), and [`GrpcLogStore`] implements `LogStore` over the
//! network, so the api-service reads logs through the same port in split deployments.
//!
//! Flow: api-service → `GrpcLogStore` → (HTTP/2, bearer token) → `serve` → `LogQueryService`
//! → the log store. Health (`grpc.health.v1`) and reflection (`grpc.reflection.v1`, `v1alpha`) are served
//! alongside, so `grpcurl -plaintext host:port list` works.
#![warn(missing_docs)]

mod client;
mod convert;
mod error;
mod server;

pub use client::{CONNECT_TIMEOUT, GrpcLogStore, MAX_RESPONSE_BYTES, REQUEST_TIMEOUT};
pub use convert::MAX_PAGE_LIMIT;
pub use error::{ClientError, ConnectError, ConvertError, ServeError};
pub use server::{LogQueryService, serve};

/// Code generated from `outpost/log/v1/log.proto`: the messages, the `log_query_client` and
/// `log_query_server` modules, and the encoded descriptor set.
#[allow(missing_docs, clippy::all)]
pub mod pb {
    tonic::include_proto!("outpost.log.v1");

    /// The encoded `FileDescriptorSet` of `log.proto` and its imports, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/outpost_log_v1_descriptor.bin"));
}
