//! Request observation: one span per API request (the child of a caller's W3C `traceparent`),
//! and `outpost.api_calls` / `outpost.api_response_latency` by method and route template.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The middleware (`axum::middleware::from_fn(observe)`).
pub async fn observe(req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let method = req.method().as_str().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let span = tracing::info_span!(
        "http",
        otel.name = %format!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = %route,
        http.response.status_code = tracing::field::Empty,
    );
    outpost_telemetry::context::from_headers(&span, req.headers());
    let resp = next.run(req).instrument(span.clone()).await;
    if outpost_telemetry::traces_enabled() {
        // Only the exported span reads it: nothing is logged in the span after this.
        span.record("http.response.status_code", resp.status().as_u16());
    }
    let m = outpost_telemetry::metrics::metrics();
    let attrs = outpost_telemetry::metrics::attrs([("method", method), ("path", route)]);
    m.api_calls.add(1, &attrs);
    m.api_response_latency
        .record(started.elapsed().as_millis() as u64, &attrs);
    resp
}
