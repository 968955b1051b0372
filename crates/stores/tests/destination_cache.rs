//! The destination cache against a real Redis (`TEST_REDIS_ADDR`, default the local one): a
//! cached store serves repeated reads without Redis, sees changes made by another process's
//! store through the change channel, and empties itself when its subscription is cut. A
//! missing Redis fails the tests: they are part of the default run.
#![allow(clippy::unwrap_used)]

use fred::prelude::*;
use outpost_core::destination::Destination;
use outpost_core::ports::{DestinationLookup, TenantStore};
use outpost_stores::destination_cache::spawn_subscription;
mod common;

use common::settings;
use outpost_stores::{Cipher, DestinationCache, RedisSettings, RedisTenantStore, connect};
use std::sync::Arc;
use std::time::Duration;

/// A plain store (the api's) and a cached one (a delivery process's) on one deployment,
/// the raw client, the cache, and the subscriber's Redis client id.
struct Setup {
    deployment: String,
    raw: Client,
    writer: RedisTenantStore,
    reader: RedisTenantStore,
    cache: Arc<DestinationCache>,
    subscriber_id: i64,
}

async fn setup(prefix: &str) -> Setup {
    let deployment = outpost_test_support::unique(prefix);
    let raw = connect(&settings())
        .await
        .expect("Redis at TEST_REDIS_ADDR (default 127.0.0.1:6379)");
    let writer = RedisTenantStore::new(raw.clone(), Some(&deployment), Cipher::new("k"));
    let subscriber = connect(&settings()).await.unwrap();
    let subscriber_id: i64 = subscriber
        .custom(fred::cmd!("CLIENT"), vec!["ID"])
        .await
        .unwrap();
    let cache = Arc::new(DestinationCache::new(Duration::from_secs(60), 100));
    let reader = RedisTenantStore::new(
        connect(&settings()).await.unwrap(),
        Some(&deployment),
        Cipher::new("k"),
    )
    .with_destination_cache(cache.clone());
    spawn_subscription(
        &cache,
        subscriber,
        raw.clone(),
        reader.change_channel().to_string(),
    );
    wait_for(|| cache.is_live(), "the cache subscribes").await;
    Setup {
        deployment,
        raw,
        writer,
        reader,
        cache,
        subscriber_id,
    }
}

impl Setup {
    /// Tenant `t` with destination `d` on topic `a`, held by the cache.
    async fn start(&self) {
        create_tenant(&self.writer).await;
        self.writer
            .create_destination(&dest("d", &["a"]), 5)
            .await
            .unwrap();
        assert_eq!(topics(&self.read_cached("d").await), ["a"]);
    }

    fn key(&self, id: &str) -> String {
        format!("{}:tenant:{{t}}:destination:{id}", self.deployment)
    }

    /// Changes a destination's topics behind every store's back (no change message).
    async fn overwrite_topics(&self, id: &str, topics: &str) {
        let _: () = self
            .raw
            .hset(self.key(id), ("topics", topics))
            .await
            .unwrap();
    }

    async fn read(&self, id: &str) -> DestinationLookup {
        self.reader.get_destination("t", id).await.unwrap()
    }

