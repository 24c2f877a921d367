//! Campaigns and outside workers' jobs: validation, creation and reports, shared by REST handlers
//! and server functions so both behave the same.

use crate::protocol::audit::AuditAction;
use crate::server::audit;
use std::collections::HashSet;
use std::time::Duration;

use uuid::Uuid;

use crate::protocol::failure::JobFault;
use crate::protocol::problem::{CampaignField, CampaignRule, RequestRule};
use crate::protocol::{
    CampaignView, CreateCampaignRequest, CreateExternalJobRequest, JobId, JobView, ResultView,
    SourceSpec, WorkerItem, WorkerProgress,
};
use crate::server::AppState;
use crate::server::adapters::sources;
use crate::server::live::hub::EventBatch;
use crate::server::secrets as auth;
use crate::server::store::{JobEnd, NewCampaign, StoreError, StoredEvent, TenantId};

/// A campaign this small is waited for: its creator gets the results in the answer.
pub const SMALL_CAMPAIGN: u32 = 50;
/// Most results one campaign job looks for.
pub const MAX_TARGET: u32 = 100_000;
/// Most keywords per campaign.
pub const MAX_KEYWORDS: usize = 20;
/// Most items one worker report may carry.
pub const MAX_WORKER_ITEMS: usize = 1_000;
/// Most items an outside worker's job may count.
pub const MAX_EXTERNAL_TOTAL: u64 = 10_000_000;
/// Most stages an outside worker's job may declare.
pub const MAX_STAGES: usize = 20;

/// Why a campaign or worker request was not carried out.
#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    /// The request is unusable (a 422).
    #[error("{0:?}")]
    Invalid(RequestRule),
    /// A campaign that breaks one of its rules (a 422).
    #[error("{0:?}")]
    Rule(CampaignRule),
    #[error("Campaign not found.")]
    NotFound,
    /// The worker token is not this job's (a 401).
    #[error("Send this job's worker_token as 'Authorization: Bearer <worker_token>'.")]
    WrongWorker,
    /// The job has ended (a 409): its worker should stop.
    #[error("the job has ended ({0:?})")]
    Ended(crate::protocol::JobStatus),
    /// The job was removed meanwhile.
    #[error("the job is gone")]
    JobGone,
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn invalid<T>(rule: RequestRule) -> Result<T, CampaignError> {
    Err(CampaignError::Invalid(rule))
}

fn broken<T>(rule: CampaignRule) -> Result<T, CampaignError> {
    Err(CampaignError::Rule(rule))
}

/// The rule a text field breaks, if any: it must have 1 to `max` characters once trimmed.
fn text_rule(field: CampaignField, value: &str, max: usize) -> Option<CampaignRule> {
    let value = value.trim();
    let chars = value.chars().count();
    if value.is_empty() {
        Some(CampaignRule::Empty { field })
    } else if chars > max {
        Some(CampaignRule::TooLong {
            field,
            chars: chars as u64,
            max: max as u64,
        })
    } else {
        None
    }
}

/// A text field, trimmed, that must have 1 to `max` characters.
fn required_text(field: CampaignField, value: &str, max: usize) -> Result<String, CampaignError> {
    match text_rule(field, value, max) {
        Some(rule) => broken(rule),
        None => Ok(value.trim().to_owned()),
    }
}

/// The rule a results-wanted value that is not 1 to `MAX_TARGET` breaks, as it was typed.
pub fn target_out_of_range(got: &str) -> CampaignRule {
    CampaignRule::TargetOutOfRange {
        got: got.to_owned(),
        max: MAX_TARGET as u64,
    }
}

/// Longest keyword, in characters.
pub const MAX_KEYWORD_CHARS: usize = 100;

