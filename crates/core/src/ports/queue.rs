//! The internal queue port (deliverymq, logmq): durable publish with confirmation, and a
//! subscription that hands out messages to ack (done) or nack (redeliver later).
//! Implemented in `outpost-mq` for RabbitMQ and in memory.

/// A queue failure.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The broker refused or lost the operation.
    #[error("queue broker error: {0}")]
    Broker(String),
    /// The queue does not exist and may not be created.
    #[error("required message queues do not exist: {0}")]
    Missing(String),
    /// The subscription or connection is closed.
    #[error("queue closed")]
    Closed,
}

/// Settles one received message.
#[async_trait::async_trait]
pub trait Acker: Send + Sync {
    /// Done: remove it.
    async fn ack(self: Box<Self>) -> Result<(), QueueError>;
    /// Not done: redeliver it (the broker's delivery limit dead-letters poison messages).
    async fn nack(self: Box<Self>) -> Result<(), QueueError>;
}

/// One received message.
pub struct Message {
    /// Payload.
    pub body: Vec<u8>,
    /// How many times it was delivered before (0 on first delivery), when the broker says.
    pub redeliveries: u32,
    acker: Box<dyn Acker>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("len", &self.body.len())
            .field("redeliveries", &self.redeliveries)
            .finish()
    }
}

impl Message {
    /// A message settled through `acker`.
    pub fn new(body: Vec<u8>, redeliveries: u32, acker: Box<dyn Acker>) -> Self {
        Self {
            body,
            redeliveries,
            acker,
        }
    }

    /// Acknowledges the message.
    pub async fn ack(self) -> Result<(), QueueError> {
        self.acker.ack().await
    }

    /// Rejects the message for redelivery.
    pub async fn nack(self) -> Result<(), QueueError> {
        self.acker.nack().await
    }
}

/// A stream of messages.
#[async_trait::async_trait]
pub trait Subscription: Send {
    /// The next message; `None` once the subscription is closed.
    async fn next(&mut self) -> Option<Result<Message, QueueError>>;
}

/// A durable queue.
#[async_trait::async_trait]
pub trait Queue: Send + Sync + 'static {
    /// Publishes messages; returns only once every one is durably stored (confirmed).
    async fn publish(&self, bodies: Vec<Vec<u8>>) -> Result<(), QueueError>;
    /// Subscribes with at most `prefetch` unsettled messages outstanding.
    async fn subscribe(&self, prefetch: usize) -> Result<Box<dyn Subscription>, QueueError>;
}
