//! Destinations of a tenant: list (type/topic filters), create, get, PATCH (merge-patch on the
//! string maps, full replace of topics and filter), delete, enable, disable.

use super::ok;
use crate::auth::Auth;
use crate::body;
use crate::error::{ApiError, json_response};
use crate::query::Query;
use crate::state::AppState;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, put};
use outpost_core::destination::{Destination, DestinationFilter};
use outpost_core::patch::MapPatch;
use outpost_core::ports::DestinationLookup;
use outpost_core::time::{Timestamp, now_ms};
use outpost_core::{filter, topic};
use serde_json::{Map, Value, json};

/// Routes of this module.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tenants/{tenant_id}/destinations", get(list).post(create))
        .route(
            "/tenants/{tenant_id}/destinations/{destination_id}",
            get(get_one).patch(update).delete(delete),
        )
        .route(
            "/tenants/{tenant_id}/destinations/{destination_id}/enable",
            put(enable),
        )
        .route(
            "/tenants/{tenant_id}/destinations/{destination_id}/disable",
            put(disable),
        )
}

async fn list(
    auth: Auth,
    State(s): State<AppState>,
    Path(tenant_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let t = auth.tenant(&s, &tenant_id).await?;
    let q = Query::parse(raw.as_deref());
    let f = DestinationFilter {
        types: q.array("type"),
        topics: q.array("topics"),
    };
    let shown: Vec<Value> = s
        .store
        .list_destinations(&t.id)
        .await?
        .iter()
        .filter(|d| f.accepts(d))
        .map(|d| s.registry.display(d))
        .collect();
    Ok(ok(&Value::Array(shown)))
}

/// Emits `tenant.subscription.updated` when a change altered the tenant's topics or
/// destination count (best effort, in the background).
fn subscription_changed(s: &AppState, before: outpost_core::tenant::Tenant) {
    if !s.opevents.enabled("tenant.subscription.updated") {
        return;
    }
    let s = s.clone();
    tokio::spawn(async move {
        let after = match s.store.get_tenant(&before.id).await {
            Ok(Some(t)) => t,
            _ => return,
        };
        if after.topics == before.topics && after.destinations_count == before.destinations_count {
            return;
        }
        let data = json!({
            "tenant_id": after.id,
            "topics": after.topics,
            "previous_topics": before.topics,
            "destinations_count": after.destinations_count,
            "previous_destinations_count": before.destinations_count,
        });
        if let Err(e) = s
            .opevents
            .emit("tenant.subscription.updated", Some(&after.id), data)
            .await
        {
            tracing::warn!(error = %e, tenant_id = %after.id, "Cannot emit tenant.subscription.updated.");
        }
    });
}

/// Loads a live destination; deleted or missing is 404 with an empty body.
async fn load(s: &AppState, tenant_id: &str, id: &str) -> Result<Destination, ApiError> {
    match s.store.get_destination(tenant_id, id).await? {
        DestinationLookup::Found(d) => Ok(std::sync::Arc::unwrap_or_clone(d)),
        _ => Err(ApiError::Empty(StatusCode::NOT_FOUND)),
    }
}

async fn get_one(
    auth: Auth,
    State(s): State<AppState>,
    Path((tenant_id, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let t = auth.tenant(&s, &tenant_id).await?;
    let d = load(&s, &t.id, &id).await?;
    Ok(ok(&s.registry.display(&d)))
}

fn not_future(field: &str, t: Option<Timestamp>, now: Timestamp) -> Result<(), ApiError> {
    if t.is_some_and(|t| t > now) {
        return Err(ApiError::unprocessable(format!(
            "{field} cannot be in the future"
        )));
    }
    Ok(())
}

fn parse_filter(v: Option<&Value>) -> Result<Option<Value>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) if o.is_empty() => Ok(None),
        Some(f @ Value::Object(_)) => {
            filter::validate(f).map_err(|e| ApiError::validation(vec![format!("filter {e}")]))?;
            Ok(Some(f.clone()))
        }
        Some(_) => Err(ApiError::invalid_json()),
    }
}

fn parse_topics(s: &AppState, v: &Value) -> Result<Vec<String>, ApiError> {
    let topics = topic::parse_topics(v).map_err(|e| ApiError::unprocessable(e.to_string()))?;
    s.settings
        .topics
        .validate(&topics)
        .map_err(|e| ApiError::unprocessable(e.to_string()))?;
    Ok(topic::normalize(&topics))
}

