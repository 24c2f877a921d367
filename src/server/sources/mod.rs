//! Where scraping campaigns find results: one trait, three sources (`http`, `apify`, and the
//! built-in demo site read through `http`).
//!
//! The scrape runner (`engine/scrape.rs`) owns the stages, the target and the recording; a source
//! only reads. Each method maps to one stage, so the stage a person sees is the work being done.

pub mod apify;
pub mod http;

use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{RequestBuilder, StatusCode, Url};
use tokio::time::Instant;

use crate::protocol::SourceSpec;
use crate::server::engine::RetryPolicy;
use crate::server::settings::ScrapeSettings;
pub use crate::server::store::{FailedPage, FoundResult};

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

/// A `Retry-After` longer than this is not waited for: the page fails instead of stalling the job.
const LONGEST_RETRY_AFTER: Duration = Duration::from_secs(60);

/// What a site or an API finally answered; a transient status (408, 429, 5xx) only once its
/// retries ran out.
#[derive(Clone, Debug)]
pub struct Answer {
    /// Where the answer came from, after redirects: relative links resolve against it.
    pub url: Url,
    pub status: StatusCode,
    pub body: Vec<u8>,
    /// Requests made, counting the first.
    pub attempts: u32,
}

impl Answer {
    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The status for people: "HTTP 500 Internal Server Error after 3 attempts".
    pub fn describe(&self) -> String {
        let reason = self.status.canonical_reason().unwrap_or("");
        let status = format!("HTTP {} {reason}", self.status.as_u16());
        format!("{}{}", status.trim_end(), after_attempts(self.attempts))
    }
}

/// A request that got no usable answer after its retries, as a sentence:
/// "no answer within 10 s after 3 attempts".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NoAnswer(pub String);

/// Spaces the requests to one site: at least `interval` from the end of one request to the start
/// of the next, so a slow answer never shortens the pause the site asked for.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    last: Option<Instant>,
}

impl Pacer {
    /// A pacer that lets the first request go at once.
    pub fn new(interval: Duration) -> Pacer {
        Pacer {
            interval,
            last: None,
        }
    }

    /// The pause between two requests.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Changes the pause from the next request on.
    pub fn set_interval(&mut self, interval: Duration) {
        self.interval = interval;
    }

    /// Waits until the next request may start.
    pub async fn wait(&self) {
        if let Some(last) = self.last {
            tokio::time::sleep_until(last + self.interval).await;
        }
    }

    /// Notes that a request just ended.
    pub fn mark(&mut self) {
        self.last = Some(Instant::now());
    }
}

/// Why one attempt failed before an answer was read.
enum AttemptError {
    /// Worth another try: a timeout, a refused or dropped connection.
    Transient(String),
    /// Trying again would fail the same way.
    Permanent(String),
}

impl SourceContext {
    /// Sends the request `build` makes until it gets an answer that is not transient, or the
    /// retry policy says stop. 408, 429, 5xx, timeouts and connection errors are retried with
    /// backoff (honouring `Retry-After`); other answers come back at once, whatever their status.
    /// With a `pacer`, every attempt keeps the site's pause. Bodies longer than `max_body` bytes
    /// are refused, so a runaway page cannot exhaust memory.
    pub async fn send(
        &self,
        build: impl Fn() -> RequestBuilder + Send,
        mut pacer: Option<&mut Pacer>,
        max_body: usize,
    ) -> Result<Answer, NoAnswer> {
        let mut attempts = 0;
        loop {
            if let Some(pacer) = pacer.as_deref() {
                pacer.wait().await;
            }
            attempts += 1;
            let outcome = self.attempt(build(), max_body).await;
            if let Some(pacer) = pacer.as_deref_mut() {
                pacer.mark();
            }
            let retry_after = match outcome {
                Ok((answer, retry_after)) => {
                    let transient = is_transient(answer.status)
                        && retry_after.is_none_or(|wait| wait <= LONGEST_RETRY_AFTER);
                    if !transient || !self.retry.may_retry(attempts) {
                        return Ok(Answer { attempts, ..answer });
                    }
                    retry_after
                }
                Err(AttemptError::Transient(error)) => {
                    if !self.retry.may_retry(attempts) {
                        return Err(NoAnswer(format!("{error}{}", after_attempts(attempts))));
                    }
                    None
                }
                Err(AttemptError::Permanent(error)) => return Err(NoAnswer(error)),
            };
            let wait = self.retry.delay(attempts, retry_after, rand::random());
            tracing::debug!(attempts, ?wait, "retrying a source request");
            tokio::time::sleep(wait).await;
        }
    }

