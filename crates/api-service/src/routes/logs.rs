//! Events and attempts: `GET /events[/:id]`, `GET /attempts[/:id]` and the destination-scoped
//! attempts routes, with upstream's filters, `include` options, cursors, limits and errors.

use super::ok;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::query::Query;
use crate::state::AppState;
use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use outpost_core::cursor;
use outpost_core::event::{AttemptStatus, Event};
use outpost_core::ports::page::PageRequest;
use outpost_core::ports::{
    AttemptQuery, AttemptRecord, DestinationLookup, EventQuery, LogKey, TimeRange,
};
use outpost_core::time::{Timestamp, format_rfc3339_nano, parse_rfc3339};
use serde_json::{Map, Value, json};

/// Default page size of events and attempts.
pub const DEFAULT_LIMIT: usize = 100;
/// Largest page (larger requests are capped).
pub const MAX_LIMIT: usize = 1000;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/events", get(list_events))
        .route("/events/{event_id}", get(get_event))
        .route("/attempts", get(list_attempts))
        .route("/attempts/{attempt_id}", get(get_attempt))
        .route(
            "/tenants/{tenant_id}/destinations/{destination_id}/attempts",
            get(list_destination_attempts),
        )
        .route(
            "/tenants/{tenant_id}/destinations/{destination_id}/attempts/{attempt_id}",
            get(get_destination_attempt),
        )
}

/// `limit`: absent or empty means the default; above the maximum it is capped. Upstream takes
/// anything else silently as the default; we refuse it (422), so a typo is not a surprise.
fn limit(q: &Query) -> Result<usize, ApiError> {
    match q.get("limit").filter(|l| !l.is_empty()) {
        None => Ok(DEFAULT_LIMIT),
        Some(l) => match l.parse::<u64>() {
            Ok(n) if n > 0 => Ok(usize::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT)),
            _ => Err(ApiError::query("query.limit", "must be a positive integer")),
        },
    }
}

fn parse_time(v: &str) -> Option<Timestamp> {
    parse_rfc3339(v).or_else(|| {
        chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|dt| dt.and_utc())
    })
}

/// Parses `time[gte|lte|gt|lt]`.
pub fn time_range(q: &Query) -> Result<TimeRange, ApiError> {
    let mut r = TimeRange::default();
    for (k, v) in q.pairs() {
        let Some(op) = k.strip_prefix("time[").and_then(|r| r.strip_suffix(']')) else {
            continue;
        };
        let slot = match op {
            "gte" => &mut r.gte,
            "lte" => &mut r.lte,
            "gt" => &mut r.gt,
            "lt" => &mut r.lt,
            other => {
                return Err(ApiError::bad_request(format!(
                    "operator '{other}' is not supported, use 'gte', 'lte', 'gt', or 'lt'"
                )));
            }
        };
        *slot = Some(parse_time(v).ok_or_else(|| {
            ApiError::query(
                &format!("query.time[{op}]"),
                "invalid format, expected RFC3339 (e.g. 2024-01-15T09:30:00Z or 2024-01-15T09:30:00.123Z) or YYYY-MM-DD",
            )
        })?);
    }
    Ok(r)
}

fn page_request(q: &Query, resource: &str) -> Result<PageRequest<LogKey>, ApiError> {
    if let Some(o) = q.get("order_by").filter(|o| !o.is_empty() && *o != "time") {
        let _ = o;
        return Err(ApiError::query("query.order_by", "must be one of: [time]"));
    }
    Ok(PageRequest {
        dir: q.dir()?,
        limit: limit(q)?,
        cursor: q.cursor(resource, LogKey::parse)?,
    })
}

fn pagination(
    resource: &str,
    req: &PageRequest<LogKey>,
    next: Option<LogKey>,
    prev: Option<LogKey>,
) -> Value {
    let enc = |k: LogKey| cursor::encode(resource, "01", &k.to_cursor_data());
    json!({
        "order_by": "time",
        "dir": req.dir.as_str(),
        "limit": req.limit,
        "next": next.map(enc),
        "prev": prev.map(enc),
    })
}

