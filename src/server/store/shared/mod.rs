//! What every backend computes the same way: event messages, summaries, and the sentences that
//! explain a refused transition. Keeping them here makes the backends differ only in SQL.

use chrono::{DateTime, Utc};

use super::{
    FailedPage, FoundResult, ItemOutcome, JobEnd, StoredEvent, outcome_event, progress_of,
};
use super::{Role, Store, StoreError, StoreResult, Tenant, TenantId, Transition, User};
use crate::protocol::failure::FetchFault;
use crate::protocol::fault::StageNote;
use crate::protocol::lifecycle::{self, Change, Command, Control, Fence, Note, Refusal};
use crate::protocol::{
    CampaignView, ItemReport, ItemStatus, JobCompletedEvent, JobCreatedEvent, JobFailedEvent,
    JobId, JobResults, JobStartedEvent, JobStatus, JobStoppedEvent, JobView, Progress, ResultView,
    ServerMsg, StageEvent, TokenView, WorkerItem,
};
use campaigns::CampaignSql;
use engine::EngineSql;
use uuid::Uuid;

mod audit;
pub(crate) mod campaigns;
pub(crate) mod engine;
mod hooks;
mod inbox;
pub(crate) mod jobs;
pub(crate) mod lanes;
mod opt_outs;
mod receipts;
pub(crate) mod rows;
mod senders;
pub(crate) mod sql;
mod tenants;

pub(crate) use campaigns::CampaignTx;
pub(crate) use engine::EngineTx;
pub(crate) use jobs::BulkTx;
pub(crate) use rows::Cols;
use sql::{Args, D, Dialect, Sql, args};

/// A multi-stage job's overall percentage replaces the one counted from items.
pub(crate) fn with_percentage(progress: Progress, percentage: Option<f64>) -> Progress {
    match percentage {
        Some(percentage) => Progress {
            percentage: (percentage * 100.0).round() / 100.0,
            ..progress
        },
        None => progress,
    }
}

/// The stages named in a job's params (`{"stages": [...]}`).
pub(crate) fn stages_of(params: Option<serde_json::Value>) -> Vec<String> {
    params
        .and_then(|p| serde_json::from_value(p["stages"].clone()).ok())
        .unwrap_or_default()
}

/// The status a job ends (or pauses) in.
pub(crate) fn end_status(end: &JobEnd) -> JobStatus {
    match end {
        JobEnd::Completed { .. } => JobStatus::Completed,
        JobEnd::Failed { .. } => JobStatus::Failed,
        JobEnd::Cancelled { .. } => JobStatus::Cancelled,
        JobEnd::Paused { .. } => JobStatus::Paused,
    }
}

/// The end-of-job summary from the final counters.
pub(crate) fn summarise(
    progress: Progress,
    devices_used: u32,
    parallel_workers: u32,
    duration_ms: i64,
) -> JobResults {
    let duration_ms = duration_ms.max(0) as u64;
    let throughput_per_sec = if duration_ms == 0 {
        0.0
    } else {
        ((progress.done() as f64 * 1000.0 / duration_ms as f64) * 10.0).round() / 10.0
    };
    JobResults {
        sent: progress.sent,
        failed: progress.failed,
        unknown: progress.unknown,
        total: progress.total,
        devices_used,
        parallel_workers,
        duration_ms,
        throughput_per_sec,
    }
}

