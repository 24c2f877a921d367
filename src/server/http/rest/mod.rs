//! The REST endpoints of CONTRACT.md, under `/api`.

mod audit;
mod campaigns;
mod hooks;
mod inbox;
mod opt_outs;
mod recipients;
mod senders;
mod webhooks;
mod workers;

use axum::Json;
use axum::Router;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::protocol::lifecycle::Command;
use crate::protocol::problem::{BodyKind, RequestRule};
use crate::protocol::{
    BulkAction, BulkActionResult, ItemStatus, ItemView, ItemsPage, JobId, JobStatus, JobView,
    RetryFailedRequest, SendBulkResponse,
};
use crate::server::AppState;
use crate::server::http::auth::Principal;
use crate::server::http::error::AppError;
use crate::server::services::jobs;
use crate::server::store::{Created, JobFilter};

/// Most events per page of `GET /jobs/{id}/events`.
pub const MAX_EVENTS_PAGE: u32 = 5_000;

/// The `/api` routes (WebSocket ones are added by `ws`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/messages/send-bulk",
            // Its limit (http.max_bulk_body_bytes) is the guard's, like every other body's.
            post(send_bulk),
        )
        .route("/jobs", get(list_jobs).post(workers::create_job))
        .route("/jobs/counts", get(job_counts))
        .route("/jobs/bulk-action", post(bulk_action))
        .route("/jobs/{id}", get(get_job))
        .route("/jobs/{id}/events", get(job_events))
        .route("/jobs/{id}/items", get(job_items))
        .route("/jobs/{id}/failures", get(job_failures))
        .route("/jobs/{id}/cancel", post(cancel_job))
        .route("/jobs/{id}/pause", post(pause_job))
        .route("/jobs/{id}/resume", post(resume_job))
        .route("/jobs/{id}/retry-failed", post(retry_failed))
        .route("/jobs/{id}/send-rest", post(send_rest))
        .route("/jobs/{id}/devices/{device}/pause", post(pause_device))
        .route("/jobs/{id}/devices/{device}/resume", post(resume_device))
        .merge(campaigns::routes())
        .merge(workers::routes())
        .merge(senders::routes())
        .merge(opt_outs::routes())
        .merge(recipients::routes())
        .merge(inbox::routes())
        .merge(webhooks::routes())
        .merge(hooks::routes())
        .merge(audit::routes())
        // The guard caps every body (by route and caller); one limit, in one place.
        .layer(DefaultBodyLimit::disable())
}

async fn cancel_job(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<JobView>, AppError> {
    principal.require_operator()?;
    let job = jobs::command(&state, principal.tenant_id, job_id(&id)?, Command::Cancel).await?;
    Ok(Json(job))
}

async fn pause_job(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<JobView>, AppError> {
    principal.require_operator()?;
    let job = jobs::command(&state, principal.tenant_id, job_id(&id)?, Command::Pause).await?;
    Ok(Json(job))
}

async fn resume_job(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<JobView>, AppError> {
    principal.require_operator()?;
    Ok(Json(
        jobs::command(&state, principal.tenant_id, job_id(&id)?, Command::Resume).await?,
    ))
}

/// `202` with the new send (as send-bulk answers), `200` with it when it was asked for before.
async fn send_rest(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    principal.require_operator()?;
    let created = jobs::send_rest(&state, principal.tenant_id, job_id(&id)?).await?;
    let (status, message) = match &created {
        Created::New { .. } => (
            StatusCode::ACCEPTED,
            "Job created. Follow it over WebSocket.",
        ),
        Created::Existing(_) => (
            StatusCode::OK,
            "The rest of this send was sent already: this is its job.",
        ),
    };
    let body = SendBulkResponse {
        status: "success".into(),
        message: message.into(),
        job: created.job().clone(),
    };
    Ok((status, Json(body)).into_response())
}

async fn pause_device(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, device)): Path<(String, String)>,
) -> Result<Json<JobView>, AppError> {
    principal.require_operator()?;
    set_device_paused(&state, &principal, &id, &device, true).await
}

async fn resume_device(
    State(state): State<AppState>,
    principal: Principal,
    Path((id, device)): Path<(String, String)>,
) -> Result<Json<JobView>, AppError> {
    principal.require_operator()?;
    set_device_paused(&state, &principal, &id, &device, false).await
}

/// A device number that is not one is a device the send does not have.
async fn set_device_paused(
    state: &AppState,
    principal: &Principal,
    id: &str,
    device: &str,
    paused: bool,
) -> Result<Json<JobView>, AppError> {
    let device = device
        .parse::<u32>()
        .map_err(|_| AppError::NotFound(crate::protocol::problem::Thing::Device))?;
    let job = jobs::set_device_paused(state, principal.tenant_id, job_id(id)?, device, paused);
    Ok(Json(job.await?))
}

async fn retry_failed(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<JobView>, AppError> {
    principal.require_operator()?;
    // The body is optional: no body means {"include_unknown": false}.
    let request: RetryFailedRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RetryFailedRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            AppError::BadRequest(RequestRule::RetryBody {
                detail: e.to_string(),
            })
        })?
    };
    let job = match &request.errors {
        Some(classes) => {
            jobs::retry_classes(&state, principal.tenant_id, job_id(&id)?, classes).await?
        }
        None => {
            let retry = Command::Retry {
                include_unknown: request.include_unknown,
            };
            jobs::command(&state, principal.tenant_id, job_id(&id)?, retry).await?
        }
    };
    Ok(Json(job))
}