/// The request's keywords, trimmed and de-duplicated (case aside), or the rule they break.
fn keywords(request: &CreateCampaignRequest) -> Result<Vec<String>, CampaignRule> {
    let mut seen = HashSet::new();
    let mut keywords = Vec::new();
    for (i, keyword) in request.keywords.iter().enumerate() {
        let keyword = keyword.trim();
        if keyword.is_empty() {
            return Err(CampaignRule::KeywordEmpty { index: i });
        }
        if keyword.chars().count() > MAX_KEYWORD_CHARS {
            return Err(CampaignRule::KeywordTooLong {
                index: i,
                max: MAX_KEYWORD_CHARS as u64,
            });
        }
        if seen.insert(keyword.to_lowercase()) {
            keywords.push(keyword.to_owned());
        }
    }
    if keywords.is_empty() {
        return Err(CampaignRule::NoKeywords);
    }
    if keywords.len() > MAX_KEYWORDS {
        return Err(CampaignRule::TooManyKeywords {
            count: keywords.len() as u64,
            max: MAX_KEYWORDS as u64,
        });
    }
    Ok(keywords)
}

/// Every rule a campaign request breaks, in the form's order (the form shows them all, REST
/// answers with the first).
pub fn problems(
    request: &CreateCampaignRequest,
    settings: &crate::server::settings::ScrapeSettings,
) -> Vec<CampaignRule> {
    let mut found: Vec<CampaignRule> = [
        text_rule(CampaignField::Name, &request.name, 200),
        text_rule(CampaignField::Platform, &request.platform, 50),
        keywords(request).err(),
        (!(1..=MAX_TARGET).contains(&request.target_results))
            .then(|| target_out_of_range(&request.target_results.to_string())),
        crate::protocol::clean_tags(&request.tags)
            .err()
            .map(|problem| CampaignRule::Tags { problem }),
    ]
    .into_iter()
    .flatten()
    .collect();
    found.extend(
        sources::problems(&request.source, settings)
            .into_iter()
            .map(|source| CampaignRule::Source { source }),
    );
    found
}

/// Checks a campaign request and normalises it (trimmed, keywords de-duplicated).
pub fn validate(
    tenant: TenantId,
    request: CreateCampaignRequest,
    settings: &crate::server::settings::ScrapeSettings,
) -> Result<NewCampaign, CampaignError> {
    if let Some(rule) = problems(&request, settings).into_iter().next() {
        return broken(rule);
    }
    let keywords = keywords(&request).map_err(CampaignError::Rule)?;
    let tags = crate::protocol::clean_tags(&request.tags)
        .map_err(|problem| CampaignError::Rule(CampaignRule::Tags { problem }))?;
    Ok(NewCampaign {
        tenant_id: tenant,
        tags,
        name: request.name.trim().to_owned(),
        platform: request.platform.trim().to_owned(),
        keywords,
        target_results: request.target_results,
        source: request.source,
    })
}

fn publish(state: &AppState, tenant: TenantId, events: Vec<StoredEvent>) {
    if let Some(first) = events.first() {
        state.hub.publish(EventBatch {
            job_id: first.job_id,
            tenant_id: tenant,
            events,
        });
    }
}

fn wake(state: &AppState) {
    if let Some(engine) = &state.engine {
        engine.wake();
    }
}

/// Creates a campaign and its first search job, which starts at once.
#[tracing::instrument(skip_all, fields(tenant = %tenant))]
pub async fn create(
    state: &AppState,
    tenant: TenantId,
    request: CreateCampaignRequest,
) -> Result<(CampaignView, JobView), CampaignError> {
    let new = validate(tenant, request, &state.settings.scrape)?;
    let (campaign, job, event) = state.store.create_campaign(new).await?;
    tracing::info!(campaign_id = %campaign.id, job_id = %job.id, "campaign created");
    audit::note(
        AuditAction::CampaignCreate,
        campaign.id,
        Some(campaign.name.clone()),
    );
    publish(state, tenant, vec![event]);
    wake(state);
    Ok((redacted(campaign), job))
}

/// Runs a campaign's search again, as a new job of the same campaign.
pub async fn rerun(
    state: &AppState,
    tenant: TenantId,
    campaign: Uuid,
) -> Result<JobView, CampaignError> {
    let (job, event) = state
        .store
        .add_campaign_job(tenant, campaign)
        .await?
        .ok_or(CampaignError::NotFound)?;
    audit::note(
        AuditAction::CampaignRerun,
        campaign,
        Some(job.id.to_string()),
    );
    publish(state, tenant, vec![event]);
    wake(state);
    Ok(job)
}

/// A campaign as people may see it: secrets in its source are left out.
pub fn redacted(mut campaign: CampaignView) -> CampaignView {
    if let SourceSpec::Apify(spec) = &mut campaign.source {
        spec.token.clear();
    }
    campaign
}

