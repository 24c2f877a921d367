//! Cross-site protection for everything that changes state, and security headers for every answer.
//!
//! A browser sends the session cookie with any request to us, even one a hostile page makes, so a
//! cookie-authenticated request that changes something must prove it comes from one of our pages:
//! same-site by `Sec-Fetch-Site` (or an allowed `Origin`), and carrying the session's CSRF token
//! (an `X-CSRF-Token` header, or a `csrf_token` form field for pages posting without JavaScript).
//! Requests with an API token carry no ambient authority and need neither.

use std::collections::HashSet;
use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::request::Parts;

use crate::protocol::problem::{Denial, RequestRule};
use crate::server::http::auth::{
    self, Authenticated, Authorization, Credential, Principal, csrf_token, session_cookie_value,
};
use crate::server::http::error::AppError;
use crate::server::http::input;
use crate::server::http::peer::{Peer, origin_allowed};
use crate::server::{AppState, audit};

/// The header the pages send their CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The form field pages without JavaScript send it in.
pub const CSRF_FIELD: &str = "csrf_token";

/// Paths of the server functions (the pages' calls), which answer errors in their own encoding.
fn is_server_fn(path: &str) -> bool {
    static PATHS: OnceLock<HashSet<&'static str>> = OnceLock::new();
    PATHS
        .get_or_init(|| {
            leptos::server_fn::axum::server_fn_paths()
                .map(|(path, _)| path)
                .collect()
        })
        .contains(path)
}

/// A refusal in the caller's language: `{"detail"}` for REST, a server function error for pages.
fn refusal(server_fn: bool, error: AppError) -> Response {
    if !server_fn {
        return error.into_response();
    }
    use leptos::server_fn::error::{FromServerFnError, SERVER_FN_ERROR_HEADER};
    let status = error.status();
    let body = error.problem().ser();
    let mut response = (status, body).into_response();
    response
        .headers_mut()
        .insert(SERVER_FN_ERROR_HEADER, HeaderValue::from_static("guard"));
    response
}

/// True for a request that a hostile page could have made: neither same-origin by the browser's
/// own account (`Sec-Fetch-Site`) nor from an allowed `Origin`.
fn cross_site(state: &AppState, parts: &Parts) -> bool {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return !matches!(site, "same-origin" | "none");
    }
    match header("origin") {
        Some(origin) => {
            let own = Peer::of(parts, &state.settings.trusted_proxies).own_origin(parts);
            !origin_allowed(origin, own.as_deref(), &state.settings.allowed_origins)
        }
        // Not a browser (browsers send Origin on every POST): nothing ambient to abuse.
        None => false,
    }
}

/// The largest body a request may send: bulk sends (and a worker's batch of items, whose
/// handler checks the worker token before reading it) may be large, once the caller is known.
fn body_limit(state: &AppState, parts: &Parts, known: bool) -> usize {
    let http = &state.settings.http;
    let path = parts.uri.path();
    let bulk = matches!(
        path,
        "/api/messages/send-bulk" | "/api/start_bulk_send" | "/api/check_recipients"
    );
    let worker_items = path.starts_with("/api/jobs/") && path.ends_with("/items");
    if (bulk && known) || worker_items {
        http.max_bulk_body_bytes
    } else {
        http.max_body_bytes
    }
}

/// The body limit the guard set for a request (REST reports it when a body exceeds it).
#[derive(Clone, Copy, Debug)]
pub struct BodyLimit(pub usize);

/// What a body that could not be read is answered with.
pub fn unreadable(error: axum::Error, limit: usize) -> AppError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(cause) = source {
        if cause.is::<http_body_util::LengthLimitError>() {
            return AppError::TooLarge(limit);
        }
        if cause.is::<tower_http::timeout::TimeoutError>() {
            return AppError::SlowBody;
        }
        source = cause.source();
    }
    AppError::BadRequest(RequestRule::BodyUnreadable)
}