/// The event that ends (or pauses) a job; `results` is the summary of a completed one.
pub(crate) fn end_event(
    job_id: JobId,
    seq: u64,
    at: DateTime<Utc>,
    end: JobEnd,
    progress: Progress,
    results: Option<JobResults>,
) -> ServerMsg {
    let status = end_status(&end);
    match end {
        JobEnd::Completed { note, .. } => ServerMsg::JobCompleted(JobCompletedEvent {
            job_id,
            seq,
            at,
            status,
            results: results.expect("a completed job has results"),
            message: note.as_ref().map(StageNote::english),
            note,
        }),
        JobEnd::Failed {
            error,
            message,
            fault,
        } => ServerMsg::JobFailed(JobFailedEvent {
            job_id,
            seq,
            at,
            error,
            message,
            progress: Some(progress),
            fault: Some(fault),
        }),
        JobEnd::Cancelled { message } => ServerMsg::JobCancelled(JobStoppedEvent {
            job_id,
            seq,
            at,
            status,
            progress,
            message,
        }),
        JobEnd::Paused { message } => ServerMsg::JobPaused(JobStoppedEvent {
            job_id,
            seq,
            at,
            status,
            progress,
            message,
        }),
    }
}

/// `job_started`, as a claim writes it.
pub(crate) fn started_event(
    job_id: JobId,
    seq: u64,
    at: DateTime<Utc>,
    rescued: bool,
    newly_unknown: i64,
    progress: Progress,
    owner: &str,
) -> ServerMsg {
    let message = match (rescued, newly_unknown) {
        (false, _) => "Started".to_owned(),
        (true, 0) => "Resumed after its runner stopped".to_owned(),
        (true, n) => format!(
            "Resumed after its runner stopped; {n} items in flight are unknown and were not re-sent"
        ),
    };
    ServerMsg::JobStarted(JobStartedEvent {
        job_id,
        seq,
        at,
        message,
        progress: Some(progress),
        instance: Some(owner.to_owned()),
    })
}

/// The events of a batch of recorded outcomes, numbered from `first_seq`, each with the counters
/// as of that event; `before` is (sent, failed, unknown) before the batch.
pub(crate) fn outcome_events(
    job: JobId,
    first_seq: u64,
    at: DateTime<Utc>,
    recorded: &[&ItemOutcome],
    before: (i64, i64, i64),
    total: i64,
) -> Vec<StoredEvent> {
    let (mut sent, mut failed, mut unknown) = before;
    recorded
        .iter()
        .enumerate()
        .map(|(i, outcome)| {
            match outcome.status {
                ItemStatus::Sent => sent += 1,
                ItemStatus::Failed => failed += 1,
                _ => unknown += 1,
            }
            StoredEvent::from_msg(&outcome_event(
                job,
                first_seq + i as u64,
                at,
                outcome,
                progress_of(sent, failed, unknown, total),
            ))
        })
        .collect()
}

/// `job_created`, every job's first event.
pub(crate) fn created_event(job: &JobView, at: DateTime<Utc>) -> StoredEvent {
    StoredEvent::from_msg(&ServerMsg::JobCreated(JobCreatedEvent {
        job_id: job.id,
        seq: 1,
        at,
        job: job.clone(),
    }))
}

/// `job_resumed`, as resume and retry write it.
pub(crate) fn resumed_event(
    job_id: JobId,
    seq: u64,
    at: DateTime<Utc>,
    message: String,
    progress: Progress,
) -> ServerMsg {
    ServerMsg::JobResumed(JobStartedEvent {
        job_id,
        seq,
        at,
        message,
        progress: Some(progress),
        instance: None,
    })
}

/// The condition under which a running job's runner may still be asked to stop: a cancel may
/// override a pause, never the reverse (`$1` is the control asked for).
pub(crate) const RUNNING_FENCE: &str =
    "status = 'processing' AND (control IS NULL OR control = $1 OR $1 = 'cancel')";

/// Who may end a job: its runner (checked by lease), or anyone while no runner holds it.
pub(crate) enum Holder<'a> {
    Runner(&'a str),
    Nobody,
    /// An outside worker (by its job's token, checked before): its job has no lease.
    Worker,
}

