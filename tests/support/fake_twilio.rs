//! A local Twilio that speaks the documented Messages endpoint: `POST
//! /2010-04-01/Accounts/{AccountSid}/Messages.json`, HTTP basic auth `AccountSid:AuthToken`, a
//! form-encoded body (`To`, `From` or `MessagingServiceSid`, `Body`, optional `StatusCallback`),
//! answered `201` with a message resource (`"sid": "SM…"`) or an error `{"code", "message",
//! "more_info", "status"}`. It records every request as it came and can be scripted per recipient.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const AUTH_TOKEN: &str = "f00dfeedf00dfeedf00dfeedf00dfeed";

/// One request as Twilio saw it.
#[derive(Clone, Debug)]
pub struct Request {
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    /// The form fields in the order they came.
    pub fields: Vec<(String, String)>,
}

/// What the fake answers instead of sending.
#[derive(Clone, Copy, Debug)]
pub enum Scripted {
    /// A Twilio error body with this code, at this HTTP status.
    Error { status: u16, code: i64 },
    /// `429` with code 20429 and `Retry-After: retry_after_s`.
    TooManyRequests { retry_after_s: u64 },
    /// A bare 5xx with an HTML page, as a load balancer in front of Twilio answers.
    Unavailable { status: u16 },
    /// Never answers: only the client's timeout ends the request.
    Hang,
}

#[derive(Default)]
struct Inner {
    requests: Vec<Request>,
    /// Answers by recipient (`To` without a `whatsapp:` prefix), and for how many first attempts.
    script: HashMap<String, (Scripted, u32)>,
    attempts: HashMap<String, u32>,
    /// The sid of every message accepted, in order.
    sids: Vec<String>,
    /// The account's status (`active` unless set).
    account_status: Option<String>,
}

/// The fake Twilio.
#[derive(Clone)]
pub struct FakeTwilio {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl FakeTwilio {
    /// Starts it on a free port.
    pub async fn start() -> FakeTwilio {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route(
                "/2010-04-01/Accounts/{account_sid}/Messages.json",
                post(messages),
            )
            .route("/2010-04-01/Accounts/{account}", get(account))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeTwilio { addr, inner }
    }

    /// The REST root to configure as the sender's base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers `answer` to the first `times` sends to `to` (E.164).
    pub fn script(&self, to: &str, answer: Scripted, times: u32) {
        let mut inner = self.inner.lock().unwrap();
        inner.script.insert(to.to_owned(), (answer, times));
    }

    /// What the account resource says its status is from now on.
    pub fn account_status(&self, status: &str) {
        self.inner.lock().unwrap().account_status = Some(status.to_owned());
    }

