//! The queue conformance suite against each backend.

#[tokio::test]
async fn memory_queue_conforms() {
    let q = outpost_mq::MemoryQueue::new("test", 1000);
    outpost_test_support::queue_suite::run(&q).await;
}

mod rabbitmq {
    //! The RabbitMQ backend against the local broker (`TEST_RABBITMQ_URL`), each test on its own
    //! exchange and queues, deleted at the end.
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use futures_lite::StreamExt;
    use lapin::options::{
        BasicAckOptions, BasicConsumeOptions, QueueDeclareOptions, QueueDeleteOptions,
    };
    use lapin::types::{AMQPValue, FieldTable};
    use outpost_core::ports::{Queue, QueueError};
    use outpost_mq::rabbitmq::{RabbitQueue, RabbitSettings};
    use outpost_test_support::unique;
    use std::future::Future;
    use std::time::{Duration, Instant};

    const WAIT: Duration = Duration::from_secs(10);

    fn url() -> String {
        outpost_test_support::service_addr(
            "TEST_RABBITMQ_URL",
            "amqp://guest:guest@127.0.0.1:5672/%2f",
        )
    }

    fn settings() -> RabbitSettings {
        let mut settings = RabbitSettings::new(url(), unique("outpost_test_q"));
        settings.exchange = unique("outpost_test_x");
        settings
    }

