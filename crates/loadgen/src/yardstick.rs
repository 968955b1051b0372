//! The box's speed, measured in the same invocation as the figures it qualifies: HTTP requests
//! per second from the load generator's client to its own sink, with no outpost in between.
//! This shared VM changes speed by up to 2× within minutes, with no steal time to show for it
//! (the load generator's own CPU per delivery doubled between two runs of embedded case B
//! five minutes apart), so each run takes one just before its services start, on the quiet
//! machine, and its deliveries/s divided by that figure is what compares across runs.

use crate::args::Args;
use crate::sink::{EVENT_ID_HEADER, Recorder, Sink};
use anyhow::bail;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One measurement.
#[derive(Debug, Clone, Copy)]
pub struct Yardstick {
    /// Requests answered per second.
    pub requests_per_s: f64,
    /// Concurrent connections.
    pub connections: usize,
    /// How long it ran, s.
    pub secs: f64,
}

/// Measures with the runs' publisher concurrency and event size, unless
/// `--yardstick-secs 0`. A failure is printed and yields `None`: the run's figures stand
/// without it.
pub async fn take(args: &Args, label: &str) -> Option<Yardstick> {
    if args.yardstick_secs == 0 {
        return None;
    }
    match measure(
        args.concurrency,
        Duration::from_secs(args.yardstick_secs),
        args.event_size,
    )
    .await
    {
        Ok(y) => {
            eprintln!(
                "[{label}] yardstick: {:.0} requests/s from the load generator to its own sink",
                y.requests_per_s
            );
            Some(y)
        }
        Err(e) => {
            eprintln!("[{label}] yardstick failed: {e:#}");
            None
        }
    }
}

/// The mean requests/s of the yardsticks taken.
pub fn mean_rate(taken: &[Option<Yardstick>]) -> Option<f64> {
    let rates: Vec<f64> = taken
        .iter()
        .flatten()
        .map(|y| y.requests_per_s)
        .filter(|r| *r > 0.0)
        .collect();
    (!rates.is_empty()).then(|| rates.iter().sum::<f64>() / rates.len() as f64)
}

/// The rates before and after a run when they differ by more than a fifth: the box changed
/// speed during it, and its figures compare with no other run's.
pub fn speed_change(taken: &[Option<Yardstick>; 2]) -> Option<(f64, f64)> {
    let [Some(a), Some(b)] = taken else {
        return None;
    };
    let (a, b) = (a.requests_per_s, b.requests_per_s);
    ((a - b).abs() > 0.2 * a.max(b)).then_some((a, b))
}

/// Posts `body_size`-byte bodies to a fresh sink over `connections` keep-alive connections in
/// a closed loop for `length`, and returns the rate of answers.
pub async fn measure(
    connections: usize,
    length: Duration,
    body_size: usize,
) -> anyhow::Result<Yardstick> {
    let rec = Arc::new(Recorder::new("yardstick-".into(), 0, 1, None));
    let sink = Sink::start(rec.clone()).await?;
    let result = run(&sink, connections.max(1), length, body_size).await;
    sink.stop().await;
    let (answered, failed, secs, first_error) = result?;
    if answered == 0 {
        bail!(
            "the yardstick got no answer from its own sink ({failed} requests failed: {})",
            first_error.unwrap_or_default()
        );
    }
    let arrived = rec.other.load(Ordering::Relaxed);
    if arrived < answered {
        bail!("the yardstick's sink saw {arrived} requests, {answered} were answered");
    }
    Ok(Yardstick {
        requests_per_s: answered as f64 / secs,
        connections,
        secs,
    })
}

async fn run(
    sink: &Sink,
    connections: usize,
    length: Duration,
    body_size: usize,
) -> anyhow::Result<(u64, u64, f64, Option<String>)> {
    let client = reqwest::Client::builder()
        .http1_only()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(connections)
        .timeout(Duration::from_secs(10))
        .build()?;
    let url = sink.url(0);
    let body = axum::body::Bytes::from(vec![b'x'; body_size]);
    let answered = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let start = Instant::now();
    let stop_at = start + length;
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (client, url, body) = (client.clone(), url.clone(), body.clone());
        let (answered, failed, first_error) =
            (answered.clone(), failed.clone(), first_error.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < stop_at {
                let sent = client
                    .post(&url)
                    .header(EVENT_ID_HEADER, "yardstick")
                    .body(body.clone())
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().is_success() => {
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                    other => {
                        failed.fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut e) = first_error.lock()
                            && e.is_none()
                        {
                            *e = Some(match other {
                                Ok(r) => format!("HTTP {}", r.status()),
                                Err(err) => err.to_string(),
                            });
                        }
                    }
                }
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let secs = start.elapsed().as_secs_f64();
    let first = first_error.lock().ok().and_then(|e| e.clone());
    Ok((
        answered.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
        secs,
        first,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn measures_requests_that_reach_the_sink() -> anyhow::Result<()> {
        let y = measure(4, Duration::from_millis(300), 200).await?;
        assert_eq!(y.connections, 4);
        assert!(y.secs >= 0.3, "{y:?}");
        // Loopback HTTP/1.1 keep-alive manages thousands a second even on a loaded box;
        // a rate of 0 or a handful means requests went unanswered.
        assert!(y.requests_per_s > 100.0, "{y:?}");
        Ok(())
    }

    #[test]
    fn the_mean_and_a_change_of_speed() {
        let at = |requests_per_s| {
            Some(Yardstick {
                requests_per_s,
                connections: 64,
                secs: 3.0,
            })
        };
        assert_eq!(mean_rate(&[at(40_000.0), at(50_000.0)]), Some(45_000.0));
        assert_eq!(mean_rate(&[None, at(50_000.0)]), Some(50_000.0));
        assert_eq!(mean_rate(&[None, None]), None);
        assert_eq!(speed_change(&[at(40_000.0), at(48_000.0)]), None, "a sixth");
        assert_eq!(
            speed_change(&[at(35_000.0), at(53_000.0)]),
            Some((35_000.0, 53_000.0))
        );
        assert_eq!(speed_change(&[None, at(53_000.0)]), None);
    }
}
