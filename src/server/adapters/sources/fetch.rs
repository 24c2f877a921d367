//! The one way a source asks the web for something: retries with backoff, a polite pace per
//! site, a cap on what is read, and failures put as sentences a person can act on.

use std::time::Duration;

use reqwest::{RequestBuilder, StatusCode, Url};
use tokio::time::Instant;

use super::{SourceContext, SourceError, guard};
use crate::protocol::failure::{Blocked, FetchFault, SourceFault, Target};
pub use crate::protocol::fault::{human_duration, human_size};
use crate::server::adapters::http_retry::{is_transient, retry_after};

/// A `Retry-After` longer than this is not waited for: the page fails instead of stalling the job.
const LONGEST_RETRY_AFTER: Duration = Duration::from_secs(60);

/// What a site or an API finally answered; a transient status (408, 429, 5xx) only once its
/// retries ran out.
#[derive(Clone, Debug)]
pub struct Answer {
    /// Where the answer came from, after redirects: relative links resolve against it.
    pub url: Url,
    pub status: StatusCode,
    /// The `Content-Type` header, which may name the body's charset.
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    /// Requests made, counting the first.
    pub attempts: u32,
}

impl Answer {
    /// The body as text, in the encoding the page declares (as a browser reads it).
    pub fn text(&self) -> String {
        super::charset::decode(&self.body, self.content_type.as_deref())
    }

    /// The status as a fault: "HTTP 500 Internal Server Error after 3 attempts".
    pub fn fault(&self) -> FetchFault {
        FetchFault::Status {
            status: self.status.as_u16(),
            reason: self.status.canonical_reason().unwrap_or("").to_owned(),
            attempts: self.attempts,
        }
    }

    /// The status for people, in English.
    pub fn describe(&self) -> String {
        self.fault().english()
    }
}

/// A request that got no usable answer after its retries: "no answer within 10 s after 3
/// attempts".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.english())]
pub struct NoAnswer(pub FetchFault);

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
    Transient(FetchFault),
    /// Trying again would fail the same way.
    Permanent(FetchFault),
    /// The address may not be read at all: the source cannot go on.
    Refused(Blocked),
}

fn refused(blocked: Blocked) -> SourceError {
    SourceError(SourceFault::Blocked { blocked })
}

impl SourceContext {
    /// Sends the request `build` makes until it gets an answer that is not transient, or the
    /// retry policy says stop. 408, 429, 5xx, timeouts and connection errors are retried with
    /// backoff (honouring `Retry-After`); other answers come back at once, whatever their status.
    /// With a `pacer`, every attempt keeps the site's pause. Bodies longer than `max_body` bytes
    /// are refused, so a runaway page cannot exhaust memory.
    ///
    /// The outer error is a request to an address searches may not read (a private address,
    /// directly, by name or by redirect): the source cannot go on. The inner one is a request
    /// that got no answer: a page lost.
    pub async fn send(
        &self,
        build: impl Fn() -> RequestBuilder + Send,
        mut pacer: Option<&mut Pacer>,
        max_body: usize,
    ) -> Result<Result<Answer, NoAnswer>, SourceError> {
        let mut attempts = 0;
        loop {
            if let Some(pacer) = pacer.as_deref() {
                pacer.wait().await;
            }
            attempts += 1;
            let outcome = self.attempt(build(), max_body, self.request_timeout).await;
            if let Some(pacer) = pacer.as_deref_mut() {
                pacer.mark();
            }
            let retry_after = match outcome {
                Ok((answer, retry_after)) => {
                    let transient = is_transient(answer.status)
                        && retry_after.is_none_or(|wait| wait <= LONGEST_RETRY_AFTER);
                    if !transient || !self.retry.may_retry(attempts) {
                        return Ok(Ok(Answer { attempts, ..answer }));
                    }
                    retry_after
                }
                Err(AttemptError::Transient(error)) => {
                    if !self.retry.may_retry(attempts) {
                        return Ok(Err(NoAnswer(error.after(attempts))));
                    }
                    None
                }
                Err(AttemptError::Permanent(error)) => return Ok(Err(NoAnswer(error))),
                Err(AttemptError::Refused(blocked)) => return Err(refused(blocked)),
            };
            let wait = self.retry.delay(attempts, retry_after, rand::random());
            tracing::debug!(attempts, ?wait, "retrying a source request");
            tokio::time::sleep(wait).await;
        }
    }

    /// `send` with one attempt and at most `timeout`, for a request that is worth little
    /// once the job is over.
    pub async fn send_once(
        &self,
        request: RequestBuilder,
        max_body: usize,
        timeout: Duration,
    ) -> Result<Result<Answer, NoAnswer>, SourceError> {
        let timeout = timeout.min(self.request_timeout);
        match self
            .attempt(request.timeout(timeout), max_body, timeout)
            .await
        {
            Ok((answer, _)) => Ok(Ok(answer)),
            Err(AttemptError::Transient(error) | AttemptError::Permanent(error)) => {
                Ok(Err(NoAnswer(error)))
            }
            Err(AttemptError::Refused(blocked)) => Err(refused(blocked)),
        }
    }

    async fn attempt(
        &self,
        request: RequestBuilder,
        max_body: usize,
        timeout: Duration,
    ) -> Result<(Answer, Option<Duration>), AttemptError> {
        let failed = |error: reqwest::Error| attempt_error(&error, timeout);
        let (client, request) = request.build_split();
        let request = request.map_err(failed)?;
        // The resolver is not asked about IP literals; this is where they are judged.
        let target = Target::Url {
            url: request.url().to_string(),
        };
        self.reach
            .check(request.url(), target)
            .map_err(|guard::Refused(blocked)| AttemptError::Refused(blocked))?;
        let mut response = client.execute(request).await.map_err(failed)?;
        let url = response.url().clone();
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            if body.len() + chunk.len() > max_body {
                return Err(AttemptError::Permanent(FetchFault::TooLarge {
                    max_bytes: max_body as u64,
                }));
            }
            body.extend_from_slice(&chunk);
        }
        let answer = Answer {
            url,
            status,
            content_type,
            body,
            attempts: 1,
        };
        Ok((answer, retry_after))
    }
}

fn attempt_error(error: &reqwest::Error, timeout: Duration) -> AttemptError {
    if let Some(guard::Refused(blocked)) = guard::refusal(error) {
        AttemptError::Refused(blocked)
    } else if error.is_timeout() {
        AttemptError::Transient(FetchFault::Timeout {
            after_ms: timeout.as_millis() as u64,
            attempts: 1,
        })
    } else if error.is_redirect() {
        AttemptError::Permanent(FetchFault::TooManyRedirects)
    } else if error.is_builder() {
        AttemptError::Permanent(FetchFault::RequestNotMade {
            cause: root_cause(error),
        })
    } else if error.is_connect() {
        AttemptError::Transient(FetchFault::CouldNotConnect {
            site: error
                .url()
                .and_then(|url| url.host_str())
                .map(str::to_owned),
            cause: root_cause(error),
            attempts: 1,
        })
    } else {
        AttemptError::Transient(FetchFault::ConnectionFailed {
            cause: root_cause(error),
            attempts: 1,
        })
    }
}

/// The innermost error: "Connection refused (os error 111)" rather than reqwest's wrapper.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

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
            content_type: None,
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
