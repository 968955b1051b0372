//! Building the tracer, meter and logger providers from [`OtelConfig`]: one exporter per
//! signal (OTLP over gRPC or HTTP, or stdout), all under one resource naming the service.

use crate::http_client::RuntimeClient;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use outpost_config::{Exporter, OtelConfig, Protocol, Signal};
use std::collections::HashMap;
use std::time::Duration;

/// How long one export may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why OpenTelemetry could not start.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// A setting cannot be used.
    #[error("invalid configuration: {var}: {message}")]
    Config {
        /// The variable at fault.
        var: &'static str,
        /// What is wrong.
        message: String,
    },
    /// An exporter could not be built.
    #[error("cannot start the OpenTelemetry {signal} exporter")]
    Exporter {
        /// traces, metrics or logs.
        signal: &'static str,
        /// The SDK's error.
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },
    /// Not inside a Tokio runtime, or the HTTP client failed.
    #[error("cannot start OpenTelemetry: {0}")]
    Runtime(String),
}

/// The process's providers (each `None` when its signal is off).
#[derive(Debug, Default)]
pub struct Providers {
    traces: Option<SdkTracerProvider>,
    metrics: Option<SdkMeterProvider>,
    logs: Option<SdkLoggerProvider>,
    described: Vec<String>,
}

enum Built<O, S> {
    Otlp(O),
    Stdout(S),
}

impl Providers {
    /// Builds what `cfg` turns on (nothing without `OTEL_SERVICE_NAME`).
    pub fn build(cfg: &OtelConfig) -> Result<Self, TelemetryError> {
        let mut p = Self::default();
        let Some(name) = &cfg.service_name else {
            return Ok(p);
        };
        let resource = Resource::builder().with_service_name(name.clone()).build();
        let headers: HashMap<String, String> = cfg.headers.iter().cloned().collect();
        for signal in Signal::ALL {
            let exporter = cfg.exporter(signal);
            if *exporter == Exporter::None {
                continue;
            }
            p.described
                .push(format!("{}={}", label(signal), describe(exporter)));
            match signal {
                Signal::Traces => {
                    let b = SdkTracerProvider::builder().with_resource(resource.clone());
                    p.traces = Some(match span_exporter(exporter, &headers)? {
                        Built::Otlp(e) => b.with_batch_exporter(e).build(),
                        Built::Stdout(e) => b.with_batch_exporter(e).build(),
                    });
                }
                Signal::Metrics => {
                    let b = SdkMeterProvider::builder().with_resource(resource.clone());
                    p.metrics = Some(match metric_exporter(exporter, &headers)? {
                        Built::Otlp(e) => b.with_periodic_exporter(e).build(),
                        Built::Stdout(e) => b.with_periodic_exporter(e).build(),
                    });
                }
                Signal::Logs => {
                    let b = SdkLoggerProvider::builder().with_resource(resource.clone());
                    p.logs = Some(match log_exporter(exporter, &headers)? {
                        Built::Otlp(e) => b.with_batch_exporter(e).build(),
                        Built::Stdout(e) => b.with_batch_exporter(e).build(),
                    });
                }
            }
        }
        Ok(p)
    }

    /// The tracer the tracing layer records into.
    pub fn tracer(&self) -> Option<SdkTracer> {
        self.traces.as_ref().map(|t| t.tracer("outpost"))
    }

    /// Whether traces are exported.
    pub fn has_traces(&self) -> bool {
        self.traces.is_some()
    }

    /// The logger provider the log bridge writes to.
    pub fn logger_provider(&self) -> Option<&SdkLoggerProvider> {
        self.logs.as_ref()
    }

    /// Makes the tracer and meter providers global (the meter `outpost` reads them).
    pub fn install_globals(&self) {
        if let Some(t) = &self.traces {
            opentelemetry::global::set_tracer_provider(t.clone());
        }
        if let Some(m) = &self.metrics {
            opentelemetry::global::set_meter_provider(m.clone());
        }
    }

    /// `traces=otlp/http http://...` per enabled signal, for the start-up log line.
    pub fn describe(&self) -> String {
        self.described.join(", ")
    }

