//! Runs one bulk send. A dispatcher claims items in batches, `devices_limit` device tasks send them
//! through the provider, and a recorder writes their outcomes in group commits, publishing each
//! batch of events only after it is committed.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::handoff::Handoff;
use super::lease::{Stop, raise};
use super::recorder::{self, Report, store_backoff};
use super::{Engine, Pace, RetryPolicy};
use crate::protocol::failure::JobFault;
use crate::protocol::fault::SendFault;
use crate::protocol::lifecycle::Note;
use crate::protocol::senders::SenderHealth;
use crate::protocol::{ItemStatus, JobId, JobStatus};
use crate::server::adapters::providers::{MessagingProvider, OutgoingMessage, SendError};
use crate::server::live::hub::EventBatch;
use crate::server::services::senders::provider_for;
use crate::server::store::{ClaimedJob, HealthSource, ItemOutcome, ItemToSend, JobEnd, StoreError};

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

/// Transient failures in a row after which a sender is `degraded`.
const DEGRADED_AFTER: u32 = 3;
/// Transient failures in a row after which a sender is `down` (at most the attempts an item
/// gets, so a dead sender's first item goes on to another sender instead of failing): its items
/// go to the job's other senders, and it only tries one now and then until one goes through.
const DOWN_AFTER: u32 = 5;

/// Times one item is handed on from a down sender to the others before a down sender tries it
/// like any other (and may give up on it): a bound, so an item no sender can send still ends.
/// A down sender takes one item now and then, so an item meets it this often only by bad luck.
const MAX_HAND_ON: u32 = 16;

/// One device's way out: the provider it sends through and, for a tenant's sender, which one.
struct Lane {
    device_id: u32,
    /// Items it holds now (it sends one at a time), for the lane's `in_flight`.
    in_flight: Arc<AtomicU32>,
    /// Transient failures in a row that make its sender `down`.
    down_after: u32,
    provider: Arc<dyn MessagingProvider>,
    sender: Option<LaneSender>,
}

/// A tenant's sender as one job's device uses it.
struct LaneSender {
    id: uuid::Uuid,
    pace: Arc<Pace>,
    health: Mutex<LaneHealth>,
}

#[derive(Default)]
struct LaneHealth {
    streak: u32,
    state: Option<SenderHealth>,
}

impl Lane {
    fn is_down(&self) -> bool {
        self.sender.as_ref().is_some_and(|sender| {
            sender.health.lock().expect("health lock").state == Some(SenderHealth::Down)
        })
    }

    /// Counts a result: the health it moves the sender to, if it moves.
    fn observe(&self, fault: Option<&SendFault>) -> Option<SenderHealth> {
        let sender = self.sender.as_ref()?;
        let mut health = sender.health.lock().expect("health lock");
        let next = match fault {
            None => {
                health.streak = 0;
                SenderHealth::Ok
            }
            Some(_) => {
                health.streak += 1;
                match health.streak {
                    n if n >= self.down_after => SenderHealth::Down,
                    n if n >= DEGRADED_AFTER => SenderHealth::Degraded,
                    _ => return None,
                }
            }
        };
        (health.state != Some(next)).then(|| {
            health.state = Some(next);
            next
        })
    }
}

