//! OpenTelemetry settings (`OTEL_*`), resolved per signal with upstream's rules: enabled only
//! with `OTEL_SERVICE_NAME`; exporter `OTEL_<SIGNAL>_EXPORTER` > `OTEL_EXPORTER` > `otlp`;
//! protocol `OTEL_EXPORTER_OTLP_<SIGNAL>_PROTOCOL` > `OTEL_EXPORTER_OTLP_PROTOCOL` >
//! `OTEL_PROTOCOL` > `grpc`; and when only some signals name an endpoint (and the generic
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is unset), the others are off.

use crate::{ConfigError, RawSettings, opt};

/// A telemetry signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Spans.
    Traces,
    /// Counters and histograms.
    Metrics,
    /// Log records.
    Logs,
}

impl Signal {
    /// All three, in order.
    pub const ALL: [Signal; 3] = [Signal::Traces, Signal::Metrics, Signal::Logs];

    /// `TRACES`, `METRICS` or `LOGS`, as in the variable names.
    pub fn upper(self) -> &'static str {
        match self {
            Signal::Traces => "TRACES",
            Signal::Metrics => "METRICS",
            Signal::Logs => "LOGS",
        }
    }

    /// The OTLP/HTTP path of the signal (`/v1/traces`, ...).
    pub fn http_path(self) -> &'static str {
        match self {
            Signal::Traces => "/v1/traces",
            Signal::Metrics => "/v1/metrics",
            Signal::Logs => "/v1/logs",
        }
    }
}

/// OTLP transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// OTLP over gRPC.
    Grpc,
    /// OTLP over HTTP with protobuf bodies.
    Http,
}

/// Where one signal goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exporter {
    /// Not exported.
    None,
    /// Written to stdout.
    Console,
    /// Sent over OTLP; `endpoint` is the full URL to send to (`None`: the SDK's default).
    Otlp {
        /// Transport.
        protocol: Protocol,
        /// Full endpoint URL (for HTTP, including the signal's path).
        endpoint: Option<String>,
    },
}

/// Resolved OpenTelemetry settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OtelConfig {
    /// `OTEL_SERVICE_NAME`; `None` = OpenTelemetry off.
    pub service_name: Option<String>,
    /// `OTEL_EXPORTER_OTLP_HEADERS`: extra request headers/metadata of every OTLP export.
    pub headers: Vec<(String, String)>,
    /// Traces, metrics, logs (only meaningful when `service_name` is set).
    pub signals: Vec<(Signal, Exporter)>,
}

impl OtelConfig {
    /// The exporter of `signal` (`None` when OpenTelemetry is off).
    pub fn exporter(&self, signal: Signal) -> &Exporter {
        self.signals
            .iter()
            .find(|(s, _)| *s == signal)
            .map_or(&Exporter::None, |(_, e)| e)
    }

    /// Whether any signal is exported.
    pub fn enabled(&self) -> bool {
        self.service_name.is_some() && self.signals.iter().any(|(_, e)| *e != Exporter::None)
    }

    /// Reads the settings.
    pub fn from_raw(raw: &RawSettings) -> Result<Self, ConfigError> {
        let Some(service_name) = opt(raw, "OTEL_SERVICE_NAME") else {
            return Ok(Self::default());
        };
        let generic_endpoint = opt(raw, "OTEL_EXPORTER_OTLP_ENDPOINT");
        let any_signal_endpoint = Signal::ALL
            .iter()
            .any(|s| opt(raw, &signal_var(*s, "ENDPOINT")).is_some());
        let mut signals = Vec::new();
        for signal in Signal::ALL {
            let exporter_var = format!("OTEL_{}_EXPORTER", signal.upper());
            let (var, name) = match opt(raw, &exporter_var) {
                Some(v) => (exporter_var, v),
                None => (
                    "OTEL_EXPORTER".to_string(),
                    opt(raw, "OTEL_EXPORTER").unwrap_or_else(|| "otlp".into()),
                ),
            };
            let own_endpoint = opt(raw, &signal_var(signal, "ENDPOINT"));
            let exporter = match name.trim().to_ascii_lowercase().as_str() {
                "none" => Exporter::None,
                "console" | "stdout" => Exporter::Console,
                "otlp" => {
                    let protocol = protocol(raw, signal)?;
                    let endpoint = match (&own_endpoint, &generic_endpoint) {
                        (Some(e), _) => Some(e.clone()),
                        (None, Some(base)) => Some(match protocol {
                            Protocol::Http => {
                                format!("{}{}", base.trim_end_matches('/'), signal.http_path())
                            }
                            Protocol::Grpc => base.clone(),
                        }),
                        (None, None) => None,
                    };
                    if endpoint.is_none() && any_signal_endpoint {
                        Exporter::None
                    } else {
                        Exporter::Otlp { protocol, endpoint }
                    }
                }
                other => {
                    return Err(ConfigError::new(
                        &var,
                        format!("unknown exporter {other:?}: use otlp, console or none"),
                    ));
                }
            };
            signals.push((signal, exporter));
        }
        let headers = match opt(raw, "OTEL_EXPORTER_OTLP_HEADERS") {
            Some(h) => parse_headers(&h)?,
            None => Vec::new(),
        };
        Ok(Self {
            service_name: Some(service_name),
            headers,
            signals,
        })
    }
}

