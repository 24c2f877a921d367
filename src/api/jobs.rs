//! Jobs: the dashboard, the job page, the bulk send form, and the job page's buttons.

use leptos::prelude::*;

use crate::protocol::problem::Problem;
#[cfg(feature = "ssr")]
use crate::protocol::problem::Thing;

use super::ApiClient;
#[cfg(feature = "ssr")]
use super::server;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::{INITIAL_LOG_LINES, LineError};
use super::{JobPageData, RecipientCheck, StartOutcome};
use crate::protocol::lifecycle::Command;
use crate::protocol::{BulkAction, BulkActionResult, JobId, JobSearch, JobsPage, RecipientLookup};
use crate::protocol::{ItemStatus, ItemsPage, JobView};

/// Jobs a page of the jobs list shows.
pub const JOBS_PAGE: u32 = 50;

/// A page of the tenant's jobs that `search` matches, older than `before`; the first page also
/// counts them per status.
#[server(endpoint = "list_jobs", client = ApiClient, input = leptos::server_fn::codec::Json)]
pub async fn list_jobs(search: JobSearch, before: Option<JobId>) -> Result<JobsPage, Problem> {
    use crate::server::store::JobFilter;
    let (state, principal) = server::principal().await?;
    let tenant = principal.tenant_id;
    let (jobs, next_before) =
        crate::server::services::jobs::jobs_page(&state, tenant, &search, before, JOBS_PAGE)
            .await
            .map_err(server::store_error)?;
    let counts = match before {
        Some(_) => Vec::new(),
        None => state
            .store
            .count_jobs(tenant, &JobFilter::of(&search, None, 0))
            .await
            .map_err(server::store_error)?,
    };
    Ok(JobsPage {
        jobs,
        next_before,
        counts,
    })
}

/// Every item of the tenant's sends to the number typed, newest send first (the first 200).
#[server(endpoint = "find_recipient", client = ApiClient)]
pub async fn find_recipient(phone: String) -> Result<RecipientLookup, Problem> {
    let (state, principal) = server::principal().await?;
    crate::server::services::jobs::find_recipient(&state, principal.tenant_id, &phone, 200)
        .await
        .map_err(server::store_error)
}

/// Gives one command to every job of the tenant that `search` matches.
#[server(endpoint = "act_on_jobs", client = ApiClient, input = leptos::server_fn::codec::Json)]
pub async fn act_on_jobs(
    search: JobSearch,
    action: BulkAction,
) -> Result<BulkActionResult, Problem> {
    let (state, principal) = server::operator().await?;
    crate::server::services::jobs::bulk_action(&state, principal.tenant_id, &search, action)
        .await
        .map_err(server::store_error)
}

/// One job with its latest log lines; `None` if the tenant has no such job.
#[server(endpoint = "job_page", client = ApiClient)]
pub async fn job_page(id: String) -> Result<Option<JobPageData>, Problem> {
    let (state, principal) = server::principal().await?;
    let Ok(job_id) = id.parse::<JobId>() else {
        return Ok(None);
    };
    let tenant = principal.tenant_id;
    let Some(job) = state
        .store
        .job(tenant, job_id)
        .await
        .map_err(server::store_error)?
    else {
        return Ok(None);
    };
    // Events up to the snapshot's seq only: the page subscribes after it, so nothing is shown twice.
    let events = state
        .store
        .events_before(tenant, job_id, job.last_seq + 1, INITIAL_LOG_LINES)
        .await
        .map_err(server::store_error)?
        .unwrap_or_default();
    let log = events.iter().filter_map(|e| e.msg().ok()).collect();
    let senders = if !job.through_senders() {
        Vec::new()
    } else {
        state
            .store
            .senders_by_id(&job.sender_ids())
            .await
            .map_err(server::store_error)?
            .iter()
            .map(|sender| sender.health_view())
            .collect()
    };
    Ok(Some(JobPageData { job, log, senders }))
}

