//! The GCP Pub/Sub operator event sink (`OPERATOR_EVENTS_GCP_PUBSUB_*`).

use crate::{error_chain, failed};
use gcloud_gax::conn::{ConnectionOptions, Environment};
use gcloud_googleapis::pubsub::v1::PubsubMessage;
use gcloud_pubsub::client::google_cloud_auth::credentials::CredentialsFile;
use gcloud_pubsub::client::{Client, ClientConfig};
use gcloud_pubsub::publisher::{Publisher, PublisherConfig};
use outpost_opevents::{OperatorEvent, Sink, SinkError};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::OnceCell;

const NAME: &str = "gcp_pubsub";

/// Sends operator events to a Pub/Sub topic: the envelope is the message data and the topic goes
/// in the message attribute `topic`. Each send is one gRPC `Publish` call whose result (the server
/// message id) is awaited.
///
/// With an emulator endpoint the connection is plain-text gRPC without authentication. Otherwise
/// it goes to `pubsub.googleapis.com` with the service account JSON credentials, or Application
/// Default Credentials when none are given; as with Google's Go client, `PUBSUB_EMULATOR_HOST`
/// then still selects an emulator.
pub struct PubSubSink {
    project_id: String,
    topic_id: String,
    topic_name: String,
    credentials_json: Option<String>,
    endpoint: Option<String>,
    publisher: OnceCell<Publisher>,
}

impl std::fmt::Debug for PubSubSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PubSubSink")
            .field("topic_name", &self.topic_name)
            .field("credentials", &self.credentials_json.is_some())
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl PubSubSink {
    /// A sink for topic `topic_id` of project `project_id` (`OPERATOR_EVENTS_GCP_PUBSUB_PROJECT_ID`,
    /// `_TOPIC_ID`).
    ///
    /// `credentials_json` is the service account key JSON (`OPERATOR_EVENTS_GCP_PUBSUB_CREDENTIALS`);
    /// it is checked for shape here. `endpoint` is an emulator's `host:port` (an `http://` prefix is
    /// accepted). Nothing is contacted here: the connection is made on the first send.
    pub fn new(
        project_id: String,
        topic_id: String,
        credentials_json: Option<String>,
        endpoint: Option<String>,
    ) -> Result<Self, String> {
        let project_id = project_id.trim();
        let topic_id = topic_id.trim();
        if project_id.is_empty() {
            return Err("OPERATOR_EVENTS_GCP_PUBSUB_PROJECT_ID is empty".into());
        }
        if topic_id.is_empty() {
            return Err("OPERATOR_EVENTS_GCP_PUBSUB_TOPIC_ID is empty".into());
        }
        if project_id.contains('/') || topic_id.contains('/') {
            return Err(
                "OPERATOR_EVENTS_GCP_PUBSUB_PROJECT_ID and _TOPIC_ID are ids, not resource names"
                    .into(),
            );
        }
        let endpoint = endpoint
            .map(|e| {
                let e = e.trim();
                e.strip_prefix("http://")
                    .unwrap_or(e)
                    .trim_end_matches('/')
                    .to_string()
            })
            .filter(|e| !e.is_empty());
        if let Some(e) = &endpoint
            && (e.contains("://") || e.contains('/'))
        {
            return Err(format!(
                "OPERATOR_EVENTS_GCP_PUBSUB_ENDPOINT: expected host:port, got {e:?}"
            ));
        }
        let credentials_json = credentials_json.filter(|c| !c.trim().is_empty());
        if let Some(c) = &credentials_json {
            serde_json::from_str::<CredentialsFile>(c).map_err(|e| {
                format!("OPERATOR_EVENTS_GCP_PUBSUB_CREDENTIALS: not a credentials JSON: {e}")
            })?;
        }
        Ok(Self {
            project_id: project_id.to_string(),
            topic_id: topic_id.to_string(),
            topic_name: format!("projects/{project_id}/topics/{topic_id}"),
            credentials_json,
            endpoint,
            publisher: OnceCell::new(),
        })
    }

    /// The fully qualified topic name, `projects/<project>/topics/<topic>`.
    pub fn topic_name(&self) -> &str {
        &self.topic_name
    }

    async fn publisher(&self) -> Result<&Publisher, SinkError> {
        self.publisher.get_or_try_init(|| self.connect()).await
    }

    async fn connect(&self) -> Result<Publisher, SinkError> {
        let connection_option = ConnectionOptions {
            connect_timeout: Some(Duration::from_secs(5)),
            ..Default::default()
        };
        let config = match &self.endpoint {
            Some(host) => ClientConfig {
                pool_size: 1,
                project_id: Some(self.project_id.clone()),
                environment: Environment::Emulator(host.clone()),
                connection_option,
                ..Default::default()
            },
            None => {
                ensure_crypto_provider();
                let config = ClientConfig {
                    pool_size: 1,
                    project_id: Some(self.project_id.clone()),
                    connection_option,
                    ..Default::default()
                };
                match &self.credentials_json {
                    Some(json) => {
                        let file = CredentialsFile::new_from_str(json).await.map_err(|e| {
                            failed(NAME, format!("credentials: {}", error_chain(&e)))
                        })?;
                        config.with_credentials(file).await
                    }
                    None => config.with_auth().await,
                }
                .map_err(|e| failed(NAME, format!("authentication: {}", error_chain(&e))))?
            }
        };
        let client = Client::new(config)
            .await
            .map_err(|e| failed(NAME, format!("connect: {}", error_chain(&e))))?;
        let publisher_config = PublisherConfig {
            workers: 1,
            ..Default::default()
        };
        Ok(client
            .topic(&self.topic_id)
            .new_publisher(Some(publisher_config)))
    }
}

