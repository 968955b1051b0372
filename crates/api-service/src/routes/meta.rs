//! `GET /topics`, `GET /destination-types[/:type]`, and `GET /openapi.json` (this API's
//! OpenAPI document, public).

use super::ok;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/topics", get(topics))
        .route("/destination-types", get(types))
        .route("/destination-types/{kind}", get(one_type))
        .route("/openapi.json", get(openapi))
}

/// The OpenAPI 3.1 document of this API (`crates/api-service/openapi.json`).
pub const OPENAPI: &str = include_str!("../../openapi.json");

async fn openapi() -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        OPENAPI,
    )
        .into_response()
}

/// The configured topics. Upstream answers `null` when none are configured; the published SDKs
/// reject that, so this answers `[]`.
async fn topics(_auth: Auth, State(s): State<AppState>) -> Response {
    ok(&json!(s.settings.topics.topics))
}

async fn types(_auth: Auth, State(s): State<AppState>) -> Response {
    ok(&json!(s.registry.types()))
}

async fn one_type(
    _auth: Auth,
    State(s): State<AppState>,
    Path(kind): Path<String>,
) -> Result<Response, ApiError> {
    let t = s
        .registry
        .get_type(&kind)
        .ok_or(ApiError::Empty(StatusCode::NOT_FOUND))?;
    Ok(ok(&json!(t)))
}
