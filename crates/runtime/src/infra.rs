//! The process's infrastructure, chosen by configuration: Redis-backed stores and RabbitMQ,
//! SQS, Service Bus or Pub/Sub queues when configured, in-memory ones otherwise (the embedded mode, all services in one
//! process sharing them).

use anyhow::Context;
use outpost_config::Config;
use outpost_core::ports::{
    Idempotency, LogStore, MemoryIdempotency, MemoryLogStore, MemoryScheduler, MemoryTenantStore,
    Queue, RetryScheduler, TenantStore,
};
use std::sync::Arc;
use std::time::Duration;

/// Capacity of each in-memory queue (publishers wait when it is full).
pub const MEMORY_QUEUE_CAPACITY: usize = 100_000;

/// How long a logmq round on RabbitMQ waits for more log entries when the previous round
/// was shared (see [`outpost_mq::CombineLimits::linger`]).
pub const RABBITMQ_LOG_LINGER: Duration = Duration::from_micros(250);

/// Delivery tasks per second past which a tenant goes to the busy lane when
/// `DELIVERY_BUSY_TENANT_TASKS_PER_SECOND` is empty and the lane can be provisioned.
pub const DEFAULT_BUSY_TENANT_RATE: u64 = 1_000;

/// Most destinations a delivery process keeps in its destination cache (a few MiB at most).
const DESTINATION_CACHE_ENTRIES: usize = 10_000;

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
    /// Delivery tasks.
    pub deliverymq: Arc<dyn Queue>,
    /// The busy lane of deliverymq, when on.
    pub busy_lane: Option<BusyLane>,
    /// The publish queue the api service consumes (`PUBLISH_*`), when configured and this
    /// process runs the api.
    pub publishmq: Option<Arc<dyn Queue>>,
    /// Attempt log entries.
    pub logmq: Arc<dyn Queue>,
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
        if cfg.service != outpost_config::Service::All {
            if cfg.redis.is_none() {
                anyhow::bail!(
                    "invalid configuration: REDIS_HOST: SERVICE={} runs one service of several, which must share Redis; set REDIS_HOST (or leave SERVICE empty to run all in one process)",
                    cfg.service.as_str()
                );
            }
            if cfg.rabbitmq_url.is_none()
                && cfg.sqs.is_none()
                && cfg.servicebus.is_none()
                && cfg.pubsub.is_none()
            {
                anyhow::bail!(
                    "invalid configuration: RABBITMQ_SERVER_URL: SERVICE={} needs an internal queue shared with the other services; set RABBITMQ_SERVER_URL (or AWS_SQS_REGION, AZURE_SERVICEBUS_CONNECTION_STRING, GCP_PUBSUB_PROJECT)",
                    cfg.service.as_str()
                );
            }
        }
        let stores = match &cfg.redis {
            Some(r) => Stores::redis(cfg, r).await?,
            None => {
                tracing::warn!(
                    "No REDIS_* settings: tenants, destinations and retries are kept in memory and lost on exit."
                );
                Stores::memory(cfg)
            }
        };
        // Concurrent publishes share broker messages (group commit), on every backend. On
        // RabbitMQ one publish at a time: its confirms come within milliseconds and each
        // message costs it far more CPU than its bytes, so publishes that wait for the one in
        // flight are worth more packed together than sent side by side (`make bench`, case A:
        // RabbitMQ CPU per delivery about 40 % lower than with 4 in flight; p99 at 1,000
        // events/s 30 ms instead of 280 ms on a loaded box). The cloud queues answer over
        // HTTP in tens of milliseconds and keep 4 in flight.
        let cloud_in_flight = outpost_mq::CombineLimits::DELIVERY.in_flight;
        // logmq on RabbitMQ confirms so fast that, under load, a round carried 17 log entries
        // on average (`make bench`, case B): waiting [`RABBITMQ_LOG_LINGER`] for more when
        // the previous round was shared packs about 48, and RabbitMQ's CPU per delivery drops
        // by a fifth to a third. Only the ack of the delivered task waits, not the delivery.
        let none = Duration::ZERO;
        // The busy lane where it is provisioned (always in memory), unless turned off; without
        // provisioning only when set (its queue must then exist).
        let in_memory = cfg.sqs.is_none()
            && cfg.servicebus.is_none()
            && cfg.pubsub.is_none()
            && cfg.rabbitmq_url.is_none();
        let busy_rate = match cfg.delivery_busy_tenant_rate {
            None if cfg.mqs_auto_provision || in_memory => DEFAULT_BUSY_TENANT_RATE,
            None => 0,
            Some(n) => n,
        };
        let with_lane = busy_rate > 0;
        let ((deliverymq, busy, logmq), in_flight, log_linger): (Queues, usize, Duration) =
            match (&cfg.sqs, &cfg.servicebus, &cfg.pubsub, &cfg.rabbitmq_url) {
                (Some(sqs), ..) => (
                    sqs_queues(cfg, sqs, with_lane).await?,
                    cloud_in_flight,
                    none,
                ),
                (None, Some(sb), ..) => (
                    servicebus_queues(cfg, sb, with_lane).await?,
                    cloud_in_flight,
                    none,
                ),
                (None, None, Some(pubsub), _) => (
                    pubsub_queues(cfg, pubsub, with_lane).await?,
                    cloud_in_flight,
                    none,
                ),
                (None, None, None, Some(url)) => {
                    let raw = &cfg.raw;
                    let get = |k: &str, d: &str| {
                        raw.get(k)
                            .filter(|v| !v.is_empty())
                            .unwrap_or(d)
                            .to_string()
                    };
                    let exchange = get("RABBITMQ_EXCHANGE", "outpost");
                    let dq = get("RABBITMQ_DELIVERY_QUEUE", "outpost-delivery");
                    let lq = get("RABBITMQ_LOG_QUEUE", "outpost-log");
                    let dlq = |queue: &str, dlq_var: &str| {
                        raw.get(dlq_var)
                            .filter(|v| !v.is_empty())
                            .map(str::to_string)
                            .unwrap_or_else(|| format!("{queue}.dlq"))
                    };
                    let settings =
                        |queue: String, dlq: String| outpost_mq::rabbitmq::RabbitSettings {
                            url: url.clone(),
                            exchange: exchange.clone(),
                            dlq,
                            queue,
                            auto_provision: cfg.mqs_auto_provision,
                        };
                    let delivery_dlq = dlq(&dq, "RABBITMQ_DELIVERY_DLQ");
                    let busy_name = format!("{dq}.busy");
                    let d = outpost_mq::rabbitmq::RabbitQueue::connect(settings(
                        dq,
                        delivery_dlq.clone(),
                    ))
                    .await
                    .context("cannot set up the RabbitMQ delivery queue")?;
                    let busy: Option<Arc<dyn Queue>> = if with_lane {
                        // On the delivery queue's connection; its dead letters join that queue's:
                        // one DLQ to watch.
                        let q = d
                            .sibling(settings(busy_name.clone(), delivery_dlq))
                            .await
                            .with_context(|| busy_lane_error("RabbitMQ", &busy_name))?;
                        Some(Arc::new(q))
                    } else {
                        None
                    };
                    let log_dlq = dlq(&lq, "RABBITMQ_LOG_DLQ");
                    let l = outpost_mq::rabbitmq::RabbitQueue::connect(settings(lq, log_dlq))
                        .await
                        .context("cannot set up the RabbitMQ log queue")?;
                    ((Arc::new(d), busy, Arc::new(l)), 1, RABBITMQ_LOG_LINGER)
                }
                (None, None, None, None) => {
                    let busy = with_lane.then(|| -> Arc<dyn Queue> {
                        Arc::new(outpost_mq::MemoryQueue::new(
                            "deliverymq-busy",
                            MEMORY_QUEUE_CAPACITY,
                        ))
                    });
                    (
                        (
                            Arc::new(outpost_mq::MemoryQueue::new(
                                "deliverymq",
                                MEMORY_QUEUE_CAPACITY,
                            )),
                            busy,
                            Arc::new(outpost_mq::MemoryQueue::new("logmq", MEMORY_QUEUE_CAPACITY)),
                        ),
                        outpost_mq::CombineLimits::DELIVERY.in_flight,
                        none,
                    )
                }
            };
        let combining = |q: Arc<dyn Queue>| -> Arc<dyn Queue> {
            Arc::new(outpost_mq::Combining::new(
                q,
                outpost_mq::CombineLimits {
                    in_flight,
                    ..outpost_mq::CombineLimits::DELIVERY
                },
            ))
        };
        let deliverymq = combining(deliverymq);
        let busy_lane = busy.map(|q| {
            tracing::info!(
                tasks_per_second = busy_rate,
                "Busy-tenant delivery lane on: a tenant queuing more tasks a second goes to its own lane."
            );
            BusyLane {
                queue: combining(q),
                meter: Arc::new(outpost_core::lanes::TenantMeter::new(busy_rate)),
            }
        });
        let logmq: Arc<dyn Queue> = Arc::new(outpost_mq::Combining::new(
            logmq,
            outpost_mq::CombineLimits {
                in_flight,
                linger: log_linger,
                ..outpost_mq::CombineLimits::LOG
            },
        ));
        let (log_store, postgres) = log_store(cfg).await?;
        let publishmq = match &cfg.publish_queue {
            Some(p) if cfg.service.runs_api() => Some(publish_queue(p).await?),
            _ => None,
        };
        Ok(Self {
            store: stores.store,
            deliverymq,
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
}

/// The Redis-or-memory half of the infrastructure.
struct Stores {
    store: Arc<dyn TenantStore>,
    publish_idempotency: Arc<dyn Idempotency>,
    delivery_idempotency: Arc<dyn Idempotency>,
    scheduler: Arc<dyn RetryScheduler>,
    alert_state: Arc<dyn outpost_core::ports::AlertState>,
}

impl Stores {
    fn memory(cfg: &Config) -> Self {
        Self {
            store: Arc::new(MemoryTenantStore::new()),
            publish_idempotency: Arc::new(MemoryIdempotency::new()),
            delivery_idempotency: Arc::new(
                MemoryIdempotency::new().with_processing_ttl(delivery_claim(cfg)),
            ),
            scheduler: Arc::new(MemoryScheduler::new()),
            alert_state: Arc::new(outpost_core::ports::MemoryAlertState::new()),
        }
    }

    async fn redis(cfg: &Config, r: &outpost_config::RedisConfig) -> anyhow::Result<Self> {
        let settings = outpost_stores::RedisSettings {
            host: r.host.clone(),
            port: r.port,
            username: r.username.clone(),
            password: r.password.clone(),
            database: r.database,
        };
        let connect = || async {
            outpost_stores::connect(&settings)
                .await
                .with_context(|| format!("cannot connect to Redis at {}:{}", r.host, r.port))
        };
        let client = connect().await?;
        let dep = cfg.deployment_id.as_deref();
        let secret = cfg.aes_encryption_secret.clone().unwrap_or_default();
        let mut store = outpost_stores::RedisTenantStore::new(
            client.clone(),
            dep,
            outpost_stores::Cipher::new(&secret),
        );
        // Deliveries read their destination, publishes their tenant's routing table.
        let hot_reads = cfg.service.runs_delivery() || cfg.service.runs_api();
        if hot_reads && cfg.destination_cache_ttl_secs > 0 {
            // Its own connection: a subscribed connection carries nothing else.
            let subscriber = connect().await?;
            let cache = Arc::new(outpost_stores::DestinationCache::new(
                Duration::from_secs(cfg.destination_cache_ttl_secs),
                DESTINATION_CACHE_ENTRIES,
            ));
            outpost_stores::destination_cache::spawn_subscription(
                &cache,
                subscriber,
                client.clone(),
                store.change_channel().to_string(),
            );
            store = store.with_destination_cache(cache);
        }
        let indexed = store
            .ensure_tenant_index()
            .await
            .context("cannot build the tenant list index")?;
        if indexed > 0 {
            tracing::info!(
                tenants = indexed,
                "Tenant list index built from existing tenants."
            );
        }
        Ok(Self {
            store: Arc::new(store),
            publish_idempotency: Arc::new(outpost_stores::RedisIdempotency::new(
                client.clone(),
                dep,
                "publishmq",
            )),
            delivery_idempotency: Arc::new(outpost_stores::RedisIdempotency::new(
                client.clone(),
                dep,
                "deliverymq",
            )),
            scheduler: Arc::new(outpost_stores::RedisScheduler::new(client.clone(), dep)),
            alert_state: Arc::new(outpost_stores::RedisAlertState::new(client, dep)),
        })
    }
}

/// The log store of this process: the log service's gRPC API for a split api-service, else
/// Postgres or ClickHouse when configured, else memory.
async fn log_store(
    cfg: &Config,
) -> anyhow::Result<(Arc<dyn LogStore>, Option<outpost_log_store_pg::PgLogStore>)> {
    if cfg.service == outpost_config::Service::Api {
        let url = cfg.log_grpc_url.as_deref().ok_or_else(|| {
            anyhow::anyhow!(
                "invalid configuration: LOG_GRPC_URL: SERVICE=api reads events and attempts from the log service; set LOG_GRPC_URL (e.g. http://outpost-log:3334)"
            )
        })?;
        let client = outpost_log_rpc::GrpcLogStore::connect(url, cfg.log_grpc_token.as_deref())
            .map_err(|e| anyhow::anyhow!("invalid configuration: LOG_GRPC_URL: {e}"))?;
        return Ok((Arc::new(client), None));
    }
    if matches!(
        cfg.service,
        outpost_config::Service::Log | outpost_config::Service::All
    ) {
        if let Some(url) = &cfg.postgres_url {
            let pg =
                outpost_log_store_pg::PgLogStore::connect(url, cfg.log_max_concurrency.max(4) + 4)
                    .await
                    .context("cannot connect to PostgreSQL (POSTGRES_URL)")?;
            let pending = outpost_log_store_pg::migrations::Migrator::new(pg.pool().clone())
                .pending_count()
                .await
                .context("cannot read the migration state of PostgreSQL")?;
            if pending > 0 {
                anyhow::bail!(
                    "PostgreSQL has {pending} pending migration(s): run `outpost migrate apply` (see `outpost migrate plan`) before starting"
                );
            }
            return Ok((Arc::new(pg.clone()), Some(pg)));
        }
        if let Some(ch) = &cfg.clickhouse {
            return Ok((Arc::new(clickhouse(cfg, ch).await?), None));
        }
        if cfg.service == outpost_config::Service::Log {
            tracing::warn!(
                "No POSTGRES_URL or CLICKHOUSE_ADDR: the event and attempt log is kept in memory and lost on exit."
            );
        }
    }
    Ok((Arc::new(MemoryLogStore::new()), None))
}

/// The ClickHouse settings `CLICKHOUSE_*` and `DEPLOYMENT_ID` name, checked.
pub fn clickhouse_settings(
    cfg: &Config,
    ch: &outpost_config::ClickHouseConfig,
) -> anyhow::Result<outpost_log_store_ch::ChSettings> {
    outpost_log_store_ch::ChSettings::from_upstream(
        &ch.addr,
        ch.tls,
        ch.username.as_deref(),
        ch.password.as_deref(),
        ch.database.as_deref(),
        cfg.deployment_id.as_deref(),
    )
    .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))
}

