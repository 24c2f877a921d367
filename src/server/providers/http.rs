//! CONTRACT.md's generic HTTP messaging provider: one POST per message, keyed for de-duplication.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderMap, RETRY_AFTER};
use serde::{Deserialize, Serialize};

use super::{MessagingProvider, OutgoingMessage, Receipt, SendError};
use crate::protocol::JobId;

/// Posts each message as JSON to a configured URL.
pub struct HttpProvider {
    client: reqwest::Client,
    url: String,
    token: String,
    deduplicates: bool,
}

#[derive(Serialize)]
struct Body<'a> {
    to: &'a str,
    message: &'a str,
    idempotency_key: &'a str,
    job_id: JobId,
    device_id: u32,
}

#[derive(Deserialize, Default)]
struct Answer {
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default)]
    error: Option<String>,
}

impl HttpProvider {
    /// A provider posting to `url` with a bearer `token`, each request bounded by `timeout`.
    pub fn new(url: &str, token: &str, timeout: Duration, deduplicates: bool) -> Self {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .pool_max_idle_per_host(64)
            .user_agent(concat!("jobpulse/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a client with only timeouts set always builds");
        HttpProvider {
            client,
            url: url.to_owned(),
            token: token.to_owned(),
            deduplicates,
        }
    }
}

/// Reads `Retry-After` as seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - Utc::now()).to_std().unwrap_or_default())
}

fn is_transient(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error()
}

#[async_trait]
impl MessagingProvider for HttpProvider {
    fn name(&self) -> &'static str {
        "http"
    }

    fn deduplicates(&self) -> bool {
        self.deduplicates
    }

    async fn send(&self, message: &OutgoingMessage<'_>) -> Result<Receipt, SendError> {
        let mut request = self
            .client
            .post(&self.url)
            .header("Idempotency-Key", message.idempotency_key)
            .json(&Body {
                to: message.to,
                message: message.message,
                idempotency_key: message.idempotency_key,
                job_id: message.job_id,
                device_id: message.device_id,
            });
        if !self.token.is_empty() {
            request = request.header(AUTHORIZATION, format!("Bearer {}", self.token));
        }
        let response = request.send().await.map_err(|e| SendError::Transient {
            reason: if e.is_timeout() {
                "provider timed out".to_owned()
            } else if e.is_connect() {
                "cannot connect to the provider".to_owned()
            } else {
                format!("provider request failed: {e}")
            },
            retry_after: None,
        })?;
        let status = response.status();
        let wait = retry_after(response.headers());
        // A body that is not JSON (or is cut short) still leaves the status to decide.
        let answer: Answer = response.json().await.unwrap_or_default();
        if status.is_success() {
            let provider_message_id = answer.id.map(|id| match id {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            });
            return Ok(Receipt {
                provider_message_id,
            });
        }
        let reason = answer.error.unwrap_or_else(|| {
            format!(
                "provider answered {} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            )
            .trim_end()
            .to_owned()
        });
        if is_transient(status) {
            Err(SendError::Transient {
                reason,
                retry_after: wait,
            })
        } else {
            Err(SendError::Permanent { reason })
        }
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
    fn only_408_429_and_5xx_are_transient() {
        for code in [408, 429, 500, 502, 503] {
            assert!(is_transient(StatusCode::from_u16(code).unwrap()), "{code}");
        }
        for code in [400, 401, 403, 404, 409, 422] {
            assert!(!is_transient(StatusCode::from_u16(code).unwrap()), "{code}");
        }
    }
}
