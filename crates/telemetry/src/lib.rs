//! OpenTelemetry for every service (upstream's §8.2): [`init`] installs the process's logging
//! (JSON lines on stdout, with the ids of the current span) and, when `OTEL_SERVICE_NAME` is set,
//! exporters of traces, metrics and logs over OTLP (gRPC or HTTP) or to stdout.
//!
//! Traces follow an event across processes: the API's receive span travels in the queue
//! messages' `telemetry` field ([`context`]), the delivery span is its child, the log write the
//! delivery's child. [`metrics`] holds the service counters and histograms.

pub mod context;
mod http_client;
pub mod metrics;
mod providers;
mod span_fields;

pub use context::{adopt, current};
pub use providers::TelemetryError;
pub use span_fields::JsonSpanFields;

use outpost_config::OtelConfig;
use std::sync::OnceLock;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

static PROVIDERS: OnceLock<providers::Providers> = OnceLock::new();

/// Dependencies whose own spans and events must not be exported: they are the exporters' own
/// transport, and exporting them would feed back into themselves.
const QUIET: &str = "hyper=off,hyper_util=off,h2=off,tonic=off,tower=off,reqwest=off,opentelemetry=off,opentelemetry_sdk=off,opentelemetry_otlp=off";

/// Installs logging at `level` (overridable with `RUST_LOG`) and the OpenTelemetry exporters
/// `otel` asks for. Call once, inside the Tokio runtime, before the services start; a second
/// call changes nothing.
pub fn init(level: &str, otel: &OtelConfig) -> Result<(), TelemetryError> {
    let providers = providers::Providers::build(otel)?;
    let fmt_filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let fmt = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .fmt_fields(JsonSpanFields)
        .with_filter(fmt_filter);
    let traces = providers.tracer().map(|tracer| {
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            .with_filter(tracing_subscriber::EnvFilter::new(format!("info,{QUIET}")))
    });
    let logs = providers.logger_provider().map(|p| {
        opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge::new(p).with_filter(
            tracing_subscriber::EnvFilter::new(format!("{level},{QUIET}")),
        )
    });
    let installed = tracing_subscriber::registry()
        .with(fmt)
        .with(traces)
        .with(logs)
        .try_init()
        .is_ok();
    if installed {
        providers.install_globals();
        if let Some(name) = &otel.service_name {
            tracing::info!(service_name = %name, signals = %providers.describe(), "OpenTelemetry enabled.");
        }
        let _ = PROVIDERS.set(providers);
    }
    Ok(())
}

/// Whether spans are exported (`init` installed an OpenTelemetry tracer). Fields recorded on a
/// span after its creation only matter then: without it they are formatted for nothing.
pub fn traces_enabled() -> bool {
    PROVIDERS.get().is_some_and(|p| p.has_traces())
}

/// Flushes and stops the exporters (a no-op without OpenTelemetry). Blocks until the pending
/// data is sent or the exporters give up; call it from a blocking context at exit.
pub fn shutdown() {
    if let Some(p) = PROVIDERS.get() {
        p.shutdown();
    }
}
