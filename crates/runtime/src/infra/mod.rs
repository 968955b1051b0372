//! The process's infrastructure, chosen by configuration: Redis-backed stores and RabbitMQ,
//! SQS, Service Bus or Pub/Sub queues when configured, in-memory ones otherwise (the embedded
//! mode, all services in one process sharing them). A process connects only the queues its
//! services use.

mod queues;
mod stores;

pub use queues::{MEMORY_QUEUE_CAPACITY, RABBITMQ_LINGER};
pub use stores::clickhouse_settings;

use outpost_config::Config;
use outpost_core::ports::{Idempotency, LogStore, Queue, RetryScheduler, TenantStore};
use std::sync::Arc;

/// Delivery tasks per second past which a tenant goes to the busy lane when
/// `DELIVERY_BUSY_TENANT_TASKS_PER_SECOND` is empty and the lane can be provisioned.
pub const DEFAULT_BUSY_TENANT_RATE: u64 = 1_000;

/// The busy lane of deliverymq (`outpost_core::lanes`): where the tasks of a tenant over
/// the limit go, and the meter that tells (one per process, shared by its publishers).
#[derive(Clone)]
pub struct BusyLane {
    /// The lane's queue.
    pub queue: Arc<dyn Queue>,
    /// Tasks per tenant and second.
    pub meter: Arc<outpost_core::lanes::TenantMeter>,
}

impl BusyLane {
    /// Counts `tasks` new tasks of `tenant`; true when they go to this lane.
    pub fn takes(&self, tenant: &str, tasks: usize) -> bool {
        self.meter.lane(tenant, tasks as u64) == outpost_core::lanes::Lane::Busy
    }

    /// Where `tasks` new tasks of `tenant` go: `lane` when the tenant is over its share,
    /// else `main`.
    pub fn pick<'a>(
        lane: Option<&'a BusyLane>,
        main: &'a Arc<dyn Queue>,
        tenant: &str,
        tasks: usize,
    ) -> &'a Arc<dyn Queue> {
        match lane {
            Some(b) if b.takes(tenant, tasks) => &b.queue,
            _ => main,
        }
    }
}

/// Everything the services share.
#[derive(Clone)]
pub struct Infra {
    /// Tenants and destinations.
    pub store: Arc<dyn TenantStore>,
    /// Delivery tasks, when this process's services use them (api, delivery); see
    /// [`Infra::deliverymq`].
    pub deliverymq: Option<Arc<dyn Queue>>,
    /// The busy lane of deliverymq, when on.
    pub busy_lane: Option<BusyLane>,
    /// The publish queue the api service consumes (`PUBLISH_*`), when configured and this
    /// process runs the api.
    pub publishmq: Option<Arc<dyn Queue>>,
    /// Attempt log entries, when this process's services use them (delivery, log); see
    /// [`Infra::logmq`].
    pub logmq: Option<Arc<dyn Queue>>,
    /// Publish idempotency (`idempotency:publishmq:`).
    pub publish_idempotency: Arc<dyn Idempotency>,
    /// Delivery idempotency (`idempotency:deliverymq:`).
    pub delivery_idempotency: Arc<dyn Idempotency>,
    /// Retry schedule.
    pub scheduler: Arc<dyn RetryScheduler>,
    /// The event and attempt log.
    pub log_store: Arc<dyn LogStore>,
    /// The Postgres log store, when this process owns it (partition maintenance).
    pub postgres: Option<outpost_log_store_pg::PgLogStore>,
    /// Alert bookkeeping.
    pub alert_state: Arc<dyn outpost_core::ports::AlertState>,
    /// Operator events.
    pub operator_events: outpost_opevents::Emitter,
    /// True when nothing is persisted.
    pub embedded: bool,
}

