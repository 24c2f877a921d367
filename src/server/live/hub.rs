//! In-process fan-out of committed events. The hub is only a fast path: a subscriber that falls
//! behind (its channel lags) reads what it missed from the event log, so nothing is lost here.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::broadcast;

use crate::protocol::senders::{SenderHealth, SenderHealthView};
use crate::protocol::{InboundMessage, JobId};
use crate::server::store::{HealthSource, StoredEvent, TenantId};

/// One kind of per-tenant news (inbox messages, sender health), with a channel per tenant
/// created on first subscription.
struct TenantFeed<T> {
    capacity: usize,
    channels: Mutex<HashMap<TenantId, broadcast::Sender<Arc<T>>>>,
}

impl<T> TenantFeed<T> {
    fn new(capacity: usize) -> Self {
        TenantFeed {
            capacity,
            channels: Mutex::new(HashMap::new()),
        }
    }

    fn subscribe(&self, tenant: TenantId) -> broadcast::Receiver<Arc<T>> {
        let mut channels = self.channels.lock().expect("hub lock");
        channels
            .entry(tenant)
            .or_insert_with(|| broadcast::channel(self.capacity).0)
            .subscribe()
    }

    fn follows(&self, tenant: TenantId) -> bool {
        self.channels
            .lock()
            .expect("hub lock")
            .get(&tenant)
            .is_some_and(|sender| sender.receiver_count() > 0)
    }

    fn publish(&self, tenant: TenantId, news: T) {
        let mut channels = self.channels.lock().expect("hub lock");
        if let Some(sender) = channels.get(&tenant)
            && sender.send(Arc::new(news)).is_err()
        {
            channels.remove(&tenant);
        }
    }

    fn sweep(&self) {
        self.channels
            .lock()
            .expect("hub lock")
            .retain(|_, sender| sender.receiver_count() > 0);
    }
}

/// What a live connection authenticated with (by its hash): revoking it closes the connection.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Credential {
    Session(String),
    Token(String),
}

/// Events of one job committed together, in seq order.
#[derive(Debug)]
pub struct EventBatch {
    pub job_id: JobId,
    pub tenant_id: TenantId,
    pub events: Vec<StoredEvent>,
}

/// A batch shared by every subscriber.
pub type SharedBatch = Arc<EventBatch>;

/// Per-job and per-tenant broadcast channels, created on first subscription.
pub struct Hub {
    capacity: usize,
    jobs: Mutex<HashMap<JobId, JobChannel>>,
    tenants: Mutex<HashMap<TenantId, broadcast::Sender<SharedBatch>>>,
    inboxes: TenantFeed<InboundMessage>,
    senders: TenantFeed<SenderHealthView>,
    /// Senders whose gateway reports them down: devices hand their items to others.
    reported_down: Mutex<HashSet<uuid::Uuid>>,
    connections: Arc<AtomicUsize>,
    per_credential: Arc<Mutex<HashMap<Credential, usize>>>,
    revocations: broadcast::Sender<Credential>,
    /// Rung when a job ends (or pauses) here or on another instance: its hooks are due.
    ends: tokio::sync::Notify,
}

/// One of a credential's open live connections, counted until dropped.
pub struct CredentialSlot {
    counts: Arc<Mutex<HashMap<Credential, usize>>>,
    credential: Credential,
}

impl Drop for CredentialSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().expect("hub lock");
        if let Some(count) = counts.get_mut(&self.credential) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.credential);
            }
        }
    }
}

/// One job's channel, and the newest seq it has carried (or that a subscriber has already seen),
/// so events relayed from other instances are read from the database only once.
struct JobChannel {
    sender: broadcast::Sender<SharedBatch>,
    last_seq: u64,
}

/// Counts one open live connection for as long as it lives.
pub struct ConnectionGuard(Arc<AtomicUsize>);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Hub {
    /// A hub whose channels buffer `capacity` batches before slow subscribers lag.
    pub fn new(capacity: usize) -> Self {
        Hub {
            capacity: capacity.max(16),
            jobs: Mutex::new(HashMap::new()),
            tenants: Mutex::new(HashMap::new()),
            inboxes: TenantFeed::new(capacity.max(16)),
            senders: TenantFeed::new(capacity.max(16)),
            reported_down: Mutex::new(HashSet::new()),
            connections: Arc::new(AtomicUsize::new(0)),
            per_credential: Arc::new(Mutex::new(HashMap::new())),
            revocations: broadcast::channel(256).0,
            ends: tokio::sync::Notify::new(),
        }
    }

    /// Rings when a job's end is published, so outgoing webhooks are called at once.
    pub fn job_ends(&self) -> &tokio::sync::Notify {
        &self.ends
    }

