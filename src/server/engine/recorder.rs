//! The recorder of a bulk send: outcomes written in group commits, each batch published once
//! committed.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::Engine;
use super::lease::{Stop, raise};
use crate::protocol::backoff::Backoff;
use crate::protocol::{ItemStatus, JobId};
use crate::server::live::hub::EventBatch;
use crate::server::store::{ItemOutcome, StoreError, TenantId};

/// What a device tells the recorder.
pub(super) enum Report {
    Outcome(ItemOutcome),
    /// The device did not attempt this item (the job is stopping): it goes back to `pending`.
    Released(u64),
}

/// How long to wait after `errors` store failures in a row.
pub(super) fn store_backoff(errors: u32) -> Duration {
    const STORE: Backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
    STORE.delay(errors)
}

/// Writes outcomes in group commits (up to `commit_max_rows`, or whatever arrived within
/// `commit_max_delay_ms`) and publishes each committed batch.
pub(super) async fn record(
    engine: Arc<Engine>,
    job_id: JobId,
    tenant_id: TenantId,
    mut reports: mpsc::Receiver<Report>,
    stop: watch::Sender<Stop>,
) {
    let max_rows = engine.settings.commit_max_rows.max(1);
    let max_delay = Duration::from_millis(engine.settings.commit_max_delay_ms);
    let owner = engine.instance_id.as_str();
    let mut buffer = Vec::with_capacity(max_rows);
    loop {
        buffer.clear();
        if reports.recv_many(&mut buffer, max_rows).await == 0 {
            return;
        }
        let deadline = Instant::now() + max_delay;
        while buffer.len() < max_rows {
            match tokio::time::timeout_at(deadline, reports.recv()).await {
                Ok(Some(report)) => buffer.push(report),
                Ok(None) | Err(_) => break,
            }
        }
        let mut outcomes = Vec::with_capacity(buffer.len());
        let mut released = Vec::new();
        for report in buffer.drain(..) {
            match report {
                Report::Outcome(outcome) => outcomes.push(outcome),
                Report::Released(idx) => released.push(idx),
            }
        }
        let mut failures = 0_u32;
        // Outcomes stay in memory until written: giving up on a store error would lose them.
        while !released.is_empty() {
            match engine.store.release_items(job_id, owner, &released).await {
                Ok(()) => released.clear(),
                Err(StoreError::LeaseLost(_)) => {
                    raise(&stop, Stop::LeaseLost);
                    return;
                }
                Err(error) => {
                    failures += 1;
                    tracing::warn!(%error, failures, "could not release items; retrying");
                    tokio::time::sleep(store_backoff(failures)).await;
                }
            }
        }
        while !outcomes.is_empty() {
            match engine.store.record_outcomes(job_id, owner, &outcomes).await {
                Ok(events) => {
                    for status in [ItemStatus::Sent, ItemStatus::Failed, ItemStatus::Unknown] {
                        let count = outcomes.iter().filter(|o| o.status == status).count();
                        crate::server::metrics::items(status, count as u64);
                    }
                    outcomes.clear();
                    engine.hub.publish(EventBatch {
                        job_id,
                        tenant_id,
                        events,
                    });
                }
                Err(StoreError::LeaseLost(_)) => {
                    raise(&stop, Stop::LeaseLost);
                    return;
                }
                Err(error) => {
                    failures += 1;
                    tracing::warn!(%error, failures, "could not record outcomes; retrying");
                    tokio::time::sleep(store_backoff(failures)).await;
                }
            }
        }
    }
}
