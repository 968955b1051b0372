//! An in-process queue: bounded in messages and in bytes (publishers wait when either is
//! full), with nack redelivery and a delivery limit after which a message is dropped with an
//! error log (the in-memory "DLQ").
//!
//! A message's bytes stay counted from its publish until it is acked or dead-lettered, so
//! messages held by a consumer count too, and a nack puts the message back without asking for
//! room again (a consumer nacking into a full queue cannot wait on itself). Packed messages
//! carry up to 32 tasks each, so the message bound alone would let a long overload of the
//! embedded mode grow without limit.

use async_trait::async_trait;
use outpost_core::ports::{Acker, Message, Queue, QueueError, Subscription};
use std::sync::Arc;
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore, mpsc};

/// Deliveries of one message before it is dead-lettered, as the RabbitMQ queues.
pub const DELIVERY_LIMIT: u32 = 5;

/// Bytes of message bodies a queue holds by default (published and not yet acked).
pub const DEFAULT_MAX_BYTES: usize = 128 << 20;

/// The byte budget is counted in units of this many bytes (a semaphore's permits).
const UNIT: usize = 1024;

struct Item {
    body: Vec<u8>,
    redeliveries: u32,
    /// Its share of the byte budget, returned when the item is dropped (acked or
    /// dead-lettered).
    _room: OwnedSemaphorePermit,
}

/// A bounded in-memory queue. Cloning shares the queue.
#[derive(Clone)]
pub struct MemoryQueue {
    tx: mpsc::Sender<Item>,
    rx: Arc<Mutex<mpsc::Receiver<Item>>>,
    /// Free byte budget, in [`UNIT`]s.
    room: Arc<Semaphore>,
    /// The whole budget, in [`UNIT`]s.
    budget: u32,
    name: Arc<str>,
}

impl MemoryQueue {
    /// A queue holding at most `capacity` messages and [`DEFAULT_MAX_BYTES`] of bodies.
    pub fn new(name: &str, capacity: usize) -> Self {
        Self::with_max_bytes(name, capacity, DEFAULT_MAX_BYTES)
    }

    /// A queue holding at most `capacity` messages and `max_bytes` of bodies (a single larger
    /// body is taken alone, when the queue is otherwise empty).
    pub fn with_max_bytes(name: &str, capacity: usize, max_bytes: usize) -> Self {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let budget = u32::try_from(max_bytes.div_ceil(UNIT).max(1)).unwrap_or(u32::MAX);
        Self {
            tx,
            rx: Arc::new(Mutex::new(rx)),
            room: Arc::new(Semaphore::new(budget as usize)),
            budget,
            name: name.into(),
        }
    }

    /// Waits for room for a body of `len` bytes.
    async fn room_for(&self, len: usize) -> Result<OwnedSemaphorePermit, QueueError> {
        let units = u32::try_from(len.div_ceil(UNIT).max(1))
            .unwrap_or(u32::MAX)
            .min(self.budget);
        self.room
            .clone()
            .acquire_many_owned(units)
            .await
            .map_err(|_| QueueError::Closed)
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
            let room = self.room_for(body.len()).await?;
            self.tx
                .send(Item {
                    body,
                    redeliveries: 0,
                    _room: room,
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn next(sub: &mut Box<dyn Subscription>) -> Message {
        tokio::time::timeout(Duration::from_secs(2), sub.next())
            .await
            .expect("a message within 2 s")
            .expect("open")
            .expect("no error")
    }

    /// A publish over the byte budget waits until an ack makes room, and then goes through.
    #[tokio::test]
    async fn publishers_wait_for_bytes_until_an_ack() {
        let q = MemoryQueue::with_max_bytes("t", 100, 4 * UNIT);
        q.publish(vec![vec![1; 3 * UNIT]]).await.unwrap();
        let blocked = {
            let q = q.clone();
            tokio::spawn(async move { q.publish(vec![vec![2; 2 * UNIT]]).await })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!blocked.is_finished(), "6 KiB do not fit a 4 KiB budget");
        let mut sub = q.subscribe(1).await.unwrap();
        let first = next(&mut sub).await;
        assert_eq!(first.body[0], 1);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !blocked.is_finished(),
            "a message held by a consumer still counts"
        );
        first.ack().await.unwrap();
        tokio::time::timeout(Duration::from_secs(2), blocked)
            .await
            .expect("the ack made room")
            .unwrap()
            .unwrap();
        assert_eq!(next(&mut sub).await.body[0], 2);
    }

    /// A nack into a queue whose budget is used up puts the message back at once (it keeps its
    /// room), and a body larger than the whole budget is taken alone.
    #[tokio::test]
    async fn a_nack_keeps_its_room_and_a_huge_body_goes_alone() {
        let q = MemoryQueue::with_max_bytes("t", 100, 2 * UNIT);
        q.publish(vec![vec![7; 10 * UNIT]]).await.unwrap();
        let waiting = {
            let q = q.clone();
            tokio::spawn(async move { q.publish(vec![vec![8; 10]]).await })
        };
        let mut sub = q.subscribe(1).await.unwrap();
        let m = next(&mut sub).await;
        assert_eq!(m.body.len(), 10 * UNIT);
        tokio::time::timeout(Duration::from_secs(2), m.nack())
            .await
            .expect("the nack does not wait for room")
            .unwrap();
        let again = next(&mut sub).await;
        assert_eq!((again.body.len(), again.redeliveries), (10 * UNIT, 1));
        assert!(!waiting.is_finished());
        again.ack().await.unwrap();
        tokio::time::timeout(Duration::from_secs(2), waiting)
            .await
            .expect("room after the ack")
            .unwrap()
            .unwrap();
        assert_eq!(next(&mut sub).await.body, vec![8; 10]);
    }
}
