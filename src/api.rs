//! Server functions: what the pages call. Thin: they authenticate and call the same code as REST.

use leptos::prelude::*;
use leptos::server_fn::Bytes;
use serde::{Deserialize, Serialize};

use crate::protocol::{ItemStatus, ItemsPage, JobId, JobView, ServerMsg};

/// Lines of a job's log the page shows on first render.
pub const INITIAL_LOG_LINES: u32 = 200;

/// The logged-in user, as the header shows them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ViewerInfo {
    pub username: String,
    pub tenant: String,
    pub role: String,
    /// The messaging provider is the built-in sandbox (nothing is delivered).
    pub sandbox: bool,
}

/// What the job page renders with: the job at `job.last_seq` and its latest log lines.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobPageData {
    pub job: JobView,
    pub log: Vec<ServerMsg>,
}

/// One recipient line the form has to fix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineError {
    pub line: usize,
    pub entry: String,
    pub reason: String,
}

/// What happened to a "start bulk send" submission.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum StartOutcome {
    Created {
        job_id: JobId,
    },
    Rejected {
        /// A problem with the form as a whole.
        error: Option<String>,
        /// Recipients that are not valid numbers, by line.
        lines: Vec<LineError>,
    },
}

/// How pages call server functions: the browser's fetch, plus the page's CSRF token.
pub struct ApiClient;

impl<E, IS, OS> leptos::server_fn::client::Client<E, IS, OS> for ApiClient
where
    E: leptos::server_fn::error::FromServerFnError,
    IS: leptos::server_fn::error::FromServerFnError,
    OS: leptos::server_fn::error::FromServerFnError,
{
    type Request = leptos::server_fn::request::browser::BrowserRequest;
    type Response = leptos::server_fn::response::browser::BrowserResponse;

    fn send(request: Self::Request) -> impl Future<Output = Result<Self::Response, E>> + Send {
        if let Some(token) = crate::app::csrf_token() {
            request.headers().set("X-CSRF-Token", &token);
        }
        <Browser as leptos::server_fn::client::Client<E, IS, OS>>::send(request)
    }

    fn open_websocket(
        path: &str,
    ) -> impl Future<
        Output = Result<
            (
                impl futures::Stream<Item = Result<Bytes, Bytes>> + Send + 'static,
                impl futures::Sink<Bytes> + Send + 'static,
            ),
            E,
        >,
    > + Send {
        <Browser as leptos::server_fn::client::Client<E, IS, OS>>::open_websocket(path)
    }

    fn spawn(future: impl Future<Output = ()> + Send + 'static) {
        <Browser as leptos::server_fn::client::Client<E, IS, OS>>::spawn(future)
    }
}

type Browser = leptos::server_fn::client::browser::BrowserClient;

/// The text of an error that means "log in again".
pub const UNAUTHORISED: &str = "Your session has ended: log in again.";

#[cfg(feature = "ssr")]
mod server {
    use leptos::prelude::*;

    use crate::server::AppState;
    use crate::server::auth::{self, Principal};

    pub fn state() -> Result<AppState, ServerFnError> {
        use_context::<AppState>().ok_or_else(|| ServerFnError::new("server state is missing"))
    }

    /// The caller, if logged in (or holding an API token).
    pub async fn caller() -> Result<(AppState, Option<Principal>), ServerFnError> {
        let state = state()?;
        let parts = use_context::<http::request::Parts>()
            .ok_or_else(|| ServerFnError::new("request is missing"))?;
        match auth::authenticate(state.store.as_ref(), &parts, false).await {
            Ok(principal) => Ok((state, principal)),
            Err(error) => Err(ServerFnError::new(format!(
                "the database is not answering: {error}"
            ))),
        }
    }