/// Validates the form and creates a bulk send; every rule it breaks comes back, invalid
/// recipients by line.
#[server(endpoint = "start_bulk_send", client = ApiClient)]
pub async fn start_bulk_send(
    message: String,
    recipients: String,
    devices_limit: String,
    idempotency_key: Option<String>,
    name: Option<String>,
    tags: Option<String>,
) -> Result<StartOutcome, Problem> {
    use crate::protocol::SendBulkRequest;
    use crate::protocol::problem::BulkRule;
    use crate::server::services::jobs::{self, CreateError};

    let (state, principal) = server::operator().await?;
    let tenant = principal.tenant_id;
    let devices = devices_limit.trim().parse::<u32>();
    let entries = crate::recipients::split(&recipients);
    let request = SendBulkRequest {
        message,
        phones: entries.iter().map(|e| e.text.clone()).collect(),
        // A number that does not parse is reported below, with the rest.
        devices_limit: *devices.as_ref().unwrap_or(&1),
        idempotency_key: idempotency_key.filter(|k| !k.is_empty()),
        skip_invalid: false,
        senders: None,
        name,
        tags: super::campaign_form::split_tags(tags.as_deref().unwrap_or_default()),
    };
    let by_line = |invalid: Vec<crate::protocol::InvalidPhone>| -> Vec<LineError> {
        invalid
            .into_iter()
            .map(|bad| LineError {
                line: entries.get(bad.index).map_or(0, |e| e.line),
                entry: bad.phone,
                issue: bad.issue,
            })
            .collect()
    };
    let mut rules = jobs::shape_problems(&request);
    if devices.is_err() {
        rules.push(jobs::devices_out_of_range(devices_limit.trim()));
    }
    if !rules.is_empty() {
        // The recipients are checked too, so one round shows everything to fix.
        let mut lines = Vec::new();
        if (1..=jobs::MAX_PHONES).contains(&request.phones.len()) {
            let total = request.phones.len() as u64;
            let (checked, _) = jobs::check_phones(&state, tenant, request.phones)
                .await
                .map_err(server::store_error)?;
            if !checked.invalid.is_empty() {
                rules.push(BulkRule::SomePhonesInvalid {
                    invalid: checked.invalid.len() as u64,
                    total,
                });
            }
            lines = by_line(checked.invalid);
        }
        return Ok(StartOutcome::Rejected { rules, lines });
    }
    match jobs::create_bulk_send(&state, tenant, request).await {
        Ok(created) => {
            let job_id = created.job().id;
            // Without JavaScript the browser follows this to the job page (with it, the page
            // navigates itself).
            if server::plain_form_post(use_context::<http::request::Parts>().as_ref()) {
                leptos_axum::redirect(&format!("/jobs/{job_id}"));
            }
            Ok(StartOutcome::Created { job_id })
        }
        Err(CreateError::Invalid(rule)) => Ok(StartOutcome::Rejected {
            rules: vec![rule],
            lines: Vec::new(),
        }),
        Err(CreateError::InvalidPhones { rule, invalid }) => Ok(StartOutcome::Rejected {
            rules: vec![rule],
            lines: by_line(invalid),
        }),
        Err(CreateError::Store(error)) => Err(server::store_error(error)),
    }
}

/// Checks a pasted list of recipients as a send would, without sending: the form shows what
/// it holds while the list is written.
#[server(endpoint = "check_recipients", client = ApiClient)]
pub async fn check_recipients(recipients: String) -> Result<RecipientCheck, Problem> {
    use crate::protocol::problem::PhoneIssue;
    use crate::server::services::jobs;

    let (state, principal) = server::operator().await?;
    let phones: Vec<String> = crate::recipients::split(&recipients)
        .into_iter()
        .map(|entry| entry.text)
        .collect();
    let entries = phones.len() as u64;
    if phones.len() > jobs::MAX_PHONES {
        return Ok(RecipientCheck {
            entries,
            too_many: true,
            ..RecipientCheck::default()
        });
    }
    let (checked, _) = jobs::check_phones(&state, principal.tenant_id, phones)
        .await
        .map_err(server::store_error)?;
    let mut check = RecipientCheck {
        entries,
        valid: checked.valid.len() as u64,
        ..RecipientCheck::default()
    };
    for bad in checked.invalid {
        let index = bad.index as u32;
        match bad.issue {
            PhoneIssue::Duplicate { .. } => check.duplicates.push(index),
            PhoneIssue::OptedOut { .. } => check.opted_out.push(index),
            _ => check.invalid.push(index),
        }
    }
    Ok(check)
}

/// What the job page's buttons ask for (a flat enum, so it travels as a form field).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobCommand {
    Cancel,
    Pause,
    Resume,
    RetryFailed,
    /// Retry failed items and the unknown ones (that may have been delivered already).
    RetryFailedAndUnknown,
}

