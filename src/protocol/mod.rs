//! Wire types shared by the server and the browser: the REST bodies and WebSocket messages of
//! CONTRACT.md. One set of types, so the pages and outside clients speak one protocol.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub mod audit;
pub mod backoff;
pub mod failure;
pub mod fault;
pub mod hooks;
pub mod lanes;
pub mod lifecycle;
mod messages;
pub mod problem;
mod rest;
pub mod senders;

pub use lifecycle::{Command, Refusal};
pub use messages::*;
pub use problem::Problem;
pub use rest::*;

/// Identifies a job; a UUID v7, so ids sort by creation time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(pub Uuid);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for JobId {
    type Err = uuid::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s).map(JobId)
    }
}

/// Where a job is in its life; `completed`, `failed` and `cancelled` are final.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    Pending,
    Processing,
    Paused,
    Completed,
    Failed,
    Cancelled,
}

impl JobStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [JobStatus; 6] = [
        JobStatus::Pending,
        JobStatus::Processing,
        JobStatus::Paused,
        JobStatus::Completed,
        JobStatus::Failed,
        JobStatus::Cancelled,
    ];

    /// The wire and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::Processing => "processing",
            JobStatus::Paused => "paused",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    /// True once nothing more will happen to the job on its own.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled
        )
    }
}

impl FromStr for JobStatus {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        JobStatus::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownValue(s.to_owned()))
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of work a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    BulkSend,
    Scrape,
    External,
}

impl JobKind {
    /// The wire and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::BulkSend => "bulk_send",
            JobKind::Scrape => "scrape",
            JobKind::External => "external",
        }
    }
}

impl FromStr for JobKind {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [JobKind::BulkSend, JobKind::Scrape, JobKind::External]
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| UnknownValue(s.to_owned()))
    }
}

/// Where one unit of work (one recipient) is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    Pending,
    Sending,
    Sent,
    Failed,
    /// In flight when its runner died, with a provider that cannot de-duplicate: never re-sent on its own.
    Unknown,
}

impl ItemStatus {
    /// The wire and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemStatus::Pending => "pending",
            ItemStatus::Sending => "sending",
            ItemStatus::Sent => "sent",
            ItemStatus::Failed => "failed",
            ItemStatus::Unknown => "unknown",
        }
    }
}

impl FromStr for ItemStatus {
    type Err = UnknownValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            ItemStatus::Pending,
            ItemStatus::Sending,
            ItemStatus::Sent,
            ItemStatus::Failed,
            ItemStatus::Unknown,
        ]
        .into_iter()
        .find(|status| status.as_str() == s)
        .ok_or_else(|| UnknownValue(s.to_owned()))
    }
}

/// A string that names no known status or kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown value {0:?}")]
pub struct UnknownValue(pub String);

/// Counters of a job, as every progress-bearing message carries them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub sent: u64,
    pub failed: u64,
    pub total: u64,
    pub percentage: f64,
    /// Items whose fate is unknown (crash with a provider that cannot de-duplicate).
    #[serde(default)]
    pub unknown: u64,
}

impl Progress {
    /// Builds counters, deriving the percentage of items that reached an outcome.
    pub fn new(sent: u64, failed: u64, unknown: u64, total: u64) -> Self {
        let done = sent + failed + unknown;
        let percentage = if total == 0 {
            100.0
        } else {
            // Two decimals are plenty for a bar and keep the JSON short.
            ((done as f64 / total as f64) * 10_000.0).round() / 100.0
        };
        Progress {
            sent,
            failed,
            total,
            percentage,
            unknown,
        }
    }

    /// Items with an outcome.
    pub fn done(&self) -> u64 {
        self.sent + self.failed + self.unknown
    }
}

/// The end-of-job summary: in `job_completed.results` and on the job page.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JobResults {
    pub sent: u64,
    pub failed: u64,
    pub total: u64,
    pub devices_used: u32,
    pub parallel_workers: u32,
    #[serde(default)]
    pub unknown: u64,
    #[serde(default)]
    pub duration_ms: u64,
    /// Items with an outcome per second of running time.
    #[serde(default)]
    pub throughput_per_sec: f64,
}

