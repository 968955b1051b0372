//! Metrics aggregates (spec §8.1): one `GROUP BY` statement per call, in a read-only transaction
//! with a statement timeout. Results equal the in-memory reference store's
//! (`outpost_core::ports::MemoryLogStore`): the same groups, counts and bucket starts
//! ([`Granularity::bucket_start`]).
//!
//! * Buckets are grouped on an integer key computed in SQL: for fixed widths the bucket start in
//!   epoch milliseconds (`floor((ms - anchor) / width) * width + anchor`, floor division), for
//!   months the first month of the bucket counted from January 1970 (calendar fields in UTC).
//! * Dimension and filter names come from fixed whitelists mapped to column expressions; every
//!   value is a bound parameter. An unknown dimension is ignored and an unknown filter matches
//!   nothing, as in the reference store.
//! * Filter values are compared as the strings the dimension reports: `manual` accepts exactly
//!   `true` / `false`, `attempt_number` its canonical decimal form.

use crate::PgLogStore;
use crate::store::{Sql, backend, corrupt, get};
use outpost_core::StoreError;
use outpost_core::metrics::{AggregateQuery, AggregateRow, Bucketing, Granularity, TOO_BROAD};
use std::collections::BTreeMap;
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;

/// A bucket key that is no bucket (a month out of range).
fn bad_bucket() -> StoreError {
    StoreError::Corrupt("bucket key out of range".into())
}

/// Epoch milliseconds of the timestamp column `col` as an integer. Stored times are whole
/// milliseconds (inserts truncate them), so rounding the double `date_part` is exact (for
/// years within ±70 000 of 1970) and about twice as fast as the numeric `extract`.
fn epoch_ms(col: &str) -> String {
    format!("round(date_part('epoch', {col}) * 1000)::bigint")
}

/// Months since January 1970 of the timestamp column `col`, in UTC.
fn epoch_months(col: &str) -> String {
    format!(
        "((date_part('year', {col} AT TIME ZONE 'UTC')::bigint - 1970) * 12 \
         + date_part('month', {col} AT TIME ZONE 'UTC')::bigint - 1)"
    )
}

/// SQLSTATEs reported as a query too broad: timeout / cancel and resource exhaustion.
const TOO_BROAD_STATES: [SqlState; 6] = [
    SqlState::QUERY_CANCELED,
    SqlState::OUT_OF_MEMORY,
    SqlState::DISK_FULL,
    SqlState::CONFIGURATION_LIMIT_EXCEEDED,
    SqlState::PROGRAM_LIMIT_EXCEEDED,
    SqlState::STATEMENT_TOO_COMPLEX,
];

/// Attempt measures, in [`AggregateRow`] order after `count`.
const ATTEMPT_MEASURES: &str = "count(*) FILTER (WHERE status = 'success'), \
count(*) FILTER (WHERE status = 'failed'), \
count(*) FILTER (WHERE attempt_number = 1 AND NOT manual), \
count(*) FILTER (WHERE attempt_number > 1), \
count(*) FILTER (WHERE manual), \
coalesce(sum(attempt_number), 0)::bigint, \
count(duration_ms), \
coalesce(sum(duration_ms), 0)::bigint, \
coalesce(max(duration_ms), 0)::bigint";

/// The SQL bucket key (a `bigint`) of the timestamp column `col` for `g`, binding its constants
/// in `sql`.
fn bucket_key(sql: &mut Sql, g: Granularity, col: &str) -> String {
    // x - mod(mod(x, w) + w, w) is w * floor(x / w) for negative x as well.
    match g.bucketing() {
        Bucketing::Fixed { width, anchor } => {
            let w = sql.bind(width);
            let a = sql.bind(anchor);
            let x = format!("({} - {a}::bigint)", epoch_ms(col));
            format!("({x} - mod(mod({x}, {w}::bigint) + {w}::bigint, {w}::bigint) + {a}::bigint)")
        }
        Bucketing::Months { n } => {
            let n = sql.bind(n);
            let x = epoch_months(col);
            format!("({x} - mod(mod({x}, {n}::bigint) + {n}::bigint, {n}::bigint))")
        }
    }
}

