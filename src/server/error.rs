//! The one error type of the HTTP layer: it renders CONTRACT.md's `{"detail": …}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::protocol::InvalidPhone;
use crate::server::jobs::{ControlError, CreateError};
use crate::server::store::StoreError;

/// An error answer: a status and one sentence a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("Log in, or send an API token as 'Authorization: Bearer <token>'.")]
    Unauthorized,
    #[error("Wrong workspace, username or password.")]
    WrongPassword,
    /// A worker report without its job's worker token.
    #[error("Send this job's worker_token as 'Authorization: Bearer <worker_token>'.")]
    WrongWorker,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{detail}")]
    InvalidPhones {
        detail: String,
        invalid: Vec<InvalidPhone>,
    },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("Too many requests: slow down and try again in {}.", .0.wait())]
    TooManyRequests(crate::server::limits::Limited),
    #[error("Too many login attempts: try again in {}.", .0.wait())]
    TooManyLogins(crate::server::limits::Limited),
    #[error("The server is busy checking other logins: try again in a moment.")]
    Busy,
    #[error("The request is too large: send at most {} KiB.", .0 / 1024)]
    TooLarge(usize),
    #[error("The request body arrived too slowly: send it again.")]
    SlowBody,
    #[error("The database is not answering; try again in a moment.")]
    Store(#[from] StoreError),
}

impl AppError {
    /// The answer for a job id that does not exist for this tenant (or at all: the same words).
    pub fn job_not_found() -> AppError {
        AppError::NotFound("Job not found.".into())
    }

    /// Seconds to wait before trying again, for answers that have them (`Retry-After`).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AppError::TooManyRequests(limited) | AppError::TooManyLogins(limited) => {
                Some(limited.seconds())
            }
            AppError::Busy => Some(crate::server::limits::Busy::RETRY_AFTER_SECONDS),
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
            AppError::Unprocessable(_) | AppError::InvalidPhones { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            AppError::Conflict(_) => StatusCode::CONFLICT,
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
            CreateError::Invalid(detail) => AppError::Unprocessable(detail),
            CreateError::InvalidPhones { detail, invalid } => {
                AppError::InvalidPhones { detail, invalid }
            }
            CreateError::Store(e) => AppError::Store(e),
        }
    }
}

impl From<ControlError> for AppError {
    fn from(error: ControlError) -> Self {
        match error {
            ControlError::NotFound => AppError::job_not_found(),
            ControlError::Refused(reason) => AppError::Conflict(reason),
            ControlError::Store(e) => AppError::Store(e),
        }
    }
}

impl From<crate::server::auth::Forbidden> for AppError {
    fn from(error: crate::server::auth::Forbidden) -> Self {
        AppError::Forbidden(error.0.to_owned())
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let AppError::Store(error) = &self {
            tracing::error!(%error, "store error answered with {status}");
        }
        let body = match &self {
            AppError::InvalidPhones { detail, invalid } => {
                json!({ "detail": detail, "invalid": invalid })
            }
            AppError::Store(StoreError::Conflict(detail)) => json!({ "detail": detail }),
            other => json!({ "detail": other.to_string() }),
        };
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
