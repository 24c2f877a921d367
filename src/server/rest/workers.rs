//! Outside workers: `POST /api/jobs` creates their job; with its worker token they report
//! progress, items, and the end.

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};

use super::{job_id, json_body};
use crate::protocol::{
    CreateExternalJobRequest, CreateExternalJobResponse, JobView, WorkerFail, WorkerItems,
    WorkerProgress,
};
use crate::server::AppState;
use crate::server::auth::{self, Principal};
use crate::server::campaigns;
use crate::server::error::AppError;
use crate::server::store::TenantId;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/jobs/{id}/progress", post(progress))
        .route("/jobs/{id}/items", post(items))
        .route("/jobs/{id}/complete", post(complete))
        .route("/jobs/{id}/fail", post(fail))
}

/// `POST /api/jobs`: a job an outside worker runs.
pub(super) async fn create_job(
    State(state): State<AppState>,
    principal: Principal,
    body: Result<Json<CreateExternalJobRequest>, JsonRejection>,
) -> Result<Response, AppError> {
    principal.require_operator()?;
    let request = json_body(body, "an outside worker's job")?;
    let (job, worker_token) =
        campaigns::create_external(&state, principal.tenant_id, request).await?;
    let body = CreateExternalJobResponse { job, worker_token };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// The job the request's worker token is good for (rate-limited like an API token).
async fn worker(
    state: &AppState,
    parts: &Parts,
    id: &str,
) -> Result<(TenantId, JobView), AppError> {
    let token = auth::bearer(parts);
    if let Some(token) = token {
        state
            .limits
            .api(&auth::hash_secret(token))
            .map_err(AppError::TooManyRequests)?;
    }
    // A job id that is not a UUID gets the same answer as a wrong token: nothing to learn.
    let id = job_id(id).map_err(|_| AppError::WrongWorker)?;
    Ok(campaigns::worker(state, id, token).await?)
}

async fn progress(
    State(state): State<AppState>,
    Path(id): Path<String>,
    parts: Parts,
    body: Result<Json<WorkerProgress>, JsonRejection>,
) -> Result<Json<JobView>, AppError> {
    let job = worker(&state, &parts, &id).await?;
    let report = json_body(body, "a progress report")?;
    Ok(Json(campaigns::report_progress(&state, job, report).await?))
}

async fn items(
    State(state): State<AppState>,
    Path(id): Path<String>,
    parts: Parts,
    body: Result<Json<WorkerItems>, JsonRejection>,
) -> Result<Json<JobView>, AppError> {
    let job = worker(&state, &parts, &id).await?;
    let report = json_body(body, "a batch of items")?;
    Ok(Json(
        campaigns::report_items(&state, job, report.items).await?,
    ))
}

async fn complete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    parts: Parts,
) -> Result<Json<JobView>, AppError> {
    let job = worker(&state, &parts, &id).await?;
    Ok(Json(campaigns::finish(&state, job, None).await?))
}

async fn fail(
    State(state): State<AppState>,
    Path(id): Path<String>,
    parts: Parts,
    body: Result<Json<WorkerFail>, JsonRejection>,
) -> Result<Json<JobView>, AppError> {
    let job = worker(&state, &parts, &id).await?;
    let report = json_body(body, "a failure report")?;
    Ok(Json(
        campaigns::finish(&state, job, Some(report.error)).await?,
    ))
}
