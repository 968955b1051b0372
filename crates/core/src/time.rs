//! Timestamps as Outpost writes them: Go's RFC3339Nano with trailing fractional zeros trimmed,
//! always UTC; and the unix-millisecond form used in Redis.

use chrono::{DateTime, Datelike, SecondsFormat, TimeZone, Timelike, Utc};

/// A UTC timestamp.
pub type Timestamp = DateTime<Utc>;

/// Current time truncated to milliseconds, the precision every store keeps.
pub fn now_ms() -> Timestamp {
    from_unix_ms(Utc::now().timestamp_millis())
}

/// Converts unix milliseconds to a timestamp (clamped to the epoch on overflow).
pub fn from_unix_ms(ms: i64) -> Timestamp {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

/// Formats like Go's `time.RFC3339Nano` for a UTC time: `2024-01-01T00:00:00.12Z`. Every
/// event, attempt and destination in a queue message carries such times, so the digits are
/// written directly rather than through a parsed `strftime` pattern.
pub fn format_rfc3339_nano(t: &Timestamp) -> String {
    let year = t.year();
    let nanos = t.timestamp_subsec_nanos();
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 {
        // Years chrono writes with a sign, and leap seconds.
        return format_rfc3339_nano_pattern(t);
    }
    fn digits(out: &mut String, v: u32, width: u32) {
        for i in (0..width).rev() {
            let d = (v / 10u32.pow(i)) % 10;
            out.push(char::from(b'0' + d as u8));
        }
    }
    let mut out = String::with_capacity(30);
    digits(&mut out, year as u32, 4);
    out.push('-');
    digits(&mut out, t.month(), 2);
    out.push('-');
    digits(&mut out, t.day(), 2);
    out.push('T');
    digits(&mut out, t.hour(), 2);
    out.push(':');
    digits(&mut out, t.minute(), 2);
    out.push(':');
    digits(&mut out, t.second(), 2);
    if nanos != 0 {
        out.push('.');
        let mut frac = nanos;
        let mut width = 9;
        while frac.is_multiple_of(10) {
            frac /= 10;
            width -= 1;
        }
        digits(&mut out, frac, width);
    }
    out.push('Z');
    out
}

/// [`format_rfc3339_nano`] through chrono's pattern formatting (any year, leap seconds).
fn format_rfc3339_nano_pattern(t: &Timestamp) -> String {
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.timestamp_subsec_nanos();
    if nanos == 0 {
        return format!("{base}Z");
    }
    let frac = format!("{nanos:09}");
    format!("{base}.{}Z", frac.trim_end_matches('0'))
}

/// Formats at whole seconds: `2024-01-01T00:00:00Z` (Go's `time.RFC3339` in UTC).
pub fn format_rfc3339_secs(t: &Timestamp) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parses an RFC 3339 timestamp with any offset into UTC.
pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// Serde adapter for `Timestamp` fields in Outpost's JSON format.
pub mod serde_rfc3339 {
    use super::{Timestamp, format_rfc3339_nano, parse_rfc3339};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    /// Serializes as RFC3339Nano.
    pub fn serialize<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_rfc3339_nano(t))
    }

    /// Deserializes any RFC 3339 timestamp.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let s = String::deserialize(d)?;
        parse_rfc3339(&s).ok_or_else(|| D::Error::custom(format!("invalid RFC3339 time: {s}")))
    }
}

/// Serde adapter for `Option<Timestamp>` fields; `None` is written as `null`.
pub mod serde_rfc3339_opt {
    use super::{Timestamp, format_rfc3339_nano, parse_rfc3339};
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    /// Serializes as RFC3339Nano or null.
    pub fn serialize<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&format_rfc3339_nano(t)),
            None => s.serialize_none(),
        }
    }

    /// Deserializes an RFC 3339 timestamp or null.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Timestamp>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => parse_rfc3339(&s)
                .map(Some)
                .ok_or_else(|| D::Error::custom(format!("invalid RFC3339 time: {s}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direct_digits_match_the_pattern_formatting() {
        let mut samples = vec![
            Utc.timestamp_opt(0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap(),
        ];
        // A spread of instants with every kind of fraction (none, ms, µs, ns, trailing zeros).
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..5000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let secs = (x % 8_000_000_000) as i64 - 1_000_000_000;
            let nanos = match x % 5 {
                0 => 0,
                1 => (x % 1000) as u32 * 1_000_000,
                2 => (x % 1_000_000) as u32 * 1000,
                3 => (x % 1_000_000_000) as u32,
                _ => 100_000_000,
            };
            samples.push(Utc.timestamp_opt(secs, nanos).unwrap());
        }
        for t in samples {
            assert_eq!(
                format_rfc3339_nano(&t),
                format_rfc3339_nano_pattern(&t),
                "{t:?}"
            );
        }
        // Outside 0..=9999 the pattern path is used (chrono signs the year).
        let far = Utc.with_ymd_and_hms(12345, 1, 2, 3, 4, 5).unwrap();
        assert_eq!(format_rfc3339_nano(&far), "+12345-01-02T03:04:05Z");
    }

    #[test]
    fn trims_fraction_like_go() {
        let t = from_unix_ms(1_704_067_200_120);
        assert_eq!(format_rfc3339_nano(&t), "2024-01-01T00:00:00.12Z");
        let t = from_unix_ms(1_704_067_200_000);
        assert_eq!(format_rfc3339_nano(&t), "2024-01-01T00:00:00Z");
        assert_eq!(format_rfc3339_secs(&t), "2024-01-01T00:00:00Z");
    }

    #[test]
    fn parses_offsets_into_utc() {
        let t = parse_rfc3339("2024-01-01T02:00:00+02:00").unwrap();
        assert_eq!(format_rfc3339_nano(&t), "2024-01-01T00:00:00Z");
        assert!(parse_rfc3339("yesterday").is_none());
    }
}
