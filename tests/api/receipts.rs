//! Delivery receipts (CONTRACT.md "Delivery receipts and replies"): providers' signed webhooks,
//! stored before they are answered and applied to their items, forward only.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use jobpulse::protocol::senders::SenderView;
use jobpulse::protocol::{Delivery, JobStatus, JobView};
use serde_json::{Value, json};

use crate::fake_cloud_api::{ACCESS_TOKEN, FakeCloudApi, PHONE_NUMBER_ID};
use crate::fake_twilio::{ACCOUNT_SID, AUTH_TOKEN, FakeTwilio};
use crate::helpers::{TestApp, phones, spawn_app_with};

pub(crate) const APP_SECRET: &str = "app-secret-123";

pub(crate) async fn app() -> TestApp {
    spawn_app_with(|s| s.senders.allow_private_addresses = true).await
}

pub(crate) async fn create_sender(app: &TestApp, body: Value) -> SenderView {
    let response = app
        .client
        .post(format!("{}/api/senders", app.address))
        .bearer_auth(&app.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let answer: Value = response.json().await.unwrap();
    serde_json::from_value(answer["sender"].clone()).unwrap()
}

/// A Twilio sender through the fake Twilio.
pub(crate) async fn twilio_sender(app: &TestApp, twilio: &FakeTwilio) -> SenderView {
    create_sender(
        app,
        json!({"name": "Twilio", "provider": "twilio", "rate_per_minute": 60000, "config": {
            "base_url": twilio.base_url(), "account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN,
            "from": "+15005550006"}}),
    )
    .await
}

/// `X-Twilio-Signature` of a form posted to `url`: Base64 HMAC-SHA1 over the URL and the
/// sorted keys and values.
pub(crate) fn twilio_signature(token: &str, url: &str, form: &[(&str, &str)]) -> String {
    let mut pairs = form.to_vec();
    pairs.sort();
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()).unwrap();
    mac.update(url.as_bytes());
    for (k, v) in pairs {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

pub(crate) async fn cloud_sender(app: &TestApp, cloud: &FakeCloudApi) -> SenderView {
    create_sender(
        app,
        json!({"name": "Cloud", "provider": "whatsapp_cloud", "rate_per_minute": 60000, "config": {
            "base_url": cloud.base_url(), "phone_number_id": PHONE_NUMBER_ID,
            "access_token": ACCESS_TOKEN, "app_secret": APP_SECRET, "verify_token": "verify-me"}}),
    )
    .await
}

pub(crate) fn cloud_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A Cloud API notification with these `(wamid, status)` pairs, as Meta sends it.
fn cloud_notification(statuses: &[(&str, &str)]) -> Vec<u8> {
    let statuses: Vec<Value> = statuses
        .iter()
        .map(|(id, status)| {
            let mut s = json!({"id": id, "status": status, "timestamp": "1764700000",
                               "recipient_id": "34600000001"});
            if *status == "failed" {
                s["errors"] = json!([{"code": 131026, "title": "Message undeliverable",
                                      "message": "Message undeliverable"}]);
            }
            s
        })
        .collect();
    serde_json::to_vec(
        &json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398",
        "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PHONE_NUMBER_ID},
            "statuses": statuses}}]}]}),
    )
    .unwrap()
}

