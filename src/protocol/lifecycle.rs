//! The job lifecycle: the commands people give a job, and the one function that decides whether a
//! command fits the job and what it changes. Stores, the engine, REST, server functions, the
//! page's buttons and `JobView::apply` all ask here, so they cannot disagree about a rule.

use serde::{Deserialize, Serialize};

use super::{ItemStatus, JobKind, JobStatus, JobView, ServerMsg};

/// A command people (or scripts) give a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    Pause,
    Cancel,
    Resume,
    /// Sends the failed items again (and the unknown ones, if asked), in the same job.
    Retry {
        include_unknown: bool,
    },
}

impl Command {
    /// The verb a sentence uses for this command.
    pub fn verb(self) -> &'static str {
        match self {
            Command::Pause => "pause",
            Command::Cancel => "cancel",
            Command::Resume => "resume",
            Command::Retry { .. } => "retry",
        }
    }
}

/// What a running job's runner is asked to do at its next lease renewal (the `control` column).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Control {
    Run,
    Cancel,
    Pause,
}

impl Control {
    /// The `control` column's value: `NULL` while the runner should go on.
    pub fn column(self) -> Option<&'static str> {
        match self {
            Control::Run => None,
            Control::Cancel => Some("cancel"),
            Control::Pause => Some("pause"),
        }
    }

    /// Reads the `control` column; anything unknown is read as "go on".
    pub fn from_column(value: Option<&str>) -> Control {
        match value {
            Some("cancel") => Control::Cancel,
            Some("pause") => Control::Pause,
            _ => Control::Run,
        }
    }
}

/// What must still hold when a change is written: the condition of its one fenced `UPDATE`, so
/// that of two instances deciding at once only one wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fence {
    /// No runner holds the job and it waits (pending or paused).
    Idle,
    /// An outside worker's job that has not ended.
    Worker,
    /// A running job whose runner has not been asked to cancel (a cancel may still override a
    /// pause, never the reverse).
    Running,
    /// The job row, locked by the transaction that read it.
    Locked,
}

/// What a command changes, once decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// The job stops now (nobody runs it): it moves to `to` and its event is written.
    Stop {
        to: JobStatus,
        fence: Fence,
        note: Note,
    },
    /// The job's runner is asked to stop; it writes the end once in-flight items are recorded.
    Ask { control: Control, fence: Fence },
    /// The job goes back to the queue (`pending`); items in `requeue` go back to `pending` and
    /// leave their counters; `job_resumed` is written.
    Requeue {
        requeue: &'static [ItemStatus],
        fence: Fence,
    },
}

/// Why a command does not fit a job: a closed set of codes, each worded by the i18n tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Refusal {
    /// The job has ended: there is nothing to stop.
    Ended {
        status: JobStatus,
        command: Command,
    },
    AlreadyPaused,
    /// An outside worker moves its own job; here it can only be cancelled.
    WorkerMovesIt,
    BeingCancelled,
    /// The job changed between reading and writing it.
    ChangedMeanwhile,
    /// A failed job whose every item has an outcome: retrying is what is left.
    NothingLeftToResume,
    /// The job is pending or running: there is nothing to resume.
    AlreadyRunning,
    /// Only paused or failed jobs can be resumed.
    NotResumable {
        status: JobStatus,
    },
    /// A search keeps no items to retry.
    SearchHasNoItems,
    CancelledIsNotRetried,
    NotFinished,
    NothingToRetry {
        include_unknown: bool,
    },
    /// Pausing this device would leave the send none that sends.
    LastDevice,
    /// Only a cancelled send's rest is sent as a new send (others resume or retry).
    NotCancelled {
        status: JobStatus,
    },
    /// Every recipient of the cancelled send was tried.
    NothingLeftToSend,
}

