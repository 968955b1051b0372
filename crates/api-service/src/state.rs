//! Shared state of the API handlers.

use outpost_core::health::Health;
use outpost_core::ids::IdGen;
use outpost_core::ports::{Idempotency, LogStore, Queue, TenantStore};
use outpost_core::topic::TopicRules;
use outpost_destinations::Registry;
use std::sync::Arc;
use std::time::Duration;

/// Settings the API reads on every request.
#[derive(Debug, Clone, Default)]
pub struct ApiSettings {
    /// Admin key; empty = every request is admin (VPC mode).
    pub api_key: String,
    /// JWT secret.
    pub jwt_secret: String,
    /// Deployment id, added to issued JWTs.
    pub deployment_id: Option<String>,
    /// Topic rules.
    pub topics: TopicRules,
    /// Most destinations per tenant.
    pub max_destinations_per_tenant: usize,
    /// Id generation.
    pub idgen: IdGen,
    /// The tenant portal's runtime settings.
    pub portal: crate::portal::PortalSettings,
}

/// What every handler can reach: a handle on [`Shared`], cloned for each request by the router
/// and its extractors (one reference count, not one per part).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl From<Shared> for AppState {
    fn from(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// The parts of the API state.
pub struct Shared {
    /// Settings.
    pub settings: Arc<ApiSettings>,
    /// Tenants and destinations.
    pub store: Arc<dyn TenantStore>,
    /// Destination types.
    pub registry: Arc<Registry>,
    /// Worker health.
    pub health: Health,
    /// Where published events go.
    pub pipeline: Pipeline,
    /// The event and attempt log (in process, or the log service over gRPC).
    pub logs: Arc<dyn LogStore>,
    /// Operator events (`tenant.subscription.updated`).
    pub opevents: outpost_opevents::Emitter,
}

/// The publish side of the event pipeline.
#[derive(Clone)]
pub struct Pipeline {
    /// The delivery queue.
    pub deliverymq: Arc<dyn Queue>,
    /// Its busy lane, where a tenant over its share of tasks goes (`outpost_core::lanes`).
    pub busy_lane: Option<outpost_runtime::infra::BusyLane>,
    /// Publish idempotency keys.
    pub idempotency: Arc<dyn Idempotency>,
    /// How long a published event id is remembered.
    pub idempotency_ttl: Duration,
}

impl Pipeline {
    /// The queue for `tasks` new tasks of `tenant`: the busy lane when the tenant is over its
    /// share, else deliverymq.
    pub fn lane_for(&self, tenant: &str, tasks: usize) -> &Arc<dyn Queue> {
        outpost_runtime::infra::BusyLane::pick(
            self.busy_lane.as_ref(),
            &self.deliverymq,
            tenant,
            tasks,
        )
    }
}
