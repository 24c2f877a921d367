//! Where scraping campaigns find results: one trait, three sources (`http`, `apify`, and the
//! built-in demo site read through `http`).
//!
//! The scrape runner (`engine/scrape.rs`) owns the stages, the target and the recording; a source
//! only reads. Each method maps to one stage, so the stage a person sees is the work being done.

pub mod apify;
mod charset;
mod fetch;
mod guard;
pub mod http;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::protocol::SourceSpec;
use crate::protocol::backoff::RetryPolicy;
pub use crate::protocol::failure::{ApifyStep, FetchFault, SourceFault, Target};
pub use crate::protocol::fault::{NextPage, SkipReason, SourceNote};
use crate::protocol::problem::SourceRule;
pub use crate::protocol::{FailedPage, FoundResult};
use crate::server::settings::ScrapeSettings;
pub use fetch::{Answer, NoAnswer, Pacer, human_duration, human_size};

/// What one step of a search produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    /// Results in the order the source listed them (duplicates allowed: the store keeps the first).
    pub results: Vec<FoundResult>,
    pub failed: Vec<FailedPage>,
    /// What was read, for the job's log: "Page 3 for “rustlang”: 20 results".
    pub note: Option<SourceNote>,
}

/// Why a source cannot go on at all; the job fails with it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.english())]
pub struct SourceError(pub SourceFault);

impl From<SourceRule> for SourceError {
    fn from(rule: SourceRule) -> SourceError {
        SourceError(SourceFault::Settings { rule })
    }
}

/// What every source shares: one HTTP client and the retry rules.
#[derive(Clone)]
pub struct SourceContext {
    /// Private to the sources, so every request goes through `send`, which keeps `reach`.
    client: reqwest::Client,
    reach: guard::Reach,
    /// For `for_demo_site`: a client that may read jobpulse itself, whatever `reach` says.
    demo_client: reqwest::Client,
    pub user_agent: String,
    /// Requests per page, counting the first.
    pub retry: RetryPolicy,
    pub request_timeout: Duration,
    pub apify_poll: Duration,
    /// The base URL of jobpulse itself (`http://127.0.0.1:3000`): where the demo site is.
    pub self_url: String,
}

impl SourceContext {
    /// A context from the `[scrape]` settings. Unless `allow_private_addresses` is set, its
    /// requests never reach a loopback, private or link-local address.
    pub fn new(settings: &ScrapeSettings, self_url: String) -> SourceContext {
        let request_timeout = Duration::from_millis(settings.request_timeout_ms.max(1));
        let builder = || {
            reqwest::Client::builder()
                .user_agent(settings.user_agent.clone())
                .timeout(request_timeout)
                .connect_timeout(request_timeout)
        };
        let (client, reach) = if settings.allow_private_addresses {
            (builder(), guard::Reach::Anywhere)
        } else {
            // A proxy would resolve and connect in our place, out of the guard's sight.
            let guarded = builder()
                .dns_resolver(Arc::new(guard::PublicResolver))
                .redirect(guard::redirect_policy())
                .no_proxy();
            (guarded, guard::Reach::Public)
        };
        // The demo site never redirects, and a redirect would leave the one origin it may read.
        let demo_client = builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        SourceContext {
            client: client.build().expect("the scraping HTTP client builds"),
            reach,
            demo_client: demo_client
                .build()
                .expect("the demo site's HTTP client builds"),
            user_agent: settings.user_agent.clone(),
            retry: RetryPolicy {
                max_attempts: settings.max_attempts.max(1),
                base_delay: Duration::from_millis(settings.retry_base_delay_ms),
                max_delay: Duration::from_secs(30),
            },
            request_timeout,
            apify_poll: Duration::from_millis(settings.apify_poll_ms.max(10)),
            self_url,
        }
    }

    /// This context for reading the built-in demo site: jobpulse itself and nothing else, so
    /// the demo works on a loopback address while searches may not read private ones.
    pub fn for_demo_site(&self) -> SourceContext {
        SourceContext {
            client: self.demo_client.clone(),
            reach: guard::Reach::Itself(reqwest::Url::parse(&self.self_url).ok()),
            ..self.clone()
        }
    }