    /// The caller, who must be logged in: otherwise a 401 with a message the page understands.
    pub async fn principal() -> Result<(AppState, Principal), ServerFnError> {
        match caller().await? {
            (state, Some(principal)) => Ok((state, principal)),
            (_, None) => {
                if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                    response.set_status(http::StatusCode::UNAUTHORIZED);
                }
                Err(ServerFnError::new(super::UNAUTHORISED))
            }
        }
    }

    /// The caller, who must be allowed to start and change work.
    pub async fn operator() -> Result<(AppState, Principal), ServerFnError> {
        let (state, principal) = principal().await?;
        principal.require_operator().map_err(forbidden)?;
        Ok((state, principal))
    }

    /// The caller, who must be an admin of their tenant.
    pub async fn admin() -> Result<(AppState, Principal), ServerFnError> {
        let (state, principal) = principal().await?;
        principal.require_admin().map_err(forbidden)?;
        Ok((state, principal))
    }

    fn forbidden(error: crate::server::auth::Forbidden) -> ServerFnError {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(http::StatusCode::FORBIDDEN);
        }
        ServerFnError::new(error.0)
    }

    /// A store failure, as the page shows it.
    pub fn store_error(error: crate::server::store::StoreError) -> ServerFnError {
        ServerFnError::new(format!("the database is not answering: {error}"))
    }

    /// True for a plain form post (no JavaScript): it gets a real redirect; the hydrated page
    /// does a full load itself.
    pub fn plain_form_post(parts: Option<&http::request::Parts>) -> bool {
        parts
            .and_then(|p| p.headers.get(http::header::ACCEPT))
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
    }

    /// Only local paths, so a crafted `next` cannot send people to another site.
    pub fn local_path(next: Option<String>) -> String {
        next.filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
            .unwrap_or_else(|| "/".to_owned())
    }
}

/// Who is logged in, if anyone.
#[server(endpoint = "viewer", client = ApiClient)]
pub async fn viewer() -> Result<Option<ViewerInfo>, ServerFnError> {
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
    username: String,
    password: String,
    next: Option<String>,
) -> Result<(), ServerFnError> {
    use crate::server::auth;
    let state = server::state()?;
    let parts = use_context::<http::request::Parts>();
    let address = parts
        .as_ref()
        .and_then(|p| {
            p.extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        })
        .map(|info| info.0.ip().to_string())
        .unwrap_or_default();
    let login = auth::login(
        state.store.as_ref(),
        &state.limits,
        &username,
        &password,
        &address,
    )
    .await;
    let cookie_value = login.map_err(|e| {
        if let (auth::LoginError::Limited(limited), Some(response)) =
            (&e, use_context::<leptos_axum::ResponseOptions>())
        {
            response.set_status(http::StatusCode::TOO_MANY_REQUESTS);
            response.insert_header(
                http::header::RETRY_AFTER,
                http::HeaderValue::from(limited.seconds()),
            );
        }
        ServerFnError::new(e.to_string())
    })?;
    let secure = parts.as_ref().is_some_and(auth::is_secure);
    let cookie = auth::session_cookie(cookie_value, secure);
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.insert_header(
            http::header::SET_COOKIE,
            http::HeaderValue::from_str(&cookie.to_string())
                .expect("cookies are valid header values"),
        );
    }
    if server::plain_form_post(parts.as_ref()) {
        leptos_axum::redirect(&server::local_path(next));
    }
    Ok(())
}

/// Ends the session and goes to the login page.
#[server(endpoint = "logout", client = ApiClient)]
pub async fn logout() -> Result<(), ServerFnError> {
    use crate::server::auth;
    let state = server::state()?;
    let parts = use_context::<http::request::Parts>();
    if let Some(value) = parts.as_ref().and_then(auth::session_cookie_value) {
        auth::logout(state.store.as_ref(), &value)
            .await
            .map_err(|e| ServerFnError::new(e.to_string()))?;
        // Its live connections close too.
        state
            .hub
            .revoke(auth::Credential::Session(auth::hash_secret(&value)));
    }
    let secure = parts.as_ref().is_some_and(auth::is_secure);
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

/// The tenant's newest jobs.
#[server(endpoint = "list_jobs", client = ApiClient)]
pub async fn list_jobs() -> Result<Vec<JobView>, ServerFnError> {
    use crate::server::store::JobFilter;
    let (state, principal) = server::principal().await?;
    let filter = JobFilter {
        limit: 50,
        ..JobFilter::default()
    };
    state
        .store
        .list_jobs(principal.tenant_id, &filter)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))
}

