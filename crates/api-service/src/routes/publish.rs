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
use outpost_core::event::{Event, FilterDoc, FirstTask};
use outpost_core::ports::{Claim, DestinationLookup};
use outpost_core::publish::PublishError;
use outpost_core::time::now_ms;
use std::time::Duration;

/// How long a publish waits for a concurrent publish of the same id before answering 409.
pub const CONFLICT_WAIT: Duration = Duration::from_secs(5);

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new().route("/publish", post(publish))
}

/// A validated event ready for routing, or the API error for the request.
pub fn parse_event(s: &AppState, body: &[u8]) -> Result<Event, ApiError> {
    outpost_core::publish::parse(body, &s.settings.topics, &s.settings.idgen, now_ms()).map_err(
        |e| match e {
            PublishError::InvalidJson => ApiError::invalid_json(),
            PublishError::Validation(problems) => ApiError::validation(problems),
        },
    )
}

/// The ids of the destinations `event` goes to.
pub async fn route(s: &AppState, event: &Event) -> Result<Vec<String>, ApiError> {
    if !event.destination_id.is_empty() {
        // An explicit target still has to be enabled and match topic and filter.
        let found = s
            .store
            .get_destination(&event.tenant_id, &event.destination_id)
            .await?;
        let doc = FilterDoc::new(event);
        return Ok(match found {
            DestinationLookup::Found(d) if d.summary().matches_event(&event.topic, &doc) => {
                vec![d.id.clone()]
            }
            _ => Vec::new(),
        });
    }
    let summaries = s.store.list_summaries(&event.tenant_id).await?;
    let doc = FilterDoc::new(event);
    Ok(summaries
        .into_iter()
        .filter(|d| d.matches_event(&event.topic, &doc))
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
        .map(|d| serde_json::to_vec(&FirstTask::new(&event, d, telemetry.as_ref())))
        .collect();
    let enqueued = match tasks {
        Ok(t) => p
            .lane_for(&event.tenant_id, t.len())
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
    // Per event, so at debug (the HTTP span and the metrics count events at info).
    tracing::debug!(event_id = %event.id, tenant_id = %event.tenant_id, topic = %event.topic, destinations = matched.len(), "Event received.");
    Ok((false, matched))
}

async fn publish(auth: Auth, State(s): State<AppState>, body: Bytes) -> Result<Response, ApiError> {
    auth.require_admin()?;
    let event = parse_event(&s, &body)?;
    let id = event.id.clone();
    let (duplicate, ids) = publish_event(&s, event).await?;
    Ok(json_response(
        StatusCode::ACCEPTED,
        &Accepted {
            destination_ids: &ids,
            duplicate,
            id: &id,
        },
    ))
}

/// The answer to a publish (fields in the order `serde_json::Value` wrote them).
#[derive(serde::Serialize)]
struct Accepted<'a> {
    destination_ids: &'a [String],
    duplicate: bool,
    id: &'a str,
}
