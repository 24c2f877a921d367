//! Wablas, a WhatsApp gateway driving a linked WhatsApp device: `POST {base_url}/api/send-message`
//! form-encoded (`phone`, `message`) with `Authorization: {token}.{secret_key}`, the queued
//! message's id kept as the provider message id. Wablas refuses in words (`{"status": false,
//! "message": …}`), not codes, so the words are recognised: a disconnected or expired device, a
//! used-up quota, a limit and a refused token are waited out (the job stops as "provider down" if
//! they last, with items still pending); a number that is not valid or not on WhatsApp fails that
//! item only.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::header::AUTHORIZATION;
use serde_json::Value;

use super::{MessagingProvider, OutgoingMessage, Receipt, Reported, SendError};
use crate::protocol::fault::{Gateway, SendFault, wablas_code};
use crate::protocol::senders::SenderHealth;
use crate::server::adapters::http_retry::{is_transient, retry_after};

/// Conditions worth waiting out: the device or account needs an admin, or time, not a new number.
const WAIT_OUT: &[i64] = &[
    wablas_code::DEVICE_DISCONNECTED,
    wablas_code::QUOTA_USED_UP,
    wablas_code::RATE_LIMITED,
    wablas_code::TOKEN_REFUSED,
    wablas_code::DEVICE_EXPIRED,
];

/// Sends through one Wablas device.
pub struct Wablas {
    client: reqwest::Client,
    endpoint: String,
    /// `GET {base_url}/api/device/info?token={token}`: the device's connection and quota.
    device_info: String,
    token: String,
    authorization: String,
}

impl Wablas {
    /// A sender for the device of `token` on its Wablas server `base_url` (such as
    /// `https://solo.wablas.com`: each account lives on one, so there is no default), each
    /// request bounded by `timeout`.
    pub fn new(base_url: &str, token: &str, secret_key: &str, timeout: Duration) -> Self {
        let client = super::client(timeout);
        let (token, secret_key) = (token.trim(), secret_key.trim());
        let base = base_url.trim().trim_end_matches('/');
        Wablas {
            client,
            endpoint: format!("{base}/api/send-message"),
            device_info: format!("{base}/api/device/info"),
            token: token.to_owned(),
            // Devices set up before Wablas introduced secret keys authenticate with the token alone.
            authorization: if secret_key.is_empty() {
                token.to_owned()
            } else {
                format!("{token}.{secret_key}")
            },
        }
    }
}

/// The condition Wablas's words name, as a `wablas_code`.
fn recognise(said: &str) -> i64 {
    let said = said.to_lowercase();
    let names = |words: &[&str]| words.iter().any(|word| said.contains(word));
    // Order matters: "token expired" is about the token, "invalid token" is not about a number.
    if names(&["token", "secret", "unauthori", "api key"]) {
        wablas_code::TOKEN_REFUSED
    } else if names(&["disconnect", "not connected"]) {
        wablas_code::DEVICE_DISCONNECTED
    } else if names(&["expired"]) {
        wablas_code::DEVICE_EXPIRED
    } else if names(&["quota"]) {
        wablas_code::QUOTA_USED_UP
    } else if names(&["limit", "too many"]) {
        wablas_code::RATE_LIMITED
    } else if names(&["not registered", "not on whatsapp", "not a whatsapp"]) {
        wablas_code::NOT_ON_WHATSAPP
    } else if names(&["invalid", "not valid"]) && names(&["phone", "number"]) {
        wablas_code::INVALID_PHONE
    } else {
        wablas_code::UNRECOGNISED
    }
}

