//! What the JSON log layer costs per delivery span, with the stock `JsonFields` and with
//! [`outpost_telemetry::JsonSpanFields`], against the registry alone:
//! `cargo run --release -p outpost-telemetry --example span_cost [spans]`.
//!
//! The span is the delivery service's (six fields, two recorded later only when traces are
//! exported); the lines go to a sink, and nothing is logged inside the span, as on the
//! delivery path when a delivery succeeds.

use std::time::Instant;
use tracing_subscriber::layer::SubscriberExt;

fn spans(n: u32) {
    for i in 0..n {
        let tenant = format!("tenant_{}", i % 100);
        let destination = "des_0123456789abcdef";
        let event = format!("evt_{i:016}");
        let span = tracing::info_span!(
            "delivery",
            otel.name = "EventTracer.Deliver",
            tenant_id = %tenant,
            destination_id = %destination,
            event_id = %event,
            attempt = 1u32,
            destination_type = tracing::field::Empty,
            code = tracing::field::Empty,
        );
        std::hint::black_box(span.in_scope(|| i));
    }
}

fn per_span(n: u32, subscriber: impl tracing::Subscriber + Send + Sync) -> f64 {
    let started = Instant::now();
    tracing::subscriber::with_default(subscriber, || spans(n));
    started.elapsed().as_nanos() as f64 / f64::from(n)
}

fn main() {
    let n = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000u32);
    let layer = || {
        tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::sink)
    };
    println!("{n} delivery spans, ns per span (three rounds):");
    for round in 1..=3 {
        let stock = per_span(n, tracing_subscriber::registry().with(layer()));
        let ours = per_span(
            n,
            tracing_subscriber::registry()
                .with(layer().fmt_fields(outpost_telemetry::JsonSpanFields)),
        );
        let bare = per_span(n, tracing_subscriber::registry());
        println!(
            "  round {round}: JsonFields {stock:.0}, JsonSpanFields {ours:.0}, registry alone {bare:.0}; the JSON layer's share {:.0} -> {:.0}",
            stock - bare,
            ours - bare
        );
    }
}
