//! Cross-site protection for everything that changes state, and security headers for every answer.
//!
//! A browser sends the session cookie with any request to us, even one a hostile page makes, so a
//! cookie-authenticated request that changes something must prove it comes from one of our pages:
//! same-site by `Sec-Fetch-Site` (or an allowed `Origin`), and carrying the session's CSRF token
//! (an `X-CSRF-Token` header, or a `csrf_token` form field for pages posting without JavaScript).
//! Requests with an API token carry no ambient authority and need neither.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::server::AppState;
use crate::server::auth::{self, csrf_token, origin_allowed, session_cookie_value};
use crate::server::error::AppError;

/// The header the pages send their CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The form field pages without JavaScript send it in.
pub const CSRF_FIELD: &str = "csrf_token";
/// Largest form body read to look for the token (a bulk send form with 100,000 numbers fits).
const MAX_FORM: usize = 16 * 1024 * 1024;

fn refuse(detail: &str) -> Response {
    AppError::Forbidden(detail.to_owned()).into_response()
}

/// True for a request that a hostile page could have made: neither same-origin by the browser's
/// own account (`Sec-Fetch-Site`) nor from an allowed `Origin`.
fn cross_site(state: &AppState, parts: &axum::http::request::Parts) -> bool {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = header("sec-fetch-site") {
        return !matches!(site, "same-origin" | "none");
    }
    match header("origin") {
        Some(origin) => !origin_allowed(origin, header("host"), &state.settings.allowed_origins),
        // Not a browser (browsers send Origin on every POST): nothing ambient to abuse.
        None => false,
    }
}

/// Refuses cross-site and token-less state changes made with a session cookie.
pub async fn protect(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if safe || !request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bearer = parts.headers.contains_key(header::AUTHORIZATION);
    let cookie = session_cookie_value(&parts);
    let login = parts.uri.path() == "/api/login";
    if bearer || (cookie.is_none() && !login) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    if cross_site(&state, &parts) {
        return refuse(
            "Cross-site requests are refused: use jobpulse's own pages, or an API token.",
        );
    }
    let Some(cookie) = cookie else {
        // Logging in: there is no session to hold a token yet; same-site is what counts.
        return next.run(Request::from_parts(parts, body)).await;
    };
    let expected = csrf_token(&cookie);
    let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    if sent == Some(expected.as_str()) {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if form {
        let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM).await else {
            return refuse("The form is too large.");
        };
        let field = form_urlencoded::parse(&bytes)
            .find(|(key, _)| key == CSRF_FIELD)
            .map(|(_, value)| value.into_owned());
        if field.as_deref() == Some(expected.as_str()) {
            return next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await;
        }
    }
    refuse("This request lacks the page's CSRF token: reload the page and try again.")
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
pub fn page_csrf_token(parts: &axum::http::request::Parts) -> Option<String> {
    auth::session_cookie_value(parts).map(|cookie| csrf_token(&cookie))
}