/// A job id from the path; one that is not a UUID is simply a job that does not exist.
pub(super) fn job_id(raw: &str) -> Result<JobId, AppError> {
    raw.parse().map_err(|_| AppError::job_not_found())
}

pub(super) fn query<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, AppError> {
    query.map(|Query(q)| q).map_err(|e| {
        AppError::BadRequest(RequestRule::Query {
            detail: e.body_text(),
        })
    })
}

/// A `limit` query parameter: `default` when absent, refused outside 1..=`max`.
pub(super) fn limit_param(limit: Option<u32>, default: u32, max: u32) -> Result<u32, AppError> {
    check_limit(limit.unwrap_or(default), max)
}

/// A `before` cursor naming a list entry (a delivery, an audit entry) by its id; empty is none.
pub(super) fn entry_cursor(before: Option<String>) -> Result<Option<uuid::Uuid>, AppError> {
    before
        .filter(|b| !b.is_empty())
        .map(|raw| {
            raw.parse()
                .map_err(|_| AppError::BadRequest(RequestRule::EntryCursor { value: raw }))
        })
        .transpose()
}

/// A `limit` given by the caller, refused outside 1..=`max`.
pub(super) fn check_limit(limit: u32, max: u32) -> Result<u32, AppError> {
    if (1..=max).contains(&limit) {
        Ok(limit)
    } else {
        Err(AppError::BadRequest(RequestRule::Limit { got: limit, max }))
    }
}

/// A query parameter naming one of a set of values (a status, a kind), refused with the list.
fn choice_param<T: std::str::FromStr>(
    value: Option<String>,
    name: &str,
    choices: &str,
) -> Result<Option<T>, AppError> {
    value
        .map(|v| {
            v.parse::<T>().map_err(|_| {
                AppError::BadRequest(RequestRule::Choice {
                    name: name.to_owned(),
                    value: v.clone(),
                    choices: choices.to_owned(),
                })
            })
        })
        .transpose()
}

/// A JSON request body, read (within the guard's limit) and free of NUL characters, not yet
/// parsed: `json_body` parses it into what the handler wants.
pub(super) struct JsonRequest(axum::body::Bytes);

impl<S: Send + Sync> axum::extract::FromRequest<S> for JsonRequest {
    type Rejection = AppError;

    async fn from_request(request: axum::extract::Request, _: &S) -> Result<Self, AppError> {
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default();
        if content_type != "application/json" && !content_type.ends_with("+json") {
            return Err(AppError::BadRequest(RequestRule::ContentType));
        }
        let limit = request
            .extensions()
            .get::<crate::server::http::guard::BodyLimit>()
            .map_or(usize::MAX, |limit| limit.0);
        let bytes = axum::body::to_bytes(request.into_body(), usize::MAX)
            .await
            .map_err(|error| crate::server::http::guard::unreadable(error, limit))?;
        if let Some(field) = crate::server::http::input::nul_in_json(&bytes) {
            return Err(AppError::Unprocessable(RequestRule::Nul { field }));
        }
        Ok(JsonRequest(bytes))
    }
}

/// A JSON body, or an answer that says what is wrong with it.
pub(super) fn json_body<T: serde::de::DeserializeOwned>(
    body: JsonRequest,
    what: BodyKind,
) -> Result<T, AppError> {
    Json::<T>::from_bytes(&body.0)
        .map(|Json(body)| body)
        .map_err(|e| match e {
            JsonRejection::JsonDataError(e) => AppError::Unprocessable(RequestRule::BodyShape {
                body: what,
                detail: e
                    .body_text()
                    .trim_start_matches(
                        "Failed to deserialize the JSON body into the target type: ",
                    )
                    .to_owned(),
            }),
            other => AppError::BadRequest(RequestRule::NotJson {
                detail: other.body_text(),
            }),
        })
}

