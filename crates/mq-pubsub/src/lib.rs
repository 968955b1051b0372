//! The internal queues (deliverymq, logmq) and the publish queue on GCP Pub/Sub, behind the
//! queue port. One queue is a topic (where messages are published) and a subscription on it
//! (where they are pulled).
//!
//! - Provisioning (`MQS_AUTO_PROVISION`): the dead-letter topic and its subscription (so
//!   dead-lettered messages are kept), the topic, and the subscription with its ack deadline,
//!   a dead-letter policy after [`PubSubSettings::max_delivery_attempts`] deliveries (upstream's
//!   6) and a retry backoff of 10–120 s, as upstream. An existing subscription has those
//!   brought up to date. Without provisioning, a missing topic or subscription is a clear
//!   start-up error.
//! - Publishing sends batches of up to 1,000 messages (`Publish`); it returns once Pub/Sub has
//!   stored every message (it answers with their ids).
//! - Receiving pulls only as many messages as there are free slots (`prefetch`), so a message
//!   is never taken before a worker can run it. While a message is held, its ack deadline is
//!   extended before it runs out, so a slow delivery is never handed to another consumer while
//!   still running; if the process dies, the message comes back after the deadline.
//! - Ack acknowledges; nack sets the deadline to 0, a redelivery (after the subscription's
//!   retry backoff), counted by Pub/Sub's `delivery_attempt` (set with a dead-letter policy) or,
//!   where the server gives none, by this process. A message dropped unsettled, or received
//!   for a subscription that has gone away, is handed back the same way.
//!
//! Endpoint: `emulator` (`PUBSUB_EMULATOR_HOST`, plain-text gRPC without authentication, as
//! Google's clients) or `pubsub.googleapis.com` with OAuth tokens from the service account
//! JSON, or from the default credentials when none is given.

mod subscription;

use gcloud_gax::conn::{Channel, ConnectionManager, ConnectionOptions, Environment};
use gcloud_gax::grpc::{Code, Status};
use gcloud_googleapis::pubsub::v1::publisher_client::PublisherClient;
use gcloud_googleapis::pubsub::v1::subscriber_client::SubscriberClient;
use gcloud_googleapis::pubsub::v1::{
    DeadLetterPolicy, GetSubscriptionRequest, GetTopicRequest, PublishRequest, PubsubMessage,
    RetryPolicy, Subscription as SubscriptionResource, Topic, UpdateSubscriptionRequest,
};
use gcloud_pubsub::apiv1::conn_pool::{AUDIENCE, PUBSUB, SCOPES};
use gcloud_pubsub::client::google_cloud_auth::credentials::CredentialsFile;
use gcloud_pubsub::client::google_cloud_auth::project::Config as AuthConfig;
use gcloud_pubsub::client::google_cloud_auth::token::DefaultTokenSourceProvider;
use outpost_core::error::chain_text;
use outpost_core::ports::{Queue, QueueError};
use std::time::Duration;

/// Most messages in one `Publish`.
const BATCH: usize = 1000;
/// Largest total payload of one `Publish` (Pub/Sub's limit is 10 MB).
const BATCH_BYTES: usize = 9 * 1024 * 1024;
/// How long establishing the gRPC connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one call may take (a pull waits at most [`subscription::PULL_WAIT`] of it).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Where and how one queue lives.
#[derive(Clone)]
pub struct PubSubSettings {
    /// GCP project id.
    pub project: String,
    /// Emulator `host:port` (plain text, no authentication).
    pub emulator: Option<String>,
    /// Service account JSON; `None`: the default credentials.
    pub credentials_json: Option<String>,
    /// Topic id.
    pub topic: String,
    /// Subscription id.
    pub subscription: String,
    /// Dead-letter topic id and its subscription id; `None`: no dead-letter policy (a
    /// publish queue, which is never provisioned).
    pub dead_letter: Option<(String, String)>,
    /// Create the topics and subscriptions (and set their policies) at start.
    pub auto_provision: bool,
    /// How long a pulled message stays leased (extended while held); 10–600 s.
    pub ack_deadline: Duration,
    /// Deliveries after which Pub/Sub forwards a message to the dead-letter topic (5–100).
    pub max_delivery_attempts: i32,
}

impl std::fmt::Debug for PubSubSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PubSubSettings")
            .field("project", &self.project)
            .field("emulator", &self.emulator)
            .field("credentials", &self.credentials_json.is_some())
            .field("topic", &self.topic)
            .field("subscription", &self.subscription)
            .field("dead_letter", &self.dead_letter)
            .field("auto_provision", &self.auto_provision)
            .field("ack_deadline", &self.ack_deadline)
            .finish()
    }
}