pub(crate) async fn post_cloud(
    app: &TestApp,
    sender: &SenderView,
    body: Vec<u8>,
    signature: &str,
) -> u16 {
    app.client
        .post(&sender.webhook_url)
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Polls the job until its receipts satisfy `done`, failing after a deadline.
async fn receipts_until(
    app: &TestApp,
    id: impl std::fmt::Display + Copy,
    done: impl Fn(&JobView) -> bool,
) -> JobView {
    app.wait_for(id, |job| job.receipts.is_some() && done(job))
        .await
}

#[tokio::test]
async fn meta_verifies_the_webhook_with_the_senders_verify_token() {
    let app = app().await;
    let cloud = FakeCloudApi::start().await;
    let sender = cloud_sender(&app, &cloud).await;
    let verify = |token: &str| {
        format!(
            "{}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge=1158201444",
            sender.webhook_url
        )
    };
    let ok = app.client.get(verify("verify-me")).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    let wrong = app.client.get(verify("guess")).send().await.unwrap();
    assert_eq!(wrong.status(), 403);
    let unknown = app
        .client
        .get(format!(
            "{}/api/webhooks/{}",
            app.address,
            uuid::Uuid::now_v7()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn signed_receipts_move_items_forward_only_and_fill_the_funnel_live() {
    let app = app().await;
    let cloud = FakeCloudApi::start().await;
    let sender = cloud_sender(&app, &cloud).await;
    let recipients: Vec<String> = phones(4)
        .into_iter()
        .filter(|p| !p.ends_with("13"))
        .collect();
    let job = app.create_job(&recipients, 1).await;
    let done = app.wait_until_finished(job.id).await;
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!(done.receipts.unwrap().awaiting, recipients.len() as u64);
    assert!(done.receipts_open_until.unwrap() > done.finished_at.unwrap());
    let items = app.items(job.id, "sent").await;
    let wamid = |i: usize| items[i].provider_message_id.clone().unwrap();
    let (a, b, c) = (wamid(0), wamid(1), wamid(2));

    // A bad or missing signature changes nothing.
    let body = cloud_notification(&[(&a, "read")]);
    assert_eq!(
        post_cloud(
            &app,
            &sender,
            body.clone(),
            &cloud_signature("wrong", &body)
        )
        .await,
        401
    );
    assert_eq!(post_cloud(&app, &sender, body.clone(), "").await, 401);
    let tampered = cloud_notification(&[(&b, "read")]);
    assert_eq!(
        post_cloud(&app, &sender, tampered, &cloud_signature(APP_SECRET, &body)).await,
        401
    );

    // Read before delivered (out of order), a late delivered, a duplicate, and a failure.
    let body = cloud_notification(&[
        (&a, "delivered"),
        (&b, "read"),
        (&c, "failed"),
        (&a, "sent"),
    ]);
    assert_eq!(
        post_cloud(
            &app,
            &sender,
            body.clone(),
            &cloud_signature(APP_SECRET, &body)
        )
        .await,
        200
    );
    let again = cloud_notification(&[(&b, "delivered"), (&a, "delivered"), (&c, "delivered")]);
    assert_eq!(
        post_cloud(
            &app,
            &sender,
            again.clone(),
            &cloud_signature(APP_SECRET, &again)
        )
        .await,
        200
    );

    let settled = receipts_until(&app, job.id, |j| {
        let r = j.receipts.unwrap();
        r.delivered == 2 && r.read == 1 && r.undelivered == 1
    })
    .await;
    let receipts = settled.receipts.unwrap();
    assert_eq!(receipts.awaiting, recipients.len() as u64 - 3);
    let items = app.items(job.id, "sent").await;
    let by_id = |id: &str| {
        items
            .iter()
            .find(|i| i.provider_message_id.as_deref() == Some(id))
            .unwrap()
    };
    assert_eq!(by_id(&a).delivery, Some(Delivery::Delivered));
    assert!(by_id(&a).delivered_at.is_some() && by_id(&a).read_at.is_none());
    assert_eq!(
        by_id(&b).delivery,
        Some(Delivery::Read),
        "a late delivered never moves it back"
    );
    assert!(by_id(&b).read_at.is_some());
    assert_eq!(by_id(&c).delivery, Some(Delivery::Undelivered));

    // Each move is one `receipt` event, in the job's log, with the funnel's counters.
    let events = app.events(job.id).await;
    let receipts: Vec<&Value> = events.iter().filter(|e| e["type"] == "receipt").collect();
    assert_eq!(receipts.len(), 3, "{receipts:?}");
    let undelivered = receipts
        .iter()
        .find(|e| e["status"] == "undelivered")
        .unwrap();
    assert_eq!(
        undelivered["error"],
        "Message undeliverable (WhatsApp Cloud API error 131026)"
    );
    assert_eq!(undelivered["sender_id"], sender.id.to_string());
    let last = receipts.last().unwrap();
    assert_eq!(last["receipts"]["delivered"], 2);
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "gap-free: {seqs:?}"
    );
}

#[tokio::test]
async fn a_receipt_that_comes_before_its_send_is_recorded_waits_for_it_across_a_restart() {
    let mut app = app().await;
    let cloud = FakeCloudApi::start().await;
    let sender = cloud_sender(&app, &cloud).await;
    let recipient = "+34600000001";
    // The fake numbers its messages: the first one it accepts will be this.
    let wamid = format!(
        "wamid.HBgL{}FQIAERgS{:08X}",
        recipient.trim_start_matches('+'),
        1
    );
    let body = cloud_notification(&[(&wamid, "delivered")]);
    assert_eq!(
        post_cloud(
            &app,
            &sender,
            body.clone(),
            &cloud_signature(APP_SECRET, &body)
        )
        .await,
        200
    );
    // Acknowledged means kept: a restart loses nothing.
    app.restart().await;
    let job = app.create_job(&[recipient.to_owned()], 1).await;
    let settled = receipts_until(&app, job.id, |j| j.receipts.unwrap().delivered == 1).await;
    assert_eq!(settled.receipts.unwrap().awaiting, 0);
    let items = app.items(job.id, "sent").await;
    assert_eq!(
        items[0].provider_message_id.as_deref(),
        Some(wamid.as_str())
    );
    assert_eq!(items[0].delivery, Some(Delivery::Delivered));
}

#[tokio::test]
async fn twilio_status_callbacks_are_checked_against_its_signature() {
    let app = app().await;
    let twilio = FakeTwilio::start().await;
    let sender = twilio_sender(&app, &twilio).await;
    let job = app.create_job(&["+34600000001".to_owned()], 1).await;
    app.wait_until_finished(job.id).await;
    let sid = twilio.sids()[0].clone();
    // Twilio is told where to report the message's fate.
    let callback = twilio.requests()[0]
        .fields
        .iter()
        .find(|(k, _)| k == "StatusCallback")
        .map(|(_, v)| v.clone());
    assert_eq!(callback.as_deref(), Some(sender.webhook_url.as_str()));
    let form = [
        ("AccountSid", ACCOUNT_SID),
        ("MessageSid", sid.as_str()),
        ("MessageStatus", "read"),
        ("To", "+34600000001"),
    ];
    let sign = |token: &str| twilio_signature(token, &sender.webhook_url, &form);
    let post = |signature: String| {
        app.client
            .post(&sender.webhook_url)
            .header("x-twilio-signature", signature)
            .form(&form)
            .send()
    };
    assert_eq!(post(sign("not-the-token")).await.unwrap().status(), 401);
    assert_eq!(post(sign(AUTH_TOKEN)).await.unwrap().status(), 200);
    let settled = receipts_until(&app, job.id, |j| j.receipts.unwrap().read == 1).await;
    assert_eq!(
        settled.receipts.unwrap().delivered,
        1,
        "read counts as delivered"
    );
}

#[tokio::test]
async fn a_stop_reply_puts_the_number_on_the_opt_out_list_and_sends_leave_it_out() {
    let app = app().await;
    let cloud = FakeCloudApi::start().await;
    let sender = cloud_sender(&app, &cloud).await;
    let reply = |from: &str, text: &str| {
        serde_json::to_vec(
            &json!({"object": "whatsapp_business_account", "entry": [{"id": "1",
            "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
                "contacts": [{"profile": {"name": "Ana"}, "wa_id": from}],
                "messages": [{"from": from, "id": "wamid.IN", "timestamp": "1764700000",
                              "type": "text", "text": {"body": text}}]}}]}]}),
        )
        .unwrap()
    };
    for (from, text) in [
        ("34600000101", "  Baja. "),
        ("34600000201", "stop sending me this"),
    ] {
        let body = reply(from, text);
        assert_eq!(
            post_cloud(
                &app,
                &sender,
                body.clone(),
                &cloud_signature(APP_SECRET, &body)
            )
            .await,
            200
        );
    }
    // An unsigned reply changes nothing.
    let body = reply("34600000301", "STOP");
    assert_eq!(post_cloud(&app, &sender, body, "sha256=00").await, 401);
    let listed: Value = app.get("/api/opt-outs").await.json().await.unwrap();
    let phones_listed: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["phone"].as_str().unwrap())
        .collect();
    assert_eq!(
        phones_listed,
        ["+34600000101"],
        "only a whole opt-out word counts: {listed}"
    );
    assert_eq!(listed[0]["source"], "reply");

    // A send to it is refused with the reason, or leaves it out with skip_invalid.
    let list = ["+34600000001", "+34 600 000 101"];
    let refused = app
        .send_bulk(&json!({"message": "Hola", "phones": list}))
        .await;
    assert_eq!(refused.status(), 422);
    let answer: Value = refused.json().await.unwrap();
    assert_eq!(answer["invalid"][0]["index"], 1);
    assert_eq!(answer["invalid"][0]["reason"], "opted out");
    assert_eq!(answer["invalid"][0]["issue"], "opted_out");
    let taken = app
        .send_bulk(&json!({"message": "Hola", "phones": list, "skip_invalid": true}))
        .await;
    assert_eq!(taken.status(), 202);
    let job: Value = taken.json().await.unwrap();
    assert_eq!(job["job"]["total_numbers"], 1);
    assert_eq!(job["job"]["skipped_opted_out"], 1);
    assert_eq!(job["job"]["skipped"], 0);

    // Operators manage the list by hand too.
    let add = |phone: &str| {
        app.client
            .post(format!("{}/api/opt-outs", app.address))
            .bearer_auth(&app.token)
            .json(&json!({"phone": phone}))
            .send()
    };
    assert_eq!(add("+34 600 000 401").await.unwrap().status(), 201);
    assert_eq!(add("+34600000401").await.unwrap().status(), 200);
    let bad = add("not a phone").await.unwrap();
    assert_eq!(bad.status(), 422);
    let bad: Value = bad.json().await.unwrap();
    assert_eq!(bad["request_rule"], "opt_out_phone");
    let delete = |phone: &str| {
        app.client
            .delete(format!(
                "{}/api/opt-outs/{}",
                app.address,
                phone.replace('+', "%2B")
            ))
            .bearer_auth(&app.token)
            .send()
    };
    assert_eq!(delete("+34600000101").await.unwrap().status(), 204);
    assert_eq!(delete("+34600000101").await.unwrap().status(), 404);
    let listed: Value = app.get("/api/opt-outs").await.json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    // Another tenant's list is its own.
    let other = app.other_tenant_token("globex").await;
    let theirs: Value = app
        .get_as(&other, "/api/opt-outs")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs, json!([]));
}

