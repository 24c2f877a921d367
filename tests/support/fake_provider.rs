//! A local messaging provider that speaks CONTRACT.md's generic HTTP API, records every request,
//! and de-duplicates by `Idempotency-Key` like a well-behaved real provider. Tests can make it slow,
//! down, or faulty in a deterministic way.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

/// One request as the provider saw it.
#[derive(Clone, Debug)]
#[allow(dead_code)]
pub struct Request {
    pub key: String,
    pub to: String,
    pub job_id: String,
    pub device_id: u32,
    pub authorization: Option<String>,
}

/// How the provider behaves; change it while a test runs.
#[derive(Clone, Debug, Default)]
pub struct Behaviour {
    /// Time taken by every request.
    pub latency: Duration,
    /// Numbers ending in 13 are accepted instead of refused with a permanent 400.
    pub accept_13: bool,
    /// Every request answers 503 (the provider is down).
    pub down: bool,
    /// Numbers ending in 17 are refused with a bare 403 (no words).
    pub refuse_17: bool,
    /// Deterministic faults on first attempts, by key: 30 % answer 500, 10 % hang for
    /// `hang`, 5 % answer 429 with `Retry-After: 1`; later attempts succeed.
    pub faults: bool,
    pub hang: Duration,
}

#[derive(Default)]
struct Inner {
    requests: Vec<Request>,
    /// Delivered messages by key: a repeated key is answered without delivering again.
    delivered: HashMap<String, String>,
    attempts: HashMap<String, u32>,
    behaviour: Behaviour,
}

/// The fake provider.
#[derive(Clone)]
pub struct FakeProvider {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

#[derive(Deserialize)]
struct Body {
    to: String,
    message: String,
    idempotency_key: String,
    job_id: String,
    device_id: u32,
}

/// A stable pseudo-random number in 0..100 for a key (FNV-1a), so faults repeat run to run.
fn bucket(key: &str) -> u64 {
    let mut hash: u64 = 0xcbf29ce484222325;
    for byte in key.bytes() {
        hash ^= byte as u64;
        hash = hash.wrapping_mul(0x100000001b3);
    }
    hash % 100
}

/// What faults a key gets on its first attempt: 500, hang or 429.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(dead_code)]
pub enum Fault {
    ServerError,
    Hang,
    TooManyRequests,
}

/// The fault the provider injects on the first attempt of `key`, when faults are on.
#[allow(dead_code)]
pub fn fault_for(key: &str) -> Option<Fault> {
    match bucket(key) {
        0..=29 => Some(Fault::ServerError),
        30..=39 => Some(Fault::Hang),
        40..=44 => Some(Fault::TooManyRequests),
        _ => None,
    }
}

#[allow(dead_code)]
impl FakeProvider {
    /// Starts the provider on a free port.
    pub async fn start() -> FakeProvider {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/send", post(send))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeProvider { addr, inner }
    }

    /// The URL to configure as `JOBPULSE_PROVIDER_URL`.
    pub fn url(&self) -> String {
        format!("http://{}/send", self.addr)
    }

    /// Changes how the provider behaves from now on.
    pub fn set(&self, change: impl FnOnce(&mut Behaviour)) {
        change(&mut self.inner.lock().unwrap().behaviour);
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<Request> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// Keys of messages actually delivered (each once, whatever the retries).
    pub fn delivered(&self) -> HashMap<String, String> {
        self.inner.lock().unwrap().delivered.clone()
    }
}

async fn send(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    Json(body): Json<Body>,
) -> Response {
    let header_key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        header_key, body.idempotency_key,
        "header and body keys differ"
    );
    assert!(!body.message.is_empty());
    let (behaviour, attempt) = {
        let mut inner = inner.lock().unwrap();
        inner.requests.push(Request {
            key: body.idempotency_key.clone(),
            to: body.to.clone(),
            job_id: body.job_id.clone(),
            device_id: body.device_id,
            authorization: headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        });
        let attempt = inner
            .attempts
            .entry(body.idempotency_key.clone())
            .or_default();
        *attempt += 1;
        let attempt = *attempt;
        (inner.behaviour.clone(), attempt)
    };
    if !behaviour.latency.is_zero() {
        tokio::time::sleep(behaviour.latency).await;
    }
    if behaviour.down {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": "provider down for maintenance"})),
        )
            .into_response();
    }
    if body.to.ends_with("17") && behaviour.refuse_17 {
        return StatusCode::FORBIDDEN.into_response();
    }
    if body.to.ends_with("13") && !behaviour.accept_13 {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "recipient not on WhatsApp"})),
        )
            .into_response();
    }
    if behaviour.faults && attempt == 1 {
        match fault_for(&body.idempotency_key) {
            Some(Fault::ServerError) => {
                return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
            }
            Some(Fault::Hang) => {
                // The client gives up first; the message is still delivered, as real providers do,
                // which is exactly why retries must reuse the key.
                tokio::time::sleep(behaviour.hang).await;
            }
            Some(Fault::TooManyRequests) => {
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [("retry-after", "1")],
                    Json(json!({"error": "slow down"})),
                )
                    .into_response();
            }
            None => {}
        }
    }
    let id = {
        let mut inner = inner.lock().unwrap();
        inner
            .delivered
            .entry(body.idempotency_key)
            .or_insert_with(|| format!("msg-{}", body.to))
            .clone()
    };
    (StatusCode::OK, Json(json!({ "id": id }))).into_response()
}
