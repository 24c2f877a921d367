//! Senders (CONTRACT.md "Senders"): a tenant's sending identities over REST, their secrets sealed
//! at rest, and bulk sends spread over them.

use std::collections::HashSet;

use jobpulse::protocol::JobStatus;
use jobpulse::protocol::senders::{SenderHealth, SenderView};
use serde_json::{Value, json};

use crate::fake_cloud_api::{ACCESS_TOKEN, FakeCloudApi, PHONE_NUMBER_ID};
use crate::helpers::{TestApp, phones, spawn_app_with};

async fn app() -> TestApp {
    // The fakes listen on 127.0.0.1.
    spawn_app_with(|s| s.senders.allow_private_addresses = true).await
}

async fn call(app: &TestApp, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    call_as(app, &app.token, method, path, body).await
}

async fn call_as(
    app: &TestApp,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = app
        .client
        .request(method, format!("{}/api{path}", app.address))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn cloud_sender(name: &str, cloud: &FakeCloudApi) -> Value {
    json!({"name": name, "provider": "whatsapp_cloud", "rate_per_minute": 60000, "config": {
        "base_url": cloud.base_url(), "phone_number_id": PHONE_NUMBER_ID,
        "access_token": ACCESS_TOKEN, "app_secret": "app-secret-123",
        "verify_token": "verify-me-456"}})
}

async fn create(app: &TestApp, body: Value) -> SenderView {
    let (status, answer) = call(app, "POST", "/senders", Some(body)).await;
    assert_eq!(status, 201, "{answer}");
    serde_json::from_value(answer["sender"].clone()).unwrap()
}

#[tokio::test]
async fn senders_are_created_listed_changed_and_deleted_without_showing_secrets() {
    let app = app().await;
    let cloud = FakeCloudApi::start().await;
    let (status, answer) = call(
        &app,
        "POST",
        "/senders",
        Some(cloud_sender("Ventas", &cloud)),
    )
    .await;
    assert_eq!(status, 201, "{answer}");
    let text = answer.to_string();
    for secret in [ACCESS_TOKEN, "app-secret-123", "verify-me-456"] {
        assert!(!text.contains(secret), "a secret was shown back: {text}");
    }
    let sender: SenderView = serde_json::from_value(answer["sender"].clone()).unwrap();
    assert_eq!(sender.name, "Ventas");
    assert!(sender.active);
    assert_eq!(sender.rate_per_minute, 60000);
    assert_eq!(sender.health, SenderHealth::Unknown);
    assert_eq!(
        sender.webhook_url,
        format!("{}/api/webhooks/{}", app.address, sender.id)
    );
    assert_eq!(sender.config["phone_number_id"], PHONE_NUMBER_ID);
    let mut set = sender.secrets_set.clone();
    set.sort();
    assert_eq!(set, ["access_token", "app_secret", "verify_token"]);

    // At rest the secrets are sealed: the stored value names none of them, and only this
    // server's key opens it, for this sender only.
    let tenant = app
        .state
        .store
        .tenant_by_name("acme")
        .await
        .unwrap()
        .unwrap();
    let stored = app
        .state
        .store
        .sender(tenant.id, sender.id)
        .await
        .unwrap()
        .unwrap();
    let sealed = stored.sealed_secrets.clone().unwrap();
    assert!(
        !sealed.contains(ACCESS_TOKEN) && !sealed.contains("app-secret"),
        "{sealed}"
    );
    let opened: Value = serde_json::from_str(
        &app.state
            .vault
            .open(&sender.id.to_string(), &sealed)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(opened["access_token"], ACCESS_TOKEN);
    assert!(app.state.vault.open("another-sender", &sealed).is_err());

    let (status, list) = call(&app, "GET", "/senders", None).await;
    assert_eq!(status, 200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains(ACCESS_TOKEN));
    let (status, one) = call(&app, "GET", &format!("/senders/{}", sender.id), None).await;
    assert_eq!((status, one["name"].as_str()), (200, Some("Ventas")));

    // A second sender may not take the name.
    let (status, taken) = call(
        &app,
        "POST",
        "/senders",
        Some(cloud_sender("Ventas", &cloud)),
    )
    .await;
    assert_eq!(status, 409, "{taken}");
    assert_eq!(taken["code"], "invalid_sender");
    assert_eq!(taken["sender_rule"], "name_taken");
    assert!(
        taken["detail"].as_str().unwrap().contains("Ventas"),
        "{taken}"
    );

    let path = format!("/senders/{}", sender.id);
    let (status, changed) = call(
        &app,
        "PATCH",
        &path,
        Some(json!({"name": "Ventas 2", "rate_per_minute": 120, "active": false})),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["name"], "Ventas 2");
    assert_eq!(changed["rate_per_minute"], 120);
    assert_eq!(changed["active"], false);
    let (status, slow) = call(&app, "PATCH", &path, Some(json!({"rate_per_minute": 0}))).await;
    assert_eq!(
        (status, slow["sender_rule"].as_str()),
        (422, Some("rate_out_of_range"))
    );

    // Another tenant's token finds nothing, exactly as for an id that does not exist.
    let other = app.other_tenant_token("globex").await;
    for (method, body) in [
        ("GET", None),
        ("PATCH", Some(json!({"active": true}))),
        ("DELETE", None),
    ] {
        let (status, answer) = call_as(&app, &other, method, &path, body).await;
        assert_eq!(status, 404, "{method}: {answer}");
        assert_eq!(answer["code"], "not_found");
    }
    let (_, theirs) = call_as(&app, &other, "GET", "/senders", None).await;
    assert_eq!(theirs, json!([]));

    let (status, _) = call(&app, "DELETE", &path, None).await;
    assert_eq!(status, 204);
    let (status, _) = call(&app, "GET", &path, None).await;
    assert_eq!(status, 404);
    let (status, _) = call(&app, "DELETE", &path, None).await;
    assert_eq!(status, 404);
    // Deleting drops the secrets at once; the row stays for the items that name it.
    let gone = app.state.store.senders_by_id(&[sender.id]).await.unwrap();
    assert_eq!(gone.len(), 1);
    assert!(gone[0].sealed_secrets.is_none());
}

#[tokio::test]
async fn a_sender_that_breaks_a_rule_is_refused_in_words_and_nothing_is_created() {
    let app = spawn_app_with(|_| {}).await;
    let cases = [
        (
            json!({"name": "x", "provider": "telegram"}),
            "unknown_provider",
        ),
        (json!({"name": " ", "provider": "sandbox"}), "name_empty"),
        (
            json!({"name": "x", "provider": "wablas", "config": {"token": "t"}}),
            "missing_field",
        ),
        (
            json!({"name": "x", "provider": "sandbox", "config": {"token": "t"}}),
            "unknown_field",
        ),
        (
            json!({"name": "x", "provider": "http", "config": {"url": "not a url"}}),
            "not_url",
        ),
        (
            json!({"name": "x", "provider": "http", "config": {"url": "http://169.254.169.254/"}}),
            "private_address",
        ),
        (
            json!({"name": "x", "provider": "twilio", "config": {"account_sid": "AC1", "auth_token": "t"}}),
            "twilio_from",
        ),
        (
            json!({"name": "x", "provider": "sandbox", "rate_per_minute": 60001}),
            "rate_out_of_range",
        ),
    ];
    for (body, rule) in cases {
        let (status, answer) = call(&app, "POST", "/senders", Some(body.clone())).await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert_eq!(answer["code"], "invalid_sender", "{answer}");
        assert_eq!(answer["sender_rule"], rule, "{answer}");
        assert!(!answer["detail"].as_str().unwrap().is_empty());
    }
    let (_, list) = call(&app, "GET", "/senders", None).await;
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn a_bulk_send_spreads_over_the_tenants_senders_and_names_the_sender_of_every_item() {
    let app = app().await;
    let cloud = FakeCloudApi::start().await;
    let a = create(&app, cloud_sender("Cloud", &cloud)).await;
    let b = create(
        &app,
        json!({"name": "Gateway", "provider": "http", "rate_per_minute": 60000,
               "config": {"url": app.provider.url(), "token": "provider-secret"}}),
    )
    .await;
    // A turned-off sender gets no work.
    let off = create(&app, json!({"name": "Off", "provider": "sandbox"})).await;
    call(
        &app,
        "PATCH",
        &format!("/senders/{}", off.id),
        Some(json!({"active": false})),
    )
    .await;

    // Numbers the fakes accept (no "13" endings).
    let recipients: Vec<String> = phones(40)
        .into_iter()
        .filter(|p| !p.ends_with("13"))
        .collect();
    let job = app.create_job(&recipients, 5).await;
    assert_eq!(job.sender_ids(), vec![a.id, b.id]);
    let done = app.wait_until_finished(job.id).await;
    assert_eq!(done.status, JobStatus::Completed, "{done:?}");
    assert_eq!(done.progress.sent, recipients.len() as u64);

    let items = app.items(job.id, "sent").await;
    let mut by_sender = std::collections::HashMap::new();
    for item in &items {
        let sender = item.sender_id.expect("every item names its sender");
        let device = item.device_id.unwrap();
        // Device k is the job's k-th sender.
        assert_eq!(sender, [a.id, b.id][device as usize - 1], "{item:?}");
        *by_sender.entry(sender).or_insert(0_u64) += 1;
    }
    let through_cloud = cloud.bodies().len() as u64;
    let through_http = app
        .provider
        .requests()
        .iter()
        .filter(|r| r.job_id == job.id.to_string())
        .map(|r| r.key.clone())
        .collect::<HashSet<_>>()
        .len() as u64;
    assert_eq!(by_sender.get(&a.id).copied().unwrap_or(0), through_cloud);
    assert_eq!(by_sender.get(&b.id).copied().unwrap_or(0), through_http);
    assert_eq!(through_cloud + through_http, recipients.len() as u64);
    assert!(
        through_cloud > 0 && through_http > 0,
        "{through_cloud} / {through_http}"
    );

    // Events name the sender too, and the senders count what they sent.
    let events = app.events(job.id).await;
    for event in events.iter().filter(|e| e["type"] == "progress") {
        let sender = event["sender_id"].as_str().unwrap();
        assert!([a.id.to_string(), b.id.to_string()].contains(&sender.to_owned()));
    }
    let (_, list) = call(&app, "GET", "/senders", None).await;
    let list: Vec<SenderView> = serde_json::from_value(list).unwrap();
    let stats = |id| list.iter().find(|s| s.id == id).unwrap().stats;
    assert_eq!(stats(a.id).sent, through_cloud);
    assert_eq!(stats(b.id).sent, through_http);
    assert_eq!(stats(a.id).failed + stats(b.id).failed, 0);
    assert_eq!(
        list.iter().find(|s| s.id == a.id).unwrap().health,
        SenderHealth::Ok
    );
}

#[tokio::test]
async fn a_send_names_its_senders_and_refuses_ones_it_cannot_use() {
    let app = app().await;
    let first = create(&app, json!({"name": "One", "provider": "sandbox"})).await;
    let second = create(&app, json!({"name": "Two", "provider": "sandbox"})).await;
    let body =
        |senders: Value| json!({"message": "Hola", "phones": ["+34600000001"], "senders": senders});
    let response = app.send_bulk(&body(json!([second.id]))).await;
    assert_eq!(response.status(), 202);
    let answer: Value = response.json().await.unwrap();
    // The job's lanes: device 1 sends through the one sender chosen.
    let lanes = answer["job"]["senders"].as_array().unwrap();
    assert_eq!(lanes.len(), 1);
    assert_eq!(lanes[0]["sender_id"], json!(second.id));
    assert_eq!(lanes[0]["device_id"], 1);

    let other = app.other_tenant_token("globex").await;
    let response = app.send_bulk_as(&other, &body(json!([first.id]))).await;
    assert_eq!(response.status(), 422);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["rule"], "unknown_sender", "{answer}");

    call(
        &app,
        "PATCH",
        &format!("/senders/{}", first.id),
        Some(json!({"active": false})),
    )
    .await;
    let response = app.send_bulk(&body(json!([first.id, second.id]))).await;
    assert_eq!(response.status(), 422);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["rule"], "sender_off", "{answer}");
    assert!(
        answer["detail"].as_str().unwrap().contains("One"),
        "{answer}"
    );
    let listed: Value = app.get("/api/jobs").await.json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1, "nothing half-created");
}