async fn create(
    auth: Auth,
    State(s): State<AppState>,
    Path(tenant_id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let t = auth.tenant(&s, &tenant_id).await?;
    let o: Map<String, Value> = body::object(&body)?;
    let kind = body::opt_str(&o, "type")?;
    let id = body::opt_str(&o, "id")?;
    let mut required = Vec::new();
    if kind.as_deref().is_none_or(str::is_empty) {
        required.push("type is required".to_string());
    }
    if o.get("topics").is_none_or(Value::is_null) {
        required.push("topics is required".to_string());
    }
    if !required.is_empty() {
        return Err(ApiError::validation(required));
    }
    let config = body::opt_map(&o, "config")?.unwrap_or_default();
    let credentials = body::opt_map(&o, "credentials")?.unwrap_or_default();
    let delivery_metadata = body::opt_map(&o, "delivery_metadata")?;
    let metadata = body::opt_map(&o, "metadata")?;
    let created_at = body::opt_time(&o, "created_at")?;
    let updated_at = body::opt_time(&o, "updated_at")?;
    let disabled_at = body::opt_time(&o, "disabled_at")?;
    if matches!(auth, Auth::Tenant(_)) && (created_at.is_some() || updated_at.is_some()) {
        return Err(ApiError::msg(
            StatusCode::FORBIDDEN,
            "created_at and updated_at can only be set with API key authentication",
        ));
    }
    let now = now_ms();
    not_future("created_at", created_at, now)?;
    not_future("updated_at", updated_at, now)?;
    not_future("disabled_at", disabled_at, now)?;
    let topics = parse_topics(&s, o.get("topics").unwrap_or(&Value::Null))?;
    let filter = parse_filter(o.get("filter"))?;
    let id = match id.filter(|i| !i.is_empty()) {
        Some(id) => {
            outpost_core::ids::validate_id(&id)
                .map_err(|e| ApiError::validation(vec![format!("id {e}")]))?;
            id
        }
        None => s.settings.idgen.destination(),
    };
    let created_at = created_at.unwrap_or(now);
    let mut d = Destination {
        id,
        tenant_id: t.id.clone(),
        kind: kind.unwrap_or_default(),
        topics,
        filter,
        config,
        credentials,
        delivery_metadata,
        metadata,
        created_at,
        updated_at: updated_at.unwrap_or(created_at),
        disabled_at,
    };
    s.registry.validate(&d)?;
    s.registry.preprocess(&mut d, None, auth.role()).await?;
    s.store
        .create_destination(&d, s.settings.max_destinations_per_tenant)
        .await?;
    subscription_changed(&s, t.clone());
    tracing::info!(tenant_id = %d.tenant_id, destination_id = %d.id, destination_type = %d.kind, "Destination created.");
    Ok(json_response(StatusCode::CREATED, &s.registry.display(&d)))
}

async fn update(
    auth: Auth,
    State(s): State<AppState>,
    Path((tenant_id, id)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let t = auth.tenant(&s, &tenant_id).await?;
    let original = load(&s, &t.id, &id).await?;
    let o: Map<String, Value> = body::object(&body)?;
    if let Some(kind) = body::opt_str(&o, "type")?
        && kind != original.kind
    {
        return Err(ApiError::unprocessable("type cannot be updated"));
    }
    let patches = |k: &str| MapPatch::from_json(o.get(k)).map_err(|_| ApiError::invalid_json());
    let (config_p, creds_p) = (patches("config")?, patches("credentials")?);
    let (dm_p, md_p) = (patches("delivery_metadata")?, patches("metadata")?);
    let now = now_ms();
    let mut d = original.clone();
    if let Some(v) = o.get("topics") {
        d.topics = parse_topics(&s, v)?;
    }
    if o.contains_key("filter") {
        d.filter = parse_filter(o.get("filter"))?;
    }
    if o.contains_key("disabled_at") {
        let at = body::opt_time(&o, "disabled_at")?;
        not_future("disabled_at", at, now)?;
        d.disabled_at = at;
    }
    d.config = config_p.apply(Some(&original.config)).unwrap_or_default();
    d.credentials = creds_p
        .apply(Some(&original.credentials))
        .unwrap_or_default();
    d.delivery_metadata = dm_p.apply(original.delivery_metadata.as_ref());
    d.metadata = md_p.apply(original.metadata.as_ref());
    d.updated_at = now;
    if !config_p.is_noop() || !creds_p.is_noop() {
        s.registry.validate(&d)?;
    }
    s.registry
        .preprocess(&mut d, Some(&original), auth.role())
        .await?;
    s.store.update_destination(&d).await?;
    subscription_changed(&s, t);
    tracing::info!(tenant_id = %d.tenant_id, destination_id = %d.id, "Destination updated.");
    Ok(ok(&s.registry.display(&d)))
}

async fn delete(
    auth: Auth,
    State(s): State<AppState>,
    Path((tenant_id, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let t = auth.tenant(&s, &tenant_id).await?;
    if !s.store.delete_destination(&t.id, &id).await? {
        return Err(ApiError::Empty(StatusCode::NOT_FOUND));
    }
    subscription_changed(&s, t.clone());
    tracing::info!(tenant_id = %t.id, destination_id = %id, "Destination deleted.");
    Ok(ok(&json!({"success": true})))
}

async fn set_disabled(
    s: &AppState,
    auth: &Auth,
    tenant_id: &str,
    id: &str,
    disabled: bool,
) -> Result<Response, ApiError> {
    let t = auth.tenant(s, tenant_id).await?;
    let mut d = load(s, &t.id, id).await?;
    if d.disabled_at.is_some() != disabled {
        d.disabled_at = disabled.then(now_ms);
        s.store.update_destination(&d).await?;
        subscription_changed(s, t.clone());
        tracing::info!(tenant_id = %t.id, destination_id = %id, "Destination {}.", if disabled { "disabled" } else { "enabled" });
    }
    Ok(ok(&s.registry.display(&d)))
}

async fn enable(
    auth: Auth,
    State(s): State<AppState>,
    Path((t, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    set_disabled(&s, &auth, &t, &id, false).await
}

async fn disable(
    auth: Auth,
    State(s): State<AppState>,
    Path((t, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    set_disabled(&s, &auth, &t, &id, true).await
}
