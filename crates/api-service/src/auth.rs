//! Authentication: the admin API key (compared in constant time), tenant JWTs, VPC mode, and
//! the per-route rules (admin-only routes, tenant scoping) with upstream's 401/403/404 answers.

use crate::error::ApiError;
use crate::jwt;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use outpost_core::tenant::Tenant;
use subtle::ConstantTimeEq;

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// The admin API key (or VPC mode).
    Admin,
    /// A tenant JWT for this (existing) tenant.
    Tenant(Tenant),
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let s = &state.settings;
        if s.api_key.is_empty() {
            return Ok(Auth::Admin);
        }
        let unauthorized = ApiError::Empty(StatusCode::UNAUTHORIZED);
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| ApiError::Empty(StatusCode::UNAUTHORIZED))?;
        if token.as_bytes().ct_eq(s.api_key.as_bytes()).unwrap_u8() == 1 {
            return Ok(Auth::Admin);
        }
        let now = chrono::Utc::now().timestamp();
        let claims = jwt::verify(&s.jwt_secret, token, now).ok_or(unauthorized)?;
        match state.store.get_tenant(&claims.sub).await? {
            Some(t) => Ok(Auth::Tenant(t)),
            // A token for a deleted tenant is stale.
            None => Err(ApiError::Empty(StatusCode::UNAUTHORIZED)),
        }
    }
}

impl Auth {
    /// Refuses tenant tokens on admin-only routes (403, empty body).
    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self {
            Auth::Admin => Ok(()),
            Auth::Tenant(_) => Err(ApiError::Empty(StatusCode::FORBIDDEN)),
        }
    }

    /// The role for destination rules.
    pub fn role(&self) -> outpost_destinations::Role {
        match self {
            Auth::Admin => outpost_destinations::Role::Admin,
            Auth::Tenant(_) => outpost_destinations::Role::Tenant,
        }
    }

    /// Resolves the tenant of a `/tenants/:tenant_id/...` route: a tenant token must match the
    /// path (403); an admin gets 404 `tenant not found` for a missing tenant.
    pub async fn tenant(&self, state: &AppState, tenant_id: &str) -> Result<Tenant, ApiError> {
        match self {
            Auth::Tenant(t) if t.id == tenant_id => Ok(t.clone()),
            Auth::Tenant(_) => Err(ApiError::Empty(StatusCode::FORBIDDEN)),
            Auth::Admin => state
                .store
                .get_tenant(tenant_id)
                .await?
                .ok_or_else(|| ApiError::msg(StatusCode::NOT_FOUND, "tenant not found")),
        }
    }
}
