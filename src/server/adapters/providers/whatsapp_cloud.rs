//! Meta's WhatsApp Cloud API: `POST {base_url}/{phone_number_id}/messages` with a text message,
//! the `wamid` it answers kept as the provider message id. Its error codes decide: throughput,
//! pair-rate, spam-rate and account limits, temporary failures and a refused token are waited
//! out (the job stops as "provider down" if they last, with items still pending); a message
//! WhatsApp will not deliver fails that item only.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;
use serde_json::json;

use super::{MessagingProvider, OutgoingMessage, Receipt, Reported, SendError};
use crate::protocol::fault::{Gateway, SendFault};
use crate::protocol::senders::SenderHealth;
use crate::server::adapters::http_retry::{is_transient, retry_after};

/// The Graph API version jobpulse speaks, when the settings name no base URL.
pub const DEFAULT_BASE_URL: &str = "https://graph.facebook.com/v21.0";

/// Error codes worth waiting out: limits, WhatsApp's own hiccups, and a sender that is
/// misconfigured (a token or a number an admin can fix without losing the job).
const WAIT_OUT: &[i64] = &[
    1, 2, 4, 190, 368, 80007, 130429, 131000, 131016, 131048, 131056, 131057, 133010,
];

/// Sends through one WhatsApp Business phone number.
pub struct WhatsappCloud {
    client: reqwest::Client,
    endpoint: String,
    /// `GET {base_url}/{phone_number_id}`: the number's status and quality.
    number: String,
    access_token: String,
}

/// Number statuses in which it cannot send.
const DOWN_STATES: &[&str] = &["RESTRICTED", "BANNED", "DISCONNECTED", "DELETED", "OFFLINE"];

/// The fields of a phone number that say whether it can send.
#[derive(Deserialize, Default)]
struct NumberInfo {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    quality_rating: Option<String>,
    #[serde(default)]
    health_status: Option<HealthStatus>,
    #[serde(default)]
    error: Option<GraphError>,
}

/// Meta's own verdict on the number (`AVAILABLE`, `LIMITED` or `BLOCKED`).
#[derive(Deserialize, Default)]
struct HealthStatus {
    #[serde(default)]
    can_send_message: Option<String>,
}

/// What a number's status, quality and health say; `None` for an error that is not about
/// the sender (a hiccup tells nothing).
fn number_health(http: reqwest::StatusCode, info: NumberInfo) -> Option<Reported> {
    if let Some(error) = info.error {
        // A refused token or a number the token may not use keeps every message from going.
        let refused =
            super::refused_credentials(http) || matches!(error.code, 190 | 10 | 200 | 100);
        return refused.then(|| {
            Reported::not_ok(
                SenderHealth::Down,
                SendFault::GatewayCode {
                    gateway: Gateway::WhatsappCloud,
                    error_code: error.code,
                    said: error.message,
                },
            )
        });
    }
    if !http.is_success() {
        return None;
    }
    let upper = |value: Option<String>| value.map(|v| v.trim().to_ascii_uppercase());
    let status = upper(info.status);
    let quality = upper(info.quality_rating).filter(|q| !q.is_empty());
    let can_send = upper(info.health_status.and_then(|h| h.can_send_message));
    let state = |state: &str| SendFault::ProviderState {
        gateway: Gateway::WhatsappCloud,
        state: state.to_owned(),
        quality: quality.clone(),
    };
    if can_send.as_deref() == Some("BLOCKED") {
        return Some(Reported::not_ok(SenderHealth::Down, state("BLOCKED")));
    }
    if let Some(status) = status.as_deref().filter(|s| DOWN_STATES.contains(s)) {
        return Some(Reported::not_ok(SenderHealth::Down, state(status)));
    }
    if can_send.as_deref() == Some("LIMITED") {
        return Some(Reported::not_ok(SenderHealth::Degraded, state("LIMITED")));
    }
    match status.as_deref() {
        None | Some("CONNECTED") if quality.as_deref() == Some("RED") => Some(Reported::not_ok(
            SenderHealth::Degraded,
            state(status.as_deref().unwrap_or("CONNECTED")),
        )),
        None | Some("CONNECTED") => Some(Reported::ok()),
        // FLAGGED, RATE_LIMITED, PENDING and statuses Meta adds later: it sends, but not well.
        Some(other) => Some(Reported::not_ok(SenderHealth::Degraded, state(other))),
    }
}

