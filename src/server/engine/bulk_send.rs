//! Runs one bulk send. A dispatcher claims items in batches, `devices_limit` device tasks send them
//! through the provider, and a recorder writes their outcomes in group commits, publishing each
//! batch of events only after it is committed.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::handoff::Handoff;
use super::lease::{Stop, raise};
use super::recorder::{self, Report, store_backoff};
use super::{Engine, RetryPolicy};
use crate::protocol::failure::JobFault;
use crate::protocol::fault::SendFault;
use crate::protocol::lifecycle::Note;
use crate::protocol::{ItemStatus, JobId, JobStatus};
use crate::server::adapters::providers::{OutgoingMessage, SendError};
use crate::server::live::hub::EventBatch;
use crate::server::store::{ClaimedJob, ItemOutcome, ItemToSend, JobEnd, StoreError};

/// Items claimed per dispatcher round trip; with the next batch claimed at half, it bounds how
/// many sit in `sending` at once (about one and a half batches, plus the devices' queue).
const CLAIM_BATCH: u32 = 256;

/// Whether the provider is accepting messages, as the devices see it.
struct ProviderHealth {
    /// When the provider last answered with anything but a transient error.
    last_answer: Instant,
    last_error: Option<SendFault>,
}

impl ProviderHealth {
    fn answered(&mut self) {
        self.last_answer = Instant::now();
        self.last_error = None;
    }

    fn failed(&mut self, fault: &SendFault) {
        self.last_error = Some(fault.clone());
    }

    /// The last error, if the provider has been failing for longer than `limit`.
    fn down_for(&self, limit: Duration) -> Option<SendFault> {
        self.last_error
            .as_ref()
            .filter(|_| self.last_answer.elapsed() > limit)
            .cloned()
    }
}

fn running(stop: &watch::Receiver<Stop>) -> bool {
    *stop.borrow() == Stop::Run
}

