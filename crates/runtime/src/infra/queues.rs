//! The internal queues of one process on the configured backend (RabbitMQ, SQS, Service Bus,
//! Pub/Sub, or memory): deliverymq, its busy lane and logmq, each only when one of the
//! process's services uses it; and the publish queue the api service consumes.

use anyhow::Context;
use outpost_config::{Config, Service};
use outpost_core::ports::Queue;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// Capacity of each in-memory queue (publishers wait when it is full).
pub const MEMORY_QUEUE_CAPACITY: usize = 100_000;

/// How long a publish round on RabbitMQ (deliverymq, its busy lane, logmq) waits for more
/// bodies when the previous round was shared (see [`outpost_mq::CombineLimits::linger`]).
pub const RABBITMQ_LINGER: Duration = Duration::from_micros(250);

/// Which internal queues a process uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Wanted {
    /// deliverymq: the api service publishes to it, the delivery service consumes it.
    pub delivery: bool,
    /// deliverymq's busy lane (only with `delivery`).
    pub busy: bool,
    /// logmq: the delivery service publishes to it, the log service consumes it.
    pub log: bool,
}

impl Wanted {
    /// The queues of `service`, with or without the busy lane. A service process leaves the
    /// others alone: no connection (on RabbitMQ about 11 MiB of RSS each) and no provisioning.
    pub fn of(service: Service, busy_lane: bool) -> Self {
        let delivery = service.runs_api() || service.runs_delivery();
        Self {
            delivery,
            busy: delivery && busy_lane,
            log: service.runs_delivery() || service.runs_log(),
        }
    }
}

/// The queues a process connected, and how their publishes are combined.
#[derive(Default)]
pub(super) struct Queues {
    /// deliverymq.
    pub delivery: Option<Arc<dyn Queue>>,
    /// Its busy lane.
    pub busy: Option<Arc<dyn Queue>>,
    /// logmq.
    pub log: Option<Arc<dyn Queue>>,
    /// Combined publishes in flight at once per queue.
    pub in_flight: usize,
    /// How long a round waits for more bodies after a shared one.
    pub linger: Duration,
}

/// Connects the queues `wanted` names on the backend the configuration picks.
pub(super) async fn connect(cfg: &Config, wanted: Wanted) -> anyhow::Result<Queues> {
    // Concurrent publishes share broker messages (group commit), on every backend. On
    // RabbitMQ one publish at a time: its confirms come within milliseconds and each
    // message costs it far more CPU than its bytes, so publishes that wait for the one in
    // flight are worth more packed together than sent side by side (`make bench`, case A:
    // RabbitMQ CPU per delivery about 40 % lower than with 4 in flight; p99 at 1,000
    // events/s 30 ms instead of 280 ms on a loaded box). The cloud queues answer over
    // HTTP in tens of milliseconds and keep 4 in flight.
    let cloud = outpost_mq::CombineLimits::DELIVERY.in_flight;
    let queues = match (&cfg.sqs, &cfg.servicebus, &cfg.pubsub, &cfg.rabbitmq_url) {
        (Some(sqs), ..) => Queues {
            in_flight: cloud,
            ..sqs_queues(cfg, sqs, wanted).await?
        },
        (None, Some(sb), ..) => Queues {
            in_flight: cloud,
            ..servicebus_queues(cfg, sb, wanted).await?
        },
        (None, None, Some(pubsub), _) => Queues {
            in_flight: cloud,
            ..pubsub_queues(cfg, pubsub, wanted).await?
        },
        // RabbitMQ confirms so fast that, under load, a logmq round carried 17 log entries on
        // average (`make bench`, case B) and a deliverymq round in case A about 10 tasks:
        // waiting [`RABBITMQ_LINGER`] for more when the previous round was shared packs about
        // 48 log entries (RabbitMQ's CPU per delivery a fifth to a third lower in case B) and
        // a fifth fewer messages in case A. Only the ack of the delivered task (logmq) or the
        // publish answer of a loaded api (deliverymq) waits; an idle queue publishes at once.
        (None, None, None, Some(url)) => Queues {
            in_flight: 1,
            linger: RABBITMQ_LINGER,
            ..rabbitmq_queues(cfg, url, wanted).await?
        },
        (None, None, None, None) => {
            let memory = |wanted: bool, name: &str| -> Option<Arc<dyn Queue>> {
                wanted.then(|| -> Arc<dyn Queue> {
                    Arc::new(outpost_mq::MemoryQueue::new(name, MEMORY_QUEUE_CAPACITY))
                })
            };
            Queues {
                delivery: memory(wanted.delivery, "deliverymq"),
                busy: memory(wanted.busy, "deliverymq-busy"),
                log: memory(wanted.log, "logmq"),
                in_flight: cloud,
                linger: Duration::ZERO,
            }
        }
    };
    Ok(queues)
}