impl From<JobCommand> for Command {
    fn from(command: JobCommand) -> Command {
        match command {
            JobCommand::Cancel => Command::Cancel,
            JobCommand::Pause => Command::Pause,
            JobCommand::Resume => Command::Resume,
            JobCommand::RetryFailed => Command::Retry {
                include_unknown: false,
            },
            JobCommand::RetryFailedAndUnknown => Command::Retry {
                include_unknown: true,
            },
        }
    }
}

/// Cancels, pauses, resumes or retries a job; a refusal comes back as a code the page words.
#[server(endpoint = "job_action", client = ApiClient)]
pub async fn job_action(id: String, command: JobCommand) -> Result<JobView, Problem> {
    let (state, principal) = server::operator().await?;
    let job = id
        .parse::<JobId>()
        .map_err(|_| server::not_found(Thing::Job))?;
    crate::server::services::jobs::command(&state, principal.tenant_id, job, command.into())
        .await
        .map_err(server::fail)
}

/// Sends the rest of a cancelled send as a new send; the new send (the same one when asked again).
#[server(endpoint = "send_rest", client = ApiClient)]
pub async fn send_rest(id: String) -> Result<JobView, Problem> {
    let (state, principal) = server::operator().await?;
    let job = id
        .parse::<JobId>()
        .map_err(|_| server::not_found(Thing::Job))?;
    crate::server::services::jobs::send_rest(&state, principal.tenant_id, job)
        .await
        .map(|created| created.job().clone())
        .map_err(server::fail)
}

/// Pauses or resumes one device of a bulk send (its share goes to the others); the job then.
#[server(endpoint = "device_action", client = ApiClient)]
pub async fn device_action(id: String, device: u32, paused: bool) -> Result<JobView, Problem> {
    let (state, principal) = server::operator().await?;
    let job = id
        .parse::<JobId>()
        .map_err(|_| server::not_found(Thing::Job))?;
    let tenant = principal.tenant_id;
    crate::server::services::jobs::set_device_paused(&state, tenant, job, device, paused)
        .await
        .map_err(server::fail)
}

/// A bulk send's devices as they are now: what each holds, its pace and whether it is paused.
#[server(endpoint = "job_lanes", client = ApiClient)]
pub async fn job_lanes(id: String) -> Result<Vec<crate::protocol::lanes::SenderLane>, Problem> {
    let (state, principal) = server::principal().await?;
    let job = id
        .parse::<JobId>()
        .map_err(|_| server::not_found(Thing::Job))?;
    let job = state
        .store
        .job(principal.tenant_id, job)
        .await
        .map_err(server::store_error)?
        .ok_or_else(|| server::not_found(Thing::Job))?;
    Ok(job.senders)
}

/// Why a job's items failed, one group per class, the biggest first.
#[server(endpoint = "job_failures", client = ApiClient)]
pub async fn job_failures(id: String) -> Result<Vec<crate::protocol::FailureGroup>, Problem> {
    let (state, principal) = server::principal().await?;
    let job = id
        .parse::<JobId>()
        .map_err(|_| server::not_found(Thing::Job))?;
    state
        .store
        .failures(principal.tenant_id, job)
        .await
        .map_err(server::store_error)?
        .ok_or_else(|| server::not_found(Thing::Job))
}

/// Retries only the failed items of one class ("retry only these").
#[server(endpoint = "retry_class", client = ApiClient)]
pub async fn retry_class(id: String, class: String) -> Result<JobView, Problem> {
    let (state, principal) = server::operator().await?;
    let job = id
        .parse::<JobId>()
        .map_err(|_| server::not_found(Thing::Job))?;
    crate::server::services::jobs::retry_classes(&state, principal.tenant_id, job, &[class])
        .await
        .map_err(server::fail)
}

/// One page of a job's recipients with a given status.
#[server(endpoint = "job_items", client = ApiClient)]
pub async fn job_items(
    id: String,
    status: ItemStatus,
    after: Option<u64>,
) -> Result<ItemsPage, Problem> {
    const PAGE: u32 = 100;
    let (state, principal) = server::principal().await?;
    let job = id
        .parse::<JobId>()
        .map_err(|_| server::not_found(Thing::Job))?;
    let items = state
        .store
        .items(principal.tenant_id, job, Some(status), after, PAGE)
        .await
        .map_err(server::store_error)?
        .ok_or_else(|| server::not_found(Thing::Job))?;
    let next_after = (items.len() as u32 == PAGE)
        .then(|| items.last().map(|i| i.index))
        .flatten();
    Ok(ItemsPage { items, next_after })
}