impl Infra {
    /// Connects what the configuration names. Separate service processes need shared
    /// infrastructure, so in api/delivery/log mode Redis and RabbitMQ are required.
    pub async fn connect(cfg: &Config) -> anyhow::Result<Self> {
        // No internal queue configured: in-memory queues, shared by the services of this process.
        let in_memory = cfg.internal_queues_in_memory();
        if cfg.service != outpost_config::Service::All {
            if cfg.redis.is_none() {
                anyhow::bail!(
                    "invalid configuration: REDIS_HOST: SERVICE={} runs one service of several, which must share Redis; set REDIS_HOST (or leave SERVICE empty to run all in one process)",
                    cfg.service.as_str()
                );
            }
            if in_memory {
                anyhow::bail!(
                    "invalid configuration: RABBITMQ_SERVER_URL: SERVICE={} needs an internal queue shared with the other services; set RABBITMQ_SERVER_URL (or AWS_SQS_REGION, AZURE_SERVICEBUS_CONNECTION_STRING, GCP_PUBSUB_PROJECT)",
                    cfg.service.as_str()
                );
            }
        }
        let stores = match &cfg.redis {
            Some(r) => stores::Stores::redis(cfg, r).await?,
            None => {
                tracing::warn!(
                    "No REDIS_* settings: tenants, destinations and retries are kept in memory and lost on exit."
                );
                stores::Stores::memory()
            }
        };
        // The busy lane where it is provisioned (always in memory), unless turned off; without
        // provisioning only when set (its queue must then exist).
        let busy_rate = match cfg.delivery_busy_tenant_rate {
            None if cfg.mqs_auto_provision || in_memory => DEFAULT_BUSY_TENANT_RATE,
            None => 0,
            Some(n) => n,
        };
        let queues = queues::connect(cfg, queues::Wanted::of(cfg.service, busy_rate > 0)).await?;
        let limits = outpost_mq::CombineLimits {
            in_flight: queues.in_flight,
            linger: queues.linger,
            ..outpost_mq::CombineLimits::DELIVERY
        };
        let combining = |q: Arc<dyn Queue>| -> Arc<dyn Queue> {
            Arc::new(outpost_mq::Combining::new(q, limits))
        };
        let busy_lane = queues.busy.map(|q| {
            tracing::info!(
                tasks_per_second = busy_rate,
                "Busy-tenant delivery lane on: a tenant queuing more tasks a second goes to its own lane."
            );
            BusyLane {
                queue: combining(q),
                meter: Arc::new(outpost_core::lanes::TenantMeter::new(busy_rate)),
            }
        });
        let log_limits = outpost_mq::CombineLimits {
            in_flight: queues.in_flight,
            linger: queues.linger,
            ..outpost_mq::CombineLimits::LOG
        };
        let logmq = queues
            .log
            .map(|q| -> Arc<dyn Queue> { Arc::new(outpost_mq::Combining::new(q, log_limits)) });
        let (log_store, postgres) = stores::log_store(cfg).await?;
        let publishmq = match &cfg.publish_queue {
            Some(p) if cfg.service.runs_api() => Some(queues::publish_queue(p).await?),
            _ => None,
        };
        Ok(Self {
            store: stores.store,
            deliverymq: queues.delivery.map(combining),
            busy_lane,
            publishmq,
            logmq,
            publish_idempotency: stores.publish_idempotency,
            delivery_idempotency: stores.delivery_idempotency,
            scheduler: stores.scheduler,
            alert_state: stores.alert_state,
            operator_events: operator_events(cfg)?,
            log_store,
            postgres,
            embedded: cfg.redis.is_none(),
        })
    }

    /// deliverymq, or an error naming the service that asked for it in a process that does
    /// not use it.
    pub fn deliverymq(&self, service: &str) -> anyhow::Result<Arc<dyn Queue>> {
        self.deliverymq
            .clone()
            .ok_or_else(|| not_connected("deliverymq", service))
    }

    /// logmq, or an error naming the service that asked for it in a process that does not
    /// use it.
    pub fn logmq(&self, service: &str) -> anyhow::Result<Arc<dyn Queue>> {
        self.logmq
            .clone()
            .ok_or_else(|| not_connected("logmq", service))
    }
}

/// The error of a queue a process did not connect (a bug: [`queues::Wanted::of`] and the
/// services disagree).
fn not_connected(queue: &str, service: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "internal error: the {service} service needs {queue}, which this process did not connect"
    )
}

/// The operator event emitter from `OPERATOR_EVENTS_*`.
fn operator_events(cfg: &Config) -> anyhow::Result<outpost_opevents::Emitter> {
    let cloud = outpost_opevents_cloud::build(&cfg.operator_events)
        .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
    outpost_opevents::build(
        &cfg.operator_events,
        cfg.deployment_id.clone(),
        cfg.idgen.clone(),
        cloud,
    )
    .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))
}