/// The job's devices: one per sender it spreads over (device k is its k-th sender), or
/// `devices_limit` of the server-wide provider. `Err` when none of its senders can send.
async fn lanes(engine: &Arc<Engine>, claimed: &ClaimedJob) -> Result<Vec<Lane>, SendFault> {
    let job = &claimed.job;
    if !job.through_senders() {
        return Ok((1..=job.devices_limit.clamp(1, 50))
            .map(|device_id| Lane {
                device_id,
                in_flight: Arc::default(),
                down_after: DOWN_AFTER,
                provider: engine.provider.clone(),
                sender: None,
            })
            .collect());
    }
    let records = engine
        .store
        .senders_by_id(&job.sender_ids())
        .await
        .map_err(|error| {
            tracing::warn!(%error, "could not read the job's senders");
            SendFault::ProviderRequestFailed
        })?;
    let kit = &engine.senders;
    let mut lanes = Vec::new();
    let mut unusable = None;
    for (place, record) in records.iter().enumerate() {
        // Deleted senders lose their secrets; turned-off ones get no more work.
        let gone = record.sealed_secrets.is_none() && !record.secret_names.is_empty();
        let provider = match provider_for(record, kit) {
            Ok(provider) if record.active && !gone => provider,
            Ok(_) => {
                unusable.get_or_insert_with(|| record.name.clone());
                continue;
            }
            Err(error) => {
                tracing::error!(sender = %record.id, %error, "a sender's secrets do not open");
                unusable.get_or_insert_with(|| record.name.clone());
                continue;
            }
        };
        // What its gateway last said, until the next word from it.
        engine
            .hub
            .note_sender_health(record.id, record.health, record.health_source);
        lanes.push(Lane {
            device_id: place as u32 + 1,
            in_flight: Arc::default(),
            down_after: DOWN_AFTER.min(engine.settings.max_attempts.max(1)),
            provider,
            sender: Some(LaneSender {
                id: record.id,
                pace: engine.pace(record.id, record.rate_per_minute),
                health: Mutex::new(LaneHealth::default()),
            }),
        });
    }
    if lanes.is_empty() {
        return Err(SendFault::SenderUnusable {
            name: unusable.unwrap_or_default(),
        });
    }
    Ok(lanes)
}

#[tracing::instrument(skip_all, fields(job_id = %claimed.job.id))]
pub(super) async fn run(engine: Arc<Engine>, claimed: ClaimedJob) {
    let job_id = claimed.job.id;
    let tenant_id = claimed.tenant_id;
    let owner = engine.instance_id.clone();
    let message: Arc<str> = claimed.job.message.clone().unwrap_or_default().into();
    let lanes = match lanes(&engine, &claimed).await {
        Ok(lanes) => lanes,
        Err(last) => {
            // Its items stay pending: the job can be resumed once a sender can send again.
            let end = JobEnd::failed(JobFault::ProviderDown { after_ms: 0, last });
            finish(&engine, job_id, tenant_id, &owner, end).await;
            return;
        }
    };
    let devices = lanes.len() as u32;
    let deduplicates = lanes.iter().all(|lane| lane.provider.deduplicates());
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
    // Devices operators paused take no new items; the others take their share.
    let paused = match engine.store.device_tick(job_id, &owner, &[]).await {
        Ok(paused) => paused,
        Err(error) => {
            tracing::warn!(%error, "could not read the paused devices; all send");
            Vec::new()
        }
    };
    let (paused_tx, paused_rx) = watch::channel(paused);
    let in_flight: Vec<(u32, Arc<AtomicU32>)> = lanes
        .iter()
        .map(|lane| (lane.device_id, lane.in_flight.clone()))
        .collect();
    // Stopped between ticks, never aborted: an aborted write could leave its transaction open.
    let (watch_done, watch_stop) = tokio::sync::oneshot::channel::<()>();
    let device_watch = tokio::spawn(watch_devices(
        engine.clone(),
        job_id,
        in_flight,
        paused_tx,
        watch_stop,
    ));
    let (item_tx, item_rx) = async_channel::bounded::<ItemToSend>(devices as usize * 2);
    let outstanding = Arc::new(Outstanding {
        items: item_tx.clone(),
        live: AtomicUsize::new(0),
        dispatched: AtomicBool::new(false),
        closed: tokio::sync::Notify::new(),
    });
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
    let (handoff, handoff_writer) = if deduplicates {
        (None, None)
    } else {
        let (handoff, writer) = Handoff::spawn(engine.clone(), job_id, stop_tx.clone());
        (Some(Arc::new(handoff)), Some(writer))
    };
    let mut device_tasks = JoinSet::new();
    let several = lanes.len() > 1;
    for lane in lanes {
        device_tasks.spawn(device(
            sender.clone(),
            Arc::new(lane),
            Queue {
                items: item_rx.clone(),
                // A device whose sender is down hands its item to the others through this.
                requeue: several.then(|| item_tx.clone()),
                outstanding: outstanding.clone(),
            },
            report_tx.clone(),
            stop_rx.clone(),
            paused_rx.clone(),
            handoff.clone(),
        ));
    }
    drop((item_rx, handoff));

    dispatch(&engine, job_id, &outstanding, &report_tx, &stop_tx).await;
    // Devices drain what is queued (releasing it if the job is stopping), then exit; while the
    // job runs, only once every item has an outcome (a down sender may still hand one on).
    if running(&stop_rx) {
        outstanding.dispatched();
    } else {
        outstanding.close();
    }
    drop(item_tx);
    while device_tasks.join_next().await.is_some() {}
    if let Some(writer) = handoff_writer {
        let _ = writer.await;
    }
    drop(report_tx);
    if let Err(error) = recorder.await {
        tracing::error!(%error, "the recorder stopped unexpectedly");
    }
    heartbeat.abort();
    drop(watch_done);
    let _ = device_watch.await;

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
    finish(&engine, job_id, tenant_id, &owner, end).await;
}