/// One job with its latest log lines; `None` if the tenant has no such job.
#[server(endpoint = "job_page", client = ApiClient)]
pub async fn job_page(id: String) -> Result<Option<JobPageData>, ServerFnError> {
    let (state, principal) = server::principal().await?;
    let Ok(job_id) = id.parse::<JobId>() else {
        return Ok(None);
    };
    let tenant = principal.tenant_id;
    let store_error = |e: crate::server::store::StoreError| ServerFnError::new(e.to_string());
    let Some(job) = state.store.job(tenant, job_id).await.map_err(store_error)? else {
        return Ok(None);
    };
    // Events up to the snapshot's seq only: the page subscribes after it, so nothing is shown twice.
    let events = state
        .store
        .events_before(tenant, job_id, job.last_seq + 1, INITIAL_LOG_LINES)
        .await
        .map_err(store_error)?
        .unwrap_or_default();
    let log = events.iter().filter_map(|e| e.msg().ok()).collect();
    Ok(Some(JobPageData { job, log }))
}

/// Validates the form and creates a bulk send; invalid recipients come back by line.
#[server(endpoint = "start_bulk_send", client = ApiClient)]
pub async fn start_bulk_send(
    message: String,
    recipients: String,
    devices_limit: String,
    idempotency_key: Option<String>,
) -> Result<StartOutcome, ServerFnError> {
    use crate::protocol::SendBulkRequest;
    use crate::server::jobs::{self, CreateError};

    let (state, principal) = server::operator().await?;
    let reject = |error: String| {
        Ok(StartOutcome::Rejected {
            error: Some(error),
            lines: Vec::new(),
        })
    };
    let Ok(devices_limit) = devices_limit.trim().parse::<u32>() else {
        return reject(format!(
            "Sender devices must be a whole number from 1 to {} (got “{}”).",
            jobs::MAX_DEVICES,
            devices_limit.trim()
        ));
    };
    let entries = crate::recipients::split(&recipients);
    let request = SendBulkRequest {
        message,
        phones: entries.iter().map(|e| e.text.clone()).collect(),
        devices_limit,
        idempotency_key: idempotency_key.filter(|k| !k.is_empty()),
        skip_invalid: false,
    };
    match jobs::create_bulk_send(&state, principal.tenant_id, request).await {
        Ok(created) => Ok(StartOutcome::Created {
            job_id: created.job().id,
        }),
        Err(CreateError::Invalid(detail)) => reject(detail),
        Err(CreateError::InvalidPhones { invalid, .. }) => Ok(StartOutcome::Rejected {
            error: None,
            lines: invalid
                .into_iter()
                .map(|bad| LineError {
                    line: entries.get(bad.index).map_or(0, |e| e.line),
                    entry: bad.phone,
                    reason: bad.reason,
                })
                .collect(),
        }),
        Err(CreateError::Store(error)) => Err(ServerFnError::new(error.to_string())),
    }
}

impl ViewerInfo {
    /// May start, cancel, pause and retry work.
    pub fn can_operate(&self) -> bool {
        self.role != "viewer"
    }

    /// May manage users and tokens.
    pub fn is_admin(&self) -> bool {
        self.role == "admin"
    }
}

/// What the settings page shows an admin.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TenantAdmin {
    pub tokens: Vec<crate::protocol::TokenView>,
    pub users: Vec<crate::protocol::UserView>,
}

