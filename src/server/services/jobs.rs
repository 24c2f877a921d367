//! Job operations shared by REST handlers and server functions, so both behave the same.

use std::time::Duration;

use crate::protocol::audit::AuditAction;
use crate::protocol::lifecycle::{Command, Refusal};
use crate::protocol::problem::BulkRule;
use crate::protocol::problem::{Problem, RequestRule};
use crate::protocol::{BulkAction, BulkActionResult, BulkRefused, JobSearch, RecipientLookup};
use crate::protocol::{InvalidPhone, JobId, JobStatus, JobView, SendBulkRequest};
use crate::protocol::{MAX_JOB_NAME_CHARS, clean_tags};
use crate::server::AppState;
use crate::server::audit;
use crate::server::live::hub::EventBatch;
use crate::server::services::phones;
use crate::server::store::{
    Created, JobFilter, LaneChange, NewBulkJob, StoreError, StoredEvent, TenantId, Transition,
};
use chrono::{DateTime, Utc};

pub use crate::protocol::{MAX_DEVICES, MAX_MESSAGE_CHARS, MAX_PHONES};
/// Longest idempotency key.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

/// Why a job was not created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// The request is unusable as a whole.
    #[error("{0:?}")]
    Invalid(BulkRule),
    /// Some phone entries are not valid numbers (and `skip_invalid` was not set).
    #[error("{rule:?}")]
    InvalidPhones {
        rule: BulkRule,
        invalid: Vec<InvalidPhone>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Checks everything about a bulk send except the phone numbers themselves.
pub fn validate_shape(request: &SendBulkRequest) -> Result<(), CreateError> {
    shape_problems(request)
        .into_iter()
        .next()
        .map_or(Ok(()), |rule| Err(CreateError::Invalid(rule)))
}

/// Every rule a bulk send breaks, phone numbers aside (the form shows them all, REST answers
/// with the first).
pub fn shape_problems(request: &SendBulkRequest) -> Vec<BulkRule> {
    let mut found = Vec::new();
    let chars = request.message.chars().count();
    if request.message.trim().is_empty() {
        found.push(BulkRule::MessageEmpty);
    } else if chars > MAX_MESSAGE_CHARS {
        found.push(BulkRule::MessageTooLong {
            chars: chars as u64,
            max: MAX_MESSAGE_CHARS as u64,
        });
    }
    if !(1..=MAX_DEVICES).contains(&request.devices_limit) {
        found.push(devices_out_of_range(&request.devices_limit.to_string()));
    }
    if request.phones.is_empty() {
        found.push(BulkRule::NoPhones);
    } else if request.phones.len() > MAX_PHONES {
        found.push(BulkRule::TooManyPhones {
            count: request.phones.len() as u64,
            max: MAX_PHONES as u64,
        });
    }
    if let Some(key) = &request.idempotency_key
        && (key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY)
    {
        found.push(BulkRule::IdempotencyKeyLength {
            max: MAX_IDEMPOTENCY_KEY as u64,
        });
    }
    if let Some(name) = &request.name {
        let chars = name.trim().chars().count();
        if chars > MAX_JOB_NAME_CHARS {
            found.push(BulkRule::NameTooLong {
                chars: chars as u64,
                max: MAX_JOB_NAME_CHARS as u64,
            });
        }
    }
    if let Err(problem) = clean_tags(&request.tags) {
        found.push(BulkRule::Tags { problem });
    }
    found
}

/// The rule a sender-devices value that is not 1 to `MAX_DEVICES` breaks, as it was typed.
pub fn devices_out_of_range(got: &str) -> BulkRule {
    BulkRule::DevicesOutOfRange {
        got: got.to_owned(),
        max: MAX_DEVICES,
    }
}

/// Moves the numbers on the tenant's opt-out list from `valid` to `invalid` (reason
/// "opted out"); how many.
async fn leave_out_opted_out(
    state: &AppState,
    tenant: TenantId,
    checked: &mut phones::Checked,
    entries: &[String],
) -> Result<u64, StoreError> {
    use crate::protocol::problem::PhoneIssue;
    let listed = state.store.opted_out(tenant, &checked.valid).await?;
    if listed.is_empty() {
        return Ok(0);
    }
    let (valid, indexes) = std::mem::take(&mut checked.valid)
        .into_iter()
        .zip(std::mem::take(&mut checked.indexes))
        .partition::<Vec<_>, _>(|(e164, _)| !listed.contains(e164));
    let count = indexes.len() as u64;
    for (e164, index) in indexes {
        let issue = PhoneIssue::OptedOut { e164 };
        checked.invalid.push(InvalidPhone {
            index,
            phone: entries[index].clone(),
            reason: (crate::i18n::EN.phone_issue)(&issue),
            issue,
        });
    }
    checked.invalid.sort_by_key(|invalid| invalid.index);
    (checked.valid, checked.indexes) = valid.into_iter().unzip();
    Ok(count)
}

/// Checks `phones` as a bulk send would: numbers, repeats, and the tenant's opt-out list
/// (those listed come back invalid too, and counted).
pub async fn check_phones(
    state: &AppState,
    tenant: TenantId,
    phones: Vec<String>,
) -> Result<(phones::Checked, u64), StoreError> {
    let region = state.default_region();
    // Parsing 100,000 numbers takes a while: keep it off the async workers.
    let (mut checked, phones) =
        tokio::task::spawn_blocking(move || (phones::check(&phones, region), phones))
            .await
            .expect("checking phone numbers does not panic");
    let opted_out = leave_out_opted_out(state, tenant, &mut checked, &phones).await?;
    Ok((checked, opted_out))
}

/// The senders a bulk send spreads over: those it names (each the tenant's and turned on), or
/// the tenant's active ones; at most `devices_limit`. None: the server-wide provider.
async fn choose_senders(
    state: &AppState,
    tenant: TenantId,
    named: Option<Vec<uuid::Uuid>>,
    devices_limit: u32,
) -> Result<Vec<uuid::Uuid>, CreateError> {
    let all = state.store.senders(tenant).await?;
    let mut chosen: Vec<uuid::Uuid> = Vec::new();
    match named.filter(|named| !named.is_empty()) {
        Some(named) => {
            for id in named {
                let Some(sender) = all.iter().find(|sender| sender.id == id) else {
                    return Err(CreateError::Invalid(BulkRule::UnknownSender {
                        id: id.to_string(),
                    }));
                };
                if !sender.active {
                    return Err(CreateError::Invalid(BulkRule::SenderOff {
                        name: sender.name.clone(),
                    }));
                }
                if !chosen.contains(&id) {
                    chosen.push(id);
                }
            }
        }
        None => chosen.extend(all.iter().filter(|s| s.active).map(|s| s.id)),
    }
    chosen.truncate(devices_limit as usize);
    Ok(chosen)
}

/// Validates a bulk send and creates it with its items and first event; a repeated
/// idempotency key returns the job the first request created.
#[tracing::instrument(skip_all, fields(tenant = %tenant, phones = request.phones.len()))]
pub async fn create_bulk_send(
    state: &AppState,
    tenant: TenantId,
    request: SendBulkRequest,
) -> Result<Created, CreateError> {
    validate_shape(&request)?;
    let SendBulkRequest {
        message,
        phones,
        devices_limit,
        idempotency_key,
        skip_invalid,
        senders,
        name,
        tags,
    } = request;
    let name = name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty());
    let tags = clean_tags(&tags).expect("validate_shape checked the tags");
    let senders = choose_senders(state, tenant, senders, devices_limit).await?;
    let total_entries = phones.len();
    let (checked, opted_out) = check_phones(state, tenant, phones).await?;
    if !checked.invalid.is_empty() && !skip_invalid {
        return Err(CreateError::InvalidPhones {
            rule: BulkRule::SomePhonesInvalid {
                invalid: checked.invalid.len() as u64,
                total: total_entries as u64,
            },
            invalid: checked.invalid,
        });
    }
    if checked.valid.is_empty() {
        return Err(CreateError::Invalid(BulkRule::NoValidPhones {
            total: total_entries as u64,
        }));
    }
    let created = state
        .store
        .create_bulk_job(NewBulkJob {
            tenant_id: tenant,
            message,
            devices_limit,
            recipients: checked.valid,
            skipped: checked.invalid.len() as u64 - opted_out,
            skipped_opted_out: opted_out,
            idempotency_key,
            senders,
            receipts_window_hours: state.settings.senders.receipts_window_hours,
            name,
            tags,
        })
        .await?;
    if let Created::New { job, event } = &created {
        tracing::info!(job_id = %job.id, total = job.total_numbers, "bulk send created");
        audit::note(AuditAction::JobCreate, job.id, job.name.clone());
        state.hub.publish(EventBatch {
            job_id: job.id,
            tenant_id: tenant,
            events: vec![event.clone()],
        });
        if let Some(engine) = &state.engine {
            engine.wake();
        }
    }
    Ok(created)
}

