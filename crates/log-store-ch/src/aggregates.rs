//! Metrics aggregates (`event_aggregates`, `attempt_aggregates`): the same groups, counts and
//! bucket starts as the in-memory reference store and the Postgres store.
//!
//! Each is one query of three levels:
//! 1. dedupe: one row per `(time, id)`, grouped on the tables' sorting key (so
//!    `optimize_aggregation_in_order` streams it): events take `any(..)` (their duplicates are
//!    identical), attempts `argMax(.., inserted_at)`, the latest version. Filters on what never
//!    changes (tenant, destination, type, topic, manual, attempt number) apply here, before the
//!    grouping, where the skip indexes help;
//! 2. the deduplicated row's fields unpacked under their own names;
//! 3. filters on what an update changes (status, code), then the `GROUP BY` of bucket and
//!    dimensions with the measures.
//!
//! * Buckets are integer keys computed in SQL: for fixed widths the bucket start in epoch
//!   milliseconds (`ms - positiveModulo(ms - anchor, width)`), for months the first month of the
//!   bucket counted from January 1970 (calendar fields in UTC).
//! * Dimension and filter names come from fixed whitelists mapped to column expressions; every
//!   value is a quoted literal. An unknown dimension is ignored and an unknown filter matches
//!   nothing, as in the reference store. `manual` accepts exactly `true` / `false`,
//!   `attempt_number` its canonical decimal form.
//! * The query runs under `max_execution_time` (the store's aggregate timeout); a timeout or a
//!   resource limit reports [`TOO_BROAD`].

use crate::ChLogStore;
use crate::http::Num;
use crate::store::{Where, backend};
use outpost_core::StoreError;
use outpost_core::metrics::{AggregateQuery, AggregateRow, Bucketing, Granularity, TOO_BROAD};
use std::collections::BTreeMap;
use std::time::Duration;

/// A bucket key that is no bucket (a month out of range).
fn bad_bucket() -> StoreError {
    StoreError::Corrupt("bucket key out of range".into())
}

/// ClickHouse error codes reported as a query too broad: TOO_MANY_ROWS, TIMEOUT_EXCEEDED,
/// TOO_SLOW, MEMORY_LIMIT_EXCEEDED, TOO_MANY_BYTES, TOO_MANY_ROWS_OR_BYTES.
const TOO_BROAD_CODES: [u32; 6] = [158, 159, 160, 241, 307, 396];

/// Attempt measures, in [`AggregateRow`] order after `count`.
const ATTEMPT_MEASURES: &str = "countIf(status = 'success'), countIf(status = 'failed'), \
countIf(attempt_number = 1 AND NOT manual), countIf(attempt_number > 1), countIf(manual), \
sum(attempt_number), count(duration_ms), coalesce(sum(duration_ms), 0), \
coalesce(max(duration_ms), 0)";

/// The SQL bucket key (an `Int64`) of the `DateTime64` column `col` for `g`.
fn bucket_key(g: Granularity, col: &str) -> String {
    match g.bucketing() {
        Bucketing::Fixed { width, anchor } => {
            let x = format!("toUnixTimestamp64Milli({col})");
            format!("({x} - positiveModulo({x} - {anchor}, {width}))")
        }
        Bucketing::Months { n } => {
            let x = format!("((toInt64(toYear({col})) - 1970) * 12 + toInt64(toMonth({col})) - 1)");
            format!("({x} - positiveModulo({x}, {n}))")
        }
    }
}

fn event_dimension(name: &str) -> Option<&'static str> {
    Some(match name {
        "tenant_id" => "tenant_id",
        "topic" => "topic",
        "destination_id" => "destination_id",
        _ => return None,
    })
}

fn attempt_dimension(name: &str) -> Option<&'static str> {
    Some(match name {
        "tenant_id" => "tenant_id",
        "destination_id" => "destination_id",
        "destination_type" => "destination_type",
        "topic" => "topic",
        "status" => "status",
        "code" => "code",
        "manual" => "if(manual, 'true', 'false')",
        "attempt_number" => "toString(attempt_number)",
        _ => return None,
    })
}

