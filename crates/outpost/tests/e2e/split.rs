//! Split services (api, delivery, log as separate processes) on the local Redis, RabbitMQ and
//! PostgreSQL, isolated per test by unique names.

use crate::api::base_env;
use crate::common::*;

/// Environment of split services on the local Redis and RabbitMQ, isolated by unique names.
/// Dropping it deletes the test's RabbitMQ exchange and queues.
pub struct SplitEnv {
    vars: Vec<(&'static str, String)>,
    _topology: outpost_test_support::rabbit::TopologyGuard,
}

impl std::ops::Deref for SplitEnv {
    type Target = Vec<(&'static str, String)>;
    fn deref(&self) -> &Self::Target {
        &self.vars
    }
}

impl std::ops::DerefMut for SplitEnv {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.vars
    }
}

/// A [`SplitEnv`] with fresh names, a fresh migrated database and free ports.
pub fn split_env() -> SplitEnv {
    let redis = outpost_test_support::redis_addr();
    let (rhost, rport) = redis.rsplit_once(':').unwrap();
    let rabbit = std::env::var("TEST_RABBITMQ_URL")
        .unwrap_or_else(|_| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    let id = outpost_test_support::unique("e2e");
    let mut env: Vec<(&'static str, String)> = base_env()
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect();
    env.extend([
        ("REDIS_HOST", rhost.to_string()),
        ("REDIS_PORT", rport.to_string()),
        ("AES_ENCRYPTION_SECRET", "aes".to_string()),
        ("DEPLOYMENT_ID", id.clone()),
        ("RABBITMQ_SERVER_URL", rabbit.clone()),
        ("RABBITMQ_EXCHANGE", id.clone()),
        ("RABBITMQ_DELIVERY_QUEUE", format!("{id}-delivery")),
        ("RABBITMQ_LOG_QUEUE", format!("{id}-log")),
        ("LOG_BATCH_THRESHOLD_SECONDS", "0".to_string()),
        // A tenant's tasks past the third in a second go through the busy delivery lane,
        // so every split test runs both lanes, on every queue backend.
        ("DELIVERY_BUSY_TENANT_TASKS_PER_SECOND", "3".to_string()),
    ]);
    let grpc = free_port();
    env.push(("LOG_GRPC_PORT", grpc.to_string()));
    env.push(("LOG_GRPC_URL", format!("http://127.0.0.1:{grpc}")));
    // `TEST_LOG_STORE=clickhouse` runs the same tests with the ClickHouse log store
    // (`TEST_CLICKHOUSE_URL`), in a database of this test's own.
    match log_store().as_str() {
        "clickhouse" => {
            let url =
                outpost_test_support::service_addr("TEST_CLICKHOUSE_URL", "http://127.0.0.1:8123");
            env.push(("CLICKHOUSE_ADDR", url));
            env.push(("CLICKHOUSE_DATABASE", id.replace('-', "_")));
        }
        _ => env.push(("POSTGRES_URL", fresh_database(&id))),
    }
    // `TEST_INTERNAL_MQ=sqs|pubsub|servicebus` runs the same tests with SQS (moto), Pub/Sub
    // (pstest) or Service Bus (our fake) as the internal queues (`make test-matrix`).
    match internal_mq().as_str() {
        "sqs" => {
            let endpoint = outpost_test_support::service_addr(
                "TEST_AWS_SQS_ENDPOINT",
                "http://127.0.0.1:4566",
            );
            use_sqs(&mut env, endpoint, &id);
        }
        "pubsub" => use_pubsub(&mut env, &id),
        "servicebus" => use_servicebus(&mut env, &id),
        _ => {}
    }
    let e: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = base_cmd(&["migrate", "apply", "--yes"], &e)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "migrate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Both log stores have two migrations; `migrate list` shows each applied and unchanged.
    let listed = base_cmd(&["migrate", "list"], &e).output().unwrap();
    let text = String::from_utf8_lossy(&listed.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        listed.status.success() && lines.len() == 2,
        "migrate list: {text}"
    );
    assert!(lines[0].starts_with("0001 init "), "{text}");
    assert!(
        lines
            .iter()
            .all(|l| l.contains(" applied 2") && !l.contains("DIFFERS") && !l.contains("unknown")),
        "every migration applied, unchanged: {text}"
    );
    let mut queues: Vec<String> = ["delivery", "log"]
        .iter()
        .flat_map(|q| [format!("{id}-{q}"), format!("{id}-{q}.dlq")])
        .collect();
    queues.push(format!("{id}-delivery.busy"));
    let topology =
        outpost_test_support::rabbit::TopologyGuard::new(&rabbit, vec![id.clone()], queues);
    SplitEnv {
        vars: env,
        _topology: topology,
    }
}

/// Replaces the RabbitMQ settings in `env` with SQS ones at `endpoint`, queues named after `id`.
pub fn use_sqs(env: &mut Vec<(&'static str, String)>, endpoint: String, id: &str) {
    let q = id.replace('_', "-");
    env.retain(|(k, _)| !k.starts_with("RABBITMQ_"));
    env.extend([
        ("AWS_SQS_REGION", "us-east-1".to_string()),
        ("AWS_SQS_ENDPOINT", endpoint),
        ("AWS_SQS_ACCESS_KEY_ID", "test".to_string()),
        ("AWS_SQS_SECRET_ACCESS_KEY", "test".to_string()),
        ("AWS_SQS_DELIVERY_QUEUE", format!("{q}-delivery")),
        ("AWS_SQS_LOG_QUEUE", format!("{q}-log")),
    ]);
}

/// The internal queue backend the split tests run on (`TEST_INTERNAL_MQ`: rabbitmq, the
/// default, sqs, pubsub or servicebus); anything else stops the test.
pub fn internal_mq() -> String {
    let mq = std::env::var("TEST_INTERNAL_MQ").unwrap_or_else(|_| "rabbitmq".into());
    assert!(
        ["rabbitmq", "sqs", "pubsub", "servicebus"].contains(&mq.as_str()),
        "TEST_INTERNAL_MQ={mq}: expected rabbitmq, sqs, pubsub or servicebus"
    );
    mq
}

/// The log store the split tests run on (`TEST_LOG_STORE`: postgres, the default, or
/// clickhouse); anything else stops the test.
pub fn log_store() -> String {
    let store = std::env::var("TEST_LOG_STORE").unwrap_or_else(|_| "postgres".into());
    assert!(
        ["postgres", "clickhouse"].contains(&store.as_str()),
        "TEST_LOG_STORE={store}: expected postgres or clickhouse"
    );
    store
}

/// Switches `env` from RabbitMQ to Pub/Sub on pstest (`TEST_GCP_PUBSUB_EMULATOR_HOST`), with
/// topics and subscriptions of this test's own.
pub fn use_pubsub(env: &mut Vec<(&'static str, String)>, id: &str) {
    let emulator =
        outpost_test_support::service_addr("TEST_GCP_PUBSUB_EMULATOR_HOST", "127.0.0.1:8085");
    let t = id.replace('_', "-");
    env.retain(|(k, _)| !k.starts_with("RABBITMQ_"));
    env.extend([
        ("GCP_PUBSUB_PROJECT", "outpost-test".to_string()),
        ("PUBSUB_EMULATOR_HOST", emulator),
        ("GCP_PUBSUB_DELIVERY_TOPIC", format!("{t}-delivery")),
        (
            "GCP_PUBSUB_DELIVERY_SUBSCRIPTION",
            format!("{t}-delivery-sub"),
        ),
        ("GCP_PUBSUB_LOG_TOPIC", format!("{t}-log")),
        ("GCP_PUBSUB_LOG_SUBSCRIPTION", format!("{t}-log-sub")),
    ]);
}

/// Switches `env` from RabbitMQ to Service Bus on the project's fake
/// (`TEST_AZURE_SERVICEBUS_HOST`, `TEST_AZURE_SERVICEBUS_CONTROL`), creating this test's topics
/// and subscriptions there (10 s locks, dead-lettering after 6 deliveries).
pub fn use_servicebus(env: &mut Vec<(&'static str, String)>, id: &str) {
    let host = outpost_test_support::service_addr("TEST_AZURE_SERVICEBUS_HOST", "127.0.0.2");
    let control = outpost_test_support::service_addr(
        "TEST_AZURE_SERVICEBUS_CONTROL",
        "http://127.0.0.2:5673",
    );
    let t = id.replace('_', "-");
    // The busy delivery lane is a topic of its own with the delivery subscription's name.
    for (topic, sub) in [
        ("delivery", "delivery"),
        ("delivery-busy", "delivery"),
        ("log", "log"),
    ] {
        http_put(
            &control,
            &format!(
                "/entities/{t}-{topic}/subscriptions/{t}-{sub}-sub?lock_seconds=10&max_delivery_count=6"
            ),
        );
    }
    env.retain(|(k, _)| !k.starts_with("RABBITMQ_"));
    env.extend([
        // Created above with short locks; provisioning would set them to its own.
        ("MQS_AUTO_PROVISION", "false".to_string()),
        (
            "AZURE_SERVICEBUS_CONNECTION_STRING",
            format!(
                "Endpoint=sb://{host};SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true"
            ),
        ),
        ("AZURE_SERVICEBUS_DELIVERY_TOPIC", format!("{t}-delivery")),
        ("AZURE_SERVICEBUS_DELIVERY_SUBSCRIPTION", format!("{t}-delivery-sub")),
        ("AZURE_SERVICEBUS_LOG_TOPIC", format!("{t}-log")),
        ("AZURE_SERVICEBUS_LOG_SUBSCRIPTION", format!("{t}-log-sub")),
    ]);
}

/// A bodiless HTTP/1.1 PUT to `base` (`http://host:port`) + `path`; panics unless it is 2xx.
fn http_put(base: &str, path: &str) {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let mut conn = std::net::TcpStream::connect(addr).unwrap_or_else(|e| {
        panic!("the Service Bus fake's control API is not reachable at {base} (scripts/stand-ins.sh start-servicebus): {e}")
    });
    write!(
        conn,
        "PUT {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    let status = answer.split_whitespace().nth(1).unwrap_or("");
    assert!(status.starts_with('2'), "PUT {base}{path}: {answer}");
}

/// Creates an empty database on the local PostgreSQL (`TEST_DATABASE_URL` names the server)
/// `env` with `server` (host:port) in `var` replaced by `proxy`'s address; `var` must be set
/// and name `server`.
pub fn through_proxy(
    env: &[(&'static str, String)],
    var: &str,
    server: &str,
    proxy: &outpost_test_support::tcp_proxy::TcpProxy,
) -> Vec<(&'static str, String)> {
    let direct = env.iter().find(|(k, _)| *k == var).map(|(_, v)| v.as_str());
    assert!(
        direct.is_some_and(|v| v.contains(server)),
        "{var}={direct:?}: expected {server}"
    );
    env.iter()
        .map(|(k, v)| {
            if *k == var {
                (*k, v.replacen(server, &proxy.addr.to_string(), 1))
            } else {
                (*k, v.clone())
            }
        })
        .collect()
}

/// and returns its URL.
fn fresh_database(id: &str) -> String {
    let server = outpost_test_support::postgres_url();
    let name = id.replace('-', "_").to_ascii_lowercase();
    let out = std::process::Command::new("psql")
        .args([
            server.as_str(),
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            &format!("CREATE DATABASE {name}"),
        ])
        .output()
        .expect("psql (the PostgreSQL client)");
    assert!(
        out.status.success(),
        "create database: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    outpost_test_support::database_url(&server, &name)
}

pub async fn start_service(env: &[(&'static str, String)], svc: &'static str) -> Server {
    let mut e: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    e.push(("SERVICE", svc));
    Server::start(&e).await
}
