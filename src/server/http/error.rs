//! The one error type of the HTTP layer: it renders CONTRACT.md's `{"detail": …}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::i18n::requests;
use crate::protocol::InvalidPhone;
use crate::protocol::lifecycle::Refusal;
use crate::protocol::problem::{
    AccountRule, BulkRule, CampaignRule, Denial, Problem, RequestRule, Thing,
};
use crate::server::services::jobs::{ControlError, CreateError};
use crate::server::store::StoreError;

/// An error answer: a status, and a `Problem` (code and parameters) worded for people.
#[derive(Debug, thiserror::Error)]
#[error("{}", (crate::i18n::EN.problem)(&self.problem()))]
pub enum AppError {
    Unauthorized,
    WrongPassword,
    /// A worker report without its job's worker token.
    WrongWorker,
    NotFound(Thing),
    /// A request that is malformed as a whole (a 400).
    BadRequest(RequestRule),
    /// Input a person has to fix (a 422).
    Unprocessable(RequestRule),
    /// An outside worker's report for a job that has ended (a 409).
    JobEnded(crate::protocol::JobStatus),
    /// A bulk send that breaks one of its rules (a 422).
    BulkSend(BulkRule),
    InvalidPhones {
        rule: BulkRule,
        invalid: Vec<InvalidPhone>,
    },
    Conflict(String),
    /// A command that does not fit the job's state.
    Refused(Refusal),
    /// A user or token that cannot be created or changed as asked.
    Account(AccountRule),
    /// A campaign (or an outside worker's job) that breaks one of its rules (a 422).
    Campaign(CampaignRule),
    /// A sender that cannot be created or changed as asked (a 422; a taken name is a 409).
    Sender(crate::protocol::problem::SenderRule),
    /// An outgoing webhook that cannot be added as asked (a 422).
    Hook(crate::protocol::problem::HookRule),
    Forbidden(Denial),
    TooManyRequests(crate::server::http::limits::Limited),
    TooManyLogins(crate::server::http::limits::Limited),
    Busy,
    TooLarge(usize),
    SlowBody,
    Store(#[from] StoreError),
}

impl AppError {
    /// The answer for a job id that does not exist for this tenant (or at all: the same words).
    pub fn job_not_found() -> AppError {
        AppError::NotFound(Thing::Job)
    }

    /// The code and parameters of this answer (never the database's own words).
    pub fn problem(&self) -> Problem {
        match self {
            AppError::Unauthorized => Problem::Unauthorized,
            AppError::WrongPassword => Problem::WrongPassword,
            AppError::WrongWorker => Problem::WrongWorker,
            AppError::NotFound(thing) => Problem::NotFound { thing: *thing },
            AppError::BadRequest(RequestRule::Nul { field })
            | AppError::Unprocessable(RequestRule::Nul { field }) => Problem::NulCharacter {
                field: field.clone(),
            },
            AppError::BadRequest(RequestRule::BodyUnreadable) => Problem::BodyUnreadable,
            // REST only: a page never sends these requests.
            AppError::BadRequest(rule) | AppError::Unprocessable(rule) => Problem::Other {
                detail: requests::en(rule),
            },
            AppError::JobEnded(status) => Problem::Other {
                detail: requests::en_ended(*status),
            },
            AppError::BulkSend(rule) | AppError::InvalidPhones { rule, .. } => {
                Problem::InvalidBulkSend { rule: rule.clone() }
            }
            AppError::Conflict(detail) | AppError::Store(StoreError::Conflict(detail)) => {
                Problem::Conflict {
                    detail: detail.clone(),
                }
            }
            AppError::Refused(refusal) => Problem::Refused { refusal: *refusal },
            AppError::Account(rule) => Problem::InvalidAccount { rule: rule.clone() },
            AppError::Campaign(rule) => Problem::InvalidCampaign { rule: rule.clone() },
            AppError::Sender(rule) => Problem::InvalidSender { rule: rule.clone() },
            AppError::Hook(rule) => Problem::InvalidHook { rule: rule.clone() },
            AppError::Store(StoreError::StillSearching { paused }) => Problem::InvalidCampaign {
                rule: CampaignRule::StillSearching { paused: *paused },
            },
            AppError::Forbidden(denial) => Problem::Forbidden { denial: *denial },
            AppError::TooManyRequests(limited) => Problem::TooManyRequests {
                seconds: limited.seconds(),
            },
            AppError::TooManyLogins(limited) => Problem::TooManyLogins {
                seconds: limited.seconds(),
            },
            AppError::Busy => Problem::Busy,
            AppError::TooLarge(bytes) => Problem::TooLarge {
                kib: (*bytes / 1024) as u64,
            },
            AppError::SlowBody => Problem::SlowBody,
            AppError::Store(_) => Problem::Unavailable,
        }
    }