/// Connects the ClickHouse log store, refuses to start on pending migrations, and brings the
/// retention TTL up to `CLICKHOUSE_LOG_RETENTION_TTL_DAYS`.
async fn clickhouse(
    cfg: &Config,
    ch: &outpost_config::ClickHouseConfig,
) -> anyhow::Result<outpost_log_store_ch::ChLogStore> {
    let store = outpost_log_store_ch::ChLogStore::connect(clickhouse_settings(cfg, ch)?)
        .await
        .context("cannot connect to ClickHouse (CLICKHOUSE_ADDR)")?;
    let pending = store
        .migrator()
        .pending_count()
        .await
        .context("cannot read the migration state of ClickHouse")?;
    if pending > 0 {
        anyhow::bail!(
            "ClickHouse has {pending} pending migration(s): run `outpost migrate apply` (see `outpost migrate plan`) before starting"
        );
    }
    match store
        .apply_retention(ch.retention_days)
        .await
        .context("cannot apply CLICKHOUSE_LOG_RETENTION_TTL_DAYS")?
    {
        outpost_log_store_ch::RetentionChange::Unchanged { .. } => {}
        change => tracing::info!(?change, "ClickHouse log retention changed."),
    }
    Ok(store)
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

/// How long a delivery holds its attempt's idempotency claim: longer than any delivery can take
/// (the send timeout plus recording the attempt), so a redelivered copy of the task is never
/// sent while the first is still in flight. Upstream's fixed 5 s equals the default timeout.
fn delivery_claim(cfg: &Config) -> std::time::Duration {
    std::time::Duration::from_secs(cfg.delivery_timeout_secs + 10)
}

/// deliverymq, its busy lane (when asked for) and logmq of one backend.
type Queues = (Arc<dyn Queue>, Option<Arc<dyn Queue>>, Arc<dyn Queue>);

/// The context of a busy lane that cannot be set up.
fn busy_lane_error(kind: &str, name: &str) -> String {
    format!(
        "cannot set up the {kind} busy delivery lane {name:?} (DELIVERY_BUSY_TENANT_TASKS_PER_SECOND=0 turns it off)"
    )
}

/// deliverymq and logmq on SQS. A received message stays invisible for the delivery timeout
/// plus 10 s, and is extended while it is held, so it is only seen again when its holder died
/// (or its receive was lost with a dropped connection): then it comes back that soon.
async fn sqs_queues(
    cfg: &Config,
    sqs: &outpost_config::mqs::SqsConfig,
    busy: bool,
) -> anyhow::Result<Queues> {
    let settings = |queue: &str, dlq: &str| outpost_mq_sqs::SqsSettings {
        region: sqs.region.clone(),
        endpoint: sqs.endpoint.clone(),
        credentials: sqs.credentials.clone(),
        queue: queue.to_string(),
        dlq: dlq.to_string(),
        auto_provision: cfg.mqs_auto_provision,
        visibility_timeout: std::time::Duration::from_secs(cfg.delivery_timeout_secs + 10),
        // Upstream: the retry limit of 5 plus the first receive.
        max_receive_count: 6,
    };
    let d = outpost_mq_sqs::SqsQueue::connect(settings(&sqs.delivery_queue, &sqs.delivery_dlq))
        .await
        .context("cannot set up the SQS delivery queue")?;
    let b: Option<Arc<dyn Queue>> = if busy {
        // Its dead letters join the delivery queue's.
        let name = format!("{}-busy", sqs.delivery_queue);
        let q = outpost_mq_sqs::SqsQueue::connect(settings(&name, &sqs.delivery_dlq))
            .await
            .with_context(|| busy_lane_error("SQS", &name))?;
        Some(Arc::new(q))
    } else {
        None
    };
    let l = outpost_mq_sqs::SqsQueue::connect(settings(&sqs.log_queue, &sqs.log_dlq))
        .await
        .context("cannot set up the SQS log queue")?;
    Ok((Arc::new(d), b, Arc::new(l)))
}

async fn servicebus_queues(
    cfg: &Config,
    sb: &outpost_config::mqs::ServiceBusConfig,
    busy: bool,
) -> anyhow::Result<Queues> {
    let provision = cfg
        .mqs_auto_provision
        .then_some(outpost_mq_servicebus::Provision {
            lock: std::time::Duration::from_secs(cfg.delivery_timeout_secs + 10),
            // Upstream: the retry limit of 5 plus the first delivery.
            max_delivery_count: 6,
        });
    let settings = |topic: &str, subscription: &str| outpost_mq_servicebus::ServiceBusSettings {
        connection_string: sb.connection_string.clone(),
        topic: topic.to_string(),
        subscription: subscription.to_string(),
        provision,
    };
    let d = outpost_mq_servicebus::ServiceBusQueue::connect(settings(
        &sb.delivery_topic,
        &sb.delivery_subscription,
    ))
    .await
    .context("cannot set up the Service Bus delivery queue")?;
    let b: Option<Arc<dyn Queue>> = if busy {
        // A topic of its own, with a subscription of the delivery subscription's name.
        let topic = format!("{}-busy", sb.delivery_topic);
        let q = outpost_mq_servicebus::ServiceBusQueue::connect(settings(
            &topic,
            &sb.delivery_subscription,
        ))
        .await
        .with_context(|| busy_lane_error("Service Bus", &topic))?;
        Some(Arc::new(q))
    } else {
        None
    };
    let l = outpost_mq_servicebus::ServiceBusQueue::connect(settings(
        &sb.log_topic,
        &sb.log_subscription,
    ))
    .await
    .context("cannot set up the Service Bus log queue")?;
    Ok((Arc::new(d), b, Arc::new(l)))
}

async fn pubsub_queues(
    cfg: &Config,
    p: &outpost_config::mqs::PubSubConfig,
    busy: bool,
) -> anyhow::Result<Queues> {
    let settings = |n: &outpost_config::mqs::PubSubNames| outpost_mq_pubsub::PubSubSettings {
        project: p.project.clone(),
        emulator: p.emulator.clone(),
        credentials_json: p.credentials.clone(),
        topic: n.topic.clone(),
        subscription: n.subscription.clone(),
        dead_letter: Some((n.dlq_topic.clone(), n.dlq_subscription.clone())),
        auto_provision: cfg.mqs_auto_provision,
        ack_deadline: std::time::Duration::from_secs(cfg.delivery_timeout_secs + 10),
        // Upstream: max(5, retry limit + 1).
        max_delivery_attempts: 6,
    };
    let d = outpost_mq_pubsub::PubSubQueue::connect(settings(&p.delivery))
        .await
        .context("cannot set up the Pub/Sub delivery queue")?;
    let b: Option<Arc<dyn Queue>> = if busy {
        // Its own topic and subscription, dead-lettering to the delivery queue's topic.
        let names = outpost_config::mqs::PubSubNames {
            topic: format!("{}-busy", p.delivery.topic),
            subscription: format!("{}-busy", p.delivery.subscription),
            ..p.delivery.clone()
        };
        let q = outpost_mq_pubsub::PubSubQueue::connect(settings(&names))
            .await
            .with_context(|| busy_lane_error("Pub/Sub", &names.topic))?;
        Some(Arc::new(q))
    } else {
        None
    };
    let l = outpost_mq_pubsub::PubSubQueue::connect(settings(&p.log))
        .await
        .context("cannot set up the Pub/Sub log queue")?;
    Ok((Arc::new(d), b, Arc::new(l)))
}

/// The publish queue: existing (never provisioned), as upstream.
async fn publish_queue(p: &outpost_config::mqs::PublishQueue) -> anyhow::Result<Arc<dyn Queue>> {
    use outpost_config::mqs::PublishQueue;
    Ok(match p {
        PublishQueue::RabbitMq {
            url,
            exchange,
            queue,
        } => Arc::new(
            outpost_mq::rabbitmq::RabbitQueue::existing(url, exchange, queue)
                .await
                .with_context(|| {
                    format!("cannot use the publish queue {queue} (PUBLISH_RABBITMQ_QUEUE)")
                })?,
        ),
        PublishQueue::Sqs {
            region,
            endpoint,
            credentials,
            queue,
        } => Arc::new(
            outpost_mq_sqs::SqsQueue::connect(outpost_mq_sqs::SqsSettings {
                region: region.clone(),
                endpoint: endpoint.clone(),
                credentials: credentials.clone(),
                queue: queue.clone(),
                dlq: String::new(),
                auto_provision: false,
                visibility_timeout: std::time::Duration::from_secs(60),
                max_receive_count: 0,
            })
            .await
            .with_context(|| {
                format!("cannot use the publish queue {queue} (PUBLISH_AWS_SQS_QUEUE)")
            })?,
        ),
        PublishQueue::ServiceBus {
            connection_string,
            topic,
            subscription,
        } => Arc::new(
            outpost_mq_servicebus::ServiceBusQueue::connect(
                outpost_mq_servicebus::ServiceBusSettings {
                    connection_string: connection_string.clone(),
                    topic: topic.clone(),
                    subscription: subscription.clone(),
                    provision: None,
                },
            )
            .await
            .with_context(|| {
                format!(
                    "cannot use the publish subscription {topic}/{subscription} (PUBLISH_AZURE_SERVICEBUS_TOPIC, PUBLISH_AZURE_SERVICEBUS_SUBSCRIPTION)"
                )
            })?,
        ),
        PublishQueue::PubSub {
            project,
            topic,
            subscription,
            credentials,
            emulator,
        } => Arc::new(
            outpost_mq_pubsub::PubSubQueue::connect(outpost_mq_pubsub::PubSubSettings {
                project: project.clone(),
                emulator: emulator.clone(),
                credentials_json: credentials.clone(),
                topic: topic.clone(),
                subscription: subscription.clone(),
                dead_letter: None,
                auto_provision: false,
                ack_deadline: std::time::Duration::from_secs(60),
                max_delivery_attempts: 0,
            })
            .await
            .with_context(|| {
                format!(
                    "cannot use the publish subscription {subscription} (PUBLISH_GCP_PUBSUB_SUBSCRIPTION)"
                )
            })?,
        ),
    })
}
