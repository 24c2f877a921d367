//! Runs one bulk send. A dispatcher claims items in batches, `devices_limit` device tasks send them
//! through the provider, and a recorder writes their outcomes in group commits, publishing each
//! batch of events only after it is committed.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Engine, RetryPolicy};
use crate::protocol::{ItemStatus, JobId};
use crate::server::hub::EventBatch;
use crate::server::providers::{OutgoingMessage, SendError};
use crate::server::store::{
    ClaimedJob, Control, ItemOutcome, ItemToSend, JobEnd, StoreError, TenantId,
};

/// Items claimed per dispatcher round trip; bounds how many sit in `sending` at once.
const CLAIM_BATCH: u32 = 256;

/// Why a runner stops early; `Run` while it should go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stop {
    Run,
    Cancel,
    Pause,
    /// Another runner holds the job now: write nothing more.
    LeaseLost,
}

/// What a device tells the recorder.
enum Report {
    Outcome(ItemOutcome),
    /// The device did not attempt this item (the job is stopping): it goes back to `pending`.
    Released(u64),
}

/// Raises the stop reason; a lost lease overrides everything, otherwise the first reason stays.
fn raise(stop: &watch::Sender<Stop>, reason: Stop) {
    stop.send_if_modified(|current| {
        let change = *current == Stop::Run || (reason == Stop::LeaseLost && *current != reason);
        if change {
            *current = reason;
        }
        change
    });
}

#[tracing::instrument(skip_all, fields(job_id = %claimed.job.id))]
pub(super) async fn run(engine: Arc<Engine>, claimed: ClaimedJob) {
    let job_id = claimed.job.id;
    let tenant_id = claimed.tenant_id;
    let owner = engine.instance_id.clone();
    let message: Arc<str> = claimed.job.message.clone().unwrap_or_default().into();
    let devices = claimed.job.devices_limit.clamp(1, 50);
    let (stop_tx, stop_rx) = watch::channel(Stop::Run);

    let heartbeat = tokio::spawn(heartbeat(engine.clone(), job_id, stop_tx.clone()));
    let (item_tx, item_rx) = async_channel::bounded::<ItemToSend>(devices as usize * 2);
    let (report_tx, report_rx) =
        mpsc::channel::<Report>(engine.settings.commit_max_rows.max(1) * 2);
    let recorder = tokio::spawn(record(
        engine.clone(),
        job_id,
        tenant_id,
        report_rx,
        stop_tx.clone(),
    ));
    let mut device_tasks = JoinSet::new();
    for device_id in 1..=devices {
        device_tasks.spawn(device(
            engine.clone(),
            device_id,
            job_id,
            message.clone(),
            item_rx.clone(),
            report_tx.clone(),
            stop_rx.clone(),
        ));
    }
    drop(item_rx);

    dispatch(&engine, job_id, &item_tx, &report_tx, &stop_tx).await;
    // Devices drain what is queued (releasing it if the job is stopping), then exit.
    item_tx.close();
    while device_tasks.join_next().await.is_some() {}
    drop(report_tx);
    if let Err(error) = recorder.await {
        tracing::error!(%error, "the recorder stopped unexpectedly");
    }
    heartbeat.abort();

    let end = match *stop_rx.borrow() {
        Stop::Run => JobEnd::Completed {
            parallel_workers: devices,
        },
        Stop::Cancel => JobEnd::Cancelled {
            message: "Cancelled on request".into(),
        },
        Stop::Pause => JobEnd::Paused {
            message: "Paused on request".into(),
        },
        Stop::LeaseLost => {
            tracing::warn!("lost the lease; the job's new runner carries on");
            return;
        }
    };
    match engine.store.finish_job(job_id, &owner, end).await {
        Ok(event) => engine.hub.publish(EventBatch {
            job_id,
            tenant_id,
            events: vec![event],
        }),
        // Once the lease expires another runner claims the job, finds every item done and ends it.
        Err(error) => tracing::error!(%error, "could not record the end of the job"),
    }
}

/// Claims pending items in batches and queues them for the devices until none is left or the job stops.
async fn dispatch(
    engine: &Engine,
    job_id: JobId,
    items: &async_channel::Sender<ItemToSend>,
    reports: &mpsc::Sender<Report>,
    stop_tx: &watch::Sender<Stop>,
) {
    let mut stop = stop_tx.subscribe();
    let mut store_errors = 0_u32;
    loop {
        if *stop.borrow() != Stop::Run {
            return;
        }
        let batch = match engine
            .store
            .claim_items(job_id, &engine.instance_id, CLAIM_BATCH)
            .await
        {
            Ok(batch) => batch,
            Err(StoreError::LeaseLost(_)) => {
                raise(stop_tx, Stop::LeaseLost);
                return;
            }
            Err(error) => {
                store_errors += 1;
                tracing::warn!(%error, "could not claim items; retrying");
                tokio::time::sleep(store_backoff(store_errors)).await;
                continue;
            }
        };
        store_errors = 0;
        if batch.is_empty() {
            return;
        }
        let mut queue: VecDeque<ItemToSend> = batch.into();
        while let Some(item) = queue.front().cloned() {
            tokio::select! {
                queued = items.send(item) => {
                    if queued.is_err() {
                        break;
                    }
                    queue.pop_front();
                }
                _ = stop.changed() => break,
            }
        }
        // Whatever was claimed but not handed to a device goes back to `pending`.
        for item in queue {
            if reports.send(Report::Released(item.idx)).await.is_err() {
                return;
            }
        }
    }
}

