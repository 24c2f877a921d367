//! Sender health from the gateways themselves (CONTRACT.md "Senders": `health`): each adapter
//! asks its gateway's documented status endpoint (a Wablas device's info, a Cloud API number's
//! status, a Twilio account), the server asks on its own every `health_check_seconds`, pushes
//! every change live to `subscribe_senders` subscribers, and gives a sender its gateway reports
//! down no work while another sender of the job can send.

use std::time::Duration;

use jobpulse::protocol::fault::{Gateway, SendFault, wablas_code};
use jobpulse::protocol::senders::{SenderHealth, SenderView};
use jobpulse::server::adapters::providers::{
    MessagingProvider, Reported, Twilio, TwilioFrom, Wablas, WhatsappCloud,
};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::fake_cloud_api::{ACCESS_TOKEN, FakeCloudApi, PHONE_NUMBER_ID};
use crate::fake_twilio::{ACCOUNT_SID, AUTH_TOKEN, FakeTwilio};
use crate::fake_wablas::{FakeWablas, SECRET_KEY, TOKEN};
use crate::helpers::{Socket, TestApp, next_msg, send_json, spawn_app_with};

const TIMEOUT: Duration = Duration::from_secs(10);

fn down(fault: SendFault) -> Option<Reported> {
    Some(Reported::not_ok(SenderHealth::Down, fault))
}

fn state(gateway: Gateway, state: &str, quality: Option<&str>) -> SendFault {
    SendFault::ProviderState {
        gateway,
        state: state.into(),
        quality: quality.map(str::to_owned),
    }
}

#[tokio::test]
async fn wablas_health_is_the_device_connection_and_its_quota() {
    let fake = FakeWablas::start().await;
    let wablas = Wablas::new(&fake.base_url(), TOKEN, SECRET_KEY, TIMEOUT);
    assert_eq!(wablas.check_health().await, Some(Reported::ok()));
    let asked = fake.info_requests();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].0.as_deref(), Some(TOKEN), "the token in the query");
    assert_eq!(
        asked[0].1.as_deref(),
        Some(format!("{TOKEN}.{SECRET_KEY}").as_str())
    );

    fake.device("disconnected", 1000);
    let disconnected = SendFault::GatewayCode {
        gateway: Gateway::Wablas,
        error_code: wablas_code::DEVICE_DISCONNECTED,
        said: "device disconnected".into(),
    };
    assert_eq!(wablas.check_health().await, down(disconnected));

    fake.device("connected", 0);
    let Some(Reported {
        health: SenderHealth::Down,
        fault: Some(SendFault::GatewayCode { error_code, .. }),
    }) = wablas.check_health().await
    else {
        panic!("a used-up quota keeps the device from sending");
    };
    assert_eq!(error_code, wablas_code::QUOTA_USED_UP);

    let refused = Wablas::new(&fake.base_url(), "not-the-token", "", TIMEOUT);
    assert_eq!(
        refused.check_health().await,
        down(SendFault::GatewayCode {
            gateway: Gateway::Wablas,
            error_code: wablas_code::TOKEN_REFUSED,
            said: "token invalid".into(),
        })
    );

    // Nobody answering tells nothing: the sends' own results decide then.
    let gone = Wablas::new("http://127.0.0.1:9", TOKEN, SECRET_KEY, TIMEOUT);
    assert_eq!(gone.check_health().await, None);
}

