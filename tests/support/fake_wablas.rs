//! A local Wablas server that speaks the documented v1 send: `POST /api/send-message` with
//! `Authorization: {token}.{secret_key}` and a form body (`phone` as digits, `message`), answered
//! `{"status": true, "message": "Message is pending…", "data": {"device_id", "quota", "messages":
//! [{"id", "phone", "message", "status": "pending", "ref_id"}]}}` or refused `{"status": false,
//! "message": "<words>"}`. It records every request as it came and can be scripted per phone.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

pub const TOKEN: &str = "O6UT8a7LZ5mug1gEGcRgKP1DxrGBQo2t9wMqT31GgMdtdU9xwFQk42k2m615hkC0";
pub const SECRET_KEY: &str = "EN5eKMMv";

/// One request as Wablas saw it.
#[derive(Clone, Debug)]
pub struct Request {
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    /// The form fields in the order they came.
    pub fields: Vec<(String, String)>,
}

/// What the fake answers instead of queueing the message.
#[derive(Clone, Copy, Debug)]
pub enum Scripted {
    /// `{"status": false, "message": said}` at this HTTP status (Wablas documents neither).
    Refuse { status: u16, said: &'static str },
    /// `429` with `Retry-After: retry_after_s` and a refusal body.
    TooManyRequests { retry_after_s: u64 },
    /// A bare 5xx with an HTML page, as a proxy in front of Wablas answers.
    Unavailable { status: u16 },
    /// Never answers: only the client's timeout ends the request.
    Hang,
}

/// How a success is shaped: the docs show both.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Shape {
    /// `data.messages` is a list (one device).
    #[default]
    OneDevice,
    /// `data` is a list with one entry per device, each with one `message` object (`random`).
    RandomDevices,
}

#[derive(Default)]
struct Inner {
    requests: Vec<Request>,
    /// Answers by phone (digits), and for how many first attempts.
    script: HashMap<String, (Scripted, u32)>,
    attempts: HashMap<String, u32>,
    shape: Shape,
    /// The id of every message queued, in order.
    ids: Vec<String>,
    /// What device info says: `connected` or `disconnected`, and the quota left.
    device: Option<(String, i64)>,
    /// Device info requests, with their `token` and `Authorization`.
    info_requests: Vec<(Option<String>, Option<String>)>,
}

/// The fake Wablas.
#[derive(Clone)]
pub struct FakeWablas {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl FakeWablas {
    /// Starts it on a free port.
    pub async fn start() -> FakeWablas {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/api/send-message", post(send_message))
            .route("/api/device/info", get(device_info))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeWablas { addr, inner }
    }

    /// The server root to configure as the sender's base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers `answer` to the first `times` sends to `phone` (digits).
    pub fn script(&self, phone: &str, answer: Scripted, times: u32) {
        let mut inner = self.inner.lock().unwrap();
        inner.script.insert(phone.to_owned(), (answer, times));
    }

    pub fn shape(&self, shape: Shape) {
        self.inner.lock().unwrap().shape = shape;
    }

    /// Every request, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// What `GET /api/device/info` reports from now on (`connected` with 1000 left unless set).
    pub fn device(&self, status: &str, quota: i64) {
        self.inner.lock().unwrap().device = Some((status.to_owned(), quota));
    }

    /// Device info requests so far: their `token` query and `Authorization` header.
    pub fn info_requests(&self) -> Vec<(Option<String>, Option<String>)> {
        self.inner.lock().unwrap().info_requests.clone()
    }

