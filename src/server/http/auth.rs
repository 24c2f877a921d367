//! Who is calling: API tokens (scripts), session cookies (browsers), passwords (login).
//! Secrets are stored only as hashes: SHA-256 for random tokens, argon2 for passwords.

use std::sync::OnceLock;

use axum::extract::FromRequestParts;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use chrono::Utc;
use http::request::Parts;

use crate::protocol::problem::Denial;
use crate::server::AppState;
use crate::server::http::error::AppError;
use crate::server::http::limits::{Busy, Limited, Limits};
use crate::server::settings::Settings;
use crate::server::store::{Role, Session, Store, StoreError, StoreResult, Tenant, TenantId};

/// The browser session cookie.
pub const SESSION_COOKIE: &str = "jobpulse_session";
/// How long a login lasts.
pub const SESSION_HOURS: i64 = 12;

pub use crate::server::live::hub::Credential;
pub use crate::server::secrets::{hash_password, hash_secret, new_secret, verify_password};

/// The caller of a request, after authentication.
#[derive(Clone, Debug)]
pub struct Principal {
    pub tenant_id: TenantId,
    /// Set for browser sessions; scripts with an API token act for the tenant as a whole.
    pub session: Option<Session>,
    pub credential: Credential,
}

impl Principal {
    /// What the caller may do: a session's user role; an API token works like an operator.
    pub fn role(&self) -> Role {
        self.session.as_ref().map_or(Role::Operator, |s| s.role)
    }

    /// Refuses callers that may only watch.
    pub fn require_operator(&self) -> Result<(), AppError> {
        if self.role().can_operate() {
            Ok(())
        } else {
            Err(AppError::Forbidden(Denial::WatchOnly))
        }
    }

    /// Refuses sessions of users who are not admins; API tokens act for the whole tenant (the
    /// contract lets scripts manage senders).
    pub fn require_admin_or_token(&self) -> Result<(), AppError> {
        match &self.session {
            Some(_) => self.require_admin(),
            None => Ok(()),
        }
    }

    /// Refuses callers that may not manage users and tokens.
    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.role().can_administer() {
            Ok(())
        } else {
            Err(AppError::Forbidden(Denial::AdminsOnly))
        }
    }
}

/// The CSRF token of a session: derived from the cookie's secret, so it needs no storage and is
/// useless without the cookie.
pub fn csrf_token(session_cookie_value: &str) -> String {
    hash_secret(&format!("csrf:{session_cookie_value}"))
}

/// A hash to verify against when the user does not exist, so timing does not reveal usernames.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password that matches nothing"))
}

/// Creates a tenant and its first API token, returning the token (shown once, stored hashed).
pub async fn create_tenant(store: &dyn Store, name: &str) -> StoreResult<(Tenant, String)> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(StoreError::Conflict(
            "a tenant name must be 1 to 100 characters long".into(),
        ));
    }
    let tenant = store.create_tenant(name).await?;
    let token = new_secret("jp_");
    store
        .create_api_token(tenant.id, "created with the tenant", &hash_secret(&token))
        .await?;
    Ok((tenant, token))
}

/// What the console says about the demo tenant.
pub struct DemoLogin {
    /// The workspace (tenant) to log in to.
    pub tenant: String,
    pub username: String,
    pub password: String,
    /// The demo tenant's API token, only when it was just created.
    pub new_token: Option<String>,
}

/// Creates the demo tenant and its admin user on first start.
pub async fn ensure_demo(store: &dyn Store, settings: &Settings) -> StoreResult<Option<DemoLogin>> {
    if !settings.demo.enabled {
        return Ok(None);
    }
    let demo = &settings.demo;
    let mut new_token = None;
    let tenant = match store.tenant_by_name(&demo.tenant).await? {
        Some(tenant) => tenant,
        None => {
            let (tenant, token) = create_tenant(store, &demo.tenant).await?;
            new_token = Some(token);
            tenant
        }
    };
    if store
        .user_by_username(tenant.id, &demo.username)
        .await?
        .is_none()
    {
        let password = demo.password.clone();
        let hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .expect("hashing does not panic");
        match store
            .create_user(tenant.id, &demo.username, &hash, Role::Admin)
            .await
        {
            // Another instance created it at the same moment: fine.
            Ok(_) | Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Some(DemoLogin {
        tenant: tenant.name.clone(),
        username: demo.username.clone(),
        password: demo.password.clone(),
        new_token,
    }))
}

/// Why a login failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("Wrong workspace, username or password.")]
    Wrong,
    #[error("Too many login attempts: try again in {}.", .0.wait())]
    Limited(Limited),
    #[error("The server is busy checking other logins: try again in a moment.")]
    Busy(Busy),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a person logs in with: usernames are unique within their workspace (tenant).
pub struct Credentials<'a> {
    pub workspace: &'a str,
    pub username: &'a str,
    pub password: &'a str,
}

