//! REST bodies of CONTRACT.md (and its additions).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ItemStatus, JobId, JobView, ServerMsg};

/// `POST /api/messages/send-bulk` body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SendBulkRequest {
    pub message: String,
    pub phones: Vec<String>,
    #[serde(default = "default_devices_limit")]
    pub devices_limit: u32,
    #[serde(default)]
    pub idempotency_key: Option<String>,
    #[serde(default)]
    pub skip_invalid: bool,
}

/// The number of sender devices when a request names none.
pub fn default_devices_limit() -> u32 {
    5
}

/// One rejected phone entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidPhone {
    /// Position in the submitted list, from 0.
    pub index: usize,
    pub phone: String,
    pub reason: String,
}

/// `202` answer to a bulk send.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SendBulkResponse {
    pub status: String,
    pub message: String,
    pub job: JobView,
}

/// `GET /api/jobs/{id}/events` answer; events stay raw JSON so they are replayed byte for byte.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EventsPage {
    pub events: Vec<ServerMsg>,
    pub last_seq: u64,
}

/// A row of `GET /api/jobs/{id}/items`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemView {
    pub index: u64,
    pub recipient: String,
    pub status: ItemStatus,
    pub device_id: Option<u32>,
    pub attempts: u32,
    pub error: Option<String>,
    /// Every failed attempt's error, oldest first.
    #[serde(default)]
    pub errors: Vec<String>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /api/jobs/{id}/retry-failed` body.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RetryFailedRequest {
    /// Also re-send items whose fate is unknown (the provider may have delivered them already).
    #[serde(default)]
    pub include_unknown: bool,
}

/// An API token as its tenant's admins see it (the secret itself is shown once, at creation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenView {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A user as their tenant's admins see them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserView {
    pub id: Uuid,
    pub username: String,
    /// `admin`, `operator` or `viewer`.
    pub role: String,
    pub created_at: DateTime<Utc>,
}

/// An instance of the app sharing the database, as an admin's dashboard shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceView {
    pub id: String,
    pub hostname: String,
    pub started_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// Jobs it runs now, of every tenant.
    pub running_jobs: u64,
    /// Those of them that belong to the viewer's tenant.
    pub tenant_jobs: Vec<JobId>,
}

/// `GET /api/jobs/{id}/items` answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemsPage {
    pub items: Vec<ItemView>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_after: Option<u64>,
}
