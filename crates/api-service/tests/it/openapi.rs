//! The OpenAPI document: served without authentication, and describing exactly the routes the
//! router registers (read from `src/routes/*.rs`), method by method.

use crate::helpers::{Store, spawn};
use axum::http::StatusCode;
use std::collections::BTreeSet;

/// (METHOD, /api/v1 path) of every `.route(path, get(..).post(..))` in the route modules.
fn registered_routes() -> BTreeSet<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/routes");
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let src = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let mut rest = src.as_str();
        while let Some(i) = rest.find(".route(") {
            rest = &rest[i + ".route(".len()..];
            // The call's text up to its closing parenthesis.
            let mut depth = 1;
            let end = rest
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    depth == 0
                })
                .map(|(i, _)| i)
                .unwrap();
            let call = &rest[..end];
            let path = call.split('"').nth(1).unwrap();
            for method in ["get", "post", "put", "patch", "delete"] {
                let found = call.match_indices(&format!("{method}(")).any(|(i, _)| {
                    i == 0
                        || !call.as_bytes()[i - 1].is_ascii_alphanumeric()
                            && call.as_bytes()[i - 1] != b'_'
                });
                if found {
                    out.insert((
                        method.to_ascii_uppercase(),
                        shape(&format!("/api/v1{path}")),
                    ));
                }
            }
        }
    }
    out
}

/// `path` with every `{param}` written `{}` (parameter names are the document's to choose).
fn shape(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

fn documented_routes(doc: &serde_json::Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let base = doc["servers"][0]["url"]
        .as_str()
        .map(|u| u.split_once("://").map_or(u, |(_, r)| r))
        .and_then(|r| r.find('/').map(|i| r[i..].to_string()))
        .unwrap_or_default();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                let full = if path.starts_with("/api/") || path == "/healthz" {
                    path.clone()
                } else {
                    format!("{base}{path}")
                };
                out.insert((method.to_ascii_uppercase(), shape(&full)));
            }
        }
    }
    out
}

#[tokio::test]
async fn document_is_served_and_matches_the_routes() {
    let app = spawn(Store::Memory, |_| {}).await;
    let r = app
        .call(axum::http::Method::GET, "/openapi.json", None, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "served without a token");
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    let doc = r.body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let mut documented = documented_routes(&doc);
    documented.remove(&("GET".to_string(), "/healthz".to_string()));
    let registered = registered_routes();
    assert!(registered.len() > 20, "{registered:?}");
    let missing: Vec<_> = registered.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&registered).collect();
    assert!(
        missing.is_empty(),
        "routes without documentation: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "documented routes the router lacks: {extra:?}"
    );
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if ["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                assert!(
                    op["operationId"].is_string(),
                    "{method} {path}: operationId"
                );
                assert!(op["responses"].is_object(), "{method} {path}: responses");
            }
        }
    }
}