/// A job as REST returns it and as snapshots carry it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobView {
    pub id: JobId,
    pub kind: JobKind,
    pub status: JobStatus,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub progress: Progress,
    pub stage: Option<String>,
    pub last_error: Option<String>,
    pub last_seq: u64,
    /// Recipients of a bulk send (after normalising and removing skipped entries).
    pub total_numbers: u64,
    /// Entries left out with `skip_invalid`.
    #[serde(default)]
    pub skipped: u64,
    /// Added: numbers on the tenant's opt-out list left out with `skip_invalid`.
    #[serde(default)]
    pub skipped_opted_out: u64,
    pub devices_limit: u32,
    /// The message of a bulk send.
    #[serde(default)]
    pub message: Option<String>,
    /// Summary, once the job has ended.
    #[serde(default)]
    pub results: Option<JobResults>,
    /// The campaign a scraping job belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<Uuid>,
    /// A name people gave the job (outside workers' jobs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The stages a multi-stage job goes through, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<String>,
    /// What a multi-stage job last said it is doing, in a sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage_message: Option<String>,
    /// `stage_message` as a code with parameters, when the server wrote it (not a worker).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage_note: Option<fault::StageNote>,
    /// Added: a bulk send's devices in order (sender lanes): the tenant's sender each sends
    /// through, and what each did and does. Older views carried only the senders' ids.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "lanes::lanes_or_ids"
    )]
    pub senders: Vec<lanes::SenderLane>,
    /// What providers reported after accepting a bulk send's messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipts: Option<Receipts>,
    /// Receipts keep arriving after the job ends, until then (`RECEIPTS_WINDOW_HOURS` after).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipts_open_until: Option<DateTime<Utc>>,
    /// Added: how long after it ends a bulk send's receipts are expected (it sets
    /// `receipts_open_until` when the send ends).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipts_window_hours: Option<u32>,
    /// Added: replies from a bulk send's recipients (messages linked to it in the inbox).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replies: Option<u64>,
    /// Added: items done per second over the last 10 to 20 seconds, while it runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_per_sec: Option<f64>,
    /// Added: seconds left at `rate_per_sec`, while it runs and moves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta_seconds: Option<u64>,
    /// Added: since it started, until it ended (or now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elapsed_ms: Option<u64>,
    /// Added: when a running job last moved, once nothing has moved for `STALL_AFTER_S`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stalled_since: Option<DateTime<Utc>>,
    /// Added: tags people gave the send (or its campaign), to find it by.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// A running job that has not moved for this long is stalled (`stalled_since`).
pub const STALL_AFTER_S: i64 = 30;

/// How a job moves, read from its counters and its pace checkpoints at `now`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct PaceView {
    pub rate_per_sec: Option<f64>,
    pub eta_seconds: Option<u64>,
    pub elapsed_ms: Option<u64>,
    pub stalled_since: Option<DateTime<Utc>>,
}

impl PaceView {
    /// `done` of `total` items; `moved_at` the last move (or start), `checkpoint` the oldest
    /// count kept at least 10 s back (or the newest one, early on).
    #[allow(clippy::too_many_arguments)]
    pub fn read(
        status: JobStatus,
        (done, total): (u64, u64),
        started_at: Option<DateTime<Utc>>,
        finished_at: Option<DateTime<Utc>>,
        moved_at: Option<DateTime<Utc>>,
        checkpoint: Option<(DateTime<Utc>, u64)>,
        now: DateTime<Utc>,
    ) -> PaceView {
        let elapsed_ms = started_at.map(|started| {
            (finished_at.unwrap_or(now) - started)
                .num_milliseconds()
                .max(0) as u64
        });
        if status != JobStatus::Processing {
            return PaceView {
                elapsed_ms,
                ..PaceView::default()
            };
        }
        let moved = moved_at.or(started_at);
        let quiet_ms = moved.map_or(0, |m| (now - m).num_milliseconds());
        let rate = if quiet_ms >= 10_000 {
            Some(0.0)
        } else {
            checkpoint.and_then(|(at, then)| {
                let span_ms = (now - at).num_milliseconds();
                (span_ms >= 1_000)
                    .then(|| done.saturating_sub(then) as f64 * 1_000.0 / span_ms as f64)
            })
        };
        let remaining = total.saturating_sub(done);
        PaceView {
            rate_per_sec: rate.map(|r| (r * 10.0).round() / 10.0),
            eta_seconds: rate
                .filter(|r| *r > 0.0)
                .map(|r| (remaining as f64 / r).ceil() as u64),
            elapsed_ms,
            stalled_since: moved.filter(|_| quiet_ms >= STALL_AFTER_S * 1_000),
        }
    }
}

/// How long after a bulk send ends its receipts are still expected.
pub const RECEIPTS_WINDOW_HOURS: i64 = 72;

/// A bulk send's delivery funnel: `delivered` counts read messages too; `awaiting` are sent with
/// no receipt yet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipts {
    pub delivered: u64,
    pub read: u64,
    pub undelivered: u64,
    pub awaiting: u64,
}

