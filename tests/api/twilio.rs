//! The Twilio adapter against a local fake of Twilio's Messages endpoint: the request it makes,
//! the sid it keeps, and how each kind of refusal is classed.

use std::time::Duration;

use jobpulse::i18n::ES;
use jobpulse::protocol::JobId;
use jobpulse::protocol::fault::{Gateway, SendFault};
use jobpulse::server::adapters::providers::{
    MessagingProvider, OutgoingMessage, SendError, Twilio, TwilioFrom,
};

use crate::fake_twilio::{ACCOUNT_SID, AUTH_TOKEN, FakeTwilio, Scripted, basic, words};

const FROM: &str = "+15005550006";
const SERVICE: &str = "MG9752274e9e519418a7406176694466fa";
const CALLBACK: &str = "https://jobpulse.example/api/webhooks/7";

fn outgoing<'a>(to: &'a str, message: &'a str) -> OutgoingMessage<'a> {
    OutgoingMessage {
        job_id: JobId(uuid::Uuid::from_u128(7)),
        device_id: 1,
        to,
        message,
        idempotency_key: "7-1",
    }
}

fn twilio(fake: &FakeTwilio, from: TwilioFrom, callback: Option<&str>) -> Twilio {
    Twilio::new(
        &fake.base_url(),
        ACCOUNT_SID,
        AUTH_TOKEN,
        from,
        callback.map(str::to_owned),
        Duration::from_secs(10),
    )
}

/// The fields as a sorted list, so a test states the whole set and nothing else may be there.
fn sorted(fields: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    fields.sort();
    fields
}

fn sorted_seen(fake: &FakeTwilio, index: usize) -> Vec<(String, String)> {
    let mut fields = fake.requests()[index].fields.clone();
    fields.sort();
    fields
}

#[test]
fn the_fakes_basic_auth_is_rfc_7617s() {
    assert_eq!(
        basic("Aladdin", "open sesame"),
        "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
    );
}

#[tokio::test]
async fn an_sms_is_a_form_post_with_basic_auth_and_its_sid_is_kept() {
    let fake = FakeTwilio::start().await;
    let twilio = twilio(&fake, TwilioFrom::Number(FROM.into()), Some(CALLBACK));
    let text = "Hola Ana, ¿50% & más? a=b+c";
    let receipt = twilio.send(&outgoing("+34600111222", text)).await.unwrap();

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(
        request.path,
        format!("/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json")
    );
    assert_eq!(
        request.authorization.as_deref(),
        Some(basic(ACCOUNT_SID, AUTH_TOKEN).as_str())
    );
    assert_eq!(
        request.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        sorted_seen(&fake, 0),
        sorted(&[
            ("To", "+34600111222"),
            ("From", FROM),
            ("Body", text),
            ("StatusCallback", CALLBACK),
        ])
    );
    let sids = fake.sids();
    assert_eq!(sids.len(), 1);
    assert!(sids[0].starts_with("SM"), "{}", sids[0]);
    assert_eq!(receipt.provider_message_id, Some(sids[0].clone()));
    assert!(!twilio.deduplicates());
    assert_eq!(twilio.name(), "twilio");
}

#[tokio::test]
async fn a_messaging_service_sends_instead_of_a_number_and_no_callback_means_none() {
    let fake = FakeTwilio::start().await;
    let twilio = twilio(&fake, TwilioFrom::MessagingService(SERVICE.into()), None);
    let first = twilio
        .send(&outgoing("+447700900123", "one"))
        .await
        .unwrap();
    let second = twilio
        .send(&outgoing("+447700900124", "two"))
        .await
        .unwrap();
    assert_eq!(
        sorted_seen(&fake, 0),
        sorted(&[
            ("To", "+447700900123"),
            ("MessagingServiceSid", SERVICE),
            ("Body", "one"),
        ])
    );
    assert_eq!(
        sorted_seen(&fake, 1),
        sorted(&[
            ("To", "+447700900124"),
            ("MessagingServiceSid", SERVICE),
            ("Body", "two"),
        ])
    );
    let sids = fake.sids();
    assert_eq!(first.provider_message_id, Some(sids[0].clone()));
    assert_eq!(second.provider_message_id, Some(sids[1].clone()));
    assert_ne!(sids[0], sids[1]);
}

#[tokio::test]
async fn a_whatsapp_sender_addresses_the_recipient_on_whatsapp_too() {
    let fake = FakeTwilio::start().await;
    let from = format!("whatsapp:{FROM}");
    let twilio = twilio(&fake, TwilioFrom::Number(from.clone()), None);
    let receipt = twilio
        .send(&outgoing("+5215512345678", "Hola"))
        .await
        .unwrap();
    assert_eq!(
        sorted_seen(&fake, 0),
        sorted(&[
            ("To", "whatsapp:+5215512345678"),
            ("From", &from),
            ("Body", "Hola"),
        ])
    );
    assert_eq!(receipt.provider_message_id, Some(fake.sids()[0].clone()));
}

