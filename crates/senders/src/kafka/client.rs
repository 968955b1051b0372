//! The Kafka client of a destination (an `rskafka` cluster client, the topic's partition list
//! and one partition client per partition, all cached per destination config) and the
//! [`Sender`] that produces through it.
//!
//! rskafka retries connection failures with backoff; the backoff here is capped at
//! [`RETRY_DEADLINE`] so an unreachable or misconfigured cluster fails the attempt well within
//! the delivery timeout and the attempt carries the real cause. The partition list comes from
//! the cluster's metadata, refreshed every [`PARTITIONS_TTL`] and after any failure; a topic
//! absent from it fails with `topic_not_found` without producing (so no broker auto-creates
//! it). After a connection failure the whole client is dropped and rebuilt on the next attempt.

use super::{KafkaError, Mechanism, Target, error_code, key_of, partition_index, record};
use crate::SenderSettings;
use crate::cache::ClientCache;
use crate::jmes::KeyTemplate;
use outpost_core::destination::Destination;
use outpost_core::event::Event;
use outpost_core::ports::{SendResult, Sender};
use outpost_core::time::Timestamp;
use rskafka::BackoffConfig;
use rskafka::client::partition::{Compression, PartitionClient, UnknownTopicHandling};
use rskafka::client::{ClientBuilder, Credentials, SaslConfig};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Longest time rskafka keeps retrying one operation (connect, metadata, produce).
pub const RETRY_DEADLINE: Duration = Duration::from_secs(2);
/// How long a topic's partition list is trusted.
pub const PARTITIONS_TTL: Duration = Duration::from_secs(60);

/// The topic's partitions as last read, with their clients.
struct Partitions {
    ids: Vec<i32>,
    read_at: Instant,
    clients: HashMap<i32, Arc<PartitionClient>>,
}

/// A destination's connection to its cluster and topic.
pub struct Client {
    cluster: rskafka::client::Client,
    topic: String,
    template: Option<KeyTemplate>,
    partitions: Mutex<Option<Partitions>>,
}

impl Client {
    /// Connects to the cluster (reads its metadata once).
    pub async fn connect(t: &Target) -> Result<Self, KafkaError> {
        let mut builder = ClientBuilder::new(t.brokers.clone())
            .client_id("outpost")
            .backoff_config(BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(1),
                base: 3.0,
                deadline: Some(RETRY_DEADLINE),
            });
        if let Some(s) = &t.sasl {
            let creds = Credentials::new(s.username.clone(), s.password.clone());
            builder = builder.sasl_config(match s.mechanism {
                Mechanism::Plain => SaslConfig::Plain(creds),
                Mechanism::ScramSha256 => SaslConfig::ScramSha256(creds),
                Mechanism::ScramSha512 => SaslConfig::ScramSha512(creds),
            });
        }
        if t.tls {
            builder = builder.tls_config(tls_config()?);
        }
        let cluster = builder.build().await?;
        // A template that does not compile (validation rejects those) falls back to the event
        // id, as a failing template does.
        let template = t
            .partition_key_template
            .as_deref()
            .and_then(|src| KeyTemplate::compile(src).ok());
        Ok(Self {
            cluster,
            topic: t.topic.clone(),
            template,
            partitions: Mutex::new(None),
        })
    }

    /// The partition client for `key`, reading the partition list when it is stale.
    async fn partition_for(&self, key: &[u8]) -> Result<Arc<PartitionClient>, KafkaError> {
        let mut guard = self.partitions.lock().await;
        let fresh = guard
            .as_ref()
            .is_some_and(|p| p.read_at.elapsed() < PARTITIONS_TTL);
        if !fresh {
            let ids: Vec<i32> = self
                .cluster
                .list_topics()
                .await?
                .into_iter()
                .find(|t| t.name == self.topic)
                .map(|t| t.partitions.into_iter().collect())
                .unwrap_or_default();
            if ids.is_empty() {
                *guard = None;
                return Err(KafkaError::TopicNotFound(self.topic.clone()));
            }
            let clients = guard.take().map(|p| p.clients).unwrap_or_default();
            *guard = Some(Partitions {
                ids,
                read_at: Instant::now(),
                clients,
            });
        }
        let Some(parts) = guard.as_mut() else {
            return Err(KafkaError::TopicNotFound(self.topic.clone()));
        };
        let Some(&id) = parts.ids.get(partition_index(key, parts.ids.len())) else {
            return Err(KafkaError::TopicNotFound(self.topic.clone()));
        };
        if let Some(c) = parts.clients.get(&id) {
            return Ok(c.clone());
        }
        let c = Arc::new(
            self.cluster
                .partition_client(self.topic.clone(), id, UnknownTopicHandling::Error)
                .await?,
        );
        parts.clients.insert(id, c.clone());
        Ok(c)
    }

    /// Forgets the partition list and clients (re-read on the next send).
    async fn reset_partitions(&self) {
        *self.partitions.lock().await = None;
    }

    /// Produces one event.
    async fn produce(
        &self,
        settings: &SenderSettings,
        dest: &Destination,
        event: &Event,
        now: Timestamp,
    ) -> Result<(), KafkaError> {
        let metadata = settings.metadata(dest, event, now);
        let key = key_of(
            self.template.as_ref(),
            &super::template_input(&metadata, event),
            event,
        );
        let partition = self.partition_for(key.as_bytes()).await?;
        partition
            .produce(
                vec![record(key, event, &metadata, now)],
                Compression::NoCompression,
            )
            .await?;
        Ok(())
    }
}

/// TLS with the platform's trust store (aws-lc-rs provider, named explicitly because the
/// build enables more than one rustls provider).
fn tls_config() -> Result<Arc<rustls::ClientConfig>, KafkaError> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_platform_verifier())
        .map_err(|e| KafkaError::Tls(e.to_string()))?
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Sends to Kafka topics.
pub struct KafkaSender {
    settings: Arc<SenderSettings>,
    clients: ClientCache<Client>,
}

impl KafkaSender {
    /// A sender with an empty client cache.
    pub fn new(settings: Arc<SenderSettings>) -> Self {
        Self {
            settings,
            clients: ClientCache::default(),
        }
    }
}

#[async_trait::async_trait]
impl Sender for KafkaSender {
    async fn send(&self, dest: &Destination, event: &Event, now: Timestamp) -> SendResult {
        let t = match super::target(dest) {
            Ok(t) => t,
            Err(e) => return SendResult::failed("ERR", e),
        };
        let client = match self
            .clients
            .get_or_try_init(dest, || Client::connect(&t))
            .await
        {
            Ok(c) => c,
            Err(e) => return SendResult::failed(error_code(&e), e.to_string()),
        };
        match client.produce(&self.settings, dest, event, now).await {
            Ok(()) => SendResult::ok(json!({})),
            Err(e) => {
                if e.is_connection() {
                    self.clients.evict(dest);
                } else {
                    client.reset_partitions().await;
                }
                SendResult::failed(error_code(&e), e.to_string())
            }
        }
    }
}
