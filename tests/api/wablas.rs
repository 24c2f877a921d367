//! The Wablas adapter against a local fake of Wablas's send endpoint: the request it makes, the
//! message id it keeps, and how Wablas's refusals (words, not codes) are classed.

use std::time::Duration;

use jobpulse::i18n::ES;
use jobpulse::protocol::JobId;
use jobpulse::protocol::fault::{Gateway, SendFault, wablas_code};
use jobpulse::server::adapters::providers::{
    MessagingProvider, OutgoingMessage, SendError, Wablas,
};

use crate::fake_wablas::{FakeWablas, SECRET_KEY, Scripted, Shape, TOKEN};

fn outgoing<'a>(to: &'a str, message: &'a str) -> OutgoingMessage<'a> {
    OutgoingMessage {
        job_id: JobId(uuid::Uuid::from_u128(9)),
        device_id: 1,
        to,
        message,
        idempotency_key: "9-1",
    }
}

fn wablas(fake: &FakeWablas) -> Wablas {
    Wablas::new(&fake.base_url(), TOKEN, SECRET_KEY, Duration::from_secs(10))
}

fn gateway(error_code: i64, said: &str) -> SendFault {
    SendFault::GatewayCode {
        gateway: Gateway::Wablas,
        error_code,
        said: said.into(),
    }
}

#[tokio::test]
async fn a_message_is_a_form_post_with_token_and_secret_and_its_id_is_kept() {
    let fake = FakeWablas::start().await;
    let wablas = wablas(&fake);
    let text = "Halo Budi, 50% & more: a=b+c";
    let receipt = wablas
        .send(&outgoing("+6281234567890", text))
        .await
        .unwrap();

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.path, "/api/send-message");
    assert_eq!(
        request.authorization.as_deref(),
        Some(format!("{TOKEN}.{SECRET_KEY}").as_str())
    );
    assert_eq!(
        request.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    let mut fields = request.fields.clone();
    fields.sort();
    assert_eq!(
        fields,
        vec![
            ("message".to_owned(), text.to_owned()),
            ("phone".to_owned(), "6281234567890".to_owned()),
        ]
    );
    let ids = fake.ids();
    assert_eq!(ids.len(), 1);
    assert_eq!(receipt.provider_message_id, Some(ids[0].clone()));
    assert!(!wablas.deduplicates());
    assert_eq!(wablas.name(), "wablas");
}

#[tokio::test]
async fn the_id_is_read_from_the_several_devices_answer_too() {
    let fake = FakeWablas::start().await;
    fake.shape(Shape::RandomDevices);
    let receipt = wablas(&fake)
        .send(&outgoing("+6281234567891", "hi"))
        .await
        .unwrap();
    assert_eq!(receipt.provider_message_id, Some(fake.ids()[0].clone()));
}

#[tokio::test]
async fn refusals_are_waited_out_or_fail_the_item_by_what_their_words_name() {
    let fake = FakeWablas::start().await;
    let wablas = wablas(&fake);
    // (Wablas's words, HTTP status, the condition, worth waiting out)
    let cases: &[(&str, u16, i64, bool)] = &[
        (
            "device disconnected",
            200,
            wablas_code::DEVICE_DISCONNECTED,
            true,
        ),
        (
            "Device not connected",
            400,
            wablas_code::DEVICE_DISCONNECTED,
            true,
        ),
        ("device expired", 200, wablas_code::DEVICE_EXPIRED, true),
        ("quota is not enough", 200, wablas_code::QUOTA_USED_UP, true),
        ("Rate overlimit", 200, wablas_code::RATE_LIMITED, true),
        (
            "phone number not registered on whatsapp",
            200,
            wablas_code::NOT_ON_WHATSAPP,
            false,
        ),
        (
            "invalid phone number",
            400,
            wablas_code::INVALID_PHONE,
            false,
        ),
        // Words jobpulse does not know: a 2xx or 4xx fails the item, a 5xx is waited out.
        (
            "message contains blocked words",
            200,
            wablas_code::UNRECOGNISED,
            false,
        ),
        (
            "message contains blocked words",
            422,
            wablas_code::UNRECOGNISED,
            false,
        ),
        ("internal error", 500, wablas_code::UNRECOGNISED, true),
    ];
    for (i, &(said, status, code, transient)) in cases.iter().enumerate() {
        let to = format!("+62812000000{i:02}");
        let phone = to.trim_start_matches('+');
        fake.script(phone, Scripted::Refuse { status, said }, u32::MAX);
        let error = wablas.send(&outgoing(&to, "hi")).await.unwrap_err();
        let expected = if transient {
            SendError::Transient {
                fault: gateway(code, said),
                retry_after: None,
            }
        } else {
            SendError::Permanent {
                fault: gateway(code, said),
            }
        };
        assert_eq!(error, expected, "{said:?} at {status}");
    }
    assert_eq!(fake.requests().len(), cases.len());
    assert!(fake.ids().is_empty());
}

#[tokio::test]
async fn a_number_not_on_whatsapp_is_worded_in_both_languages_with_wablas_words() {
    let fake = FakeWablas::start().await;
    let said = "phone number not registered on whatsapp";
    fake.script(
        "6281200000099",
        Scripted::Refuse { status: 200, said },
        u32::MAX,
    );
    let error = wablas(&fake)
        .send(&outgoing("+6281200000099", "hi"))
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the number is not registered on WhatsApp (Wablas: “phone number not registered on \
         whatsapp”)"
    );
    assert_eq!(
        (ES.send_fault)(error.fault(), &error.to_string()),
        "el número no está registrado en WhatsApp (Wablas: «phone number not registered on \
         whatsapp»)"
    );
}

