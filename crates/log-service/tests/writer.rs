//! The batch writer: packed messages (several entries in one) are written whole, and a batch
//! is written as soon as the broker's prefetch window is in hand, not only at the threshold.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::entry;
use outpost_core::event::AttemptStatus;
use outpost_core::health::Health;
use outpost_core::ports::{LogStore, MemoryLogStore, Queue, pack_items};
use outpost_log::writer::{BatchSettings, run};
use outpost_mq::MemoryQueue;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

fn body(n: u32) -> Vec<u8> {
    serde_json::to_vec(&entry(n, AttemptStatus::Success)).unwrap()
}

async fn stored(store: &MemoryLogStore, range: std::ops::Range<u32>) -> usize {
    let mut n = 0;
    for i in range {
        if store
            .get_attempt(None, &format!("a{i}"))
            .await
            .unwrap()
            .is_some()
        {
            n += 1;
        }
    }
    n
}

fn start(queue: MemoryQueue, store: Arc<MemoryLogStore>, size: usize) -> CancellationToken {
    let stop = CancellationToken::new();
    tokio::spawn(run(
        Arc::new(queue),
        store,
        None,
        BatchSettings {
            size,
            threshold: Duration::from_secs(30),
        },
        Health::new(),
        stop.clone(),
    ));
    stop
}

#[tokio::test]
async fn packed_messages_are_written_entry_by_entry() {
    let queue = MemoryQueue::new("logmq", 100);
    let store = Arc::new(MemoryLogStore::new());
    let packed: Vec<Vec<u8>> = (0..3).map(body).collect();
    queue
        .publish(vec![
            pack_items(packed.iter().map(Vec::as_slice)),
            body(3),
            b"[{\"not\":\"an entry\"}]".to_vec(),
        ])
        .await
        .unwrap();
    // A batch of 4 entries is full after the first two messages; the bad one is nacked alone.
    let stop = start(queue, store.clone(), 4);
    let deadline = Instant::now() + Duration::from_secs(5);
    while stored(&store, 0..4).await < 4 {
        assert!(
            Instant::now() < deadline,
            "the 4 entries were not all written"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let e = store.get_event(Some("t"), "e1").await.unwrap().unwrap();
    assert_eq!(e.data.get(), r#"{"n":1}"#);
    stop.cancel();
}

#[tokio::test]
async fn a_full_prefetch_window_is_written_without_waiting_for_the_threshold() {
    let queue = MemoryQueue::new("logmq", 100);
    let store = Arc::new(MemoryLogStore::new());
    // Batch size 100: the writer asks for 25 messages at a time, so 25 single-entry messages
    // are all a batch can get from a broker that honours prefetch.
    queue.publish((0..30).map(body).collect()).await.unwrap();
    let stop = start(queue, store.clone(), 100);
    let deadline = Instant::now() + Duration::from_secs(5);
    while stored(&store, 0..30).await < 25 {
        assert!(
            Instant::now() < deadline,
            "a full window waited for the 30 s threshold"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(stored(&store, 0..25).await, 25, "in order, the first 25");
    stop.cancel();
}
