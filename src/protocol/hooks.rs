//! Outgoing webhooks (CONTRACT.md "Operations"): a tenant's URLs that hear about its jobs'
//! ends, each call signed and retried until it is answered `2xx`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::protocol::{JobId, JobStatus};

/// What a hook can be told about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum HookEvent {
    #[serde(rename = "job.completed")]
    JobCompleted,
    #[serde(rename = "job.failed")]
    JobFailed,
    #[serde(rename = "job.cancelled")]
    JobCancelled,
    #[serde(rename = "job.paused")]
    JobPaused,
    /// A call the tenant asked for to try the hook (`POST /hooks/{id}/test`); never subscribed.
    #[serde(rename = "ping")]
    Ping,
}

impl HookEvent {
    /// The events a hook may subscribe to, in the order forms list them.
    pub const SUBSCRIBABLE: [HookEvent; 4] = [
        HookEvent::JobCompleted,
        HookEvent::JobFailed,
        HookEvent::JobCancelled,
        HookEvent::JobPaused,
    ];

    /// The wire name (`job.completed`).
    pub fn as_str(self) -> &'static str {
        match self {
            HookEvent::JobCompleted => "job.completed",
            HookEvent::JobFailed => "job.failed",
            HookEvent::JobCancelled => "job.cancelled",
            HookEvent::JobPaused => "job.paused",
            HookEvent::Ping => "ping",
        }
    }

    /// The event with this wire name.
    pub fn parse(name: &str) -> Option<HookEvent> {
        [HookEvent::Ping]
            .into_iter()
            .chain(HookEvent::SUBSCRIBABLE)
            .find(|event| event.as_str() == name)
    }

    /// The event a job reaching `status` is, if any.
    pub fn of_status(status: JobStatus) -> Option<HookEvent> {
        match status {
            JobStatus::Completed => Some(HookEvent::JobCompleted),
            JobStatus::Failed => Some(HookEvent::JobFailed),
            JobStatus::Cancelled => Some(HookEvent::JobCancelled),
            JobStatus::Paused => Some(HookEvent::JobPaused),
            JobStatus::Pending | JobStatus::Processing => None,
        }
    }
}

/// `POST /hooks`: where to call, and about what.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateHookRequest {
    pub url: String,
    /// Wire names (`job.completed`); checked by the server, so an unknown one is worded.
    pub events: Vec<String>,
}

/// A hook as lists show it: never its secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookView {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<HookEvent>,
    pub created_at: DateTime<Utc>,
    /// How its latest call went, if it had one.
    #[serde(default)]
    pub last_delivery: Option<DeliveryStatus>,
}

/// `POST /hooks`' answer: the secret deliveries are signed with, shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookCreated {
    pub hook: HookView,
    pub secret: String,
}

/// Where a delivery is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its first call, or for the next try after a failed one.
    Pending,
    /// Answered `2xx`.
    Delivered,
    /// Every try failed; it is not tried again.
    Failed,
}

impl DeliveryStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// The status with this stored name.
    pub fn parse(name: &str) -> Option<DeliveryStatus> {
        match name {
            "pending" => Some(DeliveryStatus::Pending),
            "delivered" => Some(DeliveryStatus::Delivered),
            "failed" => Some(DeliveryStatus::Failed),
            _ => None,
        }
    }
}

/// One event for one hook, and how its calls went (`GET /hooks/{id}/deliveries`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    /// Also the body's `id` and `X-Jobpulse-Delivery`: receivers de-duplicate by it.
    pub id: Uuid,
    pub hook_id: Uuid,
    pub event: HookEvent,
    pub job_id: Option<JobId>,
    pub status: DeliveryStatus,
    /// Calls made so far.
    pub attempts: u32,
    /// The HTTP status of the latest answer, if one came.
    pub response_status: Option<u16>,
    /// Why the latest call failed (a status without `2xx`, a timeout, a refused connection).
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When the latest call was made.
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// When a pending delivery is tried next.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// What the hooks page shows of one hook: it and its newest deliveries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookWithDeliveries {
    pub hook: HookView,
    pub deliveries: Vec<DeliveryView>,
}

/// Why a call got no answer at all, as a delivery's `error` begins (`timeout: …`); the rest
/// is the system's own technical words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallFailure {
    /// No answer within `hooks.timeout_ms`.
    Timeout,
    /// The address could not be reached (no such name, connection refused, TLS).
    Unreachable,
    /// The address resolved to the server's own network, which hooks may not call.
    Blocked,
    /// The hook's secret cannot be opened with this server's `secret_key`.
    SecretLost,
}

impl CallFailure {
    /// The word an `error` begins with.
    pub fn as_str(self) -> &'static str {
        match self {
            CallFailure::Timeout => "timeout",
            CallFailure::Unreachable => "unreachable",
            CallFailure::Blocked => "blocked",
            CallFailure::SecretLost => "secret_lost",
        }
    }

    /// The failure a delivery's `error` names, and the technical rest.
    pub fn of_error(error: &str) -> Option<(CallFailure, &str)> {
        let (word, rest) = error.split_once(": ").unwrap_or((error, ""));
        [
            CallFailure::Timeout,
            CallFailure::Unreachable,
            CallFailure::Blocked,
            CallFailure::SecretLost,
        ]
        .into_iter()
        .find(|f| f.as_str() == word)
        .map(|f| (f, rest))
    }

    /// A delivery's `error` for this failure.
    pub fn with(self, detail: &str) -> String {
        format!("{}: {detail}", self.as_str())
    }
}
