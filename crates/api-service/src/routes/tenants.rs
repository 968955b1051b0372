//! Tenants: upsert, get, delete (cascading), list with cursor pagination, tenant token and
//! portal redirect URL.

use super::ok;
use crate::auth::Auth;
use crate::body;
use crate::error::{ApiError, json_response};
use crate::jwt;
use crate::query::Query;
use crate::state::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use outpost_core::cursor;
use outpost_core::ports::page::PageRequest;
use outpost_core::ports::{TenantKey, TenantListQuery};
use outpost_core::tenant::TenantRecord;
use outpost_core::time::now_ms;
use serde_json::json;

/// Default and maximum page sizes of the tenant list.
pub const DEFAULT_LIMIT: usize = 20;
/// Largest page of the tenant list.
pub const MAX_LIMIT: usize = 100;

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tenants", get(list))
        .route(
            "/tenants/{tenant_id}",
            get(get_one).put(upsert).delete(delete),
        )
        .route("/tenants/{tenant_id}/token", get(token))
        .route("/tenants/{tenant_id}/portal", get(portal))
}

fn cursor_of(k: &TenantKey) -> String {
    cursor::encode("tnt", "01", &k.to_cursor_data())
}

async fn list(
    auth: Auth,
    State(s): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let q = Query::parse(raw.as_deref());
    let limit = match q.get("limit").filter(|v| !v.is_empty()) {
        None => DEFAULT_LIMIT,
        Some(v) => {
            let n: i64 = v
                .parse()
                .map_err(|_| ApiError::bad_request("invalid limit: must be an integer"))?;
            if !(1..=MAX_LIMIT as i64).contains(&n) {
                return Err(ApiError::bad_request(
                    "invalid limit: must be between 1 and 100",
                ));
            }
            n as usize
        }
    };
    let dir = q.dir()?;
    if let Auth::Tenant(t) = &auth {
        // A tenant sees only itself. Upstream leaves the pagination fields empty, which the
        // published SDKs refuse; answer a well-formed single page instead.
        return Ok(ok(&json!({
            "models": [t],
            "pagination": {"order_by": "created_at", "dir": dir.as_str(), "limit": limit, "next": null, "prev": null},
            "count": 1,
        })));
    }
    let cursor = q.cursor("tnt", TenantKey::parse)?;
    let page = s
        .store
        .list_tenants(&TenantListQuery {
            page: PageRequest { dir, limit, cursor },
            ids: q.array("id"),
        })
        .await?;
    Ok(ok(&json!({
        "models": page.page.items,
        "pagination": {
            "order_by": "created_at",
            "dir": dir.as_str(),
            "limit": limit,
            "next": page.page.next.as_ref().map(cursor_of),
            "prev": page.page.prev.as_ref().map(cursor_of),
        },
        "count": page.count,
    })))
}

async fn get_one(
    auth: Auth,
    State(s): State<AppState>,
    Path(tenant_id): Path<String>,
) -> Result<Response, ApiError> {
    let t = auth.tenant(&s, &tenant_id).await?;
    Ok(ok(&json!(t)))
}

async fn upsert(
    auth: Auth,
    State(s): State<AppState>,
    Path(tenant_id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    if let Err(e) = outpost_core::ids::validate_id(&tenant_id) {
        return Err(ApiError::validation(vec![format!("tenant_id {e}")]));
    }
    let existing = match &auth {
        // A tenant token may only update its own, existing tenant.
        Auth::Tenant(_) => Some(auth.tenant(&s, &tenant_id).await?),
        Auth::Admin => s.store.get_tenant(&tenant_id).await?,
    };
    let metadata = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let o = body::object(&body)?;
        body::opt_map(&o, "metadata")?
    };
    let now = now_ms();
    let (record, status) = match existing {
        Some(t) => (
            TenantRecord {
                id: t.id,
                metadata,
                created_at: t.created_at,
                updated_at: now,
            },
            StatusCode::OK,
        ),
        None => (
            TenantRecord {
                id: tenant_id.clone(),
                metadata,
                created_at: now,
                updated_at: now,
            },
            StatusCode::CREATED,
        ),
    };
    s.store.upsert_tenant(&record).await?;
    let t = s
        .store
        .get_tenant(&tenant_id)
        .await?
        .ok_or_else(|| ApiError::Internal("tenant vanished after upsert".into()))?;
    tracing::info!(tenant_id = %t.id, "Tenant {}.", if status == StatusCode::CREATED { "created" } else { "updated" });
    Ok(json_response(status, &json!(t)))
}

async fn delete(
    auth: Auth,
    State(s): State<AppState>,
    Path(tenant_id): Path<String>,
) -> Result<Response, ApiError> {
    let t = auth.tenant(&s, &tenant_id).await?;
    s.store.delete_tenant(&t.id).await?;
    tracing::info!(tenant_id = %t.id, "Tenant deleted.");
    Ok(ok(&json!({"success": true})))
}

fn issue_token(s: &AppState, tenant_id: &str) -> String {
    jwt::issue(
        &s.settings.jwt_secret,
        tenant_id,
        s.settings.deployment_id.as_deref(),
        chrono::Utc::now().timestamp(),
    )
}

async fn token(
    auth: Auth,
    State(s): State<AppState>,
    Path(tenant_id): Path<String>,
) -> Result<Response, ApiError> {
    auth.require_admin()?;
    let t = auth.tenant(&s, &tenant_id).await?;
    if s.settings.jwt_secret.is_empty() {
        return Err(ApiError::msg(
            StatusCode::INTERNAL_SERVER_ERROR,
            "API_JWT_SECRET is not configured: tenant tokens cannot be issued",
        ));
    }
    Ok(ok(
        &json!({"token": issue_token(&s, &t.id), "tenant_id": t.id}),
    ))
}

async fn portal(
    auth: Auth,
    State(s): State<AppState>,
    Path(tenant_id): Path<String>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    auth.require_admin()?;
    let t = auth.tenant(&s, &tenant_id).await?;
    if s.settings.jwt_secret.is_empty() {
        return Err(ApiError::msg(
            StatusCode::INTERNAL_SERVER_ERROR,
            "API_JWT_SECRET is not configured: portal links cannot be issued",
        ));
    }
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let mut url = format!("http://{host}?token={}", issue_token(&s, &t.id));
    if let Some(theme @ ("light" | "dark")) = Query::parse(raw.as_deref()).get("theme") {
        url.push_str(&format!("&theme={theme}"))
    }
    Ok(ok(&json!({"redirect_url": url, "tenant_id": t.id})))
}