fn event_dimension(name: &str) -> Option<&'static str> {
    Some(match name {
        "tenant_id" => "e.tenant_id",
        "topic" => "e.topic",
        "destination_id" => "u.destination_id",
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
        "manual" => "CASE WHEN manual THEN 'true' ELSE 'false' END",
        "attempt_number" => "attempt_number::text",
        _ => return None,
    })
}

/// A statement under construction: select list, source, conditions, group-by width.
struct Query {
    sql: Sql,
    select: Vec<String>,
    has_bucket: bool,
    dims: Vec<String>,
}

impl Query {
    /// `SELECT [bucket,] dims.., <measures> FROM <from> WHERE time in [start, end)` so far.
    fn new(q: &AggregateQuery, time_col: &str, dims: &[(&str, &'static str)]) -> Self {
        let mut sql = Sql::new(String::new());
        let mut select = Vec::new();
        if let Some(g) = q.granularity {
            select.push(bucket_key(&mut sql, g, time_col));
        }
        select.extend(dims.iter().map(|(_, expr)| expr.to_string()));
        let start = sql.bind(q.start);
        let end = sql.bind(q.end);
        sql.text = format!("{time_col} >= {start} AND {time_col} < {end}");
        Self {
            sql,
            has_bucket: q.granularity.is_some(),
            dims: dims.iter().map(|(name, _)| name.to_string()).collect(),
            select,
        }
    }

    /// Adds `<expr> = ANY($n::<ty>[])`, or `<expr> && $n::<ty>[]` (array overlap) when `op`
    /// is `&&`.
    fn filter<V>(&mut self, expr: &str, op: &str, ty: &str, values: V)
    where
        V: tokio_postgres::types::ToSql + Sync + Send + 'static,
    {
        let p = self.sql.bind(values);
        let cond = match op {
            "&&" => format!("{expr} && {p}::{ty}[]"),
            _ => format!("{expr} = ANY({p}::{ty}[])"),
        };
        self.sql.and(&cond);
    }

    /// The final statement text.
    fn finish(&self, from: &str, measures: &str) -> String {
        let mut cols = self.select.clone();
        cols.push(measures.to_string());
        let groups = self.select.len();
        let mut text = format!(
            "SELECT {} FROM {from} WHERE {}",
            cols.join(", "),
            self.sql.text
        );
        if groups > 0 {
            let ordinals: Vec<String> = (1..=groups).map(|i| i.to_string()).collect();
            text.push_str(&format!(" GROUP BY {}", ordinals.join(", ")));
        }
        // Without GROUP BY an aggregate over no rows still yields a row.
        text.push_str(" HAVING count(*) > 0");
        text
    }

    /// Converts a result row: bucket key, dimension values, then `measures` counters.
    fn row(
        &self,
        g: Option<Granularity>,
        r: &Row,
        measures: usize,
    ) -> Result<AggregateRow, StoreError> {
        let mut i = 0;
        let bucket = match g {
            Some(g) if self.has_bucket => {
                i += 1;
                Some(g.bucket_from_key(get(r, 0)?).ok_or_else(bad_bucket)?)
            }
            _ => None,
        };
        let mut dims = BTreeMap::new();
        for name in &self.dims {
            dims.insert(name.clone(), get::<String>(r, i)?);
            i += 1;
        }
        let mut counters = [0u64; 10];
        for c in counters.iter_mut().take(measures) {
            let v: i64 = get(r, i)?;
            *c = u64::try_from(v).map_err(|e| corrupt("aggregate count", e))?;
            i += 1;
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
        Ok(AggregateRow {
            bucket,
            dims,
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
        })
    }
}

/// Maps a failed aggregate statement: timeouts and resource limits become [`TOO_BROAD`].
fn query_error(e: tokio_postgres::Error) -> StoreError {
    if e.code().is_some_and(|c| TOO_BROAD_STATES.contains(c)) {
        tracing::warn!(error = %e, "metrics aggregate query stopped");
        StoreError::Corrupt(TOO_BROAD.to_string())
    } else {
        backend(e)
    }
}

/// Orders rows like the reference store: by bucket, then dimension values.
fn sorted(mut rows: Vec<AggregateRow>) -> Vec<AggregateRow> {
    rows.sort_by(|a, b| (a.bucket, &a.dims).cmp(&(b.bucket, &b.dims)));
    rows
}

impl PgLogStore {
    /// Runs one aggregate statement in a read-only transaction under the statement timeout.
    async fn aggregate_rows(&self, text: &str, sql: &Sql) -> Result<Vec<Row>, StoreError> {
        let mut client = self.pool.get().await.map_err(backend)?;
        let tx = client
            .build_transaction()
            .read_only(true)
            .start()
            .await
            .map_err(backend)?;
        let ms = self
            .aggregate_timeout
            .as_millis()
            .clamp(1, i64::MAX as u128);
        // The planner multiplies the distinct counts of the grouped columns, so with a few
        // dimensions it expects about one group per row and sorts everything (on disk, with the
        // database collation) although the real groups are few. A hash aggregate spills to disk
        // when it must (PostgreSQL >= 13), so it is safe to prefer it.
        tx.batch_execute(&format!(
            "SET LOCAL statement_timeout = {ms}; SET LOCAL enable_sort = off"
        ))
        .await
        .map_err(backend)?;
        // Not prepare_cached: the statement's shape varies with the dimensions and filters.
        let rows = tx.query(text, &sql.refs()).await.map_err(query_error)?;
        tx.commit().await.map_err(backend)?;
        Ok(rows)
    }

    pub(crate) async fn aggregate_events(
        &self,
        q: &AggregateQuery,
    ) -> Result<Vec<AggregateRow>, StoreError> {
        let dims = q.known_dimensions(event_dimension);
        let mut query = Query::new(q, "e.time", &dims);
        for (name, values) in &q.filters {
            match name.as_str() {
                "tenant_id" => query.filter("e.tenant_id", "=", "text", values.clone()),
                "topic" => query.filter("e.topic", "=", "text", values.clone()),
                "destination_id" => {
                    query.filter("e.matched_destination_ids", "&&", "text", values.clone());
                }
                _ => return Ok(Vec::new()),
            }
        }
        // An event counts once per matched destination when grouped by destination.
        let from = if dims.iter().any(|(name, _)| *name == "destination_id") {
            "events e CROSS JOIN LATERAL unnest(e.matched_destination_ids) AS u(destination_id)"
        } else {
            "events e"
        };
        let text = query.finish(from, "count(*)");
        let rows = self.aggregate_rows(&text, &query.sql).await?;
        let rows = rows
            .iter()
            .map(|r| query.row(q.granularity, r, 1))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(sorted(rows))
    }

    pub(crate) async fn aggregate_attempts(
        &self,
        q: &AggregateQuery,
    ) -> Result<Vec<AggregateRow>, StoreError> {
        let dims = q.known_dimensions(attempt_dimension);
        let mut query = Query::new(q, "time", &dims);
        for (name, values) in &q.filters {
            match name.as_str() {
                "tenant_id" | "destination_id" | "destination_type" | "topic" | "status"
                | "code" => {
                    query.filter(name, "=", "text", values.clone());
                }
                "manual" => {
                    let v: Vec<bool> = values
                        .iter()
                        .filter_map(|v| match v.as_str() {
                            "true" => Some(true),
                            "false" => Some(false),
                            _ => None,
                        })
                        .collect();
                    query.filter("manual", "=", "bool", v);
                }
                "attempt_number" => {
                    // Only the canonical decimal text of a stored number can match.
                    let v: Vec<i32> = values
                        .iter()
                        .filter_map(|v| v.parse::<i32>().ok().filter(|n| n.to_string() == *v))
                        .collect();
                    query.filter("attempt_number", "=", "int4", v);
                }
                _ => return Ok(Vec::new()),
            }
        }
        let text = query.finish("attempts", &format!("count(*), {ATTEMPT_MEASURES}"));
        let rows = self.aggregate_rows(&text, &query.sql).await?;
        let rows = rows
            .iter()
            .map(|r| query.row(q.granularity, r, 10))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(sorted(rows))
    }
}
