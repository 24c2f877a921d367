//! `/api/campaigns`: create (waiting for small ones), list, read, re-run, and export results.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use uuid::Uuid;

use super::{JsonRequest, check_limit, json_body, limit_param, query};
use crate::protocol::problem::{BodyKind, RequestRule, Thing};
use crate::protocol::{CampaignView, CreateCampaignResponse, JobView, ResultView, ResultsPage};
use crate::server::AppState;
use crate::server::http::auth::Principal;
use crate::server::http::error::AppError;
use crate::server::services::campaigns::{self, CampaignError, SMALL_CAMPAIGN};

/// Results read from the store per query while exporting.
const EXPORT_PAGE: u32 = 5_000;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/campaigns", get(list).post(create))
        .route("/campaigns/{id}", get(read))
        .route("/campaigns/{id}/jobs", post(rerun))
        .route("/campaigns/{id}/results", get(results))
}

impl From<CampaignError> for AppError {
    fn from(error: CampaignError) -> Self {
        match error {
            CampaignError::Invalid(detail) => AppError::Unprocessable(detail),
            CampaignError::Rule(rule) => AppError::Campaign(rule),
            CampaignError::NotFound => AppError::NotFound(Thing::Campaign),
            CampaignError::WrongWorker => AppError::WrongWorker,
            CampaignError::Ended(status) => AppError::JobEnded(status),
            CampaignError::JobGone => AppError::job_not_found(),
            CampaignError::Store(error) => AppError::from(error),
        }
    }
}

/// A campaign id from the path; one that is not a UUID is a campaign that does not exist.
fn campaign_id(raw: &str) -> Result<Uuid, AppError> {
    raw.parse().map_err(|_| AppError::NotFound(Thing::Campaign))
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    body: JsonRequest,
) -> Result<Response, AppError> {
    principal.require_operator()?;
    let request = json_body(body, BodyKind::Campaign)?;
    let tenant = principal.tenant_id;
    let (campaign, job) = campaigns::create(&state, tenant, request).await?;
    let answer = |job: JobView, results: Option<Vec<ResultView>>| CreateCampaignResponse {
        campaign_id: campaign.id,
        job_id: job.id,
        use_web_socket: results.is_none(),
        results,
        job,
    };
    if campaign.target_results > SMALL_CAMPAIGN {
        return Ok((StatusCode::ACCEPTED, Json(answer(job, None))).into_response());
    }
    let wait = std::time::Duration::from_millis(state.settings.scrape.small_campaign_wait_ms);
    let job = campaigns::wait_for_end(&state, tenant, job.id, wait).await?;
    if !job.status.is_terminal() {
        // Slower than promised: the caller follows it live instead of waiting on.
        return Ok((StatusCode::ACCEPTED, Json(answer(job, None))).into_response());
    }
    let (results, _) =
        campaigns::results(&state, tenant, campaign.id, None, 0, SMALL_CAMPAIGN).await?;
    Ok((StatusCode::OK, Json(answer(job, Some(results)))).into_response())
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<u32>,
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    params: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Vec<CampaignView>>, AppError> {
    let limit = limit_param(query(params)?.limit, 50, 500)?;
    let list = state
        .store
        .list_campaigns(principal.tenant_id, limit)
        .await?;
    Ok(Json(list.into_iter().map(campaigns::redacted).collect()))
}

async fn read(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<CampaignView>, AppError> {
    let id = campaign_id(&id)?;
    Ok(Json(campaigns::get(&state, principal.tenant_id, id).await?))
}

async fn rerun(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    principal.require_operator()?;
    let id = campaign_id(&id)?;
    let job = campaigns::rerun(&state, principal.tenant_id, id).await?;
    Ok((StatusCode::ACCEPTED, Json(job)).into_response())
}

#[derive(Deserialize)]
struct ResultsQuery {
    format: Option<String>,
    /// Only results whose URL, title, author or text contain this.
    q: Option<String>,
    offset: Option<u64>,
    limit: Option<u32>,
}

async fn results(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    params: Result<Query<ResultsQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let id = campaign_id(&id)?;
    let params = query(params)?;
    let tenant = principal.tenant_id;
    let search = params.q.as_deref();
    let csv = super::wants_csv(params.format.as_deref())?;
    let limit = params
        .limit
        .map(|limit| check_limit(limit, EXPORT_PAGE))
        .transpose()?;
    // Without a limit, the whole set: that is what an export is.
    let offset = params.offset.unwrap_or(0);
    if offset > i64::MAX as u64 / 2 {
        return Err(AppError::BadRequest(RequestRule::OffsetTooFar { offset }));
    }
    let (results, total) = match limit {
        Some(limit) => campaigns::results(&state, tenant, id, search, offset, limit).await?,
        None => {
            let mut all = Vec::new();
            let mut total;
            loop {
                let (page, matching) = campaigns::results(
                    &state,
                    tenant,
                    id,
                    search,
                    offset + all.len() as u64,
                    EXPORT_PAGE,
                )
                .await?;
                total = matching;
                let last = (page.len() as u32) < EXPORT_PAGE;
                all.extend(page);
                if last {
                    break;
                }
            }
            (all, total)
        }
    };
    if csv {
        return super::csv_download(to_csv(&results), &format!("campaign-{id}-results.csv"));
    }
    let next = offset + results.len() as u64;
    let page = ResultsPage {
        campaign_id: id,
        total,
        offset,
        next_offset: (next < total).then_some(next),
        results,
    };
    Ok(Json(page).into_response())
}

/// A spreadsheet would run a cell starting with these as a formula: prefix it so it stays text.
pub(super) fn defused(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// The results as CSV with a header row.
pub fn to_csv(results: &[ResultView]) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record([
        "url", "title", "author", "text", "keyword", "job_id", "found_at",
    ])?;
    for result in results {
        let cell = |value: &Option<String>| defused(value.as_deref().unwrap_or("")).into_owned();
        writer.write_record([
            defused(&result.url).into_owned(),
            cell(&result.title),
            cell(&result.author),
            cell(&result.text),
            cell(&result.keyword),
            result.job_id.to_string(),
            result.found_at.to_rfc3339(),
        ])?;
    }
    writer.into_inner().map_err(|e| e.into_error().into())
}
