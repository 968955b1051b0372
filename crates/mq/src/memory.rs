//! An in-process queue: bounded (publishers wait when it is full), with nack redelivery and a
//! delivery limit after which a message is dropped with an error log (the in-memory "DLQ").

use async_trait::async_trait;
use outpost_core::ports::{Acker, Message, Queue, QueueError, Subscription};
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc};

/// Deliveries of one message before it is dead-lettered, as the RabbitMQ queues.
pub const DELIVERY_LIMIT: u32 = 5;

struct Item {
    body: Vec<u8>,
    redeliveries: u32,
}

/// A bounded in-memory queue. Cloning shares the queue.
#[derive(Clone)]
pub struct MemoryQueue {
    tx: mpsc::Sender<Item>,
    rx: Arc<Mutex<mpsc::Receiver<Item>>>,
    name: Arc<str>,
}

impl MemoryQueue {
    /// A queue holding at most `capacity` messages.
    pub fn new(name: &str, capacity: usize) -> Self {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        Self {
            tx,
            rx: Arc::new(Mutex::new(rx)),
            name: name.into(),
        }
    }
}

struct MemoryAcker {
    tx: mpsc::Sender<Item>,
    item: Option<Item>,
    name: Arc<str>,
}

#[async_trait]
impl Acker for MemoryAcker {
    async fn ack(self: Box<Self>) -> Result<(), QueueError> {
        Ok(())
    }

    async fn nack(mut self: Box<Self>) -> Result<(), QueueError> {
        let Some(mut item) = self.item.take() else {
            return Ok(());
        };
        item.redeliveries += 1;
        if item.redeliveries >= DELIVERY_LIMIT {
            tracing::error!(queue = %self.name, "Message dead-lettered after {DELIVERY_LIMIT} deliveries.");
            return Ok(());
        }
        self.tx.send(item).await.map_err(|_| QueueError::Closed)
    }
}

struct MemorySubscription {
    queue: MemoryQueue,
}

#[async_trait]
impl Subscription for MemorySubscription {
    async fn next(&mut self) -> Option<Result<Message, QueueError>> {
        let item = self.queue.rx.lock().await.recv().await?;
        let body = item.body.clone();
        let redeliveries = item.redeliveries;
        let acker = MemoryAcker {
            tx: self.queue.tx.clone(),
            item: Some(item),
            name: self.queue.name.clone(),
        };
        Some(Ok(Message::new(body, redeliveries, Box::new(acker))))
    }
}

#[async_trait]
impl Queue for MemoryQueue {
    async fn publish(&self, bodies: Vec<Vec<u8>>) -> Result<(), QueueError> {
        for body in bodies {
            self.tx
                .send(Item {
                    body,
                    redeliveries: 0,
                })
                .await
                .map_err(|_| QueueError::Closed)?;
        }
        Ok(())
    }

    async fn subscribe(&self, _prefetch: usize) -> Result<Box<dyn Subscription>, QueueError> {
        Ok(Box::new(MemorySubscription {
            queue: self.clone(),
        }))
    }
}