impl Receipts {
    /// The funnel from the job's counters and how many of its items were sent.
    pub fn new(sent: u64, delivered: u64, read: u64, undelivered: u64) -> Receipts {
        Receipts {
            delivered,
            read,
            undelivered,
            awaiting: sent.saturating_sub(delivered + undelivered),
        }
    }
}

/// What a provider last said of a message it accepted; it only moves forward.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    Delivered,
    Read,
    /// The provider gave up after accepting it.
    Undelivered,
}

impl Delivery {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Delivered => "delivered",
            Delivery::Read => "read",
            Delivery::Undelivered => "undelivered",
        }
    }

    /// The delivery with this wire name.
    pub fn parse(name: &str) -> Option<Delivery> {
        match name {
            "delivered" => Some(Delivery::Delivered),
            "read" => Some(Delivery::Read),
            "undelivered" => Some(Delivery::Undelivered),
            _ => None,
        }
    }

    /// Where a message in `current` goes on this receipt; `None` when it does not move
    /// (duplicates, late and out-of-order receipts never move a message back).
    pub fn after(current: Option<Delivery>, receipt: Delivery) -> Option<Delivery> {
        match (current, receipt) {
            (None, next) => Some(next),
            (Some(Delivery::Delivered), Delivery::Read) => Some(Delivery::Read),
            _ => None,
        }
    }
}

impl JobView {
    /// Whether more events may come at `now`: it has not ended, or it is a send through senders
    /// whose receipts are still arriving.
    pub fn expects_events(&self, now: DateTime<Utc>) -> bool {
        !self.status.is_terminal()
            || (self.through_senders() && self.receipts_open_until.is_some_and(|until| until > now))
    }

    /// Whether it sends through the tenant's senders (which report receipts), not the
    /// server-wide provider.
    pub fn through_senders(&self) -> bool {
        self.senders.iter().any(|lane| lane.sender_id.is_some())
    }

    /// The ids of the tenant's senders it spreads over, in device order.
    pub fn sender_ids(&self) -> Vec<Uuid> {
        self.senders
            .iter()
            .filter_map(|lane| lane.sender_id)
            .collect()
    }

    /// Applies a job event to this snapshot so a client's copy follows the server's.
    pub fn apply(&mut self, msg: &ServerMsg) {
        self.apply_event(msg);
        // The window opens when the send ends (and closes again if it is resumed).
        if let Some(hours) = self.receipts_window_hours {
            self.receipts_open_until = self
                .finished_at
                .map(|at| at + chrono::Duration::hours(i64::from(hours)));
        }
        // `awaiting` follows `sent`: a send event moves it as much as a receipt does, and the
        // two kinds of event arrive in any order.
        if let Some(receipts) = &mut self.receipts {
            *receipts = Receipts::new(
                self.progress.sent,
                receipts.delivered,
                receipts.read,
                receipts.undelivered,
            );
        }
    }