#[tokio::test]
async fn cloud_api_health_is_the_number_status_its_quality_and_metas_verdict() {
    let fake = FakeCloudApi::start().await;
    let cloud = WhatsappCloud::new(&fake.base_url(), PHONE_NUMBER_ID, ACCESS_TOKEN, TIMEOUT);
    let cloud_state = |s, q| state(Gateway::WhatsappCloud, s, q);
    assert_eq!(cloud.check_health().await, Some(Reported::ok()));
    assert_eq!(
        fake.number_requests(),
        vec!["status,quality_rating,health_status".to_owned()]
    );

    let cases = [
        (
            ("RESTRICTED", "GREEN", "AVAILABLE"),
            SenderHealth::Down,
            cloud_state("RESTRICTED", Some("GREEN")),
        ),
        (
            ("CONNECTED", "YELLOW", "BLOCKED"),
            SenderHealth::Down,
            cloud_state("BLOCKED", Some("YELLOW")),
        ),
        (
            ("FLAGGED", "YELLOW", "AVAILABLE"),
            SenderHealth::Degraded,
            cloud_state("FLAGGED", Some("YELLOW")),
        ),
        (
            ("CONNECTED", "RED", "AVAILABLE"),
            SenderHealth::Degraded,
            cloud_state("CONNECTED", Some("RED")),
        ),
        (
            ("CONNECTED", "GREEN", "LIMITED"),
            SenderHealth::Degraded,
            cloud_state("LIMITED", Some("GREEN")),
        ),
    ];
    for ((status, quality, can_send), health, fault) in cases {
        fake.number(status, quality, can_send);
        assert_eq!(
            cloud.check_health().await,
            Some(Reported::not_ok(health, fault)),
            "{status} {quality} {can_send}"
        );
    }

    fake.expire_token(true);
    let Some(Reported {
        health: SenderHealth::Down,
        fault:
            Some(SendFault::GatewayCode {
                gateway: Gateway::WhatsappCloud,
                error_code: 190,
                ..
            }),
    }) = cloud.check_health().await
    else {
        panic!("an expired token keeps every message from going");
    };
}

#[tokio::test]
async fn twilio_health_is_the_account_status() {
    let fake = FakeTwilio::start().await;
    let twilio = |token: &str| {
        Twilio::new(
            &fake.base_url(),
            ACCOUNT_SID,
            token,
            TwilioFrom::Number("+15005550006".into()),
            None,
            TIMEOUT,
        )
    };
    assert_eq!(
        twilio(AUTH_TOKEN).check_health().await,
        Some(Reported::ok())
    );
    fake.account_status("suspended");
    assert_eq!(
        twilio(AUTH_TOKEN).check_health().await,
        down(state(Gateway::Twilio, "suspended", None))
    );
    let Some(Reported {
        health: SenderHealth::Down,
        fault: Some(SendFault::GatewayCode { error_code, .. }),
    }) = twilio("wrong").check_health().await
    else {
        panic!("refused credentials keep every message from going");
    };
    assert_eq!(error_code, 20003);
}

async fn app() -> TestApp {
    spawn_app_with(|s| {
        // The fakes listen on 127.0.0.1; ask the gateways every second.
        s.senders.allow_private_addresses = true;
        s.senders.health_check_seconds = 1;
    })
    .await
}

async fn create_wablas(app: &TestApp, name: &str, fake: &FakeWablas) -> SenderView {
    crate::receipts::create_sender(
        app,
        json!({"name": name, "provider": "wablas", "rate_per_minute": 60000, "config": {
            "base_url": fake.base_url(), "token": TOKEN, "secret_key": SECRET_KEY}}),
    )
    .await
}

