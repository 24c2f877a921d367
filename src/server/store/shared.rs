//! What every backend computes the same way: event messages, summaries, and the sentences that
//! explain a refused transition. Keeping them here makes the backends differ only in SQL.

use chrono::{DateTime, Utc};

use super::{ItemOutcome, JobEnd, StopRequest, StoredEvent, outcome_event, progress_of};
use crate::protocol::{
    ItemStatus, JobCompletedEvent, JobFailedEvent, JobId, JobResults, JobStartedEvent, JobStatus,
    JobStoppedEvent, Progress, ServerMsg,
};

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
        JobEnd::Completed { .. } => ServerMsg::JobCompleted(JobCompletedEvent {
            job_id,
            seq,
            at,
            status,
            results: results.expect("a completed job has results"),
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

/// The message that a retry writes.
pub(crate) fn retry_message(items: i64) -> String {
    format!("Retrying {items} items")
}

/// "completed", "failed", "been cancelled": how a sentence says a job got to `status`.
fn done_verb(status: JobStatus) -> &'static str {
    match status {
        JobStatus::Completed => "completed",
        JobStatus::Failed => "failed",
        JobStatus::Cancelled => "been cancelled",
        JobStatus::Paused => "been paused",
        JobStatus::Pending | JobStatus::Processing => "started",
    }
}

/// Why a stop does not fit a job in `status` with a `control` already requested, if it does not.
pub(crate) fn stop_refusal(status: JobStatus, stop: StopRequest) -> Option<String> {
    let verb = stop_control(stop);
    match (status, stop) {
        (JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled, _) => Some(format!(
            "The job has already {}; there is nothing to {verb}.",
            done_verb(status)
        )),
        (JobStatus::Paused, StopRequest::Pause) => Some("The job is already paused.".into()),
        _ => None,
    }
}

/// The `control` column's spelling of a stop.
pub(crate) fn stop_control(stop: StopRequest) -> &'static str {
    match stop {
        StopRequest::Cancel => "cancel",
        StopRequest::Pause => "pause",
    }
}

/// The refusal when a running job is being cancelled and someone asks again.
pub(crate) const BEING_CANCELLED: &str = "The job is being cancelled already.";
/// The refusal when a job changed between reading and writing it.
pub(crate) const CHANGED_MEANWHILE: &str = "The job changed meanwhile; look at it again and retry.";

/// Why a job in `status`, with `pending` items left, cannot be resumed, if it cannot.
pub(crate) fn resume_refusal(status: JobStatus, pending: i64) -> Option<String> {
    match status {
        JobStatus::Paused => None,
        JobStatus::Failed if pending > 0 => None,
        JobStatus::Failed => Some(
            "Every item of this job has an outcome: use \"retry failed items\" instead.".to_owned(),
        ),
        JobStatus::Pending | JobStatus::Processing => {
            Some("The job is not paused: it is running already.".to_owned())
        }
        status => Some(format!(
            "The job has {}; only paused or failed jobs can be resumed.",
            done_verb(status)
        )),
    }
}

/// Why a job in `status` cannot retry its failed items, if it cannot.
pub(crate) fn retry_refusal(status: JobStatus) -> Option<String> {
    match status {
        JobStatus::Completed | JobStatus::Failed => None,
        JobStatus::Cancelled => {
            Some("A cancelled job is not retried: start a new send for its recipients.".to_owned())
        }
        _ => Some(
            "Only a finished job can retry its failed items; wait until this one ends.".to_owned(),
        ),
    }
}

/// The refusal when there is nothing to retry.
pub(crate) fn nothing_to_retry(include_unknown: bool) -> String {
    if include_unknown {
        "There are no failed or unknown items to retry.".to_owned()
    } else {
        "There are no failed items to retry.".to_owned()
    }
}

/// The error written on items in flight when their runner died, with a provider that cannot
/// de-duplicate.
pub(crate) const UNKNOWN_ERROR: &str =
    "in flight when its runner stopped; not re-sent automatically";