impl PubSubSettings {
    fn topic_name(&self, id: &str) -> String {
        format!("projects/{}/topics/{id}", self.project)
    }

    fn subscription_name(&self, id: &str) -> String {
        format!("projects/{}/subscriptions/{id}", self.project)
    }

    /// The ack deadline in whole seconds, within Pub/Sub's 10–600.
    fn deadline_secs(&self) -> i32 {
        i32::try_from(self.ack_deadline.as_secs().clamp(10, 600)).unwrap_or(60)
    }
}

/// One Pub/Sub queue: a topic to publish to and a subscription to pull from.
pub struct PubSubQueue {
    conn: ConnectionManager,
    topic: String,
    subscription: String,
    deadline_secs: i32,
    seen: subscription::Seen,
}

impl std::fmt::Debug for PubSubQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PubSubQueue")
            .field("topic", &self.topic)
            .field("subscription", &self.subscription)
            .finish()
    }
}

/// A broker error naming the call, with the status and its causes.
fn broker(what: &str, status: &Status) -> QueueError {
    let mut text = format!("Pub/Sub {what}: {:?}: {}", status.code(), status.message());
    if let Some(cause) = std::error::Error::source(status) {
        text.push_str(": ");
        text.push_str(&chain_text(cause));
    }
    QueueError::Broker(text)
}

/// Opens the gRPC connection `s` names.
async fn connect(s: &PubSubSettings) -> Result<ConnectionManager, QueueError> {
    let options = ConnectionOptions {
        connect_timeout: Some(CONNECT_TIMEOUT),
        timeout: Some(REQUEST_TIMEOUT),
        ..Default::default()
    };
    let environment = match &s.emulator {
        Some(host) => Environment::Emulator(host.clone()),
        None => {
            if rustls::crypto::CryptoProvider::get_default().is_none() {
                // Losing a race to another installer is fine: a provider is then in place.
                let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
            }
            let config = AuthConfig::default()
                .with_audience(AUDIENCE)
                .with_scopes(&SCOPES);
            let err = |what: &str, e: &dyn std::fmt::Display| {
                QueueError::Broker(format!("Pub/Sub credentials: {what}: {e}"))
            };
            let provider = match &s.credentials_json {
                Some(json) => {
                    let file = CredentialsFile::new_from_str(json)
                        .await
                        .map_err(|e| err("not a service account JSON", &e))?;
                    DefaultTokenSourceProvider::new_with_credentials(config, Box::new(file))
                        .await
                        .map_err(|e| err("unusable", &e))?
                }
                None => DefaultTokenSourceProvider::new(config)
                    .await
                    .map_err(|e| err("no default credentials", &e))?,
            };
            Environment::GoogleCloud(Box::new(provider))
        }
    };
    let audience = format!("https://{PUBSUB}/");
    ConnectionManager::new(2, PUBSUB, &audience, &environment, &options)
        .await
        .map_err(|e| {
            QueueError::Broker(format!(
                "cannot connect to Pub/Sub ({}): {}",
                s.emulator.as_deref().unwrap_or(PUBSUB),
                chain_text(&e)
            ))
        })
}

impl PubSubQueue {
    /// Connects to (and, with auto-provisioning, creates) the topic and subscription.
    pub async fn connect(s: PubSubSettings) -> Result<Self, QueueError> {
        let conn = connect(&s).await?;
        let (mut publisher, mut subscriber) = (
            PublisherClient::new(conn.conn()),
            SubscriberClient::new(conn.conn()),
        );
        if s.auto_provision {
            provision(&mut publisher, &mut subscriber, &s).await?;
        } else {
            check_exists(&mut publisher, &mut subscriber, &s).await?;
        }
        tracing::info!(
            topic = %s.topic,
            subscription = %s.subscription,
            "Pub/Sub queue ready."
        );
        Ok(Self {
            topic: s.topic_name(&s.topic),
            subscription: s.subscription_name(&s.subscription),
            deadline_secs: s.deadline_secs(),
            seen: subscription::Seen::default(),
            conn,
        })
    }

    /// The fully qualified topic name.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The fully qualified subscription name.
    pub fn subscription(&self) -> &str {
        &self.subscription
    }

    fn publisher(&self) -> PublisherClient<Channel> {
        PublisherClient::new(self.conn.conn())
    }
}

