//! A local fake of the Apify API v2 endpoints the apify source uses, on `127.0.0.1:0`:
//!
//! - `GET /v2/acts/{actor}`: the actor (404 for any other actor than the configured one);
//! - `POST /v2/acts/{actor}/runs`: starts a run (`run-1`, `run-2`, … with datasets `dataset-1`,
//!   …) in status `READY`, and keeps its JSON input;
//! - `GET /v2/actor-runs/{run}`: `RUNNING` for the first `polls_to_finish` checks, then
//!   `final_status` (with `status_message`), or `ABORTED` once aborted;
//! - `POST /v2/actor-runs/{run}/abort`: aborts the run (answers it `ABORTED`), recorded in
//!   `aborted`; with `abort_hangs`, never answers;
//! - `GET /v2/datasets/{dataset}/items?offset=&limit=`: a JSON array, a slice of `items`.
//!
//! With a `token`, every request must carry `Authorization: Bearer {token}` or gets Apify's 401.
//! Every request is recorded.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

/// How the fake behaves.
#[derive(Clone, Debug)]
pub struct FakeApifyConfig {
    /// The one actor that exists, as `username~name` (default `acme~posts`); its `/` form and
    /// its id (`actor-1`) are found too.
    pub actor: String,
    /// The token requests must carry; `None` accepts any request.
    pub token: Option<String>,
    /// The dataset every run produces.
    pub items: Vec<Value>,
    /// Run checks that still answer `RUNNING`.
    pub polls_to_finish: u32,
    /// How runs end: `SUCCEEDED`, `FAILED`, `ABORTED` or `TIMED-OUT`.
    pub final_status: String,
    pub status_message: Option<String>,
    /// Dataset item requests that answer 500 before the others succeed.
    pub dataset_failures: u32,
    /// Aborts never answer (the run is not aborted).
    pub abort_hangs: bool,
}

impl Default for FakeApifyConfig {
    fn default() -> Self {
        FakeApifyConfig {
            actor: "acme~posts".into(),
            token: None,
            items: Vec::new(),
            polls_to_finish: 2,
            final_status: "SUCCEEDED".into(),
            status_message: None,
            dataset_failures: 0,
            abort_hangs: false,
        }
    }
}

/// One request as the fake saw it.
#[derive(Clone, Debug)]
pub struct ApifyRequest {
    pub method: String,
    /// Path and query: `/v2/datasets/dataset-1/items?offset=0&limit=100&…`.
    pub path: String,
    pub authorization: Option<String>,
}

#[derive(Default)]
struct Inner {
    config: Option<FakeApifyConfig>,
    requests: Vec<ApifyRequest>,
    inputs: Vec<Value>,
    runs: u32,
    polls: u32,
    /// Runs aborted, in order.
    aborted: Vec<String>,
    dataset_failures_left: u32,
}

type Shared = Arc<Mutex<Inner>>;

/// The running fake.
#[derive(Clone)]
pub struct FakeApify {
    pub addr: SocketAddr,
    inner: Shared,
}

/// `items` test items: `{"url", "title", "author": {"name"}, "text"}`, numbered from 1.
#[allow(dead_code)]
pub fn sample_items(count: usize) -> Vec<Value> {
    (1..=count)
        .map(|n| {
            json!({
                "url": format!("https://social.example/posts/{n}"),
                "title": format!("Item {n}"),
                "author": {"name": format!("@user{n}")},
                "text": format!("Text of item {n}"),
            })
        })
        .collect()
}

#[allow(dead_code)]
impl FakeApify {
    /// Starts the fake on a free port.
    pub async fn start(config: FakeApifyConfig) -> FakeApify {
        let inner = Arc::new(Mutex::new(Inner {
            dataset_failures_left: config.dataset_failures,
            config: Some(config),
            ..Inner::default()
        }));
        let app = Router::new()
            .route("/v2/acts/{actor}", get(actor))
            .route("/v2/acts/{actor}/runs", post(start_run))
            .route("/v2/actor-runs/{run}", get(run))
            .route("/v2/actor-runs/{run}/abort", post(abort_run))
            .route("/v2/datasets/{dataset}/items", get(items))
            .layer(axum::middleware::from_fn_with_state(inner.clone(), guard))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeApify { addr, inner }
    }

    /// The base URL to put in an `ApifySourceSpec`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<ApifyRequest> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// The inputs runs were started with.
    pub fn inputs(&self) -> Vec<Value> {
        self.inner.lock().unwrap().inputs.clone()
    }

    /// Run checks (`GET /v2/actor-runs/{run}`) so far.
    pub fn polls(&self) -> u32 {
        self.inner.lock().unwrap().polls
    }

    /// The runs aborted so far (`run-1`, …), in order.
    pub fn aborted(&self) -> Vec<String> {
        self.inner.lock().unwrap().aborted.clone()
    }

    /// Changes the behaviour from the next request on.
    pub fn set(&self, change: impl FnOnce(&mut FakeApifyConfig)) {
        change(self.inner.lock().unwrap().config.as_mut().unwrap());
    }
}

fn config(inner: &Shared) -> FakeApifyConfig {
    inner.lock().unwrap().config.clone().unwrap()
}

