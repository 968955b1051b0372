//! Conformance suite of the `TenantStore` port: every implementation must pass it.

use chrono::Duration;
use outpost_core::StoreError;
use outpost_core::destination::Destination;
use outpost_core::ports::page::{Dir, PageCursor, PageRequest};
use outpost_core::ports::{DestinationLookup, TenantListQuery, TenantStore};
use outpost_core::tenant::TenantRecord;
use outpost_core::time::{Timestamp, now_ms};

/// A tenant record without metadata.
pub fn tenant(id: &str, created: Timestamp) -> TenantRecord {
    TenantRecord {
        id: id.into(),
        metadata: None,
        created_at: created,
        updated_at: created,
    }
}

fn record(id: &str, created: Timestamp) -> TenantRecord {
    TenantRecord {
        metadata: Some([("plan".to_string(), "pro".to_string())].into()),
        ..tenant(id, created)
    }
}

/// A webhook destination for tests.
pub fn destination(tenant: &str, id: &str, topics: &[&str], created: Timestamp) -> Destination {
    Destination {
        id: id.into(),
        tenant_id: tenant.into(),
        kind: "webhook".into(),
        topics: topics.iter().map(|s| s.to_string()).collect(),
        filter: Some(serde_json::json!({"data": {"amount": {"$gte": 10}}})),
        config: [("url".to_string(), "https://example.com/h".to_string())].into(),
        credentials: [("secret".to_string(), "whsec_abc".to_string())].into(),
        delivery_metadata: Some([("source".to_string(), "test".to_string())].into()),
        metadata: None,
        created_at: created,
        updated_at: created,
        disabled_at: None,
    }
}

/// Runs every check against `store`. Ids are unique per run so a shared backend is fine.
pub async fn run(store: &dyn TenantStore) {
    let run = crate::unique("suite");
    tenants(store, &run).await;
    destinations(store, &run).await;
    list_pagination(store, &run).await;
    cascade_delete(store, &run).await;
}

async fn tenants(store: &dyn TenantStore, run: &str) {
    let id = format!("{run}_t1");
    assert!(store.get_tenant(&id).await.unwrap().is_none());
    let now = now_ms();
    store.upsert_tenant(&record(&id, now)).await.unwrap();
    let t = store
        .get_tenant(&id)
        .await
        .unwrap()
        .expect("created tenant");
    assert_eq!(t.id, id);
    assert_eq!(t.destinations_count, 0);
    assert!(t.topics.is_empty());
    assert_eq!(t.metadata.as_ref().unwrap()["plan"], "pro");
    assert_eq!(t.created_at, now);
    let mut updated = record(&id, now);
    updated.metadata = None;
    updated.updated_at = now + Duration::seconds(5);
    store.upsert_tenant(&updated).await.unwrap();
    let t = store.get_tenant(&id).await.unwrap().unwrap();
    assert_eq!(t.metadata, None, "metadata replaced, not merged");
    assert_eq!(t.updated_at, now + Duration::seconds(5));
    assert!(store.delete_tenant(&id).await.unwrap());
    assert!(store.get_tenant(&id).await.unwrap().is_none());
    assert!(
        !store.delete_tenant(&id).await.unwrap(),
        "second delete reports missing"
    );
    // A deleted tenant can be recreated fresh.
    store
        .upsert_tenant(&record(&id, now + Duration::seconds(9)))
        .await
        .unwrap();
    let t = store.get_tenant(&id).await.unwrap().unwrap();
    assert_eq!(t.created_at, now + Duration::seconds(9));
}

async fn destinations(store: &dyn TenantStore, run: &str) {
    let tenant = format!("{run}_t2");
    let now = now_ms();
    store.upsert_tenant(&record(&tenant, now)).await.unwrap();
    let d1 = destination(&tenant, "d1", &["user.created", "user.deleted"], now);
    let d2 = destination(
        &tenant,
        "d2",
        &["order.paid"],
        now + Duration::milliseconds(1),
    );
    store.create_destination(&d1, 2).await.unwrap();
    store.create_destination(&d2, 2).await.unwrap();
    assert!(matches!(
        store.create_destination(&d1, 5).await,
        Err(StoreError::DestinationExists)
    ));
    let d3 = destination(&tenant, "d3", &["*"], now);
    assert!(matches!(
        store.create_destination(&d3, 2).await,
        Err(StoreError::MaxDestinations)
    ));
    let t = store.get_tenant(&tenant).await.unwrap().unwrap();
    assert_eq!(t.destinations_count, 2);
    assert_eq!(t.topics, vec!["order.paid", "user.created", "user.deleted"]);
    match store.get_destination(&tenant, "d1").await.unwrap() {
        DestinationLookup::Found(d) => assert_eq!(*d, d1, "round trip keeps every field"),
        other => panic!("expected d1, got {other:?}"),
    }
    assert_eq!(
        store.get_destination(&tenant, "nope").await.unwrap(),
        DestinationLookup::NotFound
    );
    let list = store.list_destinations(&tenant).await.unwrap();
    assert_eq!(
        list.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        vec!["d1", "d2"]
    );
    let mut changed = d2.clone();
    changed.topics = vec!["*".into()];
    changed.disabled_at = Some(now);
    changed.filter = None;
    changed.delivery_metadata = None;
    store.update_destination(&changed).await.unwrap();
    match store.get_destination(&tenant, "d2").await.unwrap() {
        DestinationLookup::Found(d) => assert_eq!(*d, changed),
        other => panic!("expected d2, got {other:?}"),
    }
    let summaries = store.list_summaries(&tenant).await.unwrap();
    let s2 = summaries.iter().find(|s| s.id == "d2").unwrap();
    assert!(s2.disabled);
    assert_eq!(s2.topics, vec!["*"]);
    assert_eq!(
        store.get_tenant(&tenant).await.unwrap().unwrap().topics,
        vec!["*"]
    );
    assert!(store.delete_destination(&tenant, "d1").await.unwrap());
    assert!(!store.delete_destination(&tenant, "d1").await.unwrap());
    assert_eq!(
        store.get_destination(&tenant, "d1").await.unwrap(),
        DestinationLookup::Deleted
    );
    assert_eq!(store.list_destinations(&tenant).await.unwrap().len(), 1);
    assert_eq!(
        store
            .get_tenant(&tenant)
            .await
            .unwrap()
            .unwrap()
            .destinations_count,
        1
    );
    // The id of a deleted destination can be reused.
    store.create_destination(&d1, 2).await.unwrap();
    assert!(matches!(
        store.get_destination(&tenant, "d1").await.unwrap(),
        DestinationLookup::Found(_)
    ));
}

