//! Senders of every destination type but the webhook (which lives in the delivery service
//! with its SSRF guard): Hookdeck, RabbitMQ, AWS SQS / Kinesis / S3 / EventBridge, GCP Pub/Sub,
//! Azure Service Bus and Kafka (spec §5.3–§5.10).
//!
//! Each type is one module with the same parts: the destination's config read and checked
//! (`Target`), the message built from the event by pure functions, and the [`Sender`] that
//! does the I/O, caching its client per destination config ([`cache::ClientCache`]) and
//! dropping it after a connection error so the next attempt reconnects.

pub mod aws;
pub mod azure_servicebus;
pub mod cache;
pub mod classify;
pub mod envelope;
pub mod gcp_pubsub;
pub mod hookdeck;
pub mod jmes;
pub mod kafka;
pub mod rabbitmq;
#[cfg(test)]
mod testing;

use outpost_core::destination::Destination;
use outpost_core::event::Event;
use outpost_core::ports::Sender;
use outpost_core::time::Timestamp;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Settings shared by the senders, from configuration.
#[derive(Debug, Clone)]
pub struct SenderSettings {
    /// `DESTINATIONS_INCLUDE_MILLISECOND_TIMESTAMP`.
    pub include_millisecond_timestamp: bool,
    /// `DESTINATIONS_AWS_KINESIS_METADATA_IN_PAYLOAD`.
    pub kinesis_metadata_in_payload: bool,
    /// User-Agent of HTTP-based senders (Hookdeck).
    pub user_agent: String,
    /// Hookdeck ingestion base URL (`https://hkdk.events`).
    pub hookdeck_events_url: String,
    /// Secret that signs queue, stream and bucket deliveries (off when `None`).
    pub queue_signing_secret: Option<String>,
}

impl Default for SenderSettings {
    fn default() -> Self {
        Self {
            include_millisecond_timestamp: false,
            kinesis_metadata_in_payload: true,
            user_agent: "Outpost".into(),
            hookdeck_events_url: "https://hkdk.events".into(),
            queue_signing_secret: None,
        }
    }
}

impl SenderSettings {
    /// The metadata of one attempt (spec §5.0), with the signed-envelope keys when signing is on.
    pub fn metadata(
        &self,
        dest: &Destination,
        event: &Event,
        now: Timestamp,
    ) -> BTreeMap<String, String> {
        let mut m = outpost_destinations::delivery_metadata::merged_metadata(
            dest,
            event,
            now,
            self.include_millisecond_timestamp,
        );
        if let Some(secret) = &self.queue_signing_secret {
            envelope::sign(&mut m, secret, &event.id, now, event.data.get().as_bytes());
        }
        m
    }
}

/// Installs aws-lc-rs as the process's rustls provider unless one is installed already: TLS
/// clients (tonic for Pub/Sub, fe2o3 for Service Bus) cannot pick one themselves when the build
/// enables more than one provider.
pub(crate) fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another installer is fine: a provider is then in place.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }
}

/// The senders of every type this crate implements, by destination type.
pub fn registry(settings: &SenderSettings) -> HashMap<String, Arc<dyn Sender>> {
    let s = Arc::new(settings.clone());
    let mut out: HashMap<String, Arc<dyn Sender>> = HashMap::new();
    out.insert(
        "hookdeck".into(),
        Arc::new(hookdeck::HookdeckSender::new(s.clone())),
    );
    out.insert("kafka".into(), Arc::new(kafka::KafkaSender::new(s.clone())));
    out.insert(
        "azure_servicebus".into(),
        Arc::new(azure_servicebus::AzureServiceBusSender::new(s.clone())),
    );
    out.insert(
        "gcp_pubsub".into(),
        Arc::new(gcp_pubsub::PubSubSender::new(s.clone())),
    );
    out.insert(
        "rabbitmq".into(),
        Arc::new(rabbitmq::RabbitSender::new(s.clone())),
    );
    out.insert(
        "aws_sqs".into(),
        Arc::new(aws::sqs::SqsSender::new(s.clone())),
    );
    out.insert(
        "aws_kinesis".into(),
        Arc::new(aws::kinesis::KinesisSender::new(s.clone())),
    );
    out.insert("aws_s3".into(), Arc::new(aws::s3::S3Sender::new(s.clone())));
    out.insert(
        "aws_eventbridge".into(),
        Arc::new(aws::eventbridge::EventBridgeSender::new()),
    );
    out
}