/// Why a request to change a job's course was not carried out.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("Job not found.")]
    NotFound,
    /// The job has no device with that number.
    #[error("Device not found.")]
    NoDevice,
    /// It does not fit the job's state (a 409).
    #[error("{0:?}")]
    Refused(Refusal),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How long a cancel or pause request waits for the runner to report the exact final counts.
const STOP_WAIT: Duration = Duration::from_secs(5);

fn publish(state: &AppState, tenant: TenantId, event: StoredEvent) {
    state.hub.publish(EventBatch {
        job_id: event.job_id,
        tenant_id: tenant,
        events: vec![event],
    });
}

/// Carries out a command people gave a job: cancel, pause, resume or retry. A running job stops
/// starting items at once and lets in-flight sends finish; the answer waits (a few seconds at
/// most) for the runner's final counts.
#[tracing::instrument(skip(state))]
pub async fn command(
    state: &AppState,
    tenant: TenantId,
    job: JobId,
    command: Command,
) -> Result<JobView, ControlError> {
    let transition = state.store.command(tenant, job, command).await?;
    let view = carry_out(state, tenant, job, transition).await?;
    audit::note(command_action(command), job, None);
    Ok(view)
}

/// The audit log's name for a command.
fn command_action(command: Command) -> AuditAction {
    match command {
        Command::Cancel => AuditAction::JobCancel,
        Command::Pause => AuditAction::JobPause,
        Command::Resume => AuditAction::JobResume,
        Command::Retry { .. } => AuditAction::JobRetry,
    }
}

