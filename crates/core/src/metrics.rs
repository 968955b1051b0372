//! The metrics API's pure logic (spec §8.1): granularities and their bucket alignment, the
//! aggregate rows a log store returns, and turning them into the requested measures with
//! zero-filled buckets.

use crate::time::{Timestamp, from_unix_ms};
use chrono::{Datelike, TimeZone, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// Most buckets a query may produce.
pub const MAX_BUCKETS: i64 = 100_000;
/// Most rows a query may answer.
pub const ROW_LIMIT: usize = 100_000;

/// Granularity unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Seconds (max 60).
    Second,
    /// Minutes (max 60).
    Minute,
    /// Hours (max 24).
    Hour,
    /// Days (max 31).
    Day,
    /// Weeks, starting Sunday (max 4).
    Week,
    /// Calendar months (max 12).
    Month,
}

/// How bucket keys are computed (in SQL by the log stores): a fixed width from an anchor, or
/// whole calendar months.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucketing {
    /// Fixed width and anchor, in milliseconds: the key is the bucket start in epoch
    /// milliseconds.
    Fixed {
        /// Bucket width.
        width: i64,
        /// A bucket start (week buckets start on Sunday 1970-01-04).
        anchor: i64,
    },
    /// Calendar months, `n` per bucket, anchored January 1970: the key is the bucket's first
    /// month counted from January 1970 (UTC).
    Months {
        /// Months per bucket.
        n: i64,
    },
}

/// A bucket width such as `1h` or `7d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Granularity {
    /// How many units.
    pub n: u32,
    /// Unit.
    pub unit: Unit,
}

const DAY_MS: i64 = 86_400_000;
/// 1970-01-04, a Sunday: the anchor of week buckets.
const WEEK_ANCHOR_MS: i64 = 3 * DAY_MS;

impl Granularity {
    /// Parses `^(\d+)([smhdwM])$` within the per-unit maxima.
    pub fn parse(s: &str) -> Result<Self, String> {
        let err = || {
            format!(
                "invalid granularity {s:?}: expected a number and one of s, m, h, d, w, M (e.g. 1h, 7d)"
            )
        };
        let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
        let (num, unit) = s.split_at(split);
        let n: u32 = num.parse().map_err(|_| err())?;
        let (unit, max) = match unit {
            "s" => (Unit::Second, 60),
            "m" => (Unit::Minute, 60),
            "h" => (Unit::Hour, 24),
            "d" => (Unit::Day, 31),
            "w" => (Unit::Week, 4),
            "M" => (Unit::Month, 12),
            _ => return Err(err()),
        };
        if n == 0 || n > max {
            return Err(format!(
                "invalid granularity {s:?}: must be between 1{u} and {max}{u}",
                u = &s[split..]
            ));
        }
        Ok(Self { n, unit })
    }

    /// The canonical text (`1h`).
    pub fn as_string(&self) -> String {
        let u = match self.unit {
            Unit::Second => "s",
            Unit::Minute => "m",
            Unit::Hour => "h",
            Unit::Day => "d",
            Unit::Week => "w",
            Unit::Month => "M",
        };
        format!("{}{u}", self.n)
    }

    fn fixed_ms(&self) -> Option<(i64, i64)> {
        match self.bucketing() {
            Bucketing::Fixed { width, anchor } => Some((width, anchor)),
            Bucketing::Months { .. } => None,
        }
    }

    /// How a store computes this granularity's bucket keys in SQL.
    pub fn bucketing(&self) -> Bucketing {
        let n = i64::from(self.n);
        let fixed = |unit_ms: i64, anchor: i64| Bucketing::Fixed {
            width: n * unit_ms,
            anchor,
        };
        match self.unit {
            Unit::Second => fixed(1000, 0),
            Unit::Minute => fixed(60_000, 0),
            Unit::Hour => fixed(3_600_000, 0),
            Unit::Day => fixed(DAY_MS, 0),
            Unit::Week => fixed(7 * DAY_MS, WEEK_ANCHOR_MS),
            Unit::Month => Bucketing::Months { n },
        }
    }