/// The first queued message's id. With several devices (`random`), `data` is a list with one
/// entry per device, and the docs spell the inner key `messages` or `message`, a list or one.
fn message_id(data: &Value) -> Option<String> {
    let device = match data {
        Value::Array(devices) => devices.first()?,
        device => device,
    };
    let sent = device.get("messages").or_else(|| device.get("message"))?;
    let first = match sent {
        Value::Array(messages) => messages.first()?,
        message => message,
    };
    match first.get("id")? {
        Value::String(id) if !id.is_empty() => Some(id.clone()),
        Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

/// A number Wablas gives as a number or as digits in a string.
fn count(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// What a device-info answer says of the device: connected with quota left is `ok`; anything
/// else keeps it from sending.
fn device_health(answer: &Value) -> Option<Reported> {
    let fault = |code, said: String| SendFault::GatewayCode {
        gateway: Gateway::Wablas,
        error_code: code,
        said,
    };
    if answer.get("status") == Some(&Value::Bool(true)) {
        let data = answer.get("data")?;
        let state = data
            .get("status")
            .or_else(|| data.get("device_status"))
            .and_then(Value::as_str)?
            .trim();
        if !state.eq_ignore_ascii_case("connected") && !state.eq_ignore_ascii_case("connect") {
            return Some(Reported::not_ok(
                SenderHealth::Down,
                fault(wablas_code::DEVICE_DISCONNECTED, format!("device {state}")),
            ));
        }
        if data.get("quota").and_then(count) == Some(0) {
            return Some(Reported::not_ok(
                SenderHealth::Down,
                fault(wablas_code::QUOTA_USED_UP, "quota 0".into()),
            ));
        }
        return Some(Reported::ok());
    }
    let said = answer.get("message").and_then(Value::as_str)?.trim();
    match recognise(said) {
        code @ (wablas_code::TOKEN_REFUSED
        | wablas_code::DEVICE_DISCONNECTED
        | wablas_code::DEVICE_EXPIRED
        | wablas_code::QUOTA_USED_UP) => Some(Reported::not_ok(
            SenderHealth::Down,
            fault(code, said.to_owned()),
        )),
        // Words about something else tell nothing about the device.
        _ => None,
    }
}

#[async_trait]
impl MessagingProvider for Wablas {
    fn name(&self) -> &'static str {
        "wablas"
    }

    /// Wablas has no idempotency key: a message in flight at a crash may have gone out.
    fn deduplicates(&self) -> bool {
        false
    }

    async fn check_health(&self) -> Option<Reported> {
        let response = self
            .client
            .get(&self.device_info)
            .query(&[("token", self.token.as_str())])
            .header(AUTHORIZATION, &self.authorization)
            .send()
            .await
            .inspect_err(|error| tracing::debug!(%error, "Wablas device info went unanswered"))
            .ok()?;
        let answer: Value = response.json().await.ok()?;
        device_health(&answer)
    }

    async fn send(&self, message: &OutgoingMessage<'_>) -> Result<Receipt, SendError> {
        // Wablas takes the number in international form as digits only (6281234567890).
        let phone: String = message.to.chars().filter(char::is_ascii_digit).collect();
        let response = self
            .client
            .post(&self.endpoint)
            .header(AUTHORIZATION, &self.authorization)
            .form(&[("phone", phone.as_str()), ("message", message.message)])
            .send()
            .await
            .map_err(|e| super::unanswered("Wablas", e))?;
        let status = response.status();
        let wait = retry_after(response.headers());
        let answer: Value = response.json().await.unwrap_or_default();
        if status.is_success() && answer.get("status") == Some(&Value::Bool(true)) {
            let provider_message_id = answer.get("data").and_then(message_id);
            if provider_message_id.is_none() {
                // Wablas queued it: sending again would deliver it twice. Only receipts are lost.
                tracing::warn!(answer = %answer, "Wablas accepted a message without its id");
            }
            return Ok(Receipt {
                provider_message_id,
            });
        }
        let said = answer
            .get("message")
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or_default();
        if said.is_empty() {
            let fault = SendFault::ProviderStatus {
                status: status.as_u16(),
            };
            // A 2xx that is not Wablas's answer (a portal page, a cut-off body) vouches for nothing.
            return if status.is_success() || is_transient(status) {
                Err(SendError::Transient {
                    fault,
                    retry_after: wait,
                })
            } else {
                Err(SendError::Permanent { fault })
            };
        }
        let code = recognise(said);
        let fault = SendFault::GatewayCode {
            gateway: Gateway::Wablas,
            error_code: code,
            said: said.to_owned(),
        };
        let transient =
            WAIT_OUT.contains(&code) || (code == wablas_code::UNRECOGNISED && is_transient(status));
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn words_name_their_condition() {
        for (said, code) in [
            ("token invalid", wablas_code::TOKEN_REFUSED),
            ("secret key invalid", wablas_code::TOKEN_REFUSED),
            ("Token expired", wablas_code::TOKEN_REFUSED),
            ("device disconnected", wablas_code::DEVICE_DISCONNECTED),
            ("Device not connected", wablas_code::DEVICE_DISCONNECTED),
            ("device expired", wablas_code::DEVICE_EXPIRED),
            ("quota is not enough", wablas_code::QUOTA_USED_UP),
            ("Rate overlimit", wablas_code::RATE_LIMITED),
            (
                "phone number not registered on whatsapp",
                wablas_code::NOT_ON_WHATSAPP,
            ),
            ("invalid phone number", wablas_code::INVALID_PHONE),
            ("Phone number is not valid", wablas_code::INVALID_PHONE),
            ("invalid request body", wablas_code::UNRECOGNISED),
            ("server busy", wablas_code::UNRECOGNISED),
        ] {
            assert_eq!(recognise(said), code, "{said}");
        }
    }

    #[test]
    fn the_id_is_found_in_every_documented_shape() {
        let single = json!({"messages": [{"id": "a", "status": "pending"}]});
        let one_device = json!({"device_id": "A5DOYJ", "quota": 97, "message": [{"id": "b"}]});
        let random = json!([{"device_id": "A5DOYJ", "messages": {"id": "c"}}]);
        assert_eq!(message_id(&single).as_deref(), Some("a"));
        assert_eq!(message_id(&one_device).as_deref(), Some("b"));
        assert_eq!(message_id(&random).as_deref(), Some("c"));
        assert_eq!(message_id(&json!({"messages": []})), None);
        assert_eq!(message_id(&json!({"messages": [{"id": ""}]})), None);
    }
}
