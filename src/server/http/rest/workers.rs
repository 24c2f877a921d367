//! Outside workers: `POST /api/jobs` creates their job; with its worker token they report
//! progress, items, and the end.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};

use super::{JsonRequest, job_id, json_body};
use crate::protocol::problem::BodyKind;
use crate::protocol::{CreateExternalJobResponse, JobView, WorkerFail, WorkerItems};
use crate::server::AppState;
use crate::server::http::auth::{self, Principal};
use crate::server::http::error::AppError;
use crate::server::services::campaigns;
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
    body: JsonRequest,
) -> Result<Response, AppError> {
    principal.require_operator()?;
    let request = json_body(body, BodyKind::ExternalJob)?;
    let (job, worker_token) =
        campaigns::create_external(&state, principal.tenant_id, request).await?;
    let body = CreateExternalJobResponse { job, worker_token };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// The job a report's worker token is good for (rate-limited like an API token). As an
/// extractor it runs before the body is read: a report without the token reads nothing.
struct WorkerJob(TenantId, JobView);

impl FromRequestParts<AppState> for WorkerJob {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let token = auth::bearer(parts).map(str::to_owned);
        if let Some(token) = &token {
            state
                .limits
                .api(&auth::hash_secret(token))
                .map_err(AppError::TooManyRequests)?;
        }
        // A job id that is not a UUID gets the same answer as a wrong token: nothing to learn.
        let id = match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(id)) => job_id(&id).map_err(|_| AppError::WrongWorker)?,
            Err(_) => return Err(AppError::WrongWorker),
        };
        let (tenant, job) = campaigns::worker(state, id, token.as_deref()).await?;
        Ok(WorkerJob(tenant, job))
    }
}

async fn progress(
    State(state): State<AppState>,
    WorkerJob(tenant, job): WorkerJob,
    body: JsonRequest,
) -> Result<Json<JobView>, AppError> {
    let report = json_body(body, BodyKind::ProgressReport)?;
    Ok(Json(
        campaigns::report_progress(&state, (tenant, job), report).await?,
    ))
}

async fn items(
    State(state): State<AppState>,
    WorkerJob(tenant, job): WorkerJob,
    body: JsonRequest,
) -> Result<Json<JobView>, AppError> {
    let report: WorkerItems = json_body(body, BodyKind::ItemBatch)?;
    Ok(Json(
        campaigns::report_items(&state, (tenant, job), report.items).await?,
    ))
}

async fn complete(
    State(state): State<AppState>,
    WorkerJob(tenant, job): WorkerJob,
) -> Result<Json<JobView>, AppError> {
    Ok(Json(campaigns::finish(&state, (tenant, job), None).await?))
}

async fn fail(
    State(state): State<AppState>,
    WorkerJob(tenant, job): WorkerJob,
    body: JsonRequest,
) -> Result<Json<JobView>, AppError> {
    let report: WorkerFail = json_body(body, BodyKind::FailureReport)?;
    Ok(Json(
        campaigns::finish(&state, (tenant, job), Some(report.error)).await?,
    ))
}
