//! Timestamps as Outpost writes them: Go's RFC3339Nano with trailing fractional zeros trimmed,
//! always UTC; and the unix-millisecond form used in Redis.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

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

/// Formats like Go's `time.RFC3339Nano` for a UTC time: `2024-01-01T00:00:00.12Z`.
pub fn format_rfc3339_nano(t: &Timestamp) -> String {
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
