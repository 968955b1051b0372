//! The AWS SQS operator event sink (`OPERATOR_EVENTS_AWS_SQS_*`).

use crate::{error_chain, failed};
use aws_config::BehaviorVersion;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::{Credentials, Region};
use aws_sdk_sqs::types::MessageAttributeValue;
use outpost_opevents::{OperatorEvent, Sink, SinkError};
use tokio::sync::OnceCell;

const NAME: &str = "aws_sqs";

/// Sends operator events to an SQS queue: the envelope is the message body and the topic goes in
/// the `String` message attribute `topic`.
///
/// Credentials are static when both the access key id and the secret are given, else the AWS
/// default chain (environment, profile, web identity, ECS/IMDS). The region is the configured one,
/// else the one in the queue URL host (`sqs.<region>.amazonaws.com`), else the default chain's.
pub struct SqsSink {
    queue_url: String,
    region: Option<String>,
    credentials: Option<(String, String)>,
    endpoint: Option<String>,
    client: OnceCell<Client>,
}

impl std::fmt::Debug for SqsSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqsSink")
            .field("queue_url", &self.queue_url)
            .field("region", &self.region)
            .field("static_credentials", &self.credentials.is_some())
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl SqsSink {
    /// A sink for `queue_url` (`OPERATOR_EVENTS_AWS_SQS_QUEUE_URL`).
    ///
    /// `region` is `OPERATOR_EVENTS_AWS_SQS_REGION`; `access_key_id`/`secret_access_key` are
    /// `OPERATOR_EVENTS_AWS_SQS_ACCESS_KEY_ID`/`_SECRET_ACCESS_KEY`; `endpoint`
    /// (`OPERATOR_EVENTS_AWS_SQS_ENDPOINT`) overrides the service endpoint, e.g. for a local
    /// stand-in. Nothing is contacted here: the client is built on the first send.
    pub fn new(
        queue_url: String,
        region: Option<String>,
        access_key_id: Option<String>,
        secret_access_key: Option<String>,
        endpoint: Option<String>,
    ) -> Result<Self, String> {
        let queue_url = queue_url.trim().to_string();
        if !is_http_url(&queue_url) {
            return Err(format!(
                "OPERATOR_EVENTS_AWS_SQS_QUEUE_URL: not an http(s) URL: {queue_url:?}"
            ));
        }
        let endpoint = non_blank(endpoint);
        if let Some(e) = &endpoint
            && !is_http_url(e)
        {
            return Err(format!(
                "OPERATOR_EVENTS_AWS_SQS_ENDPOINT: not an http(s) URL: {e:?}"
            ));
        }
        let region = non_blank(region).or_else(|| region_from_queue_url(&queue_url));
        let credentials = match (non_blank(access_key_id), non_blank(secret_access_key)) {
            (Some(k), Some(s)) => Some((k, s)),
            (None, None) => None,
            _ => {
                tracing::warn!(
                    "Only one of OPERATOR_EVENTS_AWS_SQS_ACCESS_KEY_ID / _SECRET_ACCESS_KEY is set; \
                     using the AWS default credential chain."
                );
                None
            }
        };
        Ok(Self {
            queue_url,
            region,
            credentials,
            endpoint,
            client: OnceCell::new(),
        })
    }

    /// The queue URL messages are sent to.
    pub fn queue_url(&self) -> &str {
        &self.queue_url
    }

    /// The region given or derived from the queue URL (`None`: the default chain decides).
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                let mut loader = aws_config::defaults(BehaviorVersion::latest());
                if let Some(r) = &self.region {
                    loader = loader.region(Region::new(r.clone()));
                }
                if let Some((k, s)) = &self.credentials {
                    loader = loader.credentials_provider(Credentials::new(
                        k.clone(),
                        s.clone(),
                        None,
                        None,
                        "outpost-operator-events",
                    ));
                }
                if let Some(e) = &self.endpoint {
                    loader = loader.endpoint_url(e.clone());
                }
                Client::new(&loader.load().await)
            })
            .await
    }
}

#[async_trait::async_trait]
impl Sink for SqsSink {
    async fn send(&self, event: &OperatorEvent, body: &[u8]) -> Result<(), SinkError> {
        let body = std::str::from_utf8(body)
            .map_err(|e| failed(NAME, format!("body is not UTF-8: {e}")))?;
        let topic = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(event.topic.clone())
            .build()
            .map_err(|e| failed(NAME, error_chain(&e)))?;
        let out = self
            .client()
            .await
            .send_message()
            .queue_url(&self.queue_url)
            .message_body(body)
            .message_attributes("topic", topic)
            .send()
            .await
            .map_err(|e| failed(NAME, error_chain(&e)))?;
        tracing::debug!(message_id = out.message_id().unwrap_or(""), topic = %event.topic, "Operator event sent to SQS.");
        Ok(())
    }

