//! A local messaging provider that speaks CONTRACT.md's generic HTTP API, records every request,
//! and de-duplicates by `Idempotency-Key` like a well-behaved real provider.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

/// One request as the provider saw it.
#[derive(Clone, Debug)]
pub struct Request {
    pub key: String,
    pub to: String,
    pub job_id: String,
    pub device_id: u32,
    pub authorization: Option<String>,
}

#[derive(Default)]
struct Inner {
    requests: Vec<Request>,
    /// Delivered messages by key: a repeated key is answered without delivering again.
    delivered: HashMap<String, String>,
}

/// The fake provider: numbers ending in 13 are refused with a permanent 400.
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
    if body.to.ends_with("13") {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "recipient not on WhatsApp"})),
        )
            .into_response();
    }
    let id = inner
        .delivered
        .entry(body.idempotency_key)
        .or_insert_with(|| format!("msg-{}", body.to))
        .clone();
    (StatusCode::OK, Json(json!({ "id": id }))).into_response()
}
