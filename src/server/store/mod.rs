//! The Store: every read and write of jobpulse's state, behind one trait so SQLite and PostgreSQL
//! are interchangeable. Every query that touches tenant data takes the tenant, so a handler cannot
//! forget to filter by it.

pub mod group_commit;
pub mod postgres;
mod shared;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::protocol::failure::JobFault;
use crate::protocol::lifecycle::{Command, Note, Refusal};
use crate::protocol::{
    CampaignView, InstanceView, ItemStatus, ItemView, JobId, JobKind, JobStatus, JobView, Progress,
    ResultView, ServerMsg, SourceSpec, TokenView, UserView, WorkerItem,
};

pub use postgres::{NotifyMode, PostgresStore};
pub use sqlite::SqliteStore;

/// Identifies a tenant (a client company).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TenantId(pub Uuid);

impl std::fmt::Display for TenantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A client company.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// What a user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Admin,
    Operator,
    Viewer,
}

impl Role {
    /// The database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Viewer => "viewer",
        }
    }

    /// Parses the database (and form) spelling.
    pub fn parse(s: &str) -> StoreResult<Role> {
        match s {
            "admin" => Ok(Role::Admin),
            "operator" => Ok(Role::Operator),
            "viewer" => Ok(Role::Viewer),
            other => Err(StoreError::Corrupt(format!("unknown role {other:?}"))),
        }
    }

    /// May start, cancel, pause and retry work.
    pub fn can_operate(self) -> bool {
        matches!(self, Role::Admin | Role::Operator)
    }

    /// May manage users and API tokens.
    pub fn can_administer(self) -> bool {
        self == Role::Admin
    }
}

/// A user who logs in to the pages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub username: String,
    pub password_hash: String,
    pub role: Role,
}

/// A live browser session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The hash of the cookie value: what revoking the session closes sockets by.
    pub id_hash: String,
    pub user_id: Uuid,
    pub tenant_id: TenantId,
    pub username: String,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
}

/// A bulk send to create, already validated.
#[derive(Clone, Debug)]
pub struct NewBulkJob {
    pub tenant_id: TenantId,
    pub message: String,
    pub devices_limit: u32,
    /// E.164 numbers, de-duplicated.
    pub recipients: Vec<String>,
    pub skipped: u64,
    /// Numbers on the opt-out list left out.
    pub skipped_opted_out: u64,
    pub idempotency_key: Option<String>,
    /// The senders it spreads over, in device order; empty: the server-wide provider.
    pub senders: Vec<Uuid>,
    /// How long after it ends its receipts are still expected.
    pub receipts_window_hours: u32,
    /// What people call it in lists, and the tags they find it by.
    pub name: Option<String>,
    pub tags: Vec<String>,
}

/// The answer to a create: a new job, or the one an earlier request with the same key made.
#[derive(Clone, Debug)]
pub enum Created {
    New { job: JobView, event: StoredEvent },
    Existing(JobView),
}

impl Created {
    /// The job, new or not.
    pub fn job(&self) -> &JobView {
        match self {
            Created::New { job, .. } | Created::Existing(job) => job,
        }
    }
}

/// A committed event: its seq and the exact JSON sent to clients.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    pub job_id: JobId,
    pub seq: u64,
    pub kind: String,
    pub json: Arc<str>,
}

impl StoredEvent {
    /// Builds the stored form of a message that already carries its seq.
    pub fn from_msg(msg: &ServerMsg) -> StoredEvent {
        StoredEvent {
            job_id: msg.job_id().expect("job events name their job"),
            seq: msg.seq().expect("job events carry a seq"),
            kind: msg.type_name().to_owned(),
            json: msg.to_json().into(),
        }
    }

    /// Parses the event back into a message.
    pub fn msg(&self) -> Result<ServerMsg, serde_json::Error> {
        serde_json::from_str(&self.json)
    }

    /// True for events that may be coalesced away under load (the next one carries newer counters).
    pub fn is_coalescable(&self) -> bool {
        // An `undelivered` receipt says why: never dropped (its JSON names its status).
        self.kind == "progress"
            || (self.kind == "receipt" && !self.json.contains("\"status\":\"undelivered\""))
    }
}

/// Filters for listing jobs (and for acting on all the jobs they match).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct JobFilter {
    pub status: Option<JobStatus>,
    pub kind: Option<JobKind>,
    /// Text the job's name, message or tags contain (case-insensitive).
    pub q: Option<String>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    /// Keyset paging: only jobs older than this one.
    pub before: Option<JobId>,
    pub limit: u32,
}

