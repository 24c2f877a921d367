//! The tenant's inbox (CONTRACT.md "Delivery receipts and replies"): `GET /api/inbox`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::{limit_param, query};
use crate::protocol::{InboxPage, JobId};
use crate::server::AppState;
use crate::server::http::auth::Principal;
use crate::server::http::error::AppError;
use crate::server::store::InboxWindow;

/// Messages per page unless `limit` says otherwise.
const DEFAULT_LIMIT: u32 = 100;
/// The most messages one page holds.
const MAX_LIMIT: u32 = 500;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/inbox", get(list))
}

#[derive(Deserialize)]
struct InboxQuery {
    /// Messages after this id, oldest first (to catch up).
    after: Option<i64>,
    /// Without `after`: the page before this id (to read back); the newest without either.
    before: Option<i64>,
    limit: Option<u32>,
    /// Only the replies to one job.
    job_id: Option<JobId>,
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    params: Result<Query<InboxQuery>, QueryRejection>,
) -> Result<Json<InboxPage>, AppError> {
    let params = query(params)?;
    let messages = state
        .store
        .inbox(
            principal.tenant_id,
            InboxWindow {
                after: params.after,
                before: params.before,
                limit: limit_param(params.limit, DEFAULT_LIMIT, MAX_LIMIT)?,
                job: params.job_id,
            },
        )
        .await?;
    let next_after = messages.last().map(|m| m.id).or(params.after);
    Ok(Json(InboxPage {
        messages,
        next_after,
    }))
}