    /// The id of every message queued, in order.
    pub fn ids(&self) -> Vec<String> {
        self.inner.lock().unwrap().ids.clone()
    }
}

/// `GET /api/device/info?token=`: the device as Wablas documents it.
async fn device_info(
    State(inner): State<Arc<Mutex<Inner>>>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let token = query.get("token").cloned();
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut inner = inner.lock().unwrap();
    inner.info_requests.push((token.clone(), authorization));
    if token.as_deref() != Some(TOKEN) {
        return refuse(StatusCode::UNAUTHORIZED, "token invalid");
    }
    let (status, quota) = inner
        .device
        .clone()
        .unwrap_or_else(|| ("connected".into(), 1000));
    Json(json!({
        "status": true,
        "message": "successfully get device info",
        "data": {
            "serial": "W1A2B3",
            "sender": "6281200000000",
            "name": "Toko Budi",
            "quota": quota.to_string(),
            "expired_date": "2027-06-30",
            "status": status,
        }
    }))
    .into_response()
}

fn refuse(status: StatusCode, said: &str) -> Response {
    (status, Json(json!({"status": false, "message": said}))).into_response()
}

enum Answer {
    Now(Response),
    Never,
}

async fn send_message(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = header("content-type");
    let fields: Vec<(String, String)> =
        if content_type.as_deref() == Some("application/x-www-form-urlencoded") {
            form_urlencoded::parse(&body).into_owned().collect()
        } else {
            Vec::new()
        };
    let request = Request {
        path: "/api/send-message".into(),
        authorization: header("authorization"),
        content_type,
        fields,
    };
    let answer = {
        let mut inner = inner.lock().unwrap();
        inner.requests.push(request.clone());
        answer(&mut inner, &request)
    };
    match answer {
        Answer::Now(response) => response,
        Answer::Never => std::future::pending().await,
    }
}

fn answer(inner: &mut Inner, request: &Request) -> Answer {
    let field = |name: &str| {
        request
            .fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let authorization = request.authorization.as_deref().unwrap_or_default();
    let (token, secret) = authorization.split_once('.').unwrap_or((authorization, ""));
    if token != TOKEN {
        return Answer::Now(refuse(StatusCode::UNAUTHORIZED, "token invalid"));
    }
    if secret != SECRET_KEY {
        return Answer::Now(refuse(StatusCode::UNAUTHORIZED, "secret key invalid"));
    }
    let phone = field("phone").unwrap_or_default();
    if phone.is_empty() || !phone.chars().all(|c| c.is_ascii_digit()) {
        return Answer::Now(refuse(StatusCode::BAD_REQUEST, "invalid phone number"));
    }
    let Some(text) = field("message").filter(|m| !m.is_empty()) else {
        return Answer::Now(refuse(StatusCode::BAD_REQUEST, "message is required"));
    };
    let attempt = {
        let attempts = inner.attempts.entry(phone.to_owned()).or_default();
        *attempts += 1;
        *attempts
    };
    if let Some((scripted, times)) = inner.script.get(phone).copied()
        && attempt <= times
    {
        return match scripted {
            Scripted::Refuse { status, said } => {
                Answer::Now(refuse(StatusCode::from_u16(status).unwrap(), said))
            }
            Scripted::TooManyRequests { retry_after_s } => {
                let mut response = refuse(StatusCode::TOO_MANY_REQUESTS, "Too Many Attempts.");
                response
                    .headers_mut()
                    .insert("retry-after", retry_after_s.to_string().parse().unwrap());
                Answer::Now(response)
            }
            Scripted::Unavailable { status } => Answer::Now(
                (
                    StatusCode::from_u16(status).unwrap(),
                    [("content-type", "text/html")],
                    "<html><body>502 Bad Gateway</body></html>",
                )
                    .into_response(),
            ),
            Scripted::Hang => Answer::Never,
        };
    }
    let id = format!("5be46e84-650c-4ba1-a1a6-{:012x}", inner.ids.len() + 1);
    inner.ids.push(id.clone());
    // A real logged answer carries the phone as a JSON number.
    let queued = json!({
        "id": id,
        "phone": phone.parse::<u64>().map(Value::from).unwrap_or_else(|_| phone.into()),
        "message": text,
        "status": "pending",
        "ref_id": "",
    });
    let data = match inner.shape {
        Shape::OneDevice => json!({"device_id": "A5DOYJ", "quota": 97, "messages": [queued]}),
        Shape::RandomDevices => json!([{"device_id": "A5DOYJ", "quota": 97, "message": queued}]),
    };
    Answer::Now(
        Json(json!({
            "status": true,
            "message": "Message is pending and waiting to be processed",
            "data": data,
        }))
        .into_response(),
    )
}
