//! For providers that cannot de-duplicate: before a device hands an item's request to the
//! provider, the item is marked `handed` in the database. Only marked items may have reached the
//! provider, so only they become `unknown` if the runner dies; items that were merely claimed go
//! back to `pending`. Marks are written in group commits: whatever devices asked for while the
//! previous write ran goes in the next one, so the cost is one short write per batch.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::Engine;
use super::lease::{Stop, raise};
use super::recorder::store_backoff;
use crate::protocol::JobId;
use crate::server::store::StoreError;

type Request = (u64, oneshot::Sender<bool>);

/// Marks items as handed to the provider, for the devices of one run.
pub(super) struct Handoff {
    requests: mpsc::Sender<Request>,
}

impl Handoff {
    /// Starts the writer for one run; it ends when every `Handoff` is dropped.
    pub(super) fn spawn(
        engine: Arc<Engine>,
        job_id: JobId,
        stop: watch::Sender<Stop>,
    ) -> (Handoff, JoinHandle<()>) {
        let (requests, pending) = mpsc::channel(engine.settings.commit_max_rows.max(1));
        let writer = tokio::spawn(write(engine, job_id, pending, stop));
        (Handoff { requests }, writer)
    }

    /// Waits until `idx` is recorded as handed; false if it cannot be (the job lost its lease),
    /// in which case the item must not be sent.
    pub(super) async fn mark(&self, idx: u64) -> bool {
        let (done, answer) = oneshot::channel();
        if self.requests.send((idx, done)).await.is_err() {
            return false;
        }
        answer.await.unwrap_or(false)
    }
}

async fn write(
    engine: Arc<Engine>,
    job_id: JobId,
    mut pending: mpsc::Receiver<Request>,
    stop: watch::Sender<Stop>,
) {
    let max_rows = engine.settings.commit_max_rows.max(1);
    let owner = engine.instance_id.as_str();
    let mut batch = Vec::with_capacity(max_rows);
    while pending.recv_many(&mut batch, max_rows).await > 0 {
        let idxs: Vec<u64> = batch.iter().map(|(idx, _)| *idx).collect();
        let mut failures = 0_u32;
        let written = loop {
            match engine.store.mark_handed(job_id, owner, &idxs).await {
                Ok(()) => break true,
                Err(StoreError::LeaseLost(_)) => {
                    raise(&stop, Stop::LeaseLost);
                    break false;
                }
                Err(error) => {
                    failures += 1;
                    tracing::warn!(%error, failures, "could not mark items as handed; retrying");
                    tokio::time::sleep(store_backoff(failures)).await;
                }
            }
        };
        for (_, done) in batch.drain(..) {
            let _ = done.send(written);
        }
    }
}
