//! A local WhatsApp Cloud API that speaks Meta's documented send endpoint: `POST
//! /{version}/{phone_number_id}/messages` with a bearer token and a JSON text message, answered
//! with `{"messaging_product", "contacts": [{"input", "wa_id"}], "messages": [{"id": "wamid…"}]}`
//! or a Graph error `{"error": {"message", "type", "code", "error_data": {"details"}, "fbtrace_id"}}`.
//! Tests script its answers per recipient.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

/// The phone number id the fake sends from; any other answers 400 as Meta does.
pub const PHONE_NUMBER_ID: &str = "106540352242922";
pub const ACCESS_TOKEN: &str = "EAAJB-test-token";

/// A scripted Graph error: its code, and how many first attempts get it (`u32::MAX`: all).
#[derive(Clone, Copy, Debug)]
pub struct Scripted {
    pub code: i64,
    pub times: u32,
}

#[derive(Default)]
struct Inner {
    /// Every request body received, in order.
    bodies: Vec<Value>,
    /// Answers by recipient (`to`, digits only).
    script: HashMap<String, Scripted>,
    attempts: HashMap<String, u32>,
    /// Every request answers 401 with code 190 (an expired token).
    token_expired: bool,
    sent: u64,
    /// What the number reports: `status`, `quality_rating`, `health_status.can_send_message`.
    number: Option<(String, String, String)>,
    /// The `fields` of each number status request.
    number_requests: Vec<String>,
}

/// The fake Cloud API.
#[derive(Clone)]
pub struct FakeCloudApi {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl FakeCloudApi {
    /// Starts it on a free port.
    pub async fn start() -> FakeCloudApi {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/{version}/{phone_number_id}/messages", post(messages))
            .route("/{version}/{phone_number_id}", get(number))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeCloudApi { addr, inner }
    }

    /// The Graph API root to configure as the provider's URL.
    pub fn base_url(&self) -> String {
        format!("http://{}/v21.0", self.addr)
    }

    /// Answers `code` to the first `times` sends to `to` (digits only).
    pub fn script(&self, to: &str, code: i64, times: u32) {
        let mut inner = self.inner.lock().unwrap();
        inner.script.insert(to.to_owned(), Scripted { code, times });
    }

    pub fn expire_token(&self, expired: bool) {
        self.inner.lock().unwrap().token_expired = expired;
    }

    /// What `GET /{phone_number_id}` reports from now on (`CONNECTED`, `GREEN`, `AVAILABLE`
    /// unless set).
    pub fn number(&self, status: &str, quality: &str, can_send_message: &str) {
        self.inner.lock().unwrap().number =
            Some((status.into(), quality.into(), can_send_message.into()));
    }

    /// The `fields` asked for by each number status request.
    pub fn number_requests(&self) -> Vec<String> {
        self.inner.lock().unwrap().number_requests.clone()
    }

    /// Every request body, in order.
    pub fn bodies(&self) -> Vec<Value> {
        self.inner.lock().unwrap().bodies.clone()
    }
}

fn graph_error(status: StatusCode, code: i64, message: &str, details: &str) -> Response {
    let body = json!({"error": {
        "message": message,
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details},
        "fbtrace_id": "AbCdEf123",
    }});
    (status, Json(body)).into_response()
}

/// `GET /{phone_number_id}?fields=…`: the number as the Graph API describes it.
async fn number(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path((_version, phone_number_id)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let mut inner = inner.lock().unwrap();
    inner
        .number_requests
        .push(query.get("fields").cloned().unwrap_or_default());
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if inner.token_expired || bearer != Some(ACCESS_TOKEN) {
        return graph_error(
            StatusCode::UNAUTHORIZED,
            190,
            "Error validating access token: Session has expired.",
            "Error validating access token",
        );
    }
    if phone_number_id != PHONE_NUMBER_ID {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "Unsupported get request.",
            "Object with ID does not exist",
        );
    }
    let (status, quality, can_send) = inner
        .number
        .clone()
        .unwrap_or_else(|| ("CONNECTED".into(), "GREEN".into(), "AVAILABLE".into()));
    Json(json!({
        "status": status,
        "quality_rating": quality,
        "health_status": {"can_send_message": can_send, "entities": []},
        "id": PHONE_NUMBER_ID,
    }))
    .into_response()
}

async fn messages(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path((_version, phone_number_id)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let mut inner = inner.lock().unwrap();
    inner.bodies.push(body.clone());
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if inner.token_expired || bearer != Some(ACCESS_TOKEN) {
        return graph_error(
            StatusCode::UNAUTHORIZED,
            190,
            "Error validating access token: Session has expired.",
            "Error validating access token",
        );
    }
    if phone_number_id != PHONE_NUMBER_ID {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "Unsupported post request.",
            "Object with ID does not exist",
        );
    }
    let field = |path: &str| body.pointer(path).and_then(Value::as_str).unwrap_or("");
    let well_formed = field("/messaging_product") == "whatsapp"
        && field("/type") == "text"
        && !field("/text/body").is_empty()
        && field("/to").chars().all(|c| c.is_ascii_digit())
        && !field("/to").is_empty();
    if !well_formed {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "(#100) Invalid parameter",
            "Parameter value is not valid",
        );
    }
    let to = field("/to").to_owned();
    let attempt = {
        let attempts = inner.attempts.entry(to.clone()).or_default();
        *attempts += 1;
        *attempts
    };
    if let Some(scripted) = inner.script.get(&to).copied()
        && attempt <= scripted.times
    {
        let (status, message) = match scripted.code {
            130429 => (StatusCode::BAD_REQUEST, "(#130429) Rate limit hit"),
            131056 => (
                StatusCode::BAD_REQUEST,
                "(#131056) (Business Account, Consumer Account) pair rate limit hit",
            ),
            131026 => (StatusCode::BAD_REQUEST, "Message Undeliverable."),
            131047 => (StatusCode::BAD_REQUEST, "Re-engagement message"),
            _ => (StatusCode::BAD_REQUEST, "Something went wrong"),
        };
        return graph_error(status, scripted.code, message, message);
    }
    inner.sent += 1;
    let wamid = format!("wamid.HBgL{to}FQIAERgS{:08X}", inner.sent);
    Json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": to}],
        "messages": [{"id": wamid}],
    }))
    .into_response()
}
