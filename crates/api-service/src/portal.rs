//! The tenant portal: the single-page app built from `portal/` and embedded at compile time,
//! served at `/` with a fallback to `index.html` for every non-API path; its runtime settings as
//! `GET /inject-portal-config.js` (`window.PORTAL_CONFIGS`); and, for portal development,
//! `PORTAL_PROXY_URL`, which forwards those GET requests to a front-end dev server instead.

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

mod assets {
    include!(concat!(env!("OUT_DIR"), "/portal_assets.rs"));
}

/// The path of the runtime settings script the portal's `index.html` loads first.
pub const CONFIG_SCRIPT: &str = "/inject-portal-config.js";

/// What the portal is told at run time, and where it is served from.
#[derive(Debug, Clone, Default)]
pub struct PortalSettings {
    /// `window.PORTAL_CONFIGS` entries, all strings (`"true"`/`"false"` for flags).
    pub configs: Vec<(String, String)>,
    /// Forward portal requests here instead of serving the embedded build.
    pub proxy_url: Option<String>,
}

impl PortalSettings {
    /// The settings from configuration, with the keys upstream's portal reads.
    pub fn from_config(cfg: &outpost_config::Config) -> Self {
        let mut configs: Vec<(String, String)> = cfg
            .portal
            .values
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        configs.push(("TOPICS".into(), cfg.topics.topics.join(",")));
        configs.push((
            "TOPICS_ALLOW_WILDCARDS".into(),
            cfg.topics.allow_wildcards.to_string(),
        ));
        configs.push(("DISABLE_TELEMETRY".into(), "true".into()));
        let proxy_url = cfg
            .portal
            .values
            .iter()
            .find(|(k, v)| *k == "PROXY_URL" && !v.is_empty())
            .map(|(_, v)| v.trim_end_matches('/').to_string());
        Self { configs, proxy_url }
    }

    /// The body of [`CONFIG_SCRIPT`].
    pub fn script(&self) -> String {
        let map: serde_json::Map<String, serde_json::Value> = self
            .configs
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        // `</` cannot end a script element early when the object is inlined; JSON allows `\/`.
        let json = serde_json::Value::Object(map)
            .to_string()
            .replace("</", "<\\/");
        format!("window.PORTAL_CONFIGS = {json};\n")
    }
}

#[derive(Clone)]
struct Portal {
    settings: Arc<PortalSettings>,
    client: reqwest::Client,
}

/// Whether this binary was built with the portal (`make portal` before the build).
pub fn is_built() -> bool {
    find("/index.html").is_some()
}

/// The portal's routes: the config script and a fallback for every other non-API path.
pub fn router(settings: PortalSettings) -> Router {
    let portal = Portal {
        settings: Arc::new(settings),
        client: reqwest::Client::new(),
    };
    Router::new()
        .route(CONFIG_SCRIPT, axum::routing::get(config_script))
        .fallback(serve)
        .with_state(portal)
}

async fn config_script(State(p): State<Portal>) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/javascript; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "no-cache, no-store, must-revalidate"),
        ],
        p.settings.script(),
    )
        .into_response()
}

async fn serve(State(p): State<Portal>, req: Request) -> Response {
    let uri = req.uri().clone();
    let path = uri.path();
    if !matches!(*req.method(), Method::GET | Method::HEAD) || path.starts_with("/api/") {
        return crate::error::ApiError::msg(StatusCode::NOT_FOUND, "not found").into_response();
    }
    if let Some(base) = &p.settings.proxy_url {
        let target = format!(
            "{base}{}",
            uri.path_and_query().map_or("/", |pq| pq.as_str())
        );
        return proxy(&p.client, &target).await;
    }
    if let Some(bytes) = find(path) {
        return asset(path, bytes);
    }
    match find("/index.html") {
        Some(index) => asset("/index.html", index),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "The tenant portal is not part of this build: run `make portal` before building.\n",
        )
            .into_response(),
    }
}

fn find(path: &str) -> Option<&'static [u8]> {
    assets::ASSETS
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, b)| *b)
}

fn asset(path: &str, bytes: &'static [u8]) -> Response {
    let cache = if path.starts_with("/assets/") {
        // Vite names these by content hash.
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut resp = (
        [
            (header::CONTENT_TYPE, content_type(path)),
            (header::CACHE_CONTROL, cache),
        ],
        Body::from(bytes),
    )
        .into_response();
    if path == "/index.html" {
        // The page is opened with the tenant token in its URL: never send it on as a referrer.
        resp.headers_mut()
            .insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    }
    resp
}

/// The content type of an embedded file, from its extension.
pub fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "application/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json" | "map") => "application/json",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

async fn proxy(client: &reqwest::Client, target: &str) -> Response {
    let upstream = match client.get(target).send().await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(%target, error = %outpost_core::error::chain_text(&e), "portal proxy failed");
            return (
                StatusCode::BAD_GATEWAY,
                format!("portal proxy: {target} did not answer\n"),
            )
                .into_response();
        }
    };
    let status = upstream.status();
    let ctype = upstream.headers().get(header::CONTENT_TYPE).cloned();
    match upstream.bytes().await {
        Ok(body) => {
            let mut resp = (status, body).into_response();
            if let Some(ct) = ctype {
                resp.headers_mut().insert(header::CONTENT_TYPE, ct);
            }
            resp
        }
        Err(e) => (
            StatusCode::BAD_GATEWAY,
            format!("portal proxy: reading {target}: {e}\n"),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_is_a_string_map_that_cannot_close_a_script_tag() {
        let s = PortalSettings {
            configs: vec![
                ("ORGANIZATION_NAME".into(), "Acme </script><b>".into()),
                ("FORCE_THEME".into(), "dark".into()),
            ],
            proxy_url: None,
        };
        let js = s.script();
        assert!(js.starts_with("window.PORTAL_CONFIGS = {"));
        assert!(!js.contains("</script>"));
        let json = js
            .trim_start_matches("window.PORTAL_CONFIGS = ")
            .trim_end()
            .trim_end_matches(';');
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(v["ORGANIZATION_NAME"], "Acme </script><b>");
        assert_eq!(v["FORCE_THEME"], "dark");
    }

    #[test]
    fn content_types_by_extension() {
        assert_eq!(
            content_type("/assets/index-abc.js"),
            "application/javascript; charset=utf-8"
        );
        assert_eq!(content_type("/index.html"), "text/html; charset=utf-8");
        assert_eq!(content_type("/x"), "application/octet-stream");
    }
}