/// The aggregate level of a query: `SELECT [bucket,] dims.., measures FROM (from) [where]
/// GROUP BY ..`; output columns are `bucket`, `d0`.. and the measures, in that order.
fn aggregate_sql(
    q: &AggregateQuery,
    time_col: &str,
    dims: &[(&str, &'static str)],
    from: &str,
    filters: &Where,
    measures: &str,
    timeout: Duration,
) -> String {
    let mut select = Vec::new();
    let mut groups = Vec::new();
    if let Some(g) = q.granularity {
        select.push(format!("{} AS bucket", bucket_key(g, time_col)));
        groups.push("bucket".to_string());
    }
    for (i, (_, expr)) in dims.iter().enumerate() {
        select.push(format!("{expr} AS d{i}"));
        groups.push(format!("d{i}"));
    }
    select.push(measures.to_string());
    let group_by = if groups.is_empty() {
        String::new()
    } else {
        format!("GROUP BY {}", groups.join(", "))
    };
    // Whole milliseconds, at least one.
    let secs = timeout.as_millis().max(1) as f64 / 1000.0;
    format!(
        "SELECT {} FROM {from} {} {group_by} \
         SETTINGS max_execution_time = {secs}, timeout_overflow_mode = 'throw', \
         optimize_aggregation_in_order = 1",
        select.join(", "),
        filters.sql()
    )
}

/// Converts a `JSONCompactEachRow` result row: bucket key, dimension values, then `measures`
/// counters. `None` for an empty group (an aggregate without `GROUP BY` over no rows).
fn row(
    g: Option<Granularity>,
    dims: &[(&str, &'static str)],
    values: Vec<serde_json::Value>,
    measures: usize,
) -> Result<Option<AggregateRow>, StoreError> {
    let bad = |e: serde_json::Error| StoreError::Corrupt(format!("aggregate row: {e}"));
    let mut values = values.into_iter();
    let mut next = || {
        values
            .next()
            .ok_or_else(|| StoreError::Corrupt("aggregate row: too few columns".into()))
    };
    let bucket = match g {
        Some(g) => {
            let key: Num<i64> = serde_json::from_value(next()?).map_err(bad)?;
            Some(g.bucket_from_key(key.0).ok_or_else(bad_bucket)?)
        }
        None => None,
    };
    let mut dim_values = BTreeMap::new();
    for (name, _) in dims {
        let v: String = serde_json::from_value(next()?).map_err(bad)?;
        dim_values.insert(name.to_string(), v);
    }
    let mut counters = [0u64; 10];
    for c in counters.iter_mut().take(measures) {
        let v: Num<u64> = serde_json::from_value(next()?).map_err(bad)?;
        *c = v.0;
    }
    let [
        count,
        successful,
        failed,
        first_attempt,
        retry,
        manual,
        attempt_number_sum,
        duration_count,
        duration_sum_ms,
        duration_max_ms,
    ] = counters;
    if count == 0 {
        return Ok(None);
    }
    Ok(Some(AggregateRow {
        bucket,
        dims: dim_values,
        count,
        successful,
        failed,
        first_attempt,
        retry,
        manual,
        attempt_number_sum,
        duration_count,
        duration_sum_ms,
        duration_max_ms,
    }))
}

/// Orders rows like the reference store: by bucket, then dimension values.
fn sorted(mut rows: Vec<AggregateRow>) -> Vec<AggregateRow> {
    rows.sort_by(|a, b| (a.bucket, &a.dims).cmp(&(b.bucket, &b.dims)));
    rows
}

/// The `[start, end)` window on the time column `col`.
fn window(q: &AggregateQuery, col: &str) -> Where {
    let mut w = Where::default();
    w.push(format!(
        "{col} >= {}",
        crate::http::time(q.start.timestamp_millis())
    ));
    w.push(format!(
        "{col} < {}",
        crate::http::time(q.end.timestamp_millis())
    ));
    w
}

impl ChLogStore {
    /// Runs an aggregate query and converts its rows.
    async fn aggregate(
        &self,
        sql: &str,
        q: &AggregateQuery,
        dims: &[(&str, &'static str)],
        measures: usize,
    ) -> Result<Vec<AggregateRow>, StoreError> {
        // The server stops the query at the aggregate timeout; the request waits a bit longer.
        let timeout = self.aggregate_timeout + Duration::from_secs(10);
        let lines: Vec<Vec<serde_json::Value>> = self
            .http
            .lines(sql, "JSONCompactEachRow", timeout)
            .await
            .map_err(|e| {
                if e.code().is_some_and(|c| TOO_BROAD_CODES.contains(&c)) {
                    tracing::warn!(error = %e, "metrics aggregate query stopped");
                    StoreError::Corrupt(TOO_BROAD.to_string())
                } else {
                    backend(e)
                }
            })?;
        let mut rows = Vec::new();
        for values in lines {
            rows.extend(row(q.granularity, dims, values, measures)?);
        }
        Ok(sorted(rows))
    }

    pub(crate) async fn aggregate_events(
        &self,
        q: &AggregateQuery,
    ) -> Result<Vec<AggregateRow>, StoreError> {
        let dims = q.known_dimensions(event_dimension);
        let mut w = window(q, "event_time");
        for (name, values) in &q.filters {
            match name.as_str() {
                "tenant_id" | "topic" => w.one_of(name, values),
                "destination_id" => w.overlaps("matched_destination_ids", values),
                _ => return Ok(Vec::new()),
            }
        }
        let dedup = format!(
            "(SELECT event_time, v.1 AS tenant_id, v.2 AS topic, v.3 AS matched_destination_ids \
             FROM (SELECT event_time, any((tenant_id, topic, matched_destination_ids)) AS v \
             FROM {} {} GROUP BY event_time, event_id))",
            self.tables.events,
            w.sql()
        );
        // An event counts once per matched destination when grouped by destination.
        let from = if dims.iter().any(|(name, _)| *name == "destination_id") {
            format!("{dedup} ARRAY JOIN matched_destination_ids AS destination_id")
        } else {
            dedup
        };
        let sql = aggregate_sql(
            q,
            "event_time",
            &dims,
            &from,
            &Where::default(),
            "count()",
            self.aggregate_timeout,
        );
        self.aggregate(&sql, q, &dims, 1).await
    }

    pub(crate) async fn aggregate_attempts(
        &self,
        q: &AggregateQuery,
    ) -> Result<Vec<AggregateRow>, StoreError> {
        let dims = q.known_dimensions(attempt_dimension);
        // Filters on fields fixed at the attempt's first write, and on those an update changes.
        let (mut fixed, mut latest) = (window(q, "attempt_time"), Where::default());
        for (name, values) in &q.filters {
            match name.as_str() {
                "tenant_id" | "destination_id" | "destination_type" | "topic" => {
                    fixed.one_of(name, values);
                }
                "status" => latest.one_of("status", values),
                "code" => latest.one_of("code", values),
                "manual" => {
                    let v: Vec<String> = values
                        .iter()
                        .filter(|v| *v == "true" || *v == "false")
                        .cloned()
                        .collect();
                    fixed.one_of("if(manual, 'true', 'false')", &v);
                }
                "attempt_number" => {
                    // Only the canonical decimal text of a stored number can match.
                    let v: Vec<String> = values
                        .iter()
                        .filter(|v| v.parse::<u32>().is_ok_and(|n| n.to_string() == **v))
                        .cloned()
                        .collect();
                    fixed.one_of("toString(attempt_number)", &v);
                }
                _ => return Ok(Vec::new()),
            }
        }
        let from = format!(
            "(SELECT attempt_time, v.1 AS tenant_id, v.2 AS destination_id, \
             v.3 AS destination_type, v.4 AS topic, v.5 AS status, v.6 AS code, v.7 AS manual, \
             v.8 AS attempt_number, v.9 AS duration_ms \
             FROM (SELECT attempt_time, argMax((tenant_id, destination_id, destination_type, \
             topic, status, code, manual, attempt_number, duration_ms), inserted_at) AS v \
             FROM {} {} GROUP BY attempt_time, attempt_id))",
            self.tables.attempts,
            fixed.sql()
        );
        let sql = aggregate_sql(
            q,
            "attempt_time",
            &dims,
            &from,
            &latest,
            &format!("count(), {ATTEMPT_MEASURES}"),
            self.aggregate_timeout,
        );
        self.aggregate(&sql, q, &dims, 10).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_sql_uses_floor_semantics() {
        let g = Granularity::parse("1w").unwrap();
        assert_eq!(
            bucket_key(g, "t"),
            "(toUnixTimestamp64Milli(t) - positiveModulo(toUnixTimestamp64Milli(t) - 259200000, 604800000))"
        );
    }
}
