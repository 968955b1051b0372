//! Spawning a test server and small request helpers.

use outpost_api::{ApiSettings, AppState};
use outpost_core::health::Health;
use outpost_core::ports::{MemoryTenantStore, TenantStore};
use outpost_core::topic::TopicRules;
use outpost_destinations::{Registry, Settings};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::sync::Arc;

pub const KEY: &str = "test-admin-key";
pub const JWT_SECRET: &str = "test-jwt-secret";

/// Which tenant store backs the server.
#[derive(Debug, Clone, Copy)]
pub enum Store {
    Memory,
    Redis,
    /// Memory tenant store, Postgres log store (fresh database).
    Postgres,
}

/// Defines one async test per store implementation: `name::memory` and `name::redis`.
#[macro_export]
macro_rules! both_stores {
    ($(async fn $name:ident($app:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn body($app: $crate::helpers::App) $body
            #[tokio::test]
            async fn memory() { body($crate::helpers::spawn($crate::helpers::Store::Memory, |_| {}).await).await }
            #[tokio::test]
            async fn redis() { body($crate::helpers::spawn($crate::helpers::Store::Redis, |_| {}).await).await }
        }
    )*};
}

pub struct App {
    pub base: String,
    pub http: reqwest::Client,
    pub key: String,
    /// The queue publish writes to, for inspecting enqueued tasks.
    pub deliverymq: Arc<outpost_mq::MemoryQueue>,
    /// deliverymq's busy lane, when the app was spawned with one.
    pub busy: Option<Arc<outpost_mq::MemoryQueue>>,
    /// Publish idempotency keys.
    pub idempotency: Arc<outpost_core::ports::MemoryIdempotency>,
    /// The log the API reads.
    pub logs: Arc<dyn outpost_core::ports::LogStore>,
}

pub struct Resp {
    pub status: StatusCode,
    pub body: Value,
    pub text: String,
    pub content_type: Option<String>,
}

/// A Postgres log store on a fresh database (`TEST_DATABASE_URL` names the server).
async fn fresh_pg() -> outpost_log_store_pg::PgLogStore {
    use outpost_log_store_pg::tokio_postgres;
    let server = outpost_test_support::postgres_url();
    let name = outpost_test_support::unique("api").to_ascii_lowercase();
    let (client, conn) = tokio_postgres::connect(&server, tokio_postgres::NoTls)
        .await
        .expect("PostgreSQL at TEST_DATABASE_URL");
    tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let url = outpost_test_support::database_url(&server, &name);
    let store = outpost_log_store_pg::PgLogStore::connect(&url, 4)
        .await
        .unwrap();
    store.migrator().apply().await.unwrap();
    store
}

/// Defines one async test per log store implementation: `name::memory` and `name::postgres`.
#[macro_export]
macro_rules! log_stores {
    ($(async fn $name:ident($app:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn body($app: $crate::helpers::App) $body
            #[tokio::test]
            async fn memory() { body($crate::helpers::spawn($crate::helpers::Store::Memory, |_| {}).await).await }
            #[tokio::test]
            async fn postgres() { body($crate::helpers::spawn($crate::helpers::Store::Postgres, |_| {}).await).await }
        }
    )*};
}

pub async fn spawn(which: Store, tweak: impl FnOnce(&mut ApiSettings)) -> App {
    spawn_with_lane(which, tweak, None).await
}