impl Refusal {
    /// The stable code scripts can match on.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Ended { .. } => "ended",
            Refusal::AlreadyPaused => "already_paused",
            Refusal::WorkerMovesIt => "worker_moves_it",
            Refusal::BeingCancelled => "being_cancelled",
            Refusal::ChangedMeanwhile => "changed_meanwhile",
            Refusal::NothingLeftToResume => "nothing_left_to_resume",
            Refusal::AlreadyRunning => "already_running",
            Refusal::NotResumable { .. } => "not_resumable",
            Refusal::SearchHasNoItems => "search_has_no_items",
            Refusal::CancelledIsNotRetried => "cancelled_is_not_retried",
            Refusal::NotFinished => "not_finished",
            Refusal::NothingToRetry { .. } => "nothing_to_retry",
            Refusal::LastDevice => "last_device",
            Refusal::NotCancelled { .. } => "not_cancelled",
            Refusal::NothingLeftToSend => "nothing_left_to_send",
        }
    }
}

/// The message a lifecycle event carries: a closed set, worded once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Note {
    CancelledOnRequest,
    PausedOnRequest,
    ResumedOnRequest,
    Retrying { items: u64 },
}

impl Note {
    /// The event's `message` (the wire keeps English; pages word events from their type).
    pub fn message(self) -> String {
        match self {
            Note::CancelledOnRequest => "Cancelled on request".to_owned(),
            Note::PausedOnRequest => "Paused on request".to_owned(),
            Note::ResumedOnRequest => "Resumed on request".to_owned(),
            Note::Retrying { items } => format!("Retrying {items} items"),
        }
    }
}

/// Decides whether `command` fits `job`, and what it changes.
pub fn decide(job: &JobView, command: Command) -> Result<Change, Refusal> {
    let status = job.status;
    let external = job.kind == JobKind::External;
    match command {
        Command::Pause | Command::Cancel => {
            let pause = command == Command::Pause;
            if external && pause && !status.is_terminal() {
                return Err(Refusal::WorkerMovesIt);
            }
            if status.is_terminal() {
                return Err(Refusal::Ended { status, command });
            }
            if status == JobStatus::Paused && pause {
                return Err(Refusal::AlreadyPaused);
            }
            let (to, control, note) = if pause {
                (JobStatus::Paused, Control::Pause, Note::PausedOnRequest)
            } else {
                (
                    JobStatus::Cancelled,
                    Control::Cancel,
                    Note::CancelledOnRequest,
                )
            };
            // An outside worker's job has no runner to ask: it stops now, and the worker hears
            // so at its next report.
            if external {
                Ok(Change::Stop {
                    to,
                    fence: Fence::Worker,
                    note,
                })
            } else if status == JobStatus::Processing {
                Ok(Change::Ask {
                    control,
                    fence: Fence::Running,
                })
            } else {
                Ok(Change::Stop {
                    to,
                    fence: Fence::Idle,
                    note,
                })
            }
        }
        Command::Resume => {
            let requeue = Ok(Change::Requeue {
                requeue: &[],
                fence: Fence::Locked,
            });
            match (job.kind, status) {
                (JobKind::External, _) => Err(Refusal::WorkerMovesIt),
                // A search starts over (results it has are not counted twice): it needs no items.
                (JobKind::Scrape, JobStatus::Paused | JobStatus::Failed) => requeue,
                (_, JobStatus::Paused) => requeue,
                (_, JobStatus::Failed) if remaining(job) > 0 => requeue,
                (_, JobStatus::Failed) => Err(Refusal::NothingLeftToResume),
                (_, JobStatus::Pending | JobStatus::Processing) => Err(Refusal::AlreadyRunning),
                (_, status) => Err(Refusal::NotResumable { status }),
            }
        }
        Command::Retry { include_unknown } => {
            match job.kind {
                JobKind::BulkSend => {}
                JobKind::Scrape => return Err(Refusal::SearchHasNoItems),
                JobKind::External => return Err(Refusal::WorkerMovesIt),
            }
            match status {
                JobStatus::Completed | JobStatus::Failed => {}
                JobStatus::Cancelled => return Err(Refusal::CancelledIsNotRetried),
                _ => return Err(Refusal::NotFinished),
            }
            let unknown = if include_unknown {
                job.progress.unknown
            } else {
                0
            };
            if job.progress.failed + unknown == 0 {
                return Err(Refusal::NothingToRetry { include_unknown });
            }
            Ok(Change::Requeue {
                requeue: if include_unknown {
                    &[ItemStatus::Failed, ItemStatus::Unknown]
                } else {
                    &[ItemStatus::Failed]
                },
                fence: Fence::Locked,
            })
        }
    }
}