fn store_backoff(errors: u32) -> Duration {
    Duration::from_millis((50_u64 << errors.min(6)).min(2_000))
}

/// Renews the lease and picks up cancel / pause requests, often enough to stop within a second.
async fn heartbeat(engine: Arc<Engine>, job_id: JobId, stop: watch::Sender<Stop>) {
    let every = (engine.lease() / 3).min(Duration::from_millis(500));
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let lease_until = chrono::Utc::now() + engine.lease();
        match engine
            .store
            .renew_lease(job_id, &engine.instance_id, lease_until)
            .await
        {
            Ok(Control::Run) => {}
            Ok(Control::Cancel) => raise(&stop, Stop::Cancel),
            Ok(Control::Pause) => raise(&stop, Stop::Pause),
            Err(StoreError::LeaseLost(_)) => {
                raise(&stop, Stop::LeaseLost);
                return;
            }
            Err(error) => tracing::warn!(%error, "could not renew the lease; retrying"),
        }
    }
}

/// One sender device: takes queued items one at a time and sends each through the provider.
async fn device(
    engine: Arc<Engine>,
    device_id: u32,
    job_id: JobId,
    message: Arc<str>,
    items: async_channel::Receiver<ItemToSend>,
    reports: mpsc::Sender<Report>,
    mut stop: watch::Receiver<Stop>,
) {
    let policy = RetryPolicy {
        max_attempts: engine.settings.max_attempts,
        base_delay: Duration::from_millis(engine.settings.retry_base_delay_ms),
        max_delay: Duration::from_millis(engine.settings.retry_max_delay_ms),
    };
    while let Ok(item) = items.recv().await {
        let report = if *stop.borrow() == Stop::Run {
            match send(
                &engine, &policy, device_id, job_id, &message, &item, &mut stop,
            )
            .await
            {
                Some(outcome) => Report::Outcome(outcome),
                None => Report::Released(item.idx),
            }
        } else {
            Report::Released(item.idx)
        };
        if reports.send(report).await.is_err() {
            // The recorder is gone (lease lost): nothing more can be recorded.
            return;
        }
    }
}

/// Sends one item, retrying transient errors; `None` if the job stopped before it got an outcome.
async fn send(
    engine: &Engine,
    policy: &RetryPolicy,
    device_id: u32,
    job_id: JobId,
    message: &str,
    item: &ItemToSend,
    stop: &mut watch::Receiver<Stop>,
) -> Option<ItemOutcome> {
    let outgoing = OutgoingMessage {
        job_id,
        device_id,
        to: &item.recipient,
        message,
        idempotency_key: &item.idempotency_key,
    };
    let mut attempts = item.attempts;
    let outcome = |status, attempts, error, provider_message_id| ItemOutcome {
        idx: item.idx,
        recipient: item.recipient.clone(),
        device_id,
        status,
        attempts,
        error,
        provider_message_id,
    };
    loop {
        attempts += 1;
        match engine.provider.send(&outgoing).await {
            Ok(receipt) => {
                return Some(outcome(
                    ItemStatus::Sent,
                    attempts,
                    None,
                    receipt.provider_message_id,
                ));
            }
            Err(SendError::Permanent { reason }) => {
                return Some(outcome(ItemStatus::Failed, attempts, Some(reason), None));
            }
            Err(SendError::Transient {
                reason,
                retry_after,
            }) => {
                if !policy.may_retry(attempts) {
                    let error = format!("{reason} (gave up after {attempts} attempts)");
                    return Some(outcome(ItemStatus::Failed, attempts, Some(error), None));
                }
                let wait = policy.delay(attempts, retry_after, rand::random());
                tracing::debug!(idx = item.idx, %reason, ?wait, "transient failure; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.changed() => {
                        if *stop.borrow() != Stop::Run {
                            return None;
                        }
                    }
                }
            }
        }
    }
}

/// Writes outcomes in group commits (up to `commit_max_rows`, or whatever arrived within
/// `commit_max_delay_ms`) and publishes each committed batch.
async fn record(
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