/// Tenant scope of a log query: an admin may filter freely; a tenant token sees only its own
/// tenant and may name only itself.
fn scope_tenants(auth: &Auth, requested: Vec<String>) -> Result<Vec<String>, ApiError> {
    match auth {
        Auth::Admin => Ok(requested),
        Auth::Tenant(t) => {
            if requested.iter().any(|r| *r != t.id) {
                return Err(ApiError::msg(
                    StatusCode::FORBIDDEN,
                    "tenant_id query parameter does not match authenticated tenant",
                ));
            }
            Ok(vec![t.id.clone()])
        }
    }
}

fn raw_data(e: &Event) -> Value {
    serde_json::from_str(e.data.get()).unwrap_or(Value::Null)
}

/// `APIEvent`.
pub fn event_json(e: &Event, with_data: bool) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(e.id));
    o.insert("tenant_id".into(), json!(e.tenant_id));
    o.insert(
        "matched_destination_ids".into(),
        json!(e.matched_destination_ids),
    );
    o.insert("topic".into(), json!(e.topic));
    o.insert("time".into(), json!(format_rfc3339_nano(&e.time)));
    o.insert("eligible_for_retry".into(), json!(e.eligible_for_retry));
    if !e.metadata.is_empty() {
        o.insert("metadata".into(), json!(e.metadata));
    }
    if with_data {
        o.insert("data".into(), raw_data(e));
    }
    Value::Object(o)
}

/// What `include[]` asked for.
#[derive(Debug, Clone, Copy, Default)]
struct Include {
    event: bool,
    event_data: bool,
    response_data: bool,
    destination: bool,
}

fn include(q: &Query) -> Include {
    let list = q.array("include");
    let has = |v: &str| list.iter().any(|x| x == v);
    Include {
        event: has("event") || has("event.data"),
        event_data: has("event.data"),
        response_data: has("response_data"),
        destination: has("destination"),
    }
}

async fn attempt_json(s: &AppState, r: &AttemptRecord, inc: Include) -> Result<Value, ApiError> {
    let a = &r.attempt;
    let mut o = Map::new();
    o.insert("id".into(), json!(a.id));
    o.insert("tenant_id".into(), json!(a.tenant_id));
    o.insert("status".into(), json!(a.status));
    o.insert("time".into(), json!(format_rfc3339_nano(&a.time)));
    if !a.code.is_empty() {
        o.insert("code".into(), json!(a.code));
    }
    if inc.response_data
        && let Some(rd) = &a.response_data
    {
        o.insert("response_data".into(), rd.clone());
    }
    o.insert("attempt_number".into(), json!(a.attempt_number));
    o.insert("manual".into(), json!(a.manual));
    o.insert("destination_type".into(), json!(a.destination_type));
    o.insert("event_id".into(), json!(a.event_id));
    o.insert("destination_id".into(), json!(a.destination_id));
    if inc.event {
        let mut ev = event_json(&r.event, inc.event_data);
        if r.event.matched_destination_ids.is_empty()
            && let Some(m) = ev.as_object_mut()
        {
            m.remove("matched_destination_ids");
        }
        o.insert("event".into(), ev);
    }
    if inc.destination
        && let DestinationLookup::Found(d) = s
            .store
            .get_destination(&a.tenant_id, &a.destination_id)
            .await?
    {
        o.insert("destination".into(), s.registry.display(&d));
    }
    Ok(Value::Object(o))
}

async fn list_events(
    auth: Auth,
    State(s): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = Query::parse(raw.as_deref());
    let page = page_request(&q, "evt")?;
    let query = EventQuery {
        tenant_ids: scope_tenants(&auth, q.array("tenant_id"))?,
        ids: q.array("id"),
        destination_ids: q.array("destination_id"),
        topics: q.array("topic"),
        time: time_range(&q)?,
        page: page.clone(),
    };
    let res = s.logs.list_events(&query).await?;
    let models: Vec<Value> = res.items.iter().map(|e| event_json(e, true)).collect();
    Ok(ok(
        &json!({"models": models, "pagination": pagination("evt", &page, res.next, res.prev)}),
    ))
}

