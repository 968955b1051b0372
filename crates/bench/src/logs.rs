//! The log query benchmark.

use crate::Args;
use anyhow::Context;
use chrono::Duration;
use outpost_core::event::{Attempt, AttemptStatus, Event, LogEntry};
use outpost_core::metrics::{AggregateQuery, Granularity};
use outpost_core::ports::page::{Dir, PageRequest};
use outpost_core::ports::{AttemptQuery, EventQuery, LogStore, TimeRange};
use outpost_core::time::now_ms;
use outpost_log_store_pg::PgLogStore;
use outpost_log_store_pg::tokio_postgres::NoTls;
use rand::Rng;
use std::time::Instant;

const BATCH: usize = 5_000;

fn page(limit: usize) -> PageRequest<outpost_core::ports::LogKey> {
    PageRequest {
        dir: Dir::Desc,
        limit,
        cursor: None,
    }
}

fn entry(
    tenant: usize,
    dest: usize,
    event: usize,
    n: u32,
    at: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<LogEntry> {
    let ev = Event {
        id: format!("evt_{event}"),
        tenant_id: format!("tenant_{tenant}"),
        destination_id: String::new(),
        matched_destination_ids: vec![format!("dest_{tenant}_{dest}")],
        topic: format!("topic.{}", event % 5),
        eligible_for_retry: true,
        time: at,
        metadata: [("source".to_string(), "bench".to_string())].into(),
        data: serde_json::value::to_raw_value(
            &serde_json::json!({"order": event, "amount": event % 997}),
        )?,
    };
    let ok = n == 2 || !event.is_multiple_of(4);
    Ok(LogEntry {
        attempt: Attempt {
            id: format!("att_{event}_{n}"),
            tenant_id: ev.tenant_id.clone(),
            event_id: ev.id.clone(),
            destination_id: format!("dest_{tenant}_{dest}"),
            destination_type: "webhook".into(),
            attempt_number: n,
            manual: false,
            status: if ok {
                AttemptStatus::Success
            } else {
                AttemptStatus::Failed
            },
            time: at + Duration::seconds(i64::from(n - 1) * 30),
            code: if ok { "200".into() } else { "503".into() },
            response_data: Some(
                serde_json::json!({"status": if ok { 200 } else { 503 }, "body": "ok"}),
            ),
            duration_ms: Some(if ok { 40 } else { 900 }),
        },
        event: ev,
        destination: None,
        telemetry: None,
    })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Runs the benchmark and prints the table.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let name = format!("outpost_bench_{}", now_ms().timestamp_millis());
    let (admin, conn) = outpost_log_store_pg::tokio_postgres::connect(&args.database_url, NoTls)
        .await
        .with_context(|| format!("cannot connect to {}", args.database_url))?;
    tokio::spawn(conn);
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await?;
    let base = args
        .database_url
        .rsplit_once('/')
        .map(|(b, _)| b)
        .unwrap_or(&args.database_url);
    let url = format!("{base}/{name}");
    let result = bench(&args, &url).await;
    if !args.keep {
        // Close the pool's connections first (dropped with the store inside `bench`).
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
    } else {
        println!("kept database {url}");
    }
    result
}

async fn bench(args: &Args, url: &str) -> anyhow::Result<()> {
    let store = PgLogStore::connect(url, 8).await?;
    store.migrator().apply().await?;
    let now = now_ms();
    let days = 7;
    store
        .ensure_partitions_between(
            (now - Duration::days(days)).date_naive(),
            now.date_naive() + chrono::Days::new(1),
        )
        .await?;
    let events = args.attempts / 2;
    println!(
        "Loading {} attempts ({events} events, {} tenants x {} destinations) into {url} ...",
        events * 2,
        args.tenants,
        args.destinations
    );
    let started = Instant::now();
    let span_ms = days * 86_400_000;
    let mut batch = Vec::with_capacity(BATCH);
    let mut loaded = 0usize;
    for e in 0..events {
        let tenant = e % args.tenants;
        let dest = (e / args.tenants) % args.destinations;
        // Spread over the last week, newest last.
        let at =
            now - Duration::milliseconds(span_ms - (e as i64 * span_ms / events.max(1) as i64));
        batch.push(entry(tenant, dest, e, 1, at)?);
        batch.push(entry(tenant, dest, e, 2, at)?);
        if batch.len() >= BATCH {
            store.insert(&batch).await?;
            loaded += batch.len();
            batch.clear();
            if loaded % (args.attempts / 10).max(BATCH) < BATCH {
                println!(
                    "  {loaded} attempts loaded ({:.0}/s)",
                    loaded as f64 / started.elapsed().as_secs_f64()
                );
            }
        }
    }
    if !batch.is_empty() {
        loaded += batch.len();
        store.insert(&batch).await?;
    }
    let load_s = started.elapsed().as_secs_f64();
    println!(
        "Loaded {loaded} attempts in {load_s:.1} s ({:.0} attempts/s).",
        loaded as f64 / load_s
    );
    let client = store.pool().get().await?;
    client
        .batch_execute("ANALYZE events; ANALYZE attempts")
        .await?;
    drop(client);

    let mut rng = rand::rng();
    let mut rows: Vec<(String, Vec<f64>)> = Vec::new();
    macro_rules! measure {
        ($label:expr, $body:expr) => {{
            let mut times = Vec::with_capacity(args.iterations);
            for _ in 0..args.iterations {
                let t = Instant::now();
                $body;
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            times.sort_by(|a, b| a.total_cmp(b));
            rows.push(($label.to_string(), times));
        }};
    }
    measure!("tenant's latest 100 attempts", {
        let t = format!("tenant_{}", rng.random_range(0..args.tenants));
        let q = AttemptQuery {
            tenant_ids: vec![t],
            event_ids: vec![],
            destination_ids: vec![],
            destination_types: vec![],
            status: None,
            topics: vec![],
            time: TimeRange::default(),
            page: page(100),
        };
        store.list_attempts(&q).await?;
    });
    measure!("destination's latest 100 attempts", {
        let tn = rng.random_range(0..args.tenants);
        let d = format!("dest_{tn}_{}", rng.random_range(0..args.destinations));
        let q = AttemptQuery {
            tenant_ids: vec![format!("tenant_{tn}")],
            event_ids: vec![],
            destination_ids: vec![d],
            destination_types: vec![],
            status: None,
            topics: vec![],
            time: TimeRange::default(),
            page: page(100),
        };
        store.list_attempts(&q).await?;
    });
    measure!("tenant's failed attempts", {
        let t = format!("tenant_{}", rng.random_range(0..args.tenants));
        let q = AttemptQuery {
            tenant_ids: vec![t],
            event_ids: vec![],
            destination_ids: vec![],
            destination_types: vec![],
            status: Some(AttemptStatus::Failed),
            topics: vec![],
            time: TimeRange::default(),
            page: page(100),
        };
        store.list_attempts(&q).await?;
    });
    measure!("attempts of one event", {
        let e = format!("evt_{}", rng.random_range(0..events));
        let q = AttemptQuery {
            tenant_ids: vec![],
            event_ids: vec![e],
            destination_ids: vec![],
            destination_types: vec![],
            status: None,
            topics: vec![],
            time: TimeRange::default(),
            page: page(100),
        };
        store.list_attempts(&q).await?;
    });
    measure!("latest attempt (retry lookup)", {
        let e = rng.random_range(0..events);
        let d = format!(
            "dest_{}_{}",
            e % args.tenants,
            (e / args.tenants) % args.destinations
        );
        store.latest_attempt(None, &format!("evt_{e}"), &d).await?;
    });
    measure!("tenant's latest 100 events", {
        let t = format!("tenant_{}", rng.random_range(0..args.tenants));
        let q = EventQuery {
            tenant_ids: vec![t],
            ids: vec![],
            destination_ids: vec![],
            topics: vec![],
            time: TimeRange::default(),
            page: page(100),
        };
        store.list_events(&q).await?;
    });
    measure!("get attempt by id", {
        let e = rng.random_range(0..events);
        store.get_attempt(None, &format!("att_{e}_1")).await?;
    });
    measure!("tenant metrics over a day (1h, by status)", {
        let t = format!("tenant_{}", rng.random_range(0..args.tenants));
        let q = AggregateQuery {
            start: now - Duration::days(1),
            end: now,
            granularity: Some(Granularity::parse("1h").map_err(anyhow::Error::msg)?),
            dimensions: vec!["status".into()],
            filters: [("tenant_id".to_string(), vec![t])].into(),
        };
        store.attempt_aggregates(&q).await?;
    });
    println!();
    println!(
        "{:<44} {:>9} {:>9} {:>9}  target p99 <= {} ms",
        "query", "p50 ms", "p99 ms", "max ms", args.target_ms
    );
    let mut over = 0;
    for (label, t) in &rows {
        let p99 = percentile(t, 0.99);
        let flag = if p99 <= args.target_ms {
            "ok"
        } else {
            over += 1;
            "OVER"
        };
        println!(
            "{label:<44} {:>9.2} {:>9.2} {:>9.2}  {flag}",
            percentile(t, 0.5),
            p99,
            t.last().copied().unwrap_or(0.0)
        );
    }
    println!(
        "\n{} of {} queries within the target ({} runs each, {loaded} attempts).",
        rows.len() - over,
        rows.len(),
        args.iterations
    );
    Ok(())
}
