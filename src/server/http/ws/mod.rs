//! The WebSocket endpoints of CONTRACT.md: `/api/ws` (subscribe by message) and
//! `/api/ws/job/{id}` (subscribed on connect).
//!
//! Each connection is one task. For every job it follows it remembers the last seq it sent, so
//! events are delivered in order and never twice whether they come from the hub (live) or the
//! events table (replay, or catching up after the hub's buffer overflowed for this client).

mod connection;

use std::time::Duration;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::protocol::JobId;
use crate::server::AppState;
use crate::server::http::auth;
use crate::server::http::peer::{Peer, origin_allowed};

/// Largest text message a client may send.
pub const MAX_CLIENT_MESSAGE: usize = 64 * 1024;
/// Jobs one connection may follow at once.
const MAX_SUBSCRIPTIONS: usize = 1_000;
/// Events read from the log per query while replaying or catching up.
const REPLAY_PAGE: u32 = 1_000;
/// Time a client without credentials has to send its `auth` message.
const AUTH_TIMEOUT: Duration = Duration::from_secs(5);
/// Protocol errors a connection may make before it is closed.
const MAX_PROTOCOL_ERRORS: u32 = 20;
/// Messages refused for flooding before the connection is closed.
const MAX_THROTTLED: u32 = 200;

type Limiter = governor::DefaultDirectRateLimiter;

/// Close codes: the standard ones, and 44xx for ours (like HTTP's 4xx).
mod close {
    pub const POLICY: u16 = 1008;
    pub const TOO_BIG: u16 = 1009;
    pub const UNAUTHORISED: u16 = 4401;
    pub const TOO_SLOW: u16 = 4408;
    pub const TOO_MANY: u16 = 4429;
}

/// The WebSocket routes, under `/api`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ws", get(connect_any))
        .route("/ws/job/{id}", get(connect_job))
}

async fn connect_any(
    State(state): State<AppState>,
    ws: WebSocketUpgrade,
    parts: Parts,
) -> Response {
    upgrade(state, ws, parts, None).await
}

async fn connect_job(
    State(state): State<AppState>,
    ws: WebSocketUpgrade,
    Path(id): Path<String>,
    parts: Parts,
) -> Response {
    let after_seq = parts.uri.query().and_then(|q| {
        q.split('&')
            .find_map(|pair| pair.strip_prefix("after_seq="))
            .and_then(|v| v.parse().ok())
    });
    // A malformed id is answered like an unknown one, over the socket.
    let first = Some(match id.parse::<JobId>() {
        Ok(job_id) => FirstSubscription::Job { job_id, after_seq },
        Err(_) => FirstSubscription::Unknown,
    });
    upgrade(state, ws, parts, first).await
}

#[derive(Clone, Copy, Debug)]
enum FirstSubscription {
    Job {
        job_id: JobId,
        after_seq: Option<u64>,
    },
    Unknown,
}

async fn upgrade(
    state: AppState,
    ws: WebSocketUpgrade,
    parts: Parts,
    first: Option<FirstSubscription>,
) -> Response {
    if let Some(origin) = parts.headers.get("origin").and_then(|o| o.to_str().ok()) {
        let own = Peer::of(&parts, &state.settings.trusted_proxies).own_origin(&parts);
        if !origin_allowed(origin, own.as_deref(), &state.settings.allowed_origins) {
            return (
                StatusCode::FORBIDDEN,
                "This origin may not open a live connection.",
            )
                .into_response();
        }
    }
    let principal = match auth::authenticate(state.store.as_ref(), &parts, true).await {
        Ok(principal) => principal,
        Err(error) => {
            tracing::error!(%error, "could not authenticate a WebSocket");
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
    };
    let presented = auth::query_token(&parts).is_some()
        || parts.headers.contains_key(http::header::AUTHORIZATION);
    if principal.is_none() && presented {
        return crate::server::http::error::AppError::Unauthorized.into_response();
    }
    let most = state.settings.live.max_connections_per_credential;
    let principal = match principal {
        Some(principal) => match state.hub.credential_slot(&principal.credential, most) {
            Some(slot) => Some((principal, slot)),
            None => {
                return (
                    StatusCode::TOO_MANY_REQUESTS,
                    [(http::header::RETRY_AFTER, "5")],
                    format!(
                        "This session or token already has {most} live connections open: close some first."
                    ),
                )
                    .into_response();
            }
        },
        None => None,
    };
    ws.max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        // An idle connection should cost a few KB, not the 128 KiB default.
        .read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(1024 * 1024)
        .on_upgrade(move |socket| connection::serve(socket, state, principal, first))
}