#[tokio::test]
async fn a_sandbox_sender_makes_up_receipts_so_the_demo_shows_the_funnel() {
    let app = app().await;
    create_sender(
        &app,
        json!({"name": "Demo", "provider": "sandbox", "rate_per_minute": 60000, "config": {}}),
    )
    .await;
    // Even: delivered then read; odd: delivered; ending in 7: undelivered; 13: never sent.
    let recipients = [
        "+34600000010",
        "+34600000011",
        "+34600000017",
        "+34600000113",
    ]
    .map(str::to_owned);
    let job = app.create_job(&recipients, 1).await;
    let done = app.wait_until_finished(job.id).await;
    assert_eq!(done.progress.sent, 3);
    let settled = receipts_until(&app, job.id, |j| {
        let r = j.receipts.unwrap();
        r.read == 1 && r.undelivered == 1 && r.delivered == 2
    })
    .await;
    assert_eq!(settled.receipts.unwrap().awaiting, 0);
    let events = app.events(job.id).await;
    let undelivered = events
        .iter()
        .find(|e| e["type"] == "receipt" && e["status"] == "undelivered")
        .unwrap();
    assert_eq!(undelivered["phone"], "+34600000017");
    assert_eq!(
        undelivered["error"],
        jobpulse::server::adapters::providers::sandbox::UNDELIVERED
    );
}

#[tokio::test]
async fn a_send_keeps_the_receipts_window_it_was_created_with() {
    let app = spawn_app_with(|s| {
        s.senders.allow_private_addresses = true;
        s.senders.receipts_window_hours = 2;
    })
    .await;
    create_sender(
        &app,
        json!({"name": "Demo", "provider": "sandbox", "rate_per_minute": 60000, "config": {}}),
    )
    .await;
    let job = app.create_job(&["+34600000011".to_owned()], 1).await;
    let done = app.wait_until_finished(job.id).await;
    let window = done.receipts_open_until.unwrap() - done.finished_at.unwrap();
    assert_eq!(window, chrono::Duration::hours(2));
}