impl JobFilter {
    /// The page of up to `limit` jobs `search` matches, older than `before`.
    pub fn of(search: &crate::protocol::JobSearch, before: Option<JobId>, limit: u32) -> Self {
        JobFilter {
            status: search.status,
            kind: search.kind,
            q: search.q.clone(),
            created_after: search.created_after,
            created_before: search.created_before,
            before,
            limit,
        }
    }
}

/// A job a runner now holds the lease of.
#[derive(Clone, Debug)]
pub struct ClaimedJob {
    pub job: JobView,
    pub tenant_id: TenantId,
    /// The `job_started` event written by the claim.
    pub started: StoredEvent,
    /// True when the job was taken over from a runner whose lease expired.
    pub rescued: bool,
    /// A stop someone asked for before the claim (its old runner died before carrying it out).
    pub control: Control,
    /// What the job needs to run (a scrape's keywords and source), as stored at creation.
    pub params: Option<serde_json::Value>,
}

/// A campaign to create, already validated.
#[derive(Clone, Debug)]
pub struct NewCampaign {
    pub tenant_id: TenantId,
    pub name: String,
    pub platform: String,
    pub keywords: Vec<String>,
    pub target_results: u32,
    pub source: SourceSpec,
    /// Tags its searches carry, to find them by.
    pub tags: Vec<String>,
}

pub use crate::protocol::{FailedPage, FoundResult};

/// What happens to items that were in flight when their runner died.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InFlightPolicy {
    /// The provider de-duplicates by key: send them again with the same key.
    Retry,
    /// It does not: those handed to it (`mark_handed`) become `unknown` and are never sent
    /// again on our own; those claimed but never handed go back to `pending`.
    MarkUnknown,
}

pub use crate::protocol::lifecycle::Control;
pub use shared::lanes::LaneChange;

/// An item handed to a device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemToSend {
    pub idx: u64,
    pub recipient: String,
    pub idempotency_key: String,
    /// Provider calls made before this one.
    pub attempts: u32,
    /// Times a device whose sender was down handed it on to another (this run).
    pub handed_on: u32,
}

/// The final word on one item, from a device.
#[derive(Clone, Debug, PartialEq)]
pub struct ItemOutcome {
    pub idx: u64,
    pub recipient: String,
    pub device_id: u32,
    pub status: ItemStatus,
    /// Provider calls for this item so far, all runs included.
    pub attempts: u32,
    pub error: Option<String>,
    /// `error` as a code, for the `error` event (and pages that word it).
    pub fault: Option<crate::protocol::fault::SendFault>,
    /// The errors of this run's failed attempts, oldest first.
    pub attempt_errors: Vec<String>,
    pub provider_message_id: Option<String>,
    /// The sender that sent it (jobs spread over the tenant's senders).
    pub sender_id: Option<Uuid>,
}

/// What became of a request to change a job's course.
#[derive(Clone, Debug)]
pub enum Transition {
    /// Done at once (no runner held the job); the event to publish.
    Done { job: JobView, event: StoredEvent },
    /// Recorded for the job's runner, which carries it out once in-flight sends are recorded.
    Requested(JobView),
    /// It does not fit the job's state.
    Refused { job: JobView, refusal: Refusal },
}

impl Transition {
    /// A refusal of a command to `job`.
    pub fn refused(job: JobView, refusal: Refusal) -> Transition {
        Transition::Refused { job, refusal }
    }
}

/// How a runner ends its hold on a job.
#[derive(Clone, Debug, PartialEq)]
pub enum JobEnd {
    /// Every item has an outcome (or the work is done); the store sums the results from the
    /// items themselves. `note` says more when there is more to say.
    Completed {
        parallel_workers: u32,
        note: Option<crate::protocol::fault::StageNote>,
    },
    /// `error` and `message` are `fault` in English (`error` is an outside worker's own words).
    Failed {
        error: String,
        message: String,
        fault: JobFault,
    },
    Cancelled {
        message: String,
    },
    Paused {
        message: String,
    },
}

impl JobEnd {
    /// A failure the server words: both sentences come from `fault`.
    pub fn failed(fault: JobFault) -> JobEnd {
        JobEnd::Failed {
            error: fault.english().unwrap_or_default(),
            message: fault.advice().to_owned(),
            fault,
        }
    }

    /// The end of a stop people asked for: `to` is `Cancelled` or `Paused`.
    pub fn stopped(to: JobStatus, note: Note) -> JobEnd {
        let message = note.message();
        if to == JobStatus::Paused {
            JobEnd::Paused { message }
        } else {
            JobEnd::Cancelled { message }
        }
    }
}

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("could not apply migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("this runner no longer holds the lease of job {0}")]
    LeaseLost(JobId),
    #[error("{0}")]
    Conflict(String),
    /// A search of the campaign has not ended (`paused`, or still running).
    #[error("a search of this campaign has not ended yet")]
    StillSearching { paused: bool },
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
}

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;