/// Without provisioning: the topic and subscription must exist.
async fn check_exists(
    publisher: &mut PublisherClient<Channel>,
    subscriber: &mut SubscriberClient<Channel>,
    s: &PubSubSettings,
) -> Result<(), QueueError> {
    let missing = |what: String| {
        QueueError::Missing(format!(
            "Pub/Sub {what} (create it, or set MQS_AUTO_PROVISION=true)"
        ))
    };
    let topic = s.topic_name(&s.topic);
    match publisher
        .get_topic(GetTopicRequest {
            topic: topic.clone(),
        })
        .await
    {
        Ok(_) => {}
        Err(e) if e.code() == Code::NotFound => return Err(missing(format!("topic {topic}"))),
        Err(e) => return Err(broker(&format!("GetTopic {topic}"), &e)),
    }
    let sub = s.subscription_name(&s.subscription);
    match subscriber
        .get_subscription(GetSubscriptionRequest {
            subscription: sub.clone(),
        })
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.code() == Code::NotFound => Err(missing(format!("subscription {sub}"))),
        Err(e) => Err(broker(&format!("GetSubscription {sub}"), &e)),
    }
}

/// Creates what is missing; an existing subscription gets the deadline and policies set.
async fn provision(
    publisher: &mut PublisherClient<Channel>,
    subscriber: &mut SubscriberClient<Channel>,
    s: &PubSubSettings,
) -> Result<(), QueueError> {
    let dead_letter_policy = match &s.dead_letter {
        Some((topic, sub)) => {
            let dlq_topic = s.topic_name(topic);
            create_topic(publisher, &dlq_topic).await?;
            create_subscription(
                subscriber,
                SubscriptionResource {
                    name: s.subscription_name(sub),
                    topic: dlq_topic.clone(),
                    ack_deadline_seconds: 60,
                    ..Default::default()
                },
            )
            .await?;
            Some(DeadLetterPolicy {
                dead_letter_topic: dlq_topic,
                max_delivery_attempts: s.max_delivery_attempts.clamp(5, 100),
            })
        }
        None => None,
    };
    let topic = s.topic_name(&s.topic);
    create_topic(publisher, &topic).await?;
    let wanted = subscription_spec(s, dead_letter_policy);
    if create_subscription(subscriber, wanted.clone()).await? {
        return Ok(());
    }
    let mut paths = vec!["ack_deadline_seconds".to_string(), "retry_policy".into()];
    if wanted.dead_letter_policy.is_some() {
        paths.push("dead_letter_policy".into());
    }
    let name = wanted.name.clone();
    let update = |paths: Vec<String>| UpdateSubscriptionRequest {
        subscription: Some(wanted.clone()),
        update_mask: Some(prost_types::FieldMask { paths }),
    };
    match subscriber.update_subscription(update(paths)).await {
        Ok(_) => Ok(()),
        // An emulator without dead-letter and retry policies (Google's pstest): keep the
        // deadline up to date at least, and say what is missing.
        Err(e) if e.code() == Code::InvalidArgument && e.message().contains("unknown field") => {
            tracing::warn!(
                subscription = %name,
                reason = %e.message(),
                "This Pub/Sub server does not take dead-letter or retry policies; only the ack deadline is updated."
            );
            subscriber
                .update_subscription(update(vec!["ack_deadline_seconds".into()]))
                .await
                .map(|_| ())
                .map_err(|e| broker(&format!("UpdateSubscription {name}"), &e))
        }
        Err(e) => Err(broker(&format!("UpdateSubscription {name}"), &e)),
    }
}

/// The subscription provisioning asks for: the deadline, the dead-letter policy and upstream's
/// retry backoff of 10–120 s.
fn subscription_spec(
    s: &PubSubSettings,
    dead_letter_policy: Option<DeadLetterPolicy>,
) -> SubscriptionResource {
    let secs = |seconds| Some(prost_types::Duration { seconds, nanos: 0 });
    SubscriptionResource {
        name: s.subscription_name(&s.subscription),
        topic: s.topic_name(&s.topic),
        ack_deadline_seconds: s.deadline_secs(),
        dead_letter_policy,
        retry_policy: Some(RetryPolicy {
            minimum_backoff: secs(10),
            maximum_backoff: secs(120),
        }),
        ..Default::default()
    }
}

async fn create_topic(
    publisher: &mut PublisherClient<Channel>,
    name: &str,
) -> Result<(), QueueError> {
    let topic = Topic {
        name: name.to_string(),
        ..Default::default()
    };
    match publisher.create_topic(topic).await {
        Ok(_) => Ok(()),
        // It exists already (an earlier start, or another replica meanwhile).
        Err(e) if e.code() == Code::AlreadyExists => Ok(()),
        Err(e) => Err(broker(&format!("CreateTopic {name}"), &e)),
    }
}