/// Checks a password (at most a few attempts per minute per account and per address, and a
/// few at a time) and opens a session; returns the cookie value.
pub async fn login(
    store: &dyn Store,
    limits: &Limits,
    credentials: Credentials<'_>,
    address: &str,
) -> Result<String, LoginError> {
    let (workspace, username) = (credentials.workspace.trim(), credentials.username.trim());
    limits
        .login(&format!("{workspace}/{username}"), address)
        .map_err(LoginError::Limited)?;
    let user = match store.tenant_by_name(workspace).await? {
        Some(tenant) => store.user_by_username(tenant.id, username).await?,
        None => None,
    };
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let password = credentials.password.to_owned();
    let ok = limits
        .passwords()
        .run(move || verify_password(&password, hash.as_deref().unwrap_or_else(|| decoy_hash())))
        .await
        .map_err(LoginError::Busy)?;
    let Some(user) = user.filter(|_| ok) else {
        return Err(LoginError::Wrong);
    };
    let secret = new_secret("");
    store
        .create_session(
            &hash_secret(&secret),
            user.id,
            Utc::now() + chrono::Duration::hours(SESSION_HOURS),
        )
        .await?;
    Ok(secret)
}

/// Ends the session named by a cookie value.
pub async fn logout(store: &dyn Store, cookie_value: &str) -> StoreResult<()> {
    store.delete_session(&hash_secret(cookie_value)).await
}

