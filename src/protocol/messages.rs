//! WebSocket messages: what the server sends (and stores in the event log) and what clients send.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::fault::{SendFault, StageNote};
use super::{CampaignView, ItemStatus, JobId, JobResults, JobStatus, JobView, Progress};

/// `job_created`: the first event of every job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobCreatedEvent {
    pub job_id: JobId,
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub job: JobView,
}

/// `job_started`: a runner took the job (again, after a restart or a resume).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobStartedEvent {
    pub job_id: JobId,
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub message: String,
    /// Counters at the start (a rescued job may already have outcomes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
    /// The instance whose engine runs the job.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

/// `stage`: a multi-stage job moved on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StageEvent {
    pub job_id: JobId,
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub stage: String,
    pub percentage: f64,
    /// The counters as of this event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
    /// What is happening, in a sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Added: `message` as a code with parameters, for wording it in the reader's language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<StageNote>,
}

/// `item`: one result found (scraping) or one item reported (outside worker).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemReport {
    pub job_id: JobId,
    pub seq: u64,
    pub at: DateTime<Utc>,
    /// The result's URL, or the worker's key.
    pub key: String,
    /// `ok` or `failed`.
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// `error` as a code, when the server wrote it (a page that could not be read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<super::failure::FetchFault>,
    pub progress: Progress,
}

/// `progress`: one item reached an outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemEvent {
    pub job_id: JobId,
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub device_id: u32,
    /// Added: the sender of `device_id`, when the job spreads over the tenant's senders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_id: Option<Uuid>,
    pub phone: String,
    pub status: ItemStatus,
    pub attempts: u32,
    pub progress: Progress,
}

/// `error`: with a `job_id`, one item failed; without, the client broke the protocol.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ErrorEvent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<JobId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<u32>,
    /// Added: the sender of `device_id`, when the job spreads over the tenant's senders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ItemStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
    pub error: String,
    /// Added: `error` as a code with parameters, for wording it in the reader's language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<SendFault>,
}

impl ErrorEvent {
    /// A protocol error, not tied to any job.
    pub fn protocol(error: impl Into<String>) -> Self {
        ErrorEvent {
            job_id: None,
            seq: None,
            at: None,
            device_id: None,
            sender_id: None,
            phone: None,
            status: None,
            attempts: None,
            progress: None,
            error: error.into(),
            fault: None,
        }
    }

    /// An error about one job that is not part of its event log (e.g. "job not found").
    pub fn for_job(job_id: JobId, error: impl Into<String>) -> Self {
        ErrorEvent {
            job_id: Some(job_id),
            ..ErrorEvent::protocol(error)
        }
    }
}

/// `job_completed`: every item has an outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobCompletedEvent {
    pub job_id: JobId,
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub status: JobStatus,
    pub results: JobResults,
    /// How it ended, when there is more to say (a source exhausted before the target).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Added: `message` as a code with parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<StageNote>,
}

/// `receipt` (added): a provider reported on a message it accepted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReceiptEvent {
    pub job_id: JobId,
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub phone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_id: Option<Uuid>,
    pub status: super::Delivery,
    /// Why an undelivered message was given up, in the provider's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub receipts: super::Receipts,
}

/// `reply` (added): a recipient of this bulk send wrote back (the whole message is in the inbox).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReplyEvent {
    pub job_id: JobId,
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub phone: String,
    pub sender_id: Uuid,
    pub text: String,
    /// The job's replies so far.
    pub replies: u64,
}

/// `job_failed`: the job stopped on an error of its own (not an item's).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobFailedEvent {
    pub job_id: JobId,
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub error: String,
    pub message: String,
    #[serde(default)]
    pub progress: Option<Progress>,
    /// `error` and `message` as a code with parameters, when the server wrote them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<super::failure::JobFault>,
}

/// `job_cancelled`, `job_paused`: the job stopped on request, with the exact counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobStoppedEvent {
    pub job_id: JobId,
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub status: JobStatus,
    pub progress: Progress,
    #[serde(default)]
    pub message: String,
}