/// `connect()`'s queue when `wanted`.
async fn when<Q, F, Fut>(wanted: bool, connect: F) -> anyhow::Result<Option<Arc<dyn Queue>>>
where
    Q: Queue + 'static,
    F: FnOnce() -> Fut,
    Fut: Future<Output = anyhow::Result<Q>>,
{
    Ok(if wanted {
        Some(Arc::new(connect().await?))
    } else {
        None
    })
}

/// The context of a busy lane that cannot be set up.
fn busy_lane_error(kind: &str, name: &str) -> String {
    format!(
        "cannot set up the {kind} busy delivery lane {name:?} (DELIVERY_BUSY_TENANT_TASKS_PER_SECOND=0 turns it off)"
    )
}

/// deliverymq and logmq on RabbitMQ (`RABBITMQ_*`); the busy lane `<delivery queue>.busy`
/// shares the delivery queue's connection and dead letters.
async fn rabbitmq_queues(cfg: &Config, url: &str, wanted: Wanted) -> anyhow::Result<Queues> {
    use outpost_mq::rabbitmq::{RabbitQueue, RabbitSettings};
    let raw = &cfg.raw;
    let get = |k: &str, d: &str| {
        raw.get(k)
            .filter(|v| !v.is_empty())
            .unwrap_or(d)
            .to_string()
    };
    let exchange = get("RABBITMQ_EXCHANGE", "outpost");
    let dlq = |queue: &str, dlq_var: &str| {
        raw.get(dlq_var)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| format!("{queue}.dlq"))
    };
    let settings = |queue: String, dlq: String| RabbitSettings {
        url: url.to_string(),
        exchange: exchange.clone(),
        dlq,
        queue,
        auto_provision: cfg.mqs_auto_provision,
    };
    let mut queues = Queues::default();
    if wanted.delivery {
        let dq = get("RABBITMQ_DELIVERY_QUEUE", "outpost-delivery");
        let delivery_dlq = dlq(&dq, "RABBITMQ_DELIVERY_DLQ");
        let busy_name = format!("{dq}.busy");
        let d = RabbitQueue::connect(settings(dq, delivery_dlq.clone()))
            .await
            .context("cannot set up the RabbitMQ delivery queue")?;
        // On the delivery queue's connection; its dead letters join that queue's: one DLQ to
        // watch.
        queues.busy = when(wanted.busy, || async {
            d.sibling(settings(busy_name.clone(), delivery_dlq))
                .await
                .with_context(|| busy_lane_error("RabbitMQ", &busy_name))
        })
        .await?;
        queues.delivery = Some(Arc::new(d));
    }
    queues.log = when(wanted.log, || async {
        let lq = get("RABBITMQ_LOG_QUEUE", "outpost-log");
        let log_dlq = dlq(&lq, "RABBITMQ_LOG_DLQ");
        RabbitQueue::connect(settings(lq, log_dlq))
            .await
            .context("cannot set up the RabbitMQ log queue")
    })
    .await?;
    Ok(queues)
}

/// deliverymq and logmq on SQS. A received message stays invisible for the delivery timeout
/// plus 10 s, and is extended while it is held, so it is only seen again when its holder died
/// (or its receive was lost with a dropped connection): then it comes back that soon.
async fn sqs_queues(
    cfg: &Config,
    sqs: &outpost_config::mqs::SqsConfig,
    wanted: Wanted,
) -> anyhow::Result<Queues> {
    use outpost_mq_sqs::{SqsQueue, SqsSettings};
    let settings = |queue: &str, dlq: &str| SqsSettings {
        region: sqs.region.clone(),
        endpoint: sqs.endpoint.clone(),
        credentials: sqs.credentials.clone(),
        queue: queue.to_string(),
        dlq: dlq.to_string(),
        auto_provision: cfg.mqs_auto_provision,
        visibility_timeout: Duration::from_secs(cfg.delivery_timeout_secs + 10),
        // Upstream: the retry limit of 5 plus the first receive.
        max_receive_count: 6,
    };
    let busy = format!("{}-busy", sqs.delivery_queue);
    Ok(Queues {
        delivery: when(wanted.delivery, || async {
            SqsQueue::connect(settings(&sqs.delivery_queue, &sqs.delivery_dlq))
                .await
                .context("cannot set up the SQS delivery queue")
        })
        .await?,
        // Its dead letters join the delivery queue's.
        busy: when(wanted.busy, || async {
            SqsQueue::connect(settings(&busy, &sqs.delivery_dlq))
                .await
                .with_context(|| busy_lane_error("SQS", &busy))
        })
        .await?,
        log: when(wanted.log, || async {
            SqsQueue::connect(settings(&sqs.log_queue, &sqs.log_dlq))
                .await
                .context("cannot set up the SQS log queue")
        })
        .await?,
        ..Queues::default()
    })
}