    async fn attempt(
        &self,
        request: RequestBuilder,
        max_body: usize,
    ) -> Result<(Answer, Option<Duration>), AttemptError> {
        let mut response = request.send().await.map_err(|e| self.attempt_error(&e))?;
        let url = response.url().clone();
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.attempt_error(&e))? {
            if body.len() + chunk.len() > max_body {
                return Err(AttemptError::Permanent(format!(
                    "the answer is larger than {}, more than jobpulse reads",
                    human_size(max_body)
                )));
            }
            body.extend_from_slice(&chunk);
        }
        let answer = Answer {
            url,
            status,
            body,
            attempts: 1,
        };
        Ok((answer, retry_after))
    }

    fn attempt_error(&self, error: &reqwest::Error) -> AttemptError {
        if error.is_timeout() {
            AttemptError::Transient(format!(
                "no answer within {}",
                human_duration(self.request_timeout)
            ))
        } else if error.is_redirect() {
            AttemptError::Permanent("too many redirects".into())
        } else if error.is_builder() {
            AttemptError::Permanent(format!(
                "the request could not be made: {}",
                root_cause(error)
            ))
        } else if error.is_connect() {
            let site = error
                .url()
                .and_then(|url| url.host_str())
                .unwrap_or("the site");
            AttemptError::Transient(format!(
                "could not connect to {site} ({})",
                root_cause(error)
            ))
        } else {
            AttemptError::Transient(format!("the connection failed ({})", root_cause(error)))
        }
    }
}

/// 408, 429 and 5xx: the server may well answer next time.
pub fn is_transient(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
}

/// `Retry-After` as seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (at.with_timezone(&chrono::Utc) - chrono::Utc::now())
            .to_std()
            .unwrap_or_default(),
    )
}

/// The innermost error: "Connection refused (os error 111)" rather than reqwest's wrapper.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

fn after_attempts(attempts: u32) -> String {
    if attempts > 1 {
        format!(" after {attempts} attempts")
    } else {
        String::new()
    }
}

/// "300 ms", "10 s", "1.5 s".
pub fn human_duration(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

/// "812 B", "14 KB", "2 MB".
pub fn human_size(bytes: usize) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1024 * 1024 {
        format!("{} KB", bytes.div_ceil(1024))
    } else {
        format!("{} MB", bytes.div_ceil(1024 * 1024))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2015 07:28:00 GMT"),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn sizes_and_durations_read_well() {
        assert_eq!(human_duration(Duration::from_millis(300)), "300 ms");
        assert_eq!(human_duration(Duration::from_secs(10)), "10 s");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(human_size(812), "812 B");
        assert_eq!(human_size(14 * 1024), "14 KB");
        assert_eq!(human_size(5 * 1024 * 1024), "5 MB");
    }

    #[test]
    fn answers_describe_their_status_and_attempts() {
        let answer = Answer {
            url: Url::parse("http://example.com/").unwrap(),
            status: StatusCode::INTERNAL_SERVER_ERROR,
            body: Vec::new(),
            attempts: 3,
        };
        assert_eq!(
            answer.describe(),
            "HTTP 500 Internal Server Error after 3 attempts"
        );
        let answer = Answer {
            status: StatusCode::NOT_FOUND,
            attempts: 1,
            ..answer
        };
        assert_eq!(answer.describe(), "HTTP 404 Not Found");
    }
}