    /// Seconds to wait before trying again, for answers that have them (`Retry-After`).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::TooManyRequests(limited) | AppError::TooManyLogins(limited) => {
                Some(limited.seconds())
            }
            AppError::Busy => Some(crate::server::http::limits::Busy::RETRY_AFTER_SECONDS),
            _ => None,
        }
    }

    /// The HTTP status of this answer.
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::Unauthorized | AppError::WrongWorker | AppError::WrongPassword => {
                StatusCode::UNAUTHORIZED
            }
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unprocessable(_) | AppError::BulkSend(_) | AppError::InvalidPhones { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            AppError::Conflict(_) | AppError::Refused(_) | AppError::JobEnded(_) => {
                StatusCode::CONFLICT
            }
            AppError::Account(AccountRule::UsernameTaken { .. })
            | AppError::Account(AccountRule::OwnAdminRole)
            | AppError::Account(AccountRule::RemoveYourself) => StatusCode::CONFLICT,
            AppError::Campaign(CampaignRule::StillSearching { .. })
            | AppError::Store(StoreError::StillSearching { .. }) => StatusCode::CONFLICT,
            AppError::Sender(crate::protocol::problem::SenderRule::NameTaken { .. }) => {
                StatusCode::CONFLICT
            }
            AppError::Account(_)
            | AppError::Campaign(_)
            | AppError::Sender(_)
            | AppError::Hook(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::TooManyRequests(_) | AppError::TooManyLogins(_) => {
                StatusCode::TOO_MANY_REQUESTS
            }
            AppError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::SlowBody => StatusCode::REQUEST_TIMEOUT,
            AppError::Store(StoreError::Conflict(_)) => StatusCode::CONFLICT,
            AppError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl From<CreateError> for AppError {
    fn from(error: CreateError) -> Self {
        match error {
            CreateError::Invalid(rule) => AppError::BulkSend(rule),
            CreateError::InvalidPhones { rule, invalid } => {
                AppError::InvalidPhones { rule, invalid }
            }
            CreateError::Store(e) => AppError::Store(e),
        }
    }
}

impl From<crate::server::services::senders::SenderError> for AppError {
    fn from(error: crate::server::services::senders::SenderError) -> Self {
        use crate::server::services::senders::SenderError;
        match error {
            SenderError::Invalid(rule) => AppError::Sender(rule),
            SenderError::NotFound => AppError::NotFound(Thing::Sender),
            SenderError::Store(e) => AppError::Store(e),
        }
    }
}

impl From<crate::server::services::jobs::SendRestError> for AppError {
    fn from(error: crate::server::services::jobs::SendRestError) -> Self {
        use crate::server::services::jobs::SendRestError;
        match error {
            SendRestError::Control(error) => error.into(),
            SendRestError::Create(error) => error.into(),
        }
    }
}

impl From<ControlError> for AppError {
    fn from(error: ControlError) -> Self {
        match error {
            ControlError::NotFound => AppError::job_not_found(),
            ControlError::NoDevice => AppError::NotFound(crate::protocol::problem::Thing::Device),
            ControlError::Refused(refusal) => AppError::Refused(refusal),
            ControlError::Store(e) => AppError::Store(e),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let AppError::Store(error) = &self
            && !matches!(error, StoreError::StillSearching { .. })
        {
            tracing::error!(%error, "store error answered with {status}");
        }
        let problem = self.problem();
        // The code's parameters too (additive), so a client can word the answer itself.
        let (body, code) = match &self {
            AppError::BadRequest(rule) | AppError::Unprocessable(rule) => {
                (serde_json::to_value(rule), "invalid")
            }
            AppError::JobEnded(status) => (Ok(json!({ "status": status })), "conflict"),
            _ => (serde_json::to_value(&problem), problem.code()),
        };
        let mut body = body.unwrap_or_else(|_| json!({}));
        body["detail"] = json!((crate::i18n::EN.problem)(&problem));
        body["code"] = json!(code);
        if let AppError::InvalidPhones { invalid, .. } = &self {
            body["invalid"] = json!(invalid);
        }
        let mut response = (status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after() {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

impl From<crate::server::services::accounts::AccountError> for AppError {
    fn from(error: crate::server::services::accounts::AccountError) -> Self {
        use crate::server::services::accounts::AccountError;
        match error {
            AccountError::Rule(rule) => AppError::Account(rule),
            AccountError::Store(e) => AppError::Store(e),
        }
    }
}
