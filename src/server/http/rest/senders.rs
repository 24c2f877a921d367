//! Senders (CONTRACT.md "Senders"): `/api/senders`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use uuid::Uuid;

use super::{JsonRequest, json_body};
use crate::protocol::problem::{BodyKind, Thing};
use crate::protocol::senders::{SenderCreated, SenderView};
use crate::server::AppState;
use crate::server::http::auth::Principal;
use crate::server::http::error::AppError;
use crate::server::services::senders;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/senders", get(list).post(create))
        .route("/senders/{id}", get(show).patch(update).delete(remove))
}

/// A sender id from the path; one that is not a UUID is a sender that does not exist.
fn sender_id(raw: &str) -> Result<Uuid, AppError> {
    raw.parse().map_err(|_| AppError::NotFound(Thing::Sender))
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    body: JsonRequest,
) -> Result<Response, AppError> {
    principal.require_admin_or_token()?;
    let request = json_body(body, BodyKind::Sender)?;
    let sender = senders::create(&state, principal.tenant_id, request).await?;
    Ok((StatusCode::CREATED, Json(SenderCreated { sender })).into_response())
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> Result<Json<Vec<SenderView>>, AppError> {
    Ok(Json(senders::list(&state, principal.tenant_id).await?))
}

async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<SenderView>, AppError> {
    let id = sender_id(&id)?;
    Ok(Json(senders::get(&state, principal.tenant_id, id).await?))
}

async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    body: JsonRequest,
) -> Result<Json<SenderView>, AppError> {
    principal.require_admin_or_token()?;
    let id = sender_id(&id)?;
    let request = json_body(body, BodyKind::SenderChange)?;
    Ok(Json(
        senders::update(&state, principal.tenant_id, id, request).await?,
    ))
}

async fn remove(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    principal.require_admin_or_token()?;
    let id = sender_id(&id)?;
    senders::delete(&state, principal.tenant_id, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
