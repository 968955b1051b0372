//! Operator event sinks without cloud SDKs (the cloud ones live in `outpost-opevents-cloud`).

pub mod http;
pub mod rabbitmq;

pub use http::HttpSink;
pub use rabbitmq::RabbitSink;
