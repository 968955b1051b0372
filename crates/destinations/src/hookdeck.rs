//! Hookdeck destinations: token format (`base64(<source_id>:<secret>)`), verification of the
//! token with Hookdeck's API on create or token change, and the source name it returns.

use crate::DestError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use outpost_core::destination::Destination;

/// Hookdeck's API.
pub const DEFAULT_API_URL: &str = "https://api.hookdeck.com";
/// Where events are posted.
pub const EVENTS_URL: &str = "https://hkdk.events";
const VERIFY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Extracts the source id from a token, if it is well-formed.
pub fn source_id(token: &str) -> Option<String> {
    let raw = B64.decode(token.trim()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (id, rest) = text.split_once(':')?;
    (!id.is_empty() && !rest.is_empty()).then(|| id.to_string())
}

/// Token format check.
pub fn validate(dest: &Destination) -> Vec<String> {
    match dest.credentials.get("token").filter(|t| !t.is_empty()) {
        Some(t) if source_id(t).is_none() => {
            vec!["credentials.token failed invalid_token_format validation".into()]
        }
        _ => Vec::new(),
    }
}

/// Calls Hookdeck to verify tokens.
pub struct Verifier {
    api_url: String,
    http: reqwest::Client,
}

impl Verifier {
    /// A verifier against `api_url`.
    pub fn new(api_url: &str) -> Self {
        Self {
            api_url: api_url.trim_end_matches('/').to_string(),
            http: reqwest::Client::builder()
                .timeout(VERIFY_TIMEOUT)
                .build()
                .unwrap_or_default(),
        }
    }

    /// Verifies a new or changed token and records `source_id` / `source_name` in config.
    pub async fn preprocess(
        &self,
        dest: &mut Destination,
        original: Option<&Destination>,
    ) -> Result<(), DestError> {
        let token = dest
            .credentials
            .get("token")
            .filter(|t| !t.is_empty())
            .cloned()
            .ok_or_else(|| {
                DestError::field("credentials.token failed token_required validation")
            })?;
        let unchanged = original.is_some_and(|o| o.credentials.get("token") == Some(&token));
        if unchanged {
            if let Some(o) = original {
                for k in ["source_id", "source_name"] {
                    if let Some(v) = o.config.get(k) {
                        dest.config.insert(k.into(), v.clone());
                    }
                }
            }
            return Ok(());
        }
        let id = source_id(&token).ok_or_else(|| {
            DestError::field("credentials.token failed invalid_token_format validation")
        })?;
        let url = format!("{}/2025-01-01/sources/{id}/managed/verify", self.api_url);
        let failed =
            || DestError::field("credentials.token failed token_verification_failed validation");
        let resp = self
            .http
            .get(url)
            .header("X-Hookdeck-Source-Token", &token)
            .send()
            .await
            .map_err(|_| failed())?;
        if resp.status() != reqwest::StatusCode::OK {
            return Err(failed());
        }
        let body: serde_json::Value = resp.json().await.map_err(|_| failed())?;
        let name = body
            .get("name")
            .and_then(|n| n.as_str())
            .unwrap_or(&id)
            .to_string();
        dest.config.insert("source_id".into(), id);
        dest.config.insert("source_name".into(), name);
        Ok(())
    }
}