    /// Flushes and stops every provider.
    pub fn shutdown(&self) {
        if let Some(t) = &self.traces
            && let Err(e) = t.shutdown()
        {
            eprintln!("OpenTelemetry traces shutdown: {e}");
        }
        if let Some(m) = &self.metrics
            && let Err(e) = m.shutdown()
        {
            eprintln!("OpenTelemetry metrics shutdown: {e}");
        }
        if let Some(l) = &self.logs
            && let Err(e) = l.shutdown()
        {
            eprintln!("OpenTelemetry logs shutdown: {e}");
        }
    }
}

fn label(signal: Signal) -> &'static str {
    match signal {
        Signal::Traces => "traces",
        Signal::Metrics => "metrics",
        Signal::Logs => "logs",
    }
}

fn describe(e: &Exporter) -> String {
    match e {
        Exporter::None => "none".into(),
        Exporter::Console => "console".into(),
        Exporter::Otlp { protocol, endpoint } => format!(
            "otlp/{} {}",
            match protocol {
                Protocol::Grpc => "grpc",
                Protocol::Http => "http",
            },
            endpoint.as_deref().unwrap_or("(SDK default)")
        ),
    }
}

fn exporter_error(
    signal: &'static str,
) -> impl FnOnce(opentelemetry_otlp::ExporterBuildError) -> TelemetryError {
    move |source| TelemetryError::Exporter { signal, source }
}

/// gRPC here is plaintext: refuse an `https://` endpoint instead of failing on every export.
fn grpc_endpoint(endpoint: &Option<String>) -> Result<(), TelemetryError> {
    match endpoint {
        Some(e) if e.starts_with("https://") => Err(TelemetryError::Config {
            var: "OTEL_EXPORTER_OTLP_PROTOCOL",
            message: format!(
                "{e}: OTLP over gRPC with TLS is not supported by this build; use http/protobuf for an https collector"
            ),
        }),
        _ => Ok(()),
    }
}

fn metadata(headers: &HashMap<String, String>) -> tonic::metadata::MetadataMap {
    let mut map = tonic::metadata::MetadataMap::new();
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (
            k.parse::<tonic::metadata::MetadataKey<tonic::metadata::Ascii>>(),
            v.parse(),
        ) {
            map.insert(k, v);
        }
    }
    map
}

fn http_client() -> Result<RuntimeClient, TelemetryError> {
    RuntimeClient::new(EXPORT_TIMEOUT).map_err(TelemetryError::Runtime)
}

macro_rules! exporter_fn {
    ($name:ident, $otlp:ty, $stdout:ty, $signal:literal) => {
        fn $name(
            e: &Exporter,
            headers: &HashMap<String, String>,
        ) -> Result<Built<$otlp, $stdout>, TelemetryError> {
            let (protocol, endpoint) = match e {
                Exporter::Otlp { protocol, endpoint } => (*protocol, endpoint),
                _ => return Ok(Built::Stdout(<$stdout>::default())),
            };
            let built = match protocol {
                Protocol::Grpc => {
                    grpc_endpoint(endpoint)?;
                    let mut b = <$otlp>::builder()
                        .with_tonic()
                        .with_timeout(EXPORT_TIMEOUT)
                        .with_metadata(metadata(headers));
                    if let Some(ep) = endpoint {
                        b = b.with_endpoint(ep.clone());
                    }
                    b.build()
                }
                Protocol::Http => {
                    let mut b = <$otlp>::builder()
                        .with_http()
                        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                        .with_timeout(EXPORT_TIMEOUT)
                        .with_http_client(http_client()?)
                        .with_headers(headers.clone());
                    if let Some(ep) = endpoint {
                        b = b.with_endpoint(ep.clone());
                    }
                    b.build()
                }
            };
            built.map(Built::Otlp).map_err(exporter_error($signal))
        }
    };
}

exporter_fn!(
    span_exporter,
    opentelemetry_otlp::SpanExporter,
    opentelemetry_stdout::SpanExporter,
    "traces"
);
exporter_fn!(
    metric_exporter,
    opentelemetry_otlp::MetricExporter,
    opentelemetry_stdout::MetricExporter,
    "metrics"
);
exporter_fn!(
    log_exporter,
    opentelemetry_otlp::LogExporter,
    opentelemetry_stdout::LogExporter,
    "logs"
);
