//! What every backend computes the same way: event messages, summaries, and the sentences that
//! explain a refused transition. Keeping them here makes the backends differ only in SQL.

use chrono::{DateTime, Utc};

use super::{
    FailedPage, FoundResult, ItemOutcome, JobEnd, StoredEvent, outcome_event, progress_of,
};
use super::{StoreResult, TenantId, Transition};
use crate::protocol::JobView;
use crate::protocol::fault::StageNote;
use crate::protocol::lifecycle::{self, Change, Command, Control, Fence, Note, Refusal};
use crate::protocol::{
    CampaignView, ItemReport, ItemStatus, JobCompletedEvent, JobFailedEvent, JobId, JobResults,
    JobStartedEvent, JobStatus, JobStoppedEvent, Progress, ResultView, ServerMsg, StageEvent,
    WorkerItem,
};

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
        JobEnd::Failed { error, message } => ServerMsg::JobFailed(JobFailedEvent {
            job_id,
            seq,
            at,
            error,
            message,
            progress: Some(progress),
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
/// override a pause, never the reverse (`?1` is the control asked for).
pub(crate) const RUNNING_FENCE: &str =
    "status = 'processing' AND (control IS NULL OR control = ?1 OR ?1 = 'cancel')";

/// The fenced primitives a command needs, inside one write transaction: each backend writes
/// them in its SQL; `run_command` below is the one flow over them, for both.
#[async_trait::async_trait]
pub(crate) trait CommandTx: Send + Sized {
    /// The tenant's job, locked for the rest of the transaction.
    async fn locked_job(&mut self, tenant: TenantId, job: JobId) -> StoreResult<Option<JobView>>;
    /// Ends (or pauses) a job no runner holds, if `fence` still holds; its final event.
    async fn stop(
        &mut self,
        job: JobId,
        fence: Fence,
        end: JobEnd,
    ) -> StoreResult<Option<StoredEvent>>;
    /// Asks a running job's runner to stop, if `RUNNING_FENCE` still holds.
    async fn ask(&mut self, job: JobId, control: Control) -> StoreResult<bool>;
    /// Puts the job's items in `statuses` back to `pending`: how many were failed, how many unknown.
    async fn requeue_items(
        &mut self,
        job: JobId,
        statuses: &[ItemStatus],
    ) -> StoreResult<(i64, i64)>;
    /// Puts the job back in the queue, writing `job_resumed` with `message`.
    async fn requeue_job(
        &mut self,
        job: JobId,
        failed: i64,
        unknown: i64,
        message: String,
    ) -> StoreResult<(JobView, StoredEvent)>;
    /// The job as the transaction sees it now.
    async fn reread(&mut self, job: JobId) -> StoreResult<JobView>;
    async fn commit(self) -> StoreResult<()>;
}

/// Carries out a command as `lifecycle::decide` rules, over a backend's fenced primitives.
pub(crate) async fn run_command(
    mut tx: impl CommandTx,
    tenant: TenantId,
    job: JobId,
    command: Command,
) -> StoreResult<Option<Transition>> {
    let Some(current) = tx.locked_job(tenant, job).await? else {
        return Ok(None);
    };
    let change = match lifecycle::decide(&current, command) {
        Ok(change) => change,
        Err(refusal) => return Ok(Some(Transition::refused(current, refusal))),
    };
    let (job, event) = match change {
        Change::Stop { to, fence, note } => {
            let Some(event) = tx.stop(job, fence, JobEnd::stopped(to, note)).await? else {
                return Ok(Some(Transition::refused(
                    current,
                    Refusal::ChangedMeanwhile,
                )));
            };
            (tx.reread(job).await?, event)
        }
        Change::Ask { control, .. } => {
            if !tx.ask(job, control).await? {
                return Ok(Some(Transition::refused(current, Refusal::BeingCancelled)));
            }
            tx.commit().await?;
            return Ok(Some(Transition::Requested(current)));
        }
        Change::Requeue { requeue, .. } => {
            let (failed, unknown) = tx.requeue_items(job, requeue).await?;
            let Some(note) = requeue_note(requeue, failed + unknown) else {
                return Ok(Some(Transition::refused(
                    current,
                    Refusal::ChangedMeanwhile,
                )));
            };
            tx.requeue_job(job, failed, unknown, note.message()).await?
        }
    };
    tx.commit().await?;
    Ok(Some(Transition::Done { job, event }))
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
