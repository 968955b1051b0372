//! `POST /publish`: validate the event, match it against the tenant's destinations (topic,
//! filter, optional explicit destination), and enqueue one delivery task per match, once per
//! event id (idempotency), answering 202 only after the tasks are durably queued.

use crate::auth::Auth;
use crate::error::{ApiError, json_response};
use crate::state::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::post;
use outpost_core::event::{DeliveryTask, Event};
use outpost_core::patch::StringMap;
use outpost_core::ports::{Claim, DestinationLookup};
use outpost_core::time::{now_ms, parse_rfc3339};
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;
use std::time::Duration;

/// How long a publish waits for a concurrent publish of the same id before answering 409.
pub const CONFLICT_WAIT: Duration = Duration::from_secs(5);

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/publish", post(publish))
}

#[derive(Deserialize)]
struct PublishRequest {
    id: Option<String>,
    tenant_id: Option<String>,
    destination_id: Option<String>,
    topic: Option<String>,
    eligible_for_retry: Option<bool>,
    time: Option<String>,
    metadata: Option<StringMap>,
    data: Option<Box<RawValue>>,
}

/// A validated event ready for routing, or the API error for the request.
pub fn parse_event(s: &AppState, body: &[u8]) -> Result<Event, ApiError> {
    let req: PublishRequest = serde_json::from_slice(body).map_err(|_| ApiError::invalid_json())?;
    let mut missing = Vec::new();
    if req.tenant_id.as_deref().is_none_or(str::is_empty) {
        missing.push("tenant_id is required".to_string());
    }
    match &req.data {
        None => missing.push("data is required".to_string()),
        Some(d) if !d.get().trim_start().starts_with('{') => {
            missing.push("data must be a valid JSON object".to_string())
        }
        Some(_) => {}
    }
    let (Some(tenant_id), Some(data), true) = (req.tenant_id, req.data, missing.is_empty()) else {
        return Err(ApiError::validation(missing));
    };
    let topic = req.topic.unwrap_or_default();
    s.settings
        .topics
        .validate_publish(&topic)
        .map_err(|e| ApiError::validation(vec![e.to_string()]))?;
    let id = match req.id.filter(|i| !i.is_empty()) {
        Some(id) => {
            outpost_core::ids::validate_id(&id)
                .map_err(|e| ApiError::validation(vec![format!("id {e}")]))?;
            id
        }
        None => s.settings.idgen.event(),
    };
    let time = match req.time.filter(|t| !t.is_empty()) {
        Some(t) => parse_rfc3339(&t).ok_or_else(|| {
            ApiError::validation(vec!["time must be an RFC3339 timestamp".into()])
        })?,
        None => now_ms(),
    };
    Ok(Event {
        id,
        tenant_id,
        destination_id: req.destination_id.unwrap_or_default(),
        matched_destination_ids: Vec::new(),
        topic,
        eligible_for_retry: req.eligible_for_retry.unwrap_or(true),
        time,
        metadata: req.metadata.unwrap_or_default(),
        data,
    })
}

/// The ids of the destinations `event` goes to.
pub async fn route(s: &AppState, event: &Event) -> Result<Vec<String>, ApiError> {
    let doc = event.filter_document();
    if !event.destination_id.is_empty() {
        // An explicit target still has to be enabled and match topic and filter.
        return Ok(
            match s
                .store
                .get_destination(&event.tenant_id, &event.destination_id)
                .await?
            {
                DestinationLookup::Found(d) if d.summary().matches(&event.topic, &doc) => {
                    vec![d.id.clone()]
                }
                _ => Vec::new(),
            },
        );
    }
    Ok(s.store
        .list_summaries(&event.tenant_id)
        .await?
        .into_iter()
        .filter(|d| d.matches(&event.topic, &doc))
        .map(|d| d.id)
        .collect())
}

/// Publishes a validated event: routes it and enqueues its tasks once per event id.
/// Returns `(duplicate, destination_ids)`. Its span is the root of the event's trace (or the
/// child of the caller's `traceparent`); the tasks carry it to the delivery service.
#[tracing::instrument(
    name = "EventTracer.Receive",
    skip_all,
    fields(event_id = %event.id, tenant_id = %event.tenant_id, topic = %event.topic)
)]
pub async fn publish_event(
    s: &AppState,
    mut event: Event,
) -> Result<(bool, Vec<String>), ApiError> {
    let received = now_ms();
    let m = outpost_telemetry::metrics::metrics();
    let topic = outpost_telemetry::metrics::attrs([("topic", event.topic.clone())]);
    m.eligible_events.add(1, &topic);
    let matched = route(s, &event).await?;
    if matched.is_empty() {
        return Ok((false, matched));
    }
    event.matched_destination_ids = matched.clone();
    let p = &s.pipeline;
    let key = event.id.clone();
    match p.idempotency.claim(&key).await? {
        Claim::Processed => return Ok((true, matched)),
        Claim::Processing => {
            let deadline = tokio::time::Instant::now() + CONFLICT_WAIT;
            while tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(100)).await;
                if p.idempotency.state(&key).await? == Some(Claim::Processed) {
                    return Ok((true, matched));
                }
            }
            return Err(ApiError::Empty(StatusCode::CONFLICT));
        }
        Claim::Acquired => {}
    }
    let telemetry = outpost_telemetry::current().map(|mut t| {
        t.received_time = Some(received);
        t
    });
    let tasks: Result<Vec<Vec<u8>>, _> = matched
        .iter()
        .map(|d| {
            let mut task = DeliveryTask::first(event.clone(), d.clone());
            task.telemetry = telemetry.clone();
            serde_json::to_vec(&task)
        })
        .collect();
    let enqueued = match tasks {
        Ok(t) => p
            .deliverymq
            .publish(t)
            .await
            .map_err(|e| ApiError::Internal(Box::new(e))),
        Err(e) => Err(ApiError::Internal(Box::new(e))),
    };
    if let Err(e) = enqueued {
        // Free the id so the publisher's retry is not taken for a duplicate.
        let _ = p.idempotency.release(&key).await;
        return Err(e);
    }
    p.idempotency
        .mark_processed(&key, p.idempotency_ttl)
        .await?;
    m.published_events.add(1, &topic);
    tracing::info!(event_id = %event.id, tenant_id = %event.tenant_id, topic = %event.topic, destinations = matched.len(), "Event received.");
    Ok((false, matched))
}

async fn publish(auth: Auth, State(s): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    auth.require_admin()?;
    let event = parse_event(&s, &body)?;
    let id = event.id.clone();
    let (duplicate, ids) = publish_event(&s, event).await?;
    Ok(json_response(
        StatusCode::ACCEPTED,
        &json!({"id": id, "duplicate": duplicate, "destination_ids": ids}),
    ))
}
