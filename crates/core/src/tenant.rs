//! Tenants: the platform's customers, each owning destinations.

use crate::patch::StringMap;
use crate::time::{Timestamp, serde_rfc3339};
use serde::{Deserialize, Serialize};

/// A tenant as stored (without the fields derived from its destinations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantRecord {
    /// Tenant id, chosen by the platform.
    pub id: String,
    /// Free-form metadata.
    pub metadata: Option<StringMap>,
    /// Creation time (ms precision).
    pub created_at: Timestamp,
    /// Last update time (ms precision).
    pub updated_at: Timestamp,
}

/// A tenant as the API returns it (`Tenant` in Outpost's OpenAPI).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// Tenant id.
    pub id: String,
    /// Number of (non-deleted) destinations, disabled included.
    pub destinations_count: usize,
    /// Union of the destinations' topics, or `["*"]`.
    pub topics: Vec<String>,
    /// Free-form metadata, omitted when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<StringMap>,
    /// Creation time.
    #[serde(with = "serde_rfc3339")]
    pub created_at: Timestamp,
    /// Last update time.
    #[serde(with = "serde_rfc3339")]
    pub updated_at: Timestamp,
}

impl Tenant {
    /// Builds the API view from the record and the tenant's destination summaries.
    pub fn from_parts(
        record: TenantRecord,
        summaries: &[crate::destination::DestinationSummary],
    ) -> Self {
        let topics = crate::topic::tenant_topics(summaries.iter().map(|s| s.topics.as_slice()));
        Tenant {
            id: record.id,
            destinations_count: summaries.len(),
            topics,
            metadata: record.metadata,
            created_at: record.created_at,
            updated_at: record.updated_at,
        }
    }

    /// The position of this tenant in the `created_at` ordering used by list pagination.
    pub fn sort_key(&self) -> crate::ports::TenantKey {
        crate::ports::TenantKey {
            created_ms: self.created_at.timestamp_millis(),
            id: self.id.clone(),
        }
    }
}
