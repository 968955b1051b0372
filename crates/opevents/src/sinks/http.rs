//! The HTTP sink (`OPERATOR_EVENTS_HTTP_URL`): POSTs the JSON envelope to one URL.
//!
//! The request carries `Content-Type: application/json` and, when
//! `OPERATOR_EVENTS_HTTP_SIGNING_SECRET` is set, `X-Outpost-Signature: v0=<hex>` where `<hex>` is
//! the lower-case hex HMAC-SHA256 of the exact body bytes keyed with the secret. The client times
//! out after [`HTTP_TIMEOUT`] (the [`Emitter`](crate::Emitter) additionally bounds each send by
//! [`SEND_TIMEOUT`](crate::SEND_TIMEOUT)). A status of 400 or more, or any transport error, is a
//! [`SinkError::Failed`] carrying the status and an excerpt of the response body.

use crate::{OperatorEvent, Sink, SinkError};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

/// Timeout of the HTTP client (connect + request + response).
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Name of the signature header.
pub const SIGNATURE_HEADER: &str = "X-Outpost-Signature";

/// Most characters of a failed response body kept in the error.
const BODY_EXCERPT_CHARS: usize = 256;

const NAME: &str = "http";

/// POSTs operator events to a URL, optionally signed.
#[derive(Clone)]
pub struct HttpSink {
    client: reqwest::Client,
    url: String,
    signing_secret: Option<String>,
}

impl std::fmt::Debug for HttpSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSink")
            .field("url", &self.url)
            .field("signed", &self.signing_secret.is_some())
            .finish()
    }
}

/// `v0=<hex HMAC-SHA256(secret, body)>`, the value of [`SIGNATURE_HEADER`].
pub fn signature(secret: &str, body: &[u8]) -> String {
    // HMAC accepts keys of any length; the error case cannot happen.
    let hex = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    };
    format!("v0={hex}")
}

fn failed(message: String) -> SinkError {
    SinkError::Failed {
        sink: NAME,
        message,
    }
}

fn excerpt(body: &str) -> String {
    let trimmed = body.trim();
    if trimmed.chars().count() <= BODY_EXCERPT_CHARS {
        return trimmed.to_string();
    }
    let mut s: String = trimmed.chars().take(BODY_EXCERPT_CHARS).collect();
    s.push('…');
    s
}

impl HttpSink {
    /// A sink posting to `url`, signing with `signing_secret` when it is set (an empty secret
    /// counts as unset).
    pub fn new(url: impl Into<String>, signing_secret: Option<String>) -> Result<Self, SinkError> {
        let client = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .build()
            .map_err(|e| failed(format!("cannot build HTTP client: {e}")))?;
        Ok(Self {
            client,
            url: url.into(),
            signing_secret: signing_secret.filter(|s| !s.is_empty()),
        })
    }

    /// The target URL.
    pub fn url(&self) -> &str {
        &self.url
    }
}

#[async_trait::async_trait]
impl Sink for HttpSink {
    async fn send(&self, _event: &OperatorEvent, body: &[u8]) -> Result<(), SinkError> {
        let mut request = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_vec());
        if let Some(secret) = &self.signing_secret {
            request = request.header(SIGNATURE_HEADER, signature(secret, body));
        }
        let response = request
            .send()
            .await
            .map_err(|e| failed(format!("POST {}: {e}", self.url)))?;
        let status = response.status();
        if status.as_u16() >= 400 {
            let text = response.text().await.unwrap_or_default();
            return Err(failed(format!(
                "POST {} answered {status}: {}",
                self.url,
                excerpt(&text)
            )));
        }
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
    fn excerpt_truncates_on_char_boundaries() {
        let long = "é".repeat(BODY_EXCERPT_CHARS + 10);
        let e = excerpt(&long);
        assert_eq!(e.chars().count(), BODY_EXCERPT_CHARS + 1);
        assert!(e.ends_with('…'));
        assert_eq!(excerpt("  short \n"), "short");
    }

    #[test]
    fn signature_matches_known_vector() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "v0=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
