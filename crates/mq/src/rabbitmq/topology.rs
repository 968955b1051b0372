//! The queue topology: validated names, and declaring (or, without auto-provisioning, only
//! checking) the exchange, the quorum queue with its dead-lettering, and the dead-letter queue.

use super::*;

/// Validated AMQP names.
#[derive(Clone, Debug)]
pub(super) struct Names {
    pub(super) exchange: ShortString,
    pub(super) queue: ShortString,
    pub(super) dlq: ShortString,
}

impl Names {
    pub(super) fn from_settings(settings: &RabbitSettings) -> Result<Self, QueueError> {
        let short = |what: &str, name: String| {
            if name.is_empty() {
                return Err(QueueError::Broker(format!("rabbitmq {what} name is empty")));
            }
            ShortString::try_new(name)
                .map_err(|e| QueueError::Broker(format!("rabbitmq {what} name is invalid: {e}")))
        };
        let exchange = if settings.exchange.is_empty() {
            DEFAULT_EXCHANGE.to_string()
        } else {
            settings.exchange.clone()
        };
        let dlq = if settings.dlq.is_empty() {
            format!("{}.dlq", settings.queue)
        } else {
            settings.dlq.clone()
        };
        Ok(Self {
            exchange: short("exchange", exchange)?,
            queue: short("queue", settings.queue.clone())?,
            dlq: short("dead-letter queue", dlq)?,
        })
    }
}

pub(super) async fn provision(connection: &Connection, names: &Names) -> Result<(), QueueError> {
    let channel = open_channel(connection).await?;
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..ExchangeDeclareOptions::default()
    };
    channel
        .exchange_declare(
            names.exchange.clone(),
            ExchangeKind::Topic,
            durable,
            FieldTable::default(),
        )
        .await
        .map_err(|e| broker(&format!("declare exchange {}", names.exchange), e))?;

    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    args.insert(
        "x-delivery-limit".into(),
        AMQPValue::LongInt(DELIVERY_LIMIT),
    );
    args.insert(
        "x-dead-letter-exchange".into(),
        long_string(&names.exchange),
    );
    args.insert("x-dead-letter-routing-key".into(), long_string(&names.dlq));
    declare_bound_queue(&channel, &names.exchange, &names.queue, args).await?;

    let mut dlq_args = FieldTable::default();
    dlq_args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString("quorum".into()),
    );
    declare_bound_queue(&channel, &names.exchange, &names.dlq, dlq_args).await?;
    let _ = channel.close(200, "OK".into()).await;
    Ok(())
}

/// Declares a durable queue and binds it to `exchange` with its own name as routing key.
pub(super) async fn declare_bound_queue(
    channel: &Channel,
    exchange: &ShortString,
    queue: &ShortString,
    args: FieldTable,
) -> Result<(), QueueError> {
    channel
        .queue_declare(queue.clone(), QueueDeclareOptions::durable(), args)
        .await
        .map_err(|e| broker(&format!("declare queue {queue}"), e))?;
    channel
        .queue_bind(
            queue.clone(),
            exchange.clone(),
            queue.clone(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(|e| broker(&format!("bind queue {queue} to {exchange}"), e))
}

pub(super) async fn check_exists(connection: &Connection, names: &Names) -> Result<(), QueueError> {
    let mut missing = Vec::new();
    // A failed passive declare closes its channel: one channel per check.
    let channel = open_channel(connection).await?;
    let passive = ExchangeDeclareOptions {
        passive: true,
        ..ExchangeDeclareOptions::default()
    };
    match channel
        .exchange_declare(
            names.exchange.clone(),
            ExchangeKind::Topic,
            passive,
            FieldTable::default(),
        )
        .await
    {
        Ok(()) => {
            let _ = channel.close(200, "OK".into()).await;
        }
        Err(e) if is_not_found(&e) => missing.push(format!("exchange {}", names.exchange)),
        Err(e) => return Err(broker(&format!("check exchange {}", names.exchange), e)),
    }
    for queue in [&names.queue, &names.dlq] {
        let channel = open_channel(connection).await?;
        let passive = QueueDeclareOptions {
            passive: true,
            ..QueueDeclareOptions::durable()
        };
        match channel
            .queue_declare(queue.clone(), passive, FieldTable::default())
            .await
        {
            Ok(_) => {
                let _ = channel.close(200, "OK".into()).await;
            }
            Err(e) if is_not_found(&e) => missing.push(format!("queue {queue}")),
            Err(e) => return Err(broker(&format!("check queue {queue}"), e)),
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(QueueError::Missing(format!(
            "rabbitmq {} (auto-provisioning is off)",
            missing.join(", ")
        )))
    }
}
