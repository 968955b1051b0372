//! Trace context across the queues: [`current`] reads the current span's context as the
//! `telemetry` field of a queue message, [`adopt`] makes a span the child of the context a
//! message carried, and [`from_headers`] continues a caller's W3C `traceparent`.

use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use outpost_core::event::Telemetry;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// The current span's trace context, when it is being traced (`None` without OpenTelemetry).
pub fn current() -> Option<Telemetry> {
    let cx = tracing::Span::current().context();
    let span = cx.span();
    let sc = span.span_context();
    sc.is_valid().then(|| Telemetry {
        trace_id: sc.trace_id().to_string(),
        span_id: sc.span_id().to_string(),
        received_time: None,
    })
}

/// Makes `span` a child of the span that `telemetry` names (ignored when it is malformed or
/// tracing is off).
pub fn adopt(span: &tracing::Span, telemetry: Option<&Telemetry>) {
    let Some(t) = telemetry else { return };
    let (Ok(trace_id), Ok(span_id)) =
        (TraceId::from_hex(&t.trace_id), SpanId::from_hex(&t.span_id))
    else {
        return;
    };
    let sc = SpanContext::new(
        trace_id,
        span_id,
        TraceFlags::SAMPLED,
        true,
        TraceState::default(),
    );
    if sc.is_valid() {
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(sc));
    }
}

/// Makes `span` a child of the W3C `traceparent` header in `headers`, if there is a valid one.
pub fn from_headers(span: &tracing::Span, headers: &http::HeaderMap) {
    let Some(tp) = headers.get("traceparent").and_then(|v| v.to_str().ok()) else {
        return;
    };
    if let Some(t) = parse_traceparent(tp) {
        adopt(span, Some(&t));
    }
}

/// `00-<trace id>-<span id>-<flags>` → the ids; `None` for any other version or shape.
pub fn parse_traceparent(value: &str) -> Option<Telemetry> {
    let mut parts = value.trim().split('-');
    let (version, trace, span, flags) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (version == "00"
        && parts.next().is_none()
        && hex(trace, 32)
        && hex(span, 16)
        && hex(flags, 2)
        && trace.bytes().any(|b| b != b'0')
        && span.bytes().any(|b| b != b'0'))
    .then(|| Telemetry {
        trace_id: trace.to_ascii_lowercase(),
        span_id: span.to_ascii_lowercase(),
        received_time: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traceparent_is_parsed_strictly() {
        let t =
            parse_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01").unwrap();
        assert_eq!(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(t.span_id, "00f067aa0ba902b7");
        for bad in [
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
            "garbage",
        ] {
            assert!(parse_traceparent(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn untraced_process_has_no_context() {
        assert!(current().is_none());
    }
}
