//! Conformance suites of the idempotency and retry-scheduler ports.

use outpost_core::ports::{AlertState, Claim, Idempotency, RetryScheduler};
use outpost_core::time::now_ms;
use std::time::Duration;

/// Checks the processing/processed protocol.
pub async fn idempotency(store: &dyn Idempotency) {
    let k = crate::unique("idem");
    assert_eq!(store.state(&k).await.unwrap(), None);
    assert_eq!(store.claim(&k).await.unwrap(), Claim::Acquired);
    assert_eq!(store.claim(&k).await.unwrap(), Claim::Processing);
    store.release(&k).await.unwrap();
    assert_eq!(
        store.claim(&k).await.unwrap(),
        Claim::Acquired,
        "released keys are free"
    );
    store
        .mark_processed(&k, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(store.claim(&k).await.unwrap(), Claim::Processed);
    assert_eq!(store.state(&k).await.unwrap(), Some(Claim::Processed));
    let short = crate::unique("idem");
    store.claim(&short).await.unwrap();
    store
        .mark_processed(&short, Duration::from_secs(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(
        store.claim(&short).await.unwrap(),
        Claim::Acquired,
        "processed keys expire"
    );
}

/// Checks that renewing keeps a claim past its TTL and leaves other keys alone; `store`'s
/// [`Idempotency::processing_ttl`] must be 1 s.
pub async fn idempotency_renewal(store: &dyn Idempotency) {
    assert_eq!(store.processing_ttl(), Duration::from_secs(1));
    let held = crate::unique("held");
    let dropped = crate::unique("dropped");
    let done = crate::unique("done");
    let free = crate::unique("free");
    for k in [&held, &dropped, &done] {
        assert_eq!(store.claim(k).await.unwrap(), Claim::Acquired);
    }
    store
        .mark_processed(&done, Duration::from_secs(60))
        .await
        .unwrap();
    let keys = [held.clone(), done.clone(), free.clone()];
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert_eq!(store.renew(&keys).await.unwrap(), 1, "only the held claim");
    }
    // 1.5 s after the claims: the renewed one holds, the other expired.
    assert_eq!(store.claim(&held).await.unwrap(), Claim::Processing);
    assert_eq!(store.claim(&dropped).await.unwrap(), Claim::Acquired);
    assert_eq!(store.state(&done).await.unwrap(), Some(Claim::Processed));
    assert_eq!(
        store.state(&free).await.unwrap(),
        None,
        "renew creates nothing"
    );
    assert_eq!(store.renew(&[]).await.unwrap(), 0);
    // Not renewed any more, it expires.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(store.claim(&held).await.unwrap(), Claim::Acquired);
}

/// Checks that advancing brings later entries forward and leaves the rest alone.
pub async fn scheduler_advance(s: &dyn RetryScheduler) {
    let now = now_ms();
    let later = crate::unique("later");
    let sooner = crate::unique("sooner");
    let absent = crate::unique("absent");
    s.schedule(&later, now + chrono::Duration::seconds(60), b"l".to_vec())
        .await
        .unwrap();
    s.schedule(&sooner, now - chrono::Duration::seconds(5), b"s".to_vec())
        .await
        .unwrap();
    let ids = [later.clone(), sooner.clone(), absent.clone()];
    assert_eq!(
        s.advance(&ids, now).await.unwrap(),
        1,
        "only the later entry"
    );
    assert_eq!(s.advance(&[], now).await.unwrap(), 0);
    let due = s.claim_due(now, 10, Duration::from_secs(30)).await.unwrap();
    let mut got: Vec<(String, Vec<u8>)> = due
        .iter()
        .map(|d| (d.id.clone(), d.payload.clone()))
        .collect();
    got.sort();
    let mut want = vec![
        (later.clone(), b"l".to_vec()),
        (sooner.clone(), b"s".to_vec()),
    ];
    want.sort();
    assert_eq!(got, want, "both due now, payloads kept, nothing created");
    s.complete(&due).await.unwrap();
    assert_eq!(s.next_due().await.unwrap(), None);
}

/// Checks scheduling, replacement, claiming with visibility and completion.
pub async fn scheduler(s: &dyn RetryScheduler) {
    let now = now_ms();
    let a = crate::unique("a");
    let b = crate::unique("b");
    s.schedule(&a, now - chrono::Duration::seconds(1), b"pa".to_vec())
        .await
        .unwrap();
    s.schedule(&b, now + chrono::Duration::seconds(60), b"pb".to_vec())
        .await
        .unwrap();
    // Replacing keeps one entry per id with the newest payload and time.
    s.schedule(
        &a,
        now - chrono::Duration::milliseconds(500),
        b"pa2".to_vec(),
    )
    .await
    .unwrap();
    assert!(s.next_due().await.unwrap().unwrap() <= now);
    let due = s.claim_due(now, 10, Duration::from_secs(30)).await.unwrap();
    assert_eq!(due.len(), 1, "{due:?}");
    assert_eq!(due[0].id, a);
    assert_eq!(due[0].payload, b"pa2");
    assert!(
        s.claim_due(now, 10, Duration::from_secs(30))
            .await
            .unwrap()
            .is_empty(),
        "claimed entries are hidden"
    );
    // Not completed: due again after the visibility timeout.
    let later = now + chrono::Duration::seconds(31);
    let again = s
        .claim_due(later, 10, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(
        again.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        vec![a.as_str()]
    );
    // The claimed retry ran and scheduled its successor under the same id before the claim
    // was completed: completing the old claim must keep the successor.
    s.schedule(&a, later, b"pa3".to_vec()).await.unwrap();
    s.complete(&again).await.unwrap();
    let successor = s
        .claim_due(later, 10, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(successor.len(), 1, "the rescheduled entry survives");
    assert_eq!(successor[0].payload, b"pa3");
    s.complete(&successor).await.unwrap();
    let far = now + chrono::Duration::seconds(3600);
    let rest = s.claim_due(far, 10, Duration::from_secs(30)).await.unwrap();
    assert_eq!(
        rest.iter().map(|d| d.id.as_str()).collect::<Vec<_>>(),
        vec![b.as_str()]
    );
    s.cancel(&b).await.unwrap();
    assert!(
        s.claim_due(
            far + chrono::Duration::seconds(3600),
            10,
            Duration::from_secs(1)
        )
        .await
        .unwrap()
        .is_empty()
    );
}

/// Checks failure counting (idempotent per attempt), reset, the exhausted window and the gate.
pub async fn alert_state(s: &dyn AlertState) {
    let t = crate::unique("t");
    assert_eq!(s.record_failure(&t, "d", "a1").await.unwrap(), 1);
    assert_eq!(s.record_failure(&t, "d", "a2").await.unwrap(), 2);
    assert_eq!(
        s.record_failure(&t, "d", "a2").await.unwrap(),
        2,
        "same attempt counted once"
    );
    assert_eq!(
        s.record_failure(&t, "other", "a9").await.unwrap(),
        1,
        "per destination"
    );
    s.reset(&t, "d").await.unwrap();
    assert_eq!(s.record_failure(&t, "d", "a3").await.unwrap(), 1);
    assert!(
        s.claim_exhausted_window(&t, "d", Duration::from_secs(60))
            .await
            .unwrap()
    );
    assert!(
        !s.claim_exhausted_window(&t, "d", Duration::from_secs(60))
            .await
            .unwrap()
    );
    assert!(
        s.claim_exhausted_window(&t, "d2", Duration::from_secs(60))
            .await
            .unwrap()
    );
    assert!(
        s.claim_exhausted_window(&t, "d", Duration::ZERO)
            .await
            .unwrap(),
        "no window, no suppression"
    );
    assert!(
        s.claim_exhausted_window(&t, "d3", Duration::from_secs(1))
            .await
            .unwrap()
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(
        s.claim_exhausted_window(&t, "d3", Duration::from_secs(1))
            .await
            .unwrap(),
        "window expires"
    );
    let a = crate::unique("att");
    assert!(!s.is_processed(&a).await.unwrap());
    s.mark_processed(&a).await.unwrap();
    assert!(s.is_processed(&a).await.unwrap());
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn memory_ports_conform() {
        super::idempotency(&outpost_core::ports::MemoryIdempotency::new()).await;
        super::scheduler_advance(&outpost_core::ports::MemoryScheduler::new()).await;
        super::idempotency_renewal(
            &outpost_core::ports::MemoryIdempotency::new()
                .with_processing_ttl(std::time::Duration::from_secs(1)),
        )
        .await;
        super::scheduler(&outpost_core::ports::MemoryScheduler::new()).await;
        super::alert_state(&outpost_core::ports::MemoryAlertState::new()).await;
    }
}
