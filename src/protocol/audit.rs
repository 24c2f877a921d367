//! The audit log (CONTRACT.md "Operations", `GET /audit`): who did what to which job,
//! campaign, sender, token, user or hook, when, and from where.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What was done.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AuditAction {
    #[serde(rename = "job.create")]
    JobCreate,
    #[serde(rename = "job.cancel")]
    JobCancel,
    #[serde(rename = "job.pause")]
    JobPause,
    #[serde(rename = "job.resume")]
    JobResume,
    #[serde(rename = "job.retry")]
    JobRetry,
    #[serde(rename = "job.send_rest")]
    JobSendRest,
    #[serde(rename = "job.device_pause")]
    DevicePause,
    #[serde(rename = "job.device_resume")]
    DeviceResume,
    #[serde(rename = "campaign.create")]
    CampaignCreate,
    #[serde(rename = "campaign.rerun")]
    CampaignRerun,
    #[serde(rename = "sender.create")]
    SenderCreate,
    #[serde(rename = "sender.update")]
    SenderUpdate,
    #[serde(rename = "sender.delete")]
    SenderDelete,
    #[serde(rename = "token.create")]
    TokenCreate,
    #[serde(rename = "token.revoke")]
    TokenRevoke,
    #[serde(rename = "user.create")]
    UserCreate,
    #[serde(rename = "user.role")]
    UserRole,
    #[serde(rename = "user.delete")]
    UserDelete,
    #[serde(rename = "hook.create")]
    HookCreate,
    #[serde(rename = "hook.delete")]
    HookDelete,
    #[serde(rename = "opt_out.add")]
    OptOutAdd,
    #[serde(rename = "opt_out.remove")]
    OptOutRemove,
}

impl AuditAction {
    /// The stored (and wire) name, `job.cancel`.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::JobCreate => "job.create",
            AuditAction::JobCancel => "job.cancel",
            AuditAction::JobPause => "job.pause",
            AuditAction::JobResume => "job.resume",
            AuditAction::JobRetry => "job.retry",
            AuditAction::JobSendRest => "job.send_rest",
            AuditAction::DevicePause => "job.device_pause",
            AuditAction::DeviceResume => "job.device_resume",
            AuditAction::CampaignCreate => "campaign.create",
            AuditAction::CampaignRerun => "campaign.rerun",
            AuditAction::SenderCreate => "sender.create",
            AuditAction::SenderUpdate => "sender.update",
            AuditAction::SenderDelete => "sender.delete",
            AuditAction::TokenCreate => "token.create",
            AuditAction::TokenRevoke => "token.revoke",
            AuditAction::UserCreate => "user.create",
            AuditAction::UserRole => "user.role",
            AuditAction::UserDelete => "user.delete",
            AuditAction::HookCreate => "hook.create",
            AuditAction::HookDelete => "hook.delete",
            AuditAction::OptOutAdd => "opt_out.add",
            AuditAction::OptOutRemove => "opt_out.remove",
        }
    }

    /// The action with this stored name.
    pub fn parse(name: &str) -> Option<AuditAction> {
        serde_json::from_value(serde_json::Value::String(name.to_owned())).ok()
    }

    /// What kind of thing it acts on.
    pub fn target_kind(self) -> TargetKind {
        match self {
            AuditAction::JobCreate
            | AuditAction::JobCancel
            | AuditAction::JobPause
            | AuditAction::JobResume
            | AuditAction::JobRetry
            | AuditAction::JobSendRest
            | AuditAction::DevicePause
            | AuditAction::DeviceResume => TargetKind::Job,
            AuditAction::CampaignCreate | AuditAction::CampaignRerun => TargetKind::Campaign,
            AuditAction::SenderCreate | AuditAction::SenderUpdate | AuditAction::SenderDelete => {
                TargetKind::Sender
            }
            AuditAction::TokenCreate | AuditAction::TokenRevoke => TargetKind::Token,
            AuditAction::UserCreate | AuditAction::UserRole | AuditAction::UserDelete => {
                TargetKind::User
            }
            AuditAction::HookCreate | AuditAction::HookDelete => TargetKind::Hook,
            AuditAction::OptOutAdd | AuditAction::OptOutRemove => TargetKind::OptOut,
        }
    }
}

/// The kinds of things actions are done to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    Job,
    Campaign,
    Sender,
    Token,
    User,
    Hook,
    OptOut,
}

/// Who did it: a user of the pages, or a script with an API token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    User,
    Token,
}

/// One entry of `GET /audit`, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Also the `before` cursor of the next page.
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_kind: ActorKind,
    /// The username, or the API token's name.
    pub actor: String,
    pub action: AuditAction,
    pub target_kind: TargetKind,
    /// The id (a job's, a sender's…), or the number of an opt-out.
    pub target_id: String,
    /// What the target is called where it has a name (a user, a token, a sender, a hook's URL)
    /// or what was chosen (a role, a device).
    pub detail: Option<String>,
    /// The client's address (a trusted proxy's forwarded one).
    pub ip: Option<String>,
}
