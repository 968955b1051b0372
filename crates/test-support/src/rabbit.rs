//! Removal of the RabbitMQ topology a test declared under unique names, so that repeated runs
//! leave the shared local broker as they found it (hundreds of leftover quorum queues make a
//! small broker stop answering), and reading a test queue.

/// Exchanges and queues to delete from the broker at `url` when this guard is dropped, which
/// happens at the end of the test even when it panicked.
#[derive(Debug)]
pub struct TopologyGuard {
    url: String,
    exchanges: Vec<String>,
    queues: Vec<String>,
}

impl TopologyGuard {
    /// A guard for `exchanges` and `queues` on the broker at `url`.
    pub fn new(url: &str, exchanges: Vec<String>, queues: Vec<String>) -> Self {
        Self {
            url: url.to_string(),
            exchanges,
            queues,
        }
    }
}

impl Drop for TopologyGuard {
    fn drop(&mut self) {
        if let Err(e) = delete_topology(&self.url, &self.exchanges, &self.queues) {
            eprintln!(
                "test cleanup: could not delete RabbitMQ queues {:?} / exchanges {:?}: {e}",
                self.queues, self.exchanges
            );
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Waits up to `within` for one message on `queue` (taken without an ack) and returns it.
pub async fn get_one(
    channel: &lapin::Channel,
    queue: &str,
    within: std::time::Duration,
) -> lapin::message::BasicGetMessage {
    let deadline = std::time::Instant::now() + within;
    loop {
        let got = channel
            .basic_get(
                queue.into(),
                lapin::options::BasicGetOptions { no_ack: true },
            )
            .await
            .unwrap_or_else(|e| panic!("basic.get on {queue}: {e}"));
        if let Some(m) = got {
            return m;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no message on {queue}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Deletes `queues`, then `exchanges`, on the broker at `url`. Names that do not exist are fine.
/// Runs on a thread of its own so that it can be called from `Drop` inside a Tokio runtime.
pub fn delete_topology(url: &str, exchanges: &[String], queues: &[String]) -> Result<(), BoxError> {
    let (url, exchanges, queues) = (url.to_string(), exchanges.to_vec(), queues.to_vec());
    let worker = std::thread::spawn(move || -> Result<(), BoxError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        rt.block_on(async move {
            let connect = lapin::Connection::connect(&url, lapin::ConnectionProperties::default());
            let conn = tokio::time::timeout(std::time::Duration::from_secs(10), connect)
                .await
                .map_err(|_| "connecting timed out after 10 s")??;
            // A delete of a missing queue succeeds; a failed one closes the channel, so each
            // name gets a channel of its own.
            for q in &queues {
                let ch = conn.create_channel().await?;
                ch.queue_delete(
                    q.as_str().into(),
                    lapin::options::QueueDeleteOptions::default(),
                )
                .await?;
            }
            for x in &exchanges {
                let ch = conn.create_channel().await?;
                ch.exchange_delete(
                    x.as_str().into(),
                    lapin::options::ExchangeDeleteOptions::default(),
                )
                .await?;
            }
            conn.close(200, "test cleanup".into()).await?;
            Ok(())
        })
    });
    worker.join().map_err(|_| "cleanup thread panicked")?
}
