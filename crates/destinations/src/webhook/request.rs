//! The webhook request builder: everything about a webhook delivery that is decided without
//! the network — URL, body, headers and signatures — for both webhook modes (spec §5.1 and
//! §5.2; upstream `destwebhook` and `destwebhookstandard` `Format`).
//!
//! [`build`] is pure: the attempt time is passed in, and the same instant is used for the
//! timestamp headers, the metadata and the signatures.
//!
//! # Headers
//!
//! Headers are produced in upstream's order of assignment, each assignment replacing an
//! earlier header of the same name (compared case-insensitively); the replaced entry is
//! removed and the new one is appended, so every name appears once, at the position of its
//! last assignment:
//!
//! * default mode: `Content-Type`, custom headers, one header per merged metadata key (system
//!   keys under their pinned names or omitted, others as `<prefix><key>`), the signature;
//! * Standard Webhooks: `Content-Type`, custom headers, `<prefix>id`, `<prefix>timestamp`,
//!   `<prefix>signature`, merged metadata except `event-id`/`timestamp` as `<prefix><key>`,
//!   then every event metadata key again without prefix.
//!
//! Custom headers and metadata keys are taken in key order (upstream ranges over Go maps, so
//! its order between them is random; on HTTP/1.1 Go writes headers sorted by name anyway).
//! Names are given in Go's canonical form ([`canonical_header_key`], e.g.
//! `X-Outpost-Event-Id`), which is how Go's HTTP/1.1 client writes them. Values are kept
//! verbatim; checking that names and values are valid on the wire, and adding `User-Agent`,
//! `Host`, `Content-Length` and the like, is the transport's job.
//!
//! # Signatures
//!
//! The current secret signs first, then the previous secret while the attempt time is not
//! after `previous_secret_invalid_at` (upstream skips it only when `now.After(invalidAt)`).
//! In default mode the HMAC key is the secret string as-is, including any `whsec_` prefix; a
//! destination without any credentials is still signed, with an **empty key**, exactly like
//! upstream. In Standard Webhooks mode the key is the base64-decoded part after `whsec_`, and
//! a destination without a valid secret cannot be delivered to.

use super::parse_custom_headers;
use crate::DestError;
use crate::delivery_metadata::{EVENT_ID, TIMESTAMP, TOPIC, merged_metadata};
use base64::Engine;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD as B64};
use hmac::{Hmac, Mac};
use outpost_core::destination::Destination;
use outpost_core::event::Event;
use outpost_core::template::{Template, TemplateError, TimeValue, Value};
use outpost_core::time::{Timestamp, parse_rfc3339};

/// Default-mode header prefix.
pub const DEFAULT_HEADER_PREFIX: &str = "x-outpost-";
/// Standard Webhooks header prefix.
pub const STANDARD_HEADER_PREFIX: &str = "webhook-";
/// Default signed-content template.
pub const DEFAULT_CONTENT_TEMPLATE: &str = "{{.Body}}";
/// Default signature header template.
pub const DEFAULT_HEADER_TEMPLATE: &str = r#"v0={{.Signatures | join ","}}"#;
/// The signed content of Standard Webhooks, as an Outpost template (informational: Standard
/// mode signs this content directly).
pub const STANDARD_CONTENT_TEMPLATE: &str = "{{.EventID}}.{{.Timestamp.Unix}}.{{.Body}}";
/// The Standard Webhooks signature header, as an Outpost template (informational).
pub const STANDARD_HEADER_TEMPLATE: &str =
    "v1,{{index .Signatures 0}}{{range slice .Signatures 1}} v1,{{.}}{{end}}";
/// The prefix of Standard Webhooks secrets.
pub const STANDARD_SECRET_PREFIX: &str = "whsec_";

/// `DESTINATIONS_WEBHOOK_SIGNATURE_ALGORITHM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignatureAlgorithm {
    /// `hmac-sha256` (default).
    #[default]
    HmacSha256,
    /// `hmac-sha1`.
    HmacSha1,
}

impl SignatureAlgorithm {
    /// Maps the setting's value; anything unknown is HMAC-SHA256, as upstream.
    pub fn from_name(name: &str) -> Self {
        match name {
            "hmac-sha1" => Self::HmacSha1,
            _ => Self::HmacSha256,
        }
    }
}

/// `DESTINATIONS_WEBHOOK_SIGNATURE_ENCODING`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignatureEncoding {
    /// Lower-case hex (default).
    #[default]
    Hex,
    /// Standard base64 with padding.
    Base64,
}

impl SignatureEncoding {
    /// Maps the setting's value; anything unknown is hex, as upstream.
    pub fn from_name(name: &str) -> Self {
        match name {
            "base64" => Self::Base64,
            _ => Self::Hex,
        }
    }