/// The shortest password a new user may get.
pub const MIN_PASSWORD: usize = 10;

/// The tenant's API tokens and users (admins only).
#[server(endpoint = "tenant_admin", client = ApiClient)]
pub async fn load_tenant_admin() -> Result<TenantAdmin, ServerFnError> {
    let (state, principal) = server::admin().await?;
    let tenant = principal.tenant_id;
    Ok(TenantAdmin {
        tokens: state
            .store
            .list_tokens(tenant)
            .await
            .map_err(server::store_error)?,
        users: state
            .store
            .list_users(tenant)
            .await
            .map_err(server::store_error)?,
    })
}

/// Creates an API token; the secret is returned this once and stored only as a hash.
#[server(endpoint = "create_token", client = ApiClient)]
pub async fn create_token(name: String) -> Result<String, ServerFnError> {
    use crate::server::auth;
    let (state, principal) = server::admin().await?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ServerFnError::new(
            "Give the token a name of 1 to 100 characters, e.g. \"billing script\".",
        ));
    }
    let secret = auth::new_secret("jp_");
    state
        .store
        .create_api_token(principal.tenant_id, name, &auth::hash_secret(&secret))
        .await
        .map_err(server::store_error)?;
    Ok(secret)
}

/// Revokes an API token: it stops working at once, and its live connections close.
#[server(endpoint = "revoke_token", client = ApiClient)]
pub async fn revoke_token(id: String) -> Result<(), ServerFnError> {
    use crate::server::auth::Credential;
    let (state, principal) = server::admin().await?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ServerFnError::new("Token not found."))?;
    match state
        .store
        .revoke_token(principal.tenant_id, id)
        .await
        .map_err(server::store_error)?
    {
        Some(hash) => {
            state.hub.revoke(Credential::Token(hash));
            Ok(())
        }
        None => Err(ServerFnError::new("Token not found.")),
    }
}

/// Adds a user to the admin's tenant.
#[server(endpoint = "create_user", client = ApiClient)]
pub async fn create_user(
    username: String,
    password: String,
    role: String,
) -> Result<(), ServerFnError> {
    use crate::server::auth;
    use crate::server::store::{Role, StoreError};
    let (state, principal) = server::admin().await?;
    let username = username.trim().to_owned();
    if username.is_empty()
        || username.chars().count() > 64
        || username.contains(char::is_whitespace)
    {
        return Err(ServerFnError::new(
            "A username is 1 to 64 characters, without spaces.",
        ));
    }
    if password.chars().count() < MIN_PASSWORD {
        return Err(ServerFnError::new(format!(
            "The password needs at least {MIN_PASSWORD} characters."
        )));
    }
    let role = Role::parse(&role)
        .map_err(|_| ServerFnError::new("Pick a role: admin, operator or viewer."))?;
    let hash = tokio::task::spawn_blocking(move || auth::hash_password(&password))
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))?;
    match state
        .store
        .create_user(principal.tenant_id, &username, &hash, role)
        .await
    {
        Ok(_) => Ok(()),
        Err(StoreError::Conflict(_)) => Err(ServerFnError::new(format!(
            "The username \"{username}\" is taken."
        ))),
        Err(e) => Err(server::store_error(e)),
    }
}

/// Changes a user's role (it applies to their next request).
#[server(endpoint = "set_user_role", client = ApiClient)]
pub async fn set_user_role(id: String, role: String) -> Result<(), ServerFnError> {
    use crate::server::store::Role;
    let (state, principal) = server::admin().await?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ServerFnError::new("User not found."))?;
    let role = Role::parse(&role)
        .map_err(|_| ServerFnError::new("Pick a role: admin, operator or viewer."))?;
    if principal.session.as_ref().is_some_and(|s| s.user_id == id) && role != Role::Admin {
        return Err(ServerFnError::new(
            "You cannot take away your own admin role.",
        ));
    }
    if state
        .store
        .set_role(principal.tenant_id, id, role)
        .await
        .map_err(server::store_error)?
    {
        Ok(())
    } else {
        Err(ServerFnError::new("User not found."))
    }
}

