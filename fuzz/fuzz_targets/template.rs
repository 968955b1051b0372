//! The Go-template subset behind the signature and header templates: any source parses or is
//! refused with an error, and a parsed template renders or fails without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outpost_core::template::{Template, TimeValue, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else { return };
    let Ok(t) = Template::parse(src) else { return };
    let fields = Value::map([
        ("EventID", Value::Str("evt_123".into())),
        ("Topic", Value::Str("user.created".into())),
        ("Body", Value::Str(r#"{"a":1}"#.into())),
        ("Timestamp", TimeValue::from_unix(1_700_000_000, 5).into()),
        ("Attempt", Value::Int(3)),
        ("Signatures", Value::List(vec!["v1=ab".into(), "v1=cd".into()])),
        ("Metadata", Value::map([("k", Value::Str("v".into()))])),
    ]);
    let _ = t.render(&fields);
});