async fn list_pagination(store: &dyn TenantStore, run: &str) {
    // Five tenants at increasing times, two sharing a millisecond; all far in the future so no
    // other test's tenants interleave with them in a shared store.
    let base = now_ms() + Duration::days(3650 + (rand_offset(run) % 1000));
    let ids: Vec<String> = (0..5).map(|i| format!("{run}_p{i}")).collect();
    for (i, id) in ids.iter().enumerate() {
        let at = base + Duration::milliseconds(if i == 4 { 3 } else { i as i64 });
        store.upsert_tenant(&record(id, at)).await.unwrap();
    }
    let q = |cursor, limit, dir| TenantListQuery {
        page: PageRequest { dir, limit, cursor },
        ids: ids.clone(),
    };
    let p1 = store.list_tenants(&q(None, 2, Dir::Desc)).await.unwrap();
    assert_eq!(p1.count, 5);
    let got: Vec<&str> = p1.page.items.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(got, vec![ids[4].as_str(), ids[3].as_str()]);
    let p2 = store
        .list_tenants(&q(
            Some(PageCursor::Next(p1.page.next.clone().unwrap())),
            2,
            Dir::Desc,
        ))
        .await
        .unwrap();
    let got: Vec<&str> = p2.page.items.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(got, vec![ids[2].as_str(), ids[1].as_str()]);
    let back = store
        .list_tenants(&q(
            Some(PageCursor::Prev(p2.page.prev.clone().unwrap())),
            2,
            Dir::Desc,
        ))
        .await
        .unwrap();
    assert_eq!(back.page.items, p1.page.items);
    let asc = store.list_tenants(&q(None, 10, Dir::Asc)).await.unwrap();
    let got: Vec<&str> = asc.page.items.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(got, ids.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(asc.page.next.is_none() && asc.page.prev.is_none());
    // Unfiltered listing pages through every tenant exactly once.
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .list_tenants(&TenantListQuery {
                page: PageRequest {
                    dir: Dir::Desc,
                    limit: 3,
                    cursor,
                },
                ids: vec![],
            })
            .await
            .unwrap();
        seen.extend(page.page.items.iter().map(|t| t.id.clone()));
        match page.page.next {
            Some(k) => cursor = Some(PageCursor::Next(k)),
            None => break,
        }
    }
    for id in &ids {
        assert_eq!(
            seen.iter().filter(|s| *s == id).count(),
            1,
            "{id} listed once"
        );
    }
    for id in &ids {
        store.delete_tenant(id).await.unwrap();
    }
}

fn rand_offset(run: &str) -> i64 {
    run.bytes()
        .fold(0i64, |a, b| (a * 31 + i64::from(b)) % 1_000_003)
}

async fn cascade_delete(store: &dyn TenantStore, run: &str) {
    let tenant = format!("{run}_t3");
    let now = now_ms();
    store.upsert_tenant(&record(&tenant, now)).await.unwrap();
    store
        .create_destination(&destination(&tenant, "a", &["*"], now), 10)
        .await
        .unwrap();
    store
        .create_destination(&destination(&tenant, "b", &["x"], now), 10)
        .await
        .unwrap();
    assert!(store.delete_tenant(&tenant).await.unwrap());
    assert_eq!(
        store.get_destination(&tenant, "a").await.unwrap(),
        DestinationLookup::Deleted
    );
    assert!(store.list_destinations(&tenant).await.unwrap().is_empty());
    assert!(store.list_summaries(&tenant).await.unwrap().is_empty());
    store.upsert_tenant(&record(&tenant, now)).await.unwrap();
    assert_eq!(
        store
            .get_tenant(&tenant)
            .await
            .unwrap()
            .unwrap()
            .destinations_count,
        0
    );
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn memory_store_conforms() {
        let store = outpost_core::ports::MemoryTenantStore::new();
        super::run(&store).await;
    }
}