    /// The bucket start of a bucket key a store computed by [`Granularity::bucketing`] (epoch
    /// milliseconds, or months since January 1970), or `None` for a month out of range.
    pub fn bucket_from_key(&self, key: i64) -> Option<Timestamp> {
        let representative = match self.bucketing() {
            Bucketing::Fixed { .. } => from_unix_ms(key),
            Bucketing::Months { .. } => {
                let year = i32::try_from(1970 + key.div_euclid(12)).ok()?;
                let month = u32::try_from(key.rem_euclid(12) + 1).ok()?;
                Utc.with_ymd_and_hms(year, month, 1, 0, 0, 0).single()?
            }
        };
        // The key is already a bucket start; aligning again keeps one definition of buckets.
        Some(self.bucket_start(representative))
    }

    /// The start of the bucket containing `t`.
    pub fn bucket_start(&self, t: Timestamp) -> Timestamp {
        match self.fixed_ms() {
            Some((width, anchor)) => {
                let ms = t.timestamp_millis();
                from_unix_ms((ms - anchor).div_euclid(width) * width + anchor)
            }
            None => {
                let months = i64::from(t.year() - 1970) * 12 + i64::from(t.month0());
                let start = months.div_euclid(i64::from(self.n)) * i64::from(self.n);
                month_start(start)
            }
        }
    }

    /// The start of the bucket after the one starting at `start`.
    pub fn next(&self, start: Timestamp) -> Timestamp {
        match self.fixed_ms() {
            Some((width, _)) => from_unix_ms(start.timestamp_millis() + width),
            None => {
                let months = i64::from(start.year() - 1970) * 12 + i64::from(start.month0());
                month_start(months + i64::from(self.n))
            }
        }
    }

    /// Bucket starts covering `[start, end)`, or an error when there are more than
    /// [`MAX_BUCKETS`].
    pub fn buckets(&self, start: Timestamp, end: Timestamp) -> Result<Vec<Timestamp>, String> {
        let mut out = Vec::new();
        let mut b = self.bucket_start(start);
        while b < end {
            if out.len() as i64 >= MAX_BUCKETS {
                return Err(TOO_BROAD.into());
            }
            out.push(b);
            b = self.next(b);
        }
        Ok(out)
    }
}

/// The error text of a query that would be too large.
pub const TOO_BROAD: &str =
    "query too broad: try fewer dimensions, more filters, or a shorter time range";

fn month_start(months_since_1970: i64) -> Timestamp {
    let y = 1970 + months_since_1970.div_euclid(12);
    let m = months_since_1970.rem_euclid(12) + 1;
    Utc.with_ymd_and_hms(
        i32::try_from(y).unwrap_or(1970),
        u32::try_from(m).unwrap_or(1),
        1,
        0,
        0,
        0,
    )
    .single()
    .unwrap_or_default()
}

/// What the store aggregates (the request minus the measures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AggregateQuery {
    /// Inclusive start.
    pub start: Timestamp,
    /// Exclusive end.
    pub end: Timestamp,
    /// Bucket width, or one bucket for the whole range.
    pub granularity: Option<Granularity>,
    /// Group-by dimensions, in request order.
    pub dimensions: Vec<String>,
    /// Filters: dimension to accepted values.
    pub filters: BTreeMap<String, Vec<String>>,
}

impl AggregateQuery {
    /// The requested dimensions a store knows, without repeats, in request order, each with
    /// its column expression by `column` (an unknown name is dropped, as the reference store
    /// ignores it).
    pub fn known_dimensions(
        &self,
        column: fn(&str) -> Option<&'static str>,
    ) -> Vec<(&str, &'static str)> {
        let mut out: Vec<(&str, &'static str)> = Vec::new();
        for d in &self.dimensions {
            if let Some(expr) = column(d)
                && !out.iter().any(|(name, _)| name == d)
            {
                out.push((d, expr));
            }
        }
        out
    }
}

/// Raw aggregates of one (bucket, dimension values) group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AggregateRow {
    /// Bucket start (`None` without granularity).
    pub bucket: Option<Timestamp>,
    /// Dimension values as strings.
    pub dims: BTreeMap<String, String>,
    /// Rows.
    pub count: u64,
    /// Successful attempts.
    pub successful: u64,
    /// Failed attempts.
    pub failed: u64,
    /// First attempts (attempt_number = 1 and not manual).
    pub first_attempt: u64,
    /// Retries (attempt_number > 1).
    pub retry: u64,
    /// Manual attempts.
    pub manual: u64,
    /// Sum of attempt numbers.
    pub attempt_number_sum: u64,
    /// Attempts with a recorded duration.
    pub duration_count: u64,
    /// Sum of their durations, ms.
    pub duration_sum_ms: u64,
    /// Longest of them, ms.
    pub duration_max_ms: u64,
}