/// `subscribed` and `resync`: a snapshot of the job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnapshotMsg {
    pub job_id: JobId,
    #[serde(default)]
    pub last_seq: u64,
    pub job: JobView,
}

/// Everything the server sends over the WebSocket (and stores in the event log).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    Connected {
        message: String,
    },
    Subscribed(SnapshotMsg),
    Unsubscribed {
        job_id: JobId,
    },
    JobCreated(JobCreatedEvent),
    JobStarted(JobStartedEvent),
    Stage(StageEvent),
    Progress(ItemEvent),
    Item(ItemReport),
    Error(ErrorEvent),
    JobCompleted(JobCompletedEvent),
    JobFailed(JobFailedEvent),
    JobCancelled(JobStoppedEvent),
    JobPaused(JobStoppedEvent),
    JobResumed(JobStartedEvent),
    Resync(SnapshotMsg),
    Pong {
        timestamp: i64,
    },
    /// Added: the answer to `subscribe_campaign`, before the `subscribed` of each of its jobs.
    CampaignSubscribed(CampaignSnapshot),
    /// Added: a delivery receipt.
    Receipt(ReceiptEvent),
    /// Added: a recipient of the job replied.
    Reply(ReplyEvent),
    /// Added: the answer to `subscribe_inbox`; `message_new` follows for each new message.
    InboxSubscribed {
        /// The newest message in the inbox when the subscription began.
        last_id: Option<i64>,
    },
    /// A message reached one of the tenant's senders (to `subscribe_inbox` subscribers).
    MessageNew(super::InboundMessage),
    /// Added: the answer to `subscribe_senders`: every sender of the tenant as it is now;
    /// `sender_health` follows for each change.
    SendersSubscribed {
        senders: Vec<super::senders::SenderHealthView>,
    },
    /// Added: a sender's health changed (to `subscribe_senders` subscribers).
    SenderHealth(super::senders::SenderHealthView),
}

/// `campaign_subscribed`: the campaign and its jobs as they are now.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CampaignSnapshot {
    pub campaign_id: Uuid,
    pub campaign: CampaignView,
}

impl ServerMsg {
    /// The job this message is about, if any.
    pub fn job_id(&self) -> Option<JobId> {
        match self {
            ServerMsg::Connected { .. }
            | ServerMsg::Pong { .. }
            | ServerMsg::CampaignSubscribed(_)
            | ServerMsg::InboxSubscribed { .. }
            | ServerMsg::MessageNew(_)
            | ServerMsg::SendersSubscribed { .. }
            | ServerMsg::SenderHealth(_) => None,
            ServerMsg::Subscribed(s) | ServerMsg::Resync(s) => Some(s.job_id),
            ServerMsg::Unsubscribed { job_id } => Some(*job_id),
            ServerMsg::JobCreated(e) => Some(e.job_id),
            ServerMsg::JobStarted(e) | ServerMsg::JobResumed(e) => Some(e.job_id),
            ServerMsg::Stage(e) => Some(e.job_id),
            ServerMsg::Progress(e) => Some(e.job_id),
            ServerMsg::Receipt(e) => Some(e.job_id),
            ServerMsg::Reply(e) => Some(e.job_id),
            ServerMsg::Item(e) => Some(e.job_id),
            ServerMsg::Error(e) => e.job_id,
            ServerMsg::JobCompleted(e) => Some(e.job_id),
            ServerMsg::JobFailed(e) => Some(e.job_id),
            ServerMsg::JobCancelled(e) | ServerMsg::JobPaused(e) => Some(e.job_id),
        }
    }