/// True when `command` fits `job` (what a page asks to show a button).
pub fn allows(job: &JobView, command: Command) -> bool {
    decide(job, command).is_ok()
}

/// Items without an outcome yet.
pub fn remaining(job: &JobView) -> u64 {
    job.progress.total.saturating_sub(job.progress.done())
}

/// The status a job is in after `event`, if the event moves it.
pub fn status_after(current: JobStatus, event: &ServerMsg) -> Option<JobStatus> {
    match event {
        ServerMsg::JobStarted(_) => Some(JobStatus::Processing),
        // A stage can arrive before `job_started` is read (an outside worker's first report).
        ServerMsg::Stage(_) if current == JobStatus::Pending => Some(JobStatus::Processing),
        ServerMsg::JobCompleted(_) => Some(JobStatus::Completed),
        ServerMsg::JobFailed(_) => Some(JobStatus::Failed),
        ServerMsg::JobCancelled(_) => Some(JobStatus::Cancelled),
        ServerMsg::JobPaused(_) => Some(JobStatus::Paused),
        ServerMsg::JobResumed(_) => Some(JobStatus::Pending),
        _ => None,
    }
}

/// The stage a job of `kind` shows once completed, if it has stages of its own.
pub fn completed_stage(kind: JobKind) -> Option<&'static str> {
    (kind == JobKind::Scrape).then_some("completed")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{JobId, Progress};

    fn job(kind: JobKind, status: JobStatus, progress: Progress) -> JobView {
        JobView {
            id: JobId(uuid::Uuid::nil()),
            kind,
            status,
            created_at: chrono::DateTime::from_timestamp(0, 0).unwrap(),
            started_at: None,
            finished_at: None,
            progress,
            stage: None,
            last_error: None,
            last_seq: 1,
            total_numbers: progress.total,
            skipped: 0,
            skipped_opted_out: 0,
            devices_limit: 1,
            message: None,
            results: None,
            campaign_id: None,
            name: None,
            stages: vec![],
            stage_message: None,
            stage_note: None,
            senders: vec![],
            receipts: None,
            receipts_open_until: None,
            receipts_window_hours: None,
            replies: None,
            rate_per_sec: None,
            eta_seconds: None,
            elapsed_ms: None,
            stalled_since: None,
            tags: vec![],
        }
    }

    #[test]
    fn a_running_job_is_asked_and_a_waiting_one_stops_now() {
        let running = job(
            JobKind::BulkSend,
            JobStatus::Processing,
            Progress::new(1, 0, 0, 4),
        );
        assert_eq!(
            decide(&running, Command::Cancel),
            Ok(Change::Ask {
                control: Control::Cancel,
                fence: Fence::Running
            })
        );
        let waiting = job(
            JobKind::BulkSend,
            JobStatus::Pending,
            Progress::new(0, 0, 0, 4),
        );
        assert!(matches!(
            decide(&waiting, Command::Pause),
            Ok(Change::Stop {
                to: JobStatus::Paused,
                fence: Fence::Idle,
                ..
            })
        ));
        let worker = job(
            JobKind::External,
            JobStatus::Processing,
            Progress::default(),
        );
        assert_eq!(decide(&worker, Command::Pause), Err(Refusal::WorkerMovesIt));
        assert!(matches!(
            decide(&worker, Command::Cancel),
            Ok(Change::Stop {
                fence: Fence::Worker,
                ..
            })
        ));
    }

    #[test]
    fn ended_jobs_refuse_stops_and_say_how_they_ended() {
        for status in [
            JobStatus::Completed,
            JobStatus::Failed,
            JobStatus::Cancelled,
        ] {
            for kind in [JobKind::BulkSend, JobKind::Scrape, JobKind::External] {
                let ended = job(kind, status, Progress::new(1, 0, 0, 1));
                assert_eq!(
                    decide(&ended, Command::Cancel),
                    Err(Refusal::Ended {
                        status,
                        command: Command::Cancel
                    })
                );
            }
        }
    }

    #[test]
    fn resume_needs_items_left_unless_it_is_a_search() {
        let failed_done = job(
            JobKind::BulkSend,
            JobStatus::Failed,
            Progress::new(2, 2, 0, 4),
        );
        assert_eq!(
            decide(&failed_done, Command::Resume),
            Err(Refusal::NothingLeftToResume)
        );
        let failed_left = job(
            JobKind::BulkSend,
            JobStatus::Failed,
            Progress::new(2, 1, 0, 4),
        );
        assert!(allows(&failed_left, Command::Resume));
        let search = job(
            JobKind::Scrape,
            JobStatus::Failed,
            Progress::new(9, 0, 0, 9),
        );
        assert!(allows(&search, Command::Resume));
        let done = job(
            JobKind::BulkSend,
            JobStatus::Completed,
            Progress::new(4, 0, 0, 4),
        );
        assert_eq!(
            decide(&done, Command::Resume),
            Err(Refusal::NotResumable {
                status: JobStatus::Completed
            })
        );
    }

    #[test]
    fn retry_counts_unknown_items_only_when_asked() {
        let unknown_only = job(
            JobKind::BulkSend,
            JobStatus::Completed,
            Progress::new(3, 0, 1, 4),
        );
        assert_eq!(
            decide(
                &unknown_only,
                Command::Retry {
                    include_unknown: false
                }
            ),
            Err(Refusal::NothingToRetry {
                include_unknown: false
            })
        );
        assert_eq!(
            decide(
                &unknown_only,
                Command::Retry {
                    include_unknown: true
                }
            ),
            Ok(Change::Requeue {
                requeue: &[ItemStatus::Failed, ItemStatus::Unknown],
                fence: Fence::Locked
            })
        );
        let cancelled = job(
            JobKind::BulkSend,
            JobStatus::Cancelled,
            Progress::new(0, 1, 0, 4),
        );
        assert_eq!(
            decide(
                &cancelled,
                Command::Retry {
                    include_unknown: true
                }
            ),
            Err(Refusal::CancelledIsNotRetried)
        );
    }

    #[test]
    fn every_refusal_has_its_own_code() {
        let refusals = [
            Refusal::Ended {
                status: JobStatus::Completed,
                command: Command::Cancel,
            },
            Refusal::AlreadyPaused,
            Refusal::WorkerMovesIt,
            Refusal::BeingCancelled,
            Refusal::ChangedMeanwhile,
            Refusal::NothingLeftToResume,
            Refusal::AlreadyRunning,
            Refusal::NotResumable {
                status: JobStatus::Cancelled,
            },
            Refusal::SearchHasNoItems,
            Refusal::CancelledIsNotRetried,
            Refusal::NotFinished,
            Refusal::NothingToRetry {
                include_unknown: true,
            },
        ];
        let codes: std::collections::HashSet<_> = refusals.iter().map(|r| r.code()).collect();
        assert_eq!(codes.len(), refusals.len());
        for refusal in refusals {
            let json = serde_json::to_value(refusal).unwrap();
            assert_eq!(json["code"], refusal.code());
            assert_eq!(serde_json::from_value::<Refusal>(json).unwrap(), refusal);
        }
    }
}
