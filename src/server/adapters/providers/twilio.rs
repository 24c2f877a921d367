//! Twilio Programmable Messaging: `POST {base_url}/2010-04-01/Accounts/{sid}/Messages.json`,
//! form-encoded, with HTTP basic auth; SMS, or WhatsApp when the sender is a `whatsapp:` number.
//! The `SM…` sid it answers is kept as the provider message id. Its error codes decide: request
//! limits, a full queue and refused credentials are waited out (the job stops as "provider down"
//! if they last, with items still pending); a recipient Twilio will not reach fails that item only.

use std::time::Duration;

use async_trait::async_trait;
use serde::Deserialize;

use super::{MessagingProvider, OutgoingMessage, Receipt, Reported, SendError};
use crate::protocol::fault::{Gateway, SendFault};
use crate::protocol::senders::SenderHealth;
use crate::server::adapters::http_retry::{is_transient, retry_after};

/// Twilio's REST root, when the settings name no base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.twilio.com";

/// Codes worth waiting out: request and sender limits, and credentials an admin can fix without
/// losing the job.
const WAIT_OUT: &[i64] = &[20003, 20429, 30001, 63018];

/// Codes that fail the item whatever the HTTP status says: Twilio will not deliver this message
/// to this recipient, however often it is asked.
const REFUSED: &[i64] = &[
    21211, 21408, 21610, 21614, 30003, 30005, 30006, 30007, 63016,
];

/// Who a Twilio message is from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TwilioFrom {
    /// A Twilio number in E.164, or `whatsapp:+…` for a WhatsApp sender.
    Number(String),
    /// A Messaging Service sid (`MG…`): Twilio picks the number from its pool.
    MessagingService(String),
}

/// Sends through one Twilio account from one number or Messaging Service.
pub struct Twilio {
    client: reqwest::Client,
    endpoint: String,
    /// `GET {base_url}/2010-04-01/Accounts/{sid}.json`: the account's status.
    account: String,
    account_sid: String,
    auth_token: String,
    from: TwilioFrom,
    status_callback: Option<String>,
}

#[derive(Deserialize, Default)]
struct Answer {
    #[serde(default)]
    sid: Option<String>,
    /// Only error answers carry it (a message resource has `error_code` instead).
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    message: Option<String>,
}

/// An account resource, or Twilio's error answer.
#[derive(Deserialize, Default)]
struct AccountInfo {
    #[serde(default)]
    status: Option<serde_json::Value>,
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    message: Option<String>,
}

/// What the account's status says: `active` sends; `suspended` and `closed` do not.
fn account_health(http: reqwest::StatusCode, info: AccountInfo) -> Option<Reported> {
    if super::refused_credentials(http) {
        return Some(Reported::not_ok(
            SenderHealth::Down,
            SendFault::GatewayCode {
                gateway: Gateway::Twilio,
                error_code: info.code.unwrap_or(20003),
                said: info.message.unwrap_or_default(),
            },
        ));
    }
    if !http.is_success() {
        return None;
    }
    // Error answers carry a numeric `status`; an account's is a word.
    let status = info.status.as_ref()?.as_str()?.trim().to_ascii_lowercase();
    if status == "active" {
        return Some(Reported::ok());
    }
    Some(Reported::not_ok(
        SenderHealth::Down,
        SendFault::ProviderState {
            gateway: Gateway::Twilio,
            state: status,
            quality: None,
        },
    ))
}

impl Twilio {
    /// A sender for `account_sid` at `base_url` (Twilio's REST root), each request bounded by
    /// `timeout`; Twilio posts delivery updates to `status_callback` when it is set.
    pub fn new(
        base_url: &str,
        account_sid: &str,
        auth_token: &str,
        from: TwilioFrom,
        status_callback: Option<String>,
        timeout: Duration,
    ) -> Self {
        let base = match base_url.trim() {
            "" => DEFAULT_BASE_URL,
            base => base,
        };
        let account_sid = account_sid.trim();
        let client = super::client(timeout);
        let accounts = format!("{}/2010-04-01/Accounts", base.trim_end_matches('/'));
        Twilio {
            client,
            endpoint: format!("{accounts}/{account_sid}/Messages.json"),
            account: format!("{accounts}/{account_sid}.json"),
            account_sid: account_sid.to_owned(),
            auth_token: auth_token.to_owned(),
            from,
            status_callback: status_callback.filter(|url| !url.trim().is_empty()),
        }
    }

    /// The recipient as Twilio wants it: E.164, on the sender's channel.
    fn to(&self, recipient: &str) -> String {
        let e164 = format!("+{}", recipient.trim().trim_start_matches('+'));
        match &self.from {
            // Twilio routes by the address prefix: a WhatsApp sender needs a WhatsApp recipient.
            TwilioFrom::Number(from) if from.starts_with("whatsapp:") => format!("whatsapp:{e164}"),
            _ => e164,
        }
    }
}

#[async_trait]
impl MessagingProvider for Twilio {
    fn name(&self) -> &'static str {
        "twilio"
    }

    /// Messages.json takes no idempotency key: a message in flight at a crash may have gone out.
    fn deduplicates(&self) -> bool {
        false
    }

    async fn check_health(&self) -> Option<Reported> {
        let response = self
            .client
            .get(&self.account)
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .send()
            .await
            .inspect_err(|error| tracing::debug!(%error, "Twilio account status went unanswered"))
            .ok()?;
        let http = response.status();
        let info: AccountInfo = response.json().await.unwrap_or_default();
        account_health(http, info)
    }

    async fn send(&self, message: &OutgoingMessage<'_>) -> Result<Receipt, SendError> {
        let to = self.to(message.to);
        let mut form: Vec<(&str, &str)> = vec![("To", to.as_str())];
        match &self.from {
            TwilioFrom::Number(number) => form.push(("From", number.as_str())),
            TwilioFrom::MessagingService(sid) => form.push(("MessagingServiceSid", sid.as_str())),
        }
        form.push(("Body", message.message));
        if let Some(url) = &self.status_callback {
            form.push(("StatusCallback", url.as_str()));
        }
        let response = self
            .client
            .post(&self.endpoint)
            .basic_auth(&self.account_sid, Some(&self.auth_token))
            .form(&form)
            .send()
            .await
            .map_err(|e| super::unanswered("Twilio", e))?;
        let status = response.status();
        let wait = retry_after(response.headers());
        // A proxy's HTML error page is no answer from Twilio: the status alone decides.
        let answer: Answer = response.json().await.unwrap_or_default();
        if status.is_success()
            && let Some(sid) = answer.sid
        {
            return Ok(Receipt {
                provider_message_id: Some(sid),
            });
        }
        let Some(code) = answer.code else {
            let fault = SendFault::ProviderStatus {
                status: status.as_u16(),
            };
            // A 2xx without a sid is not a send we can vouch for: try again.
            return if status.is_success() || is_transient(status) {
                Err(SendError::Transient {
                    fault,
                    retry_after: wait,
                })
            } else {
                Err(SendError::Permanent { fault })
            };
        };
        let fault = SendFault::GatewayCode {
            gateway: Gateway::Twilio,
            error_code: code,
            said: answer.message.unwrap_or_default(),
        };
        let transient =
            WAIT_OUT.contains(&code) || (!REFUSED.contains(&code) && is_transient(status));
        if transient {
            Err(SendError::Transient {
                fault,
                retry_after: wait,
            })
        } else {
            Err(SendError::Permanent { fault })
        }
    }
}