async fn sender(app: &TestApp, id: uuid::Uuid) -> SenderView {
    let response = app.get(&format!("/api/senders/{id}")).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Polls the sender until its health is `health`, failing after a deadline.
async fn wait_health(app: &TestApp, id: uuid::Uuid, health: SenderHealth) -> SenderView {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let sender = sender(app, id).await;
        if sender.health == health {
            return sender;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "sender never became {health:?}: {sender:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A live connection following the senders' health, with its `senders_subscribed`.
async fn follow_senders(port: u16, token: &str) -> (Socket, Value) {
    let mut request = format!("ws://127.0.0.1:{port}/api/ws")
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(next_msg(&mut socket).await["type"], "connected");
    send_json(&mut socket, &json!({"type": "subscribe_senders"})).await;
    let subscribed = next_msg(&mut socket).await;
    assert_eq!(subscribed["type"], "senders_subscribed", "{subscribed}");
    (socket, subscribed)
}

/// The next `sender_health` for `id` whose health is `health` (others are passed over), within
/// 30 s: other messages keep coming, so waiting for each one alone would never give up.
async fn next_health(socket: &mut Socket, id: uuid::Uuid, health: &str) -> Value {
    let wanted = async {
        loop {
            let msg = next_msg(socket).await;
            if msg["type"] == "sender_health"
                && msg["sender_id"] == id.to_string()
                && msg["health"] == health
            {
                return msg;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wanted)
        .await
        .unwrap_or_else(|_| panic!("sender {id} was not reported {health} within 30 s"))
}

/// Waits until `count` instances listen for each other's announcements on the app's database.
/// A change announced before an instance listens is not heard there (only job events are read
/// back when a listener connects).
async fn listeners_ready(app: &TestApp, count: i64) {
    use sqlx::Connection;
    let mut db = sqlx::PgConnection::connect(&app.settings.database_url)
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let listening: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND application_name = $1 AND state = 'idle' AND query ILIKE 'LISTEN%'",
        )
        .bind(jobpulse::server::live::bridge::LISTENER_NAME)
        .fetch_one(&mut db)
        .await
        .unwrap();
        if listening >= count {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{listening} of {count} instances listen after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_server_asks_the_gateway_on_its_own_and_pushes_each_change_live() {
    let app = app().await;
    let fake = FakeWablas::start().await;
    fake.device("disconnected", 1000);
    let created = create_wablas(&app, "Toko", &fake).await;
    let (mut socket, subscribed) = follow_senders(app.port, &app.token).await;
    let listed = subscribed["senders"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["sender_id"], created.id.to_string());
    assert_eq!(listed[0]["name"], "Toko");

    let change = next_health(&mut socket, created.id, "down").await;
    assert_eq!(change["health_fault"]["code"], "gateway_code", "{change}");
    assert_eq!(
        change["health_fault"]["error_code"],
        wablas_code::DEVICE_DISCONNECTED
    );
    let detail = change["health_detail"].as_str().unwrap();
    assert!(detail.contains("disconnected"), "{detail}");
    let stored = wait_health(&app, created.id, SenderHealth::Down).await;
    assert_eq!(stored.health_detail.as_deref(), Some(detail));

    fake.device("connected", 1000);
    let back = next_health(&mut socket, created.id, "ok").await;
    assert_eq!(back["health_detail"], Value::Null, "{back}");
    wait_health(&app, created.id, SenderHealth::Ok).await;
    assert!(
        fake.info_requests().len() >= 2,
        "asked again after the first answer"
    );
}

#[tokio::test]
async fn a_sender_its_gateway_reports_down_gets_no_work_while_another_can_send() {
    let app = app().await;
    let (broken, working) = (FakeWablas::start().await, FakeWablas::start().await);
    broken.device("disconnected", 1000);
    let broken_sender = create_wablas(&app, "Broken", &broken).await;
    let working_sender = create_wablas(&app, "Working", &working).await;
    wait_health(&app, broken_sender.id, SenderHealth::Down).await;

    let phones = crate::helpers::phones(12);
    let response = app
        .send_bulk(&json!({
            "phones": phones, "message": "hola", "devices_limit": 2,
            "senders": [broken_sender.id, working_sender.id],
        }))
        .await;
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    let job: jobpulse::protocol::JobView = serde_json::from_value(body["job"].clone()).unwrap();
    let job = app.wait_until_finished(job.id).await;
    assert_eq!(job.progress.sent, 12, "{job:?}");
    assert!(
        broken.requests().is_empty(),
        "nothing was tried through the device its gateway reports disconnected"
    );
    assert_eq!(working.requests().len(), 12);
    let items = app.items(job.id, "sent").await;
    assert_eq!(items.len(), 12);
    assert!(
        items
            .iter()
            .all(|item| item.sender_id == Some(working_sender.id)),
        "{items:?}"
    );
}

#[tokio::test]
async fn on_postgresql_a_change_recorded_anywhere_reaches_every_instances_followers() {
    let app = crate::helpers::spawn_app_on_postgres(|s| {
        s.senders.allow_private_addresses = true;
        // Nobody asks the gateway: the change below is the only one.
        s.senders.health_check_seconds = 0;
    })
    .await;
    let fake = FakeWablas::start().await;
    let created = create_wablas(&app, "Toko", &fake).await;
    let other = app.another_instance().await;
    let (mut socket, _) = follow_senders(other.port, &app.token).await;
    listeners_ready(&app, 2).await;
    // Recorded through the first instance's store: the second hears it from the database.
    let fault = SendFault::GatewayCode {
        gateway: Gateway::Wablas,
        error_code: wablas_code::DEVICE_DISCONNECTED,
        said: "device disconnected".into(),
    };
    let changed = app
        .state
        .store
        .set_sender_health(
            created.id,
            SenderHealth::Down,
            Some(&fault),
            jobpulse::server::store::HealthSource::Provider,
        )
        .await
        .unwrap();
    assert!(changed.is_some());
    let change = next_health(&mut socket, created.id, "down").await;
    assert_eq!(change["name"], "Toko");
    assert_eq!(change["health_detail"], fault.english());
    // And that instance's devices know it is down.
    assert!(other.state.hub.reported_down(created.id));
}
