//! Log lines: what a job's events say, independent of language.

use chrono::{DateTime, Utc};

use crate::protocol::ServerMsg;
use crate::protocol::failure::{FetchFault, JobFault};
use crate::protocol::fault::{SendFault, StageNote};

/// What one log line says, independent of language.
#[derive(Clone, Debug, PartialEq)]
pub enum LogEntry {
    Created {
        total: u64,
    },
    Started {
        /// Taken over after its runner stopped.
        rescued: bool,
    },
    /// Put back in the queue by a person.
    Resumed,
    /// A multi-stage job moved on (or said what it is doing).
    Stage {
        stage: String,
        message: Option<String>,
        /// `message` as a code, when the server wrote it (not an outside worker).
        note: Option<StageNote>,
    },
    /// A scraping job found a result, or an outside worker reported an item done.
    Found {
        key: String,
        title: Option<String>,
    },
    /// A page could not be read, or an outside worker's item failed.
    ItemError {
        key: String,
        error: String,
        /// `error` as a code, when the server wrote it (not an outside worker).
        fault: Option<FetchFault>,
    },
    Sent {
        device: u32,
        phone: String,
    },
    ItemFailed {
        device: u32,
        phone: String,
        error: String,
        /// `error` as a code, when the server sent one: worded in the reader's language.
        fault: Option<SendFault>,
    },
    Completed {
        sent: u64,
        failed: u64,
        /// How it ended, when there is more to say (a source exhausted before its target).
        message: Option<String>,
        note: Option<StageNote>,
    },
    JobFailed {
        error: String,
        /// What to do about it.
        message: String,
        /// Why, as a code, when the server wrote it.
        fault: Option<JobFault>,
    },
    Cancelled,
    Paused,
    Resync,
}

/// One line of a job's activity log.
#[derive(Clone, Debug, PartialEq)]
pub struct LogLine {
    /// The event's seq (the key of the line).
    pub seq: u64,
    pub at: Option<DateTime<Utc>>,
    pub entry: LogEntry,
}

impl LogLine {
    /// The log line for an event, if it makes one.
    pub fn from_msg(msg: &ServerMsg) -> Option<LogLine> {
        let (seq, at, entry) = match msg {
            ServerMsg::JobCreated(e) => (
                e.seq,
                e.at,
                LogEntry::Created {
                    total: e.job.total_numbers,
                },
            ),
            ServerMsg::JobStarted(e) => (
                e.seq,
                e.at,
                LogEntry::Started {
                    rescued: e.message.starts_with("Resumed after"),
                },
            ),
            ServerMsg::JobResumed(e) => (e.seq, e.at, LogEntry::Resumed),
            ServerMsg::Stage(e) => (
                e.seq,
                e.at,
                LogEntry::Stage {
                    stage: e.stage.clone(),
                    message: e.message.clone(),
                    note: e.note.clone(),
                },
            ),
            ServerMsg::Item(e) if e.status == "ok" => (
                e.seq,
                e.at,
                LogEntry::Found {
                    key: e.key.clone(),
                    title: e.title.clone(),
                },
            ),
            ServerMsg::Item(e) => (
                e.seq,
                e.at,
                LogEntry::ItemError {
                    key: e.key.clone(),
                    error: e.error.clone().unwrap_or_default(),
                    fault: e.fault.clone(),
                },
            ),
            ServerMsg::Progress(e) => (
                e.seq,
                e.at,
                LogEntry::Sent {
                    device: e.device_id,
                    phone: e.phone.clone(),
                },
            ),
            ServerMsg::Error(e) => (
                e.seq?,
                e.at?,
                LogEntry::ItemFailed {
                    device: e.device_id.unwrap_or_default(),
                    phone: e.phone.clone().unwrap_or_default(),
                    error: e.error.clone(),
                    fault: e.fault.clone(),
                },
            ),
            ServerMsg::JobCompleted(e) => (
                e.seq,
                e.at,
                LogEntry::Completed {
                    sent: e.results.sent,
                    failed: e.results.failed,
                    message: e.message.clone(),
                    note: e.note.clone(),
                },
            ),
            ServerMsg::JobFailed(e) => (
                e.seq,
                e.at,
                LogEntry::JobFailed {
                    error: e.error.clone(),
                    message: e.message.clone(),
                    fault: e.fault.clone(),
                },
            ),
            ServerMsg::JobCancelled(e) => (e.seq, e.at, LogEntry::Cancelled),
            ServerMsg::JobPaused(e) => (e.seq, e.at, LogEntry::Paused),
            _ => return None,
        };
        Some(LogLine {
            seq,
            at: Some(at),
            entry,
        })
    }

    /// True for lines that report a failure (marked, and kept by the failures filter).
    pub fn is_failure(&self) -> bool {
        matches!(
            self.entry,
            LogEntry::ItemFailed { .. } | LogEntry::ItemError { .. } | LogEntry::JobFailed { .. }
        )
    }
}
