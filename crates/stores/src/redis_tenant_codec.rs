//! The Redis hashes of tenants and destinations in Outpost's layout (spec §11.1): reading a
//! record from its fields and writing a destination's fields, its secrets AES-GCM encrypted.

use crate::cipher::Cipher;
use fred::prelude::*;
use outpost_core::StoreError;
use outpost_core::destination::{Destination, DestinationSummary};
use outpost_core::patch::StringMap;
use outpost_core::tenant::TenantRecord;
use outpost_core::time::{Timestamp, from_unix_ms, parse_rfc3339};
use std::collections::HashMap;

/// A field's value as text.
pub(crate) fn text(v: &Value) -> Option<String> {
    v.as_str().map(|s| s.into_owned())
}

/// A time field, in milliseconds since the epoch or RFC 3339 (older records).
pub(crate) fn time_field(h: &HashMap<String, Value>, k: &str) -> Option<Timestamp> {
    let s = text(h.get(k)?)?;
    match s.parse::<i64>() {
        Ok(ms) => Some(from_unix_ms(ms)),
        Err(_) => parse_rfc3339(&s),
    }
}

/// A JSON object field; `None` when absent or empty.
fn json_map(h: &HashMap<String, Value>, k: &str) -> Result<Option<StringMap>, StoreError> {
    match h.get(k).and_then(text) {
        None => Ok(None),
        Some(s) if s.is_empty() => Ok(None),
        Some(s) => serde_json::from_str(&s)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("field {k}: {e}"))),
    }
}

/// A tenant from its hash; `None` when absent or soft-deleted.
pub(crate) fn parse_record(h: &HashMap<String, Value>) -> Result<Option<TenantRecord>, StoreError> {
    if h.is_empty() || h.contains_key("deleted_at") {
        return Ok(None);
    }
    let id = h
        .get("id")
        .and_then(text)
        .ok_or_else(|| StoreError::Corrupt("tenant without id".into()))?;
    let created_at = time_field(h, "created_at")
        .ok_or_else(|| StoreError::Corrupt("tenant created_at".into()))?;
    Ok(Some(TenantRecord {
        updated_at: time_field(h, "updated_at").unwrap_or(created_at),
        created_at,
        metadata: json_map(h, "metadata")?,
        id,
    }))
}

/// A tenant's destination summaries from their hash, by id.
pub(crate) fn parse_summaries(
    h: HashMap<String, String>,
) -> Result<Vec<DestinationSummary>, StoreError> {
    let mut v: Vec<DestinationSummary> = h
        .into_values()
        .map(|s| {
            serde_json::from_str(&s)
                .map_err(|e| StoreError::Corrupt(format!("destination summary: {e}")))
        })
        .collect::<Result<_, _>>()?;
    v.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(v)
}

/// A destination from its hash, credentials and delivery metadata decrypted with `cipher`.
pub(crate) fn parse_destination(
    cipher: &Cipher,
    tenant_id: &str,
    h: &HashMap<String, Value>,
) -> Result<Destination, StoreError> {
    let id = h
        .get("id")
        .and_then(text)
        .ok_or_else(|| StoreError::Corrupt("destination without id".into()))?;
    let decrypt = |k: &str| -> Result<Option<StringMap>, StoreError> {
        match h.get(k).and_then(|v| v.as_bytes()) {
            None => Ok(None),
            Some([]) => Ok(None),
            Some(b) => {
                let plain = cipher
                    .decrypt(b)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                serde_json::from_slice(&plain)
                    .map(Some)
                    .map_err(|e| StoreError::Corrupt(format!("{k}: {e}")))
            }
        }
    };
    let created_at = time_field(h, "created_at")
        .ok_or_else(|| StoreError::Corrupt("destination created_at".into()))?;
    let filter = match h.get("filter").and_then(text).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            serde_json::from_str(&s).map_err(|e| StoreError::Corrupt(format!("filter: {e}")))?,
        ),
    };
    Ok(Destination {
        tenant_id: tenant_id.to_string(),
        kind: h.get("type").and_then(text).unwrap_or_default(),
        topics: h
            .get("topics")
            .and_then(text)
            .map(|t| {
                t.split(',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        filter,
        config: json_map(h, "config")?.unwrap_or_default(),
        credentials: decrypt("credentials")?.unwrap_or_default(),
        delivery_metadata: decrypt("delivery_metadata")?,
        metadata: json_map(h, "metadata")?,
        updated_at: time_field(h, "updated_at").unwrap_or(created_at),
        created_at,
        disabled_at: time_field(h, "disabled_at"),
        id,
    })
}

/// A destination's hash fields (name, value, ...), secrets encrypted with `cipher`.
pub(crate) fn destination_fields(
    cipher: &Cipher,
    d: &Destination,
) -> Result<Vec<Value>, StoreError> {
    let mut f: Vec<Value> = Vec::with_capacity(24);
    let mut put = |k: &str, v: Value| {
        f.push(Value::from(k.to_string()));
        f.push(v);
    };
    put("id", d.id.clone().into());
    put("entity", "destination".into());
    put("type", d.kind.clone().into());
    put("topics", d.topics.join(",").into());
    put(
        "config",
        serde_json::to_string(&d.config).unwrap_or_default().into(),
    );
    let creds = serde_json::to_vec(&d.credentials).unwrap_or_default();
    put("credentials", Value::Bytes(cipher.encrypt(&creds).into()));
    put("created_at", d.created_at.timestamp_millis().into());
    put("updated_at", d.updated_at.timestamp_millis().into());
    if let Some(t) = d.disabled_at {
        put("disabled_at", t.timestamp_millis().into());
    }
    if let Some(m) = &d.delivery_metadata {
        let plain = serde_json::to_vec(m).unwrap_or_default();
        put(
            "delivery_metadata",
            Value::Bytes(cipher.encrypt(&plain).into()),
        );
    }
    if let Some(m) = &d.metadata {
        put(
            "metadata",
            serde_json::to_string(m).unwrap_or_default().into(),
        );
    }
    if let Some(flt) = &d.filter {
        put("filter", flt.to_string().into());
    }
    Ok(f)
}