    /// Refuses, before anything is sent, a `url` (named `what`) whose host is a forbidden IP
    /// literal, with the sentence the job fails with.
    fn refuse_literal(&self, url: &reqwest::Url, what: Target) -> Result<(), SourceError> {
        self.reach
            .check(url, what)
            .map_err(|guard::Refused(blocked)| SourceError(SourceFault::Blocked { blocked }))
    }
}

/// One campaign job's reading of its source, stage by stage.
#[async_trait]
pub trait Source: Send {
    /// Stage `initializing`: checks that the source can be used at all (robots.txt allows the
    /// search, the actor exists and the token is accepted). Returns a note for the log.
    async fn prepare(&mut self) -> Result<SourceNote, SourceError>;
    /// Stage `fetching`: starts the search (reads the first page; starts the actor run).
    async fn start(&mut self) -> Result<SourceNote, SourceError>;
    /// Stage `analyzing`: makes sense of what the start produced (the first page's results;
    /// waits for the actor run to finish).
    async fn analyze(&mut self) -> Result<SourceNote, SourceError>;
    /// Stage `searching`: the next batch of results; `None` once the source is exhausted.
    /// The runner stops calling it once the target is reached.
    async fn next_batch(&mut self) -> Result<Option<Batch>, SourceError>;
    /// Called when the job is cancelled, paused or loses its lease mid-search, so work that is
    /// paid for at the source (an actor run) stops too. Best effort: it never fails the job.
    async fn abort(&mut self) {}
}

/// Opens the source a campaign names, for its keywords and target.
pub fn open(
    spec: &SourceSpec,
    keywords: &[String],
    target: u32,
    context: &SourceContext,
) -> Box<dyn Source> {
    match spec {
        SourceSpec::Sandbox => Box::new(http::HttpSource::new(
            crate::server::demo_site::source_spec(&context.self_url),
            keywords.to_vec(),
            context.for_demo_site(),
        )),
        SourceSpec::Http(spec) => Box::new(http::HttpSource::new(
            spec.clone(),
            keywords.to_vec(),
            context.clone(),
        )),
        SourceSpec::Apify(spec) => Box::new(apify::ApifySource::new(
            spec.clone(),
            keywords.to_vec(),
            target,
            context.clone(),
        )),
    }
}

/// Checks a source's settings before a campaign is created: a sentence a person can act on.
/// With `settings.allow_private_addresses` off, a source that names a private address (an IP
/// literal, or `localhost`) is refused here already; other names are judged when resolved.
pub fn validate_with(spec: &SourceSpec, settings: &ScrapeSettings) -> Result<(), SourceRule> {
    problems(spec, settings)
        .into_iter()
        .next()
        .map_or(Ok(()), Err)
}

/// Every rule the source's settings break, in the form's order.
pub fn problems(spec: &SourceSpec, settings: &ScrapeSettings) -> Vec<SourceRule> {
    let allow = settings.allow_private_addresses;
    match spec {
        SourceSpec::Sandbox => Vec::new(),
        SourceSpec::Http(spec) => http::problems(spec, allow),
        SourceSpec::Apify(spec) => apify::problems(spec, allow),
    }
}

/// `validate_with` as if private addresses were allowed: the settings' shape only.
pub fn validate(spec: &SourceSpec) -> Result<(), SourceRule> {
    validate_with(
        spec,
        &ScrapeSettings {
            allow_private_addresses: true,
            ..ScrapeSettings::default()
        },
    )
}

/// `builder` made to reach public addresses only: names resolving to loopback, private or
/// link-local addresses fail to connect (outgoing webhooks use it, as searches do).
pub(crate) fn public_only(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    // A proxy would resolve and connect in our place, out of the guard's sight.
    builder
        .dns_resolver(Arc::new(guard::PublicResolver))
        .no_proxy()
}

/// True if `error` is `public_only`'s refusal to connect to the server's own network.
pub(crate) fn is_blocked(error: &reqwest::Error) -> bool {
    guard::refusal(error).is_some()
}

/// True if `url` names the server's own network by address or as `localhost`, before resolving
/// (senders' addresses are checked with it when they are set).
pub(crate) fn names_private_host(url: &reqwest::Url) -> bool {
    guard::forbidden_host(url).is_some()
}
