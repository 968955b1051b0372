//! The tenant store port: tenants, their destinations and the destination summaries that drive
//! event matching. Implemented on Redis (`outpost-stores`) and in memory.

use crate::StoreError;
use crate::destination::{Destination, DestinationSummary};
use crate::ports::page::{Page, PageRequest};
use crate::tenant::{Tenant, TenantRecord};

/// Position of a tenant in the list order: creation time, then id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TenantKey {
    /// Creation time in unix milliseconds.
    pub created_ms: i64,
    /// Tenant id (tie-break).
    pub id: String,
}

impl TenantKey {
    /// Cursor data: `<ms>:<id>` (a bare `<ms>` from an upstream cursor is accepted by [`Self::parse`]).
    pub fn to_cursor_data(&self) -> String {
        format!("{}:{}", self.created_ms, self.id)
    }

    /// Parses cursor data.
    pub fn parse(data: &str) -> Option<Self> {
        let (ms, id) = data.split_once(':').unwrap_or((data, ""));
        Some(Self {
            created_ms: ms.parse().ok()?,
            id: id.to_string(),
        })
    }
}

/// Query of the list-tenants route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantListQuery {
    /// Paging.
    pub page: PageRequest<TenantKey>,
    /// Only these tenant ids (empty = all).
    pub ids: Vec<String>,
}

/// A page of tenants and the total number matching the query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantPage {
    /// The page.
    pub page: Page<Tenant, TenantKey>,
    /// Total number of tenants matching (all pages).
    pub count: usize,
}

/// Result of looking a destination up.
#[derive(Debug, Clone, PartialEq)]
pub enum DestinationLookup {
    /// Present (enabled or disabled).
    Found(std::sync::Arc<Destination>),
    /// Soft-deleted.
    Deleted,
    /// Never existed (or expired after deletion).
    NotFound,
}

/// Storage of tenants and destinations.
#[async_trait::async_trait]
pub trait TenantStore: Send + Sync + 'static {
    /// The tenant with its derived fields, or `None` when missing or deleted.
    async fn get_tenant(&self, id: &str) -> Result<Option<Tenant>, StoreError>;
    /// Creates or replaces a tenant record (undeleting it if it was deleted).
    async fn upsert_tenant(&self, tenant: &TenantRecord) -> Result<(), StoreError>;
    /// Soft-deletes a tenant and all its destinations; false when it did not exist.
    async fn delete_tenant(&self, id: &str) -> Result<bool, StoreError>;
    /// Lists tenants by creation time.
    async fn list_tenants(&self, query: &TenantListQuery) -> Result<TenantPage, StoreError>;
    /// The tenant's non-deleted destinations, oldest first.
    async fn list_destinations(&self, tenant_id: &str) -> Result<Vec<Destination>, StoreError>;
    /// Looks one destination up.
    async fn get_destination(
        &self,
        tenant_id: &str,
        id: &str,
    ) -> Result<DestinationLookup, StoreError>;
    /// Creates a destination atomically: fails with [`StoreError::DestinationExists`] when a
    /// non-deleted one has the id, [`StoreError::MaxDestinations`] when the tenant has `max`.
    async fn create_destination(&self, dest: &Destination, max: usize) -> Result<(), StoreError>;
    /// Replaces an existing destination.
    async fn update_destination(&self, dest: &Destination) -> Result<(), StoreError>;
    /// Soft-deletes a destination; false when it did not exist.
    async fn delete_destination(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError>;
    /// The summaries of the tenant's destinations, for matching.
    async fn list_summaries(&self, tenant_id: &str) -> Result<Vec<DestinationSummary>, StoreError>;
}
