//! A local webhook receiver for tests: records every request (headers, body, time) and answers
//! with a scripted behaviour (status codes in turn, delays, redirects).

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One received request.
#[derive(Debug, Clone)]
pub struct Received {
    /// Path.
    pub path: String,
    /// Headers (lower-case names).
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
    /// When it arrived.
    pub at: Instant,
}

impl Received {
    /// A header value by (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let n = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| v.as_str())
    }
}

/// What the receiver answers.
#[derive(Debug, Clone)]
pub enum Reply {
    /// This status with this body.
    Status(u16, String),
    /// Sleep, then 200.
    Hang(Duration),
    /// A redirect to this path.
    Redirect(String),
}

#[derive(Default)]
struct Inner {
    got: Vec<Received>,
    script: VecDeque<Reply>,
}

/// A running receiver.
#[derive(Clone)]
pub struct Receiver {
    inner: Arc<Mutex<Inner>>,
    /// `http://127.0.0.1:<port>`
    pub base: String,
}

async fn handle(
    State(r): State<Receiver>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let reply = {
        let mut i = r.inner.lock().unwrap_or_else(|p| p.into_inner());
        i.got.push(Received {
            path: uri.path().to_string(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
                .collect(),
            body: body.to_vec(),
            at: Instant::now(),
        });
        i.script
            .pop_front()
            .unwrap_or(Reply::Status(200, "ok".into()))
    };
    match reply {
        Reply::Status(s, b) => {
            (StatusCode::from_u16(s).unwrap_or(StatusCode::OK), b).into_response()
        }
        Reply::Hang(d) => {
            tokio::time::sleep(d).await;
            (StatusCode::OK, "late").into_response()
        }
        Reply::Redirect(to) => {
            (StatusCode::FOUND, [(axum::http::header::LOCATION, to)], "").into_response()
        }
    }
}

impl Receiver {
    /// Starts a receiver on a free loopback port.
    pub async fn start() -> Receiver {
        Self::start_on("127.0.0.1").await
    }

    /// Starts a receiver on a free port of the local address `ip` (e.g. `127.0.0.2`).
    pub async fn start_on(ip: &str) -> Receiver {
        let listener = tokio::net::TcpListener::bind((ip, 0))
            .await
            .expect("bind receiver");
        let addr = listener.local_addr().expect("receiver address");
        let r = Receiver {
            inner: Arc::default(),
            base: format!("http://{addr}"),
        };
        let app = Router::new().fallback(handle).with_state(r.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        r
    }

    /// Queues replies for the next requests (then 200s).
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .script
            .extend(replies);
    }

    /// Everything received so far.
    pub fn received(&self) -> Vec<Received> {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .got
            .clone()
    }

    /// Requests received on `path`.
    pub fn on(&self, path: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// Waits until `n` requests arrived on `path` (or panics after `within`).
    pub async fn wait_for(&self, path: &str, n: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.on(path);
            if got.len() >= n {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "{path}: expected {n} requests, got {} within {within:?}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Receiver {
    /// Distinct `x-outpost-event-id` values received on `path`.
    pub fn distinct_events(&self, path: &str) -> std::collections::HashSet<String> {
        self.on(path)
            .iter()
            .filter_map(|r| r.header("x-outpost-event-id").map(str::to_string))
            .collect()
    }

    /// Waits until `n` distinct events arrived on `path` (or panics after `within`, saying
    /// `what`).
    pub async fn wait_for_events(&self, path: &str, n: usize, within: Duration, what: &str) {
        let deadline = Instant::now() + within;
        loop {
            let got = self.distinct_events(path).len();
            if got >= n {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "only {got} of {n} events delivered {what}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