impl Holder<'_> {
    /// Who may write a change decided with `fence` (stops of jobs no runner holds).
    pub fn of(fence: Fence) -> Holder<'static> {
        match fence {
            Fence::Worker => Holder::Worker,
            _ => Holder::Nobody,
        }
    }

    /// The condition under which this holder may end a job; `owner` is where the runner's name
    /// is bound.
    pub fn end_fence(&self, owner: &str) -> String {
        match self {
            Holder::Runner(_) => format!("lease_owner = {owner}"),
            Holder::Nobody => "lease_owner IS NULL AND status IN ('pending', 'paused')".into(),
            Holder::Worker => "kind = 'external' AND status IN ('pending', 'processing')".into(),
        }
    }

    /// The condition under which this holder may report items.
    pub fn report_fence(&self, owner: &str) -> String {
        match self {
            Holder::Runner(_) => format!("lease_owner = {owner}"),
            _ => "kind = 'external' AND status IN ('pending', 'processing')".into(),
        }
    }

    /// The runner's name, to bind where `end_fence` or `report_fence` asks for it.
    pub fn owner(&self) -> Option<&str> {
        match self {
            Holder::Runner(owner) => Some(owner),
            _ => None,
        }
    }
}

/// What completing sets on a multi-stage job: the whole way through, and a search's last stage.
pub(crate) const COMPLETED_STAGE: &str = "percentage = CASE WHEN kind = 'bulk_send' THEN percentage ELSE 100.0 END, \
     stage = CASE WHEN kind = 'scrape' THEN 'completed' ELSE stage END,";

/// A database the store's flows run on: its rows, its reads and its write transactions.
#[async_trait::async_trait]
pub(crate) trait Backend: Send + Sync + 'static {
    type Row: Cols + Send + Sync + 'static;
    type Dialect: Dialect;
    type Reads<'a>: Sql<Row = Self::Row, Dialect = Self::Dialect>
    where
        Self: 'a;
    type Tx<'a>: CommandTx<Row = Self::Row, Dialect = Self::Dialect>
        + CampaignTx
        + EngineTx
        + BulkTx
    where
        Self: 'a;
    /// Where reads run, outside any write transaction.
    fn reads(&self) -> Self::Reads<'_>;
    /// Begins a write transaction.
    async fn write(&self) -> StoreResult<Self::Tx<'_>>;
    /// Writes one statement on its own; how many rows it changed.
    async fn write_one(&self, sql: &str, args: Args) -> StoreResult<u64> {
        let mut tx = self.write().await?;
        let changed = tx.run(sql, args).await?;
        tx.commit().await?;
        Ok(changed)
    }
    /// Writes one statement outside a transaction, in this process's turn to write where it
    /// takes turns; the rows it returns.
    async fn write_unlocked(&self, sql: &str, args: Args) -> StoreResult<Vec<Self::Row>>;
    /// Applies pending migrations.
    async fn apply_migrations(&self) -> StoreResult<()>;
    /// The tenant of a live token, recording its use at most once a minute.
    async fn token_tenant(&self, token_hash: &str) -> StoreResult<Option<TenantId>>;
}

#[async_trait::async_trait]
impl<B: EngineSql + CampaignSql> Store for B {
    async fn migrate(&self) -> StoreResult<()> {
        self.apply_migrations().await
    }

    async fn ping(&self) -> StoreResult<()> {
        self.reads().run("SELECT 1", Vec::new()).await?;
        Ok(())
    }
}

/// A change other instances hear about at commit (a wake-up: they read the row).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Announcement {
    /// A new inbox message.
    Inbound(TenantId, i64),
    /// A sender's health changed.
    SenderHealth(TenantId, Uuid),
}

impl Announcement {
    /// What listeners get: `tenant_id:id`.
    pub(crate) fn payload(&self) -> String {
        match self {
            Announcement::Inbound(tenant, id) => format!("{}:{id}", tenant.0),
            Announcement::SenderHealth(tenant, id) => format!("{}:{id}", tenant.0),
        }
    }
}

