//! Request bodies: JSON objects parsed by hand so every failure maps to Outpost's
//! `422 invalid JSON`, and typed field readers that report wrong types the same way.

use crate::error::ApiError;
use axum::body::Bytes;
use outpost_core::patch::{StringMap, coerce_map};
use outpost_core::time::{Timestamp, parse_rfc3339};
use serde_json::{Map, Value};

/// Parses a body that must be a JSON object.
pub fn object(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => Ok(o),
        _ => Err(ApiError::invalid_json()),
    }
}

/// An optional string field (`null` = absent); other types are invalid JSON.
pub fn opt_str(o: &Map<String, Value>, k: &str) -> Result<Option<String>, ApiError> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ApiError::invalid_json()),
    }
}

/// An optional string map, values coerced to strings.
pub fn opt_map(o: &Map<String, Value>, k: &str) -> Result<Option<StringMap>, ApiError> {
    match o.get(k) {
        None => Ok(None),
        Some(v) => coerce_map(v).map_err(|_| ApiError::invalid_json()),
    }
}

/// An optional RFC 3339 time.
pub fn opt_time(o: &Map<String, Value>, k: &str) -> Result<Option<Timestamp>, ApiError> {
    match opt_str(o, k)? {
        None => Ok(None),
        Some(s) => parse_rfc3339(&s)
            .map(Some)
            .ok_or_else(ApiError::invalid_json),
    }
}
