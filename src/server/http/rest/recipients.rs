//! "Where did this number go?": `GET /api/recipients/{phone}`, every item of the tenant's sends
//! to a number.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::{limit_param, query};
use crate::protocol::problem::RequestRule;
use crate::protocol::{RecipientItem, RecipientLookup};
use crate::server::AppState;
use crate::server::http::auth::Principal;
use crate::server::http::error::AppError;
use crate::server::services::jobs;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/recipients/{phone}", get(recipient))
}

#[derive(Deserialize)]
struct LimitQuery {
    limit: Option<u32>,
}

async fn recipient(
    State(state): State<AppState>,
    principal: Principal,
    Path(phone): Path<String>,
    params: Result<Query<LimitQuery>, QueryRejection>,
) -> Result<Json<Vec<RecipientItem>>, AppError> {
    let limit = limit_param(query(params)?.limit, 100, 500)?;
    match jobs::find_recipient(&state, principal.tenant_id, &phone, limit).await? {
        RecipientLookup::Found { items, .. } => Ok(Json(items)),
        RecipientLookup::Invalid { issue } => {
            Err(AppError::BadRequest(RequestRule::Phone { phone, issue }))
        }
    }
}
