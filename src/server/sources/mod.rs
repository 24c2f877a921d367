//! Where scraping campaigns find results: one trait, three sources (`http`, `apify`, and the
//! built-in demo site read through `http`).
//!
//! The scrape runner (`engine/scrape.rs`) owns the stages, the target and the recording; a source
//! only reads. Each method maps to one stage, so the stage a person sees is the work being done.

pub mod apify;
mod fetch;
pub mod http;

use std::time::Duration;

use async_trait::async_trait;

use crate::protocol::SourceSpec;
use crate::server::engine::RetryPolicy;
use crate::server::settings::ScrapeSettings;
pub use crate::server::store::{FailedPage, FoundResult};
pub use fetch::{Answer, NoAnswer, Pacer, human_duration, human_size};

/// What one step of a search produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Batch {
    /// Results in the order the source listed them (duplicates allowed: the store keeps the first).
    pub results: Vec<FoundResult>,
    pub failed: Vec<FailedPage>,
    /// What was read, for the job's log: "Page 3 for “rustlang”: 20 results".
    pub note: Option<String>,
}

/// Why a source cannot go on at all; the job fails with this sentence.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SourceError(pub String);

/// What every source shares: one HTTP client and the retry rules.
#[derive(Clone)]
pub struct SourceContext {
    pub client: reqwest::Client,
    pub user_agent: String,
    /// Requests per page, counting the first.
    pub retry: RetryPolicy,
    pub request_timeout: Duration,
    pub apify_poll: Duration,
    /// The base URL of jobpulse itself (`http://127.0.0.1:3000`): where the demo site is.
    pub self_url: String,
}

impl SourceContext {
    /// A context from the `[scrape]` settings.
    pub fn new(settings: &ScrapeSettings, self_url: String) -> SourceContext {
        let request_timeout = Duration::from_millis(settings.request_timeout_ms.max(1));
        let client = reqwest::Client::builder()
            .user_agent(settings.user_agent.clone())
            .timeout(request_timeout)
            .connect_timeout(request_timeout)
            .build()
            .expect("the scraping HTTP client builds");
        SourceContext {
            client,
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
}

/// One campaign job's reading of its source, stage by stage.
#[async_trait]
pub trait Source: Send {
    /// Stage `initializing`: checks that the source can be used at all (robots.txt allows the
    /// search, the actor exists and the token is accepted). Returns a note for the log.
    async fn prepare(&mut self) -> Result<String, SourceError>;
    /// Stage `fetching`: starts the search (reads the first page; starts the actor run).
    async fn start(&mut self) -> Result<String, SourceError>;
    /// Stage `analyzing`: makes sense of what the start produced (the first page's results;
    /// waits for the actor run to finish).
    async fn analyze(&mut self) -> Result<String, SourceError>;
    /// Stage `searching`: the next batch of results; `None` once the source is exhausted.
    /// The runner stops calling it once the target is reached.
    async fn next_batch(&mut self) -> Result<Option<Batch>, SourceError>;
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
            context.clone(),
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
pub fn validate(spec: &SourceSpec) -> Result<(), String> {
    match spec {
        SourceSpec::Sandbox => Ok(()),
        SourceSpec::Http(spec) => http::validate(spec),
        SourceSpec::Apify(spec) => apify::validate(spec),
    }
}
