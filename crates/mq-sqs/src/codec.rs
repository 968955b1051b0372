//! Message bodies on SQS, which carries text only (XML characters): text bodies go as they are,
//! anything else base64-encoded and marked with the `outpost-encoding` attribute. And the
//! split of a publish into batches SQS accepts (entry count and total size).

use aws_sdk_sqs::types::MessageAttributeValue;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use std::collections::HashMap;

/// The message attribute that marks a base64 body.
pub const ENCODING_ATTRIBUTE: &str = "outpost-encoding";

/// Whether SQS takes `c` in a message body.
fn allowed(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// The body text and its attributes.
pub fn encode(body: &[u8]) -> (String, Option<HashMap<String, MessageAttributeValue>>) {
    match std::str::from_utf8(body) {
        Ok(text) if text.chars().all(allowed) => (text.to_string(), None),
        _ => {
            let attr = MessageAttributeValue::builder()
                .data_type("String")
                .string_value("base64")
                .build()
                .ok();
            (
                B64.encode(body),
                attr.map(|a| [(ENCODING_ATTRIBUTE.to_string(), a)].into()),
            )
        }
    }
}

/// The bytes of a received message.
pub fn decode(m: &aws_sdk_sqs::types::Message) -> Result<Vec<u8>, String> {
    let body = m.body.as_deref().unwrap_or("");
    let base64 = m
        .message_attributes
        .as_ref()
        .and_then(|a| a.get(ENCODING_ATTRIBUTE))
        .and_then(|v| v.string_value.as_deref())
        == Some("base64");
    if base64 {
        B64.decode(body)
            .map_err(|e| format!("bad base64 body: {e}"))
    } else {
        Ok(body.as_bytes().to_vec())
    }
}

/// Encoded size of a body, as SQS counts it (body plus attribute).
fn encoded_len(body: &[u8]) -> usize {
    match std::str::from_utf8(body) {
        Ok(text) if text.chars().all(allowed) => body.len(),
        _ => body.len().div_ceil(3) * 4 + ENCODING_ATTRIBUTE.len() + 16,
    }
}

/// Splits `bodies` into batches of at most `max_n` entries and `max_bytes` in total (a single
/// larger body is a batch of its own, which SQS then refuses with a clear error).
pub fn batches(bodies: Vec<Vec<u8>>, max_n: usize, max_bytes: usize) -> Vec<Vec<Vec<u8>>> {
    let mut out: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut cur: Vec<Vec<u8>> = Vec::new();
    let mut size = 0;
    for b in bodies {
        let n = encoded_len(&b);
        if !cur.is_empty() && (cur.len() == max_n || size + n > max_bytes) {
            out.push(std::mem::take(&mut cur));
            size = 0;
        }
        size += n;
        cur.push(b);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn received(
        body: &str,
        attrs: Option<HashMap<String, MessageAttributeValue>>,
    ) -> aws_sdk_sqs::types::Message {
        aws_sdk_sqs::types::Message::builder()
            .body(body)
            .set_message_attributes(attrs)
            .build()
    }

    #[test]
    fn text_goes_as_is_and_bytes_as_base64() {
        let (t, a) = encode(br#"{"a":"\u00e9 ok"}"#);
        assert_eq!(t, r#"{"a":"\u00e9 ok"}"#);
        assert!(a.is_none());
        for raw in [
            vec![0u8, 1, 2, 255],
            b"bell\x07".to_vec(),
            (0..=255u8).collect(),
        ] {
            let (t, a) = encode(&raw);
            assert!(a.is_some(), "{raw:?}");
            assert_eq!(decode(&received(&t, a)).unwrap(), raw);
        }
        let (t, a) = encode("plain text".as_bytes());
        assert_eq!(decode(&received(&t, a)).unwrap(), b"plain text");
    }

    #[test]
    fn batches_respect_count_and_size() {
        let bodies: Vec<Vec<u8>> = (0..25).map(|i| vec![b'x'; 10 + i]).collect();
        let b = batches(bodies.clone(), 10, 1 << 20);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5]);
        assert_eq!(b.concat(), bodies, "order kept, nothing lost");
        let big: Vec<Vec<u8>> = (0..5).map(|_| vec![b'y'; 100_000]).collect();
        let b = batches(big, 10, 256 * 1024);
        assert_eq!(b.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
        assert!(batches(vec![], 10, 100).is_empty());
        let huge = batches(vec![vec![b'z'; 300_000], b"a".to_vec()], 10, 256 * 1024);
        assert_eq!(huge.iter().map(Vec::len).collect::<Vec<_>>(), [1, 1]);
    }
}