    /// Runs `body` on a freshly provisioned queue, then deletes the topology even if it panicked.
    async fn with_queue<F, Fut>(settings: RabbitSettings, body: F)
    where
        F: FnOnce(RabbitQueue, RabbitSettings) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let queue = RabbitQueue::connect(settings.clone())
            .await
            .expect("connect and provision");
        let outcome = tokio::spawn(body(queue.clone(), settings)).await;
        queue.teardown().await.expect("teardown");
        if let Err(e) = outcome {
            std::panic::resume_unwind(e.into_panic());
        }
    }

    async fn raw_channel() -> (lapin::Connection, lapin::Channel) {
        let connection = lapin::Connection::connect(&url(), lapin::ConnectionProperties::default())
            .await
            .unwrap();
        let channel = connection.create_channel().await.unwrap();
        (connection, channel)
    }

    #[tokio::test]
    async fn rabbitmq_queue_conforms() {
        with_queue(settings(), |queue, _| async move {
            outpost_test_support::queue_suite::run(&queue).await;
        })
        .await;
    }

    #[tokio::test]
    async fn rabbitmq_provisions_quorum_queue_with_dead_lettering() {
        with_queue(settings(), |queue, settings| async move {
            // The queue has exactly Outpost's arguments: redeclaring it with them is accepted (the
            // broker checks equivalence), changing any one of them is refused.
            let (connection, channel) = raw_channel().await;
            let args = |queue_type: &str, limit: i32| {
                let mut args = FieldTable::default();
                args.insert(
                    "x-queue-type".into(),
                    AMQPValue::LongString(queue_type.into()),
                );
                args.insert("x-delivery-limit".into(), AMQPValue::LongInt(limit));
                args.insert(
                    "x-dead-letter-exchange".into(),
                    AMQPValue::LongString(settings.exchange.as_str().into()),
                );
                args.insert(
                    "x-dead-letter-routing-key".into(),
                    AMQPValue::LongString(settings.dlq.as_str().into()),
                );
                args
            };
            channel
                .queue_declare(
                    settings.queue.as_str().into(),
                    QueueDeclareOptions::durable(),
                    args("quorum", 5),
                )
                .await
                .expect("same arguments");
            for (wrong, arg) in [
                (args("classic", 5), "x-queue-type"),
                (args("quorum", 6), "x-delivery-limit"),
            ] {
                let channel = connection.create_channel().await.unwrap();
                let err = channel
                    .queue_declare(
                        settings.queue.as_str().into(),
                        QueueDeclareOptions::durable(),
                        wrong,
                    )
                    .await
                    .expect_err("inequivalent arguments");
                assert!(err.to_string().contains(arg), "{err}");
            }

            // A message nacked past the delivery limit lands in the DLQ.
            queue.publish(vec![b"poison".to_vec()]).await.unwrap();
            let mut sub = queue.subscribe(1).await.unwrap();
            let mut seen = Vec::new();
            while let Ok(next) = tokio::time::timeout(Duration::from_secs(2), sub.next()).await {
                let m = next.unwrap().unwrap();
                assert_eq!(m.body, b"poison");
                seen.push(m.redeliveries);
                m.nack().await.unwrap();
                assert!(
                    seen.len() <= 10,
                    "dead-lettered within the delivery limit: {seen:?}"
                );
            }
            println!("rabbitmq: redeliveries before dead-lettering: {seen:?}");
            assert_eq!(
                seen.first(),
                Some(&0),
                "first delivery is not a redelivery: {seen:?}"
            );
            assert!(
                seen.windows(2).all(|w| w[1] > w[0]),
                "redeliveries are counted: {seen:?}"
            );
            assert!(seen.len() >= 5, "delivered up to the limit: {seen:?}");

            let channel = connection.create_channel().await.unwrap();
            let mut dlq = channel
                .basic_consume(
                    settings.dlq.as_str().into(),
                    "".into(),
                    BasicConsumeOptions::default(),
                    FieldTable::default(),
                )
                .await
                .unwrap();
            let dead = tokio::time::timeout(WAIT, dlq.next())
                .await
                .expect("message in the DLQ")
                .unwrap()
                .unwrap();
            assert_eq!(dead.data, b"poison");
            dead.ack(BasicAckOptions::default()).await.unwrap();
            let _ = connection.close(200, "OK".into()).await;
        })
        .await;
    }

    #[tokio::test]
    async fn rabbitmq_without_auto_provision_reports_missing_queue() {
        let mut settings = settings();
        settings.auto_provision = false;
        let err = RabbitQueue::connect(settings.clone())
            .await
            .expect_err("queue is missing");
        match err {
            QueueError::Missing(what) => {
                assert!(what.contains(&settings.queue), "{what}");
                assert!(what.contains(&settings.dlq), "{what}");
                assert!(what.contains(&settings.exchange), "{what}");
            }
            other => panic!("expected Missing, got {other:?}"),
        }

        // Once provisioned, the check passes.
        let mut provisioned = settings.clone();
        provisioned.auto_provision = true;
        with_queue(provisioned, |_, settings| async move {
            let mut check = settings;
            check.auto_provision = false;
            RabbitQueue::connect(check).await.expect("topology exists");
        })
        .await;
    }

    #[tokio::test]
    async fn rabbitmq_publish_survives_closed_connection() {
        with_queue(settings(), |queue, _| async move {
            queue.publish(vec![b"before".to_vec()]).await.unwrap();
            let mut sub = queue.subscribe(4).await.unwrap();
            let m = tokio::time::timeout(WAIT, sub.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            assert_eq!(m.body, b"before");
            m.ack().await.unwrap();

            queue.close_for_test().await;

            // The subscription ends with an error, then nothing.
            let end = tokio::time::timeout(WAIT, sub.next())
                .await
                .expect("subscription ends");
            assert!(matches!(end, Some(Err(_))), "error item: {end:?}");
            assert!(sub.next().await.is_none());

            // Publishing reconnects; a new subscription receives it.
            queue.publish(vec![b"after".to_vec()]).await.unwrap();
            let mut sub = queue.subscribe(4).await.unwrap();
            let m = tokio::time::timeout(WAIT, sub.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            assert_eq!(m.body, b"after");
            m.ack().await.unwrap();
        })
        .await;
    }

    /// A sibling queue shares the connection: each queue gets only its own messages, and a
    /// lost connection is reopened for both by whichever publishes first.
    #[tokio::test]
    async fn rabbitmq_sibling_shares_the_connection() {
        with_queue(settings(), |queue, settings| async move {
            let mut s = settings.clone();
            s.queue = format!("{}.busy", settings.queue);
            s.dlq = settings.dlq.clone();
            let busy = queue.sibling(s).await.expect("sibling provisioned");
            let take = |q: RabbitQueue| async move {
                let mut sub = q.subscribe(4).await.unwrap();
                let m = tokio::time::timeout(WAIT, sub.next())
                    .await
                    .unwrap()
                    .unwrap()
                    .unwrap();
                let body = m.body.clone();
                m.ack().await.unwrap();
                body
            };
            queue.publish(vec![b"main".to_vec()]).await.unwrap();
            busy.publish(vec![b"busy".to_vec()]).await.unwrap();
            assert_eq!(take(busy.clone()).await, b"busy");
            assert_eq!(take(queue.clone()).await, b"main");
            queue.close_for_test().await;
            busy.publish(vec![b"after".to_vec()]).await.unwrap();
            assert_eq!(take(busy.clone()).await, b"after");
            queue.publish(vec![b"main again".to_vec()]).await.unwrap();
            assert_eq!(take(queue.clone()).await, b"main again");
            // The sibling's queue is deleted with it (its DLQ is the first queue's).
            let (_c, channel) = raw_channel().await;
            channel
                .queue_delete(
                    format!("{}.busy", settings.queue).into(),
                    Default::default(),
                )
                .await
                .unwrap();
        })
        .await;
    }

    #[tokio::test]
    async fn rabbitmq_unroutable_publish_fails() {
        with_queue(settings(), |queue, settings| async move {
            let (connection, channel) = raw_channel().await;
            channel
                .queue_delete(
                    settings.queue.as_str().into(),
                    QueueDeleteOptions::default(),
                )
                .await
                .unwrap();
            let err = queue
                .publish(vec![b"nowhere".to_vec()])
                .await
                .expect_err("returned as unroutable");
            assert!(matches!(err, QueueError::Broker(_)), "{err:?}");
            let _ = connection.close(200, "OK".into()).await;
        })
        .await;
    }

    /// Throughput of one confirmed batch (printed with `--nocapture`, not asserted).
    #[tokio::test]
    async fn rabbitmq_publish_batch_throughput() {
        with_queue(settings(), |queue, _| async move {
            let bodies: Vec<Vec<u8>> = (0..10_000).map(|_| vec![b'x'; 1024]).collect();
            let start = Instant::now();
            queue.publish(bodies).await.unwrap();
            let elapsed = start.elapsed();
            println!(
                "rabbitmq: published and confirmed 10000 x 1 KiB in {elapsed:?} ({:.0} msg/s)",
                10_000.0 / elapsed.as_secs_f64()
            );
        })
        .await;
    }
}