    /// Every request, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// The sid of every message accepted, in order.
    pub fn sids(&self) -> Vec<String> {
        self.inner.lock().unwrap().sids.clone()
    }
}

/// `GET /2010-04-01/Accounts/{sid}.json` with basic auth: the account resource.
async fn account(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(account): Path<String>,
    headers: HeaderMap,
) -> Response {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
    if authorization != Some(basic(ACCOUNT_SID, AUTH_TOKEN).as_str())
        || account != format!("{ACCOUNT_SID}.json")
    {
        let body = json!({"code": 20003, "message": words(20003), "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401});
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    let status = inner
        .lock()
        .unwrap()
        .account_status
        .clone()
        .unwrap_or_else(|| "active".into());
    Json(json!({
        "sid": ACCOUNT_SID,
        "friendly_name": "jobpulse test",
        "status": status,
        "type": "Full",
    }))
    .into_response()
}

/// `Basic base64(user:password)`, as RFC 7617 writes it.
pub fn basic(user: &str, password: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = format!("{user}:{password}").into_bytes();
    let mut out = String::from("Basic ");
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | ((*b as u32) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// What Twilio says for the codes the tests use.
pub fn words(code: i64) -> &'static str {
    match code {
        20003 => "Authenticate",
        20429 => "Too Many Requests",
        21211 => "The 'To' number is not a valid phone number.",
        21408 => {
            "Permission to send an SMS has not been enabled for the region indicated by the 'To' number"
        }
        21610 => "Attempt to send to unsubscribed recipient",
        21614 => "'To' number is not a valid mobile number",
        30001 => "Queue overflow",
        30003 => "Unreachable destination handset",
        30005 => "Unknown destination handset",
        30006 => "Landline or unreachable carrier",
        30007 => "Message filtered",
        63016 => {
            "Failed to send freeform message because you are outside the allowed window. If you \
             are using WhatsApp, please use a Message Template."
        }
        _ => "Something went wrong",
    }
}

fn error(status: StatusCode, code: i64, message: &str) -> Response {
    let body = json!({
        "code": code,
        "message": message,
        "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
        "status": status.as_u16(),
    });
    (status, Json(body)).into_response()
}

async fn messages(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(account_sid): Path<String>,
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
    // Twilio reads only form bodies: anything else arrives as no fields at all.
    let fields: Vec<(String, String)> =
        if content_type.as_deref() == Some("application/x-www-form-urlencoded") {
            form_urlencoded::parse(&body).into_owned().collect()
        } else {
            Vec::new()
        };
    let request = Request {
        path: format!("/2010-04-01/Accounts/{account_sid}/Messages.json"),
        authorization: header("authorization"),
        content_type,
        fields: fields.clone(),
    };
    let answer = {
        let mut inner = inner.lock().unwrap();
        inner.requests.push(request.clone());
        answer(&mut inner, &account_sid, &request)
    };
    match answer {
        Answer::Now(response) => response,
        Answer::Never => std::future::pending().await,
    }
}

enum Answer {
    Now(Response),
    Never,
}

fn answer(inner: &mut Inner, account_sid: &str, request: &Request) -> Answer {
    let field = |name: &str| {
        request
            .fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    if request.authorization.as_deref() != Some(basic(ACCOUNT_SID, AUTH_TOKEN).as_str()) {
        let mut response = error(StatusCode::UNAUTHORIZED, 20003, words(20003));
        response.headers_mut().insert(
            "www-authenticate",
            "Basic realm=\"Twilio API\"".parse().unwrap(),
        );
        return Answer::Now(response);
    }
    if account_sid != ACCOUNT_SID {
        return Answer::Now(error(
            StatusCode::NOT_FOUND,
            20404,
            "The requested resource was not found",
        ));
    }
    let Some(to) = field("To") else {
        return Answer::Now(error(
            StatusCode::BAD_REQUEST,
            21604,
            "A 'To' phone number is required.",
        ));
    };
    let from = field("From");
    let service = field("MessagingServiceSid");
    if from.is_none() && service.is_none() {
        return Answer::Now(error(
            StatusCode::BAD_REQUEST,
            21603,
            "A 'From' or 'MessagingServiceSid' parameter is required to send a message.",
        ));
    }
    let Some(text) = field("Body").filter(|b| !b.is_empty()) else {
        return Answer::Now(error(
            StatusCode::BAD_REQUEST,
            21602,
            "Message body is required.",
        ));
    };
    let whatsapp = |address: &str| address.starts_with("whatsapp:");
    if from.is_some_and(whatsapp) != whatsapp(to) {
        return Answer::Now(error(
            StatusCode::BAD_REQUEST,
            21910,
            "Invalid From and To pair. From and To should be of the same channel.",
        ));
    }
    let number = to.trim_start_matches("whatsapp:");
    let e164 = number
        .strip_prefix('+')
        .is_some_and(|digits| !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit()));
    if !e164 {
        return Answer::Now(error(
            StatusCode::BAD_REQUEST,
            21211,
            &format!("The 'To' number {number} is not a valid phone number."),
        ));
    }
    let attempt = {
        let attempts = inner.attempts.entry(number.to_owned()).or_default();
        *attempts += 1;
        *attempts
    };
    if let Some((scripted, times)) = inner.script.get(number).copied()
        && attempt <= times
    {
        return match scripted {
            Scripted::Error { status, code } => Answer::Now(error(
                StatusCode::from_u16(status).unwrap(),
                code,
                words(code),
            )),
            Scripted::TooManyRequests { retry_after_s } => {
                let mut response = error(StatusCode::TOO_MANY_REQUESTS, 20429, words(20429));
                response
                    .headers_mut()
                    .insert("retry-after", retry_after_s.to_string().parse().unwrap());
                Answer::Now(response)
            }
            Scripted::Unavailable { status } => Answer::Now(
                (
                    StatusCode::from_u16(status).unwrap(),
                    [("content-type", "text/html")],
                    "<html><body>Service Unavailable</body></html>",
                )
                    .into_response(),
            ),
            Scripted::Hang => Answer::Never,
        };
    }
    let sid = format!("SM{:032x}", inner.sids.len() + 1);
    inner.sids.push(sid.clone());
    let body = json!({
        "sid": sid,
        "account_sid": ACCOUNT_SID,
        "messaging_service_sid": service,
        "to": to,
        "from": from,
        "body": text,
        "status": if service.is_some() { "accepted" } else { "queued" },
        "num_segments": "1",
        "num_media": "0",
        "direction": "outbound-api",
        "api_version": "2010-04-01",
        "price": null,
        "price_unit": null,
        "error_code": null,
        "error_message": null,
        "date_created": "Tue, 26 Jul 2016 12:50:07 +0000",
        "date_sent": null,
        "uri": format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json"),
    });
    Answer::Now((StatusCode::CREATED, Json(body)).into_response())
}