/// One of the tenant's campaigns, with its jobs.
pub async fn get(
    state: &AppState,
    tenant: TenantId,
    id: Uuid,
) -> Result<CampaignView, CampaignError> {
    state
        .store
        .campaign(tenant, id)
        .await?
        .map(redacted)
        .ok_or(CampaignError::NotFound)
}

/// A page of a campaign's results and how many match.
pub async fn results(
    state: &AppState,
    tenant: TenantId,
    campaign: Uuid,
    search: Option<&str>,
    offset: u64,
    limit: u32,
) -> Result<(Vec<ResultView>, u64), CampaignError> {
    state
        .store
        .campaign_results(tenant, campaign, search, offset, limit)
        .await?
        .ok_or(CampaignError::NotFound)
}

/// Waits (up to `timeout`) for a job to end; the job as it is then.
pub async fn wait_for_end(
    state: &AppState,
    tenant: TenantId,
    job: JobId,
    timeout: Duration,
) -> Result<JobView, CampaignError> {
    // Listen before looking, so an end committed in between is heard.
    let mut events = state.hub.subscribe_job(job);
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let current = state
            .store
            .job(tenant, job)
            .await?
            .ok_or(CampaignError::NotFound)?;
        if current.status.is_terminal() || tokio::time::Instant::now() >= deadline {
            return Ok(current);
        }
        // Only the end matters here: the bridge need not relay what came before.
        state.hub.note_snapshot(job, current.last_seq);
        // The job may run on another instance: a wake-up from the hub, or a look now and then.
        let _ = tokio::time::timeout_at(
            deadline.min(tokio::time::Instant::now() + Duration::from_millis(500)),
            events.recv(),
        )
        .await;
    }
}

/// Checks an outside worker's job request.
pub fn validate_external(request: &CreateExternalJobRequest) -> Result<String, CampaignError> {
    if request.kind != "external" {
        return invalid(RequestRule::NotExternal {
            kind: request.kind.clone(),
        });
    }
    let name = required_text(CampaignField::Name, &request.name, 200)?;
    if request.total > MAX_EXTERNAL_TOTAL {
        return invalid(RequestRule::TotalTooLarge {
            got: request.total,
            max: MAX_EXTERNAL_TOTAL,
        });
    }
    if request.stages.len() > MAX_STAGES {
        return invalid(RequestRule::TooManyStages {
            got: request.stages.len() as u64,
            max: MAX_STAGES as u64,
        });
    }
    let mut seen = HashSet::new();
    for (i, stage) in request.stages.iter().enumerate() {
        let stage = required_text(CampaignField::Stage { index: i }, stage, 50)?;
        if !seen.insert(stage.clone()) {
            return invalid(RequestRule::StageTwice { stage });
        }
    }
    Ok(name)
}

/// Creates an outside worker's job; its worker token (shown once).
pub async fn create_external(
    state: &AppState,
    tenant: TenantId,
    request: CreateExternalJobRequest,
) -> Result<(JobView, String), CampaignError> {
    let name = validate_external(&request)?;
    let stages: Vec<String> = request.stages.iter().map(|s| s.trim().to_owned()).collect();
    let token = auth::new_secret("jpw_");
    let (job, event) = state
        .store
        .create_external_job(
            tenant,
            &name,
            request.total,
            &stages,
            &auth::hash_secret(&token),
        )
        .await?;
    tracing::info!(job_id = %job.id, "outside worker's job created");
    publish(state, tenant, vec![event]);
    Ok((job, token))
}

/// The tenant and job a worker token is good for; `WrongWorker` otherwise.
pub async fn worker(
    state: &AppState,
    job: JobId,
    token: Option<&str>,
) -> Result<(TenantId, JobView), CampaignError> {
    let token = token.ok_or(CampaignError::WrongWorker)?;
    state
        .store
        .worker_job(job, &auth::hash_secret(token))
        .await?
        .ok_or(CampaignError::WrongWorker)
}

fn ended(job: &JobView) -> CampaignError {
    CampaignError::Ended(job.status)
}