/// Pauses or resumes one device of a running or waiting bulk send: its share goes to the
/// other devices meanwhile. The job as it is then, with its lanes.
pub async fn set_device_paused(
    state: &AppState,
    tenant: TenantId,
    job: JobId,
    device: u32,
    paused: bool,
) -> Result<JobView, ControlError> {
    let current = state.store.job(tenant, job).await?;
    let current = current
        .filter(|j| j.kind == crate::protocol::JobKind::BulkSend)
        .ok_or(ControlError::NotFound)?;
    if current.status.is_terminal() {
        let command = if paused {
            Command::Pause
        } else {
            Command::Resume
        };
        return Err(ControlError::Refused(Refusal::Ended {
            status: current.status,
            command,
        }));
    }
    match state
        .store
        .set_device_paused(tenant, job, device, paused)
        .await?
    {
        None => Err(ControlError::NoDevice),
        Some(LaneChange::Refused) => Err(ControlError::Refused(Refusal::LastDevice)),
        Some(LaneChange::Done) => {
            let action = if paused {
                AuditAction::DevicePause
            } else {
                AuditAction::DeviceResume
            };
            audit::note(action, job, Some(device.to_string()));
            state
                .store
                .job(tenant, job)
                .await?
                .ok_or(ControlError::NotFound)
        }
    }
}