#[tokio::test]
async fn a_refused_token_or_secret_is_waited_out_so_the_job_stops_with_items_pending() {
    let fake = FakeWablas::start().await;
    let wrong_token = Wablas::new(
        &fake.base_url(),
        "nope",
        SECRET_KEY,
        Duration::from_secs(10),
    );
    let error = wrong_token
        .send(&outgoing("+6281234567892", "hi"))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SendError::Transient {
            fault: gateway(wablas_code::TOKEN_REFUSED, "token invalid"),
            retry_after: None,
        }
    );
    // Without a secret key the token goes alone, as devices older than secret keys use it.
    let no_secret = Wablas::new(&fake.base_url(), TOKEN, "", Duration::from_secs(10));
    let error = no_secret
        .send(&outgoing("+6281234567892", "hi"))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SendError::Transient {
            fault: gateway(wablas_code::TOKEN_REFUSED, "secret key invalid"),
            retry_after: None,
        }
    );
    let requests = fake.requests();
    assert_eq!(
        requests[0].authorization.as_deref(),
        Some(format!("nope.{SECRET_KEY}").as_str())
    );
    assert_eq!(requests[1].authorization.as_deref(), Some(TOKEN));
    assert!(fake.ids().is_empty());
}

#[tokio::test]
async fn too_many_requests_is_waited_out_for_as_long_as_retry_after_says() {
    let fake = FakeWablas::start().await;
    let wablas = wablas(&fake);
    fake.script(
        "6281234567893",
        Scripted::TooManyRequests { retry_after_s: 9 },
        1,
    );
    let error = wablas
        .send(&outgoing("+6281234567893", "hi"))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SendError::Transient {
            fault: gateway(wablas_code::RATE_LIMITED, "Too Many Attempts."),
            retry_after: Some(Duration::from_secs(9)),
        }
    );
    let receipt = wablas
        .send(&outgoing("+6281234567893", "hi"))
        .await
        .unwrap();
    assert_eq!(receipt.provider_message_id, Some(fake.ids()[0].clone()));
}

#[tokio::test]
async fn a_bare_5xx_is_waited_out_and_the_next_attempt_goes_through() {
    let fake = FakeWablas::start().await;
    let wablas = wablas(&fake);
    fake.script("6281234567894", Scripted::Unavailable { status: 502 }, 1);
    let error = wablas
        .send(&outgoing("+6281234567894", "hi"))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SendError::Transient {
            fault: SendFault::ProviderStatus { status: 502 },
            retry_after: None,
        }
    );
    let receipt = wablas
        .send(&outgoing("+6281234567894", "hi"))
        .await
        .unwrap();
    assert_eq!(fake.requests().len(), 2);
    assert_eq!(receipt.provider_message_id, Some(fake.ids()[0].clone()));
}

#[tokio::test]
async fn a_request_that_hangs_past_the_timeout_is_waited_out() {
    let fake = FakeWablas::start().await;
    let wablas = Wablas::new(
        &fake.base_url(),
        TOKEN,
        SECRET_KEY,
        Duration::from_millis(300),
    );
    fake.script("6281234567895", Scripted::Hang, 1);
    let error = wablas
        .send(&outgoing("+6281234567895", "hi"))
        .await
        .unwrap_err();
    assert_eq!(
        error,
        SendError::Transient {
            fault: SendFault::ProviderTimeout,
            retry_after: None,
        }
    );
    assert!(fake.ids().is_empty());
}

#[tokio::test]
async fn its_webhook_takes_tracking_and_replies_with_the_secret_shown_once() {
    use serde_json::{Value, json};
    let app = crate::receipts::app().await;
    let fake = FakeWablas::start().await;
    let sender = crate::receipts::create_sender(
        &app,
        json!({"name": "Wablas", "provider": "wablas", "rate_per_minute": 60000, "config": {
            "base_url": fake.base_url(), "token": TOKEN, "secret_key": SECRET_KEY}}),
    )
    .await;
    // Shown once, at creation: Wablas signs nothing, so the URL carries the secret.
    let (bare, secret) = sender.webhook_url.split_once("?secret=").unwrap();
    assert_eq!(secret.len(), 64);
    let again: Value = app
        .get(&format!("/api/senders/{}", sender.id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["webhook_url"], bare);
    assert!(!again.to_string().contains(secret));

    let job = app.create_job(&["+6281234567890".to_owned()], 1).await;
    app.wait_until_finished(job.id).await;
    let id = fake.ids()[0].clone();
    let post = |url: String, body: Value| app.client.post(url).json(&body).send();
    let tracking =
        json!({"id": id, "phone": "6281234567890", "status": "read", "deviceId": "A5DOYJ"});
    for wrong in [bare.to_owned(), format!("{bare}?secret=guess")] {
        assert_eq!(post(wrong, tracking.clone()).await.unwrap().status(), 401);
    }
    assert_eq!(
        post(sender.webhook_url.clone(), tracking)
            .await
            .unwrap()
            .status(),
        200
    );
    let read = app
        .wait_for(job.id, |j| j.receipts.is_some_and(|r| r.read == 1))
        .await;
    assert_eq!(read.receipts.unwrap().delivered, 1);

    let reply = json!({"id": "IN-1", "phone": "6281234567890", "message": "Terima kasih",
                       "pushName": "Budi", "isGroup": false, "timestamp": "1764700000"});
    assert_eq!(
        post(sender.webhook_url.clone(), reply)
            .await
            .unwrap()
            .status(),
        200
    );
    let inbox: Value = app.get("/api/inbox").await.json().await.unwrap();
    assert_eq!(inbox["messages"][0]["text"], "Terima kasih");
    assert_eq!(inbox["messages"][0]["from"], "+6281234567890");
    assert_eq!(inbox["messages"][0]["job_id"], job.id.to_string());
}