    fn name(&self) -> &'static str {
        NAME
    }
}

/// The region in an SQS queue URL host: `sqs.<region>.amazonaws.com[.cn]`,
/// `<region>.queue.amazonaws.com` (legacy) or any host with a `sqs.<region>` label pair (VPC
/// endpoints, LocalStack). `None` for hosts without one, such as `127.0.0.1:4566`.
pub fn region_from_queue_url(queue_url: &str) -> Option<String> {
    let rest = queue_url.split_once("://").map_or(queue_url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host.split(':').next().unwrap_or("").to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    let looks_like_region = |l: &str| {
        l.contains('-')
            && l.chars().last().is_some_and(|c| c.is_ascii_digit())
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    for (i, l) in labels.iter().enumerate() {
        if *l == "sqs"
            && let Some(next) = labels.get(i + 1)
            && looks_like_region(next)
        {
            return Some((*next).to_string());
        }
        if *l == "queue" && i > 0 && looks_like_region(labels[i - 1]) {
            return Some(labels[i - 1].to_string());
        }
    }
    None
}

fn is_http_url(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    ["http://", "https://"]
        .iter()
        .any(|p| lower.starts_with(p) && lower.len() > p.len())
}

fn non_blank(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_from_urls() {
        let r = |u: &str| region_from_queue_url(u);
        assert_eq!(
            r("https://sqs.us-east-1.amazonaws.com/123456789012/q").as_deref(),
            Some("us-east-1")
        );
        assert_eq!(
            r("https://sqs.cn-north-1.amazonaws.com.cn/123/q").as_deref(),
            Some("cn-north-1")
        );
        assert_eq!(
            r("https://eu-west-2.queue.amazonaws.com/123/q").as_deref(),
            Some("eu-west-2")
        );
        assert_eq!(
            r("https://vpce-0abc-xyz.sqs.ap-south-1.vpce.amazonaws.com/123/q").as_deref(),
            Some("ap-south-1")
        );
        assert_eq!(
            r("http://sqs.us-west-2.localhost.localstack.cloud:4566/000/q").as_deref(),
            Some("us-west-2")
        );
        assert_eq!(r("http://127.0.0.1:4566/123456789012/q"), None);
        assert_eq!(r("https://queue.amazonaws.com/123/q"), None);
    }

    #[test]
    fn new_validates_and_derives() {
        let s = SqsSink::new(
            " https://sqs.eu-central-1.amazonaws.com/1/q ".into(),
            None,
            Some("AKIA".into()),
            Some("secret".into()),
            None,
        )
        .expect("valid");
        assert_eq!(s.region(), Some("eu-central-1"));
        assert_eq!(s.queue_url(), "https://sqs.eu-central-1.amazonaws.com/1/q");
        let dbg = format!("{s:?}");
        assert!(!dbg.contains("secret") && !dbg.contains("AKIA"), "{dbg}");

        let s = SqsSink::new(
            "http://127.0.0.1:4566/1/q".into(),
            Some("us-east-1".into()),
            None,
            None,
            None,
        )
        .expect("valid");
        assert_eq!(s.region(), Some("us-east-1"));

        assert!(SqsSink::new("q".into(), None, None, None, None).is_err());
        assert!(
            SqsSink::new(
                "https://sqs.us-east-1.amazonaws.com/1/q".into(),
                None,
                None,
                None,
                Some("localhost".into())
            )
            .is_err()
        );
    }

    #[tokio::test]
    async fn endpoint_down_is_a_failure() {
        let sink = SqsSink::new(
            "http://127.0.0.1:1/123456789012/q".into(),
            Some("us-east-1".into()),
            Some("k".into()),
            Some("s".into()),
            Some("http://127.0.0.1:1".into()),
        )
        .expect("sink");
        let ev = crate::tests::event();
        let t0 = std::time::Instant::now();
        let err = tokio::time::timeout(std::time::Duration::from_secs(30), sink.send(&ev, b"{}"))
            .await
            .expect("no hang")
            .expect_err("must fail");
        eprintln!("{err} after {:?}", t0.elapsed());
        assert!(
            matches!(
                &err,
                SinkError::Failed {
                    sink: "aws_sqs",
                    ..
                }
            ),
            "{err}"
        );
    }
}
