//! Providers' webhooks (CONTRACT.md "Delivery receipts and replies"): `/api/webhooks/{sender_id}`.
//! No token: the provider's own signature over the raw body authenticates the call, checked in
//! constant time; a missing or wrong one is `401` and changes nothing. The receipts are stored
//! before the answer and applied by a background task, so the provider is answered at once and
//! an acknowledged receipt survives a crash.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use uuid::Uuid;

use crate::protocol::Delivery;
use crate::protocol::senders::SenderProvider;
use crate::server::AppState;
use crate::server::services::senders::{WABLAS_WEBHOOK_SECRET, open_secrets};
use crate::server::store::{IncomingMessage, IncomingReceipt, SenderRecord};

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/webhooks/{sender_id}", get(verify).post(receive))
}

/// A sender that takes webhooks, with its secrets opened.
struct Hooked {
    record: SenderRecord,
    secrets: HashMap<String, String>,
}

/// The live sender `raw` names, or `None` (deleted, unknown, or its secrets do not open).
async fn hooked(state: &AppState, raw: &str) -> Option<Hooked> {
    let id: Uuid = raw.parse().ok()?;
    let record = state
        .store
        .senders_by_id(&[id])
        .await
        .ok()?
        .into_iter()
        .next()?;
    record.sealed_secrets.as_ref()?;
    let secrets = match open_secrets(&record, &state.vault) {
        Ok(secrets) => secrets,
        Err(error) => {
            tracing::error!(sender = %id, %error, "a sender's secrets do not open");
            return None;
        }
    };
    Some(Hooked { record, secrets })
}

fn secret<'a>(hooked: &'a Hooked, name: &str) -> &'a str {
    hooked.secrets.get(name).map_or("", String::as_str)
}

fn status(code: StatusCode) -> Response {
    code.into_response()
}

/// Meta's subscription check: `hub.challenge` back when `hub.verify_token` is the sender's.
async fn verify(
    State(state): State<AppState>,
    Path(sender): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(hooked) = hooked(&state, &sender).await else {
        return status(StatusCode::NOT_FOUND);
    };
    if hooked.record.provider != SenderProvider::WhatsappCloud {
        return status(StatusCode::NOT_FOUND);
    }
    let expected = secret(&hooked, "verify_token");
    let given = query.get("hub.verify_token").map_or("", String::as_str);
    let subscribing = query
        .get("hub.mode")
        .is_some_and(|mode| mode == "subscribe");
    if subscribing && !expected.is_empty() && constant_eq(expected.as_bytes(), given.as_bytes()) {
        query
            .get("hub.challenge")
            .cloned()
            .unwrap_or_default()
            .into_response()
    } else {
        status(StatusCode::FORBIDDEN)
    }
}

async fn receive(
    State(state): State<AppState>,
    Path(sender): Path<String>,
    OriginalUri(uri): OriginalUri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    use crate::server::metrics::webhook as count;
    let Some(hooked) = hooked(&state, &sender).await else {
        count("unknown", "unknown_sender", 1);
        return status(StatusCode::NOT_FOUND);
    };
    let provider = hooked.record.provider.as_str();
    let refused = |code: StatusCode, result: &'static str| {
        count(provider, result, 1);
        status(code)
    };
    let notification = match hooked.record.provider {
        SenderProvider::WhatsappCloud => {
            let signature = header(&headers, "x-hub-signature-256");
            if !cloud_signed(secret(&hooked, "app_secret"), &body, signature) {
                return refused(StatusCode::UNAUTHORIZED, "unauthorized");
            }
            cloud_notification(&body)
        }
        SenderProvider::Twilio => {
            // The URL Twilio called, as it saw it: the public address, this path and query.
            let url = format!(
                "{}{}",
                state.public_url(),
                uri.path_and_query().map_or("", |p| p.as_str())
            );
            let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
            let signature = header(&headers, "x-twilio-signature");
            if !twilio_signed(secret(&hooked, "auth_token"), &url, &form, signature) {
                return refused(StatusCode::UNAUTHORIZED, "unauthorized");
            }
            Some(twilio_notification(&form))
        }
        SenderProvider::Wablas => {
            let expected = secret(&hooked, WABLAS_WEBHOOK_SECRET);
            let given = query.get("secret").map_or("", String::as_str);
            if expected.is_empty() || !constant_eq(expected.as_bytes(), given.as_bytes()) {
                return refused(StatusCode::UNAUTHORIZED, "unauthorized");
            }
            wablas_notification(&body)
        }
        // The generic provider and the sandbox have no webhooks.
        SenderProvider::Http | SenderProvider::Sandbox => {
            return refused(StatusCode::NOT_FOUND, "unknown_sender");
        }
    };
    let Some(notification) = notification else {
        return refused(StatusCode::BAD_REQUEST, "unreadable");
    };
    let brought = notification.receipts.len() + notification.messages.len();
    match keep(&state, &hooked.record, notification).await {
        Ok(()) => {
            count(provider, "stored", brought);
            status(StatusCode::OK)
        }
        Err(error) => {
            tracing::warn!(%error, "could not keep a webhook's receipts or messages");
            // The provider retries what it could not deliver.
            refused(StatusCode::SERVICE_UNAVAILABLE, "unavailable")
        }
    }
}

