//! The engine: claims jobs with a lease, runs them, and rescues jobs whose runner died.
//!
//! Every state change goes through the Store in a statement that checks the current state (or the
//! lease), so two instances can never both win a transition.

mod bulk_send;
mod handoff;
mod lease;
mod recorder;
mod scrape;
mod sender_health;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::protocol::JobKind;
use crate::server::adapters::providers::MessagingProvider;
use crate::server::adapters::sources::SourceContext;
use crate::server::live::hub::{EventBatch, Hub};
use crate::server::settings::EngineSettings;
use crate::server::store::{ClaimedJob, InFlightPolicy, Store};

pub use crate::protocol::backoff::RetryPolicy;

/// What the engine needs to send through a tenant's senders: the key to their secrets and the
/// provider settings (timeouts, the sandbox's latency).
#[derive(Clone)]
pub struct SenderKit {
    pub vault: Arc<crate::server::vault::Vault>,
    pub settings: Arc<crate::server::settings::Settings>,
    /// Where providers reach this server (senders' webhooks start with it).
    pub public_url: String,
    /// Where sandbox senders hand the receipts they make up.
    pub sandbox_receipts: crate::server::adapters::providers::sandbox::ReceiptSink,
}

/// One sender's pace: at most its `rate_per_minute`, evenly spaced, shared by every job of this
/// process that sends through it.
type Pace = governor::DefaultDirectRateLimiter;

/// Claims and runs jobs in this process.
pub struct Engine {
    store: Arc<dyn Store>,
    hub: Arc<Hub>,
    provider: Arc<dyn MessagingProvider>,
    /// What scraping jobs read their sources with.
    sources: SourceContext,
    settings: EngineSettings,
    senders: SenderKit,
    /// Each sender's pace, by id and rate (a new rate makes a new pace).
    paces: std::sync::Mutex<std::collections::HashMap<(Uuid, u32), Arc<Pace>>>,
    /// This process's lease owner name: unique per start, so a restarted process never
    /// mistakes its predecessor's lease for its own.
    instance_id: String,
    wake: Notify,
    shutdown: Notify,
    /// Set by `stop`: the background tasks other than the claim loop look at it.
    stopped: std::sync::atomic::AtomicBool,
}

impl Engine {
    /// An engine that has not started yet.
    pub fn new(
        store: Arc<dyn Store>,
        hub: Arc<Hub>,
        provider: Arc<dyn MessagingProvider>,
        sources: SourceContext,
        settings: EngineSettings,
        senders: SenderKit,
        instance_id: String,
    ) -> Arc<Engine> {
        Arc::new(Engine {
            store,
            hub,
            provider,
            sources,
            settings,
            senders,
            paces: Default::default(),
            instance_id,
            wake: Notify::new(),
            shutdown: Notify::new(),
            stopped: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The name this instance holds leases under.
    pub fn instance_id(&self) -> &str {
        &self.instance_id
    }

    /// Looks for work now instead of at the next poll (a job was just created here).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Stops claiming new jobs.
    pub fn stop(&self) {
        self.stopped
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self.shutdown.notify_one();
    }

    /// True once `stop` was called.
    fn is_stopped(&self) -> bool {
        self.stopped.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn lease(&self) -> Duration {
        Duration::from_millis(self.settings.lease_ms)
    }

    /// Items a dead runner left in flight: only those it marked as handed to a provider that
    /// cannot de-duplicate become unknown (runs through a de-duplicating one never mark them),
    /// so this is right whichever provider or senders each job used.
    fn in_flight_policy(&self) -> InFlightPolicy {
        InFlightPolicy::MarkUnknown
    }

    /// The pace of sender `id` at `rate_per_minute`.
    fn pace(&self, id: Uuid, rate_per_minute: u32) -> Arc<Pace> {
        let mut paces = self.paces.lock().expect("pace lock");
        paces
            .entry((id, rate_per_minute))
            .or_insert_with(|| {
                let period = std::time::Duration::from_secs(60) / rate_per_minute.max(1);
                let quota = governor::Quota::with_period(period)
                    .expect("a rate of at most 60,000 a minute has a period");
                Arc::new(governor::RateLimiter::direct(quota))
            })
            .clone()
    }

    /// Starts the claim loop, and asking gateways how their senders are.
    pub fn spawn(self: &Arc<Self>) -> JoinHandle<()> {
        tokio::spawn(sender_health::watch(self.clone()));
        let engine = self.clone();
        tokio::spawn(async move { engine.claim_loop().await })
    }

    /// Records a sender's health and, if that changed it, tells its tenant's followers here
    /// (other instances hear it from the database).
    pub(crate) async fn record_sender_health(
        &self,
        id: Uuid,
        health: crate::protocol::senders::SenderHealth,
        fault: Option<&crate::protocol::fault::SendFault>,
        source: crate::server::store::HealthSource,
    ) {
        match self
            .store
            .set_sender_health(id, health, fault, source)
            .await
        {
            Ok(Some(sender)) => {
                tracing::info!(sender = %id, health = health.as_str(), source = source.as_str(), "sender health changed");
                self.hub.publish_sender_health(
                    sender.tenant_id,
                    sender.health_view(),
                    sender.health_source,
                );
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "could not record a sender's health"),
        }
    }

    #[tracing::instrument(skip_all, fields(instance = %self.instance_id))]
    async fn claim_loop(self: Arc<Self>) {
        let slots = Arc::new(Semaphore::new(self.settings.max_concurrent_jobs.max(1)));
        let poll = Duration::from_millis(self.settings.poll_interval_ms.max(10));
        loop {
            while let Ok(permit) = slots.clone().try_acquire_owned() {
                let lease_until = Utc::now() + self.lease();
                match self
                    .store
                    .claim_job(&self.instance_id, lease_until, self.in_flight_policy())
                    .await
                {
                    Ok(Some(claimed)) => {
                        let engine = self.clone();
                        tokio::spawn(async move {
                            engine.run(claimed).await;
                            drop(permit);
                            // A slot is free: there may be more work waiting.
                            engine.wake();
                        });
                    }
                    Ok(None) => break,
                    Err(error) => {
                        tracing::warn!(%error, "could not claim a job; retrying at the next poll");
                        break;
                    }
                }
            }
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(poll) => {}
                _ = self.shutdown.notified() => return,
            }
        }
    }

    async fn run(self: &Arc<Self>, claimed: ClaimedJob) {
        let job_id = claimed.job.id;
        tracing::info!(%job_id, rescued = claimed.rescued, "job claimed");
        self.hub.publish(EventBatch {
            job_id,
            tenant_id: claimed.tenant_id,
            events: vec![claimed.started.clone()],
        });
        match claimed.job.kind {
            JobKind::BulkSend => bulk_send::run(self.clone(), claimed).await,
            JobKind::Scrape => scrape::run(self.clone(), claimed).await,
            // Never claimed: their outside worker runs them.
            JobKind::External => {}
        }
    }
}

/// A name for this process, unique per start: `hostname-random`.
pub fn new_instance_id() -> String {
    format!(
        "{}-{}",
        hostname(),
        &Uuid::now_v7().simple().to_string()[20..]
    )
}

/// The machine's name, for people reading the instances list.
pub fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "jobpulse".to_owned())
}