/// Creates a subscription; `false` when it existed already.
async fn create_subscription(
    subscriber: &mut SubscriberClient<Channel>,
    sub: SubscriptionResource,
) -> Result<bool, QueueError> {
    let name = sub.name.clone();
    match subscriber.create_subscription(sub).await {
        Ok(_) => Ok(true),
        Err(e) if e.code() == Code::AlreadyExists => Ok(false),
        Err(e) => Err(broker(&format!("CreateSubscription {name}"), &e)),
    }
}

/// Splits bodies into `Publish` batches by count and size.
fn batches(bodies: Vec<Vec<u8>>) -> Vec<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut cur: Vec<Vec<u8>> = Vec::new();
    let mut size = 0;
    for b in bodies {
        if !cur.is_empty() && (cur.len() == BATCH || size + b.len() > BATCH_BYTES) {
            out.push(std::mem::take(&mut cur));
            size = 0;
        }
        size += b.len();
        cur.push(b);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[async_trait::async_trait]
impl Queue for PubSubQueue {
    async fn publish(&self, bodies: Vec<Vec<u8>>) -> Result<(), QueueError> {
        for chunk in batches(bodies) {
            let n = chunk.len();
            let messages = chunk
                .into_iter()
                .map(|data| PubsubMessage {
                    data,
                    ..Default::default()
                })
                .collect();
            let out = self
                .publisher()
                .publish(PublishRequest {
                    topic: self.topic.clone(),
                    messages,
                })
                .await
                .map_err(|e| broker(&format!("Publish {}", self.topic), &e))?;
            let stored = out.into_inner().message_ids.len();
            if stored != n {
                return Err(QueueError::Broker(format!(
                    "Pub/Sub stored {stored} of {n} messages published to {}",
                    self.topic
                )));
            }
        }
        Ok(())
    }

    async fn subscribe(
        &self,
        prefetch: usize,
    ) -> Result<Box<dyn outpost_core::ports::Subscription>, QueueError> {
        Ok(subscription::start(
            &self.conn,
            self.subscription.clone(),
            self.deadline_secs,
            prefetch,
            self.seen.clone(),
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn batches_split_by_count_and_size() {
        let b = batches((0..2500).map(|_| vec![0u8; 10]).collect());
        assert_eq!(
            b.iter().map(Vec::len).collect::<Vec<_>>(),
            vec![1000, 1000, 500]
        );
        let big = batches(vec![vec![0u8; 5 << 20], vec![0u8; 5 << 20], vec![1u8]]);
        assert_eq!(big.iter().map(Vec::len).collect::<Vec<_>>(), vec![1, 2]);
        assert!(batches(Vec::new()).is_empty());
    }

    #[test]
    fn provisioned_subscription_has_dead_letter_and_retry_policies() {
        let s = PubSubSettings {
            project: "p".into(),
            emulator: None,
            credentials_json: None,
            topic: "t".into(),
            subscription: "s".into(),
            dead_letter: Some(("t-dlq".into(), "t-dlq-sub".into())),
            auto_provision: true,
            ack_deadline: Duration::from_secs(40),
            max_delivery_attempts: 6,
        };
        let dlp = DeadLetterPolicy {
            dead_letter_topic: s.topic_name("t-dlq"),
            max_delivery_attempts: 6,
        };
        let spec = subscription_spec(&s, Some(dlp.clone()));
        assert_eq!(spec.name, "projects/p/subscriptions/s");
        assert_eq!(spec.topic, "projects/p/topics/t");
        assert_eq!(spec.ack_deadline_seconds, 40);
        assert_eq!(spec.dead_letter_policy, Some(dlp));
        let retry = spec.retry_policy.unwrap();
        assert_eq!(retry.minimum_backoff.unwrap().seconds, 10);
        assert_eq!(retry.maximum_backoff.unwrap().seconds, 120);
    }

    #[test]
    fn deadline_is_kept_within_pubsub_limits() {
        let mut s = PubSubSettings {
            project: "p".into(),
            emulator: None,
            credentials_json: None,
            topic: "t".into(),
            subscription: "s".into(),
            dead_letter: None,
            auto_provision: false,
            ack_deadline: Duration::from_secs(3),
            max_delivery_attempts: 6,
        };
        assert_eq!(s.deadline_secs(), 10);
        s.ack_deadline = Duration::from_secs(40);
        assert_eq!(s.deadline_secs(), 40);
        s.ack_deadline = Duration::from_secs(4000);
        assert_eq!(s.deadline_secs(), 600);
        assert_eq!(s.topic_name("x"), "projects/p/topics/x");
        assert_eq!(s.subscription_name("y"), "projects/p/subscriptions/y");
    }
}
