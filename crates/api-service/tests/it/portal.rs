//! The tenant portal's HTTP surface: the runtime settings script, the embedded app with its
//! fallback to `index.html`, API paths that stay JSON 404s, and the development proxy.

use crate::helpers::{Store, spawn};
use axum::http::StatusCode;
use outpost_api::portal::PortalSettings;

/// GET a non-API path of the server.
async fn page(app: &crate::helpers::App, path: &str) -> reqwest::Response {
    app.http
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap()
}

fn settings() -> PortalSettings {
    PortalSettings {
        configs: vec![
            ("ORGANIZATION_NAME".into(), "Acme".into()),
            ("ENABLE_DESTINATION_FILTER".into(), "true".into()),
        ],
        proxy_url: None,
    }
}

#[tokio::test]
async fn config_script_carries_the_settings_uncached() {
    let app = spawn(Store::Memory, |s| s.portal = settings()).await;
    let r = page(&app, "/inject-portal-config.js").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/javascript")
    );
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-store")
    );
    let body = r.text().await.unwrap();
    assert!(body.contains(r#""ORGANIZATION_NAME":"Acme""#), "{body}");
    assert!(
        body.contains(r#""ENABLE_DESTINATION_FILTER":"true""#),
        "{body}"
    );
}

#[tokio::test]
async fn app_paths_fall_back_to_the_page_and_api_paths_stay_json() {
    let app = spawn(Store::Memory, |s| s.portal = settings()).await;
    for path in ["/", "/destinations/des_123", "/new/type?x=1"] {
        let r = page(&app, path).await;
        if outpost_api::portal::is_built() {
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            assert_eq!(r.headers()["referrer-policy"], "no-referrer");
            let text = r.text().await.unwrap();
            assert!(text.contains("/inject-portal-config.js"), "{path}: {text}");
        } else {
            assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE, "{path}");
            assert!(r.text().await.unwrap().contains("make portal"));
        }
    }
    let r = app.get("/api/v1/no-such-route").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.body["message"], "not found");
    let r = page(&app, "/api/other").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = app
        .http
        .post(format!("{}/destinations", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn proxy_forwards_page_requests_with_their_query() {
    use axum::routing::get;
    let dev = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dev_url = format!("http://{}", dev.local_addr().unwrap());
    let dev_app = axum::Router::new().fallback(get(|uri: axum::http::Uri| async move {
        (
            [("content-type", "text/x-dev")],
            format!("dev server saw {uri}"),
        )
    }));
    tokio::spawn(async move { axum::serve(dev, dev_app).await.unwrap() });
    let app = spawn(Store::Memory, |s| {
        s.portal = PortalSettings {
            proxy_url: Some(dev_url),
            ..settings()
        }
    })
    .await;
    let r = page(&app, "/src/main.tsx?v=2").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/x-dev");
    assert_eq!(r.text().await.unwrap(), "dev server saw /src/main.tsx?v=2");
    // The settings script and the API are still ours.
    let r = page(&app, "/inject-portal-config.js").await;
    assert!(r.text().await.unwrap().contains("Acme"));
    assert_eq!(app.get("/topics").await.status, StatusCode::OK);
}

#[tokio::test]
async fn proxy_down_is_a_clear_bad_gateway() {
    let app = spawn(Store::Memory, |s| {
        s.portal = PortalSettings {
            proxy_url: Some("http://127.0.0.1:9".into()),
            ..settings()
        }
    })
    .await;
    let r = page(&app, "/").await;
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    assert!(r.text().await.unwrap().contains("did not answer"));
}