/// Why a cancelled send's rest did not go out as a new send.
#[derive(Debug, thiserror::Error)]
pub enum SendRestError {
    #[error(transparent)]
    Control(#[from] ControlError),
    #[error(transparent)]
    Create(#[from] CreateError),
}

/// Recipients read per page when gathering a cancelled send's rest.
const REST_PAGE: u32 = 5_000;

/// Sends the rest of a cancelled send: a new send of the same message, devices and senders to
/// the recipients it never tried. Asking again returns the same new send (its idempotency key
/// is the old send's id), so a double click sends nothing twice.
pub async fn send_rest(
    state: &AppState,
    tenant: TenantId,
    job: JobId,
) -> Result<Created, SendRestError> {
    let old = state
        .store
        .job(tenant, job)
        .await
        .map_err(ControlError::from)?;
    let old = old
        .filter(|j| j.kind == crate::protocol::JobKind::BulkSend)
        .ok_or(ControlError::NotFound)?;
    if old.status != JobStatus::Cancelled {
        return Err(ControlError::Refused(Refusal::NotCancelled { status: old.status }).into());
    }
    let mut phones = Vec::new();
    let mut after = None;
    loop {
        let page = state
            .store
            .items(
                tenant,
                job,
                Some(crate::protocol::ItemStatus::Pending),
                after,
                REST_PAGE,
            )
            .await
            .map_err(ControlError::from)?
            .unwrap_or_default();
        after = page.last().map(|item| item.index);
        let full = page.len() == REST_PAGE as usize;
        phones.extend(page.into_iter().map(|item| item.recipient));
        if !full {
            break;
        }
    }
    if phones.is_empty() {
        return Err(ControlError::Refused(Refusal::NothingLeftToSend).into());
    }
    let request = SendBulkRequest {
        message: old.message.clone().unwrap_or_default(),
        phones,
        devices_limit: old.devices_limit,
        idempotency_key: Some(format!("rest-of:{}", old.id)),
        // They were valid numbers; any opted out since are left out, not refused.
        skip_invalid: true,
        senders: old.through_senders().then(|| old.sender_ids()),
        name: old.name.clone(),
        tags: old.tags.clone(),
    };
    let created = create_bulk_send(state, tenant, request).await?;
    audit::note(
        AuditAction::JobSendRest,
        job,
        Some(created.job().id.to_string()),
    );
    Ok(created)
}

/// Retries only the failed items of `classes` (`GET /jobs/{id}/failures`).
pub async fn retry_classes(
    state: &AppState,
    tenant: TenantId,
    job: JobId,
    classes: &[String],
) -> Result<JobView, ControlError> {
    let transition = state.store.retry_classes(tenant, job, classes).await?;
    let view = carry_out(state, tenant, job, transition).await?;
    audit::note(AuditAction::JobRetry, job, Some(classes.join(", ")));
    Ok(view)
}

/// Publishes what a command changed and wakes the engine for a job back in the queue.
async fn carry_out(
    state: &AppState,
    tenant: TenantId,
    job: JobId,
    transition: Option<Transition>,
) -> Result<JobView, ControlError> {
    match transition {
        None => Err(ControlError::NotFound),
        Some(Transition::Done { job, event }) => {
            publish(state, tenant, event);
            if job.status == JobStatus::Pending
                && let Some(engine) = &state.engine
            {
                engine.wake();
            }
            // With its lanes' figures, as every read of one job has them.
            Ok(state.store.job(tenant, job.id).await?.unwrap_or(job))
        }
        Some(Transition::Refused { refusal, .. }) => Err(ControlError::Refused(refusal)),
        Some(Transition::Requested(current)) => {
            // The runner may live in another instance: watch the database, not the local hub.
            let deadline = tokio::time::Instant::now() + STOP_WAIT;
            let mut latest = current;
            while latest.status == JobStatus::Processing && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
                latest = state
                    .store
                    .job(tenant, job)
                    .await?
                    .ok_or(ControlError::NotFound)?;
            }
            Ok(latest)
        }
    }
}

/// Every item of the tenant's sends to the number `typed` (as people type numbers: the
/// server's default region applies), newest send first.
pub async fn find_recipient(
    state: &AppState,
    tenant: TenantId,
    typed: &str,
    limit: u32,
) -> Result<RecipientLookup, StoreError> {
    match phones::normalise(typed, state.default_region()) {
        Ok(phone) => {
            let items = state.store.recipient_items(tenant, &phone, limit).await?;
            Ok(RecipientLookup::Found { phone, items })
        }
        Err(issue) => Ok(RecipientLookup::Invalid { issue }),
    }
}

/// Up to `limit` of the tenant's jobs `search` matches, older than `before`, and the cursor of
/// the next page while more follow.
pub async fn jobs_page(
    state: &AppState,
    tenant: TenantId,
    search: &JobSearch,
    before: Option<JobId>,
    limit: u32,
) -> Result<(Vec<JobView>, Option<JobId>), StoreError> {
    // One more than asked tells whether another page follows.
    let filter = JobFilter::of(search, before, limit + 1);
    let mut jobs = state.store.list_jobs(tenant, &filter).await?;
    let next = if jobs.len() > limit as usize {
        jobs.truncate(limit as usize);
        jobs.last().map(|job| job.id)
    } else {
        None
    };
    Ok((jobs, next))
}

/// Jobs a bulk action reads and changes at a time.
const BULK_PAGE: u32 = 500;

/// Gives `action` to every job of the tenant that `search` matches, newest first, without
/// waiting for running ones to stop (each stops as its own command would have it).
#[tracing::instrument(skip(state))]
pub async fn bulk_action(
    state: &AppState,
    tenant: TenantId,
    search: &JobSearch,
    action: BulkAction,
) -> Result<BulkActionResult, StoreError> {
    let mut result = BulkActionResult::default();
    let mut filter = JobFilter::of(search, None, BULK_PAGE);
    let mut woke = false;
    loop {
        let ids = state.store.job_ids(tenant, &filter, BULK_PAGE).await?;
        for &id in &ids {
            result.matched += 1;
            match state.store.command(tenant, id, action.command()).await? {
                // Gone meanwhile: no longer a match.
                None => result.matched -= 1,
                Some(Transition::Done { job, event }) => {
                    publish(state, tenant, event);
                    woke |= job.status == JobStatus::Pending;
                    result.changed += 1;
                    audit::note(command_action(action.command()), id, None);
                }
                Some(Transition::Requested(_)) => {
                    result.changed += 1;
                    audit::note(command_action(action.command()), id, None);
                }
                Some(Transition::Refused { refusal, .. }) => result.refused.push(BulkRefused {
                    id,
                    detail: (crate::i18n::EN.problem)(&Problem::Refused { refusal }),
                    refusal,
                }),
            }
        }
        match ids.last() {
            Some(&last) if ids.len() == BULK_PAGE as usize => filter.before = Some(last),
            _ => break,
        }
    }
    if woke && let Some(engine) = &state.engine {
        engine.wake();
    }
    Ok(result)
}

/// `GET /jobs`' query parameters as given, before they are read.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct JobQuery {
    pub q: Option<String>,
    pub status: Option<String>,
    pub kind: Option<String>,
    pub created_after: Option<String>,
    pub created_before: Option<String>,
}