    fn apply_event(&mut self, msg: &ServerMsg) {
        if let Some(status) = lifecycle::status_after(self.status, msg) {
            self.status = status;
        }
        match msg {
            ServerMsg::JobStarted(e) => {
                if self.started_at.is_none() {
                    self.started_at = Some(e.at);
                }
                if let Some(progress) = e.progress {
                    self.progress = progress;
                }
            }
            ServerMsg::Progress(e) => self.progress = e.progress,
            ServerMsg::Receipt(e) => self.receipts = Some(e.receipts),
            ServerMsg::Reply(e) => self.replies = Some(e.replies),
            ServerMsg::Error(e) => {
                if let Some(progress) = e.progress {
                    self.progress = progress;
                }
            }
            ServerMsg::Stage(e) => {
                self.stage = Some(e.stage.clone());
                if e.message.is_some() {
                    self.stage_message = e.message.clone();
                    self.stage_note = e.note.clone();
                }
                if let Some(progress) = e.progress {
                    self.progress = progress;
                }
            }
            ServerMsg::Item(e) => self.progress = e.progress,
            ServerMsg::JobCompleted(e) => {
                self.finished_at = Some(e.at);
                self.progress = Progress {
                    percentage: 100.0,
                    ..Progress::new(
                        e.results.sent,
                        e.results.failed,
                        e.results.unknown,
                        e.results.total,
                    )
                };
                self.results = Some(e.results.clone());
                if let Some(stage) = lifecycle::completed_stage(self.kind) {
                    self.stage = Some(stage.to_owned());
                }
            }
            ServerMsg::JobFailed(e) => {
                self.finished_at = Some(e.at);
                self.last_error = Some(e.error.clone());
                if let Some(progress) = e.progress {
                    self.progress = progress;
                }
            }
            ServerMsg::JobCancelled(e) => {
                self.finished_at = Some(e.at);
                self.progress = e.progress;
            }
            ServerMsg::JobPaused(e) => self.progress = e.progress,
            ServerMsg::JobResumed(e) => {
                self.finished_at = None;
                self.results = None;
                if let Some(progress) = e.progress {
                    self.progress = progress;
                }
            }
            ServerMsg::Subscribed(s) => *self = s.job.clone(),
            ServerMsg::Resync(s) => *self = s.job.clone(),
            _ => {}
        }
        if let Some(seq) = msg.seq()
            && seq > self.last_seq
        {
            self.last_seq = seq;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_running_jobs_pace_is_read_from_its_checkpoint_and_its_last_move() {
        let t = |s: i64| DateTime::from_timestamp(1_700_000_000 + s, 0).unwrap();
        let running = |moved: i64, now: i64| {
            PaceView::read(
                JobStatus::Processing,
                (600, 1_000),
                Some(t(0)),
                None,
                Some(t(moved)),
                Some((t(5), 100)),
                t(now),
            )
        };
        // 500 items in the 10 s since the checkpoint: 50/s, 400 left → 8 s.
        let moving = running(15, 15);
        assert_eq!(moving.rate_per_sec, Some(50.0));
        assert_eq!(moving.eta_seconds, Some(8));
        assert_eq!(moving.elapsed_ms, Some(15_000));
        assert_eq!(moving.stalled_since, None);
        // Quiet for 10 s: no rate, no estimate; for 30 s: stalled since its last move.
        let quiet = running(15, 26);
        assert_eq!((quiet.rate_per_sec, quiet.eta_seconds), (Some(0.0), None));
        assert_eq!(quiet.stalled_since, None);
        assert_eq!(running(15, 45).stalled_since, Some(t(15)));
        // A finished job has only its running time.
        let done = PaceView::read(
            JobStatus::Completed,
            (1_000, 1_000),
            Some(t(0)),
            Some(t(42)),
            Some(t(42)),
            Some((t(30), 900)),
            t(100),
        );
        assert_eq!(
            done,
            PaceView {
                elapsed_ms: Some(42_000),
                ..PaceView::default()
            }
        );
    }

    #[test]
    fn progress_event_matches_the_contract_shape() {
        let job_id = JobId(Uuid::nil());
        let msg = ServerMsg::Progress(ItemEvent {
            job_id,
            seq: 7,
            at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            device_id: 1,
            sender_id: None,
            phone: "+34600000001".into(),
            status: ItemStatus::Sent,
            attempts: 1,
            progress: Progress::new(3, 1, 0, 8),
        });
        let value: serde_json::Value = serde_json::from_str(&msg.to_json()).unwrap();
        assert_eq!(value["type"], "progress");
        assert_eq!(value["seq"], 7);
        assert_eq!(value["device_id"], 1);
        assert_eq!(value["status"], "sent");
        assert_eq!(value["progress"]["sent"], 3);
        assert_eq!(value["progress"]["percentage"], 50.0);
        let back: ServerMsg = serde_json::from_value(value).unwrap();
        assert_eq!(back, msg);
    }

    #[test]
    fn protocol_error_has_no_job_fields() {
        let json = ServerMsg::Error(ErrorEvent::protocol("unknown message type")).to_json();
        assert_eq!(json, r#"{"type":"error","error":"unknown message type"}"#);
    }

    #[test]
    fn client_messages_parse_from_the_contract_examples() {
        let sub: ClientMsg = serde_json::from_str(
            r#"{"type":"subscribe_job","job_id":"0190a0a0-0000-7000-8000-000000000000","after_seq":4}"#,
        )
        .unwrap();
        assert!(matches!(
            sub,
            ClientMsg::SubscribeJob {
                after_seq: Some(4),
                ..
            }
        ));
        let ping: ClientMsg =
            serde_json::from_str(r#"{"type":"ping","timestamp":1700000000000}"#).unwrap();
        assert_eq!(
            ping,
            ClientMsg::Ping {
                timestamp: 1_700_000_000_000
            }
        );
    }

    #[test]
    fn percentage_is_of_items_with_an_outcome() {
        assert_eq!(Progress::new(0, 0, 0, 0).percentage, 100.0);
        assert_eq!(Progress::new(1, 0, 0, 3).percentage, 33.33);
        assert_eq!(Progress::new(2, 1, 0, 3).percentage, 100.0);
    }

    #[test]
    fn statuses_round_trip_through_their_spelling() {
        for status in JobStatus::ALL {
            assert_eq!(status.as_str().parse::<JobStatus>().unwrap(), status);
        }
        assert!("done".parse::<JobStatus>().is_err());
    }
}
