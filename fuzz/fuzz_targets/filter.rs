//! The filter language: any filter and event document, as JSON, must validate or be refused,
//! and matching must answer without panicking. Input: `<filter JSON>\n<document JSON>`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outpost_core::filter;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (f, d) = text.split_once('\n').unwrap_or((text, "{}"));
    let (Ok(f), Ok(d)) = (
        serde_json::from_str::<serde_json::Value>(f),
        serde_json::from_str::<serde_json::Value>(d),
    ) else {
        return;
    };
    if filter::validate(&f).is_ok() {
        // A valid filter gives the same answer twice (matching is pure).
        assert_eq!(filter::matches(&f, &d), filter::matches(&f, &d));
    }
});
