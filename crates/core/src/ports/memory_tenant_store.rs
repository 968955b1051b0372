//! In-memory tenant store for the embedded mode and tests. Nothing survives a restart.

use super::page::Dir;
use super::tenant_store::{DestinationLookup, TenantKey, TenantListQuery, TenantPage, TenantStore};
use crate::StoreError;
use crate::destination::{Destination, DestinationSummary};
use crate::tenant::{Tenant, TenantRecord};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Default)]
struct TenantEntry {
    record: Option<TenantRecord>,
    /// Destinations by id; `None` = soft-deleted.
    /// Shared with the lookups that return them (a delivery reads its destination each time).
    destinations: HashMap<String, Option<Arc<Destination>>>,
}

#[derive(Default)]
struct Inner {
    tenants: HashMap<String, TenantEntry>,
    index: BTreeSet<TenantKey>,
}

/// A [`TenantStore`] in process memory.
#[derive(Default)]
pub struct MemoryTenantStore {
    inner: Mutex<Inner>,
}

impl MemoryTenantStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A poisoned lock only means another thread panicked mid-update of plain maps; the
        // data is still structurally valid, so keep serving.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn live_destinations(entry: &TenantEntry) -> Vec<&Destination> {
    let mut v: Vec<&Destination> = entry
        .destinations
        .values()
        .flatten()
        .map(Arc::as_ref)
        .collect();
    v.sort_by(|a, b| {
        a.created_at
            .cmp(&b.created_at)
            .then_with(|| a.id.cmp(&b.id))
    });
    v
}

fn view(entry: &TenantEntry) -> Option<Tenant> {
    let record = entry.record.clone()?;
    let summaries: Vec<DestinationSummary> = live_destinations(entry)
        .iter()
        .map(|d| d.summary())
        .collect();
    Some(Tenant::from_parts(record, &summaries))
}

fn key_of(r: &TenantRecord) -> TenantKey {
    TenantKey {
        created_ms: r.created_at.timestamp_millis(),
        id: r.id.clone(),
    }
}

#[async_trait::async_trait]
impl TenantStore for MemoryTenantStore {
    async fn get_tenant(&self, id: &str) -> Result<Option<Tenant>, StoreError> {
        Ok(self.lock().tenants.get(id).and_then(view))
    }

    async fn upsert_tenant(&self, tenant: &TenantRecord) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let entry = inner.tenants.entry(tenant.id.clone()).or_default();
        let old_key = entry.record.as_ref().map(key_of);
        entry.record = Some(tenant.clone());
        if let Some(k) = old_key {
            inner.index.remove(&k);
        }
        inner.index.insert(key_of(tenant));
        Ok(())
    }

    async fn delete_tenant(&self, id: &str) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        let Some(entry) = inner.tenants.get_mut(id) else {
            return Ok(false);
        };
        let Some(record) = entry.record.take() else {
            return Ok(false);
        };
        for d in entry.destinations.values_mut() {
            *d = None;
        }
        inner.index.remove(&key_of(&record));
        Ok(true)
    }

    async fn list_tenants(&self, query: &TenantListQuery) -> Result<TenantPage, StoreError> {
        let inner = self.lock();
        let keys: Vec<&TenantKey> = inner
            .index
            .iter()
            .filter(|k| query.ids.is_empty() || query.ids.contains(&k.id))
            .collect();
        let count = keys.len();
        let (dir, after) = query.page.scan();
        let ordered: Box<dyn Iterator<Item = &&TenantKey>> = match dir {
            Dir::Asc => Box::new(keys.iter()),
            Dir::Desc => Box::new(keys.iter().rev()),
        };
        let items: Vec<Tenant> = ordered
            .filter(|k| match (after, dir) {
                (None, _) => true,
                (Some(a), Dir::Asc) => **k > a,
                (Some(a), Dir::Desc) => **k < a,
            })
            .filter_map(|k| inner.tenants.get(&k.id).and_then(view))
            .take(query.page.limit + 1)
            .collect();
        Ok(TenantPage {
            page: query.page.build(items, Tenant::sort_key),
            count,
        })
    }

    async fn list_destinations(&self, tenant_id: &str) -> Result<Vec<Destination>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .tenants
            .get(tenant_id)
            .map(|e| live_destinations(e).into_iter().cloned().collect())
            .unwrap_or_default())
    }

    async fn get_destination(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<DestinationLookup, StoreError> {
        let inner = self.lock();
        Ok(
            match inner
                .tenants
                .get(tenant_id)
                .and_then(|e| e.destinations.get(id))
            {
                Some(Some(d)) => DestinationLookup::Found(d.clone()),
                Some(None) => DestinationLookup::Deleted,
                None => DestinationLookup::NotFound,
            },
        )
    }

    async fn create_destination(&self, dest: &Destination, max: usize) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let entry = inner.tenants.entry(dest.tenant_id.clone()).or_default();
        if matches!(entry.destinations.get(&dest.id), Some(Some(_))) {
            return Err(StoreError::DestinationExists);
        }
        if entry.destinations.values().flatten().count() >= max {
            return Err(StoreError::MaxDestinations);
        }
        entry
            .destinations
            .insert(dest.id.clone(), Some(Arc::new(dest.clone())));
        Ok(())
    }

    async fn update_destination(&self, dest: &Destination) -> Result<(), StoreError> {
        let mut inner = self.lock();
        let entry = inner.tenants.entry(dest.tenant_id.clone()).or_default();
        entry
            .destinations
            .insert(dest.id.clone(), Some(Arc::new(dest.clone())));
        Ok(())
    }

    async fn delete_destination(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        match inner
            .tenants
            .get_mut(tenant_id)
            .and_then(|e| e.destinations.get_mut(id))
        {
            Some(slot @ Some(_)) => {
                *slot = None;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn list_summaries(&self, tenant_id: &str) -> Result<Vec<DestinationSummary>, StoreError> {
        let inner = self.lock();
        Ok(inner
            .tenants
            .get(tenant_id)
            .map(|e| live_destinations(e).iter().map(|d| d.summary()).collect())
            .unwrap_or_default())
    }
}
