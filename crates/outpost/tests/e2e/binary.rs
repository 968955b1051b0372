//! The binary itself: configuration errors, `outpost config`, embedded mode, service
//! selection, Redis persistence across restarts, graceful shutdown.

use crate::common::*;

#[test]
fn bad_configuration_names_the_variable() {
    let out = base_cmd(&["config"], &[("API_PORT", "eighty")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("API_PORT") && err.contains("eighty"), "{err}");
    let out = base_cmd(&["serve"], &[("REDIS_HOST", "127.0.0.1")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("AES_ENCRYPTION_SECRET"));
    let out = base_cmd(&["serve"], &[("SERVICE", "mailer")])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("SERVICE"));
}

#[test]
fn config_prints_masked_settings() {
    let out = base_cmd(
        &["config"],
        &[("API_KEY", "topsecretkey"), ("TOPICS", "a,b")],
    )
    .output()
    .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("topsecretkey"));
    assert!(text.contains("API_KEY=to****  # env"), "{text}");
    assert!(text.contains("TOPICS=a,b  # env"));
    assert!(text.contains("API_PORT=3333  # default"));
}

#[tokio::test]
async fn embedded_mode_serves_the_api_and_stops_gracefully() {
    let s = Server::start(&[("API_KEY", "k"), ("API_JWT_SECRET", "j")]).await;
    let http = reqwest::Client::new();
    let r = http
        .put(format!("{}/api/v1/tenants/acme", s.base))
        .bearer_auth("k")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = http
        .get(format!("{}/api/v1/tenants/acme", s.base))
        .bearer_auth("k")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(s.stop().success(), "clean exit on SIGTERM");
}

#[test]
fn split_modes_require_shared_infrastructure() {
    let out = base_cmd(&["serve"], &[("SERVICE", "delivery"), ("API_PORT", "0")])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("REDIS_HOST") && err.contains("SERVICE=delivery"),
        "{err}"
    );
    let out = base_cmd(
        &["serve"],
        &[
            ("SERVICE", "api"),
            ("REDIS_HOST", "127.0.0.1"),
            ("AES_ENCRYPTION_SECRET", "x"),
            ("API_PORT", "0"),
        ],
    )
    .output()
    .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("RABBITMQ_SERVER_URL"), "{err}");
}

#[tokio::test]
async fn redis_mode_persists_across_restarts() {
    let addr = outpost_test_support::redis_addr();
    let (host, port) = addr.rsplit_once(':').unwrap();
    let dep = outpost_test_support::unique("bin");
    let env = [
        ("API_KEY", "k"),
        ("REDIS_HOST", host),
        ("REDIS_PORT", port),
        ("AES_ENCRYPTION_SECRET", "aes"),
        ("DEPLOYMENT_ID", dep.as_str()),
    ];
    let http = reqwest::Client::new();
    let s = Server::start(&env).await;
    let r = http
        .put(format!("{}/api/v1/tenants/persisted", s.base))
        .bearer_auth("k")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = http
        .post(format!("{}/api/v1/tenants/persisted/destinations", s.base))
        .bearer_auth("k")
        .body(r#"{"type":"rabbitmq","topics":["*"],"config":{"server_url":"localhost:5672","exchange":"x"},"credentials":{"username":"u","password":"longpassword"}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert!(s.stop().success());
    let s = Server::start(&env).await;
    let r = http
        .get(format!("{}/api/v1/tenants/persisted/destinations", s.base))
        .bearer_auth("k")
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body[0]["credentials"]["password"], "long********");
    let r = http
        .get(format!("{}/api/v1/tenants", s.base))
        .bearer_auth("k")
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["count"], 1);
    assert!(s.stop().success());
}

/// A taken LogQuery port stops the start with an error naming LOG_GRPC_PORT (it must not leave
/// a process that answers /healthz while its gRPC server is dead).
#[test]
fn taken_grpc_port_fails_the_start() {
    let taken = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let api_port = free_port().to_string();
    let out = base_cmd(
        &["serve"],
        &[("LOG_GRPC_PORT", &port), ("API_PORT", &api_port)],
    )
    .output()
    .unwrap();
    assert!(!out.status.success());
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("LOG_GRPC_PORT"), "{text}");
}