/// What one webhook call reported.
#[derive(Debug, Default)]
struct Notification {
    receipts: Vec<IncomingReceipt>,
    messages: Vec<IncomingMessage>,
}

/// Stores a notification before the provider is answered: receipts for the background task,
/// messages in the inbox (published at once), opt-out words on the list.
async fn keep(
    state: &AppState,
    sender: &SenderRecord,
    notification: Notification,
) -> Result<(), crate::server::store::StoreError> {
    if !notification.receipts.is_empty() {
        // Committed (with other calls' receipts) before the answer; the writer wakes the applier.
        state
            .receipt_writer
            .record(sender.id, notification.receipts)
            .await?;
    }
    if notification.messages.is_empty() {
        return Ok(());
    }
    let stored = state
        .store
        .record_inbound(sender.tenant_id, sender.id, &notification.messages)
        .await?;
    for (message, reply) in stored {
        if let Some(event) = reply {
            state.hub.publish(crate::server::live::hub::EventBatch {
                job_id: event.job_id,
                tenant_id: sender.tenant_id,
                events: vec![event],
            });
        }
        if opt_out_word(&state.settings.senders.opt_out_words, &message.text)
            && state
                .store
                .add_opt_out(sender.tenant_id, &message.from, "reply")
                .await?
        {
            tracing::info!(sender = %sender.id, "a recipient opted out");
        }
        state.hub.publish_inbox(sender.tenant_id, message);
    }
    Ok(())
}

/// True for a reply whose whole text is one of `words`, in any case (a trailing `.` or `!` too).
fn opt_out_word(words: &[String], text: &str) -> bool {
    let said = text.trim().trim_end_matches(['.', '!']).trim();
    words
        .iter()
        .any(|word| word.trim().to_lowercase() == said.to_lowercase())
}

