//! Conformance suite of the `Queue` port: every backend must pass it. The queue must be empty
//! and exclusive to the test.

use outpost_core::ports::Queue;
use std::collections::BTreeSet;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

/// Runs every check against `queue`.
pub async fn run(queue: &dyn Queue) {
    // Publish a batch; every message arrives once and is acked.
    let bodies: Vec<Vec<u8>> = (0..50).map(|i| format!("m{i}").into_bytes()).collect();
    queue.publish(bodies.clone()).await.unwrap();
    let mut sub = queue.subscribe(16).await.unwrap();
    let mut got = BTreeSet::new();
    for _ in 0..50 {
        let m = tokio::time::timeout(WAIT, sub.next())
            .await
            .expect("message in time")
            .unwrap()
            .unwrap();
        assert_eq!(m.redeliveries, 0);
        got.insert(m.body.clone());
        m.ack().await.unwrap();
    }
    assert_eq!(got, bodies.into_iter().collect::<BTreeSet<_>>());
    // Nothing left after acks.
    assert!(
        tokio::time::timeout(Duration::from_millis(300), sub.next())
            .await
            .is_err(),
        "queue drained"
    );

    // A nacked message comes back, marked as redelivered.
    queue.publish(vec![b"retry-me".to_vec()]).await.unwrap();
    let m = tokio::time::timeout(WAIT, sub.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(m.body, b"retry-me");
    m.nack().await.unwrap();
    let m = tokio::time::timeout(WAIT, sub.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(m.body, b"retry-me");
    assert!(m.redeliveries >= 1, "redelivery is counted");
    m.ack().await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(300), sub.next())
            .await
            .is_err()
    );

    // Binary payloads survive untouched.
    let bin: Vec<u8> = (0..=255u8).collect();
    queue.publish(vec![bin.clone()]).await.unwrap();
    let m = tokio::time::timeout(WAIT, sub.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(m.body, bin);
    m.ack().await.unwrap();
}

/// A message held past its lease (visibility timeout, ack deadline, lock) is not handed to
/// another subscription, because its holder keeps extending it; once the holder drops it
/// unsettled it comes back at once, well before the lease would have run out, counted as a
/// redelivery. `queue` must be empty, exclusive to the test and leased for `lease`.
pub async fn held_messages_are_kept_then_handed_back(queue: &dyn Queue, lease: Duration) {
    queue.publish(vec![b"slow".to_vec()]).await.unwrap();
    let mut first = queue.subscribe(1).await.unwrap();
    let held = tokio::time::timeout(Duration::from_secs(15), first.next())
        .await
        .expect("the message in time")
        .unwrap()
        .unwrap();
    let mut second = queue.subscribe(4).await.unwrap();
    // Two and a half leases: without the extension it would have come back at least twice.
    assert!(
        tokio::time::timeout(lease * 5 / 2, second.next())
            .await
            .is_err(),
        "a held message was delivered to another consumer"
    );
    // The holder drops it without settling it.
    drop(held);
    drop(first);
    let back = tokio::time::timeout(lease * 2 / 3, second.next())
        .await
        .expect("the abandoned message came back before its lease ran out")
        .unwrap()
        .unwrap();
    assert_eq!(back.body, b"slow");
    assert!(back.redeliveries >= 1, "{}", back.redeliveries);
    back.ack().await.unwrap();
}
