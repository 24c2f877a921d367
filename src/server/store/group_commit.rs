//! Group commit of webhooks' receipts: concurrent webhook calls hand their receipts to one
//! writer, which stores whatever has gathered in one transaction, and each call is answered once
//! the transaction holding its receipts has committed. A commit costs about the same for one
//! webhook as for a hundred, so under load the webhook rate is no longer one commit per call.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{Mutex, Notify, mpsc, oneshot};
use uuid::Uuid;

use super::{IncomingReceipt, Store, StoreResult};

/// At most this many receipts in one group, so one transaction never holds the write turn long.
const MAX_GROUP: usize = 5_000;
/// Webhook calls waiting for the writer before new ones wait to be queued.
const QUEUE: usize = 1_024;

/// One webhook call's receipts, and where to answer: committed, or its receipts handed back.
struct Pending {
    sender: Uuid,
    receipts: Vec<IncomingReceipt>,
    committed: oneshot::Sender<Result<(), Vec<IncomingReceipt>>>,
}

/// Hands receipts to the group-commit writer (cheap to clone).
#[derive(Clone)]
pub struct ReceiptWriter {
    store: Arc<dyn Store>,
    queue: mpsc::Sender<Pending>,
    groups: Arc<AtomicU64>,
}

impl ReceiptWriter {
    /// Starts `writers` writers over `store` (one where writes take turns anyway, as on
    /// SQLite; more let one group gather while another commits); `stored` is woken after each
    /// commit (the applier).
    pub fn start(store: Arc<dyn Store>, stored: Arc<Notify>, writers: usize) -> ReceiptWriter {
        let (queue, waiting) = mpsc::channel(QUEUE);
        let waiting = Arc::new(Mutex::new(waiting));
        let groups = Arc::new(AtomicU64::new(0));
        for _ in 0..writers.max(1) {
            tokio::spawn(write_groups(
                store.clone(),
                waiting.clone(),
                stored.clone(),
                groups.clone(),
            ));
        }
        ReceiptWriter {
            store,
            queue,
            groups,
        }
    }

    /// Transactions the writer has tried so far, for tests and benchmarks.
    pub fn groups(&self) -> u64 {
        self.groups.load(Ordering::Relaxed)
    }

    /// Stores `receipts` durably, in one transaction with whatever other calls wait to store;
    /// returns once that transaction has committed.
    pub async fn record(&self, sender: Uuid, receipts: Vec<IncomingReceipt>) -> StoreResult<()> {
        if receipts.is_empty() {
            return Ok(());
        }
        let (committed, answer) = oneshot::channel();
        let pending = Pending {
            sender,
            receipts,
            committed,
        };
        let receipts = match self.queue.send(pending).await {
            Ok(()) => match answer.await {
                Ok(Ok(())) => return Ok(()),
                // The group failed: this call's receipts alone, so one bad batch cannot fail
                // the others and each call gets its own answer.
                Ok(Err(receipts)) => receipts,
                Err(_) => {
                    return Err(super::StoreError::Conflict(
                        "the receipts writer stopped before storing these receipts".into(),
                    ));
                }
            },
            Err(mpsc::error::SendError(pending)) => pending.receipts,
        };
        self.store.record_receipts(sender, &receipts).await
    }
}

/// A writer: waits for a call, takes every call already queued behind it, stores them all in
/// one transaction, answers each, and starts over.
async fn write_groups(
    store: Arc<dyn Store>,
    waiting: Arc<Mutex<mpsc::Receiver<Pending>>>,
    stored: Arc<Notify>,
    groups: Arc<AtomicU64>,
) {
    loop {
        // The queue is held only while gathering, so another writer gathers while this commits.
        let group = {
            let mut waiting = waiting.lock().await;
            let Some(first) = waiting.recv().await else {
                return;
            };
            let mut size = first.receipts.len();
            let mut group = vec![first];
            while size < MAX_GROUP {
                let Ok(next) = waiting.try_recv() else { break };
                size += next.receipts.len();
                group.push(next);
            }
            group
        };
        let batches: Vec<(Uuid, &[IncomingReceipt])> = group
            .iter()
            .map(|p| (p.sender, p.receipts.as_slice()))
            .collect();
        groups.fetch_add(1, Ordering::Relaxed);
        let result = store.record_receipt_batches(&batches).await;
        if let Err(error) = &result {
            tracing::warn!(%error, calls = group.len(), "could not store a group of receipts");
        } else {
            stored.notify_one();
        }
        for pending in group {
            let answer = match &result {
                Ok(()) => Ok(()),
                Err(_) => Err(pending.receipts),
            };
            let _ = pending.committed.send(answer);
        }
    }
}