/// A writer's number as E.164: Twilio writes `whatsapp:+34…`, Meta `34…`.
fn e164(from: &str) -> Option<String> {
    let digits: String = from.chars().filter(char::is_ascii_digit).collect();
    (!digits.is_empty()).then(|| format!("+{digits}"))
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Compares without stopping at the first difference, so timing says nothing of the secret.
fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app_secret, raw body)>`.
pub fn cloud_signed(app_secret: &str, body: &[u8], signature: &str) -> bool {
    let Some(hex_digest) = signature.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_digest.trim()) else {
        return false;
    };
    if app_secret.is_empty() {
        return false;
    }
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(app_secret.as_bytes()).expect("any key length");
    mac.update(body);
    // `verify_slice` compares in constant time.
    mac.verify_slice(&expected).is_ok()
}

/// `X-Twilio-Signature`: Base64 HMAC-SHA1(auth_token, URL + each POST key and value, keys sorted).
pub fn twilio_signed(
    auth_token: &str,
    url: &str,
    form: &[(String, String)],
    signature: &str,
) -> bool {
    let Ok(expected) = base64::engine::general_purpose::STANDARD.decode(signature.trim()) else {
        return false;
    };
    if auth_token.is_empty() {
        return false;
    }
    let mut pairs: Vec<&(String, String)> = form.iter().collect();
    pairs.sort();
    let mut mac =
        Hmac::<sha1::Sha1>::new_from_slice(auth_token.as_bytes()).expect("any key length");
    mac.update(url.as_bytes());
    for (key, value) in pairs {
        mac.update(key.as_bytes());
        mac.update(value.as_bytes());
    }
    mac.verify_slice(&expected).is_ok()
}

#[derive(Deserialize)]
struct CloudHook {
    #[serde(default)]
    entry: Vec<CloudEntry>,
}

#[derive(Deserialize)]
struct CloudEntry {
    #[serde(default)]
    changes: Vec<CloudChange>,
}

#[derive(Deserialize)]
struct CloudChange {
    #[serde(default)]
    value: CloudValue,
}

#[derive(Deserialize, Default)]
struct CloudValue {
    #[serde(default)]
    statuses: Vec<CloudStatus>,
    #[serde(default)]
    messages: Vec<CloudInbound>,
}

#[derive(Deserialize)]
struct CloudStatus {
    id: String,
    status: String,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default)]
    errors: Vec<CloudError>,
}

#[derive(Deserialize)]
struct CloudError {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// An inbound message (`value.messages[]`): text, a quick-reply button, an interactive reply, or
/// media and the like, kept as their type.
#[derive(Deserialize)]
struct CloudInbound {
    from: String,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    text: Option<CloudText>,
    #[serde(default)]
    button: Option<CloudButton>,
    #[serde(default)]
    interactive: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct CloudText {
    body: String,
}

#[derive(Deserialize)]
struct CloudButton {
    text: String,
}

impl CloudInbound {
    /// What the writer said, in words where the message has words.
    fn words(&self) -> String {
        if let Some(text) = &self.text {
            return text.body.clone();
        }
        if let Some(button) = &self.button {
            return button.text.clone();
        }
        let chosen = self.interactive.as_ref().and_then(|i| {
            ["button_reply", "list_reply"]
                .iter()
                .find_map(|kind| i[kind]["title"].as_str())
        });
        match chosen {
            Some(title) => title.to_owned(),
            None => format!("[{}]", self.kind.as_deref().unwrap_or("message")),
        }
    }
}

/// A Unix time in seconds as the provider writes it, or now.
fn unix_time(seconds: Option<&str>) -> chrono::DateTime<chrono::Utc> {
    seconds
        .and_then(|t| t.parse::<i64>().ok())
        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
        .unwrap_or_else(chrono::Utc::now)
}

/// The receipts (`entry[].changes[].value.statuses[]`) and messages (`.messages[]`) of a Cloud
/// API notification; other fields are acknowledged and left. `None`: not a notification at all.
fn cloud_notification(body: &[u8]) -> Option<Notification> {
    let hook: CloudHook = serde_json::from_slice(body).ok()?;
    let mut notification = Notification::default();
    for value in hook
        .entry
        .into_iter()
        .flat_map(|entry| entry.changes)
        .map(|change| change.value)
    {
        notification
            .receipts
            .extend(value.statuses.into_iter().filter_map(cloud_receipt));
        notification
            .messages
            .extend(value.messages.into_iter().filter_map(|message| {
                Some(IncomingMessage {
                    from: e164(&message.from)?,
                    text: message.words(),
                    at: unix_time(message.timestamp.as_deref()),
                    message_id: message.id,
                })
            }));
    }
    Some(notification)
}

fn cloud_receipt(status: CloudStatus) -> Option<IncomingReceipt> {
    let delivery = match status.status.as_str() {
        "delivered" => Delivery::Delivered,
        "read" => Delivery::Read,
        "failed" => Delivery::Undelivered,
        // `sent` (WhatsApp took it) adds nothing to what the send recorded.
        _ => return None,
    };
    let error = status.errors.first().map(|e| {
        let words = e
            .message
            .clone()
            .or_else(|| e.title.clone())
            .unwrap_or_default();
        match e.code {
            Some(code) => format!("{words} (WhatsApp Cloud API error {code})"),
            None => words,
        }
    });
    Some(IncomingReceipt {
        message_id: status.id,
        status: delivery,
        error,
        at: unix_time(status.timestamp.as_deref()),
    })
}

/// A Twilio callback: a status callback of a message we sent (`MessageSid`, `MessageStatus`,
/// `ErrorCode`), or an inbound message (`From`, `Body`, status `received`).
fn twilio_notification(form: &[(String, String)]) -> Notification {
    let field = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let sid = field("MessageSid").or_else(|| field("SmsSid"));
    let status = field("MessageStatus").or_else(|| field("SmsStatus"));
    let mut notification = Notification::default();
    let delivery = match status {
        Some("delivered") => Some(Delivery::Delivered),
        Some("read") => Some(Delivery::Read),
        Some("undelivered" | "failed") => Some(Delivery::Undelivered),
        _ => None,
    };
    if let (Some(sid), Some(delivery)) = (sid, delivery) {
        notification.receipts.push(IncomingReceipt {
            message_id: sid.to_owned(),
            status: delivery,
            error: field("ErrorCode")
                .filter(|code| !code.is_empty())
                .map(|code| format!("Twilio error {code}")),
            at: chrono::Utc::now(),
        });
    }
    // Inbound messages come with status `received` (or none, on older callbacks).
    if status.is_none_or(|status| status == "received")
        && let (Some(from), Some(body)) = (field("From").and_then(e164), field("Body"))
    {
        notification.messages.push(IncomingMessage {
            message_id: sid.map(str::to_owned),
            from,
            text: body.to_owned(),
            at: chrono::Utc::now(),
        });
    }
    notification
}

/// A Wablas callback (one object or a list): with `status`, a message's tracking (`delivered`,
/// `read`, or given up: `cancel`, `reject`, `failed`); without, a message someone wrote
/// (`phone`, `message`). `None`: not JSON at all.
fn wablas_notification(body: &[u8]) -> Option<Notification> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let calls = match value {
        serde_json::Value::Array(calls) => calls,
        // Some Wablas versions wrap the call in `data`.
        other => match other.get("data") {
            Some(serde_json::Value::Array(calls)) => calls.clone(),
            Some(call @ serde_json::Value::Object(_)) => vec![call.clone()],
            _ => vec![other],
        },
    };
    let mut notification = Notification::default();
    for call in calls {
        let text = |name: &str| {
            call.get(name).and_then(|v| match v {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
        };
        let id = text("id").filter(|id| !id.is_empty());
        match text("status").map(|s| s.to_lowercase()) {
            Some(status) => {
                let delivery = match status.as_str() {
                    "delivered" => Delivery::Delivered,
                    "read" => Delivery::Read,
                    "cancel" | "canceled" | "cancelled" | "reject" | "rejected" | "failed" => {
                        Delivery::Undelivered
                    }
                    // `pending`, `sent`: nothing new.
                    _ => continue,
                };
                let Some(id) = id else { continue };
                let note = text("note").filter(|n| !n.is_empty());
                notification.receipts.push(IncomingReceipt {
                    message_id: id,
                    status: delivery,
                    error: (delivery == Delivery::Undelivered).then(|| match note {
                        Some(note) => format!("Wablas: {status} ({note})"),
                        None => format!("Wablas: {status}"),
                    }),
                    at: chrono::Utc::now(),
                });
            }
            None => {
                let (Some(from), Some(message)) =
                    (text("phone").as_deref().and_then(e164), text("message"))
                else {
                    continue;
                };
                // Groups are not replies to a send.
                if call.get("isGroup").and_then(serde_json::Value::as_bool) == Some(true) {
                    continue;
                }
                notification.messages.push(IncomingMessage {
                    message_id: id,
                    from,
                    text: message,
                    at: unix_time(text("timestamp").as_deref()),
                });
            }
        }
    }
    Some(notification)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_signatures_are_checked_on_the_raw_body() {
        let body = br#"{"entry":[]}"#;
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"app-secret").unwrap();
        mac.update(body);
        let good = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert!(cloud_signed("app-secret", body, &good));
        assert!(!cloud_signed("other-secret", body, &good));
        assert!(!cloud_signed("app-secret", br#"{"entry": []}"#, &good));
        assert!(!cloud_signed("app-secret", body, ""));
        assert!(!cloud_signed("app-secret", body, "sha256=zz"));
        assert!(!cloud_signed("", body, &good));
    }

    #[test]
    fn twilio_signatures_follow_its_documented_example() {
        // Twilio's own example (docs: "Validating Signatures from Twilio").
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let form: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let token = "12345";
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()).unwrap();
        mac.update(
            b"https://mycompany.com/myapp.php?foo=1&bar=2CallSidCA1234567890ABCDECaller+12349013030Digits1234From+12349013030To+18005551212",
        );
        let signature =
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
        assert_eq!(signature, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        assert!(twilio_signed(token, url, &form, &signature));
        assert!(!twilio_signed("54321", url, &form, &signature));
        assert!(!twilio_signed(
            token,
            "https://mycompany.com/other",
            &form,
            &signature
        ));
    }

    #[test]
    fn cloud_statuses_become_receipts() {
        let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","statuses":[
            {"id":"wamid.A","status":"delivered","timestamp":"1700000000","recipient_id":"34600000001"},
            {"id":"wamid.B","status":"sent","timestamp":"1700000000","recipient_id":"34600000002"},
            {"id":"wamid.C","status":"failed","timestamp":"1700000001","recipient_id":"34600000003",
             "errors":[{"code":131026,"title":"Message undeliverable","message":"Message undeliverable"}]}]}}]}]}"#;
        let receipts = cloud_notification(body).unwrap().receipts;
        assert_eq!(receipts.len(), 2);
        assert_eq!(receipts[0].message_id, "wamid.A");
        assert_eq!(receipts[0].status, Delivery::Delivered);
        assert_eq!(receipts[0].at.timestamp(), 1_700_000_000);
        assert_eq!(receipts[1].status, Delivery::Undelivered);
        assert_eq!(
            receipts[1].error.as_deref(),
            Some("Message undeliverable (WhatsApp Cloud API error 131026)")
        );
        assert!(cloud_notification(b"not json").is_none());
    }

    #[test]
    fn cloud_messages_become_inbox_messages_in_words() {
        let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","messages":[
            {"from":"34600000001","id":"wamid.T","timestamp":"1700000000","type":"text","text":{"body":"Hola"}},
            {"from":"34600000002","id":"wamid.B","timestamp":"1700000001","type":"button","button":{"text":"S\u00ed","payload":"YES"}},
            {"from":"34600000003","id":"wamid.I","timestamp":"1700000002","type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"2","title":"Martes"}}},
            {"from":"34600000004","id":"wamid.M","timestamp":"1700000003","type":"image","image":{"id":"1","mime_type":"image/jpeg"}}]}}]}]}"#;
        let messages = cloud_notification(body).unwrap().messages;
        let words: Vec<(&str, &str)> = messages
            .iter()
            .map(|m| (m.from.as_str(), m.text.as_str()))
            .collect();
        assert_eq!(
            words,
            [
                ("+34600000001", "Hola"),
                ("+34600000002", "Sí"),
                ("+34600000003", "Martes"),
                ("+34600000004", "[image]"),
            ]
        );
        assert_eq!(messages[0].message_id.as_deref(), Some("wamid.T"));
        assert_eq!(messages[3].at.timestamp(), 1_700_000_003);
    }

    #[test]
    fn only_a_whole_opt_out_word_opts_out() {
        let words = crate::server::settings::OPT_OUT_WORDS.map(str::to_owned);
        for word in ["STOP", " baja. ", "Alto!", "cancelar", "Unsubscribe"] {
            assert!(opt_out_word(&words, word), "{word}");
        }
        for text in ["stop sending me this", "no", "", "bajar", "."] {
            assert!(!opt_out_word(&words, text), "{text}");
        }
        let own = ["PARAR".to_owned()];
        assert!(opt_out_word(&own, "parar"));
        assert!(!opt_out_word(&own, "stop"));
    }
}
