//! Pagination cursors come back from clients: decoding any string must fail cleanly, and any
//! data must survive an encode/decode round trip (up to the accepted cursor length).
#![no_main]

use libfuzzer_sys::fuzz_target;
use outpost_core::cursor;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = cursor::decode("evt", "01", text);
    let encoded = cursor::encode("evt", "01", text);
    if encoded.len() <= cursor::MAX_CURSOR_LEN {
        assert_eq!(cursor::decode("evt", "01", &encoded).as_deref(), Ok(text));
        assert!(cursor::decode("att", "01", &encoded).is_err());
    } else {
        assert!(cursor::decode("evt", "01", &encoded).is_err());
    }
});
