//! The tenant's opt-out list (CONTRACT.md "Delivery receipts and replies"): `/api/opt-outs`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};

use super::{JsonRequest, json_body};
use crate::protocol::problem::BodyKind;
use crate::protocol::{AddOptOutRequest, OptOutView};
use crate::server::AppState;
use crate::server::http::auth::Principal;
use crate::server::http::error::AppError;
use crate::server::services::inbox;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/opt-outs", get(list).post(add))
        .route("/opt-outs/{phone}", delete(remove))
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<OptOutView>>, AppError> {
    Ok(Json(state.store.opt_outs(principal.tenant_id).await?))
}

async fn add(
    State(state): State<AppState>,
    principal: Principal,
    body: JsonRequest,
) -> Result<Response, AppError> {
    principal.require_operator()?;
    let request: AddOptOutRequest = json_body(body, BodyKind::OptOut)?;
    let (phone, added) = inbox::add_opt_out(&state, principal.tenant_id, &request.phone).await?;
    let listed = state.store.opt_outs(principal.tenant_id).await?;
    let view = listed.into_iter().find(|o| o.phone == phone);
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view)).into_response())
}

async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    Path(phone): Path<String>,
) -> Result<StatusCode, AppError> {
    principal.require_operator()?;
    inbox::remove_opt_out(&state, principal.tenant_id, &phone).await?;
    Ok(StatusCode::NO_CONTENT)
}
