//! Acks of one queue as `DeleteMessageBatch` calls: an ack waits for no timer; the acks that
//! arrive while calls are in flight are gathered, up to 10 a call, so under load SQS sees a
//! tenth of the calls (and its bill a tenth of the requests) while a lone ack goes at once.

use crate::{BATCH, broker};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
use outpost_core::ports::QueueError;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{Semaphore, mpsc, oneshot};

/// Most `DeleteMessageBatch` calls in flight per queue.
const IN_FLIGHT: usize = 8;

type Request = (String, oneshot::Sender<Result<(), QueueError>>);

/// Hands receipts to the queue's delete task; clones share it. The task ends with the last one.
#[derive(Clone)]
pub(crate) struct Deleter {
    tx: mpsc::UnboundedSender<Request>,
}

impl Deleter {
    /// Starts the delete task of the queue at `url`.
    pub(crate) fn start(client: Client, url: String) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(client, url, rx));
        Self { tx }
    }

    /// Deletes the message with `receipt`; returns once SQS has.
    pub(crate) async fn delete(&self, receipt: String) -> Result<(), QueueError> {
        let (done, answer) = oneshot::channel();
        self.tx
            .send((receipt, done))
            .map_err(|_| QueueError::Closed)?;
        answer.await.map_err(|_| QueueError::Closed)?
    }
}

async fn run(client: Client, url: String, mut rx: mpsc::UnboundedReceiver<Request>) {
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    while let Some(first) = rx.recv().await {
        // Wait for a free call first: the acks that come meanwhile join this batch.
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        let (client, url) = (client.clone(), url.clone());
        tokio::spawn(async move {
            delete_batch(&client, &url, batch).await;
            drop(permit);
        });
    }
}

/// One `DeleteMessageBatch`; every requester gets its own entry's outcome.
async fn delete_batch(client: &Client, url: &str, batch: Vec<Request>) {
    let mut waiting: HashMap<String, oneshot::Sender<Result<(), QueueError>>> = HashMap::new();
    let mut entries = Vec::with_capacity(batch.len());
    for (i, (receipt, done)) in batch.into_iter().enumerate() {
        let id = i.to_string();
        match DeleteMessageBatchRequestEntry::builder()
            .id(&id)
            .receipt_handle(receipt)
            .build()
        {
            Ok(e) => {
                entries.push(e);
                waiting.insert(id, done);
            }
            Err(e) => {
                let _ = done.send(Err(broker("DeleteMessageBatch entry", e)));
            }
        }
    }
    if entries.is_empty() {
        return;
    }
    match client
        .delete_message_batch()
        .queue_url(url)
        .set_entries(Some(entries))
        .send()
        .await
    {
        Ok(out) => {
            for f in out.failed {
                if let Some(done) = waiting.remove(&f.id) {
                    let _ = done.send(Err(QueueError::Broker(format!(
                        "SQS DeleteMessageBatch: {} {}",
                        f.code,
                        f.message.as_deref().unwrap_or("")
                    ))));
                }
            }
            for ok in out.successful {
                if let Some(done) = waiting.remove(&ok.id) {
                    let _ = done.send(Ok(()));
                }
            }
            for (_, done) in waiting {
                let _ = done.send(Err(QueueError::Broker(
                    "SQS DeleteMessageBatch did not answer for this message".into(),
                )));
            }
        }
        Err(e) => {
            let err = broker("DeleteMessageBatch", e);
            let text = err.to_string();
            for (_, done) in waiting {
                let _ = done.send(Err(QueueError::Broker(text.clone())));
            }
        }
    }
}