impl JobQuery {
    /// Reads the filters, refusing a value that is not one of its kind with the reason.
    pub fn read(&self) -> Result<JobSearch, RequestRule> {
        let choice = |value: &Option<String>, name: &str, choices: &str| {
            value.as_deref().filter(|v| !v.is_empty()).map(|v| {
                (
                    v.to_owned(),
                    RequestRule::Choice {
                        name: name.to_owned(),
                        value: v.to_owned(),
                        choices: choices.to_owned(),
                    },
                )
            })
        };
        let status = match choice(&self.status, "status", STATUS_CHOICES) {
            Some((v, rule)) => Some(v.parse().map_err(|_| rule)?),
            None => None,
        };
        let kind = match choice(&self.kind, "kind", KIND_CHOICES) {
            Some((v, rule)) => Some(v.parse().map_err(|_| rule)?),
            None => None,
        };
        Ok(JobSearch {
            q: self
                .q
                .as_deref()
                .map(str::trim)
                .filter(|q| !q.is_empty())
                .map(str::to_owned),
            status,
            kind,
            created_after: time_param("created_after", self.created_after.as_deref())?,
            created_before: time_param("created_before", self.created_before.as_deref())?,
        })
    }
}

/// What `status` may be.
pub const STATUS_CHOICES: &str = "pending, processing, paused, completed, failed, cancelled";
/// What `kind` may be.
pub const KIND_CHOICES: &str = "bulk_send, scrape, external";

