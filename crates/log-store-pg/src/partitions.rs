//! Daily partitions and retention.
//!
//! `events` and `attempts` are range-partitioned on `time` (UTC). [`PgLogStore::ensure_partitions`]
//! creates one partition per day, `events_pYYYYMMDD` / `attempts_pYYYYMMDD` covering
//! `[day 00:00Z, day+1 00:00Z)`; rows with no daily partition land in the tables' default
//! partitions. Creating a partition moves the default partition's rows of that day into it
//! (so a late `ensure` never fails on rows that arrived early), by building the table apart,
//! moving the rows and then `ATTACH PARTITION`. That takes a `SHARE UPDATE EXCLUSIVE` lock on
//! the parent (compatible with inserts and reads) and an exclusive lock on the default
//! partition: statements that touch the default partition (unpruned reads, writes of rows
//! without a daily partition) wait for that short transaction. An insert of a row for the very
//! day being attached that races the attach can fail with a partition-constraint error (the
//! batch can simply be retried); creating partitions days ahead keeps this off the normal path.
//!
//! [`PgLogStore::drop_expired`] drops whole partitions that end before the retention cutoff and
//! deletes the default partitions' rows older than it (events with an old publisher-supplied
//! time, rows written before partitions existed).
//!
//! Both operations are idempotent and serialised between processes by the transaction-level
//! advisory lock [`PARTITION_LOCK_KEY`].

use crate::PgLogStore;
use crate::migrations::MIGRATION_LOCK_KEY;
use chrono::{Days, NaiveDate, NaiveTime, TimeZone, Utc};
use deadpool_postgres::Object;

/// Advisory lock key taken by partition maintenance transactions.
pub const PARTITION_LOCK_KEY: i64 = MIGRATION_LOCK_KEY + 1;

/// The partitioned tables.
pub const PARTITIONED_TABLES: [&str; 2] = ["events", "attempts"];

/// A daily partition.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PartitionInfo {
    /// Parent table (`events` or `attempts`).
    pub table: &'static str,
    /// Day covered (UTC).
    pub day: NaiveDate,
    /// Partition table name.
    pub name: String,
}

/// What [`PgLogStore::drop_expired`] removed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DroppedPartitions {
    /// Partitions dropped, in (table, day) order.
    pub partitions: Vec<String>,
    /// Rows deleted from the default partitions (older than the cutoff).
    pub default_rows_deleted: u64,
}