fn apify_error(status: StatusCode, kind: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"error": {"type": kind, "message": message}})),
    )
        .into_response()
}

/// Records the request and checks the token, as Apify does before anything else.
async fn guard(
    State(inner): State<Shared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let token = {
        let mut inner = inner.lock().unwrap();
        inner.requests.push(ApifyRequest {
            method: request.method().to_string(),
            path: request
                .uri()
                .path_and_query()
                .map(|pq| pq.as_str().to_owned())
                .unwrap_or_default(),
            authorization: authorization.clone(),
        });
        inner.config.as_ref().unwrap().token.clone()
    };
    if let Some(token) = token
        && authorization.as_deref() != Some(format!("Bearer {token}").as_str())
    {
        return apify_error(
            StatusCode::UNAUTHORIZED,
            "token-not-valid",
            "Authentication token is not valid.",
        );
    }
    next.run(request).await
}

fn known_actor(config: &FakeApifyConfig, actor: &str) -> bool {
    actor == config.actor || actor.replace('/', "~") == config.actor || actor == "actor-1"
}

fn run_view(id: u32, status: &str, message: Option<&str>) -> Value {
    json!({"data": {
        "id": format!("run-{id}"),
        "actId": "actor-1",
        "status": status,
        "statusMessage": message,
        "defaultDatasetId": format!("dataset-{id}"),
        "startedAt": "2026-01-01T00:00:00.000Z",
        "finishedAt": null,
    }})
}

async fn actor(State(inner): State<Shared>, Path(actor): Path<String>) -> Response {
    let config = config(&inner);
    if !known_actor(&config, &actor) {
        return apify_error(
            StatusCode::NOT_FOUND,
            "record-not-found",
            "Actor was not found",
        );
    }
    let (username, name) = config.actor.split_once('~').unwrap_or(("", &config.actor));
    Json(json!({"data": {"id": "actor-1", "name": name, "username": username}})).into_response()
}

async fn start_run(
    State(inner): State<Shared>,
    Path(actor): Path<String>,
    body: Option<Json<Value>>,
) -> Response {
    let config = config(&inner);
    if !known_actor(&config, &actor) {
        return apify_error(
            StatusCode::NOT_FOUND,
            "record-not-found",
            "Actor was not found",
        );
    }
    let id = {
        let mut inner = inner.lock().unwrap();
        inner.runs += 1;
        inner
            .inputs
            .push(body.map(|Json(v)| v).unwrap_or(Value::Null));
        inner.runs
    };
    (StatusCode::CREATED, Json(run_view(id, "READY", None))).into_response()
}

/// The number of an existing run (`run-3` → 3).
fn run_number(inner: &Shared, run: &str) -> Option<u32> {
    run.strip_prefix("run-")
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| *n >= 1 && *n <= inner.lock().unwrap().runs)
}

fn run_not_found() -> Response {
    apify_error(
        StatusCode::NOT_FOUND,
        "record-not-found",
        "Actor run was not found",
    )
}

async fn run(State(inner): State<Shared>, Path(run): Path<String>) -> Response {
    let config = config(&inner);
    let Some(id) = run_number(&inner, &run) else {
        return run_not_found();
    };
    let (polls, aborted) = {
        let mut inner = inner.lock().unwrap();
        inner.polls += 1;
        (inner.polls, inner.aborted.contains(&run))
    };
    if aborted {
        return Json(run_view(id, "ABORTED", None)).into_response();
    }
    if polls <= config.polls_to_finish {
        return Json(run_view(id, "RUNNING", None)).into_response();
    }
    Json(run_view(
        id,
        &config.final_status,
        config.status_message.as_deref(),
    ))
    .into_response()
}

async fn abort_run(State(inner): State<Shared>, Path(run): Path<String>) -> Response {
    let Some(id) = run_number(&inner, &run) else {
        return run_not_found();
    };
    if config(&inner).abort_hangs {
        std::future::pending::<()>().await;
    }
    inner.lock().unwrap().aborted.push(run);
    Json(run_view(id, "ABORTED", None)).into_response()
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    offset: usize,
    #[serde(default)]
    limit: Option<usize>,
}

async fn items(
    State(inner): State<Shared>,
    Path(dataset): Path<String>,
    Query(page): Query<Page>,
) -> Response {
    let config = config(&inner);
    if !dataset.starts_with("dataset-") {
        return apify_error(
            StatusCode::NOT_FOUND,
            "record-not-found",
            "Dataset was not found",
        );
    }
    {
        let mut inner = inner.lock().unwrap();
        if inner.dataset_failures_left > 0 {
            inner.dataset_failures_left -= 1;
            return apify_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal-server-error",
                "Internal server error",
            );
        }
    }
    let total = config.items.len();
    let start = page.offset.min(total);
    let end = start.saturating_add(page.limit.unwrap_or(1000)).min(total);
    let slice: Vec<Value> = config.items[start..end].to_vec();
    (
        [
            ("x-apify-pagination-offset", start.to_string()),
            (
                "x-apify-pagination-limit",
                page.limit.unwrap_or(1000).to_string(),
            ),
            ("x-apify-pagination-count", slice.len().to_string()),
            ("x-apify-pagination-total", total.to_string()),
        ],
        Json(Value::Array(slice)),
    )
        .into_response()
}
