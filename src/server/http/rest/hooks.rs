//! Outgoing webhooks (CONTRACT.md "Operations"): `/api/hooks`.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use uuid::Uuid;

use super::{JsonRequest, entry_cursor, json_body, limit_param, query};
use crate::protocol::hooks::{DeliveryView, HookView};
use crate::protocol::problem::{BodyKind, Thing};
use crate::server::AppState;
use crate::server::http::auth::Principal;
use crate::server::http::error::AppError;
use crate::server::services::hooks;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/hooks", get(list).post(create))
        .route("/hooks/{id}", delete(remove))
        .route("/hooks/{id}/deliveries", get(deliveries))
        .route("/hooks/{id}/test", post(test))
}

/// A hook id from the path; one that is not a UUID is a hook that does not exist.
fn hook_id(raw: &str) -> Result<Uuid, AppError> {
    raw.parse().map_err(|_| AppError::NotFound(Thing::Hook))
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    body: JsonRequest,
) -> Result<Response, AppError> {
    principal.require_admin_or_token()?;
    let request = json_body(body, BodyKind::Hook)?;
    let created = hooks::create(&state, principal.tenant_id, request).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<HookView>>, AppError> {
    principal.require_admin_or_token()?;
    Ok(Json(hooks::list(&state, principal.tenant_id).await?))
}

async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    principal.require_admin_or_token()?;
    hooks::delete(&state, principal.tenant_id, hook_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct DeliveriesQuery {
    limit: Option<u32>,
    /// Keyset paging: deliveries older than this one.
    before: Option<String>,
}

async fn deliveries(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    params: Result<Query<DeliveriesQuery>, QueryRejection>,
) -> Result<Json<Vec<DeliveryView>>, AppError> {
    principal.require_admin_or_token()?;
    let id = hook_id(&id)?;
    let params = query(params)?;
    let limit = limit_param(params.limit, 50, hooks::MAX_DELIVERIES_PAGE)?;
    let before = entry_cursor(params.before)?;
    Ok(Json(
        hooks::deliveries(&state, principal.tenant_id, id, before, limit).await?,
    ))
}

async fn test(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    principal.require_admin_or_token()?;
    let delivery = hooks::ping(&state, principal.tenant_id, hook_id(&id)?).await?;
    Ok((StatusCode::ACCEPTED, Json(delivery)).into_response())
}
