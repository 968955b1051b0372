//! Process plumbing shared by the three services and the all-in-one binary: the `/healthz`
//! endpoint, structured logging setup, and the shutdown signal.

pub mod infra;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use outpost_core::health::Health;
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// `GET /healthz` and `GET /api/v1/healthz`: 200 when every worker is healthy, else 503.
pub fn health_router<S: Clone + Send + Sync + 'static>(health: Health) -> Router<S> {
    let h2 = health.clone();
    Router::new()
        .route("/healthz", get(move || healthz(health.clone())))
        .route("/api/v1/healthz", get(move || healthz(h2.clone())))
}

async fn healthz(health: Health) -> impl IntoResponse {
    let workers = health.snapshot();
    let healthy = workers.values().all(|h| *h);
    let body = json!({
        "status": if healthy { "healthy" } else { "failed" },
        "timestamp": outpost_core::time::format_rfc3339_nano(&chrono_now()),
        "workers": workers
            .iter()
            .map(|(k, v)| (k.clone(), json!({"status": if *v { "healthy" } else { "failed" }})))
            .collect::<serde_json::Map<_, _>>(),
    });
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
}

fn chrono_now() -> outpost_core::time::Timestamp {
    outpost_core::time::now_ms()
}

/// Installs JSON logs on stdout at `LOG_LEVEL` (overridable with `RUST_LOG`) and the
/// OpenTelemetry exporters the `OTEL_*` settings ask for. Call inside the Tokio runtime.
pub fn init_telemetry(cfg: &outpost_config::Config) -> anyhow::Result<()> {
    outpost_telemetry::init(&cfg.log_level, &cfg.otel)?;
    Ok(())
}

/// Flushes the OpenTelemetry exporters before the process exits.
pub async fn stop_telemetry() {
    let _ = tokio::task::spawn_blocking(outpost_telemetry::shutdown).await;
}

/// A token cancelled on SIGINT or SIGTERM.
pub fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(_) => {
                        let _ = ctrl_c.await;
                        t.cancel();
                        return;
                    }
                };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = ctrl_c.await;
        }
        tracing::info!("Shutdown signal received.");
        t.cancel();
    });
    token
}

/// Serves `router` on `listener` until `shutdown` fires.
pub async fn serve_http(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

/// Loads and validates the configuration for a process. `forced` is the service a
/// single-service binary runs; a conflicting `SERVICE` setting is an error.
pub fn load_config(
    config_path: Option<&std::path::Path>,
    forced: Option<outpost_config::Service>,
) -> anyhow::Result<outpost_config::Config> {
    let mut cfg = outpost_config::Config::load(config_path)?;
    if let Some(f) = forced {
        if cfg.raw.is_set("SERVICE")
            && cfg.service != f
            && cfg.service != outpost_config::Service::All
        {
            anyhow::bail!(
                "invalid configuration: SERVICE: this binary runs the {} service but SERVICE={}",
                f.as_str(),
                cfg.service.as_str()
            );
        }
        cfg.service = f;
    }
    Ok(cfg)
}

/// Binds the HTTP port on all interfaces.
pub async fn bind(port: u16) -> anyhow::Result<tokio::net::TcpListener> {
    use anyhow::Context;
    tokio::net::TcpListener::bind(("0.0.0.0", port))
        .await
        .with_context(|| format!("cannot listen on port {port} (API_PORT)"))
}

/// The `main` of a worker service binary (delivery, log): configuration for `service`,
/// infrastructure, `/healthz` on `API_PORT`, and `workers` until SIGINT/SIGTERM.
pub async fn worker_main<F, Fut>(service: outpost_config::Service, workers: F) -> anyhow::Result<()>
where
    F: FnOnce(outpost_config::Config, infra::Infra, Health, CancellationToken) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let cfg = load_config(None, Some(service))?;
    init_telemetry(&cfg)?;
    let shutdown = shutdown_on_signal();
    let infra = infra::Infra::connect(&cfg).await?;
    let health = Health::new();
    let listener = bind(cfg.api_port).await?;
    let http = serve_http(listener, health_router(health.clone()), shutdown.clone());
    let stop = shutdown.clone();
    let work = async move {
        let r = workers(cfg, infra, health, shutdown).await;
        // A failed worker stops the process instead of leaving it up and healthy.
        if r.is_err() {
            stop.cancel();
        }
        r
    };
    let (h, w) = tokio::join!(http, work);
    stop_telemetry().await;
    w?;
    h?;
    Ok(())
}