/// deliverymq and logmq on Service Bus; the busy lane is a topic of its own with a
/// subscription of the delivery subscription's name.
async fn servicebus_queues(
    cfg: &Config,
    sb: &outpost_config::mqs::ServiceBusConfig,
    wanted: Wanted,
) -> anyhow::Result<Queues> {
    use outpost_mq_servicebus::{Provision, ServiceBusQueue, ServiceBusSettings};
    let provision = cfg.mqs_auto_provision.then_some(Provision {
        lock: Duration::from_secs(cfg.delivery_timeout_secs + 10),
        // Upstream: the retry limit of 5 plus the first delivery.
        max_delivery_count: 6,
    });
    let settings = |topic: &str, subscription: &str| ServiceBusSettings {
        connection_string: sb.connection_string.clone(),
        topic: topic.to_string(),
        subscription: subscription.to_string(),
        provision,
    };
    let busy = format!("{}-busy", sb.delivery_topic);
    Ok(Queues {
        delivery: when(wanted.delivery, || async {
            ServiceBusQueue::connect(settings(&sb.delivery_topic, &sb.delivery_subscription))
                .await
                .context("cannot set up the Service Bus delivery queue")
        })
        .await?,
        busy: when(wanted.busy, || async {
            ServiceBusQueue::connect(settings(&busy, &sb.delivery_subscription))
                .await
                .with_context(|| busy_lane_error("Service Bus", &busy))
        })
        .await?,
        log: when(wanted.log, || async {
            ServiceBusQueue::connect(settings(&sb.log_topic, &sb.log_subscription))
                .await
                .context("cannot set up the Service Bus log queue")
        })
        .await?,
        ..Queues::default()
    })
}

/// deliverymq and logmq on Pub/Sub; the busy lane is a topic and subscription `<...>-busy`,
/// dead-lettering to the delivery queue's topic.
async fn pubsub_queues(
    cfg: &Config,
    p: &outpost_config::mqs::PubSubConfig,
    wanted: Wanted,
) -> anyhow::Result<Queues> {
    use outpost_mq_pubsub::{PubSubQueue, PubSubSettings};
    let settings = |n: &outpost_config::mqs::PubSubNames| PubSubSettings {
        project: p.project.clone(),
        emulator: p.emulator.clone(),
        credentials_json: p.credentials.clone(),
        topic: n.topic.clone(),
        subscription: n.subscription.clone(),
        dead_letter: Some((n.dlq_topic.clone(), n.dlq_subscription.clone())),
        auto_provision: cfg.mqs_auto_provision,
        ack_deadline: Duration::from_secs(cfg.delivery_timeout_secs + 10),
        // Upstream: max(5, retry limit + 1).
        max_delivery_attempts: 6,
    };
    let busy = outpost_config::mqs::PubSubNames {
        topic: format!("{}-busy", p.delivery.topic),
        subscription: format!("{}-busy", p.delivery.subscription),
        ..p.delivery.clone()
    };
    Ok(Queues {
        delivery: when(wanted.delivery, || async {
            PubSubQueue::connect(settings(&p.delivery))
                .await
                .context("cannot set up the Pub/Sub delivery queue")
        })
        .await?,
        busy: when(wanted.busy, || async {
            PubSubQueue::connect(settings(&busy))
                .await
                .with_context(|| busy_lane_error("Pub/Sub", &busy.topic))
        })
        .await?,
        log: when(wanted.log, || async {
            PubSubQueue::connect(settings(&p.log))
                .await
                .context("cannot set up the Pub/Sub log queue")
        })
        .await?,
        ..Queues::default()
    })
}

/// The publish queue: existing (never provisioned), as upstream.
pub(super) async fn publish_queue(
    p: &outpost_config::mqs::PublishQueue,
) -> anyhow::Result<Arc<dyn Queue>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_service_connects_only_the_queues_it_uses() {
        let w = |delivery, busy, log| Wanted {
            delivery,
            busy,
            log,
        };
        assert_eq!(Wanted::of(Service::All, true), w(true, true, true));
        assert_eq!(Wanted::of(Service::All, false), w(true, false, true));
        assert_eq!(Wanted::of(Service::Api, true), w(true, true, false));
        assert_eq!(Wanted::of(Service::Delivery, true), w(true, true, true));
        assert_eq!(Wanted::of(Service::Log, true), w(false, false, true));
        assert_eq!(Wanted::of(Service::Log, false), w(false, false, true));
    }
}
