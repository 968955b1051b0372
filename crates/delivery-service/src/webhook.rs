//! The webhook sender: builds the signed request (pure, in `outpost-destinations`), sends it
//! through an HTTP client guarded against SSRF, caps the stored response body, and maps
//! transport failures to Outpost's attempt codes.

use crate::sender::{SendResult, Sender};
use crate::ssrf::{Blocked, Guard, GuardedResolver, Lookup, SystemLookup};
use outpost_core::destination::Destination;
use outpost_core::event::{AttemptStatus, Event};
use outpost_core::time::Timestamp;
use outpost_destinations::webhook::request::{WebhookSettings, build};
use serde_json::json;
use std::error::Error as _;
use std::sync::Arc;

/// Most redirects followed, as Go's default client.
pub const MAX_REDIRECTS: usize = 10;

/// Sends webhooks.
pub struct WebhookSender {
    client: reqwest::Client,
    guard: Arc<Guard>,
    settings: WebhookSettings,
    max_body: usize,
    proxied: bool,
}

impl WebhookSender {
    /// A sender. `pool` sizes the idle connection pool per host.
    pub fn new(
        settings: WebhookSettings,
        guard: Guard,
        user_agent: &str,
        proxy: Option<&str>,
        max_body: usize,
        pool: usize,
    ) -> Result<Self, String> {
        Self::with_lookup(
            settings,
            guard,
            user_agent,
            proxy,
            max_body,
            pool,
            Arc::new(SystemLookup),
        )
    }

    /// A sender resolving host names with `lookup` (tests give names fixed addresses).
    pub fn with_lookup(
        settings: WebhookSettings,
        guard: Guard,
        user_agent: &str,
        proxy: Option<&str>,
        max_body: usize,
        pool: usize,
        lookup: Arc<dyn Lookup>,
    ) -> Result<Self, String> {
        let guard = Arc::new(guard);
        let redirect_guard = guard.clone();
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                return attempt.error(format!("stopped after {MAX_REDIRECTS} redirects"));
            }
            let blocked = attempt
                .url()
                .host_str()
                .and_then(|h| h.trim_matches(['[', ']']).parse::<std::net::IpAddr>().ok())
                .and_then(|ip| redirect_guard.check(ip).err());
            match blocked {
                Some(b) => attempt.error(b),
                None => attempt.follow(),
            }
        });
        let mut b = reqwest::Client::builder()
            .user_agent(user_agent)
            .redirect(policy)
            .dns_resolver(Arc::new(GuardedResolver::with_lookup(
                guard.clone(),
                lookup,
            )))
            .pool_max_idle_per_host(pool.max(1))
            .tcp_nodelay(true);
        if let Some(p) = proxy {
            b = b.proxy(
                reqwest::Proxy::all(p)
                    .map_err(|e| format!("DESTINATIONS_WEBHOOK_PROXY_URL: {e}"))?,
            );
        } else {
            b = b.no_proxy();
        }
        let client = b
            .build()
            .map_err(|e| format!("cannot build the webhook HTTP client: {e}"))?;
        Ok(Self {
            client,
            guard,
            settings,
            max_body,
            proxied: proxy.is_some(),
        })
    }
}

/// Maps a transport error to Outpost's attempt code.
pub fn classify(e: &reqwest::Error) -> &'static str {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = e.source();
    let mut text = e.to_string().to_ascii_lowercase();
    while let Some(s) = cur {
        if s.downcast_ref::<Blocked>().is_some() {
            return "ssrf_blocked";
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            match io.kind() {
                ConnectionRefused => return "connection_refused",
                ConnectionReset | ConnectionAborted | BrokenPipe => return "connection_reset",
                NetworkUnreachable | HostUnreachable => return "network_unreachable",
                TimedOut => return "timeout",
                _ => {}
            }
        }
        text.push(' ');
        text.push_str(&s.to_string().to_ascii_lowercase());
        cur = s.source();
    }
    if e.is_timeout() {
        "timeout"
    } else if e.is_redirect() || text.contains("redirect") {
        "redirect_error"
    } else if text.contains("dns error")
        || text.contains("failed to lookup")
        || text.contains("name or service not known")
    {
        "dns_error"
    } else if text.contains("certificate") || text.contains("tls") || text.contains("handshake") {
        "tls_error"
    } else if text.contains("connection reset")
        || text.contains("connection closed")
        || text.contains("incomplete message")
    {
        "connection_reset"
    } else {
        "network_error"
    }
}

#[async_trait::async_trait]
impl Sender for WebhookSender {
    async fn send(&self, dest: &Destination, event: &Event, now: Timestamp) -> SendResult {
        let req = match build(&self.settings, dest, event, now) {
            Ok(r) => r,
            Err(e) => return SendResult::failed("ERR", e.to_string()),
        };
        let url = match reqwest::Url::parse(&req.url) {
            Ok(u) => u,
            Err(e) => return SendResult::failed("ERR", format!("invalid URL: {e}")),
        };
        if let Some(ip) = url
            .host_str()
            .and_then(|h| h.trim_matches(['[', ']']).parse::<std::net::IpAddr>().ok())
            && let Err(b) = self.guard.check(ip)
        {
            return SendResult::failed("ssrf_blocked", b.to_string());
        }
        let mut rb = self.client.post(url).body(req.body);
        for (k, v) in &req.headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        let mut resp = match rb.send().await {
            Ok(r) => r,
            Err(e) => {
                let code = classify(&e);
                if self.proxied
                    && e.is_connect()
                    && code != "ssrf_blocked"
                    && e.to_string().to_ascii_lowercase().contains("proxy")
                {
                    return SendResult::NoAttempt(format!("webhook proxy unavailable: {e}"));
                }
                let detail = if code == "ssrf_blocked" {
                    Some(json!({"error": e.to_string()}))
                } else {
                    None
                };
                return SendResult::Attempt {
                    status: AttemptStatus::Failed,
                    code: code.into(),
                    response_data: detail,
                };
            }
        };
        let status = resp.status().as_u16();
        let mut body: Vec<u8> = Vec::new();
        let mut too_big = false;
        loop {
            match resp.chunk().await {
                Ok(Some(c)) => {
                    if self.max_body > 0 && body.len() + c.len() > self.max_body {
                        too_big = true;
                        break;
                    }
                    body.extend_from_slice(&c);
                }
                Ok(None) => break,
                // The status arrived; a broken body does not change the outcome.
                Err(_) => break,
            }
        }
        let body_text = if too_big {
            format!(
                "Response body exceeded {} bytes and was not stored",
                self.max_body
            )
        } else {
            String::from_utf8_lossy(&body).into_owned()
        };
        SendResult::Attempt {
            status: if status < 400 {
                AttemptStatus::Success
            } else {
                AttemptStatus::Failed
            },
            code: status.to_string(),
            response_data: Some(json!({"status": status, "body": body_text})),
        }
    }
}
