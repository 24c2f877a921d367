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
use crate::server::store::{IncomingReceipt, SenderRecord};

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
    let sealed = record.sealed_secrets.as_deref()?;
    let secrets = match state.vault.open(&id.to_string(), sealed) {
        Ok(opened) => serde_json::from_str(&opened).ok()?,
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
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(hooked) = hooked(&state, &sender).await else {
        return status(StatusCode::NOT_FOUND);
    };
    // Replies that are an opt-out word: (from, text).
    let opt_outs: Vec<(String, String)>;
    let receipts = match hooked.record.provider {
        SenderProvider::WhatsappCloud => {
            let signature = header(&headers, "x-hub-signature-256");
            if !cloud_signed(secret(&hooked, "app_secret"), &body, signature) {
                return status(StatusCode::UNAUTHORIZED);
            }
            opt_outs = cloud_replies(&body);
            cloud_receipts(&body)
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
                return status(StatusCode::UNAUTHORIZED);
            }
            opt_outs = twilio_reply(&form).into_iter().collect();
            twilio_receipts(&form)
        }
        // Wablas, the generic provider and the sandbox send no signed receipts (yet).
        _ => return status(StatusCode::NOT_FOUND),
    };
    let Some(receipts) = receipts else {
        return status(StatusCode::BAD_REQUEST);
    };
    if let Err(error) = state
        .store
        .record_receipts(hooked.record.id, &receipts)
        .await
    {
        tracing::warn!(%error, "could not keep a webhook's receipts");
        // The provider retries what it could not deliver.
        return status(StatusCode::SERVICE_UNAVAILABLE);
    }
    if !receipts.is_empty() {
        state.receipts.notify_one();
    }
    for (from, text) in opt_outs {
        let Some(phone) = opt_out(&from, &text) else {
            continue;
        };
        match state
            .store
            .add_opt_out(hooked.record.tenant_id, &phone, "reply")
            .await
        {
            Ok(true) => tracing::info!(sender = %hooked.record.id, "a recipient opted out"),
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(%error, "could not record an opt-out");
                return status(StatusCode::SERVICE_UNAVAILABLE);
            }
        }
    }
    status(StatusCode::OK)
}

/// Whole replies that put their sender on the opt-out list, in any case.
const OPT_OUT_WORDS: &[&str] = &["stop", "baja", "alto", "cancelar", "unsubscribe"];

/// The number (E.164) of a reply that is an opt-out word, or `None`.
fn opt_out(from: &str, text: &str) -> Option<String> {
    let word = text.trim().trim_end_matches(['.', '!']).to_lowercase();
    if !OPT_OUT_WORDS.contains(&word.as_str()) {
        return None;
    }
    // Twilio writes `whatsapp:+34…`, Meta `34…`.
    let digits: String = from.chars().filter(char::is_ascii_digit).collect();
    (!digits.is_empty()).then(|| format!("+{digits}"))
}

#[derive(Deserialize)]
struct CloudMessages {
    #[serde(default)]
    entry: Vec<CloudMessageEntry>,
}

#[derive(Deserialize)]
struct CloudMessageEntry {
    #[serde(default)]
    changes: Vec<CloudMessageChange>,
}

#[derive(Deserialize)]
struct CloudMessageChange {
    #[serde(default)]
    value: CloudMessageValue,
}

#[derive(Deserialize, Default)]
struct CloudMessageValue {
    #[serde(default)]
    messages: Vec<CloudInbound>,
}

#[derive(Deserialize)]
struct CloudInbound {
    from: String,
    #[serde(default)]
    text: Option<CloudText>,
}

#[derive(Deserialize)]
struct CloudText {
    body: String,
}

/// The text replies in a Cloud API notification (`value.messages[]`): (from, text).
fn cloud_replies(body: &[u8]) -> Vec<(String, String)> {
    let Ok(hook) = serde_json::from_slice::<CloudMessages>(body) else {
        return Vec::new();
    };
    hook.entry
        .into_iter()
        .flat_map(|entry| entry.changes)
        .flat_map(|change| change.value.messages)
        .filter_map(|message| Some((message.from, message.text?.body)))
        .collect()
}

/// An inbound message in a Twilio callback (`From`, `Body`): (from, text).
fn twilio_reply(form: &[(String, String)]) -> Option<(String, String)> {
    let field = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    };
    // A status callback of a message we sent is not a reply.
    let status = field("MessageStatus").or_else(|| field("SmsStatus"));
    if status.is_some_and(|status| status != "received") {
        return None;
    }
    Some((field("From")?, field("Body")?))
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

/// The receipts in a Cloud API notification (`entry[].changes[].value.statuses[]`); messages
/// and other fields are acknowledged and left for now. `None`: not a notification at all.
fn cloud_receipts(body: &[u8]) -> Option<Vec<IncomingReceipt>> {
    let hook: CloudHook = serde_json::from_slice(body).ok()?;
    let statuses = hook
        .entry
        .into_iter()
        .flat_map(|entry| entry.changes)
        .flat_map(|change| change.value.statuses);
    Some(
        statuses
            .filter_map(|status| {
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
                    at: status
                        .timestamp
                        .and_then(|t| t.parse::<i64>().ok())
                        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
                        .unwrap_or_else(chrono::Utc::now),
                })
            })
            .collect(),
    )
}

/// The receipt in a Twilio status callback (`MessageSid`, `MessageStatus`, `ErrorCode`).
fn twilio_receipts(form: &[(String, String)]) -> Option<Vec<IncomingReceipt>> {
    let field = |name: &str| {
        form.iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let Some(sid) = field("MessageSid").or_else(|| field("SmsSid")) else {
        // An inbound message or another callback: acknowledged, nothing to apply.
        return Some(Vec::new());
    };
    let delivery = match field("MessageStatus").or_else(|| field("SmsStatus")) {
        Some("delivered") => Delivery::Delivered,
        Some("read") => Delivery::Read,
        Some("undelivered" | "failed") => Delivery::Undelivered,
        _ => return Some(Vec::new()),
    };
    let error = field("ErrorCode")
        .filter(|code| !code.is_empty())
        .map(|code| format!("Twilio error {code}"));
    Some(vec![IncomingReceipt {
        message_id: sid.to_owned(),
        status: delivery,
        error,
        at: chrono::Utc::now(),
    }])
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
        let receipts = cloud_receipts(body).unwrap();
        assert_eq!(receipts.len(), 2);
        assert_eq!(receipts[0].message_id, "wamid.A");
        assert_eq!(receipts[0].status, Delivery::Delivered);
        assert_eq!(receipts[0].at.timestamp(), 1_700_000_000);
        assert_eq!(receipts[1].status, Delivery::Undelivered);
        assert_eq!(
            receipts[1].error.as_deref(),
            Some("Message undeliverable (WhatsApp Cloud API error 131026)")
        );
        assert!(cloud_receipts(b"not json").is_none());
    }
}