    /// The event's place in its job's log; `None` for messages that are not job events.
    pub fn seq(&self) -> Option<u64> {
        match self {
            ServerMsg::JobCreated(e) => Some(e.seq),
            ServerMsg::JobStarted(e) | ServerMsg::JobResumed(e) => Some(e.seq),
            ServerMsg::Stage(e) => Some(e.seq),
            ServerMsg::Progress(e) => Some(e.seq),
            ServerMsg::Receipt(e) => Some(e.seq),
            ServerMsg::Reply(e) => Some(e.seq),
            ServerMsg::Item(e) => Some(e.seq),
            ServerMsg::Error(e) => e.seq,
            ServerMsg::JobCompleted(e) => Some(e.seq),
            ServerMsg::JobFailed(e) => Some(e.seq),
            ServerMsg::JobCancelled(e) | ServerMsg::JobPaused(e) => Some(e.seq),
            _ => None,
        }
    }

    /// The `type` tag, as stored in the events table.
    pub fn type_name(&self) -> &'static str {
        match self {
            ServerMsg::Connected { .. } => "connected",
            ServerMsg::Subscribed(_) => "subscribed",
            ServerMsg::Unsubscribed { .. } => "unsubscribed",
            ServerMsg::JobCreated(_) => "job_created",
            ServerMsg::JobStarted(_) => "job_started",
            ServerMsg::Stage(_) => "stage",
            ServerMsg::Progress(_) => "progress",
            ServerMsg::Receipt(_) => "receipt",
            ServerMsg::Item(_) => "item",
            ServerMsg::Error(_) => "error",
            ServerMsg::JobCompleted(_) => "job_completed",
            ServerMsg::JobFailed(_) => "job_failed",
            ServerMsg::JobCancelled(_) => "job_cancelled",
            ServerMsg::JobPaused(_) => "job_paused",
            ServerMsg::JobResumed(_) => "job_resumed",
            ServerMsg::Resync(_) => "resync",
            ServerMsg::Pong { .. } => "pong",
            ServerMsg::CampaignSubscribed(_) => "campaign_subscribed",
            ServerMsg::Reply(_) => "reply",
            ServerMsg::InboxSubscribed { .. } => "inbox_subscribed",
            ServerMsg::MessageNew(_) => "message_new",
            ServerMsg::SendersSubscribed { .. } => "senders_subscribed",
            ServerMsg::SenderHealth(_) => "sender_health",
        }
    }

    /// True for events that end a job.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            ServerMsg::JobCompleted(_) | ServerMsg::JobFailed(_) | ServerMsg::JobCancelled(_)
        )
    }

    /// Serialises the message as one JSON text frame.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("wire messages always serialise")
    }
}

/// Everything a client may send over the WebSocket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMsg {
    SubscribeJob {
        job_id: JobId,
        #[serde(default)]
        after_seq: Option<u64>,
    },
    UnsubscribeJob {
        job_id: JobId,
    },
    /// Follows every job of a campaign, and the jobs added to it later. `after_seq` applies to
    /// each of its jobs; `after_seqs` (added) gives one job's resume point exactly.
    SubscribeCampaign {
        campaign_id: Uuid,
        #[serde(default)]
        after_seq: Option<u64>,
        #[serde(default, skip_serializing_if = "std::collections::HashMap::is_empty")]
        after_seqs: std::collections::HashMap<JobId, u64>,
    },
    /// Added: stop following a campaign's new jobs (its jobs stay subscribed until
    /// `unsubscribe_job`).
    UnsubscribeCampaign {
        campaign_id: Uuid,
    },
    /// Follow the tenant's new jobs: each arrives as its `job_created` event.
    SubscribeJobs,
    /// Follow the tenant's inbox: each new message arrives as `message_new`; `after` (added)
    /// first replays the messages after that id.
    SubscribeInbox {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        after: Option<i64>,
    },
    /// Added: follow the health of the tenant's senders: `senders_subscribed` with each one as
    /// it is, then `sender_health` for each change.
    SubscribeSenders,
    Ping {
        #[serde(default)]
        timestamp: i64,
    },
    Auth {
        token: String,
    },
}

impl ClientMsg {
    /// Serialises the message as one JSON text frame.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("wire messages always serialise")
    }
}