/// Event measures.
pub const EVENT_MEASURES: [&str; 2] = ["count", "rate"];
/// Event dimensions.
pub const EVENT_DIMENSIONS: [&str; 3] = ["tenant_id", "topic", "destination_id"];
/// Attempt measures.
/// `avg_duration_ms` and `max_duration_ms` are ours (upstream has no latency measure): how long
/// the sends took, over the attempts that recorded it (0 when none did).
pub const ATTEMPT_MEASURES: [&str; 13] = [
    "count",
    "successful_count",
    "failed_count",
    "error_rate",
    "first_attempt_count",
    "retry_count",
    "manual_retry_count",
    "avg_attempt_number",
    "rate",
    "successful_rate",
    "failed_rate",
    "avg_duration_ms",
    "max_duration_ms",
];
/// Attempt dimensions.
pub const ATTEMPT_DIMENSIONS: [&str; 8] = [
    "tenant_id",
    "destination_id",
    "destination_type",
    "topic",
    "status",
    "code",
    "manual",
    "attempt_number",
];

fn measure(name: &str, r: &AggregateRow, seconds: f64) -> serde_json::Value {
    use serde_json::json;
    let rate = |n: u64| {
        if seconds > 0.0 {
            n as f64 / seconds
        } else {
            0.0
        }
    };
    match name {
        "count" => json!(r.count),
        "successful_count" => json!(r.successful),
        "failed_count" => json!(r.failed),
        "error_rate" => json!(if r.count > 0 {
            r.failed as f64 / r.count as f64
        } else {
            0.0
        }),
        "first_attempt_count" => json!(r.first_attempt),
        "retry_count" => json!(r.retry),
        "manual_retry_count" => json!(r.manual),
        "avg_attempt_number" => json!(if r.count > 0 {
            r.attempt_number_sum as f64 / r.count as f64
        } else {
            0.0
        }),
        "rate" => json!(rate(r.count)),
        "successful_rate" => json!(rate(r.successful)),
        "failed_rate" => json!(rate(r.failed)),
        "avg_duration_ms" => json!(if r.duration_count > 0 {
            r.duration_sum_ms as f64 / r.duration_count as f64
        } else {
            0.0
        }),
        "max_duration_ms" => json!(r.duration_max_ms),
        _ => serde_json::Value::Null,
    }
}

fn dim_value(name: &str, v: &str) -> serde_json::Value {
    match name {
        "manual" => serde_json::Value::Bool(v == "true"),
        "attempt_number" => v
            .parse::<u64>()
            .map(serde_json::Value::from)
            .unwrap_or(serde_json::Value::Null),
        _ => serde_json::Value::String(v.to_string()),
    }
}

