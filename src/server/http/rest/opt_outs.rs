//! The tenant's opt-out list (CONTRACT.md "Delivery receipts and replies"): `/api/opt-outs`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};

use super::{JsonRequest, json_body};
use crate::protocol::problem::{BodyKind, RequestRule, Thing};
use crate::protocol::{AddOptOutRequest, OptOutView};
use crate::server::AppState;
use crate::server::http::auth::Principal;
use crate::server::http::error::AppError;
use crate::server::services::phones;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/opt-outs", get(list).post(add))
        .route("/opt-outs/{phone}", delete(remove))
}

/// The number in E.164, or a refusal naming what is wrong with it.
fn e164(state: &AppState, phone: &str) -> Result<String, AppError> {
    phones::normalise(phone, state.default_region()).map_err(|issue| {
        AppError::Unprocessable(RequestRule::OptOutPhone {
            phone: phone.to_owned(),
            issue,
        })
    })
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
    let phone = e164(&state, &request.phone)?;
    let added = state
        .store
        .add_opt_out(principal.tenant_id, &phone, "manual")
        .await?;
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
    let phone = e164(&state, &phone).map_err(|_| AppError::NotFound(Thing::OptOut))?;
    if state
        .store
        .remove_opt_out(principal.tenant_id, &phone)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(AppError::NotFound(Thing::OptOut))
    }
}