    /// Tells this process's live connections that a session or token is no more.
    pub fn revoke(&self, credential: Credential) {
        let _ = self.revocations.send(credential);
    }

    /// Hears about revoked credentials from now on.
    pub fn subscribe_revocations(&self) -> broadcast::Receiver<Credential> {
        self.revocations.subscribe()
    }

    /// Registers an open live connection until the guard is dropped.
    pub fn connection_opened(&self) -> ConnectionGuard {
        self.connections.fetch_add(1, Ordering::Relaxed);
        ConnectionGuard(self.connections.clone())
    }

    /// Counts a live connection of `credential`, unless it already holds `most` of them.
    pub fn credential_slot(&self, credential: &Credential, most: usize) -> Option<CredentialSlot> {
        let mut counts = self.per_credential.lock().expect("hub lock");
        let count = counts.entry(credential.clone()).or_insert(0);
        if *count >= most {
            return None;
        }
        *count += 1;
        Some(CredentialSlot {
            counts: self.per_credential.clone(),
            credential: credential.clone(),
        })
    }

    /// Jobs with a live channel in this process (each holds a buffer of `capacity` batches).
    pub fn job_channels(&self) -> usize {
        self.jobs.lock().expect("hub lock").len()
    }

    /// Live connections open in this process.
    pub fn live_connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }

    /// Follows one job's events from now on.
    pub fn subscribe_job(&self, job: JobId) -> broadcast::Receiver<SharedBatch> {
        let mut jobs = self.jobs.lock().expect("hub lock");
        jobs.entry(job)
            .or_insert_with(|| JobChannel {
                sender: broadcast::channel(self.capacity).0,
                last_seq: 0,
            })
            .sender
            .subscribe()
    }

    /// Follows a tenant's new jobs (their `job_created` events) from now on.
    pub fn subscribe_tenant(&self, tenant: TenantId) -> broadcast::Receiver<SharedBatch> {
        let mut tenants = self.tenants.lock().expect("hub lock");
        tenants
            .entry(tenant)
            .or_insert_with(|| broadcast::channel(self.capacity).0)
            .subscribe()
    }

    /// Hands committed events to whoever follows them.
    pub fn publish(&self, batch: EventBatch) {
        if batch.events.is_empty() {
            return;
        }
        crate::server::metrics::events_published(batch.events.len());
        let created = batch.events.iter().any(|e| e.kind == "job_created");
        if batch.events.iter().any(|e| {
            matches!(
                e.kind.as_str(),
                "job_completed" | "job_failed" | "job_cancelled" | "job_paused"
            )
        }) {
            self.ends.notify_one();
        }
        let (job_id, tenant_id) = (batch.job_id, batch.tenant_id);
        let batch = Arc::new(batch);
        {
            let mut jobs = self.jobs.lock().expect("hub lock");
            if let Some(channel) = jobs.get_mut(&job_id) {
                let last = batch.events.last().map_or(0, |e| e.seq);
                channel.last_seq = channel.last_seq.max(last);
                if channel.sender.send(batch.clone()).is_err() {
                    jobs.remove(&job_id);
                }
            }
        }
        if created {
            let mut tenants = self.tenants.lock().expect("hub lock");
            if let Some(sender) = tenants.get(&tenant_id)
                && sender.send(batch).is_err()
            {
                tenants.remove(&tenant_id);
            }
        }
    }

    /// Follows a tenant's new inbox messages from now on. A message may arrive twice (from this
    /// instance and relayed from the database): subscribers keep the ids they have sent.
    pub fn subscribe_inbox(&self, tenant: TenantId) -> broadcast::Receiver<Arc<InboundMessage>> {
        self.inboxes.subscribe(tenant)
    }

    /// True if some connection here follows the tenant's inbox.
    pub fn follows_inbox(&self, tenant: TenantId) -> bool {
        self.inboxes.follows(tenant)
    }

    /// Hands a stored inbox message to the tenant's inbox followers here.
    pub fn publish_inbox(&self, tenant: TenantId, message: InboundMessage) {
        self.inboxes.publish(tenant, message);
    }

    /// Follows the health of a tenant's senders from now on.
    pub fn subscribe_senders(
        &self,
        tenant: TenantId,
    ) -> broadcast::Receiver<Arc<SenderHealthView>> {
        self.senders.subscribe(tenant)
    }

    /// A sender's new health: to the tenant's followers here, and to this instance's devices
    /// (a sender its gateway reports down gets no work until it reports it back).
    pub fn publish_sender_health(
        &self,
        tenant: TenantId,
        view: SenderHealthView,
        source: Option<HealthSource>,
    ) {
        self.note_sender_health(view.sender_id, view.health, source);
        self.senders.publish(tenant, view);
    }

    /// Remembers whether a sender's gateway reports it down.
    pub fn note_sender_health(
        &self,
        id: uuid::Uuid,
        health: SenderHealth,
        source: Option<HealthSource>,
    ) {
        let mut down = self.reported_down.lock().expect("hub lock");
        if health == SenderHealth::Down && source == Some(HealthSource::Provider) {
            down.insert(id);
        } else {
            down.remove(&id);
        }
    }

    /// True if the sender's gateway last reported it down.
    pub fn reported_down(&self, id: uuid::Uuid) -> bool {
        self.reported_down.lock().expect("hub lock").contains(&id)
    }

    /// Drops channels nobody listens to any more.
    pub fn sweep(&self) {
        self.inboxes.sweep();
        self.senders.sweep();
        self.jobs
            .lock()
            .expect("hub lock")
            .retain(|_, channel| channel.sender.receiver_count() > 0);
        self.tenants
            .lock()
            .expect("hub lock")
            .retain(|_, sender| sender.receiver_count() > 0);
    }

    /// Records that a job's only subscriber here starts after `seq` (its snapshot), so the bridge
    /// need not relay what came before. With other subscribers it does nothing: they may still be
    /// waiting for those events.
    pub fn note_snapshot(&self, job: JobId, seq: u64) {
        if let Some(channel) = self.jobs.lock().expect("hub lock").get_mut(&job)
            && channel.sender.receiver_count() == 1
        {
            channel.last_seq = channel.last_seq.max(seq);
        }
    }

    /// The newest seq published for a job someone here follows; `None` if nobody does.
    pub fn followed_seq(&self, job: JobId) -> Option<u64> {
        let jobs = self.jobs.lock().expect("hub lock");
        jobs.get(&job)
            .filter(|c| c.sender.receiver_count() > 0)
            .map(|c| c.last_seq)
    }

    /// Every job someone here follows, with the newest seq published for it.
    pub fn followed(&self) -> Vec<(JobId, u64)> {
        let jobs = self.jobs.lock().expect("hub lock");
        jobs.iter()
            .filter(|(_, c)| c.sender.receiver_count() > 0)
            .map(|(job, c)| (*job, c.last_seq))
            .collect()
    }

    /// True if some connection here follows a tenant's new jobs.
    pub fn follows_new_jobs(&self) -> bool {
        self.tenants
            .lock()
            .expect("hub lock")
            .values()
            .any(|sender| sender.receiver_count() > 0)
    }

    /// Jobs with at least one channel (for metrics and tests).
    pub fn followed_jobs(&self) -> usize {
        self.jobs.lock().expect("hub lock").len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn event(job: JobId, seq: u64, kind: &str) -> StoredEvent {
        StoredEvent {
            job_id: job,
            seq,
            kind: kind.into(),
            json: "{}".into(),
        }
    }

    #[tokio::test]
    async fn subscribers_get_their_jobs_batches_only() {
        let hub = Hub::new(16);
        let (a, b) = (JobId(Uuid::now_v7()), JobId(Uuid::now_v7()));
        let tenant = TenantId(Uuid::now_v7());
        let mut rx = hub.subscribe_job(a);
        let mut tenant_rx = hub.subscribe_tenant(tenant);
        for job in [b, a] {
            hub.publish(EventBatch {
                job_id: job,
                tenant_id: tenant,
                events: vec![event(job, 1, "job_created")],
            });
        }
        assert_eq!(rx.recv().await.unwrap().job_id, a);
        assert!(rx.try_recv().is_err());
        assert_eq!(tenant_rx.recv().await.unwrap().job_id, b);
        assert_eq!(tenant_rx.recv().await.unwrap().job_id, a);
    }

    #[test]
    fn a_snapshot_moves_the_relay_point_only_for_a_lone_subscriber() {
        let hub = Hub::new(16);
        let job = JobId(Uuid::now_v7());
        let first = hub.subscribe_job(job);
        hub.note_snapshot(job, 40);
        assert_eq!(hub.followed_seq(job), Some(40));
        // The first subscriber has seen 40; a second one's newer snapshot must not skip 41..90 for it.
        let _second = hub.subscribe_job(job);
        hub.note_snapshot(job, 90);
        assert_eq!(hub.followed_seq(job), Some(40));
        drop(first);
        hub.note_snapshot(job, 90);
        assert_eq!(hub.followed_seq(job), Some(90));
    }

    #[test]
    fn channels_without_listeners_are_swept() {
        let hub = Hub::new(16);
        let job = JobId(Uuid::now_v7());
        let rx = hub.subscribe_job(job);
        hub.sweep();
        assert_eq!(hub.followed_jobs(), 1);
        drop(rx);
        hub.sweep();
        assert_eq!(hub.followed_jobs(), 0);
    }
}