async fn send_bulk(
    State(state): State<AppState>,
    principal: Principal,
    body: JsonRequest,
) -> Result<Response, AppError> {
    principal.require_operator()?;
    let request = json_body(body, BodyKind::BulkSend)?;
    let created = jobs::create_bulk_send(&state, principal.tenant_id, request).await?;
    let message = match &created {
        Created::New { .. } => "Job created. Follow it over WebSocket.",
        Created::Existing(_) => "A job with this idempotency_key exists already: this is it.",
    };
    let body = SendBulkResponse {
        status: "success".into(),
        message: message.into(),
        job: created.job().clone(),
    };
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<u32>,
    before: Option<String>,
    #[serde(flatten)]
    search: jobs::JobQuery,
}

/// Header naming the cursor of the next page of `GET /jobs` (absent on the last page).
const NEXT_BEFORE: &str = "x-next-before";

async fn list_jobs(
    State(state): State<AppState>,
    principal: Principal,
    params: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let params = query(params)?;
    let search = params.search.read().map_err(AppError::BadRequest)?;
    let limit = limit_param(params.limit, 50, 500)?;
    let before = params
        .before
        .filter(|b| !b.is_empty())
        .map(|value| {
            value
                .parse::<JobId>()
                .map_err(|_| AppError::BadRequest(RequestRule::Cursor { value }))
        })
        .transpose()?;
    let (list, next) = jobs::jobs_page(&state, principal.tenant_id, &search, before, limit).await?;
    let mut response = Json(list).into_response();
    if let Some(next) = next {
        response.headers_mut().insert(
            NEXT_BEFORE,
            header::HeaderValue::from_str(&next.to_string()).expect("a uuid is a header value"),
        );
    }
    Ok(response)
}

