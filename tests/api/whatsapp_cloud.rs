//! Bulk sends through the WhatsApp Cloud API adapter, against a local fake of Meta's endpoint.

use jobpulse::protocol::JobStatus;
use jobpulse::protocol::fault::{Gateway, SendFault};
use jobpulse::server::settings::ProviderKind;

use crate::fake_cloud_api::{ACCESS_TOKEN, FakeCloudApi, PHONE_NUMBER_ID};
use crate::helpers::{TestApp, phones, spawn_app_with};

async fn app(
    cloud: &FakeCloudApi,
    configure: impl FnOnce(&mut jobpulse::server::settings::Settings),
) -> TestApp {
    let base = cloud.base_url();
    spawn_app_with(move |s| {
        s.provider.kind = ProviderKind::WhatsappCloud;
        s.provider.url = base;
        s.provider.token = ACCESS_TOKEN.into();
        s.provider.phone_number_id = PHONE_NUMBER_ID.into();
        configure(s);
    })
    .await
}

#[tokio::test]
async fn a_send_goes_out_as_text_messages_and_keeps_each_wamid() {
    let cloud = FakeCloudApi::start().await;
    let app = app(&cloud, |_| {}).await;
    let recipients = phones(12);
    let job = app.create_job(&recipients, 3).await;
    let done = app.wait_until_finished(job.id).await;
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!(done.progress.sent, 12);
    let bodies = cloud.bodies();
    assert_eq!(bodies.len(), 12);
    for body in &bodies {
        assert_eq!(body["messaging_product"], "whatsapp");
        assert_eq!(body["recipient_type"], "individual");
        assert_eq!(body["type"], "text");
        assert_eq!(body["text"]["body"], "Hola!");
        assert_eq!(body["text"]["preview_url"], false);
        // International form without the "+".
        let to = body["to"].as_str().unwrap();
        assert!(recipients.contains(&format!("+{to}")), "{to}");
    }
    let sent = app.items(job.id, "sent").await;
    assert_eq!(sent.len(), 12);
    for item in sent {
        let id = item.provider_message_id.expect("the wamid is kept");
        assert!(id.starts_with("wamid."), "{id}");
        assert!(id.contains(item.recipient.trim_start_matches('+')), "{id}");
    }
}

#[tokio::test]
async fn limits_are_waited_out_and_undeliverable_numbers_fail_in_words() {
    let cloud = FakeCloudApi::start().await;
    let app = app(&cloud, |_| {}).await;
    let recipients = phones(6);
    let digits = |i: usize| recipients[i].trim_start_matches('+').to_owned();
    cloud.script(&digits(0), 130429, 2);
    cloud.script(&digits(1), 131056, 1);
    cloud.script(&digits(2), 131026, u32::MAX);
    cloud.script(&digits(3), 131047, u32::MAX);
    let job = app.create_job(&recipients, 2).await;
    let done = app.wait_until_finished(job.id).await;
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!((done.progress.sent, done.progress.failed), (4, 2));

    let sent = app.items(job.id, "sent").await;
    let throttled = sent.iter().find(|i| i.recipient == recipients[0]).unwrap();
    assert_eq!(throttled.attempts, 3, "two throughput errors, then sent");
    let paired = sent.iter().find(|i| i.recipient == recipients[1]).unwrap();
    assert_eq!(paired.attempts, 2);

    let failed = app.items(job.id, "failed").await;
    let undeliverable = failed
        .iter()
        .find(|i| i.recipient == recipients[2])
        .unwrap();
    assert_eq!(
        undeliverable.attempts, 1,
        "a permanent error is not retried"
    );
    assert_eq!(
        undeliverable.fault,
        Some(SendFault::GatewayCode {
            gateway: Gateway::WhatsappCloud,
            error_code: 131026,
            said: "Message Undeliverable.".into(),
        })
    );
    assert_eq!(
        undeliverable.error.as_deref(),
        Some(
            "WhatsApp could not deliver it (the number may not use WhatsApp, or its app is out \
             of date) (WhatsApp Cloud API error 131026)"
        )
    );
    let outside = failed
        .iter()
        .find(|i| i.recipient == recipients[3])
        .unwrap();
    assert!(
        outside.error.as_deref().unwrap().contains("24 hours"),
        "{:?}",
        outside.error
    );
}

#[tokio::test]
async fn an_expired_token_stops_the_job_with_items_pending_until_it_is_fixed() {
    let cloud = FakeCloudApi::start().await;
    let app = app(&cloud, |s| {
        s.engine.provider_down_after_ms = 300;
        s.engine.max_attempts = 1_000;
    })
    .await;
    cloud.expire_token(true);
    let job = app.create_job(&phones(5), 2).await;
    let failed = app.wait_until_finished(job.id).await;
    assert_eq!(failed.status, JobStatus::Failed);
    let error = failed.last_error.unwrap();
    assert!(error.contains("access token has expired"), "{error}");
    assert_eq!(app.items(job.id, "pending").await.len(), 5);

    cloud.expire_token(false);
    assert_eq!(app.job_action(job.id, "resume", None).await.status(), 200);
    let done = app.wait_until_finished(job.id).await;
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!(done.progress.sent, 5);
}