/// [`spawn`] with a busy delivery lane for tenants over `busy_limit` tasks a second.
pub async fn spawn_with_lane(
    which: Store,
    tweak: impl FnOnce(&mut ApiSettings),
    busy_limit: Option<u64>,
) -> App {
    let store: Arc<dyn TenantStore> = match which {
        Store::Memory | Store::Postgres => Arc::new(MemoryTenantStore::new()),
        Store::Redis => {
            let settings = outpost_stores::RedisSettings::at(&outpost_test_support::redis_addr())
                .expect("TEST_REDIS_ADDR is host:port");
            let client = outpost_stores::connect(&settings)
                .await
                .expect("Redis at TEST_REDIS_ADDR (default 127.0.0.1:6379)");
            let dep = outpost_test_support::unique("api");
            Arc::new(outpost_stores::RedisTenantStore::new(
                client,
                Some(&dep),
                outpost_stores::Cipher::new("aes"),
            ))
        }
    };
    let mut settings = ApiSettings {
        api_key: KEY.into(),
        jwt_secret: JWT_SECRET.into(),
        deployment_id: None,
        topics: TopicRules::default(),
        max_destinations_per_tenant: 20,
        idgen: Default::default(),
        portal: Default::default(),
    };
    tweak(&mut settings);
    let key = settings.api_key.clone();
    let deliverymq = Arc::new(outpost_mq::MemoryQueue::new("deliverymq", 10_000));
    let busy = busy_limit.map(|_| Arc::new(outpost_mq::MemoryQueue::new("busy", 10_000)));
    let idempotency = Arc::new(outpost_core::ports::MemoryIdempotency::new());
    let logs: Arc<dyn outpost_core::ports::LogStore> = match which {
        Store::Postgres => Arc::new(fresh_pg().await),
        _ => Arc::new(outpost_core::ports::MemoryLogStore::new()),
    };
    let state = AppState::from(outpost_api::Shared {
        settings: Arc::new(settings),
        store,
        registry: Arc::new(Registry::new(&Settings::default()).unwrap()),
        health: Health::new(),
        pipeline: outpost_api::Pipeline {
            busy_lane: busy.clone().zip(busy_limit).map(|(queue, limit)| {
                outpost_runtime::infra::BusyLane {
                    queue,
                    meter: Arc::new(outpost_core::lanes::TenantMeter::new(limit)),
                }
            }),
            deliverymq: deliverymq.clone(),
            idempotency: idempotency.clone(),
            idempotency_ttl: std::time::Duration::from_secs(3600),
        },
        logs: logs.clone(),
        opevents: outpost_opevents::Emitter::disabled(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(outpost_api::run(
        listener,
        state,
        tokio_util::sync::CancellationToken::new(),
    ));
    App {
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
        key,
        deliverymq,
        busy,
        idempotency,
        logs,
    }
}

impl App {
    /// A request with an explicit bearer token (`None` = no Authorization header).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Resp {
        let url = if path.starts_with("/healthz") || path.starts_with("/api") {
            format!("{}{path}", self.base)
        } else {
            format!("{}/api/v1{path}", self.base)
        };
        let mut req = self.http.request(method, url);
        if let Some(t) = token {
            req = req.header("Authorization", format!("Bearer {t}"));
        }
        if let Some(b) = body {
            req = req
                .header("Content-Type", "application/json")
                .body(b.to_string());
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        let content_type = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string());
        let text = r.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            body,
            text,
            content_type,
        }
    }

    pub async fn admin(&self, method: Method, path: &str, body: Option<&str>) -> Resp {
        self.call(method, path, Some(&self.key.clone()), body).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.admin(Method::GET, path, None).await
    }

    pub async fn put(&self, path: &str, body: &str) -> Resp {
        self.admin(Method::PUT, path, Some(body)).await
    }

    pub async fn post(&self, path: &str, body: &str) -> Resp {
        self.admin(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &str) -> Resp {
        self.admin(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.admin(Method::DELETE, path, None).await
    }

    /// Creates a tenant and returns its id.
    pub async fn tenant(&self) -> String {
        let id = outpost_test_support::unique("t");
        let r = self.put(&format!("/tenants/{id}"), "").await;
        assert_eq!(r.status, 201, "{}", r.text);
        id
    }

    /// A tenant JWT from the token route.
    pub async fn token(&self, tenant: &str) -> String {
        let r = self.get(&format!("/tenants/{tenant}/token")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["token"].as_str().unwrap().to_string()
    }

    /// Creates a webhook destination and returns its JSON.
    pub async fn webhook(&self, tenant: &str, topics: &str) -> Value {
        let r = self
            .post(
                &format!("/tenants/{tenant}/destinations"),
                &format!(r#"{{"type":"webhook","topics":{topics},"config":{{"url":"https://example.com/hook"}}}}"#),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.text);
        r.body
    }
}

/// Asserts an Outpost JSON error.
pub fn assert_error(r: &Resp, status: u16, message: &str) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    assert_eq!(r.body["status"], status, "{}", r.text);
    assert_eq!(r.body["message"], message, "{}", r.text);
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
}

/// Asserts a status with an empty body.
pub fn assert_empty(r: &Resp, status: u16) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    assert!(r.text.is_empty(), "expected empty body, got {}", r.text);
}

impl App {
    /// Drains the delivery tasks enqueued so far.
    pub async fn tasks(&self) -> Vec<outpost_core::event::DeliveryTask> {
        Self::tasks_in(&self.deliverymq).await
    }

    /// Takes the tasks queued in `queue`.
    pub async fn tasks_in(
        queue: &outpost_mq::MemoryQueue,
    ) -> Vec<outpost_core::event::DeliveryTask> {
        use outpost_core::ports::Queue;
        let mut sub = queue.subscribe(100).await.unwrap();
        let mut out = Vec::new();
        while let Ok(Some(Ok(m))) =
            tokio::time::timeout(std::time::Duration::from_millis(100), sub.next()).await
        {
            out.push(serde_json::from_slice(&m.body).unwrap());
            m.ack().await.unwrap();
        }
        out
    }
}