/// Builds the `data` rows of the response: requested measures per group, buckets zero-filled
/// for every dimension combination that has data, ordered by bucket then dimensions.
/// Returns `(rows, truncated)`.
pub fn compute(
    q: &AggregateQuery,
    measures: &[String],
    rows: &[AggregateRow],
) -> Result<(Vec<serde_json::Value>, bool), String> {
    use serde_json::{Map, Value};
    let combos: BTreeSet<&BTreeMap<String, String>> = rows.iter().map(|r| &r.dims).collect();
    let by_key: BTreeMap<(Option<Timestamp>, &BTreeMap<String, String>), &AggregateRow> =
        rows.iter().map(|r| ((r.bucket, &r.dims), r)).collect();
    let mut out = Vec::new();
    let mut truncated = false;
    let mut emit =
        |bucket: Option<Timestamp>, dims: &BTreeMap<String, String>, seconds: f64| -> bool {
            if out.len() >= ROW_LIMIT {
                truncated = true;
                return false;
            }
            let empty = AggregateRow::default();
            let r = by_key.get(&(bucket, dims)).copied().unwrap_or(&empty);
            let mut o = Map::new();
            if let Some(b) = bucket {
                o.insert(
                    "time_bucket".into(),
                    Value::String(crate::time::format_rfc3339_secs(&b)),
                );
            }
            let d: Map<String, Value> = q
                .dimensions
                .iter()
                .map(|k| {
                    (
                        k.clone(),
                        dims.get(k).map_or(Value::Null, |v| dim_value(k, v)),
                    )
                })
                .collect();
            o.insert("dimensions".into(), Value::Object(d));
            let m: Map<String, Value> = measures
                .iter()
                .map(|k| (k.clone(), measure(k, r, seconds)))
                .collect();
            o.insert("metrics".into(), Value::Object(m));
            out.push(Value::Object(o));
            true
        };
    match q.granularity {
        None => {
            let seconds = (q.end - q.start).num_milliseconds() as f64 / 1000.0;
            for dims in &combos {
                if !emit(None, dims, seconds) {
                    break;
                }
            }
        }
        Some(g) => {
            let buckets = g.buckets(q.start, q.end)?;
            if (buckets.len() as u128) * (combos.len().max(1) as u128) > MAX_BUCKETS as u128 * 10 {
                return Err(TOO_BROAD.into());
            }
            'outer: for b in buckets {
                let seconds = (g.next(b) - b).num_milliseconds() as f64 / 1000.0;
                for dims in &combos {
                    if !emit(Some(b), dims, seconds) {
                        break 'outer;
                    }
                }
            }
        }
    }
    Ok((out, truncated))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_rfc3339;

    fn t(s: &str) -> Timestamp {
        parse_rfc3339(s).unwrap()
    }

    #[test]
    fn bucket_keys_round_trip_to_bucket_starts() {
        let t = crate::time::parse_rfc3339("2024-03-31T10:50:00.500Z").unwrap();
        for (g, key, start) in [
            ("1s", 1_711_882_200_000, "2024-03-31T10:50:00Z"),
            ("15m", 1_711_881_900_000, "2024-03-31T10:45:00Z"),
            ("1w", 1_711_843_200_000, "2024-03-31T00:00:00Z"),
            ("1M", (2024 - 1970) * 12 + 2, "2024-03-01T00:00:00Z"),
            ("3M", (2024 - 1970) * 12, "2024-01-01T00:00:00Z"),
        ] {
            let g = Granularity::parse(g).unwrap();
            let start = crate::time::parse_rfc3339(start).unwrap();
            assert_eq!(g.bucket_start(t), start, "{g:?}");
            assert_eq!(g.bucket_from_key(key).unwrap(), start, "{g:?}");
        }
    }

    #[test]
    fn a_month_key_out_of_range_is_no_bucket() {
        let g = Granularity::parse("1M").unwrap();
        assert_eq!(g.bucket_from_key(i64::MAX), None);
        assert!(g.bucket_from_key(0).is_some());
    }

    #[test]
    fn known_dimensions_keep_request_order_without_repeats_or_unknowns() {
        let q = AggregateQuery {
            start: from_unix_ms(0),
            end: from_unix_ms(1),
            granularity: None,
            dimensions: ["topic", "nope", "tenant_id", "topic"]
                .map(String::from)
                .to_vec(),
            filters: BTreeMap::new(),
        };
        let column = |d: &str| match d {
            "topic" => Some("t.topic"),
            "tenant_id" => Some("t.tenant"),
            _ => None,
        };
        assert_eq!(
            q.known_dimensions(column),
            [("topic", "t.topic"), ("tenant_id", "t.tenant")]
        );
    }

    #[test]
    fn parse_granularities() {
        assert_eq!(
            Granularity::parse("1h").unwrap(),
            Granularity {
                n: 1,
                unit: Unit::Hour
            }
        );
        assert_eq!(Granularity::parse("12M").unwrap().unit, Unit::Month);
        for bad in ["", "h", "0h", "25h", "61m", "5w", "1y", "1.5h", "-1d"] {
            assert!(Granularity::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn alignment() {
        let g = Granularity::parse("15m").unwrap();
        assert_eq!(
            g.bucket_start(t("2024-01-15T10:37:12Z")),
            t("2024-01-15T10:30:00Z")
        );
        let d = Granularity::parse("1d").unwrap();
        assert_eq!(
            d.bucket_start(t("2024-01-15T10:37:12Z")),
            t("2024-01-15T00:00:00Z")
        );
        // 2024-01-17 is a Wednesday; its week starts Sunday the 14th.
        let w = Granularity::parse("1w").unwrap();
        assert_eq!(
            w.bucket_start(t("2024-01-17T08:00:00Z")),
            t("2024-01-14T00:00:00Z")
        );
        let m = Granularity::parse("1M").unwrap();
        assert_eq!(
            m.bucket_start(t("2024-02-29T23:00:00Z")),
            t("2024-02-01T00:00:00Z")
        );
        assert_eq!(m.next(t("2024-12-01T00:00:00Z")), t("2025-01-01T00:00:00Z"));
        let q = Granularity::parse("3M").unwrap();
        assert_eq!(
            q.bucket_start(t("2024-05-10T00:00:00Z")),
            t("2024-04-01T00:00:00Z")
        );
        let b = Granularity::parse("1h")
            .unwrap()
            .buckets(t("2024-01-01T00:30:00Z"), t("2024-01-01T03:00:00Z"))
            .unwrap();
        assert_eq!(b.len(), 3);
        assert!(
            Granularity::parse("1s")
                .unwrap()
                .buckets(t("2020-01-01T00:00:00Z"), t("2024-01-01T00:00:00Z"))
                .is_err()
        );
    }

    #[test]
    fn measures_and_zero_fill() {
        let q = AggregateQuery {
            start: t("2024-01-01T00:00:00Z"),
            end: t("2024-01-01T03:00:00Z"),
            granularity: Some(Granularity::parse("1h").unwrap()),
            dimensions: vec!["status".into()],
            filters: BTreeMap::new(),
        };
        let row = AggregateRow {
            bucket: Some(t("2024-01-01T01:00:00Z")),
            dims: [("status".to_string(), "failed".to_string())].into(),
            count: 4,
            failed: 1,
            successful: 3,
            attempt_number_sum: 6,
            duration_count: 3,
            duration_sum_ms: 90,
            duration_max_ms: 50,
            ..Default::default()
        };
        let measures: Vec<String> = [
            "count",
            "error_rate",
            "rate",
            "avg_attempt_number",
            "avg_duration_ms",
            "max_duration_ms",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (data, truncated) = compute(&q, &measures, &[row]).unwrap();
        assert!(!truncated);
        assert_eq!(data.len(), 3, "zero-filled buckets");
        assert_eq!(data[0]["metrics"]["count"], 0);
        assert_eq!(data[1]["time_bucket"], "2024-01-01T01:00:00Z");
        assert_eq!(data[1]["metrics"]["count"], 4);
        assert_eq!(data[1]["metrics"]["error_rate"], 0.25);
        assert_eq!(data[1]["metrics"]["avg_attempt_number"], 1.5);
        assert!((data[1]["metrics"]["rate"].as_f64().unwrap() - 4.0 / 3600.0).abs() < 1e-12);
        assert_eq!(data[1]["dimensions"]["status"], "failed");
        assert_eq!(data[1]["metrics"]["avg_duration_ms"], 30.0);
        assert_eq!(data[1]["metrics"]["max_duration_ms"], 50);
        assert_eq!(
            data[0]["metrics"]["avg_duration_ms"], 0.0,
            "no durations: 0"
        );
    }
}