    fn encode(self, bytes: &[u8]) -> String {
        match self {
            Self::Hex => hex::encode(bytes),
            Self::Base64 => B64.encode(bytes),
        }
    }
}

/// The deployment's webhook settings, resolved (the caller maps them from its configuration).
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Standard Webhooks mode. When set, only `header_prefix` and
    /// `include_millisecond_timestamp` are used; names, templates, algorithm and encoding are
    /// fixed by the Standard Webhooks spec.
    pub standard: bool,
    /// Prefix of metadata headers (surrounding whitespace is ignored; may be empty).
    pub header_prefix: String,
    /// Full name of the event id header; `None` omits it (default mode).
    pub event_id_header: Option<String>,
    /// Full name of the signature header; `None` omits it (default mode).
    pub signature_header: Option<String>,
    /// Full name of the timestamp header; `None` omits it (default mode).
    pub timestamp_header: Option<String>,
    /// Full name of the topic header; `None` omits it (default mode).
    pub topic_header: Option<String>,
    /// Signed content: fields `.EventID`, `.Topic`, `.Timestamp` (a time), `.Body`.
    pub content_template: Template,
    /// Signature header value: fields `.EventID`, `.Topic`, `.Timestamp`, `.Signatures`.
    pub header_template: Template,
    /// HMAC hash (default mode).
    pub algorithm: SignatureAlgorithm,
    /// Signature encoding (default mode).
    pub encoding: SignatureEncoding,
    /// `DESTINATIONS_INCLUDE_MILLISECOND_TIMESTAMP`: adds the `timestamp-ms` metadata key.
    pub include_millisecond_timestamp: bool,
}

fn builtin_template(src: &str) -> Template {
    Template::parse(src).expect("invariant: built-in webhook templates parse")
}

impl WebhookSettings {
    /// Upstream's defaults for the default (Outpost) mode: `x-outpost-` headers, HMAC-SHA256
    /// in hex over the body, `v0=<sig>[,<sig>]`.
    pub fn outpost_defaults() -> Self {
        let p = DEFAULT_HEADER_PREFIX;
        Self {
            standard: false,
            header_prefix: p.to_string(),
            event_id_header: Some(format!("{p}event-id")),
            signature_header: Some(format!("{p}signature")),
            timestamp_header: Some(format!("{p}timestamp")),
            topic_header: Some(format!("{p}topic")),
            content_template: builtin_template(DEFAULT_CONTENT_TEMPLATE),
            header_template: builtin_template(DEFAULT_HEADER_TEMPLATE),
            algorithm: SignatureAlgorithm::HmacSha256,
            encoding: SignatureEncoding::Hex,
            include_millisecond_timestamp: false,
        }
    }

    /// Upstream's defaults for Standard Webhooks mode (`webhook-` prefix).
    pub fn standard_defaults() -> Self {
        let p = STANDARD_HEADER_PREFIX;
        Self {
            standard: true,
            header_prefix: p.to_string(),
            event_id_header: Some(format!("{p}event-id")),
            signature_header: Some(format!("{p}signature")),
            timestamp_header: Some(format!("{p}timestamp")),
            topic_header: Some(format!("{p}topic")),
            content_template: builtin_template(STANDARD_CONTENT_TEMPLATE),
            header_template: builtin_template(STANDARD_HEADER_TEMPLATE),
            algorithm: SignatureAlgorithm::HmacSha256,
            encoding: SignatureEncoding::Base64,
            include_millisecond_timestamp: false,
        }
    }
}

/// A webhook request ready to send: `POST url` with these headers and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRequest {
    /// Target URL (`config.url`).
    pub url: String,
    /// Headers in order, each name once, in Go's canonical form.
    pub headers: Vec<(String, String)>,
    /// The raw event data.
    pub body: Vec<u8>,
}

