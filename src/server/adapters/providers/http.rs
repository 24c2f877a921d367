//! CONTRACT.md's generic HTTP messaging provider: one POST per message, keyed for de-duplication.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::AUTHORIZATION;
use serde::{Deserialize, Serialize};

use super::{MessagingProvider, OutgoingMessage, Receipt, SendError};
use crate::protocol::JobId;
use crate::protocol::fault::SendFault;
use crate::server::adapters::http_retry::{is_transient, retry_after};

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
        let client = super::client(timeout);
        HttpProvider {
            client,
            url: url.to_owned(),
            token: token.to_owned(),
            deduplicates,
        }
    }
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
        let response = request
            .send()
            .await
            .map_err(|e| super::unanswered("http", e))?;
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
        let fault = match answer.error {
            Some(text) => SendFault::ProviderSaid { text },
            None => SendFault::ProviderStatus {
                status: status.as_u16(),
            },
        };
        if is_transient(status) {
            Err(SendError::Transient {
                fault,
                retry_after: wait,
            })
        } else {
            Err(SendError::Permanent { fault })
        }
    }
}
