//! Process plumbing shared by the three services and the all-in-one binary: the `/healthz`
//! endpoint, structured logging setup, and the shutdown signal.

pub mod consume;
pub mod infra;

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use outpost_core::health::Health;
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// `GET /healthz` and `GET /api/v1/healthz` (liveness): 200 when every worker is healthy, else
/// 503. `GET /readyz` (readiness): the same, and 503 `draining` once shutdown has begun.
pub fn health_router<S: Clone + Send + Sync + 'static>(health: Health) -> Router<S> {
    let (h2, h3) = (health.clone(), health.clone());
    Router::new()
        .route("/healthz", get(move || healthz(health.clone())))
        .route("/api/v1/healthz", get(move || healthz(h2.clone())))
        .route("/readyz", get(move || readyz(h3.clone())))
}

async fn readyz(health: Health) -> impl IntoResponse {
    let (status, text) = if health.is_draining() {
        (StatusCode::SERVICE_UNAVAILABLE, "draining")
    } else if health.all_healthy() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "failed")
    };
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        json!({ "status": text }).to_string(),
    )
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

/// Runs the HTTP server and `workers` until SIGINT/SIGTERM (`shutdown`), in phases. At the
/// signal the process is marked draining (`/readyz` answers 503) and the workers, which watch
/// `shutdown`, stop taking work and finish what they hold. The HTTP server keeps serving until
/// the workers are done and `delay` has passed since the signal, then stops accepting and
/// finishes its in-flight requests. A worker that fails cancels `shutdown` itself.
pub async fn serve_until_drained<W>(
    listener: tokio::net::TcpListener,
    router: Router,
    health: Health,
    shutdown: CancellationToken,
    delay: std::time::Duration,
    workers: W,
) -> (std::io::Result<()>, W::Output)
where
    W: std::future::Future,
{
    let http_stop = CancellationToken::new();
    let http = serve_http(listener, router, http_stop.clone());
    let phases = async {
        let marker = async {
            shutdown.cancelled().await;
            health.set_draining();
            tracing::info!(
                delay_secs = delay.as_secs_f64(),
                "Draining: /readyz answers 503; finishing in-flight work."
            );
            tokio::time::sleep(delay).await;
        };
        let (out, ()) = tokio::join!(workers, marker);
        tracing::info!("Workers stopped; closing the HTTP server.");
        http_stop.cancel();
        out
    };
    tokio::join!(http, phases)
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

/// Runs `service` as a task on the runtime's worker threads and waits for it; a panic in it
/// goes on unwinding here.
///
/// A future driven by `block_on` (the body of `#[tokio::main]`, or `Runtime::block_on`) is
/// polled on the calling thread, outside the worker pool, and so is everything it runs without
/// spawning (a consumer's loop, the log writer): every message handed to them woke that thread
/// through a futex, a third thread contending with the two workers for the two cores. As a
/// task, it is polled by the workers like the rest.
///
/// `outpost serve` uses it only when the internal queues are in memory, where that wake-up was
/// paid per message, and no Service Bus queue is opened: processes started this way with Azure
/// Service Bus as the internal or the publish queue stalled, now and then, while opening its
/// links (the Service Bus client's token request was answered but never settled), so
/// processes with a broker keep `block_on`.
pub async fn on_workers<T: Send + 'static>(
    service: impl std::future::Future<Output = anyhow::Result<T>> + Send + 'static,
) -> anyhow::Result<T> {
    match tokio::spawn(service).await {
        Ok(r) => r,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => Err(anyhow::anyhow!("the service task was cancelled: {e}")),
    }
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
    let delay = std::time::Duration::from_secs(cfg.shutdown_delay_secs);
    let stop = shutdown.clone();
    let router = health_router(health.clone());
    let work = {
        let health = health.clone();
        let shutdown = shutdown.clone();
        async move {
            let r = workers(cfg, infra, health, shutdown).await;
            // A failed worker stops the process instead of leaving it up and healthy.
            if r.is_err() {
                stop.cancel();
            }
            r
        }
    };
    let (h, w) = serve_until_drained(listener, router, health, shutdown, delay, work).await;
    stop_telemetry().await;
    w?;
    h?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::on_workers;

    #[test]
    fn a_service_runs_on_a_worker_thread_and_its_outcome_comes_back() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let caller = std::thread::current().id();
        let ran_on = rt
            .block_on(on_workers(async { Ok(std::thread::current().id()) }))
            .unwrap();
        assert_ne!(ran_on, caller, "polled on the thread that called block_on");
        let err = rt
            .block_on(on_workers(async {
                anyhow::bail!("stopped") as anyhow::Result<()>
            }))
            .unwrap_err();
        assert_eq!(err.to_string(), "stopped");
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            rt.block_on(on_workers(async { panic!("boom") as anyhow::Result<()> }))
        }));
        assert!(panicked.is_err(), "the panic reaches the caller");
    }
}