impl WebhookRequest {
    /// The value of a header, looked up case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why a webhook request could not be built. Upstream reports all of these when it creates
/// the publisher or formats the request, before anything is sent.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// `config.url` is missing or empty.
    #[error("config.url is required")]
    MissingUrl,
    /// `config.url` does not match `^https?://[^\s]+$`.
    #[error("config.url failed pattern validation")]
    InvalidUrl,
    /// `config.custom_headers` is not a valid JSON object of allowed headers.
    #[error("invalid custom headers: {}", .0.join("; "))]
    InvalidCustomHeaders(Vec<String>),
    /// The credentials are inconsistent (e.g. a previous secret without its expiry).
    #[error("{0}")]
    InvalidCredentials(String),
    /// A Standard Webhooks secret is missing or not `whsec_<base64>`.
    #[error("failed to parse {field}: {reason}")]
    InvalidSecret {
        /// `secret` or `previous_secret`.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Rendering a signature template failed.
    #[error("signature {which} template execution failed: {source}")]
    Template {
        /// `content` or `header`.
        which: &'static str,
        /// The render error.
        #[source]
        source: TemplateError,
    },
}

/// Builds the request delivering `event` to the webhook `dest` at `now`.
pub fn build(
    settings: &WebhookSettings,
    dest: &Destination,
    event: &Event,
    now: Timestamp,
) -> Result<WebhookRequest, BuildError> {
    let url = target_url(dest)?;
    let custom = match dest.config.get("custom_headers") {
        Some(raw) if !raw.trim().is_empty() => parse_custom_headers(raw).map_err(|e| match e {
            DestError::Validation(v) => BuildError::InvalidCustomHeaders(v),
            DestError::Message(m) => BuildError::InvalidCustomHeaders(vec![m]),
        })?,
        _ => Default::default(),
    };
    let creds = credentials(dest, settings.standard)?;
    let body = event.data.get();
    let prefix = settings.header_prefix.trim();
    let metadata = merged_metadata(dest, event, now, settings.include_millisecond_timestamp);

    let mut headers = Headers::default();
    headers.set("Content-Type", "application/json");
    for (name, value) in &custom {
        headers.set(name, value);
    }

    if settings.standard {
        let secrets = standard_keys(&creds, now)?;
        let ts = now.timestamp();
        let content = format!("{}.{ts}.{body}", event.id);
        let signature = secrets
            .iter()
            .map(|key| format!("v1,{}", B64.encode(hmac_sha256(key, content.as_bytes()))))
            .collect::<Vec<_>>()
            .join(" ");
        headers.set(&format!("{prefix}id"), &event.id);
        headers.set(&format!("{prefix}timestamp"), &ts.to_string());
        headers.set(&format!("{prefix}signature"), &signature);
        for (key, value) in &metadata {
            if key != EVENT_ID && key != TIMESTAMP {
                headers.set(&format!("{prefix}{key}"), value);
            }
        }
        for (key, value) in &event.metadata {
            headers.set(key, value);
        }
    } else {
        for (key, value) in &metadata {
            let name = match key.as_str() {
                EVENT_ID => settings.event_id_header.clone(),
                TIMESTAMP => settings.timestamp_header.clone(),
                TOPIC => settings.topic_header.clone(),
                _ => Some(format!("{prefix}{key}")),
            };
            if let Some(name) = name {
                headers.set(&name, value);
            }
        }
        if let Some(name) = &settings.signature_header {
            let value = default_signature_header(settings, &creds, event, body, now)?;
            if !value.is_empty() {
                headers.set(name, &value);
            }
        }
    }

    Ok(WebhookRequest {
        url: url.to_string(),
        headers: headers.0,
        body: body.as_bytes().to_vec(),
    })
}

fn target_url(dest: &Destination) -> Result<&str, BuildError> {
    let url = dest
        .config
        .get("url")
        .map(String::as_str)
        .filter(|u| !u.is_empty())
        .ok_or(BuildError::MissingUrl)?;
    // Go's RE2 `\s` is `[\t\n\f\r ]`.
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or(BuildError::InvalidUrl)?;
    if rest.is_empty() || rest.contains(['\t', '\n', '\x0c', '\r', ' ']) {
        return Err(BuildError::InvalidUrl);
    }
    Ok(url)
}

/// The credentials as upstream's `resolveConfig` accepts them.
struct Credentials<'a> {
    secret: &'a str,
    previous: Option<(&'a str, Timestamp)>,
}

fn credentials(dest: &Destination, standard: bool) -> Result<Credentials<'_>, BuildError> {
    let get = |k: &str| {
        dest.credentials
            .get(k)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    };
    let (secret, previous, invalid_at) = (
        get("secret"),
        get("previous_secret"),
        get("previous_secret_invalid_at"),
    );
    if secret.is_none() && previous.is_none() && invalid_at.is_none() {
        return Ok(Credentials {
            secret: "",
            previous: None,
        });
    }
    let secret = secret.ok_or_else(|| {
        BuildError::InvalidCredentials("credentials.secret is required".to_string())
    })?;
    if standard {
        decode_standard_secret(secret, "secret")?;
    }
    let invalid_at = invalid_at
        .map(|at| {
            parse_rfc3339(at).ok_or_else(|| {
                BuildError::InvalidCredentials(
                    "credentials.previous_secret_invalid_at failed pattern validation".to_string(),
                )
            })
        })
        .transpose()?;
    let previous = match (previous, invalid_at) {
        (None, None) => None,
        (Some(prev), Some(at)) => {
            if standard {
                decode_standard_secret(prev, "previous_secret")?;
            }
            Some((prev, at))
        }
        (Some(prev), None) => {
            if standard {
                decode_standard_secret(prev, "previous_secret")?;
            }
            return Err(BuildError::InvalidCredentials(
                "credentials.previous_secret_invalid_at is required".to_string(),
            ));
        }
        (None, Some(_)) => {
            return Err(BuildError::InvalidCredentials(
                "credentials.previous_secret is required".to_string(),
            ));
        }
    };
    Ok(Credentials { secret, previous })
}

