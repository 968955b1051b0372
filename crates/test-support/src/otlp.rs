//! A local OpenTelemetry collector for tests: accepts OTLP over HTTP (protobuf bodies on
//! `/v1/traces`, `/v1/metrics`, `/v1/logs`) and over gRPC, and keeps what it received —
//! spans with their ids and parents, metric names, log bodies — by service name.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{
    LogsService, LogsServiceServer,
};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{
    TraceService, TraceServiceServer,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One received span.
#[derive(Debug, Clone)]
pub struct Span {
    /// `service.name` of its resource.
    pub service: String,
    /// Span name.
    pub name: String,
    /// 32 hex digits.
    pub trace_id: String,
    /// 16 hex digits.
    pub span_id: String,
    /// 16 hex digits, empty for a root span.
    pub parent_span_id: String,
    /// String forms of its attributes.
    pub attributes: BTreeMap<String, String>,
}

/// Everything received so far.
#[derive(Debug, Default, Clone)]
pub struct Received {
    /// Spans in arrival order.
    pub spans: Vec<Span>,
    /// (service, metric name) pairs, in arrival order.
    pub metrics: Vec<(String, String)>,
    /// (service, log body) pairs, in arrival order.
    pub logs: Vec<(String, String)>,
    /// Export requests per transport: (`http` | `grpc`, signal).
    pub requests: Vec<(&'static str, &'static str)>,
}

/// A running collector.
#[derive(Clone)]
pub struct Collector {
    inner: Arc<Mutex<Received>>,
    /// `http://127.0.0.1:<port>` of the OTLP/HTTP listener.
    pub http: String,
    /// `http://127.0.0.1:<port>` of the OTLP/gRPC listener.
    pub grpc: String,
}

impl Collector {
    /// Starts both listeners on free loopback ports.
    pub async fn start() -> Collector {
        let inner = Arc::new(Mutex::new(Received::default()));
        let http_l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let grpc_l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let c = Collector {
            inner: inner.clone(),
            http: format!("http://{}", http_l.local_addr().expect("addr")),
            grpc: format!("http://{}", grpc_l.local_addr().expect("addr")),
        };
        let app = Router::new()
            .route("/v1/traces", post(http_traces))
            .route("/v1/metrics", post(http_metrics))
            .route("/v1/logs", post(http_logs))
            .with_state(c.clone());
        tokio::spawn(async move { axum::serve(http_l, app).await });
        let g = Grpc(c.clone());
        tokio::spawn(async move {
            tonic::transport::Server::builder()
                .add_service(TraceServiceServer::new(g.clone()))
                .add_service(MetricsServiceServer::new(g.clone()))
                .add_service(LogsServiceServer::new(g))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(grpc_l))
                .await
        });
        c
    }

    /// A copy of what was received.
    pub fn received(&self) -> Received {
        self.inner.lock().expect("collector lock").clone()
    }

    /// Waits until `ready` holds for what was received, or panics after `timeout` naming
    /// `what` and showing what did arrive.
    pub async fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        ready: impl Fn(&Received) -> bool,
    ) -> Received {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let r = self.received();
            if ready(&r) {
                return r;
            }
            if tokio::time::Instant::now() > deadline {
                let names: Vec<_> = r.spans.iter().map(|s| (&s.service, &s.name)).collect();
                panic!(
                    "collector: {what} not received in {timeout:?}; spans {names:?}, metrics {:?}, {} log records, requests {:?}",
                    r.metrics,
                    r.logs.len(),
                    r.requests
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn traces(&self, transport: &'static str, req: ExportTraceServiceRequest) {
        let mut r = self.inner.lock().expect("collector lock");
        r.requests.push((transport, "traces"));
        for rs in req.resource_spans {
            let service = service_name(rs.resource.as_ref());
            for ss in rs.scope_spans {
                for s in ss.spans {
                    r.spans.push(Span {
                        service: service.clone(),
                        name: s.name,
                        trace_id: hex(&s.trace_id),
                        span_id: hex(&s.span_id),
                        parent_span_id: hex(&s.parent_span_id),
                        attributes: s.attributes.iter().map(kv).collect(),
                    });
                }
            }
        }
    }

    fn metrics(&self, transport: &'static str, req: ExportMetricsServiceRequest) {
        let mut r = self.inner.lock().expect("collector lock");
        r.requests.push((transport, "metrics"));
        for rm in req.resource_metrics {
            let service = service_name(rm.resource.as_ref());
            for sm in rm.scope_metrics {
                for m in sm.metrics {
                    r.metrics.push((service.clone(), m.name));
                }
            }
        }
    }

    fn logs(&self, transport: &'static str, req: ExportLogsServiceRequest) {
        let mut r = self.inner.lock().expect("collector lock");
        r.requests.push((transport, "logs"));
        for rl in req.resource_logs {
            let service = service_name(rl.resource.as_ref());
            for sl in rl.scope_logs {
                for l in sl.log_records {
                    r.logs.push((
                        service.clone(),
                        l.body.as_ref().map(value).unwrap_or_default(),
                    ));
                }
            }
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn value(v: &AnyValue) -> String {
    match &v.value {
        Some(any_value::Value::StringValue(s)) => s.clone(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

fn kv(k: &KeyValue) -> (String, String) {
    (
        k.key.clone(),
        k.value.as_ref().map(value).unwrap_or_default(),
    )
}

fn service_name(r: Option<&Resource>) -> String {
    r.and_then(|r| r.attributes.iter().find(|a| a.key == "service.name"))
        .map(|a| kv(a).1)
        .unwrap_or_default()
}

async fn http_traces(State(c): State<Collector>, body: Bytes) -> StatusCode {
    match ExportTraceServiceRequest::decode(body) {
        Ok(req) => {
            c.traces("http", req);
            StatusCode::OK
        }
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

async fn http_metrics(State(c): State<Collector>, body: Bytes) -> StatusCode {
    match ExportMetricsServiceRequest::decode(body) {
        Ok(req) => {
            c.metrics("http", req);
            StatusCode::OK
        }
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

async fn http_logs(State(c): State<Collector>, body: Bytes) -> StatusCode {
    match ExportLogsServiceRequest::decode(body) {
        Ok(req) => {
            c.logs("http", req);
            StatusCode::OK
        }
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

#[derive(Clone)]
struct Grpc(Collector);

#[tonic::async_trait]
impl TraceService for Grpc {
    async fn export(
        &self,
        req: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        self.0.traces("grpc", req.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for Grpc {
    async fn export(
        &self,
        req: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        self.0.metrics("grpc", req.into_inner());
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl LogsService for Grpc {
    async fn export(
        &self,
        req: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
        self.0.logs("grpc", req.into_inner());
        Ok(tonic::Response::new(ExportLogsServiceResponse::default()))
    }
}
