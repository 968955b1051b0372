//! `POST /retry`: a manual retry of an event to a destination, continuing from the latest
//! recorded attempt; it replaces any pending automatic retry.

use crate::auth::Auth;
use crate::body;
use crate::error::{ApiError, json_response};
use crate::state::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use outpost_core::event::{DeliveryTask, FilterDoc};
use outpost_core::ports::DestinationLookup;
use serde_json::json;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/retry", post(retry))
}

async fn retry(auth: Auth, State(s): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    let o = body::object(&body)?;
    let event_id = body::opt_str(&o, "event_id")?.filter(|v| !v.is_empty());
    let destination_id = body::opt_str(&o, "destination_id")?.filter(|v| !v.is_empty());
    let (Some(event_id), Some(destination_id)) = (event_id.clone(), destination_id.clone()) else {
        let mut missing = Vec::new();
        if event_id.is_none() {
            missing.push("event_id is required".to_string());
        }
        if destination_id.is_none() {
            missing.push("destination_id is required".to_string());
        }
        return Err(ApiError::validation(missing));
    };
    let tenant = match &auth {
        Auth::Tenant(t) => Some(t.id.clone()),
        Auth::Admin => None,
    };
    let latest = s
        .logs
        .latest_attempt(tenant.as_deref(), &event_id, &destination_id)
        .await?
        .ok_or_else(|| ApiError::msg(StatusCode::NOT_FOUND, "event not found"))?;
    let event = latest.event;
    // Upstream answers 500 for a soft-deleted destination; a 404 says what happened.
    let dest = match s
        .store
        .get_destination(&event.tenant_id, &destination_id)
        .await?
    {
        DestinationLookup::Found(d) => std::sync::Arc::unwrap_or_clone(d),
        _ => {
            return Err(ApiError::msg(
                StatusCode::NOT_FOUND,
                "destination not found",
            ));
        }
    };
    if dest.disabled_at.is_some() {
        return Err(ApiError::Json {
            status: StatusCode::BAD_REQUEST,
            message: "Destination is disabled".into(),
            data: Some(json!({"error": "destination_disabled"})),
        });
    }
    let mut summary = dest.summary();
    summary.disabled = false;
    if !summary.matches_event(&event.topic, &FilterDoc::new(&event)) {
        return Err(ApiError::bad_request("destination does not match event"));
    }
    let task = DeliveryTask {
        version: DeliveryTask::VERSION,
        event,
        destination_id: destination_id.clone(),
        attempt: latest.attempt.attempt_number + 1,
        manual: true,
        telemetry: outpost_telemetry::current().map(|mut t| {
            t.received_time = Some(outpost_core::time::now_ms());
            t
        }),
    };
    let payload = serde_json::to_vec(&task).map_err(|e| ApiError::Internal(Box::new(e)))?;
    s.pipeline
        .deliverymq
        .publish(vec![payload])
        .await
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
    tracing::info!(event_id = %event_id, destination_id = %destination_id, attempt = task.attempt, "Manual retry initiated.");
    Ok(json_response(
        StatusCode::ACCEPTED,
        &json!({"success": true}),
    ))
}