/// Added: `GET /jobs/counts` → how many jobs the filters match, per status (every status named).
async fn job_counts(
    State(state): State<AppState>,
    principal: Principal,
    params: Result<Query<jobs::JobQuery>, QueryRejection>,
) -> Result<Json<serde_json::Map<String, serde_json::Value>>, AppError> {
    let search = query(params)?.read().map_err(AppError::BadRequest)?;
    let counts = state
        .store
        .count_jobs(principal.tenant_id, &JobFilter::of(&search, None, 0))
        .await?;
    Ok(Json(
        JobStatus::ALL
            .iter()
            .map(|status| {
                let n = counts
                    .iter()
                    .find(|(s, _)| s == status)
                    .map_or(0, |(_, n)| *n);
                (status.as_str().to_owned(), n.into())
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
struct BulkActionRequest {
    action: BulkAction,
    filter: Option<jobs::JobQuery>,
}

/// `POST /jobs/bulk-action`: one command to every job the filter matches.
async fn bulk_action(
    State(state): State<AppState>,
    principal: Principal,
    body: JsonRequest,
) -> Result<Json<BulkActionResult>, AppError> {
    principal.require_operator()?;
    let request: BulkActionRequest = json_body(body, BodyKind::BulkAction)?;
    // Acting on every job is allowed, but only when asked for in so many words.
    let filter = request
        .filter
        .ok_or(AppError::Unprocessable(RequestRule::NoFilter))?;
    let search = filter.read().map_err(AppError::Unprocessable)?;
    Ok(Json(
        jobs::bulk_action(&state, principal.tenant_id, &search, request.action).await?,
    ))
}

async fn get_job(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<JobView>, AppError> {
    let id = job_id(&id)?;
    state
        .store
        .job(principal.tenant_id, id)
        .await?
        .map(Json)
        .ok_or_else(AppError::job_not_found)
}

#[derive(Deserialize)]
struct EventsQuery {
    after_seq: Option<u64>,
    /// Added: the newest `limit` events before this seq (for loading older log lines).
    before_seq: Option<u64>,
    limit: Option<u32>,
}

async fn job_events(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    params: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let id = job_id(&id)?;
    let params = query(params)?;
    let limit = limit_param(params.limit, 1_000, MAX_EVENTS_PAGE)?;
    // The job first: its last_seq is then never behind the events returned.
    let job = state
        .store
        .job(principal.tenant_id, id)
        .await?
        .ok_or_else(AppError::job_not_found)?;
    let tenant = principal.tenant_id;
    let events = match (params.before_seq, params.after_seq) {
        (Some(_), Some(_)) => {
            return Err(AppError::BadRequest(RequestRule::BothSeqs));
        }
        (Some(before), None) => state.store.events_before(tenant, id, before, limit).await?,
        (None, after) => {
            let after = after.unwrap_or(0);
            state.store.events_after(tenant, id, after, limit).await?
        }
    }
    .ok_or_else(AppError::job_not_found)?;
    let last_seq = events
        .last()
        .map_or(job.last_seq, |e| e.seq.max(job.last_seq));
    let has_more = events.len() as u32 == limit;
    // Stored events are already the exact JSON sent over the WebSocket: splice, don't re-encode.
    let mut body =
        String::with_capacity(events.iter().map(|e| e.json.len() + 1).sum::<usize>() + 64);
    body.push_str("{\"events\":[");
    for (i, event) in events.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&event.json);
    }
    body.push_str(&format!(
        "],\"last_seq\":{last_seq},\"has_more\":{has_more}}}"
    ));
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

#[derive(Deserialize)]
struct ItemsQuery {
    status: Option<String>,
    after: Option<u64>,
    limit: Option<u32>,
    /// `csv`: every matching item as a spreadsheet, not a page.
    format: Option<String>,
}

/// Items read per query while exporting.
const EXPORT_PAGE: u32 = 5_000;

/// Why the job's items failed, one group per class, the biggest first.
async fn job_failures(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Vec<crate::protocol::FailureGroup>>, AppError> {
    let groups = state
        .store
        .failures(principal.tenant_id, job_id(&id)?)
        .await?
        .ok_or_else(AppError::job_not_found)?;
    Ok(Json(groups))
}

async fn job_items(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    params: Result<Query<ItemsQuery>, QueryRejection>,
) -> Result<Response, AppError> {
    let id = job_id(&id)?;
    let params = query(params)?;
    let status = choice_param::<ItemStatus>(
        params.status,
        "status",
        "pending, sending, sent, failed, unknown",
    )?;
    let csv = wants_csv(params.format.as_deref())?;
    if csv {
        let mut all = Vec::new();
        let mut after = params.after;
        loop {
            let page = state
                .store
                .items(principal.tenant_id, id, status, after, EXPORT_PAGE)
                .await?
                .ok_or_else(AppError::job_not_found)?;
            let last = (page.len() as u32) < EXPORT_PAGE;
            after = page.last().map(|i| i.index);
            all.extend(page);
            if last {
                break;
            }
        }
        let which = status.map_or("all", ItemStatus::as_str);
        return csv_download(items_csv(&all), &format!("job-{id}-{which}.csv"));
    }
    let limit = limit_param(params.limit, 500, 5_000)?;
    let items = state
        .store
        .items(principal.tenant_id, id, status, params.after, limit)
        .await?
        .ok_or_else(AppError::job_not_found)?;
    let next_after = (items.len() as u32 == limit)
        .then(|| items.last().map(|i| i.index))
        .flatten();
    Ok(Json(ItemsPage { items, next_after }).into_response())
}

/// `?format=`: `json` (the default) or `csv`; anything else is a `400`.
pub(super) fn wants_csv(format: Option<&str>) -> Result<bool, AppError> {
    match format {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(other) => Err(AppError::BadRequest(RequestRule::Format {
            got: other.to_owned(),
        })),
    }
}

/// A CSV body as a download named `filename`.
pub(super) fn csv_download(
    body: Result<Vec<u8>, csv::Error>,
    filename: &str,
) -> Result<Response, AppError> {
    let body = body.map_err(|e| {
        AppError::Unprocessable(RequestRule::Csv {
            detail: e.to_string(),
        })
    })?;
    let disposition = format!("attachment; filename=\"{filename}\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// A job's items as CSV with a header row; a recipient that is not a plain number is defused
/// like every other text a spreadsheet could run as a formula.
pub fn items_csv(items: &[ItemView]) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record([
        "index",
        "recipient",
        "status",
        "attempts",
        "error",
        "device_id",
        "sender_id",
        "provider_message_id",
        "delivery",
        "updated_at",
    ])?;
    let plain_number =
        |s: &str| s.starts_with('+') && s.len() > 1 && s[1..].bytes().all(|b| b.is_ascii_digit());
    for item in items {
        let text = |value: Option<&str>| campaigns::defused(value.unwrap_or("")).into_owned();
        let recipient = if plain_number(&item.recipient) {
            item.recipient.clone()
        } else {
            text(Some(&item.recipient))
        };
        writer.write_record([
            item.index.to_string(),
            recipient,
            item.status.as_str().to_owned(),
            item.attempts.to_string(),
            text(item.error.as_deref()),
            item.device_id.map(|d| d.to_string()).unwrap_or_default(),
            item.sender_id.map(|s| s.to_string()).unwrap_or_default(),
            text(item.provider_message_id.as_deref()),
            item.delivery
                .map(|d| d.as_str().to_owned())
                .unwrap_or_default(),
            item.updated_at.to_rfc3339(),
        ])?;
    }
    writer.into_inner().map_err(|e| e.into_error().into())
}
