//! The api-service: Outpost's REST API under `/api/v1` (tenants, destinations, topics,
//! destination types), authentication, `/healthz`, and the tenant portal at `/`.
//!
//! [`router`] builds the whole HTTP surface from an [`AppState`]; [`build_state`] wires the state
//! from configuration; [`run`] serves it until the shutdown token fires.

pub mod auth;
pub mod body;
pub mod error;
pub mod jwt;
pub mod observe;
pub mod portal;
pub mod publishmq;
pub mod query;
pub mod routes;
pub mod state;

pub use state::{ApiSettings, AppState, Pipeline, Shared};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use error::ApiError;
use outpost_config::Config;
use outpost_core::health::Health;
use outpost_destinations::Registry;
use outpost_runtime::infra::Infra;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Largest request body accepted (413 above).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// The complete HTTP router of the API.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .merge(routes::meta::router())
        .merge(routes::tenants::router())
        .merge(routes::destinations::router())
        .merge(routes::publish::router())
        .merge(routes::logs::router())
        .merge(routes::retry::router())
        .merge(routes::metrics::router())
        .fallback(not_found)
        .method_not_allowed_fallback(not_found)
        .layer(axum::middleware::from_fn(observe::observe))
        .with_state(state.clone());
    Router::new()
        .merge(outpost_runtime::health_router(state.health.clone()))
        .nest("/api/v1", api)
        .merge(portal::router(state.settings.portal.clone()))
        .layer(axum::middleware::map_response(too_large_as_json))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// axum answers an oversized body with a plain-text 413; the API answers in its JSON error
/// shape, naming the limit.
async fn too_large_as_json(response: axum::response::Response) -> axum::response::Response {
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE {
        return response;
    }
    error::json_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        &serde_json::json!({
            "status": 413,
            "message": format!("request body too large: the limit is {MAX_BODY_BYTES} bytes"),
        }),
    )
}

async fn not_found() -> ApiError {
    ApiError::msg(StatusCode::NOT_FOUND, "not found")
}

/// Builds the API state from configuration and the process infrastructure.
pub fn build_state(cfg: &Config, infra: &Infra, health: Health) -> Result<AppState, String> {
    let registry = Registry::new(&outpost_destinations::Settings {
        standard_webhooks: cfg.webhook.mode == outpost_config::WebhookMode::Standard,
        signing_secret_template: cfg.webhook.signing_secret_template.clone(),
        metadata_path: cfg.destinations_metadata_path.clone(),
        hookdeck_api_url: cfg.hookdeck_api_url.clone(),
    })?;
    Ok(AppState::from(Shared {
        settings: Arc::new(ApiSettings {
            api_key: cfg.api_key.clone(),
            jwt_secret: cfg.api_jwt_secret.clone(),
            deployment_id: cfg.deployment_id.clone(),
            topics: cfg.topics.clone(),
            max_destinations_per_tenant: cfg.max_destinations_per_tenant,
            idgen: cfg.idgen.clone(),
            portal: portal::PortalSettings::from_config(cfg),
        }),
        store: infra.store.clone(),
        registry: Arc::new(registry),
        health,
        pipeline: Pipeline {
            deliverymq: infra.deliverymq("api").map_err(|e| format!("{e:#}"))?,
            busy_lane: infra.busy_lane.clone(),
            idempotency: infra.publish_idempotency.clone(),
            idempotency_ttl: std::time::Duration::from_secs(cfg.publish_idempotency_ttl_secs),
        },
        logs: infra.log_store.clone(),
        opevents: infra.operator_events.clone(),
    }))
}

/// Serves the API on `listener` until `shutdown` is cancelled.
pub async fn run(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    state.health.set("http-server", true);
    let app = router(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

/// Runs the api service's workers until `shutdown`: the publish queue consumer when
/// `PUBLISH_*` names one (else nothing).
pub async fn run_workers(
    cfg: &Config,
    infra: &Infra,
    health: Health,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let Some(queue) = infra.publishmq.clone() else {
        return Ok(());
    };
    let state = build_state(cfg, infra, health.clone()).map_err(anyhow::Error::msg)?;
    publishmq::run(
        queue,
        state,
        cfg.publish_max_concurrency,
        std::time::Duration::from_secs(cfg.shutdown_grace_secs),
        health,
        shutdown,
    )
    .await;
    Ok(())
}

/// Builds the API router for a process from configuration.
pub async fn app(cfg: &Config, infra: &Infra, health: Health) -> anyhow::Result<Router> {
    let state = build_state(cfg, infra, health.clone()).map_err(anyhow::Error::msg)?;
    if cfg.api_key.is_empty() {
        tracing::warn!("API_KEY is empty: every request is treated as admin (VPC mode).");
    }
    health.set("http-server", true);
    Ok(router(state))
}
