//! End-to-end tests with the real `outpost` binary, the local Redis and RabbitMQ, and a local
//! webhook receiver.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod alerts;
mod api;
mod binary;
mod common;
mod dest_aws;
mod dest_azure_servicebus;
mod dest_gcp_pubsub;
mod dest_hookdeck;
mod dest_kafka;
mod dest_rabbitmq;
mod destinations;
mod otel;
mod pipeline;
mod publishmq;
mod scaling;
mod split;
mod split_claims;
mod split_faults;
mod split_sqs;