#[tokio::test]
async fn a_sender_that_keeps_failing_goes_down_and_its_share_goes_to_the_others() {
    let app = app().await;
    let cloud = FakeCloudApi::start().await;
    // Every call answers Meta's 190 (the token expired): worth waiting out, never delivered.
    cloud.expire_token(true);
    let broken = create(&app, cloud_sender("Broken", &cloud)).await;
    let working = create(
        &app,
        json!({"name": "Working", "provider": "http", "rate_per_minute": 60000,
               "config": {"url": app.provider.url(), "token": "provider-secret"}}),
    )
    .await;
    let recipients: Vec<String> = phones(30)
        .into_iter()
        .filter(|p| !p.ends_with("13"))
        .collect();
    let job = app.create_job(&recipients, 2).await;
    let done = app.wait_until_finished(job.id).await;
    assert_eq!(done.status, JobStatus::Completed, "{done:?}");
    let failed = app.items(job.id, "failed").await;
    assert_eq!(failed, vec![], "{done:?}");
    assert_eq!(done.progress.sent, recipients.len() as u64, "{done:?}");
    for item in app.items(job.id, "sent").await {
        assert_eq!(item.sender_id, Some(working.id), "{item:?}");
    }
    let (_, view) = call(&app, "GET", &format!("/senders/{}", broken.id), None).await;
    let view: SenderView = serde_json::from_value(view).unwrap();
    assert_eq!(view.health, SenderHealth::Down, "{view:?}");
    assert!(
        view.health_detail
            .as_deref()
            .unwrap_or_default()
            .contains("190"),
        "{view:?}"
    );
    assert!(view.health_fault.is_some());
}
