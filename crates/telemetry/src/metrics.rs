//! The service metrics (meter `outpost`), upstream's names and attributes plus queue lag and
//! deliveries in flight. Instruments are made once, on first use, from the global meter
//! provider: a no-op until [`crate::init`] installs an exporter.

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, UpDownCounter};
use std::sync::OnceLock;

/// Every instrument.
#[derive(Debug)]
pub struct Metrics {
    /// `outpost.published_events{topic}`: accepted, matched, non-duplicate publishes.
    pub published_events: Counter<u64>,
    /// `outpost.eligible_events{topic}`: valid publishes, matched or not.
    pub eligible_events: Counter<u64>,
    /// `outpost.delivered_events{type,status}`: delivery attempts.
    pub delivered_events: Counter<u64>,
    /// `outpost.delivery_latency{type}` (ms): receive by the API → end of the attempt.
    pub delivery_latency: Histogram<u64>,
    /// `outpost.queue_lag{queue}` (ms): receive by the API → first attempt starts.
    pub queue_lag: Histogram<u64>,
    /// `outpost.deliveries_in_flight`: attempts under way in this process.
    pub in_flight: UpDownCounter<i64>,
    /// `outpost.api_calls{method,path}`.
    pub api_calls: Counter<u64>,
    /// `outpost.api_response_latency{method,path}` (ms).
    pub api_response_latency: Histogram<u64>,
    /// `outpost.logged_attempts{status}`: attempts written to the log.
    pub logged_attempts: Counter<u64>,
}

/// The instruments.
pub fn metrics() -> &'static Metrics {
    static M: OnceLock<Metrics> = OnceLock::new();
    M.get_or_init(|| {
        let m = opentelemetry::global::meter("outpost");
        Metrics {
            published_events: m.u64_counter("outpost.published_events").build(),
            eligible_events: m.u64_counter("outpost.eligible_events").build(),
            delivered_events: m.u64_counter("outpost.delivered_events").build(),
            delivery_latency: m
                .u64_histogram("outpost.delivery_latency")
                .with_unit("ms")
                .build(),
            queue_lag: m.u64_histogram("outpost.queue_lag").with_unit("ms").build(),
            in_flight: m
                .i64_up_down_counter("outpost.deliveries_in_flight")
                .build(),
            api_calls: m.u64_counter("outpost.api_calls").build(),
            api_response_latency: m
                .u64_histogram("outpost.api_response_latency")
                .with_unit("ms")
                .build(),
            logged_attempts: m.u64_counter("outpost.logged_attempts").build(),
        }
    })
}

/// `key=value` attributes.
pub fn attrs<const N: usize>(pairs: [(&'static str, String); N]) -> [KeyValue; N] {
    pairs.map(|(k, v)| KeyValue::new(k, v))
}

/// Milliseconds from `since` to now (0 when `since` is in the future).
pub fn ms_since(since: outpost_core::time::Timestamp) -> u64 {
    (outpost_core::time::now_ms() - since)
        .num_milliseconds()
        .max(0) as u64
}