/// The keys that sign at `now`: the current one, then the previous one unless it expired.
fn signing_secrets<'a>(creds: &Credentials<'a>, now: Timestamp) -> Vec<&'a str> {
    let mut keys = vec![creds.secret];
    if let Some((prev, invalid_at)) = creds.previous
        && now <= invalid_at
    {
        keys.push(prev);
    }
    keys
}

/// Go's `base64.StdEncoding`: padding required, non-zero trailing bits tolerated.
const GO_STD_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

fn decode_standard_secret(secret: &str, field: &'static str) -> Result<Vec<u8>, BuildError> {
    let encoded = secret
        .strip_prefix(STANDARD_SECRET_PREFIX)
        .ok_or(BuildError::InvalidSecret {
            field,
            reason: "secret must have whsec_ prefix",
        })?;
    if encoded.is_empty() {
        return Err(BuildError::InvalidSecret {
            field,
            reason: "secret is empty after prefix",
        });
    }
    GO_STD_B64
        .decode(encoded)
        .map_err(|_| BuildError::InvalidSecret {
            field,
            reason: "secret is not valid base64",
        })
}

fn standard_keys(creds: &Credentials<'_>, now: Timestamp) -> Result<Vec<Vec<u8>>, BuildError> {
    let mut fields = ["secret", "previous_secret"].into_iter();
    signing_secrets(creds, now)
        .into_iter()
        .map(|s| decode_standard_secret(s, fields.next().unwrap_or("previous_secret")))
        .collect()
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key)
        .expect("invariant: HMAC accepts keys of any length");
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

fn hmac_sha1(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(key)
        .expect("invariant: HMAC accepts keys of any length");
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

fn default_signature_header(
    settings: &WebhookSettings,
    creds: &Credentials<'_>,
    event: &Event,
    body: &str,
    now: Timestamp,
) -> Result<String, BuildError> {
    // The default templates are written out directly: rendering them through the template
    // engine (a map of fields, a copy of the body) was a tenth of building the request.
    let content: std::borrow::Cow<'_, str> =
        if settings.content_template.source() == DEFAULT_CONTENT_TEMPLATE {
            body.into()
        } else {
            render_signature_template(
                &settings.content_template,
                "content",
                event,
                now,
                ("Body", Value::from(body)),
            )?
            .into()
        };
    let signatures: Vec<String> = signing_secrets(creds, now)
        .into_iter()
        .map(|key| {
            let mac = match settings.algorithm {
                SignatureAlgorithm::HmacSha256 => hmac_sha256(key.as_bytes(), content.as_bytes()),
                SignatureAlgorithm::HmacSha1 => hmac_sha1(key.as_bytes(), content.as_bytes()),
            };
            settings.encoding.encode(&mac)
        })
        .collect();
    if settings.header_template.source() == DEFAULT_HEADER_TEMPLATE {
        return Ok(format!("v0={}", signatures.join(",")));
    }
    render_signature_template(
        &settings.header_template,
        "header",
        event,
        now,
        ("Signatures", Value::from(signatures)),
    )
}

/// Renders one of the default mode's signature templates (`which`: "content" or "header")
/// with the fields both have (`EventID`, `Topic`, `Timestamp`) and the one of its own.
fn render_signature_template(
    template: &Template,
    which: &'static str,
    event: &Event,
    now: Timestamp,
    own: (&'static str, Value),
) -> Result<String, BuildError> {
    let time = TimeValue::from_unix(now.timestamp(), now.timestamp_subsec_nanos());
    template
        .render(&Value::map([
            ("EventID", Value::from(event.id.as_str())),
            ("Topic", Value::from(event.topic.as_str())),
            ("Timestamp", Value::Time(time)),
            own,
        ]))
        .map_err(|source| BuildError::Template { which, source })
}

/// An ordered header list where a later assignment replaces an earlier one of the same name.
#[derive(Default)]
struct Headers(Vec<(String, String)>);

impl Headers {
    fn set(&mut self, name: &str, value: &str) {
        let name = canonical_header_key(name);
        self.0.retain(|(n, _)| *n != name);
        self.0.push((name, value.to_string()));
    }
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Go's `textproto.CanonicalMIMEHeaderKey`: the first letter and every letter after a `-`
/// upper-case, all other letters lower-case (`x-outpost-event-id` → `X-Outpost-Event-Id`).
/// A name with a byte that is not an HTTP token character is returned unchanged.
///
/// Two valid names are the same header exactly when their canonical forms are equal.
pub fn canonical_header_key(name: &str) -> String {
    if !name.bytes().all(is_token_byte) {
        return name.to_string();
    }
    let mut upper = true;
    name.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
