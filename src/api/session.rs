//! Who is logged in: the viewer, login and logout.

use leptos::prelude::*;

use crate::protocol::problem::Problem;

use super::ApiClient;
use super::ViewerInfo;
#[cfg(feature = "ssr")]
use super::server;

/// Who is logged in, if anyone.
#[server(endpoint = "viewer", client = ApiClient)]
pub async fn viewer() -> Result<Option<ViewerInfo>, Problem> {
    let (state, principal) = server::caller().await?;
    let Some(session) = principal.and_then(|p| p.session) else {
        return Ok(None);
    };
    let tenant = state
        .store
        .tenant(session.tenant_id)
        .await
        .map_err(server::store_error)?
        .map(|t| t.name)
        .unwrap_or_default();
    Ok(Some(ViewerInfo {
        username: session.username,
        tenant,
        role: session.role.as_str().to_owned(),
        sandbox: state.provider_is_sandbox,
    }))
}

/// Checks a password, starts a session and goes to `next`.
#[server(endpoint = "login", client = ApiClient)]
pub async fn login(
    workspace: String,
    username: String,
    password: String,
    next: Option<String>,
) -> Result<(), Problem> {
    use crate::server::http::auth::{self, LoginError};
    use crate::server::http::error::AppError;
    use crate::server::http::peer::Peer;
    let state = server::state()?;
    let parts = use_context::<http::request::Parts>();
    let peer = parts
        .as_ref()
        .map(|parts| Peer::of(parts, &state.settings.trusted_proxies));
    let address = peer.map(|p| p.address.to_string()).unwrap_or_default();
    let credentials = auth::Credentials {
        workspace: &workspace,
        username: &username,
        password: &password,
    };
    let login = auth::login(state.store.as_ref(), &state.limits, credentials, &address).await;
    let cookie_value = login.map_err(|e| match e {
        LoginError::Wrong => server::fail(AppError::WrongPassword),
        LoginError::Limited(limited) => server::fail(AppError::TooManyLogins(limited)),
        LoginError::Busy(_) => server::fail(AppError::Busy),
        LoginError::Store(error) => server::fail(error),
    })?;
    let secure = peer.is_some_and(|p| p.secure);
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        // The workspace is remembered (not secret) so the form is filled in next time.
        for cookie in [
            auth::session_cookie(cookie_value, secure),
            auth::workspace_cookie(workspace.trim(), secure),
        ] {
            if let Ok(value) = http::HeaderValue::from_str(&cookie.to_string()) {
                response.append_header(http::header::SET_COOKIE, value);
            }
        }
    }
    if server::plain_form_post(parts.as_ref()) {
        leptos_axum::redirect(&server::local_path(next));
    }
    Ok(())
}

/// Ends the session and goes to the login page.
#[server(endpoint = "logout", client = ApiClient)]
pub async fn logout() -> Result<(), Problem> {
    use crate::server::http::auth;
    use crate::server::http::peer::Peer;
    let state = server::state()?;
    let parts = use_context::<http::request::Parts>();
    if let Some(value) = parts.as_ref().and_then(auth::session_cookie_value) {
        auth::logout(state.store.as_ref(), &value)
            .await
            .map_err(server::store_error)?;
        // Its live connections close too.
        state
            .hub
            .revoke(auth::Credential::Session(auth::hash_secret(&value)));
    }
    let secure = parts
        .as_ref()
        .is_some_and(|parts| Peer::of(parts, &state.settings.trusted_proxies).secure);
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.insert_header(
            http::header::SET_COOKIE,
            http::HeaderValue::from_str(&auth::session_cookie(String::new(), secure).to_string())
                .expect("cookies are valid header values"),
        );
    }
    if server::plain_form_post(parts.as_ref()) {
        leptos_axum::redirect("/login");
    }
    Ok(())
}