/// The fenced primitives every write needs, inside one write transaction.
#[async_trait::async_trait]
pub(crate) trait WriteTx: Sql + Send + Sized {
    /// Announces a change to other instances at commit, where the backend announces.
    async fn announce(&mut self, _what: Announcement) -> StoreResult<()> {
        Ok(())
    }
    /// Inserts events (announced, where the backend announces, at commit).
    async fn insert_events(
        &mut self,
        events: &[StoredEvent],
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Ends (or pauses) the job if `holder` holds it, counting its event; the job's
    /// `sent, failed, unknown, total, last_seq, started_at, percentage`.
    async fn end_row(
        &mut self,
        job: JobId,
        holder: Holder<'_>,
        status: JobStatus,
        last_error: Option<String>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Self::Row>> {
        let completed = if status == JobStatus::Completed {
            COMPLETED_STAGE
        } else {
            ""
        };
        let now_sql = D::<Self>::now("$5");
        let sql = format!(
            "UPDATE jobs SET status = $1, lease_owner = NULL, lease_expires_at = NULL, \
             control = NULL, finished_at = CASE WHEN $1 = 'paused' THEN NULL ELSE {now_sql} END, \
             last_error = COALESCE($2, last_error), {completed} \
             last_seq = last_seq + 1, updated_at = {now_sql} WHERE id = $3 AND {} \
             RETURNING sent, failed, unknown, total, last_seq, started_at, percentage",
            holder.end_fence("$4")
        );
        let args = args![status.as_str(), last_error, job, holder.owner(), now];
        self.row(&sql, args).await
    }
    /// How many devices sent the job's items.
    async fn devices_used(&mut self, job: JobId) -> StoreResult<i64> {
        let sql = "SELECT COUNT(DISTINCT device_id) AS n FROM items \
             WHERE job_id = $1 AND device_id IS NOT NULL";
        let row = self.row(sql, args![job]).await?;
        Ok(row.map_or(0, |row| row.big("n")))
    }
    /// Stores a completed job's summary.
    async fn set_results(&mut self, job: JobId, results: &JobResults) -> StoreResult<()> {
        let results = serde_json::to_value(results).expect("results serialise");
        let sql = "UPDATE jobs SET results = $1 WHERE id = $2";
        self.run(sql, args![results, job]).await?;
        Ok(())
    }
    async fn commit(self) -> StoreResult<()>;
}

/// Writes a job's end (or pause) and its event; `None` if `holder` does not hold the job.
pub(crate) async fn end_job(
    tx: &mut impl WriteTx,
    job: JobId,
    holder: Holder<'_>,
    end: JobEnd,
) -> StoreResult<Option<StoredEvent>> {
    let now = Utc::now();
    let last_error = match &end {
        JobEnd::Failed { error, .. } => Some(error.clone()),
        _ => None,
    };
    let status = end_status(&end);
    let Some(row) = tx.end_row(job, holder, status, last_error, now).await? else {
        return Ok(None);
    };
    lanes::LaneTx::empty_lanes(tx, job).await?;
    let seq = row.big("last_seq") as u64;
    let progress = with_percentage(rows::progress(&row), row.opt_float("percentage"));
    let results = match &end {
        JobEnd::Completed {
            parallel_workers, ..
        } => {
            let devices_used = tx.devices_used(job).await?;
            let started = row.opt_time("started_at").unwrap_or(now);
            let results = summarise(
                progress,
                devices_used as u32,
                *parallel_workers,
                (now - started).num_milliseconds(),
            );
            tx.set_results(job, &results).await?;
            Some(results)
        }
        _ => None,
    };
    let event = StoredEvent::from_msg(&end_event(job, seq, now, end, progress, results));
    tx.insert_events(std::slice::from_ref(&event), now).await?;
    hooks::queue_job_end(tx, job, status, &event, now).await?;
    Ok(Some(event))
}

/// The fenced primitives a command needs beyond ending a job: each backend writes them in its
/// SQL; `run_command` below is the one flow over them, for both.
#[async_trait::async_trait]
pub(crate) trait CommandTx: WriteTx {
    /// The tenant's job (`JOB_COLUMNS`), locked for the rest of the transaction.
    async fn locked_job(&mut self, tenant: TenantId, job: JobId) -> StoreResult<Option<Self::Row>> {
        let sql = format!(
            "SELECT {} FROM jobs WHERE id = $1 AND tenant_id = $2{}",
            rows::JOB_COLUMNS,
            D::<Self>::FOR_UPDATE
        );
        self.row(&sql, args![job, tenant]).await
    }
    /// The job (`JOB_COLUMNS`) as the transaction sees it now.
    async fn job_row(&mut self, job: JobId) -> StoreResult<Self::Row> {
        let sql = format!("SELECT {} FROM jobs WHERE id = $1", rows::JOB_COLUMNS);
        self.one(&sql, args![job]).await
    }
    /// Asks a running job's runner to stop, if `RUNNING_FENCE` still holds.
    async fn ask(&mut self, job: JobId, control: Control) -> StoreResult<bool> {
        let sql = format!(
            "UPDATE jobs SET control = $1, updated_at = {} WHERE id = $3 AND {RUNNING_FENCE}",
            D::<Self>::now("$2")
        );
        let asked = self.run(&sql, args![control.column(), Utc::now(), job]);
        Ok(asked.await? == 1)
    }
    /// Puts the job's items in `statuses` back to `pending`: how many were failed, how many unknown.
    async fn requeue_items(
        &mut self,
        job: JobId,
        statuses: &[ItemStatus],
    ) -> StoreResult<(i64, i64)> {
        let sql = format!(
            "UPDATE items SET status = 'pending', error = NULL, fault = NULL, updated_at = {} \
             WHERE job_id = $2 AND status = $3",
            D::<Self>::now("$1")
        );
        let (mut failed, mut unknown) = (0, 0);
        for status in statuses {
            let args = args![Utc::now(), job, status.as_str()];
            let requeued = self.run(&sql, args).await? as i64;
            match status {
                ItemStatus::Unknown => unknown += requeued,
                _ => failed += requeued,
            }
        }
        Ok((failed, unknown))
    }
    /// Puts the failed items of `classes` back in the queue; how many.
    async fn requeue_failed_of(&mut self, job: JobId, classes: &[String]) -> StoreResult<i64> {
        let failed = self
            .rows(
                "SELECT idx, fault FROM items WHERE job_id = $1 AND status = 'failed'",
                args![job],
            )
            .await?;
        let chosen: Vec<i64> = failed
            .iter()
            .filter(|row| {
                let fault: Option<crate::protocol::fault::SendFault> =
                    row.json("fault").ok().flatten();
                let class =
                    fault.map_or_else(|| crate::protocol::OTHER_FAILURE.to_owned(), |f| f.class());
                classes.contains(&class)
            })
            .map(|row| row.big("idx"))
            .collect();
        let mut requeued = 0;
        for chunk in chosen.chunks(1_000) {
            let sql = format!(
                "UPDATE items SET status = 'pending', error = NULL, fault = NULL, updated_at = {} \
                 WHERE job_id = $2 AND status = 'failed' AND idx IN ({})",
                D::<Self>::now("$1"),
                chunk
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            requeued += self.run(&sql, args![Utc::now(), job]).await? as i64;
        }
        Ok(requeued)
    }
    /// Puts the job back in the queue, uncounting the requeued items; the job (`JOB_COLUMNS`).
    async fn requeue_job(
        &mut self,
        job: JobId,
        failed: i64,
        unknown: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Self::Row> {
        let sql = format!(
            "UPDATE jobs SET status = 'pending', control = NULL, finished_at = NULL, \
             results = NULL, failed = failed - $1, unknown = unknown - $2, \
             last_seq = last_seq + 1, updated_at = {} WHERE id = $4 RETURNING {}",
            D::<Self>::now("$3"),
            rows::JOB_COLUMNS
        );
        self.one(&sql, args![failed, unknown, now, job]).await
    }
}

impl<T: WriteTx> CommandTx for T {}

/// How far apart a job's two pace checkpoints are at least: its rate is read over the last
/// 10 to 20 seconds.
pub(crate) const PACE_CHECKPOINT: std::time::Duration = std::time::Duration::from_secs(10);

/// The `SET` clauses that keep a job's pace as `moved` items are counted at `now`: `moved_at`,
/// and the checkpoints, the newer one becoming the older once it is `checkpoint` old. Every
/// right-hand side reads the row as it was, so the four move together.
pub(crate) fn pace_columns(now: &str, checkpoint: &str, moved: &str) -> String {
    let due = format!("(pace_b_at IS NULL OR pace_b_at <= {checkpoint})");
    format!(
        "moved_at = CASE WHEN {moved} > 0 THEN {now} ELSE moved_at END, \
         pace_a_at = CASE WHEN {due} THEN pace_b_at ELSE pace_a_at END, \
         pace_a_done = CASE WHEN {due} THEN pace_b_done ELSE pace_a_done END, \
         pace_b_at = CASE WHEN {due} THEN {now} ELSE pace_b_at END, \
         pace_b_done = CASE WHEN {due} THEN sent + failed + unknown ELSE pace_b_done END"
    )
}

/// Carries out a command as `lifecycle::decide` rules, over a backend's fenced primitives.
pub(crate) async fn run_command(
    mut tx: impl CommandTx,
    tenant: TenantId,
    job: JobId,
    command: Command,
    only_classes: Option<&[String]>,
) -> StoreResult<Option<Transition>> {
    let Some(current) = tx.locked_job(tenant, job).await? else {
        return Ok(None);
    };
    let current = rows::job_view(&current)?;
    let change = match lifecycle::decide(&current, command) {
        Ok(change) => change,
        Err(refusal) => return Ok(Some(Transition::refused(current, refusal))),
    };
    let (job, event) = match change {
        Change::Stop { to, fence, note } => {
            let stopped = end_job(&mut tx, job, Holder::of(fence), JobEnd::stopped(to, note));
            let Some(event) = stopped.await? else {
                return Ok(Some(Transition::refused(
                    current,
                    Refusal::ChangedMeanwhile,
                )));
            };
            (rows::job_view(&tx.job_row(job).await?)?, event)
        }
        Change::Ask { control, .. } => {
            if !tx.ask(job, control).await? {
                return Ok(Some(Transition::refused(current, Refusal::BeingCancelled)));
            }
            tx.commit().await?;
            return Ok(Some(Transition::Requested(current)));
        }
        Change::Requeue { requeue, .. } => {
            let (failed, unknown) = match only_classes {
                Some(classes) => (tx.requeue_failed_of(job, classes).await?, 0),
                None => tx.requeue_items(job, requeue).await?,
            };
            if only_classes.is_some() && failed == 0 {
                let refusal = Refusal::NothingToRetry {
                    include_unknown: false,
                };
                return Ok(Some(Transition::refused(current, refusal)));
            }
            let Some(note) = requeue_note(requeue, failed + unknown) else {
                return Ok(Some(Transition::refused(
                    current,
                    Refusal::ChangedMeanwhile,
                )));
            };
            let now = Utc::now();
            let view = rows::job_view(&tx.requeue_job(job, failed, unknown, now).await?)?;
            let event = StoredEvent::from_msg(&resumed_event(
                job,
                view.last_seq,
                now,
                note.message(),
                view.progress,
            ));
            tx.insert_events(std::slice::from_ref(&event), now).await?;
            (view, event)
        }
    };
    tx.commit().await?;
    Ok(Some(Transition::Done { job, event }))
}

/// A tenant created now.
pub(crate) fn new_tenant(name: &str) -> Tenant {
    Tenant {
        id: TenantId(Uuid::now_v7()),
        name: name.to_owned(),
        created_at: Utc::now(),
    }
}

/// An API token created now.
pub(crate) fn new_token(name: &str) -> TokenView {
    TokenView {
        id: Uuid::now_v7(),
        name: name.to_owned(),
        created_at: Utc::now(),
        last_used_at: None,
        revoked_at: None,
    }
}

/// A user to create.
pub(crate) fn new_user(tenant: TenantId, username: &str, password_hash: &str, role: Role) -> User {
    User {
        id: Uuid::now_v7(),
        tenant_id: tenant,
        username: username.to_owned(),
        password_hash: password_hash.to_owned(),
        role,
    }
}

/// Fails a create whose unique name was taken (nothing `inserted`) with `taken`'s sentence.
pub(crate) fn unless_taken(inserted: u64, taken: impl FnOnce() -> String) -> StoreResult<()> {
    if inserted == 0 {
        return Err(StoreError::Conflict(taken()));
    }
    Ok(())
}

/// The note of a requeue that put `items` back: `None` when a retry found nothing after all.
pub(crate) fn requeue_note(statuses: &[ItemStatus], items: i64) -> Option<Note> {
    match (statuses.is_empty(), items) {
        (true, _) => Some(Note::ResumedOnRequest),
        (false, 0) => None,
        (false, items) => Some(Note::Retrying {
            items: items as u64,
        }),
    }
}

/// The error written on items in flight when their runner died, with a provider that cannot
/// de-duplicate.
pub(crate) const UNKNOWN_ERROR: &str =
    "in flight when its runner stopped; not re-sent automatically";

/// `UNKNOWN_ERROR` as a code, for the item's `fault`.
pub(crate) fn unknown_fault() -> serde_json::Value {
    serde_json::to_value(crate::protocol::fault::SendFault::InFlightWhenStopped)
        .expect("faults serialise")
}

/// The stages of a scraping job, in order.
pub(crate) const SCRAPE_STAGES: [&str; 6] = [
    "initializing",
    "fetching",
    "analyzing",
    "searching",
    "processing",
    "completed",
];

/// What a campaign's scraping job needs to run.
pub(crate) fn campaign_job_params(campaign: &CampaignView) -> serde_json::Value {
    serde_json::json!({
        "keywords": campaign.keywords,
        "source": campaign.source,
        "target": campaign.target_results,
        "stages": SCRAPE_STAGES,
    })
}

/// What an outside worker's job keeps: its stages.
pub(crate) fn external_params(stages: &[String]) -> serde_json::Value {
    serde_json::json!({ "stages": stages })
}

/// An item to record by key: a result found, or an item a worker reported.
pub(crate) struct ItemNote {
    pub key: String,
    pub ok: bool,
    pub title: Option<String>,
    pub error: Option<String>,
    /// `error` as a code, for the item's event (a page that could not be read).
    pub fault: Option<FetchFault>,
    pub data: Option<serde_json::Value>,
    /// What a results search matches: URL, title, author and text, lowercased.
    pub search: Option<String>,
}

impl ItemNote {
    /// A result a scraping job found.
    pub fn found(result: &FoundResult) -> ItemNote {
        ItemNote {
            key: result.url.clone(),
            ok: true,
            title: result.title.clone(),
            error: None,
            fault: None,
            data: serde_json::to_value(result).ok(),
            search: Some(search_text(result)),
        }
    }

    /// A page a scraping job could not read: a failed item, keyed by the page's URL.
    pub fn failed_page(page: &FailedPage) -> ItemNote {
        ItemNote {
            key: page.url.clone(),
            ok: false,
            title: None,
            error: Some(page.error.clone()),
            fault: page.fault.clone(),
            data: None,
            search: None,
        }
    }

    /// An item an outside worker reported.
    pub fn reported(item: &WorkerItem) -> ItemNote {
        ItemNote {
            key: item.key.clone(),
            ok: item.status == "ok",
            title: None,
            error: item.error.clone(),
            fault: None,
            data: item.data.clone(),
            search: None,
        }
    }
}

/// The text a results search looks in, folded the same way as the search itself.
pub(crate) fn search_text(result: &FoundResult) -> String {
    [
        Some(result.url.as_str()),
        result.title.as_deref(),
        result.author.as_deref(),
        result.text.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join("\n")
    .to_lowercase()
}

/// A search's `LIKE` pattern: trimmed, lowercased like `search_text`, wildcards escaped.
pub(crate) fn search_pattern(search: Option<&str>) -> Option<String> {
    search
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| format!("%{}%", like_escape(&s.to_lowercase())))
}

/// Escapes `%`, `_` and the escape character itself for a `LIKE … ESCAPE '\\'` pattern.
pub(crate) fn like_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// A result as people see it, from its stored key and data.
pub(crate) fn result_view(
    url: String,
    data: Option<FoundResult>,
    job_id: JobId,
    found_at: DateTime<Utc>,
) -> ResultView {
    let data = data.unwrap_or(FoundResult {
        url: url.clone(),
        title: None,
        author: None,
        text: None,
        keyword: None,
    });
    ResultView {
        url,
        title: data.title,
        author: data.author,
        text: data.text,
        keyword: data.keyword,
        job_id,
        found_at,
    }
}

/// The `item` events of recorded items, numbered up to `last_seq`, each with the counters as of
/// that event; `before` is (sent, failed) before the batch.
pub(crate) fn item_events(
    job: JobId,
    at: DateTime<Utc>,
    recorded: Vec<ItemNote>,
    before: (i64, i64),
    total: i64,
    last_seq: u64,
    percentage: Option<f64>,
) -> Vec<StoredEvent> {
    let first_seq = last_seq + 1 - recorded.len() as u64;
    let (mut sent, mut failed) = before;
    recorded
        .into_iter()
        .enumerate()
        .map(|(i, note)| {
            if note.ok {
                sent += 1;
            } else {
                failed += 1;
            }
            StoredEvent::from_msg(&ServerMsg::Item(ItemReport {
                job_id: job,
                seq: first_seq + i as u64,
                at,
                key: note.key,
                status: if note.ok { "ok" } else { "failed" }.to_owned(),
                title: note.title,
                error: note.error,
                fault: note.fault,
                progress: with_percentage(progress_of(sent, failed, 0, total), percentage),
            }))
        })
        .collect()
}

/// A `stage` event.
#[allow(clippy::too_many_arguments)]
pub(crate) fn stage_event(
    job: JobId,
    seq: u64,
    at: DateTime<Utc>,
    stage: &str,
    percentage: f64,
    progress: Progress,
    message: Option<&str>,
    note: Option<&StageNote>,
) -> StoredEvent {
    StoredEvent::from_msg(&ServerMsg::Stage(StageEvent {
        job_id: job,
        seq,
        at,
        stage: stage.to_owned(),
        percentage: (percentage * 100.0).round() / 100.0,
        progress: Some(with_percentage(progress, Some(percentage))),
        message: message.map(str::to_owned),
        note: note.cloned(),
    }))
}

/// `job_started` of an outside worker's job, written on its first report.
pub(crate) fn started_by_worker(
    job: JobId,
    seq: u64,
    at: DateTime<Utc>,
    progress: Progress,
) -> StoredEvent {
    StoredEvent::from_msg(&ServerMsg::JobStarted(JobStartedEvent {
        job_id: job,
        seq,
        at,
        message: "Started by its outside worker".to_owned(),
        progress: Some(progress),
        instance: None,
    }))
}