/// Failure of partition maintenance.
#[derive(Debug, thiserror::Error)]
pub enum PartitionError {
    /// No connection could be obtained.
    #[error("could not connect to PostgreSQL")]
    Connect(#[source] deadpool_postgres::PoolError),
    /// A statement failed (its transaction was rolled back).
    #[error("partition maintenance failed while {doing}")]
    Query {
        /// What was being done.
        doing: String,
        /// The database error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// A date computation left chrono's range.
    #[error("date out of range")]
    DateOutOfRange,
}

fn failed(doing: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> PartitionError {
    let doing = doing.into();
    move |source| PartitionError::Query { doing, source }
}

/// Name of `table`'s partition for `day`: `events_p20240131`.
pub fn partition_name(table: &str, day: NaiveDate) -> String {
    format!("{table}_p{}", day.format("%Y%m%d"))
}

/// Parses a partition name of `table` back to its day.
fn partition_day(table: &str, name: &str) -> Option<NaiveDate> {
    let digits = name.strip_prefix(table)?.strip_prefix("_p")?;
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    NaiveDate::parse_from_str(digits, "%Y%m%d").ok()
}

/// `YYYY-MM-DD 00:00:00+00`, a timestamptz literal for the start of `day`.
fn day_start(day: NaiveDate) -> String {
    format!("{} 00:00:00+00", day.format("%Y-%m-%d"))
}

impl PgLogStore {
    async fn maintenance_client(&self) -> Result<Object, PartitionError> {
        self.pool.get().await.map_err(PartitionError::Connect)
    }

    /// Creates the missing daily partitions of both tables from today (UTC) to
    /// today + `days_ahead`, and returns the names created.
    pub async fn ensure_partitions(&self, days_ahead: u32) -> Result<Vec<String>, PartitionError> {
        let today = Utc::now().date_naive();
        let last = today
            .checked_add_days(Days::new(days_ahead.into()))
            .ok_or(PartitionError::DateOutOfRange)?;
        self.ensure_partitions_between(today, last).await
    }

    /// Creates the missing daily partitions of both tables for every day in `first..=last`
    /// (moving any rows of those days out of the default partitions), and returns the names
    /// created.
    pub async fn ensure_partitions_between(
        &self,
        first: NaiveDate,
        last: NaiveDate,
    ) -> Result<Vec<String>, PartitionError> {
        let mut client = self.maintenance_client().await?;
        let mut created = Vec::new();
        let mut day = first;
        while day <= last {
            for table in PARTITIONED_TABLES {
                if create_partition(&mut client, table, day).await? {
                    created.push(partition_name(table, day));
                }
            }
            day = day.succ_opt().ok_or(PartitionError::DateOutOfRange)?;
        }
        Ok(created)
    }

    /// The daily partitions of both tables, in (table, day) order.
    pub async fn list_partitions(&self) -> Result<Vec<PartitionInfo>, PartitionError> {
        let client = self.maintenance_client().await?;
        list(&client).await
    }

    /// Drops the daily partitions of days before today (UTC) − `retention_days` and deletes the
    /// default partitions' rows older than that day's start: at least `retention_days` full days
    /// of history are kept.
    pub async fn drop_expired(
        &self,
        retention_days: u32,
    ) -> Result<DroppedPartitions, PartitionError> {
        let cutoff = Utc::now()
            .date_naive()
            .checked_sub_days(Days::new(retention_days.into()))
            .ok_or(PartitionError::DateOutOfRange)?;
        self.drop_partitions_before(cutoff).await
    }

    /// Drops the daily partitions of days before `cutoff` and deletes the default partitions'
    /// rows with a time before `cutoff` 00:00 UTC.
    pub async fn drop_partitions_before(
        &self,
        cutoff: NaiveDate,
    ) -> Result<DroppedPartitions, PartitionError> {
        let mut conn = self.maintenance_client().await?;
        let client: &mut tokio_postgres::Client = &mut conn;
        let mut out = DroppedPartitions::default();
        for p in list(client).await?.into_iter().filter(|p| p.day < cutoff) {
            let tx = client
                .transaction()
                .await
                .map_err(failed("starting a transaction"))?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&PARTITION_LOCK_KEY])
                .await
                .map_err(failed("taking the partition lock"))?;
            // Identifier checked by `partition_day`: `<table>_pYYYYMMDD`.
            tx.batch_execute(&format!("DROP TABLE IF EXISTS {}", p.name))
                .await
                .map_err(failed(format!("dropping {}", p.name)))?;
            tx.commit()
                .await
                .map_err(failed(format!("dropping {}", p.name)))?;
            tracing::info!(partition = %p.name, "dropped expired partition");
            out.partitions.push(p.name);
        }
        let cutoff_time = Utc.from_utc_datetime(&cutoff.and_time(NaiveTime::MIN));
        for table in PARTITIONED_TABLES {
            let Some(default) = default_partition(&*client, table).await? else {
                continue;
            };
            let n = client
                .execute(
                    &format!("DELETE FROM {default} WHERE time < $1"),
                    &[&cutoff_time],
                )
                .await
                .map_err(failed(format!("deleting expired rows from {default}")))?;
            out.default_rows_deleted += n;
        }
        Ok(out)
    }
}

/// The default partition of `table` (as a quoted, possibly schema-qualified name), if any.
async fn default_partition<C: tokio_postgres::GenericClient>(
    client: &C,
    table: &str,
) -> Result<Option<String>, PartitionError> {
    let row = client
        .query_opt(
            "SELECT partdefid::regclass::text FROM pg_partitioned_table
             WHERE partrelid = to_regclass($1) AND partdefid <> 0",
            &[&table],
        )
        .await
        .map_err(failed(format!(
            "looking up the default partition of {table}"
        )))?;
    row.map(|r| r.try_get(0))
        .transpose()
        .map_err(failed(format!(
            "looking up the default partition of {table}"
        )))
}

/// The daily partitions of both tables.
async fn list(client: &tokio_postgres::Client) -> Result<Vec<PartitionInfo>, PartitionError> {
    let mut out = Vec::new();
    for table in PARTITIONED_TABLES {
        let rows = client
            .query(
                "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE i.inhparent = to_regclass($1)",
                &[&table],
            )
            .await
            .map_err(failed(format!("listing the partitions of {table}")))?;
        for r in rows {
            let name: String = r
                .try_get(0)
                .map_err(failed(format!("listing the partitions of {table}")))?;
            if let Some(day) = partition_day(table, &name) {
                out.push(PartitionInfo { table, day, name });
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Creates `table`'s partition for `day` unless it exists; true if created.
async fn create_partition(
    client: &mut tokio_postgres::Client,
    table: &'static str,
    day: NaiveDate,
) -> Result<bool, PartitionError> {
    let name = partition_name(table, day);
    let next = day.succ_opt().ok_or(PartitionError::DateOutOfRange)?;
    let (lo, hi) = (day_start(day), day_start(next));
    let doing = || format!("creating {name}");
    let tx = client.transaction().await.map_err(failed(doing()))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&PARTITION_LOCK_KEY])
        .await
        .map_err(failed("taking the partition lock"))?;
    let exists: bool = tx
        .query_one("SELECT to_regclass($1) IS NOT NULL", &[&name])
        .await
        .and_then(|r| r.try_get(0))
        .map_err(failed(doing()))?;
    if exists {
        tx.commit().await.map_err(failed(doing()))?;
        return Ok(false);
    }
    let default = default_partition(&tx, table).await?;
    // All identifiers and literals below are built from fixed table names and dates.
    let mut sql = String::new();
    if let Some(d) = &default {
        // Keeps writers out of the default partition until the day's rows have moved.
        sql.push_str(&format!("LOCK TABLE {d} IN ACCESS EXCLUSIVE MODE;\n"));
    }
    sql.push_str(&format!(
        "CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS);\n\
         ALTER TABLE {name} ADD CONSTRAINT {name}_time_range \
         CHECK (time >= '{lo}' AND time < '{hi}');\n"
    ));
    if let Some(d) = &default {
        sql.push_str(&format!(
            "WITH moved AS (DELETE FROM {d} WHERE time >= '{lo}' AND time < '{hi}' RETURNING *) \
             INSERT INTO {name} SELECT * FROM moved;\n"
        ));
    }
    sql.push_str(&format!(
        "ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM ('{lo}') TO ('{hi}');"
    ));
    tx.batch_execute(&sql).await.map_err(failed(doing()))?;
    tx.commit().await.map_err(failed(doing()))?;
    tracing::info!(partition = %name, "created partition");
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let d = NaiveDate::from_ymd_opt(2024, 2, 29).unwrap();
        assert_eq!(partition_name("events", d), "events_p20240229");
        assert_eq!(partition_day("events", "events_p20240229"), Some(d));
        assert_eq!(partition_day("attempts", "events_p20240229"), None);
        assert_eq!(partition_day("events", "events_default"), None);
        assert_eq!(partition_day("events", "events_p2024022"), None);
        assert_eq!(partition_day("events", "events_p20241332"), None);
        assert_eq!(day_start(d), "2024-02-29 00:00:00+00");
    }
}