/// A store refusal because the job ended meanwhile, told with how it ended (read again: it may
/// have been cancelled while this report was on its way).
async fn refused(
    state: &AppState,
    tenant: TenantId,
    job: JobId,
    error: StoreError,
) -> CampaignError {
    match error {
        StoreError::Conflict(_) => match current(state, tenant, job).await {
            Ok(now) => ended(&now),
            Err(error) => error,
        },
        other => CampaignError::Store(other),
    }
}

/// Records a worker's progress report.
pub async fn report_progress(
    state: &AppState,
    (tenant, job): (TenantId, JobView),
    report: WorkerProgress,
) -> Result<JobView, CampaignError> {
    if job.status.is_terminal() {
        return Err(ended(&job));
    }
    let stage = report
        .stage
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let Some(stage) = stage
        && !job.stages.is_empty()
        && !job.stages.iter().any(|s| s == stage)
    {
        return invalid(RequestRule::UnknownStage {
            stage: stage.to_owned(),
            stages: job.stages.clone(),
        });
    }
    let message = report
        .message
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty());
    if message.is_some_and(|m| m.chars().count() > 1_000) {
        return invalid(RequestRule::MessageTooLong { max: 1_000 });
    }
    if report.processed > job.progress.total {
        return invalid(RequestRule::ProcessedOverTotal {
            processed: report.processed,
            total: job.progress.total,
        });
    }
    let events = match state
        .store
        .worker_progress(job.id, report.processed, stage, message)
        .await
    {
        Ok(events) => events,
        Err(error) => return Err(refused(state, tenant, job.id, error).await),
    };
    publish(state, tenant, events);
    current(state, tenant, job.id).await
}

/// Records a batch of a worker's items (a key already reported is ignored).
pub async fn report_items(
    state: &AppState,
    (tenant, job): (TenantId, JobView),
    items: Vec<WorkerItem>,
) -> Result<JobView, CampaignError> {
    if job.status.is_terminal() {
        return Err(ended(&job));
    }
    if items.is_empty() {
        return invalid(RequestRule::NoItems);
    }
    if items.len() > MAX_WORKER_ITEMS {
        return invalid(RequestRule::TooManyItems {
            got: items.len() as u64,
            max: MAX_WORKER_ITEMS as u64,
        });
    }
    for (i, item) in items.iter().enumerate() {
        if item.key.trim().is_empty() || item.key.len() > 2_048 {
            return invalid(RequestRule::ItemKey { index: i });
        }
        if item.status != "ok" && item.status != "failed" {
            return invalid(RequestRule::ItemStatus {
                index: i,
                got: item.status.clone(),
            });
        }
        if item
            .data
            .as_ref()
            .is_some_and(|d| d.to_string().len() > 64 * 1024)
        {
            return invalid(RequestRule::ItemData { index: i });
        }
    }
    let items: Vec<WorkerItem> = items
        .into_iter()
        .map(|mut item| {
            if item.status == "failed" && item.error.as_deref().is_none_or(str::is_empty) {
                item.error = Some("failed (the worker gave no reason)".into());
            }
            item
        })
        .collect();
    let events = match state.store.worker_items(job.id, &items).await {
        Ok(events) => events,
        Err(error) => return Err(refused(state, tenant, job.id, error).await),
    };
    publish(state, tenant, events);
    current(state, tenant, job.id).await
}

/// Ends a worker's job as completed, or as failed with its error.
pub async fn finish(
    state: &AppState,
    (tenant, job): (TenantId, JobView),
    error: Option<String>,
) -> Result<JobView, CampaignError> {
    let end = match error {
        None => JobEnd::Completed {
            parallel_workers: 1,
            note: None,
        },
        Some(error) => JobEnd::Failed {
            error: required_text(CampaignField::Error, &error, 2_000)?,
            message: JobFault::WorkerReported.advice().into(),
            fault: JobFault::WorkerReported,
        },
    };
    match state.store.worker_finish(job.id, end).await? {
        Some(event) => publish(state, tenant, vec![event]),
        None => return Err(ended(&current(state, tenant, job.id).await?)),
    }
    current(state, tenant, job.id).await
}

async fn current(state: &AppState, tenant: TenantId, job: JobId) -> Result<JobView, CampaignError> {
    state
        .store
        .job(tenant, job)
        .await?
        .ok_or(CampaignError::JobGone)
}