/// Guards everything that changes state: who is calling is settled before any body is read,
/// bodies are capped (small unless a known caller sends a bulk send), a session cookie must come
/// from our pages with the session's CSRF token, and no NUL character gets in.
pub async fn protect(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let server_fn = is_server_fn(parts.uri.path());
    if let Some(field) = parts
        .uri
        .query()
        .and_then(|query| input::nul_in_form(query.as_bytes()))
    {
        return refusal(
            server_fn,
            AppError::Unprocessable(RequestRule::Nul { field }),
        );
    }
    let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
    if safe || !parts.uri.path().starts_with("/api/") {
        return next.run(Request::from_parts(parts, body)).await;
    }
    if auth::authorization(&parts) == Authorization::Unusable {
        return refusal(server_fn, AppError::Unauthorized);
    }
    let principal: Option<Principal> =
        match auth::authenticate(state.store.as_ref(), &parts, false).await {
            Ok(principal) => principal,
            Err(error) => return refusal(server_fn, AppError::Store(error)),
        };
    let session = principal
        .as_ref()
        .filter(|p| matches!(p.credential, Credential::Session(_)))
        .and_then(|_| session_cookie_value(&parts));
    let login = parts.uri.path() == "/api/login";
    if (session.is_some() || login) && cross_site(&state, &parts) {
        return refusal(server_fn, AppError::Forbidden(Denial::CrossSite));
    }
    let limit = body_limit(&state, &parts, principal.is_some());
    let peer = Peer::of(&parts, &state.settings.trusted_proxies);
    parts.extensions.insert(Authenticated(principal.clone()));
    parts.extensions.insert(BodyLimit(limit));
    let body = Body::new(http_body_util::Limited::new(body, limit));
    if let Some(length) = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
        && length > limit
    {
        return refusal(server_fn, AppError::TooLarge(limit));
    }
    let expected = session.as_deref().map(csrf_token);
    let token_sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    let needs_form_token = expected.is_some() && token_sent != expected.as_deref();
    if !needs_form_token && !server_fn {
        // REST parses its own JSON (refusing NUL characters there).
        let answer = next.run(Request::from_parts(parts, body));
        return audit::noting(&state, principal.as_ref(), peer, answer).await;
    }
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(error) => return refusal(server_fn, unreadable(error, limit)),
    };
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let form = content_type.starts_with("application/x-www-form-urlencoded");
    if let Some(expected) = expected.as_deref()
        && needs_form_token
    {
        let field = form
            .then(|| {
                form_urlencoded::parse(&bytes)
                    .find(|(key, _)| key == CSRF_FIELD)
                    .map(|(_, value)| value.into_owned())
            })
            .flatten();
        if field.as_deref() != Some(expected) {
            return refusal(server_fn, AppError::Forbidden(Denial::NoCsrfToken));
        }
    }
    let nul = if form {
        input::nul_in_form(&bytes)
    } else {
        input::nul_in_json(&bytes)
    };
    if let Some(field) = nul {
        return refusal(
            server_fn,
            AppError::Unprocessable(RequestRule::Nul { field }),
        );
    }
    let answer = next.run(Request::from_parts(parts, Body::from(bytes)));
    audit::noting(&state, principal.as_ref(), peer, answer).await
}

/// The Content-Security-Policy of the pages: scripts only from us (and Leptos' inline hydration
/// script, by its nonce), WebAssembly allowed, nothing may frame us.
pub fn page_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; \
         connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; \
         object-src 'none'"
    )
}

/// Headers every answer carries unless it set its own (pages set their CSP with a nonce).
pub fn default_headers() -> [(header::HeaderName, HeaderValue); 5] {
    [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
        ),
    ]
}

/// The token a page embeds for the session in this request, if any.
pub fn page_csrf_token(parts: &Parts) -> Option<String> {
    auth::session_cookie_value(parts).map(|cookie| csrf_token(&cookie))
}
