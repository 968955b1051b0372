//! Webhook destination settings: mode, header names (three-state: default, pinned, omitted),
//! signature templates and encodings, response body cap.

use crate::{ConfigError, RawSettings, opt, parse_bool, parse_num};

/// Which webhook protocol is spoken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookMode {
    /// Outpost's own headers and signature.
    Default,
    /// Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`).
    Standard,
}

/// Resolved webhook settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    /// Protocol.
    pub mode: WebhookMode,
    /// Forward proxy URL.
    pub proxy_url: Option<String>,
    /// Header prefix (may be empty).
    pub header_prefix: String,
    /// Event id header name; `None` = omitted.
    pub event_id_header: Option<String>,
    /// Signature header name; `None` = omitted.
    pub signature_header: Option<String>,
    /// Timestamp header name; `None` = omitted.
    pub timestamp_header: Option<String>,
    /// Topic header name; `None` = omitted.
    pub topic_header: Option<String>,
    /// Signed content template.
    pub signature_content_template: String,
    /// Signature header value template.
    pub signature_header_template: String,
    /// `hex` or `base64`.
    pub signature_encoding: String,
    /// `hmac-sha256` or `hmac-sha1`.
    pub signature_algorithm: String,
    /// Template of generated secrets.
    pub signing_secret_template: String,
    /// Largest stored response body (0 = unlimited).
    pub max_response_body_bytes: usize,
    /// Whether the SSRF guard is on.
    pub ssrf_protection: bool,
    /// Ranges exempt from the SSRF guard (CIDR strings, validated).
    pub allowed_cidrs: Vec<String>,
}

const RESERVED: [&str; 5] = [
    "content-type",
    "content-length",
    "host",
    "connection",
    "user-agent",
];

