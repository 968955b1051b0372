//! `GET /metrics/events` and `GET /metrics/attempts` (spec §8.1): aggregates over the log by
//! time bucket and dimensions, zero-filled, with upstream's parameter errors.

use super::ok;
use crate::auth::Auth;
use crate::error::ApiError;
use crate::query::Query;
use crate::state::AppState;
use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use outpost_core::metrics::{
    ATTEMPT_DIMENSIONS, ATTEMPT_MEASURES, AggregateQuery, EVENT_DIMENSIONS, EVENT_MEASURES,
    Granularity, ROW_LIMIT, TOO_BROAD, compute,
};
use outpost_core::time::parse_rfc3339;
use serde_json::json;
use std::collections::BTreeMap;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/metrics/events", get(events))
        .route("/metrics/attempts", get(attempts))
}

#[derive(Clone, Copy)]
enum Kind {
    Events,
    Attempts,
}

impl Kind {
    fn measures(self) -> &'static [&'static str] {
        match self {
            Kind::Events => &EVENT_MEASURES,
            Kind::Attempts => &ATTEMPT_MEASURES,
        }
    }

    fn dimensions(self) -> &'static [&'static str] {
        match self {
            Kind::Events => &EVENT_DIMENSIONS,
            Kind::Attempts => &ATTEMPT_DIMENSIONS,
        }
    }
}

/// Parses the request into the store query and the measures.
fn parse(auth: &Auth, kind: Kind, q: &Query) -> Result<(AggregateQuery, Vec<String>), ApiError> {
    let (start, end) = match (
        q.get("time[start]").filter(|v| !v.is_empty()),
        q.get("time[end]").filter(|v| !v.is_empty()),
    ) {
        (Some(s), Some(e)) => (s, e),
        _ => {
            return Err(ApiError::bad_request(
                "time[start] and time[end] are required",
            ));
        }
    };
    let start = parse_rfc3339(start)
        .ok_or_else(|| ApiError::bad_request("invalid time[start]: expected RFC3339"))?;
    let end = parse_rfc3339(end)
        .ok_or_else(|| ApiError::bad_request("invalid time[end]: expected RFC3339"))?;
    if start >= end {
        return Err(ApiError::bad_request(
            "invalid time range: start must be before end",
        ));
    }
    let granularity = match q.get("granularity").filter(|g| !g.is_empty()) {
        Some(g) => Some(Granularity::parse(g).map_err(ApiError::bad_request)?),
        None => None,
    };
    let measures = q.array("measures");
    if measures.is_empty() {
        return Err(ApiError::bad_request("at least one measures[] is required"));
    }
    if let Some(m) = measures
        .iter()
        .find(|m| !kind.measures().contains(&m.as_str()))
    {
        return Err(ApiError::bad_request(format!("unknown measure {m:?}")));
    }
    let dimensions = q.array("dimensions");
    if let Some(d) = dimensions
        .iter()
        .find(|d| !kind.dimensions().contains(&d.as_str()))
    {
        return Err(ApiError::bad_request(format!("unknown dimension {d:?}")));
    }
    let mut filters: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in q.pairs() {
        let Some(rest) = k.strip_prefix("filters[") else {
            continue;
        };
        let Some((dim, _)) = rest.split_once(']') else {
            return Err(ApiError::bad_request(format!(
                "invalid filter parameter {k:?}"
            )));
        };
        if !kind.dimensions().contains(&dim) {
            return Err(ApiError::bad_request(format!("unknown filter {dim:?}")));
        }
        if !v.is_empty() {
            filters
                .entry(dim.to_string())
                .or_default()
                .push(v.to_string());
        }
    }
    if let Auth::Tenant(t) = auth {
        if dimensions.iter().any(|d| d == "tenant_id") {
            return Err(ApiError::msg(
                StatusCode::FORBIDDEN,
                "tenant_id dimension is not allowed for tenant-scoped requests",
            ));
        }
        if filters
            .get("tenant_id")
            .is_some_and(|v| v.iter().any(|x| *x != t.id))
        {
            return Err(ApiError::msg(
                StatusCode::FORBIDDEN,
                "filters[tenant_id] does not match authenticated tenant",
            ));
        }
        filters.insert("tenant_id".into(), vec![t.id.clone()]);
    }
    Ok((
        AggregateQuery {
            start,
            end,
            granularity,
            dimensions,
            filters,
        },
        measures,
    ))
}

async fn run(
    auth: Auth,
    s: AppState,
    raw: Option<String>,
    kind: Kind,
) -> Result<Response, ApiError> {
    let q = Query::parse(raw.as_deref());
    let (query, measures) = parse(&auth, kind, &q)?;
    if let Some(g) = query.granularity {
        // Refuse before touching the store when the bucket count alone is too large.
        g.buckets(query.start, query.end)
            .map_err(ApiError::bad_request)?;
    }
    let started = std::time::Instant::now();
    let rows = match kind {
        Kind::Events => s.logs.event_aggregates(&query).await,
        Kind::Attempts => s.logs.attempt_aggregates(&query).await,
    };
    let rows = match rows {
        Ok(r) => r,
        Err(e) if format!("{e:?}").contains(TOO_BROAD) || e.to_string().contains(TOO_BROAD) => {
            return Err(ApiError::bad_request(TOO_BROAD));
        }
        Err(e) => return Err(e.into()),
    };
    let (data, truncated) = compute(&query, &measures, &rows).map_err(ApiError::bad_request)?;
    let mut metadata = json!({
        "query_time_ms": started.elapsed().as_millis() as u64,
        "row_count": data.len(),
        "row_limit": ROW_LIMIT,
        "truncated": truncated,
    });
    if let Some(g) = query.granularity {
        metadata["granularity"] = json!(g.as_string());
    }
    Ok(ok(&json!({"data": data, "metadata": metadata})))
}

async fn events(
    auth: Auth,
    State(s): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    run(auth, s, raw, Kind::Events).await
}

async fn attempts(
    auth: Auth,
    State(s): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    run(auth, s, raw, Kind::Attempts).await
}