#[tokio::test]
async fn each_error_code_is_waited_out_or_fails_the_item_as_twilio_means_it() {
    let fake = FakeTwilio::start().await;
    let twilio = twilio(&fake, TwilioFrom::Number(FROM.into()), None);
    // (code, HTTP status, worth waiting out)
    let cases: &[(i64, u16, bool)] = &[
        (21610, 400, false),
        (21211, 400, false),
        (21614, 400, false),
        (21408, 400, false),
        (30003, 400, false),
        (30005, 400, false),
        (30006, 400, false),
        (30007, 400, false),
        (63016, 400, false),
        // A code jobpulse does not know: a 4xx fails the item, a 5xx is waited out.
        (21606, 400, false),
        (20500, 500, true),
        // Limits are waited out whatever the status says.
        (20429, 429, true),
        (30001, 400, true),
        (63018, 400, true),
    ];
    for (i, &(code, status, transient)) in cases.iter().enumerate() {
        let to = format!("+1415555{:04}", i);
        fake.script(&to, Scripted::Error { status, code }, u32::MAX);
        let error = twilio.send(&outgoing(&to, "hi")).await.unwrap_err();
        let fault = SendFault::GatewayCode {
            gateway: Gateway::Twilio,
            error_code: code,
            said: words(code).into(),
        };
        let expected = if transient {
            SendError::Transient {
                fault,
                retry_after: None,
            }
        } else {
            SendError::Permanent { fault }
        };
        assert_eq!(error, expected, "code {code} at {status}");
    }
    assert_eq!(fake.requests().len(), cases.len());
}

#[tokio::test]
async fn an_unsubscribed_recipient_is_worded_in_both_languages() {
    let fake = FakeTwilio::start().await;
    let twilio = twilio(&fake, TwilioFrom::Number(FROM.into()), None);
    fake.script(
        "+14155550100",
        Scripted::Error {
            status: 400,
            code: 21610,
        },
        u32::MAX,
    );
    let error = twilio
        .send(&outgoing("+14155550100", "hi"))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the recipient has unsubscribed (replied STOP) (Twilio error 21610)"
    );
    assert_eq!(
        (ES.send_fault)(error.fault(), &error.to_string()),
        "el destinatario se dio de baja (respondió STOP) (error 21610 de Twilio)"
    );
}

#[tokio::test]
async fn too_many_requests_is_waited_out_for_as_long_as_retry_after_says() {
    let fake = FakeTwilio::start().await;
    let twilio = twilio(&fake, TwilioFrom::Number(FROM.into()), None);
    fake.script(
        "+14155550101",
        Scripted::TooManyRequests { retry_after_s: 7 },
        1,
    );
    let error = twilio
        .send(&outgoing("+14155550101", "hi"))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SendError::Transient {
            fault: SendFault::GatewayCode {
                gateway: Gateway::Twilio,
                error_code: 20429,
                said: "Too Many Requests".into(),
            },
            retry_after: Some(Duration::from_secs(7)),
        }
    );
    let receipt = twilio.send(&outgoing("+14155550101", "hi")).await.unwrap();
    assert_eq!(receipt.provider_message_id, Some(fake.sids()[0].clone()));
}

#[tokio::test]
async fn a_bare_5xx_is_waited_out_and_the_next_attempt_goes_through() {
    let fake = FakeTwilio::start().await;
    let twilio = twilio(&fake, TwilioFrom::Number(FROM.into()), None);
    fake.script("+14155550102", Scripted::Unavailable { status: 503 }, 1);
    let error = twilio
        .send(&outgoing("+14155550102", "hi"))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SendError::Transient {
            fault: SendFault::ProviderStatus { status: 503 },
            retry_after: None,
        }
    );
    let receipt = twilio.send(&outgoing("+14155550102", "hi")).await.unwrap();
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(receipt.provider_message_id, Some(fake.sids()[0].clone()));
}

#[tokio::test]
async fn refused_credentials_are_waited_out_so_the_job_stops_with_items_pending() {
    let fake = FakeTwilio::start().await;
    let twilio = Twilio::new(
        &fake.base_url(),
        ACCOUNT_SID,
        "not-the-token",
        TwilioFrom::Number(FROM.into()),
        None,
        Duration::from_secs(10),
    );
    let error = twilio
        .send(&outgoing("+14155550103", "hi"))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SendError::Transient {
            fault: SendFault::GatewayCode {
                gateway: Gateway::Twilio,
                error_code: 20003,
                said: "Authenticate".into(),
            },
            retry_after: None,
        }
    );
    assert_eq!(
        fake.requests()[0].authorization.as_deref(),
        Some(basic(ACCOUNT_SID, "not-the-token").as_str())
    );
    assert!(fake.sids().is_empty());
}

#[tokio::test]
async fn a_request_that_hangs_past_the_timeout_is_waited_out() {
    let fake = FakeTwilio::start().await;
    let twilio = Twilio::new(
        &fake.base_url(),
        ACCOUNT_SID,
        AUTH_TOKEN,
        TwilioFrom::Number(FROM.into()),
        None,
        Duration::from_millis(300),
    );
    fake.script("+14155550104", Scripted::Hang, 1);
    let error = twilio
        .send(&outgoing("+14155550104", "hi"))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SendError::Transient {
            fault: SendFault::ProviderTimeout,
            retry_after: None,
        }
    );
    assert!(fake.sids().is_empty());
}

#[tokio::test]
async fn no_server_is_waited_out_as_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let twilio = Twilio::new(
        &format!("http://{addr}"),
        ACCOUNT_SID,
        AUTH_TOKEN,
        TwilioFrom::Number(FROM.into()),
        None,
        Duration::from_secs(5),
    );
    let error = twilio
        .send(&outgoing("+14155550105", "hi"))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SendError::Transient {
            fault: SendFault::ProviderUnreachable,
            retry_after: None,
        }
    );
}
