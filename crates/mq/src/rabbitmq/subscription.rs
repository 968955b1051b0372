//! A subscription: one channel with its prefetch, each delivery handed out with its
//! redelivery count and an acker; a dead channel or a cancelled consumer ends it with one error.

use super::*;

/// Prior deliveries of a message: the quorum queue's `x-delivery-count`, else the redelivered flag.
fn redeliveries(delivery: &Delivery) -> u32 {
    let count = delivery
        .properties
        .headers()
        .as_ref()
        .and_then(|headers| headers.inner().get("x-delivery-count"))
        .and_then(|value| match value {
            AMQPValue::ShortShortInt(v) => Some(i64::from(*v)),
            AMQPValue::ShortShortUInt(v) => Some(i64::from(*v)),
            AMQPValue::ShortInt(v) => Some(i64::from(*v)),
            AMQPValue::ShortUInt(v) => Some(i64::from(*v)),
            AMQPValue::LongInt(v) => Some(i64::from(*v)),
            AMQPValue::LongUInt(v) => Some(i64::from(*v)),
            AMQPValue::LongLongInt(v) => Some(*v),
            _ => None,
        });
    match count {
        Some(n) => u32::try_from(n.max(0)).unwrap_or(u32::MAX),
        None => u32::from(delivery.redelivered),
    }
}

struct RabbitAcker {
    acker: lapin::Acker,
}

#[async_trait]
impl Acker for RabbitAcker {
    async fn ack(self: Box<Self>) -> Result<(), QueueError> {
        self.acker
            .ack(BasicAckOptions::default())
            .await
            .map(drop)
            .map_err(|e| broker("ack", e))
    }

    async fn nack(self: Box<Self>) -> Result<(), QueueError> {
        self.acker
            .nack(BasicNackOptions {
                multiple: false,
                requeue: true,
            })
            .await
            .map(drop)
            .map_err(|e| broker("nack", e))
    }
}

pub(super) struct RabbitSubscription {
    /// Keeps the channel open for as long as the subscription lives.
    pub(super) _channel: Channel,
    pub(super) consumer: lapin::Consumer,
    pub(super) queue: ShortString,
    pub(super) ended: bool,
}

#[async_trait]
impl Subscription for RabbitSubscription {
    async fn next(&mut self) -> Option<Result<Message, QueueError>> {
        if self.ended {
            return None;
        }
        match self.consumer.next().await {
            Some(Ok(delivery)) => {
                let redeliveries = redeliveries(&delivery);
                let Delivery { data, acker, .. } = delivery;
                Some(Ok(Message::new(
                    data,
                    redeliveries,
                    Box::new(RabbitAcker { acker }),
                )))
            }
            Some(Err(e)) => {
                self.ended = true;
                tracing::warn!(queue = %self.queue, error = %e, "RabbitMQ subscription failed.");
                Some(Err(broker("consume", e)))
            }
            None => {
                self.ended = true;
                tracing::warn!(queue = %self.queue, "RabbitMQ subscription ended by the broker.");
                Some(Err(QueueError::Broker(format!(
                    "rabbitmq consumer on {} was cancelled",
                    self.queue
                ))))
            }
        }
    }
}
