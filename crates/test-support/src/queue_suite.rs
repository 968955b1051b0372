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