fn valid_header_name(n: &str) -> bool {
    !n.is_empty()
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

impl WebhookConfig {
    pub(crate) fn from_raw(raw: &RawSettings) -> Result<Self, ConfigError> {
        let mode = match raw
            .get("DESTINATIONS_WEBHOOK_MODE")
            .unwrap_or("default")
            .trim()
        {
            "" | "default" => WebhookMode::Default,
            "standard" => WebhookMode::Standard,
            other => {
                return Err(ConfigError::new(
                    "DESTINATIONS_WEBHOOK_MODE",
                    format!("unknown mode {other:?}: expected default or standard"),
                ));
            }
        };
        let header_prefix = match raw.get("DESTINATIONS_WEBHOOK_HEADER_PREFIX") {
            Some(p) if p.trim().is_empty() && raw.is_set("DESTINATIONS_WEBHOOK_HEADER_PREFIX") => {
                String::new()
            }
            Some(p) if !p.trim().is_empty() => p.trim().to_string(),
            _ => match mode {
                WebhookMode::Default => "x-outpost-".to_string(),
                WebhookMode::Standard => "webhook-".to_string(),
            },
        };
        let resolve = |name_var: &str,
                       disable_var: &str,
                       suffix: &str|
         -> Result<Option<String>, ConfigError> {
            if raw.is_set(name_var) {
                let v = raw.get(name_var).unwrap_or("").trim().to_string();
                if v.is_empty() {
                    return Ok(None);
                }
                if !valid_header_name(&v) {
                    return Err(ConfigError::new(
                        name_var,
                        format!("{v:?} is not a valid header name"),
                    ));
                }
                if RESERVED.contains(&v.to_ascii_lowercase().as_str()) {
                    return Err(ConfigError::new(
                        name_var,
                        format!("{v:?} is a reserved header"),
                    ));
                }
                return Ok(Some(v));
            }
            if parse_bool(raw, disable_var)? {
                return Ok(None);
            }
            Ok(Some(format!("{header_prefix}{suffix}")))
        };
        let event_id_header = resolve(
            "DESTINATIONS_WEBHOOK_EVENT_ID_HEADER_NAME",
            "DESTINATIONS_WEBHOOK_DISABLE_DEFAULT_EVENT_ID_HEADER",
            "event-id",
        )?;
        let signature_header = resolve(
            "DESTINATIONS_WEBHOOK_SIGNATURE_HEADER_NAME",
            "DESTINATIONS_WEBHOOK_DISABLE_DEFAULT_SIGNATURE_HEADER",
            "signature",
        )?;
        let timestamp_header = resolve(
            "DESTINATIONS_WEBHOOK_TIMESTAMP_HEADER_NAME",
            "DESTINATIONS_WEBHOOK_DISABLE_DEFAULT_TIMESTAMP_HEADER",
            "timestamp",
        )?;
        let topic_header = resolve(
            "DESTINATIONS_WEBHOOK_TOPIC_HEADER_NAME",
            "DESTINATIONS_WEBHOOK_DISABLE_DEFAULT_TOPIC_HEADER",
            "topic",
        )?;
        if mode == WebhookMode::Default {
            let names = [
                (
                    "DESTINATIONS_WEBHOOK_EVENT_ID_HEADER_NAME",
                    &event_id_header,
                ),
                (
                    "DESTINATIONS_WEBHOOK_SIGNATURE_HEADER_NAME",
                    &signature_header,
                ),
                (
                    "DESTINATIONS_WEBHOOK_TIMESTAMP_HEADER_NAME",
                    &timestamp_header,
                ),
                ("DESTINATIONS_WEBHOOK_TOPIC_HEADER_NAME", &topic_header),
            ];
            for (i, (var, a)) in names.iter().enumerate() {
                for (_, b) in &names[i + 1..] {
                    if let (Some(a), Some(b)) = (a, b)
                        && a.eq_ignore_ascii_case(b)
                    {
                        return Err(ConfigError::new(
                            var,
                            format!("header name {a:?} is used by two system headers"),
                        ));
                    }
                }
            }
        }
        let encoding = raw
            .get("DESTINATIONS_WEBHOOK_SIGNATURE_ENCODING")
            .unwrap_or("hex")
            .trim()
            .to_string();
        let algorithm = raw
            .get("DESTINATIONS_WEBHOOK_SIGNATURE_ALGORITHM")
            .unwrap_or("hmac-sha256")
            .trim()
            .to_string();
        let get = |v: &str, d: &str| raw.get(v).unwrap_or(d).to_string();
        let cfg = WebhookConfig {
            mode,
            proxy_url: opt(raw, "DESTINATIONS_WEBHOOK_PROXY_URL"),
            header_prefix,
            event_id_header,
            signature_header,
            timestamp_header,
            topic_header,
            signature_content_template: get(
                "DESTINATIONS_WEBHOOK_SIGNATURE_CONTENT_TEMPLATE",
                "{{.Body}}",
            ),
            signature_header_template: get(
                "DESTINATIONS_WEBHOOK_SIGNATURE_HEADER_TEMPLATE",
                "v0={{.Signatures | join \",\"}}",
            ),
            // Upstream falls back to hex / sha256 for unknown values; keep that.
            signature_encoding: if encoding == "base64" {
                encoding
            } else {
                "hex".into()
            },
            signature_algorithm: if algorithm == "hmac-sha1" {
                algorithm
            } else {
                "hmac-sha256".into()
            },
            signing_secret_template: get(
                "DESTINATIONS_WEBHOOK_SIGNING_SECRET_TEMPLATE",
                "whsec_{{.RandomHex}}",
            ),
            max_response_body_bytes: parse_num(
                raw,
                "DESTINATIONS_WEBHOOK_MAX_RESPONSE_BODY_BYTES",
                0usize,
            )?,
            ssrf_protection: parse_bool(raw, "DESTINATIONS_WEBHOOK_SSRF_PROTECTION")?,
            allowed_cidrs: parse_cidrs(raw)?,
        };
        for (var, tpl) in [
            (
                "DESTINATIONS_WEBHOOK_SIGNATURE_CONTENT_TEMPLATE",
                &cfg.signature_content_template,
            ),
            (
                "DESTINATIONS_WEBHOOK_SIGNATURE_HEADER_TEMPLATE",
                &cfg.signature_header_template,
            ),
            (
                "DESTINATIONS_WEBHOOK_SIGNING_SECRET_TEMPLATE",
                &cfg.signing_secret_template,
            ),
        ] {
            outpost_core::template::Template::parse(tpl)
                .map_err(|e| ConfigError::new(var, format!("invalid template: {e}")))?;
        }
        if let Some(p) = &cfg.proxy_url
            && !(p.starts_with("http://") || p.starts_with("https://"))
        {
            return Err(ConfigError::new(
                "DESTINATIONS_WEBHOOK_PROXY_URL",
                format!("not an http(s) URL: {p:?}"),
            ));
        }
        Ok(cfg)
    }
}

fn parse_cidrs(raw: &RawSettings) -> Result<Vec<String>, ConfigError> {
    let var = "DESTINATIONS_WEBHOOK_ALLOWED_CIDRS";
    let mut out = Vec::new();
    for part in raw
        .get(var)
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (addr, bits) = part.split_once('/').unwrap_or((part, ""));
        let ip: std::net::IpAddr = addr.parse().map_err(|_| {
            ConfigError::new(
                var,
                format!("{part:?} is not an address range like 10.0.0.0/8"),
            )
        })?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let ok = bits.is_empty() || bits.parse::<u8>().is_ok_and(|b| b <= max);
        if !ok {
            return Err(ConfigError::new(
                var,
                format!("{part:?} has an invalid prefix length"),
            ));
        }
        out.push(part.to_string());
    }
    Ok(out)
}
