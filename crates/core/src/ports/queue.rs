//! The internal queue port (deliverymq, logmq): durable publish with confirmation, and a
//! subscription that hands out messages to ack (done) or nack (redeliver later).
//! Implemented in `outpost-mq` for RabbitMQ and in memory.
//!
//! A message body is one JSON object (a task, a log entry), or, when publishers' bodies were
//! packed together to save broker work (`outpost_mq::Combining`), a JSON array of them;
//! [`decode_items`] reads both.

/// A queue failure.
#[derive(Debug, Clone, thiserror::Error)]
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

/// The items of a message body: a JSON array of `T`, or one `T` (upstream's shape, and what a
/// message carrying a single item always looks like).
pub fn decode_items<T: serde::de::DeserializeOwned>(body: &[u8]) -> serde_json::Result<Vec<T>> {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => serde_json::from_slice(body),
        _ => serde_json::from_slice(body).map(|one| vec![one]),
    }
}

/// Packs JSON bodies into one: the body itself when there is one, else a JSON array of them
/// (each body must be one JSON value, which it is when it came from `serde_json`).
pub fn pack_items<'a>(bodies: impl ExactSizeIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut bodies = bodies.peekable();
    if bodies.len() == 1 {
        return bodies.next().map(<[u8]>::to_vec).unwrap_or_default();
    }
    let mut out = Vec::new();
    out.push(b'[');
    let mut first = true;
    for b in bodies {
        if !first {
            out.push(b',');
        }
        first = false;
        out.extend_from_slice(b);
    }
    out.push(b']');
    out
}

/// The broker handles (receipt handles, ack ids) of the messages a subscription holds, by a
/// local id, for a backend that must keep them alive while they are held (extend their
/// visibility or ack deadline) and forget them once settled. Cloning shares the set.
#[derive(Debug, Clone, Default)]
pub struct Held(std::sync::Arc<std::sync::Mutex<(u64, std::collections::HashMap<u64, String>)>>);

impl Held {
    /// Remembers `handle`; returns its local id.
    pub fn add(&self, handle: String) -> u64 {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        g.0 += 1;
        let id = g.0;
        g.1.insert(id, handle);
        id
    }

    /// Forgets the handle of local id `id` (its message was settled).
    pub fn remove(&self, id: u64) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .remove(&id);
    }

    /// The handles held now.
    pub fn snapshot(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .1
            .values()
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct T {
        n: u32,
    }

    #[test]
    fn one_object_or_an_array() {
        assert_eq!(decode_items::<T>(br#"{"n":1}"#).unwrap(), vec![T { n: 1 }]);
        assert_eq!(
            decode_items::<T>(b" \n[{\"n\":1},{\"n\":2}]").unwrap(),
            vec![T { n: 1 }, T { n: 2 }]
        );
        assert!(decode_items::<T>(b"[1]").is_err());
        assert!(decode_items::<T>(b"").is_err());
    }

    #[test]
    fn packing_round_trips_and_keeps_a_single_body_as_is() {
        let one: Vec<&[u8]> = vec![br#"{"n":7}"#];
        assert_eq!(pack_items(one.into_iter()), br#"{"n":7}"#.to_vec());
        let many: Vec<&[u8]> = vec![br#"{"n":1}"#, br#"{"n":2}"#, br#"{"n":3}"#];
        let packed = pack_items(many.into_iter());
        assert_eq!(packed, br#"[{"n":1},{"n":2},{"n":3}]"#.to_vec());
        assert_eq!(decode_items::<T>(&packed).unwrap().len(), 3);
    }

    #[test]
    fn held_handles_are_remembered_until_removed() {
        let held = Held::default();
        let a = held.add("a".into());
        let shared = held.clone();
        let b = shared.add("b".into());
        assert_ne!(a, b);
        let mut now = held.snapshot();
        now.sort();
        assert_eq!(now, ["a", "b"]);
        held.remove(a);
        assert_eq!(shared.snapshot(), ["b"]);
        held.remove(a);
        assert_eq!(held.snapshot(), ["b"]);
    }
}