/// Tenants, API tokens, users and sessions.
#[async_trait]
pub trait TenantStore: Send + Sync {
    /// Creates a tenant; a taken name is a `Conflict`.
    async fn create_tenant(&self, name: &str) -> StoreResult<Tenant>;
    /// Looks a tenant up by name.
    async fn tenant_by_name(&self, name: &str) -> StoreResult<Option<Tenant>>;
    /// One tenant by id.
    async fn tenant(&self, id: TenantId) -> StoreResult<Option<Tenant>>;
    /// Stores an API token's hash for a tenant.
    async fn create_api_token(
        &self,
        tenant: TenantId,
        name: &str,
        token_hash: &str,
    ) -> StoreResult<TokenView>;
    /// The tenant's tokens, newest first (revoked ones too, marked).
    async fn list_tokens(&self, tenant: TenantId) -> StoreResult<Vec<TokenView>>;
    /// Revokes one of the tenant's tokens; its hash, so its live connections can be closed.
    async fn revoke_token(&self, tenant: TenantId, id: Uuid) -> StoreResult<Option<String>>;
    /// The tenant's users.
    async fn list_users(&self, tenant: TenantId) -> StoreResult<Vec<UserView>>;
    /// Changes a user's role; false if the tenant has no such user.
    async fn set_role(&self, tenant: TenantId, user: Uuid, role: Role) -> StoreResult<bool>;
    /// Removes a user and their sessions; the sessions' hashes, so their sockets can be closed.
    async fn delete_user(&self, tenant: TenantId, user: Uuid) -> StoreResult<Option<Vec<String>>>;
    /// The tenant of a live token, recording its use.
    async fn tenant_for_token(&self, token_hash: &str) -> StoreResult<Option<TenantId>>;
    /// Creates a user; a taken username is a `Conflict`.
    async fn create_user(
        &self,
        tenant: TenantId,
        username: &str,
        password_hash: &str,
        role: Role,
    ) -> StoreResult<User>;
    /// Looks a user up for login.
    async fn user_by_username(&self, tenant: TenantId, username: &str)
    -> StoreResult<Option<User>>;
    /// Starts a session, stored by the hash of its cookie value.
    async fn create_session(
        &self,
        id_hash: &str,
        user: Uuid,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// A session that has not expired.
    async fn session(&self, id_hash: &str) -> StoreResult<Option<Session>>;
    /// Ends a session.
    async fn delete_session(&self, id_hash: &str) -> StoreResult<()>;
}

/// Jobs as people and scripts see them; every call takes the tenant.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Creates a bulk send, its items and its `job_created` event in one transaction.
    async fn create_bulk_job(&self, job: NewBulkJob) -> StoreResult<Created>;
    /// One of the tenant's jobs.
    async fn job(&self, tenant: TenantId, id: JobId) -> StoreResult<Option<JobView>>;
    /// The tenant's jobs, newest first.
    async fn list_jobs(&self, tenant: TenantId, filter: &JobFilter) -> StoreResult<Vec<JobView>>;
    /// Every item of the tenant's sends to `phone` (E.164), newest send first, at most `limit`.
    async fn recipient_items(
        &self,
        tenant: TenantId,
        phone: &str,
        limit: u32,
    ) -> StoreResult<Vec<crate::protocol::RecipientItem>>;
    /// How many of the tenant's jobs match the filter, per status (its status, cursor and limit
    /// left out).
    async fn count_jobs(
        &self,
        tenant: TenantId,
        filter: &JobFilter,
    ) -> StoreResult<Vec<(JobStatus, u64)>>;
    /// The ids of every job of the tenant the filter matches (its cursor and limit left out),
    /// newest first, at most `cap`.
    async fn job_ids(
        &self,
        tenant: TenantId,
        filter: &JobFilter,
        cap: u32,
    ) -> StoreResult<Vec<JobId>>;
    /// Events of one of the tenant's jobs after `after_seq`, oldest first; `None` if there is no such job.
    async fn events_after(
        &self,
        tenant: TenantId,
        job: JobId,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Option<Vec<StoredEvent>>>;
    /// The newest events of one of the tenant's jobs, oldest first (for a page's log pane).
    async fn events_before(
        &self,
        tenant: TenantId,
        job: JobId,
        before_seq: u64,
        limit: u32,
    ) -> StoreResult<Option<Vec<StoredEvent>>>;
    /// Items of one of the tenant's jobs by index, after `after`; `None` if there is no such job.
    async fn items(
        &self,
        tenant: TenantId,
        job: JobId,
        status: Option<ItemStatus>,
        after: Option<u64>,
        limit: u32,
    ) -> StoreResult<Option<Vec<ItemView>>>;
    /// The instances seen in the last day, with the jobs each runs (ids of this tenant's only).
    async fn list_instances(&self, tenant: TenantId) -> StoreResult<Vec<InstanceView>>;
    /// Deletes the events of jobs that ended before `cutoff` (their rows and items stay).
    async fn prune_events(&self, cutoff: DateTime<Utc>) -> StoreResult<u64>;
    /// Carries out a command people gave one of the tenant's jobs, as `lifecycle::decide` rules:
    /// at once if no runner holds the job, else by asking its runner.
    async fn command(
        &self,
        tenant: TenantId,
        job: JobId,
        command: Command,
    ) -> StoreResult<Option<Transition>>;
    /// Retries only the failed items of `classes` (`SendFault::class`), as `command` retries
    /// all of them.
    async fn retry_classes(
        &self,
        tenant: TenantId,
        job: JobId,
        classes: &[String],
    ) -> StoreResult<Option<Transition>>;
    /// How many jobs of every tenant are in each status (`/metrics`).
    async fn jobs_by_status(&self) -> StoreResult<Vec<(String, u64)>>;
    /// Why one of the tenant's jobs' items failed: one group per class, the biggest first;
    /// `None` if there is no such job.
    async fn failures(
        &self,
        tenant: TenantId,
        job: JobId,
    ) -> StoreResult<Option<Vec<crate::protocol::FailureGroup>>>;
    /// Pauses or resumes one device of the tenant's bulk send (its share goes to the others);
    /// `None` if there is no such job or device.
    async fn set_device_paused(
        &self,
        tenant: TenantId,
        job: JobId,
        device: u32,
        paused: bool,
    ) -> StoreResult<Option<LaneChange>>;
}

/// What runners do; every write is fenced by the runner's lease.
#[async_trait]
pub trait EngineStore: Send + Sync {
    /// Records that this instance is alive.
    async fn heartbeat_instance(
        &self,
        id: &str,
        hostname: &str,
        started_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Events of a job after `after_seq`, whatever its tenant (for relaying between instances).
    async fn events_since(
        &self,
        job: JobId,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<StoredEvent>>;
    /// The tenant a job belongs to.
    async fn job_tenant(&self, job: JobId) -> StoreResult<Option<TenantId>>;
    /// Takes the oldest pending job, or a running one whose lease expired, writing `job_started`.
    async fn claim_job(
        &self,
        owner: &str,
        lease_until: DateTime<Utc>,
        in_flight: InFlightPolicy,
    ) -> StoreResult<Option<ClaimedJob>>;
    /// Extends the lease; `LeaseLost` if another runner took the job.
    async fn renew_lease(
        &self,
        job: JobId,
        owner: &str,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Control>;
    /// Moves up to `limit` pending items to `sending`, counting the attempt.
    async fn claim_items(
        &self,
        job: JobId,
        owner: &str,
        limit: u32,
    ) -> StoreResult<Vec<ItemToSend>>;
    /// Records outcomes and their events in one transaction (a group commit), fenced by the lease.
    async fn record_outcomes(
        &self,
        job: JobId,
        owner: &str,
        outcomes: &[ItemOutcome],
    ) -> StoreResult<Vec<StoredEvent>>;
    /// Notes, before their requests leave, that these claimed items are being handed to a
    /// provider that cannot de-duplicate: only such items become `unknown` if the runner dies.
    async fn mark_handed(&self, job: JobId, owner: &str, idxs: &[u64]) -> StoreResult<()>;
    /// Puts claimed items that no device attempted back to `pending`.
    async fn release_items(&self, job: JobId, owner: &str, idxs: &[u64]) -> StoreResult<()>;
    /// Ends the runner's hold on the job, writing the final event.
    async fn finish_job(&self, job: JobId, owner: &str, end: JobEnd) -> StoreResult<StoredEvent>;
    /// The runner's tick for its devices: records what each holds now (`(device, in_flight)`,
    /// those that changed) and returns the devices operators paused.
    async fn device_tick(
        &self,
        job: JobId,
        owner: &str,
        in_flight: &[(u32, u32)],
    ) -> StoreResult<Vec<u32>>;
}

/// Campaigns, their scraping jobs' results, and outside workers' jobs.
#[async_trait]
pub trait CampaignStore: Send + Sync {
    /// Creates a campaign with its first scraping job (and that job's `job_created`).
    async fn create_campaign(
        &self,
        new: NewCampaign,
    ) -> StoreResult<(CampaignView, JobView, StoredEvent)>;
    /// Adds another scraping job to one of the tenant's campaigns (a re-run).
    async fn add_campaign_job(
        &self,
        tenant: TenantId,
        campaign: Uuid,
    ) -> StoreResult<Option<(JobView, StoredEvent)>>;
    /// One of the tenant's campaigns, with its jobs.
    async fn campaign(&self, tenant: TenantId, id: Uuid) -> StoreResult<Option<CampaignView>>;
    /// The tenant's campaigns, newest first, each with only its newest job.
    async fn list_campaigns(&self, tenant: TenantId, limit: u32) -> StoreResult<Vec<CampaignView>>;
    /// A page of a campaign's results (each URL once, first found first) and how many match,
    /// optionally only those whose URL, title, author or text contain `search`.
    async fn campaign_results(
        &self,
        tenant: TenantId,
        campaign: Uuid,
        search: Option<&str>,
        offset: u64,
        limit: u32,
    ) -> StoreResult<Option<(Vec<ResultView>, u64)>>;
    /// Records what a scraping job read: results whose URL is new to the campaign, and pages it
    /// could not read, with their `item` events; `percentage` is the job's overall progress.
    async fn record_results(
        &self,
        job: JobId,
        owner: &str,
        results: &[FoundResult],
        failed: &[FailedPage],
        percentage: f64,
    ) -> StoreResult<Vec<StoredEvent>>;
    /// Records that a scraping job entered a stage.
    async fn record_stage(
        &self,
        job: JobId,
        owner: &str,
        stage: &str,
        percentage: f64,
        note: Option<&crate::protocol::fault::StageNote>,
    ) -> StoreResult<StoredEvent>;
    /// Creates a job an outside worker runs, reachable with the worker token's hash.
    async fn create_external_job(
        &self,
        tenant: TenantId,
        name: &str,
        total: u64,
        stages: &[String],
        worker_token_hash: &str,
    ) -> StoreResult<(JobView, StoredEvent)>;
    /// The job a worker token belongs to (and its tenant), if the token is that job's.
    async fn worker_job(
        &self,
        job: JobId,
        token_hash: &str,
    ) -> StoreResult<Option<(TenantId, JobView)>>;
    /// Records a worker's progress: the job starts on its first report.
    async fn worker_progress(
        &self,
        job: JobId,
        processed: u64,
        stage: Option<&str>,
        message: Option<&str>,
    ) -> StoreResult<Vec<StoredEvent>>;
    /// Records a worker's items (a repeated key is ignored) and their `item` events.
    async fn worker_items(&self, job: JobId, items: &[WorkerItem])
    -> StoreResult<Vec<StoredEvent>>;
    /// Ends a worker's job; `None` if it had ended already.
    async fn worker_finish(&self, job: JobId, end: JobEnd) -> StoreResult<Option<StoredEvent>>;
    /// Fails outside workers' jobs with no report for `silent_for` (by the database's clock, so
    /// instances with skewed clocks agree); their final events.
    async fn fail_silent_workers(
        &self,
        silent_for: std::time::Duration,
    ) -> StoreResult<Vec<(TenantId, StoredEvent)>>;
}

/// A sender to create; its secrets already sealed.
#[derive(Clone, Debug)]
pub struct NewSender {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub name: String,
    pub provider: crate::protocol::senders::SenderProvider,
    pub config: serde_json::Map<String, serde_json::Value>,
    pub sealed_secrets: Option<String>,
    pub secret_names: Vec<String>,
    pub rate_per_minute: u32,
    pub active: bool,
}

/// A stored sender, its secrets still sealed.
#[derive(Clone, Debug)]
pub struct SenderRecord {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub name: String,
    pub provider: crate::protocol::senders::SenderProvider,
    pub config: serde_json::Map<String, serde_json::Value>,
    pub sealed_secrets: Option<String>,
    pub secret_names: Vec<String>,
    pub rate_per_minute: u32,
    pub active: bool,
    pub health: crate::protocol::senders::SenderHealth,
    pub health_detail: Option<String>,
    pub health_fault: Option<crate::protocol::fault::SendFault>,
    /// Where `health` came from (`None` before anything was seen).
    pub health_source: Option<HealthSource>,
    pub created_at: DateTime<Utc>,
}

impl SenderRecord {
    /// The sender's health as the live channel carries it.
    pub fn health_view(&self) -> crate::protocol::senders::SenderHealthView {
        crate::protocol::senders::SenderHealthView {
            sender_id: self.id,
            name: self.name.clone(),
            provider: self.provider,
            active: self.active,
            health: self.health,
            health_detail: self.health_detail.clone(),
            health_fault: self.health_fault.clone(),
        }
    }
}

/// Where a sender's health came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HealthSource {
    /// The engine's results: a run of failures, or a send that went through.
    Sends,
    /// What the gateway reports of the device or number.
    Provider,
}

impl HealthSource {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthSource::Sends => "sends",
            HealthSource::Provider => "provider",
        }
    }

