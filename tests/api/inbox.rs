//! Replies (CONTRACT.md "Delivery receipts and replies"): a recipient's message reaching a
//! sender's webhook is stored for the tenant, linked to the newest send to that number, counted
//! on it with a `reply` event, and pushed to `subscribe_inbox` subscribers as `message_new`.

use jobpulse::protocol::senders::SenderView;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::fake_cloud_api::FakeCloudApi;
use crate::fake_twilio::{ACCOUNT_SID, AUTH_TOKEN, FakeTwilio};
use crate::helpers::{Socket, TestApp, next_msg, send_json, spawn_app_on_postgres};
use crate::receipts::{
    APP_SECRET, app, cloud_sender, cloud_signature, post_cloud, twilio_sender, twilio_signature,
};

/// A Cloud API notification carrying these `(from, wamid, text)` messages.
fn cloud_messages(messages: &[(&str, &str, &str)]) -> Vec<u8> {
    let messages: Vec<Value> = messages
        .iter()
        .map(|(from, id, text)| {
            json!({"from": from, "id": id, "timestamp": "1764700000", "type": "text",
                   "text": {"body": text}})
        })
        .collect();
    serde_json::to_vec(
        &json!({"object": "whatsapp_business_account", "entry": [{"id": "1",
        "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": "34600000001"}],
            "messages": messages}}]}]}),
    )
    .unwrap()
}

async fn post_messages(app: &TestApp, sender: &SenderView, messages: &[(&str, &str, &str)]) {
    let body = cloud_messages(messages);
    let signature = cloud_signature(APP_SECRET, &body);
    assert_eq!(post_cloud(app, sender, body, &signature).await, 200);
}