async fn finish(
    engine: &Engine,
    job_id: JobId,
    tenant_id: crate::server::store::TenantId,
    owner: &str,
    end: JobEnd,
) {
    match engine.store.finish_job(job_id, owner, end).await {
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
    outstanding: &Outstanding,
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
            queued = outstanding.hand_out(item) => {
                if !queued {
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

/// How often a runner records what its devices hold and hears which ones operators paused.
const DEVICE_TICK: Duration = Duration::from_millis(500);

/// Records what each device holds (when it changed) and passes on which devices are paused.
async fn watch_devices(
    engine: Arc<Engine>,
    job_id: JobId,
    in_flight: Vec<(u32, Arc<AtomicU32>)>,
    paused: watch::Sender<Vec<u32>>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    // Nothing counts as written yet: the first tick writes every device, so a runner that took
    // the job over replaces what its old runner last recorded.
    let mut written: Vec<u32> = vec![u32::MAX; in_flight.len()];
    let mut ticks = tokio::time::interval(DEVICE_TICK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // Only the wait is cut short when the run ends; a tick's writes always finish.
        tokio::select! {
            _ = ticks.tick() => {}
            _ = &mut stop => return,
        }
        let now: Vec<u32> = in_flight
            .iter()
            .map(|(_, n)| n.load(Ordering::Relaxed))
            .collect();
        let changed: Vec<(u32, u32)> = in_flight
            .iter()
            .zip(&now)
            .zip(&written)
            .filter(|((_, now), written)| now != written)
            .map(|(((device, _), now), _)| (*device, *now))
            .collect();
        match engine
            .store
            .device_tick(job_id, &engine.instance_id, &changed)
            .await
        {
            Ok(devices) => {
                written = now;
                paused.send_if_modified(|current| {
                    let change = *current != devices;
                    if change {
                        *current = devices;
                    }
                    change
                });
            }
            Err(error) => tracing::warn!(%error, "could not record the devices; retrying"),
        }
    }
}

/// Waits while an operator has `device` paused, until the job stops or has nothing left.
async fn while_paused(
    device: u32,
    paused: &mut watch::Receiver<Vec<u32>>,
    stop: &mut watch::Receiver<Stop>,
    outstanding: &Outstanding,
) {
    while paused.borrow_and_update().contains(&device)
        && running(stop)
        && !outstanding.items.is_closed()
    {
        tokio::select! {
            _ = paused.changed() => {}
            _ = stop.changed() => {}
            _ = outstanding.pause(DEVICE_TICK) => {}
        }
    }
}

/// The items handed to devices that have no outcome yet; the devices' queue closes when the
/// dispatcher is done and none is left.
struct Outstanding {
    items: async_channel::Sender<ItemToSend>,
    live: AtomicUsize,
    dispatched: AtomicBool,
    /// Wakes devices waiting to probe a down sender when there is nothing left to probe with.
    closed: tokio::sync::Notify,
}

impl Outstanding {
    /// Queues an item for the devices; `false` once the queue is closed.
    async fn hand_out(&self, item: ItemToSend) -> bool {
        self.live.fetch_add(1, Ordering::SeqCst);
        let queued = self.items.send(item).await.is_ok();
        if !queued {
            self.done_with_one();
        }
        queued
    }

    /// The dispatcher has handed out every item.
    fn dispatched(&self) {
        self.dispatched.store(true, Ordering::SeqCst);
        if self.live.load(Ordering::SeqCst) == 0 {
            self.close();
        }
    }

    fn close(&self) {
        self.items.close();
        self.closed.notify_waiters();
    }

    /// Waits `wait`, or less if the queue closes meanwhile.
    async fn pause(&self, wait: Duration) {
        let closed = self.closed.notified();
        tokio::pin!(closed);
        closed.as_mut().enable();
        if self.items.is_closed() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = closed => {}
        }
    }

    /// One item got its outcome (or went back to pending).
    fn done_with_one(&self) {
        let left = self.live.fetch_sub(1, Ordering::SeqCst) - 1;
        if left == 0 && self.dispatched.load(Ordering::SeqCst) {
            self.close();
        }
    }
}

/// Where a device takes items from, and gives back those its sender could not send.
struct Queue {
    items: async_channel::Receiver<ItemToSend>,
    /// With several devices: where to hand items on.
    requeue: Option<async_channel::Sender<ItemToSend>>,
    outstanding: Arc<Outstanding>,
}

/// What became of one item on one device.
enum Sent {
    Outcome(ItemOutcome),
    /// The job stopped first: back to pending.
    Released,
    /// The device's sender is down: another device sends it.
    Requeue(ItemToSend),
}

/// One sender device: takes queued items one at a time and sends each through its lane.
async fn device(
    sender: Arc<Sender>,
    lane: Arc<Lane>,
    queue: Queue,
    reports: mpsc::Sender<Report>,
    mut stop: watch::Receiver<Stop>,
    mut paused: watch::Receiver<Vec<u32>>,
    handoff: Option<Arc<Handoff>>,
) {
    loop {
        while_paused(lane.device_id, &mut paused, &mut stop, &queue.outstanding).await;
        let Ok(item) = queue.items.recv().await else {
            break;
        };
        lane.in_flight.store(1, Ordering::Relaxed);
        let handed = match &handoff {
            Some(handoff) => running(&stop) && handoff.mark(item.idx).await,
            None => true,
        };
        let idx = item.idx;
        let mut sent = if handed && running(&stop) {
            let may_hand_on = queue.requeue.is_some() && item.handed_on < MAX_HAND_ON;
            sender.send(&lane, item, may_hand_on, &mut stop).await
        } else {
            Sent::Released
        };
        let report = loop {
            let item = match sent {
                Sent::Outcome(outcome) => break Some(Report::Outcome(outcome)),
                Sent::Released => break Some(Report::Released(idx)),
                Sent::Requeue(item) => item,
            };
            let Some(requeue) = &queue.requeue else {
                break Some(Report::Released(idx));
            };
            let handed_over = tokio::select! {
                result = requeue.send(item) => result,
                _ = stop.changed() => break Some(Report::Released(idx)),
            };
            match handed_over {
                Ok(()) => {
                    // A down sender only tries again after a while (its next item: a probe).
                    tokio::select! {
                        _ = queue.outstanding.pause(sender.policy.max_delay) => {}
                        _ = stop.changed() => {}
                    }
                    break None;
                }
                // Every item has been handed out: nobody else will take it, so this device
                // keeps trying it (and gives up as any single sender would).
                Err(closed) => {
                    sent = sender
                        .send(&lane, closed.into_inner(), false, &mut stop)
                        .await;
                }
            }
        };
        lane.in_flight.store(0, Ordering::Relaxed);
        let Some(report) = report else { continue };
        let delivered = reports.send(report).await.is_ok();
        queue.outstanding.done_with_one();
        if !delivered {
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
    /// Records a sender's new health, off the send path.
    fn report_health(&self, lane: &Lane, health: SenderHealth, fault: Option<&SendFault>) {
        let Some(sender) = &lane.sender else { return };
        let (engine, id, fault) = (self.engine.clone(), sender.id, fault.cloned());
        tokio::spawn(async move {
            engine
                .record_sender_health(id, health, fault.as_ref(), HealthSource::Sends)
                .await;
        });
    }

    /// Sends one item through `lane`, retrying transient errors.
    async fn send(
        &self,
        lane: &Lane,
        mut item: ItemToSend,
        may_requeue: bool,
        stop: &mut watch::Receiver<Stop>,
    ) -> Sent {
        let device_id = lane.device_id;
        let sender_id = lane.sender.as_ref().map(|sender| sender.id);
        let Sender {
            job_id,
            message,
            policy,
            health,
            ..
        } = self;
        let (recipient, key) = (item.recipient.clone(), item.idempotency_key.clone());
        let outgoing = OutgoingMessage {
            job_id: *job_id,
            device_id,
            to: &recipient,
            message,
            idempotency_key: &key,
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
                sender_id,
            };
        loop {
            if let Some(sender) = &lane.sender {
                // The sender's pace, shared with every job of this process sending through it.
                tokio::select! {
                    _ = sender.pace.until_ready() => {}
                    _ = stop.changed() => {}
                }
                if !running(stop) {
                    return Sent::Released;
                }
            }
            // Its gateway says it cannot send: another device takes the item, untried.
            if may_requeue
                && let Some(sender) = &lane.sender
                && self.engine.hub.reported_down(sender.id)
            {
                item.attempts += attempts;
                item.handed_on += 1;
                return Sent::Requeue(item);
            }
            attempts += 1;
            let result = lane.provider.send(&outgoing).await;
            match &result {
                Err(SendError::Transient { fault, .. }) => {
                    health.lock().expect("health lock").failed(fault)
                }
                _ => health.lock().expect("health lock").answered(),
            }
            let transient = match &result {
                Err(SendError::Transient { fault, .. }) => Some(fault),
                _ => None,
            };
            if let Some(moved) = lane.observe(transient) {
                self.report_health(lane, moved, transient);
            }
            match result {
                Ok(receipt) => {
                    let id = receipt.provider_message_id;
                    return Sent::Outcome(outcome(
                        ItemStatus::Sent,
                        attempts,
                        None,
                        attempt_errors,
                        id,
                    ));
                }
                Err(SendError::Permanent { fault }) => {
                    attempt_errors.push(fault.english());
                    return Sent::Outcome(outcome(
                        ItemStatus::Failed,
                        attempts,
                        Some(fault),
                        attempt_errors,
                        None,
                    ));
                }
                Err(SendError::Transient { fault, retry_after }) => {
                    attempt_errors.push(fault.english());
                    if may_requeue && lane.is_down() {
                        item.attempts += attempts;
                        item.handed_on += 1;
                        return Sent::Requeue(item);
                    }
                    if !policy.may_retry(attempts) {
                        let fault = SendFault::GaveUp {
                            attempts,
                            last: Box::new(fault),
                        };
                        return Sent::Outcome(outcome(
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
                        return Sent::Released;
                    }
                }
            }
        }
    }
}