    /// The source with this stored name.
    pub fn parse(name: &str) -> Option<HealthSource> {
        match name {
            "sends" => Some(HealthSource::Sends),
            "provider" => Some(HealthSource::Provider),
            _ => None,
        }
    }
}

/// What `PATCH /senders/{id}` changes; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct SenderChange {
    pub name: Option<String>,
    pub rate_per_minute: Option<u32>,
    pub active: Option<bool>,
}

/// Senders: a tenant's sending identities.
#[async_trait]
pub trait SenderStore: Send + Sync {
    /// Creates a sender; `false` if the tenant already has one of that name.
    async fn create_sender(&self, sender: NewSender) -> StoreResult<bool>;
    /// The tenant's senders (not deleted), oldest first.
    async fn senders(&self, tenant: TenantId) -> StoreResult<Vec<SenderRecord>>;
    /// One of the tenant's senders (not deleted).
    async fn sender(&self, tenant: TenantId, id: Uuid) -> StoreResult<Option<SenderRecord>>;
    /// Senders by id, deleted ones too (the engine's view of a job's senders), in `ids` order.
    async fn senders_by_id(&self, ids: &[Uuid]) -> StoreResult<Vec<SenderRecord>>;
    /// Changes a sender; `None` if there is no such sender, `Conflict(name)` if the name is taken.
    async fn update_sender(
        &self,
        tenant: TenantId,
        id: Uuid,
        change: SenderChange,
    ) -> StoreResult<Option<SenderRecord>>;
    /// Deletes a sender (its secrets at once); `false` if there was none.
    async fn delete_sender(&self, tenant: TenantId, id: Uuid) -> StoreResult<bool>;
    /// What each sender's items came to.
    async fn sender_stats(
        &self,
        ids: &[Uuid],
    ) -> StoreResult<std::collections::HashMap<Uuid, crate::protocol::senders::SenderStats>>;
    /// Records a sender's health (announced to other instances); the sender as it is now if
    /// that changed it. A gateway saying "ok" does not clear what failed sends found: only a
    /// send that goes through does.
    async fn set_sender_health(
        &self,
        id: Uuid,
        health: crate::protocol::senders::SenderHealth,
        fault: Option<&crate::protocol::fault::SendFault>,
        source: HealthSource,
    ) -> StoreResult<Option<SenderRecord>>;
    /// Claims up to `limit` active senders of gateways that report their own state and were not
    /// asked since `due_before`, marking them asked at `now` (so one instance asks each).
    async fn claim_health_checks(
        &self,
        now: DateTime<Utc>,
        due_before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<SenderRecord>>;
}

/// A receipt as a provider's webhook reported it, before it is matched to its item.
#[derive(Clone, Debug, PartialEq)]
pub struct IncomingReceipt {
    /// The provider's message id (a `wamid`, a Twilio `SM…` sid).
    pub message_id: String,
    pub status: crate::protocol::Delivery,
    pub error: Option<String>,
    /// When the provider says it happened.
    pub at: DateTime<Utc>,
}

/// Delivery receipts: kept as they arrive, applied to their items as those are recorded.
#[async_trait]
pub trait ReceiptStore: Send + Sync {
    /// Keeps a webhook's receipts (durably: the webhook is answered after this).
    async fn record_receipts(&self, sender: Uuid, receipts: &[IncomingReceipt]) -> StoreResult<()> {
        self.record_receipt_batches(&[(sender, receipts)]).await
    }
    /// Keeps several webhooks' receipts, each batch with its sender, in one transaction.
    async fn record_receipt_batches(
        &self,
        batches: &[(Uuid, &[IncomingReceipt])],
    ) -> StoreResult<()>;
    /// Applies up to `limit` waiting receipts whose message is recorded: items move forward,
    /// jobs count them, and each change is a `receipt` event (returned to publish).
    async fn apply_receipts(&self, limit: u32) -> StoreResult<AppliedReceipts>;
}

/// What one `apply_receipts` call did.
#[derive(Debug, Default)]
pub struct AppliedReceipts {
    /// The `receipt` events written, to publish.
    pub events: Vec<(TenantId, StoredEvent)>,
    /// Waiting receipts taken (duplicates and late ones move nothing, so may exceed `events`).
    pub receipts: usize,
}

/// Numbers that asked not to be written to, per tenant.
#[async_trait]
pub trait OptOutStore: Send + Sync {
    /// The tenant's list, newest first.
    async fn opt_outs(&self, tenant: TenantId) -> StoreResult<Vec<crate::protocol::OptOutView>>;
    /// Lists a number (E.164); `false` if it already was.
    async fn add_opt_out(&self, tenant: TenantId, phone: &str, source: &str) -> StoreResult<bool>;
    /// Takes a number off the list; `false` if it was not on it.
    async fn remove_opt_out(&self, tenant: TenantId, phone: &str) -> StoreResult<bool>;
    /// Which of `phones` are on the list.
    async fn opted_out(
        &self,
        tenant: TenantId,
        phones: &[String],
    ) -> StoreResult<std::collections::HashSet<String>>;
}

/// A message as a provider's webhook reported it, before it is stored.
#[derive(Clone, Debug, PartialEq)]
pub struct IncomingMessage {
    /// The provider's id of the message (a `wamid`, a Twilio `SM…` sid): a second delivery of
    /// the same webhook adds nothing.
    pub message_id: Option<String>,
    /// The writer's number, E.164.
    pub from: String,
    pub text: String,
    /// When the provider says it was written.
    pub at: DateTime<Utc>,
}

/// Which of a tenant's inbox messages to read: after `after` (oldest first), or else the
/// `limit` newest before `before` (or the newest of all); one job's only, with `job`.
#[derive(Clone, Copy, Debug, Default)]
pub struct InboxWindow {
    pub after: Option<i64>,
    pub before: Option<i64>,
    pub limit: u32,
    pub job: Option<JobId>,
}

/// Messages recipients send to a tenant's senders.
#[async_trait]
pub trait InboxStore: Send + Sync {
    /// Stores a webhook's messages, each linked to the newest of the tenant's jobs that sent to
    /// its number, counted there with a `reply` event; a message already stored is left out.
    /// What was stored, with the reply event to publish.
    async fn record_inbound(
        &self,
        tenant: TenantId,
        sender: Uuid,
        messages: &[IncomingMessage],
    ) -> StoreResult<Vec<(crate::protocol::InboundMessage, Option<StoredEvent>)>>;
    /// The tenant's messages in `window`, in `id` order.
    async fn inbox(
        &self,
        tenant: TenantId,
        window: InboxWindow,
    ) -> StoreResult<Vec<crate::protocol::InboundMessage>>;
    /// One of the tenant's messages.
    async fn inbound_message(
        &self,
        tenant: TenantId,
        id: i64,
    ) -> StoreResult<Option<crate::protocol::InboundMessage>>;
}

/// A hook to add: its secret already sealed.
#[derive(Clone, Debug)]
pub struct NewHook {
    pub id: Uuid,
    pub tenant_id: TenantId,
    pub url: String,
    pub events: Vec<crate::protocol::hooks::HookEvent>,
    pub sealed_secret: String,
}

/// A delivery an instance took to call: where, with what, and the sealed secret to sign with.
#[derive(Clone, Debug)]
pub struct DueDelivery {
    pub id: Uuid,
    pub hook_id: Uuid,
    pub url: String,
    pub sealed_secret: String,
    pub event: crate::protocol::hooks::HookEvent,
    pub body: String,
    /// Calls made before this one.
    pub attempts: u32,
}

/// How one call of a delivery went.
#[derive(Clone, Debug)]
pub struct DeliveryAttempt {
    pub at: DateTime<Utc>,
    pub response_status: Option<u16>,
    pub error: Option<String>,
    /// Answered `2xx`.
    pub delivered: bool,
    /// When to call again; `None` with `delivered` false: out of tries.
    pub retry_at: Option<DateTime<Utc>>,
}

/// Outgoing webhooks and their deliveries.
#[async_trait]
pub trait HookStore: Send + Sync {
    /// Adds a hook.
    async fn create_hook(&self, hook: NewHook) -> StoreResult<()>;
    /// The tenant's hooks, oldest first, each with how its latest call went.
    async fn hooks(&self, tenant: TenantId) -> StoreResult<Vec<crate::protocol::hooks::HookView>>;
    /// Deletes a hook and its deliveries; `false` if the tenant has no such hook.
    async fn delete_hook(&self, tenant: TenantId, id: Uuid) -> StoreResult<bool>;
    /// A hook's deliveries, newest first, older than `before` when given.
    async fn hook_deliveries(
        &self,
        tenant: TenantId,
        hook: Uuid,
        before: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<crate::protocol::hooks::DeliveryView>>;
    /// Queues a `ping` to the hook; `None` if the tenant has no such hook.
    async fn queue_ping(
        &self,
        tenant: TenantId,
        hook: Uuid,
    ) -> StoreResult<Option<crate::protocol::hooks::DeliveryView>>;
    /// Takes up to `limit` pending deliveries due by `now`, held until `hold_until` (so one
    /// instance calls each; a crashed caller's are taken again after).
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<DueDelivery>>;
    /// Records how a call went.
    async fn record_attempt(&self, delivery: Uuid, attempt: DeliveryAttempt) -> StoreResult<()>;
}

/// An audit entry to write: the action, and who did it from where.
#[derive(Clone, Debug)]
pub struct NewAuditEntry {
    pub tenant_id: TenantId,
    pub actor_kind: crate::protocol::audit::ActorKind,
    /// A user's name, or (for a token) the SHA-256 of the token, named at write time.
    pub actor: String,
    pub action: crate::protocol::audit::AuditAction,
    pub target_id: String,
    pub detail: Option<String>,
    pub ip: Option<String>,
    pub at: DateTime<Utc>,
}

/// The audit log: who did what, when, from where.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Writes entries (a token actor is written with the token's name).
    async fn record_audit(&self, entries: &[NewAuditEntry]) -> StoreResult<()>;
    /// The tenant's entries, newest first, older than `before` when given.
    async fn audit(
        &self,
        tenant: TenantId,
        before: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<crate::protocol::audit::AuditEntry>>;
}

/// Every read and write of jobpulse's state: one implementation per database.
#[async_trait]
pub trait Store:
    TenantStore
    + JobStore
    + EngineStore
    + CampaignStore
    + SenderStore
    + ReceiptStore
    + OptOutStore
    + InboxStore
    + HookStore
    + AuditStore
    + 'static
{
    /// Applies pending migrations.
    async fn migrate(&self) -> StoreResult<()>;
    /// Answers when the database is reachable.
    async fn ping(&self) -> StoreResult<()>;
}

/// The counters columns of a job, turned into the wire's progress.
pub(crate) fn progress_of(sent: i64, failed: i64, unknown: i64, total: i64) -> Progress {
    Progress::new(sent as u64, failed as u64, unknown as u64, total as u64)
}

/// Builds the event for one item outcome at a given seq and counters.
pub(crate) fn outcome_event(
    job_id: JobId,
    seq: u64,
    at: DateTime<Utc>,
    outcome: &ItemOutcome,
    progress: Progress,
) -> ServerMsg {
    use crate::protocol::{ErrorEvent, ItemEvent};
    match outcome.status {
        ItemStatus::Sent => ServerMsg::Progress(ItemEvent {
            job_id,
            seq,
            at,
            device_id: outcome.device_id,
            sender_id: outcome.sender_id,
            phone: outcome.recipient.clone(),
            status: ItemStatus::Sent,
            attempts: outcome.attempts,
            progress,
        }),
        status => ServerMsg::Error(ErrorEvent {
            job_id: Some(job_id),
            seq: Some(seq),
            at: Some(at),
            device_id: Some(outcome.device_id),
            sender_id: outcome.sender_id,
            phone: Some(outcome.recipient.clone()),
            status: Some(status),
            attempts: Some(outcome.attempts),
            progress: Some(progress),
            error: outcome
                .error
                .clone()
                .unwrap_or_else(|| "unknown error".to_owned()),
            fault: outcome.fault.clone(),
        }),
    }
}

/// Derives an item's idempotency key from its job and position: stable wherever it is retried.
pub(crate) fn item_key(job: JobId, idx: u64) -> String {
    format!("{job}:{idx}")
}

/// Opens the store named by a database URL, with default pool settings.
pub async fn connect(database_url: &str) -> StoreResult<Arc<dyn Store>> {
    connect_with(database_url, &PostgresSettings::default()).await
}

/// PostgreSQL settings (`[postgres]` in Leptos.toml).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostgresSettings {
    /// Connections per instance.
    pub max_connections: u32,
    /// `batch` (one NOTIFY per committed batch); `per_row` exists only to benchmark against.
    pub notify: NotifyMode,
}

impl Default for PostgresSettings {
    fn default() -> Self {
        PostgresSettings {
            max_connections: 16,
            notify: NotifyMode::Batch,
        }
    }
}

/// A count or position from a client as an SQL integer: beyond `i64::MAX` it means "past
/// everything", never a negative number that would read as "from the start".
pub fn sql_int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// True for URLs the PostgreSQL store opens.
pub fn is_postgres(database_url: &str) -> bool {
    database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")
}

/// Opens the store named by a database URL: `sqlite://…` or `postgres://…`.
pub async fn connect_with(
    database_url: &str,
    postgres: &PostgresSettings,
) -> StoreResult<Arc<dyn Store>> {
    if database_url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(database_url).await?))
    } else if is_postgres(database_url) {
        Ok(Arc::new(
            PostgresStore::connect(database_url, postgres.max_connections, postgres.notify).await?,
        ))
    } else {
        Err(StoreError::Conflict(format!(
            "cannot open {database_url:?}: use sqlite://path or postgres://user@host/database"
        )))
    }
}