/// A time filter: RFC 3339 (`2026-12-04T09:30:00Z`) or a day (`2026-12-04`, from its midnight UTC).
fn time_param(name: &str, value: Option<&str>) -> Result<Option<DateTime<Utc>>, RequestRule> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if let Ok(at) = DateTime::parse_from_rfc3339(value) {
        return Ok(Some(at.with_timezone(&Utc)));
    }
    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .ok()
        .and_then(|day| day.and_hms_opt(0, 0, 0))
        .map(|at| Some(at.and_utc()))
        .ok_or_else(|| RequestRule::Timestamp {
            name: name.to_owned(),
            value: value.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> SendBulkRequest {
        SendBulkRequest {
            message: "Hola".into(),
            phones: vec!["+34600000001".into()],
            devices_limit: 5,
            idempotency_key: None,
            skip_invalid: false,
            senders: None,
            name: None,
            tags: Vec::new(),
        }
    }

    #[test]
    fn shape_errors_name_the_limit() {
        let check = |f: fn(&mut SendBulkRequest)| {
            let mut r = request();
            f(&mut r);
            let Err(CreateError::Invalid(rule)) = validate_shape(&r) else {
                panic!("refused")
            };
            (crate::i18n::EN.problem)(&crate::protocol::Problem::InvalidBulkSend { rule })
        };
        assert!(check(|r| r.message = "  ".into()).contains("empty"));
        assert!(check(|r| r.message = "x".repeat(4097)).contains("4,096"));
        assert!(check(|r| r.devices_limit = 0).contains("between 1 and 50"));
        assert!(check(|r| r.devices_limit = 51).contains("got 51"));
        assert!(check(|r| r.phones.clear()).contains("empty"));
        assert!(check(|r| r.phones = vec!["+34600000001".into(); 100_001]).contains("100,001"));
        assert!(check(|r| r.name = Some("n".repeat(201))).contains("201"));
        assert!(check(|r| r.tags = vec!["t".repeat(51)]).contains("Tag 1"));
        assert!(check(|r| r.tags = (0..21).map(|n| n.to_string()).collect()).contains("21 tags"));
        assert!(validate_shape(&request()).is_ok());
    }

    #[test]
    fn tags_are_trimmed_and_kept_once() {
        let tags = ["  Black Friday ", "", "black friday", "VIP"].map(String::from);
        assert_eq!(
            crate::protocol::clean_tags(&tags).unwrap(),
            ["Black Friday", "VIP"]
        );
    }

    #[test]
    fn time_filters_take_rfc3339_or_a_day_and_name_a_bad_one() {
        let query = JobQuery {
            created_after: Some("2026-12-04".into()),
            created_before: Some("2026-12-05T10:30:00+02:00".into()),
            status: Some("failed".into()),
            ..JobQuery::default()
        };
        let search = query.read().unwrap();
        assert_eq!(
            search.created_after.unwrap().to_rfc3339(),
            "2026-12-04T00:00:00+00:00"
        );
        assert_eq!(
            search.created_before.unwrap().to_rfc3339(),
            "2026-12-05T08:30:00+00:00"
        );
        assert_eq!(search.status, Some(JobStatus::Failed));
        let bad = JobQuery {
            created_before: Some("yesterday".into()),
            ..JobQuery::default()
        };
        assert_eq!(
            bad.read(),
            Err(RequestRule::Timestamp {
                name: "created_before".into(),
                value: "yesterday".into()
            })
        );
        let bad = JobQuery {
            kind: Some("email".into()),
            ..JobQuery::default()
        };
        assert!(matches!(bad.read(), Err(RequestRule::Choice { .. })));
    }
}