/// The tenant a single-item lookup is restricted to.
fn single_scope(auth: &Auth, q: &Query) -> Option<String> {
    match auth {
        Auth::Tenant(t) => Some(t.id.clone()),
        Auth::Admin => q
            .get("tenant_id")
            .filter(|t| !t.is_empty())
            .map(str::to_string),
    }
}

async fn get_event(
    auth: Auth,
    State(s): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = Query::parse(raw.as_deref());
    let tenant = single_scope(&auth, &q);
    let e = s
        .logs
        .get_event(tenant.as_deref(), &id)
        .await?
        .ok_or_else(|| ApiError::msg(StatusCode::NOT_FOUND, "event not found"))?;
    Ok(ok(&event_json(&e, true)))
}

fn attempt_query(
    auth: &Auth,
    q: &Query,
    destination: Option<String>,
) -> Result<AttemptQuery, ApiError> {
    let status = match q.get("status").filter(|v| !v.is_empty()) {
        None => None,
        Some("success") => Some(AttemptStatus::Success),
        Some("failed") => Some(AttemptStatus::Failed),
        Some(_) => {
            return Err(ApiError::query(
                "query.status",
                "must be 'success' or 'failed'",
            ));
        }
    };
    Ok(AttemptQuery {
        tenant_ids: scope_tenants(auth, q.array("tenant_id"))?,
        event_ids: q.array("event_id"),
        destination_ids: match destination {
            Some(d) => vec![d],
            None => q.array("destination_id"),
        },
        destination_types: q.array("destination_type"),
        status,
        topics: q.array("topic"),
        time: time_range(q)?,
        page: page_request(q, "att")?,
    })
}

async fn attempts_page(s: &AppState, q: &Query, query: AttemptQuery) -> Result<Response, ApiError> {
    let inc = include(q);
    let res = s.logs.list_attempts(&query).await?;
    let mut models = Vec::with_capacity(res.items.len());
    for r in &res.items {
        models.push(attempt_json(s, r, inc).await?);
    }
    Ok(ok(
        &json!({"models": models, "pagination": pagination("att", &query.page, res.next, res.prev)}),
    ))
}

async fn list_attempts(
    auth: Auth,
    State(s): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = Query::parse(raw.as_deref());
    let query = attempt_query(&auth, &q, None)?;
    attempts_page(&s, &q, query).await
}

async fn get_attempt(
    auth: Auth,
    State(s): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = Query::parse(raw.as_deref());
    let tenant = single_scope(&auth, &q);
    one_attempt(&s, &q, tenant.as_deref(), &id, None).await
}

/// One attempt of `tenant` (any when `None`), of `destination` when given, rendered as `q` asks.
async fn one_attempt(
    s: &AppState,
    q: &Query,
    tenant: Option<&str>,
    id: &str,
    destination: Option<&str>,
) -> Result<Response, ApiError> {
    let r = s
        .logs
        .get_attempt(tenant, id)
        .await?
        .filter(|r| destination.is_none_or(|d| r.attempt.destination_id == d))
        .ok_or_else(|| ApiError::msg(StatusCode::NOT_FOUND, "attempt not found"))?;
    Ok(ok(&attempt_json(s, &r, include(q)).await?))
}

async fn list_destination_attempts(
    auth: Auth,
    State(s): State<AppState>,
    Path((tenant_id, destination_id)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let t = auth.tenant(&s, &tenant_id).await?;
    let q = Query::parse(raw.as_deref());
    let mut query = attempt_query(&Auth::Admin, &q, Some(destination_id))?;
    query.tenant_ids = vec![t.id];
    attempts_page(&s, &q, query).await
}

async fn get_destination_attempt(
    auth: Auth,
    State(s): State<AppState>,
    Path((tenant_id, destination_id, attempt_id)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let t = auth.tenant(&s, &tenant_id).await?;
    let q = Query::parse(raw.as_deref());
    one_attempt(&s, &q, Some(&t.id), &attempt_id, Some(&destination_id)).await
}