async fn inbox(app: &TestApp, query: &str) -> Value {
    let response = app.get(&format!("/api/inbox{query}")).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn texts(page: &Value) -> Vec<String> {
    page["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_owned())
        .collect()
}

/// A live connection following the inbox (after `after`, when given), past its `inbox_subscribed`.
async fn follow_inbox(port: u16, token: &str, after: Option<i64>) -> (Socket, Value) {
    let mut request = format!("ws://127.0.0.1:{port}/api/ws")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(next_msg(&mut socket).await["type"], "connected");
    let mut subscribe = json!({"type": "subscribe_inbox"});
    if let Some(after) = after {
        subscribe["after"] = json!(after);
    }
    send_json(&mut socket, &subscribe).await;
    let subscribed = next_msg(&mut socket).await;
    assert_eq!(subscribed["type"], "inbox_subscribed", "{subscribed}");
    (socket, subscribed)
}

/// The next `message_new` on the socket (job events in between are passed over).
async fn next_message_new(socket: &mut Socket) -> Value {
    loop {
        let msg = next_msg(socket).await;
        if msg["type"] == "message_new" {
            return msg;
        }
    }
}

#[tokio::test]
async fn replies_reach_the_inbox_linked_to_the_newest_send_and_are_pushed_live() {
    let app = app().await;
    let cloud = FakeCloudApi::start().await;
    let sender = cloud_sender(&app, &cloud).await;
    let older = app
        .create_job(&["+34600000001".to_owned(), "+34600000002".to_owned()], 1)
        .await;
    app.wait_until_finished(older.id).await;
    let newer = app.create_job(&["+34600000001".to_owned()], 1).await;
    app.wait_until_finished(newer.id).await;
    assert_eq!(app.job(newer.id).await.replies, Some(0));

    let (mut socket, subscribed) = follow_inbox(app.port, &app.token, None).await;
    assert!(subscribed["last_id"].is_null(), "{subscribed}");

    let attack = "<script>alert(1)</script>";
    post_messages(
        &app,
        &sender,
        &[
            ("34600000001", "wamid.IN1", "¿Cuánto cuesta?"),
            ("34600000002", "wamid.IN2", attack),
            ("34699999999", "wamid.IN3", "Who is this?"),
        ],
    )
    .await;

    // Pushed live, in order, each linked to the newest send to its number (or none).
    let first = next_message_new(&mut socket).await;
    assert_eq!(first["from"], "+34600000001");
    assert_eq!(first["text"], "¿Cuánto cuesta?");
    assert_eq!(first["sender_id"], sender.id.to_string());
    assert_eq!(first["job_id"], newer.id.to_string());
    assert_eq!(first["at"], "2025-12-02T18:26:40Z");
    let second = next_message_new(&mut socket).await;
    assert_eq!(second["job_id"], older.id.to_string());
    assert_eq!(second["text"], attack);
    let third = next_message_new(&mut socket).await;
    assert!(third["job_id"].is_null(), "{third}");

    // The provider delivering the same webhook again adds nothing.
    post_messages(
        &app,
        &sender,
        &[("34600000001", "wamid.IN1", "¿Cuánto cuesta?")],
    )
    .await;

    let page = inbox(&app, "").await;
    assert_eq!(
        texts(&page),
        ["¿Cuánto cuesta?", attack, "Who is this?"],
        "{page}"
    );
    let first_id = page["messages"][0]["id"].as_i64().unwrap();
    assert_eq!(page["next_after"], page["messages"][2]["id"]);
    let after = inbox(&app, &format!("?after={first_id}")).await;
    assert_eq!(texts(&after), [attack, "Who is this?"]);
    let newest = inbox(&app, "?limit=1").await;
    assert_eq!(texts(&newest), ["Who is this?"]);
    let before = inbox(&app, &format!("?before={}&limit=1", first_id + 1)).await;
    assert_eq!(texts(&before), ["¿Cuánto cuesta?"]);
    let one_job = inbox(&app, &format!("?job_id={}", older.id)).await;
    assert_eq!(texts(&one_job), [attack]);
    assert_eq!(app.get("/api/inbox?limit=0").await.status(), 400);
    assert_eq!(app.get("/api/inbox?after=soon").await.status(), 400);

    // Each send counts its replies, with a `reply` event in its gap-free log.
    assert_eq!(app.job(newer.id).await.replies, Some(1));
    assert_eq!(app.job(older.id).await.replies, Some(1));
    let events = app.events(newer.id).await;
    let reply = events.iter().find(|e| e["type"] == "reply").unwrap();
    assert_eq!(reply["phone"], "+34600000001");
    assert_eq!(reply["replies"], 1);
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");

    // A client that was away resumes after the last message it had.
    let (mut again, subscribed) = follow_inbox(app.port, &app.token, Some(first_id)).await;
    assert_eq!(subscribed["last_id"], page["next_after"]);
    assert_eq!(next_message_new(&mut again).await["text"], attack);
    assert_eq!(next_message_new(&mut again).await["text"], "Who is this?");

    // Another tenant sees none of it.
    let other = app.other_tenant_token("Other").await;
    let theirs: Value = app.get_as(&other, "/api/inbox").await.json().await.unwrap();
    assert_eq!(theirs["messages"], json!([]));
}

#[tokio::test]
async fn twilio_inbound_messages_reach_the_inbox() {
    let app = app().await;
    let twilio = FakeTwilio::start().await;
    let sender = twilio_sender(&app, &twilio).await;
    let job = app.create_job(&["+34600000001".to_owned()], 1).await;
    app.wait_until_finished(job.id).await;
    // Twilio's inbound-message webhook: the writer in `From`, the words in `Body`.
    let form = [
        ("AccountSid", ACCOUNT_SID),
        ("Body", "Sí, me interesa"),
        ("From", "whatsapp:+34600000001"),
        ("MessageSid", "SM0123456789abcdef0123456789abcdef"),
        ("SmsStatus", "received"),
        ("To", "whatsapp:+15005550006"),
    ];
    let signature = twilio_signature(AUTH_TOKEN, &sender.webhook_url, &form);
    let post = |signature: String| {
        app.client
            .post(&sender.webhook_url)
            .header("x-twilio-signature", signature)
            .form(&form)
            .send()
    };
    assert_eq!(post("bm90IGl0".into()).await.unwrap().status(), 401);
    assert!(texts(&inbox(&app, "").await).is_empty());
    assert_eq!(post(signature.clone()).await.unwrap().status(), 200);
    assert_eq!(post(signature).await.unwrap().status(), 200);
    let page = inbox(&app, "").await;
    assert_eq!(texts(&page), ["Sí, me interesa"], "{page}");
    assert_eq!(page["messages"][0]["from"], "+34600000001");
    assert_eq!(page["messages"][0]["job_id"], job.id.to_string());
    assert_eq!(app.job(job.id).await.replies, Some(1));
}

#[tokio::test]
async fn a_reply_taken_by_one_instance_reaches_inbox_followers_on_another() {
    let app = spawn_app_on_postgres(|s| s.senders.allow_private_addresses = true).await;
    let cloud = FakeCloudApi::start().await;
    let sender = cloud_sender(&app, &cloud).await;
    let other = app.another_instance().await;
    let (mut socket, _) = follow_inbox(other.port, &app.token, None).await;
    post_messages(&app, &sender, &[("34600000001", "wamid.X", "Hola")]).await;
    let message = next_message_new(&mut socket).await;
    assert_eq!(message["text"], "Hola");
    assert_eq!(message["from"], "+34600000001");
}