/// Installs aws-lc-rs as the process's rustls provider unless one is installed already: the
/// Google connection uses rustls through tonic, which cannot pick a provider when the build
/// enables more than one.
fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race to another installer is fine: a provider is then in place.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    }
}

#[async_trait::async_trait]
impl Sink for PubSubSink {
    async fn send(&self, event: &OperatorEvent, body: &[u8]) -> Result<(), SinkError> {
        let publisher = self.publisher().await?;
        let message = PubsubMessage {
            data: body.to_vec(),
            attributes: HashMap::from([("topic".to_string(), event.topic.clone())]),
            ..Default::default()
        };
        let ids = publisher
            .publish_immediately(vec![message], None)
            .await
            .map_err(|e| failed(NAME, error_chain(&e)))?;
        let id = ids
            .into_iter()
            .next()
            .ok_or_else(|| failed(NAME, "publish returned no message id"))?;
        tracing::debug!(message_id = %id, topic = %event.topic, "Operator event published to Pub/Sub.");
        Ok(())
    }

    fn name(&self) -> &'static str {
        NAME
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_validates() {
        let s = PubSubSink::new(
            "p".into(),
            "t".into(),
            None,
            Some("http://127.0.0.1:8085/".into()),
        )
        .expect("ok");
        assert_eq!(s.topic_name(), "projects/p/topics/t");
        assert_eq!(s.endpoint.as_deref(), Some("127.0.0.1:8085"));
        assert!(PubSubSink::new(" ".into(), "t".into(), None, None).is_err());
        assert!(PubSubSink::new("p".into(), "".into(), None, None).is_err());
        assert!(PubSubSink::new("p".into(), "projects/p/topics/t".into(), None, None).is_err());
        assert!(PubSubSink::new("p".into(), "t".into(), Some("{not json".into()), None).is_err());
        let sa = r#"{"type":"service_account","client_email":"a@b.iam.gserviceaccount.com","private_key":"k"}"#;
        let s = PubSubSink::new("p".into(), "t".into(), Some(sa.into()), None).expect("ok");
        assert!(!format!("{s:?}").contains("private_key"));
    }
}

#[cfg(test)]
mod offline_tests {
    use super::*;

    #[tokio::test]
    async fn emulator_down_is_a_failure() {
        let sink = PubSubSink::new("p".into(), "t".into(), None, Some("127.0.0.1:1".into()))
            .expect("sink");
        let ev = crate::tests::event();
        let err = tokio::time::timeout(Duration::from_secs(20), sink.send(&ev, b"{}"))
            .await
            .expect("no hang")
            .expect_err("must fail");
        assert!(
            matches!(&err, SinkError::Failed { sink: "gcp_pubsub", message } if message.contains("connect")),
            "{err}"
        );
    }
}