/// The `Set-Cookie` value that starts (or, with an empty value, ends) a session.
pub fn session_cookie(value: String, secure: bool) -> Cookie<'static> {
    let max_age = if value.is_empty() {
        time_duration(0)
    } else {
        time_duration(SESSION_HOURS * 3600)
    };
    Cookie::build((SESSION_COOKIE, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/")
        .max_age(max_age)
        .build()
}

/// The cookie that remembers which workspace this browser last logged in to (not a secret).
pub const WORKSPACE_COOKIE: &str = "jobpulse_workspace";

/// The `Set-Cookie` value that remembers the workspace for the login form (a year).
pub fn workspace_cookie(workspace: &str, secure: bool) -> Cookie<'static> {
    let value: String = form_urlencoded::byte_serialize(workspace.as_bytes()).collect();
    Cookie::build((WORKSPACE_COOKIE, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/login")
        .max_age(time_duration(365 * 24 * 3600))
        .build()
}

/// The workspace this browser last logged in to, if it remembers one.
pub fn remembered_workspace(parts: &Parts) -> Option<String> {
    let jar = CookieJar::from_headers(&parts.headers);
    let value = jar.get(WORKSPACE_COOKIE)?.value();
    form_urlencoded::parse(format!("w={value}").as_bytes())
        .next()
        .map(|(_, workspace)| workspace.into_owned())
        .filter(|workspace| !workspace.is_empty())
}

fn time_duration(seconds: i64) -> cookie::time::Duration {
    cookie::time::Duration::seconds(seconds)
}

/// The session cookie's value, if the request carries one.
pub fn session_cookie_value(parts: &Parts) -> Option<String> {
    CookieJar::from_headers(&parts.headers)
        .get(SESSION_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

/// What a request's `Authorization` header holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Authorization<'a> {
    /// No header: the session cookie (or nothing) speaks for the caller.
    Absent,
    /// `Bearer <token>` with a token in it.
    Bearer(&'a str),
    /// A header that is not a usable bearer token (`Basic …`, an empty `Bearer `): the request
    /// is refused, never answered on the strength of a cookie that came with it.
    Unusable,
}

/// Reads the `Authorization` header.
pub fn authorization(parts: &Parts) -> Authorization<'_> {
    let Some(value) = parts.headers.get(http::header::AUTHORIZATION) else {
        return Authorization::Absent;
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|token| !token.is_empty() && token.chars().all(|c| c.is_ascii_graphic()));
    token.map_or(Authorization::Unusable, Authorization::Bearer)
}

/// The token of a usable `Authorization: Bearer` header.
pub fn bearer(parts: &Parts) -> Option<&str> {
    match authorization(parts) {
        Authorization::Bearer(token) => Some(token),
        _ => None,
    }
}

/// The `token` query parameter (WebSocket clients that cannot set headers).
pub fn query_token(parts: &Parts) -> Option<String> {
    form_urlencoded::parse(parts.uri.query()?.as_bytes())
        .find(|(key, value)| key == "token" && !value.is_empty())
        .map(|(_, value)| value.into_owned())
}

/// Resolves a token to its tenant.
pub async fn principal_for_token(store: &dyn Store, token: &str) -> StoreResult<Option<Principal>> {
    let hash = hash_secret(token);
    Ok(store
        .tenant_for_token(&hash)
        .await?
        .map(|tenant_id| Principal {
            tenant_id,
            session: None,
            credential: Credential::Token(hash),
        }))
}

/// Checks that a credential still works (sessions expire, tokens and sessions get revoked).
pub async fn still_valid(store: &dyn Store, credential: &Credential) -> StoreResult<bool> {
    Ok(match credential {
        Credential::Session(hash) => store.session(hash).await?.is_some(),
        Credential::Token(hash) => store.tenant_for_token(hash).await?.is_some(),
    })
}

/// Authenticates with a bearer token, else the session cookie, else (if allowed) `?token=`.
/// A request with an `Authorization` header is judged by that header alone.
pub async fn authenticate(
    store: &dyn Store,
    parts: &Parts,
    allow_query_token: bool,
) -> StoreResult<Option<Principal>> {
    match authorization(parts) {
        Authorization::Bearer(token) => return principal_for_token(store, token).await,
        Authorization::Unusable => return Ok(None),
        Authorization::Absent => {}
    }
    if let Some(value) = session_cookie_value(parts)
        && let Some(session) = store.session(&hash_secret(&value)).await?
    {
        return Ok(Some(Principal {
            tenant_id: session.tenant_id,
            credential: Credential::Session(session.id_hash.clone()),
            session: Some(session),
        }));
    }
    if allow_query_token && let Some(token) = query_token(parts) {
        return principal_for_token(store, &token).await;
    }
    Ok(None)
}

/// Who the guard found the caller to be, kept so handlers do not look them up again.
#[derive(Clone, Debug)]
pub struct Authenticated(pub Option<Principal>);

impl FromRequestParts<AppState> for Principal {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let principal = match parts.extensions.get::<Authenticated>() {
            Some(Authenticated(known)) => known.clone(),
            None => authenticate(state.store.as_ref(), parts, false).await?,
        }
        .ok_or(AppError::Unauthorized)?;
        if let Credential::Token(hash) = &principal.credential {
            state.limits.api(hash).map_err(AppError::TooManyRequests)?;
        }
        Ok(principal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_random_and_hashed_stably() {
        let (a, b) = (new_secret("jp_"), new_secret("jp_"));
        assert_ne!(a, b);
        assert!(a.starts_with("jp_") && a.len() == 67);
        assert_eq!(hash_secret(&a), hash_secret(&a));
        assert_ne!(hash_secret(&a), hash_secret(&b));
    }

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let hash = hash_password("correct horse");
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    #[test]
    fn csrf_tokens_are_tied_to_the_session() {
        assert_eq!(csrf_token("a"), csrf_token("a"));
        assert_ne!(csrf_token("a"), csrf_token("b"));
        assert_ne!(csrf_token("a"), hash_secret("a"));
    }

    #[test]
    fn query_token_is_found_among_other_parameters() {
        let (parts, _) = http::Request::builder()
            .uri("/api/ws?after_seq=3&token=jp_abc")
            .body(())
            .unwrap()
            .into_parts();
        assert_eq!(query_token(&parts).as_deref(), Some("jp_abc"));
    }
}
