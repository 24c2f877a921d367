//! Server functions: what the pages call. Thin: they authenticate and call the same code as REST.

use leptos::server_fn::Bytes;
use serde::{Deserialize, Serialize};

use crate::protocol::{JobId, JobView, ServerMsg};

mod admin;
mod campaign_form;
mod campaigns;
mod hooks;
mod inbox;
mod jobs;
mod senders;
mod session;

pub use admin::*;
pub use campaign_form::*;
pub use campaigns::*;
pub use hooks::*;
pub use inbox::*;
pub use jobs::*;
pub use senders::*;
pub use session::*;

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

/// What the job page renders with: the job at `job.last_seq` and its latest log lines.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobPageData {
    pub job: JobView,
    pub log: Vec<ServerMsg>,
    /// The senders a bulk send spreads over, in device order, with their health.
    #[serde(default)]
    pub senders: Vec<crate::protocol::senders::SenderHealthView>,
}

/// One recipient line the form has to fix.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineError {
    pub line: usize,
    pub entry: String,
    pub issue: crate::protocol::problem::PhoneIssue,
}

/// What the bulk send form's recipients hold, checked as a send would check them; the lists
/// are entry indexes (as `recipients::split` numbers them, from 0).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecipientCheck {
    pub entries: u64,
    pub valid: u64,
    /// Not phone numbers (or not valid where they say they are).
    pub invalid: Vec<u32>,
    /// The same number as an earlier entry.
    pub duplicates: Vec<u32>,
    /// On the tenant's opt-out list.
    pub opted_out: Vec<u32>,
    /// More entries than one send takes: nothing was checked.
    pub too_many: bool,
}

/// What happened to a "start bulk send" submission.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum StartOutcome {
    Created {
        job_id: JobId,
    },
    Rejected {
        /// Every rule the form breaks, each shown under its field.
        rules: Vec<crate::protocol::problem::BulkRule>,
        /// Recipients that are not valid numbers, by line.
        lines: Vec<LineError>,
    },
}

/// The session's CSRF token: computed on the server, read back from the page in the browser.
pub fn csrf_token() -> Option<String> {
    #[cfg(feature = "ssr")]
    {
        leptos::prelude::use_context::<http::request::Parts>()
            .as_ref()
            .and_then(crate::server::http::guard::page_csrf_token)
    }
    #[cfg(not(feature = "ssr"))]
    {
        leptos::prelude::document()
            .query_selector("meta[name=csrf-token]")
            .ok()
            .flatten()
            .and_then(|meta| meta.get_attribute("content"))
            .filter(|token| !token.is_empty())
    }
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
        if let Some(token) = csrf_token() {
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

#[cfg(feature = "ssr")]
mod server {
    use leptos::prelude::*;

    use crate::protocol::problem::{Problem, Thing};

    use crate::server::AppState;
    use crate::server::http::auth::{self, Authenticated, Principal};
    use crate::server::http::error::AppError;

    pub fn state() -> Result<AppState, Problem> {
        use_context::<AppState>().ok_or_else(|| Problem::Other {
            detail: "server state is missing".into(),
        })
    }

    /// An error answer for a page: the status and sentence the REST API would give.
    pub fn fail(error: impl Into<AppError>) -> Problem {
        let error = error.into();
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(error.status());
            if let Some(seconds) = error.retry_after() {
                response.insert_header(http::header::RETRY_AFTER, http::HeaderValue::from(seconds));
            }
        }
        if let AppError::Store(store_error) = &error {
            tracing::error!(error = %store_error, "store error answered to a page");
        }
        error.problem()
    }

    /// The answer for something of the tenant's that does not exist: a 404.
    pub fn not_found(thing: Thing) -> Problem {
        fail(AppError::NotFound(thing))
    }

    /// The caller, if logged in (or holding an API token).
    pub async fn caller() -> Result<(AppState, Option<Principal>), Problem> {
        let state = state()?;
        let parts = use_context::<http::request::Parts>().ok_or_else(|| Problem::Other {
            detail: "request is missing".into(),
        })?;
        // The guard has looked the caller up already for state-changing calls.
        if let Some(Authenticated(known)) = parts.extensions.get::<Authenticated>() {
            return Ok((state, known.clone()));
        }
        match auth::authenticate(state.store.as_ref(), &parts, false).await {
            Ok(principal) => Ok((state, principal)),
            Err(error) => Err(fail(error)),
        }
    }

    /// The caller, who must be logged in: otherwise a 401 with a message the page understands.
    pub async fn principal() -> Result<(AppState, Principal), Problem> {
        match caller().await? {
            (state, Some(principal)) => Ok((state, principal)),
            (_, None) => {
                if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                    response.set_status(http::StatusCode::UNAUTHORIZED);
                }
                Err(Problem::SessionEnded)
            }
        }
    }

    /// The caller, who must be allowed to start and change work.
    pub async fn operator() -> Result<(AppState, Principal), Problem> {
        let (state, principal) = principal().await?;
        principal.require_operator().map_err(fail)?;
        Ok((state, principal))
    }

    /// The caller, who must be an admin of their tenant.
    pub async fn admin() -> Result<(AppState, Principal), Problem> {
        let (state, principal) = principal().await?;
        principal.require_admin().map_err(fail)?;
        Ok((state, principal))
    }

    /// A store failure, as the page shows it (never the database's own words).
    pub fn store_error(error: crate::server::store::StoreError) -> Problem {
        fail(error)
    }

    /// True for a plain form post (no JavaScript): it gets a real redirect; the hydrated page
    /// does a full load itself.
    pub fn plain_form_post(parts: Option<&http::request::Parts>) -> bool {
        parts
            .and_then(|p| p.headers.get(http::header::ACCEPT))
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"))
    }

    /// Where `next` leads on this site (the dashboard if it leaves it).
    pub fn local_path(next: Option<String>) -> String {
        next.as_deref()
            .and_then(crate::app::navigation::same_site_path)
            .unwrap_or_else(|| "/".to_owned())
    }
}