#[derive(Deserialize, Default)]
struct Answer {
    #[serde(default)]
    messages: Vec<Sent>,
    #[serde(default)]
    error: Option<GraphError>,
}

#[derive(Deserialize)]
struct Sent {
    id: String,
}

#[derive(Deserialize)]
struct GraphError {
    code: i64,
    #[serde(default)]
    message: String,
    #[serde(default)]
    error_data: Option<ErrorData>,
}

#[derive(Deserialize)]
struct ErrorData {
    #[serde(default)]
    details: Option<String>,
}

impl WhatsappCloud {
    /// A sender for `phone_number_id` at `base_url` (the Graph API root with its version).
    pub fn new(
        base_url: &str,
        phone_number_id: &str,
        access_token: &str,
        timeout: Duration,
    ) -> Self {
        let base = match base_url.trim() {
            "" => DEFAULT_BASE_URL,
            base => base,
        };
        let client = super::client(timeout);
        let number = format!("{}/{}", base.trim_end_matches('/'), phone_number_id.trim());
        WhatsappCloud {
            client,
            endpoint: format!("{number}/messages"),
            number,
            access_token: access_token.to_owned(),
        }
    }
}

#[async_trait]
impl MessagingProvider for WhatsappCloud {
    fn name(&self) -> &'static str {
        "whatsapp_cloud"
    }

    /// The Cloud API has no idempotency key: a message in flight at a crash may have gone out.
    fn deduplicates(&self) -> bool {
        false
    }

    async fn check_health(&self) -> Option<Reported> {
        let response = self
            .client
            .get(&self.number)
            .query(&[("fields", "status,quality_rating,health_status")])
            .bearer_auth(&self.access_token)
            .send()
            .await
            .inspect_err(|error| tracing::debug!(%error, "Cloud API number status went unanswered"))
            .ok()?;
        let http = response.status();
        let info: NumberInfo = response.json().await.ok()?;
        number_health(http, info)
    }

    async fn send(&self, message: &OutgoingMessage<'_>) -> Result<Receipt, SendError> {
        // The API takes the number in international form without the leading `+`.
        let to = message.to.trim_start_matches('+');
        let response = self
            .client
            .post(&self.endpoint)
            .bearer_auth(&self.access_token)
            .json(&json!({
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": to,
                "type": "text",
                "text": { "preview_url": false, "body": message.message },
            }))
            .send()
            .await
            .map_err(|e| super::unanswered("WhatsApp Cloud API", e))?;
        let status = response.status();
        let wait = retry_after(response.headers());
        let answer: Answer = response.json().await.unwrap_or_default();
        if status.is_success()
            && let Some(sent) = answer.messages.into_iter().next()
        {
            return Ok(Receipt {
                provider_message_id: Some(sent.id),
            });
        }
        let Some(error) = answer.error else {
            let fault = SendFault::ProviderStatus {
                status: status.as_u16(),
            };
            // A 200 without a message id is not a send we can vouch for: try again.
            return if status.is_success() || is_transient(status) {
                Err(SendError::Transient {
                    fault,
                    retry_after: wait,
                })
            } else {
                Err(SendError::Permanent { fault })
            };
        };
        let said = match error.error_data.and_then(|d| d.details) {
            Some(details) if !details.is_empty() => details,
            _ => error.message,
        };
        let fault = SendFault::GatewayCode {
            gateway: Gateway::WhatsappCloud,
            error_code: error.code,
            said,
        };
        if WAIT_OUT.contains(&error.code) || is_transient(status) {
            Err(SendError::Transient {
                fault,
                retry_after: wait,
            })
        } else {
            Err(SendError::Permanent { fault })
        }
    }
}
