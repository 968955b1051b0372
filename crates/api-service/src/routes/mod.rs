//! Route handlers, one module per resource.

pub mod destinations;
pub mod logs;
pub mod meta;
pub mod metrics;
pub mod publish;
pub mod retry;
pub mod tenants;

use crate::error::json_response;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;

/// 200 with a JSON body.
pub fn ok(body: &Value) -> Response {
    json_response(StatusCode::OK, body)
}
