//! Webhook destinations (Outpost default mode and Standard Webhooks mode): custom header and
//! credential validation, secret generation, secret rotation and the tenant-role restrictions.

use crate::{DestError, Role};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use outpost_core::destination::Destination;
use outpost_core::template::{Template, Value};
use outpost_core::time::{format_rfc3339_secs, now_ms, parse_rfc3339};
use rand::Rng;
use std::collections::BTreeMap;

/// Credential keys a webhook keeps.
pub const SECRET_KEYS: [&str; 3] = ["secret", "previous_secret", "previous_secret_invalid_at"];
/// Headers a custom header may not set.
pub const RESERVED_HEADERS: [&str; 5] = [
    "content-type",
    "content-length",
    "host",
    "connection",
    "user-agent",
];
/// How long a rotated-out secret keeps signing by default.
pub const ROTATION_GRACE_HOURS: i64 = 24;

fn valid_custom_header_name(n: &str) -> bool {
    let mut b = n.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphanumeric())
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b'-')
}

/// Parses `config.custom_headers` (a JSON object of strings).
pub fn parse_custom_headers(raw: &str) -> Result<BTreeMap<String, String>, DestError> {
    let v: serde_json::Value = serde_json::from_str(raw)
        .map_err(|_| DestError::field("config.custom_headers failed invalid validation"))?;
    let obj = v
        .as_object()
        .ok_or_else(|| DestError::field("config.custom_headers failed invalid validation"))?;
    let mut out = BTreeMap::new();
    let mut errors = Vec::new();
    for (k, v) in obj {
        let Some(val) = v.as_str() else {
            errors.push("config.custom_headers failed invalid validation".to_string());
            continue;
        };
        if !valid_custom_header_name(k) {
            errors.push(format!(
                "config.custom_headers.{k} failed pattern validation"
            ));
        } else if RESERVED_HEADERS.contains(&k.to_ascii_lowercase().as_str()) {
            errors.push(format!("config.custom_headers.{k} is forbidden"));
        } else if val.trim().is_empty() {
            errors.push(format!("config.custom_headers.{k} is required"));
        } else {
            out.insert(k.clone(), val.to_string());
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(DestError::Validation(errors))
    }
}

fn is_standard_secret(s: &str) -> bool {
    s.strip_prefix("whsec_")
        .is_some_and(|b| !b.is_empty() && B64.decode(b).is_ok())
}

/// Webhook-specific validation (after the metadata checks).
pub fn validate(dest: &Destination, standard: bool) -> Vec<String> {
    let mut errors = Vec::new();
    if let Some(h) = dest
        .config
        .get("custom_headers")
        .filter(|h| !h.trim().is_empty())
        && let Err(DestError::Validation(e)) = parse_custom_headers(h)
    {
        errors.extend(e);
    }
    let get = |k: &str| dest.credentials.get(k).filter(|v| !v.is_empty());
    let (secret, prev, invalid_at) = (
        get("secret"),
        get("previous_secret"),
        get("previous_secret_invalid_at"),
    );
    if (prev.is_some() || invalid_at.is_some()) && secret.is_none() {
        errors.push("credentials.secret is required".into());
    }
    if let Some(at) = invalid_at {
        if parse_rfc3339(at).is_none() {
            errors.push("credentials.previous_secret_invalid_at failed pattern validation".into());
        }
        if prev.is_none() {
            errors.push("credentials.previous_secret is required".into());
        }
    }
    if standard {
        if secret.is_some_and(|s| !is_standard_secret(s)) {
            errors.push("credentials.secret failed pattern validation".into());
        }
        if prev.is_some_and(|s| !is_standard_secret(s)) {
            errors.push("credentials.previous_secret failed pattern validation".into());
        }
    }
    errors
}

fn truthy(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "true" | "1" | "on" | "yes"
    )
}

/// Generates a new signing secret.
pub fn generate_secret(standard: bool, template: &Template) -> Result<String, DestError> {
    let mut bytes = [0u8; 32];
    rand::rng().fill(&mut bytes);
    if standard {
        return Ok(format!("whsec_{}", B64.encode(bytes)));
    }
    const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    let alnum: String = (0..32)
        .map(|_| char::from(ALNUM[rng.random_range(0..ALNUM.len())]))
        .collect();
    let data = Value::Map(BTreeMap::from([
        ("RandomHex".to_string(), Value::Str(hex::encode(bytes))),
        ("RandomBase64".to_string(), Value::Str(B64.encode(bytes))),
        ("RandomAlphanumeric".to_string(), Value::Str(alnum)),
    ]));
    template
        .render(&data)
        .map_err(|e| DestError::Message(format!("cannot generate webhook secret: {e}")))
}

/// Applies secret generation, rotation and role rules; keeps only the three secret keys.
pub fn preprocess(
    dest: &mut Destination,
    original: Option<&Destination>,
    role: Role,
    standard: bool,
    template: &Template,
) -> Result<(), DestError> {
    let rotate = dest.credentials.remove("rotate_secret");
    let rotate = rotate.as_deref().is_some_and(truthy);
    if rotate && original.is_none() {
        return Err(DestError::field(
            "credentials.rotate_secret failed invalid validation",
        ));
    }
    let existing = |k: &str| {
        original
            .and_then(|o| o.credentials.get(k))
            .filter(|v| !v.is_empty())
    };
    if role == Role::Tenant {
        let mut forbidden = Vec::new();
        for key in SECRET_KEYS {
            let incoming = dest.credentials.get(key).filter(|v| !v.is_empty());
            if incoming.is_some() && incoming != existing(key) {
                forbidden.push(format!("credentials.{key} is forbidden"));
            }
        }
        if !forbidden.is_empty() {
            return Err(DestError::Validation(forbidden));
        }
        for key in SECRET_KEYS {
            match existing(key) {
                Some(v) => dest.credentials.insert(key.to_string(), v.clone()),
                None => dest.credentials.remove(key),
            };
        }
    }
    let now = now_ms();
    let grace = || format_rfc3339_secs(&(now + chrono::Duration::hours(ROTATION_GRACE_HOURS)));
    if rotate {
        let sent_at = dest
            .credentials
            .get("previous_secret_invalid_at")
            .filter(|v| !v.is_empty() && Some(*v) != existing("previous_secret_invalid_at"))
            .cloned();
        if let Some(old) = existing("secret").cloned() {
            dest.credentials.insert("previous_secret".into(), old);
            dest.credentials.insert(
                "previous_secret_invalid_at".into(),
                sent_at.unwrap_or_else(grace),
            );
        }
        dest.credentials
            .insert("secret".into(), generate_secret(standard, template)?);
    } else if dest.credentials.get("secret").is_none_or(|s| s.is_empty()) {
        dest.credentials
            .insert("secret".into(), generate_secret(standard, template)?);
    }
    if dest
        .credentials
        .get("previous_secret")
        .is_some_and(|s| !s.is_empty())
        && dest
            .credentials
            .get("previous_secret_invalid_at")
            .is_none_or(|s| s.is_empty())
    {
        dest.credentials
            .insert("previous_secret_invalid_at".into(), grace());
    }
    dest.credentials
        .retain(|k, v| SECRET_KEYS.contains(&k.as_str()) && !v.is_empty());
    Ok(())
}

pub mod request;

#[cfg(test)]
mod tests;