#[tracing::instrument(skip_all, fields(job_id = %claimed.job.id))]
pub(super) async fn run(engine: Arc<Engine>, claimed: ClaimedJob) {
    let job_id = claimed.job.id;
    let tenant_id = claimed.tenant_id;
    let owner = engine.instance_id.clone();
    let message: Arc<str> = claimed.job.message.clone().unwrap_or_default().into();
    let devices = claimed.job.devices_limit.clamp(1, 50);
    let (stop_tx, stop_rx) = watch::channel(Stop::from(claimed.control));
    let health = Arc::new(Mutex::new(ProviderHealth {
        last_answer: Instant::now(),
        last_error: None,
    }));

    let heartbeat = tokio::spawn(heartbeat(
        engine.clone(),
        job_id,
        stop_tx.clone(),
        health.clone(),
    ));
    let (item_tx, item_rx) = async_channel::bounded::<ItemToSend>(devices as usize * 2);
    let (report_tx, report_rx) =
        mpsc::channel::<Report>(engine.settings.commit_max_rows.max(1) * 2);
    let recorder = tokio::spawn(recorder::record(
        engine.clone(),
        job_id,
        tenant_id,
        report_rx,
        stop_tx.clone(),
    ));
    let sender = Arc::new(Sender {
        engine: engine.clone(),
        job_id,
        message,
        policy: RetryPolicy {
            max_attempts: engine.settings.max_attempts,
            base_delay: Duration::from_millis(engine.settings.retry_base_delay_ms),
            max_delay: Duration::from_millis(engine.settings.retry_max_delay_ms),
        },
        health: health.clone(),
    });
    // Without de-duplication, an item is marked before its request leaves (see handoff.rs).
    let (handoff, handoff_writer) = if engine.provider.deduplicates() {
        (None, None)
    } else {
        let (handoff, writer) = Handoff::spawn(engine.clone(), job_id, stop_tx.clone());
        (Some(Arc::new(handoff)), Some(writer))
    };
    let mut device_tasks = JoinSet::new();
    for device_id in 1..=devices {
        device_tasks.spawn(device(
            sender.clone(),
            device_id,
            item_rx.clone(),
            report_tx.clone(),
            stop_rx.clone(),
            handoff.clone(),
        ));
    }
    drop((item_rx, handoff));

    dispatch(&engine, job_id, &item_tx, &report_tx, &stop_tx).await;
    // Devices drain what is queued (releasing it if the job is stopping), then exit.
    item_tx.close();
    while device_tasks.join_next().await.is_some() {}
    if let Some(writer) = handoff_writer {
        let _ = writer.await;
    }
    drop(report_tx);
    if let Err(error) = recorder.await {
        tracing::error!(%error, "the recorder stopped unexpectedly");
    }
    heartbeat.abort();

    let stop = stop_rx.borrow().clone();
    let end = match stop {
        Stop::Run => JobEnd::Completed {
            parallel_workers: devices,
            note: None,
        },
        Stop::ProviderDown(last) => JobEnd::failed(JobFault::ProviderDown {
            after_ms: engine.settings.provider_down_after_ms,
            last,
        }),
        Stop::Cancel => JobEnd::stopped(JobStatus::Cancelled, Note::CancelledOnRequest),
        Stop::Pause => JobEnd::stopped(JobStatus::Paused, Note::PausedOnRequest),
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

/// Claims pending items in batches and queues them for the devices until none is left or the job
/// stops. The next batch is claimed while half of the current one is still queued, so devices
/// never wait on a claim's write.
async fn dispatch(
    engine: &Engine,
    job_id: JobId,
    items: &async_channel::Sender<ItemToSend>,
    reports: &mpsc::Sender<Report>,
    stop_tx: &watch::Sender<Stop>,
) {
    let mut stop = stop_tx.subscribe();
    let mut store_errors = 0_u32;
    let mut queue: VecDeque<ItemToSend> = VecDeque::new();
    let mut exhausted = false;
    // After a failed claim, the next waits out its backoff even while devices still have work.
    let mut claim_at = Instant::now();
    while running(&stop) {
        if !exhausted && queue.len() <= CLAIM_BATCH as usize / 2 && Instant::now() >= claim_at {
            match engine
                .store
                .claim_items(job_id, &engine.instance_id, CLAIM_BATCH)
                .await
            {
                Ok(batch) => {
                    store_errors = 0;
                    exhausted = batch.is_empty();
                    queue.extend(batch);
                }
                Err(StoreError::LeaseLost(_)) => {
                    raise(stop_tx, Stop::LeaseLost);
                    return;
                }
                Err(error) => {
                    store_errors += 1;
                    tracing::warn!(%error, "could not claim items; retrying");
                    claim_at = Instant::now() + store_backoff(store_errors);
                }
            }
        }
        let Some(item) = queue.front().cloned() else {
            if exhausted {
                return;
            }
            // Nothing to hand out until the next claim may be tried.
            tokio::time::sleep_until(claim_at).await;
            continue;
        };
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

/// Renews the lease and picks up cancel / pause requests, and stops the job if the provider has
/// been down for too long.
async fn heartbeat(
    engine: Arc<Engine>,
    job_id: JobId,
    stop: watch::Sender<Stop>,
    health: Arc<Mutex<ProviderHealth>>,
) {
    let down_after = Duration::from_millis(engine.settings.provider_down_after_ms);
    super::lease::keep(engine, job_id, stop, move |stop| {
        if let Some(reason) = health.lock().expect("health lock").down_for(down_after) {
            raise(stop, Stop::ProviderDown(reason));
        }
    })
    .await
}

/// One sender device: takes queued items one at a time and sends each through the provider.
async fn device(
    sender: Arc<Sender>,
    device_id: u32,
    items: async_channel::Receiver<ItemToSend>,
    reports: mpsc::Sender<Report>,
    mut stop: watch::Receiver<Stop>,
    handoff: Option<Arc<Handoff>>,
) {
    while let Ok(item) = items.recv().await {
        let handed = match &handoff {
            Some(handoff) => running(&stop) && handoff.mark(item.idx).await,
            None => true,
        };
        let report = if handed && running(&stop) {
            match sender.send(device_id, &item, &mut stop).await {
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

/// What every device of one run shares.
struct Sender {
    engine: Arc<Engine>,
    job_id: JobId,
    message: Arc<str>,
    policy: RetryPolicy,
    health: Arc<Mutex<ProviderHealth>>,
}

impl Sender {
    /// Sends one item, retrying transient errors; `None` if the job stopped before it got an outcome.
    async fn send(
        &self,
        device_id: u32,
        item: &ItemToSend,
        stop: &mut watch::Receiver<Stop>,
    ) -> Option<ItemOutcome> {
        let Sender {
            engine,
            job_id,
            message,
            policy,
            health,
        } = self;
        let outgoing = OutgoingMessage {
            job_id: *job_id,
            device_id,
            to: &item.recipient,
            message,
            idempotency_key: &item.idempotency_key,
        };
        // Attempts count per run: a retried or rescued item gets a fresh allowance, and the item
        // keeps the total.
        let mut attempts = 0;
        let mut attempt_errors = Vec::new();
        let outcome =
            |status, attempts: u32, fault: Option<SendFault>, attempt_errors, id| ItemOutcome {
                idx: item.idx,
                recipient: item.recipient.clone(),
                device_id,
                status,
                attempts: item.attempts + attempts,
                error: fault.as_ref().map(SendFault::english),
                fault,
                attempt_errors,
                provider_message_id: id,
            };
        loop {
            attempts += 1;
            let result = engine.provider.send(&outgoing).await;
            match &result {
                Err(SendError::Transient { fault, .. }) => {
                    health.lock().expect("health lock").failed(fault)
                }
                _ => health.lock().expect("health lock").answered(),
            }
            match result {
                Ok(receipt) => {
                    let id = receipt.provider_message_id;
                    return Some(outcome(
                        ItemStatus::Sent,
                        attempts,
                        None,
                        attempt_errors,
                        id,
                    ));
                }
                Err(SendError::Permanent { fault }) => {
                    attempt_errors.push(fault.english());
                    return Some(outcome(
                        ItemStatus::Failed,
                        attempts,
                        Some(fault),
                        attempt_errors,
                        None,
                    ));
                }
                Err(SendError::Transient { fault, retry_after }) => {
                    attempt_errors.push(fault.english());
                    if !policy.may_retry(attempts) {
                        let fault = SendFault::GaveUp {
                            attempts,
                            last: Box::new(fault),
                        };
                        return Some(outcome(
                            ItemStatus::Failed,
                            attempts,
                            Some(fault),
                            attempt_errors,
                            None,
                        ));
                    }
                    let wait = policy.delay(attempts, retry_after, rand::random());
                    tracing::debug!(idx = item.idx, ?fault, ?wait, "transient failure; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = stop.changed() => {}
                    }
                    if !running(stop) {
                        // Not sent (as far as anyone knows): back to pending with the same key.
                        return None;
                    }
                }
            }
        }
    }
}