    /// Reads until the answer is held by the cache (a read that overlapped a change message,
    /// such as the one announcing a write just made, is not kept).
    async fn read_cached(&self, id: &str) -> DestinationLookup {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let l = self.read(id).await;
            if self.cache.get("t", id, std::time::Instant::now()).is_some() {
                return l;
            }
            assert!(tokio::time::Instant::now() < deadline, "{id} never cached");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn cleanup(self) {
        let keys: Vec<String> = self
            .raw
            .custom(fred::cmd!("KEYS"), vec![format!("{}:*", self.deployment)])
            .await
            .unwrap();
        if !keys.is_empty() {
            let _: () = self.raw.del(keys).await.unwrap();
        }
    }
}

async fn create_tenant(store: &RedisTenantStore) {
    let now = outpost_core::time::now_ms();
    store
        .upsert_tenant(&outpost_test_support::tenant_store_suite::tenant("t", now))
        .await
        .unwrap();
}

fn topics(l: &DestinationLookup) -> Vec<String> {
    match l {
        DestinationLookup::Found(d) => d.topics.clone(),
        other => panic!("expected a destination, got {other:?}"),
    }
}

async fn wait_for(mut ok: impl FnMut() -> bool, what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !ok() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads until `check` holds for the reader's answer (a change message travels on its own
/// connection, so it may land a moment after the write returned).
async fn read_until(s: &Setup, id: &str, check: impl Fn(&DestinationLookup) -> bool, what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if check(&s.read(id).await) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn dest(id: &str, topics: &[&str]) -> Destination {
    outpost_test_support::tenant_store_suite::destination(
        "t",
        id,
        topics,
        outpost_core::time::now_ms(),
    )
}

#[tokio::test]
async fn repeated_reads_are_served_from_the_cache_and_changes_reach_it() {
    let s = setup("dcache").await;
    s.start().await;
    // An unannounced change is not seen: the second read did not go to Redis.
    s.overwrite_topics("d", "sneaky").await;
    assert_eq!(topics(&s.read("d").await), ["a"]);
    // An update through a store is announced and reaches the cache.
    let mut d = dest("d", &["b"]);
    s.writer.update_destination(&d).await.unwrap();
    read_until(&s, "d", |l| topics(l) == ["b"], "the update is seen").await;
    // Disabling is an update too.
    d.disabled_at = Some(outpost_core::time::now_ms());
    s.writer.update_destination(&d).await.unwrap();
    read_until(
        &s,
        "d",
        |l| matches!(l, DestinationLookup::Found(d) if d.disabled_at.is_some()),
        "the disable is seen",
    )
    .await;
    s.writer.delete_destination("t", "d").await.unwrap();
    read_until(
        &s,
        "d",
        |l| matches!(l, DestinationLookup::Deleted),
        "the delete is seen",
    )
    .await;
    // Deleting the tenant drops all of its destinations.
    s.writer
        .create_destination(&dest("e", &["a"]), 5)
        .await
        .unwrap();
    assert_eq!(topics(&s.read_cached("e").await), ["a"]);
    s.writer.delete_tenant("t").await.unwrap();
    read_until(
        &s,
        "e",
        |l| matches!(l, DestinationLookup::Deleted),
        "the tenant deletion is seen",
    )
    .await;
    // A destination not found is not cached: once created it is found.
    assert_eq!(s.read("f").await, DestinationLookup::NotFound);
    s.writer
        .create_destination(&dest("f", &["a"]), 5)
        .await
        .unwrap();
    assert_eq!(topics(&s.read("f").await), ["a"]);
    s.cleanup().await;
}

/// The ids of tenant `t`'s destinations on topic `topic`, as a publish routes them.
async fn routed(store: &RedisTenantStore, topic: &str) -> Vec<String> {
    let mut ids: Vec<String> = store
        .list_summaries("t")
        .await
        .unwrap()
        .into_iter()
        .filter(|d| d.matches(topic, &serde_json::json!({"data": {"amount": 10}})))
        .map(|d| d.id)
        .collect();
    ids.sort();
    ids
}

/// Reads the reader's routing until `want` (a change message may land a moment after the
/// write returned).
async fn routed_until(s: &Setup, topic: &str, want: &[&str], what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while routed(&s.reader, topic).await != want {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn routing_summaries_are_cached_and_changes_reach_them() {
    let s = setup("dsum").await;
    s.start().await;
    routed_until(&s, "a", &["d"], "the first routing").await;
    wait_for(
        || {
            s.cache
                .get_summaries("t", std::time::Instant::now())
                .is_some()
        },
        "the summaries are cached",
    )
    .await;
    // Served from the cache: a change behind every store's back is not seen.
    let summaries = outpost_stores::keys::Keys::new(Some(&s.deployment)).summaries("t");
    let _: () = s.raw.hdel(&summaries, "d").await.unwrap();
    assert_eq!(routed(&s.reader, "a").await, ["d"]);
    // Each write through a store is announced and reaches the routing.
    s.writer
        .create_destination(&dest("e", &["a"]), 5)
        .await
        .unwrap();
    routed_until(&s, "a", &["e"], "a created destination is routed").await;
    s.writer
        .update_destination(&dest("e", &["b"]))
        .await
        .unwrap();
    routed_until(&s, "b", &["e"], "an updated destination is routed anew").await;
    s.writer.delete_destination("t", "e").await.unwrap();
    routed_until(&s, "b", &[], "a deleted destination is no longer routed").await;
    // The writing store's own cache drops its copy at once, before the message comes back.
    s.reader
        .create_destination(&dest("f", &["a"]), 5)
        .await
        .unwrap();
    assert_eq!(routed(&s.reader, "a").await, ["f"]);
    s.cleanup().await;
}

#[tokio::test]
async fn a_cut_subscription_empties_the_cache_until_it_is_back() {
    let s = setup("dcut").await;
    s.start().await;
    assert_eq!(s.cache.len(), 1);
    // Cut the subscriber's connection; changes made meanwhile are announced to no one.
    let _: Value = s
        .raw
        .custom(
            fred::cmd!("CLIENT"),
            vec!["KILL".to_string(), "ID".into(), s.subscriber_id.to_string()],
        )
        .await
        .unwrap();
    s.overwrite_topics("d", "b").await;
    // The reader drops what it held and reads Redis again, then caches once resubscribed.
    read_until(&s, "d", |l| topics(l) == ["b"], "the cut empties the cache").await;
    wait_for(|| s.cache.is_live(), "the cache subscribes again").await;
    s.writer
        .update_destination(&dest("d", &["c"]))
        .await
        .unwrap();
    read_until(&s, "d", |l| topics(l) == ["c"], "changes reach it again").await;
    assert_eq!(topics(&s.read_cached("d").await), ["c"]);
    s.overwrite_topics("d", "sneaky").await;
    assert_eq!(topics(&s.read("d").await), ["c"], "cached again");
    s.cleanup().await;
}

#[tokio::test]
async fn the_cached_store_conforms() {
    let s = setup("dconf").await;
    outpost_test_support::tenant_store_suite::run(&s.reader).await;
    s.cleanup().await;
}

/// A Redis user without pub/sub rights (Redis 7 ACLs grant no channels by default): writes
/// still succeed (the announcement is best effort) and the cache never goes live, so reads
/// stay fresh.
#[tokio::test]
async fn a_user_without_channel_rights_writes_and_reads_uncached() {
    let admin = connect(&settings()).await.unwrap();
    let user = outpost_test_support::unique("nochan");
    let _: Value = admin
        .custom(
            fred::cmd!("ACL"),
            vec![
                "SETUSER".to_string(),
                user.clone(),
                "on".into(),
                ">pw".into(),
                "~*".into(),
                "+@all".into(),
                "resetchannels".into(),
            ],
        )
        .await
        .unwrap();
    let as_user = RedisSettings {
        username: Some(user.clone()),
        password: Some("pw".into()),
        ..settings()
    };
    let deployment = outpost_test_support::unique("dnochan");
    let client = connect(&as_user).await.unwrap();
    let writer = RedisTenantStore::new(client.clone(), Some(&deployment), Cipher::new("k"));
    let cache = Arc::new(DestinationCache::new(Duration::from_secs(60), 100));
    let reader = RedisTenantStore::new(client.clone(), Some(&deployment), Cipher::new("k"))
        .with_destination_cache(cache.clone());
    spawn_subscription(
        &cache,
        connect(&as_user).await.unwrap(),
        client.clone(),
        reader.change_channel().to_string(),
    );
    create_tenant(&writer).await;
    writer
        .create_destination(&dest("d", &["a"]), 5)
        .await
        .unwrap();
    writer.update_destination(&dest("d", &["b"])).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert!(!cache.is_live(), "SUBSCRIBE was refused");
    assert_eq!(
        topics(&reader.get_destination("t", "d").await.unwrap()),
        ["b"]
    );
    let _: () = client
        .hset(
            format!("{deployment}:tenant:{{t}}:destination:d"),
            ("topics", "c"),
        )
        .await
        .unwrap();
    assert_eq!(
        topics(&reader.get_destination("t", "d").await.unwrap()),
        ["c"],
        "not cached"
    );
    assert!(writer.delete_destination("t", "d").await.unwrap());
    assert!(writer.delete_tenant("t").await.unwrap());
    let _: Value = admin
        .custom(fred::cmd!("ACL"), vec!["DELUSER".to_string(), user])
        .await
        .unwrap();
    let keys: Vec<String> = admin
        .custom(fred::cmd!("KEYS"), vec![format!("{deployment}:*")])
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: () = admin.del(keys).await.unwrap();
    }
}
