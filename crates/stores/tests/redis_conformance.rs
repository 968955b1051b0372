//! The tenant-store conformance suite against a real Redis (`TEST_REDIS_URL`, default the
//! local one). A missing Redis fails the test: it is part of the default run.

mod common;

use common::settings;
use outpost_stores::{Cipher, RedisTenantStore, connect};

#[tokio::test]
async fn redis_store_conforms() {
    let client = connect(&settings())
        .await
        .expect("Redis at TEST_REDIS_ADDR (default 127.0.0.1:6379)");
    let deployment = outpost_test_support::unique("it");
    let store = RedisTenantStore::new(client, Some(&deployment), Cipher::new("test-secret"));
    outpost_test_support::tenant_store_suite::run(&store).await;
}

#[tokio::test]
async fn credentials_are_encrypted_at_rest_and_index_rebuilds() {
    use fred::prelude::*;
    use outpost_core::ports::TenantStore;
    let client = connect(&settings()).await.unwrap();
    let deployment = outpost_test_support::unique("enc");
    let store = RedisTenantStore::new(client.clone(), Some(&deployment), Cipher::new("k"));
    let now = outpost_core::time::now_ms();
    store
        .upsert_tenant(&outpost_test_support::tenant_store_suite::tenant("t", now))
        .await
        .unwrap();
    let mut d = outpost_test_support::tenant_store_suite::destination("t", "d", &["*"], now);
    d.credentials
        .insert("password".into(), "Sup3rSecretStoredPassword".into());
    d.delivery_metadata = Some(
        [(
            "x-api-key".to_string(),
            "Sup3rSecretDeliveryHeader".to_string(),
        )]
        .into(),
    );
    store.create_destination(&d, 5).await.unwrap();
    // No value under the deployment's keys holds a secret in clear, whatever its type.
    let mut everything: Vec<u8> = Vec::new();
    let keys: Vec<String> = client
        .custom(fred::cmd!("KEYS"), vec![format!("{deployment}:*")])
        .await
        .unwrap();
    assert!(!keys.is_empty());
    for key in &keys {
        let kind: String = client
            .custom(fred::cmd!("TYPE"), vec![key.clone()])
            .await
            .unwrap();
        let values: Vec<Vec<u8>> = match kind.as_str() {
            "hash" => client
                .custom(fred::cmd!("HGETALL"), vec![key.clone()])
                .await
                .unwrap(),
            "string" => vec![client.get(key).await.unwrap()],
            "set" => client
                .custom(fred::cmd!("SMEMBERS"), vec![key.clone()])
                .await
                .unwrap(),
            "zset" => client
                .custom(
                    fred::cmd!("ZRANGE"),
                    vec![key.clone(), "0".into(), "-1".into()],
                )
                .await
                .unwrap(),
            "list" => client
                .custom(
                    fred::cmd!("LRANGE"),
                    vec![key.clone(), "0".into(), "-1".into()],
                )
                .await
                .unwrap(),
            other => panic!("{key}: unexpected type {other}"),
        };
        everything.extend(values.into_iter().flatten());
        everything.extend(key.as_bytes());
    }
    for secret in [
        "whsec_abc",
        "Sup3rSecretStoredPassword",
        "Sup3rSecretDeliveryHeader",
    ] {
        assert!(
            !everything
                .windows(secret.len())
                .any(|w| w == secret.as_bytes()),
            "{secret} stored in clear"
        );
    }
    // And they read back decrypted.
    let outpost_core::ports::DestinationLookup::Found(back) =
        store.get_destination("t", "d").await.unwrap()
    else {
        panic!("destination not found")
    };
    assert_eq!(back.credentials["password"], "Sup3rSecretStoredPassword");
    assert_eq!(
        back.delivery_metadata.as_ref().unwrap()["x-api-key"],
        "Sup3rSecretDeliveryHeader"
    );
    let raw: Vec<u8> = client
        .hget(
            format!("{deployment}:tenant:{{t}}:destination:d"),
            "credentials",
        )
        .await
        .unwrap();
    assert!(
        !raw.windows(9).any(|w| w == b"whsec_abc"),
        "credentials stored in clear"
    );
    assert!(Cipher::new("k").decrypt(&raw).is_ok());
    // Drop our index: a rebuild finds the tenant from its hash (as for an upstream-written Redis).
    let _: () = client
        .del(format!("{deployment}:outpost:tenant_index"))
        .await
        .unwrap();
    assert_eq!(store.ensure_tenant_index().await.unwrap(), 1);
    assert_eq!(store.ensure_tenant_index().await.unwrap(), 0, "built once");
    let keys: Vec<String> = client
        .custom(fred::cmd!("KEYS"), vec![format!("{deployment}:*")])
        .await
        .unwrap();
    let _: () = client.del(keys).await.unwrap();
}

#[tokio::test]
async fn redis_idempotency_and_scheduler_conform() {
    let client = connect(&settings()).await.unwrap();
    let dep = outpost_test_support::unique("pipe");
    let idem = outpost_stores::RedisIdempotency::new(client.clone(), Some(&dep), "publishmq");
    outpost_test_support::pipeline_suites::idempotency(&idem).await;
    let short = outpost_stores::RedisIdempotency::new(client.clone(), Some(&dep), "deliverymq")
        .with_processing_ttl(std::time::Duration::from_secs(1));
    outpost_test_support::pipeline_suites::idempotency_renewal(&short).await;
    let fresh = outpost_stores::RedisScheduler::new(client.clone(), Some(&format!("{dep}-adv")));
    outpost_test_support::pipeline_suites::scheduler_advance(&fresh).await;
    let sched = outpost_stores::RedisScheduler::new(client, Some(&dep));
    outpost_test_support::pipeline_suites::scheduler(&sched).await;
}

#[tokio::test]
async fn redis_alert_state_conforms() {
    let client = connect(&settings()).await.unwrap();
    let dep = outpost_test_support::unique("alert");
    outpost_test_support::pipeline_suites::alert_state(&outpost_stores::RedisAlertState::new(
        client,
        Some(&dep),
    ))
    .await;
}