/// `k1=v1,k2=v2` (values percent-decoded as the OpenTelemetry specification says).
fn parse_headers(text: &str) -> Result<Vec<(String, String)>, ConfigError> {
    text.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').ok_or_else(|| {
                ConfigError::new(
                    "OTEL_EXPORTER_OTLP_HEADERS",
                    format!("{:?} is not key=value", pair.trim()),
                )
            })?;
            let v = percent_decode(v.trim());
            Ok((k.trim().to_ascii_lowercase(), v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn signal_var(signal: Signal, what: &str) -> String {
    format!("OTEL_EXPORTER_OTLP_{}_{what}", signal.upper())
}

fn protocol(raw: &RawSettings, signal: Signal) -> Result<Protocol, ConfigError> {
    for var in [
        signal_var(signal, "PROTOCOL"),
        "OTEL_EXPORTER_OTLP_PROTOCOL".into(),
        "OTEL_PROTOCOL".into(),
    ] {
        if let Some(v) = opt(raw, &var) {
            return match v.trim().to_ascii_lowercase().as_str() {
                "grpc" => Ok(Protocol::Grpc),
                "http" | "http/protobuf" => Ok(Protocol::Http),
                other => Err(ConfigError::new(
                    &var,
                    format!("unsupported OTLP protocol {other:?}: use grpc or http/protobuf"),
                )),
            };
        }
    }
    Ok(Protocol::Grpc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(pairs: &[(&str, &str)]) -> Result<OtelConfig, ConfigError> {
        OtelConfig::from_raw(&RawSettings::from_pairs(pairs)?)
    }

    #[test]
    fn off_without_a_service_name() {
        let c = load(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://x:4317")]).unwrap();
        assert!(!c.enabled());
        assert_eq!(*c.exporter(Signal::Traces), Exporter::None);
    }

    #[test]
    fn generic_endpoint_gets_signal_paths_over_http() {
        let c = load(&[
            ("OTEL_SERVICE_NAME", "outpost"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://col:4318/"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_LOGS_PROTOCOL", "grpc"),
        ])
        .unwrap();
        assert_eq!(
            *c.exporter(Signal::Metrics),
            Exporter::Otlp {
                protocol: Protocol::Http,
                endpoint: Some("http://col:4318/v1/metrics".into())
            }
        );
        assert_eq!(
            *c.exporter(Signal::Logs),
            Exporter::Otlp {
                protocol: Protocol::Grpc,
                endpoint: Some("http://col:4318/".into())
            }
        );
    }

    #[test]
    fn one_signal_endpoint_turns_the_others_off() {
        let c = load(&[
            ("OTEL_SERVICE_NAME", "outpost"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://col:4317"),
        ])
        .unwrap();
        assert_eq!(
            *c.exporter(Signal::Traces),
            Exporter::Otlp {
                protocol: Protocol::Grpc,
                endpoint: Some("http://col:4317".into())
            }
        );
        assert_eq!(*c.exporter(Signal::Metrics), Exporter::None);
        assert_eq!(*c.exporter(Signal::Logs), Exporter::None);
    }

    #[test]
    fn headers_are_parsed_and_decoded() {
        let c = load(&[
            ("OTEL_SERVICE_NAME", "o"),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "Authorization=Basic%20abc, x-team=core",
            ),
        ])
        .unwrap();
        assert_eq!(
            c.headers,
            vec![
                ("authorization".to_string(), "Basic abc".to_string()),
                ("x-team".to_string(), "core".to_string())
            ]
        );
        let e = load(&[
            ("OTEL_SERVICE_NAME", "o"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "nokey"),
        ]);
        assert_eq!(e.unwrap_err().var, "OTEL_EXPORTER_OTLP_HEADERS");
    }

    #[test]
    fn exporter_precedence_and_errors() {
        let c = load(&[
            ("OTEL_SERVICE_NAME", "outpost"),
            ("OTEL_EXPORTER", "none"),
            ("OTEL_METRICS_EXPORTER", "console"),
        ])
        .unwrap();
        assert_eq!(*c.exporter(Signal::Traces), Exporter::None);
        assert_eq!(*c.exporter(Signal::Metrics), Exporter::Console);
        let e = load(&[("OTEL_SERVICE_NAME", "o"), ("OTEL_EXPORTER", "zipkin")]).unwrap_err();
        assert_eq!(e.var, "OTEL_EXPORTER");
        let e = load(&[("OTEL_SERVICE_NAME", "o"), ("OTEL_PROTOCOL", "thrift")]).unwrap_err();
        assert_eq!(e.var, "OTEL_PROTOCOL");
        assert!(e.message.contains("grpc"));
    }
}