/// Removes a user: their sessions end and their live connections close.
#[server(endpoint = "delete_user", client = ApiClient)]
pub async fn delete_user(id: String) -> Result<(), ServerFnError> {
    use crate::server::auth::Credential;
    let (state, principal) = server::admin().await?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ServerFnError::new("User not found."))?;
    if principal.session.as_ref().is_some_and(|s| s.user_id == id) {
        return Err(ServerFnError::new("You cannot remove yourself."));
    }
    match state
        .store
        .delete_user(principal.tenant_id, id)
        .await
        .map_err(server::store_error)?
    {
        Some(sessions) => {
            for hash in sessions {
                state.hub.revoke(Credential::Session(hash));
            }
            Ok(())
        }
        None => Err(ServerFnError::new("User not found.")),
    }
}

/// What the job page's buttons ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobCommand {
    Cancel,
    Pause,
    Resume,
    RetryFailed,
    /// Retry failed items and the unknown ones (that may have been delivered already).
    RetryFailedAndUnknown,
}

/// Cancels, pauses, resumes or retries a job; a refusal comes back as a sentence to show.
#[server(endpoint = "job_action", client = ApiClient)]
pub async fn job_action(id: String, command: JobCommand) -> Result<JobView, ServerFnError> {
    use crate::server::jobs::{self, ControlError};
    use crate::server::store::StopRequest;

    let (state, principal) = server::operator().await?;
    let job = id
        .parse::<JobId>()
        .map_err(|_| ServerFnError::new("Job not found."))?;
    let tenant = principal.tenant_id;
    let result = match command {
        JobCommand::Cancel => jobs::stop(&state, tenant, job, StopRequest::Cancel).await,
        JobCommand::Pause => jobs::stop(&state, tenant, job, StopRequest::Pause).await,
        JobCommand::Resume => jobs::resume(&state, tenant, job).await,
        JobCommand::RetryFailed => jobs::retry_failed(&state, tenant, job, false).await,
        JobCommand::RetryFailedAndUnknown => jobs::retry_failed(&state, tenant, job, true).await,
    };
    result.map_err(|e| match e {
        ControlError::Store(e) => ServerFnError::new(format!("the database is not answering: {e}")),
        other => ServerFnError::new(other.to_string()),
    })
}

/// One page of a job's recipients with a given status.
#[server(endpoint = "job_items", client = ApiClient)]
pub async fn job_items(
    id: String,
    status: ItemStatus,
    after: Option<u64>,
) -> Result<ItemsPage, ServerFnError> {
    const PAGE: u32 = 100;
    let (state, principal) = server::principal().await?;
    let job = id
        .parse::<JobId>()
        .map_err(|_| ServerFnError::new("Job not found."))?;
    let items = state
        .store
        .items(principal.tenant_id, job, Some(status), after, PAGE)
        .await
        .map_err(|e| ServerFnError::new(e.to_string()))?
        .ok_or_else(|| ServerFnError::new("Job not found."))?;
    let next_after = (items.len() as u32 == PAGE)
        .then(|| items.last().map(|i| i.index))
        .flatten();
    Ok(ItemsPage { items, next_after })
}

/// The instances sharing the database, for admins (`None` for everyone else).
#[server(endpoint = "list_instances", client = ApiClient)]
pub async fn list_instances() -> Result<Option<Vec<crate::protocol::InstanceView>>, ServerFnError> {
    let (state, principal) = server::principal().await?;
    if !principal.role().can_administer() {
        return Ok(None);
    }
    let instances = state
        .store
        .list_instances(principal.tenant_id)
        .await
        .map_err(server::store_error)?;
    Ok(Some(instances))
}
