//! Outgoing webhooks: a job's end reaches the tenant's hooks, signed; refused calls are tried
//! again, a restart loses nothing, and bad hooks are refused with words.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use jobpulse::protocol::JobStatus;
use serde_json::{Value, json};

use crate::helpers::{TestApp, phones, spawn_app_with};

/// One call a hook received.
#[derive(Clone, Debug)]
struct Call {
    headers: HeaderMap,
    body: String,
}

impl Call {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// A receiver of hook calls that answers from a script (then `200`).
#[derive(Clone, Default)]
struct Receiver {
    calls: Arc<Mutex<Vec<Call>>>,
    answers: Arc<Mutex<VecDeque<u16>>>,
    always: Arc<Mutex<Option<u16>>>,
}

impl Receiver {
    async fn start() -> (Receiver, String) {
        let receiver = Receiver::default();
        let state = receiver.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let state = state.clone();
                async move {
                    state.calls.lock().unwrap().push(Call {
                        headers,
                        body: String::from_utf8(body.to_vec()).unwrap(),
                    });
                    let scripted = state.answers.lock().unwrap().pop_front();
                    let code = scripted.or(*state.always.lock().unwrap()).unwrap_or(200);
                    StatusCode::from_u16(code).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (receiver, url)
    }

    fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }

    /// Waits until `count` calls came, failing after a deadline.
    async fn wait_for(&self, count: usize) -> Vec<Call> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let calls = self.calls();
            if calls.len() >= count {
                return calls;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the hook got {} calls, not {count}",
                calls.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn add_hook(app: &TestApp, body: Value) -> reqwest::Response {
    app.client
        .post(format!("{}/api/hooks", app.address))
        .bearer_auth(&app.token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// `POST /hooks/{hook}/test`: queues a ping.
async fn test_call(app: &TestApp, hook: &str) -> reqwest::Response {
    app.client
        .post(format!("{}/api/hooks/{hook}/test", app.address))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap()
}

async fn deliveries(app: &TestApp, hook: &str) -> Vec<Value> {
    let response = app.get(&format!("/api/hooks/{hook}/deliveries")).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Polls a hook's deliveries until the newest is `status`, failing after a deadline.
async fn wait_for_delivery(app: &TestApp, hook: &str, status: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let list = deliveries(app, hook).await;
        if let Some(newest) = list.first().filter(|d| d["status"] == status) {
            return newest.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {status} delivery: {list:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn expected_signature(secret: &str, t: &str, body: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn quick(settings: &mut jobpulse::server::settings::Settings) {
    settings.hooks.poll_ms = 20;
    settings.hooks.retry_base_ms = 20;
    settings.hooks.retry_max_ms = 60;
}

#[tokio::test]
async fn a_finished_send_calls_its_hooks_signed_and_lists_the_delivery() {
    let app = spawn_app_with(quick).await;
    let (receiver, url) = Receiver::start().await;
    let response = add_hook(&app, json!({"url": url, "events": ["job.completed"]})).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{created}");
    let hook = created["hook"]["id"].as_str().unwrap().to_owned();
    assert_eq!(created["hook"]["events"], json!(["job.completed"]));
    // A hook that hears only of failures is not called about a completed job.
    let (quiet, quiet_url) = Receiver::start().await;
    let response = add_hook(&app, json!({"url": quiet_url, "events": ["job.failed"]})).await;
    assert_eq!(response.status(), 201);
    // Lists never show a secret again.
    let listed = app.get("/api/hooks").await.text().await.unwrap();
    assert!(
        !listed.contains(&secret) && !listed.contains("secret"),
        "{listed}"
    );

    let job = app.create_job(&phones(20), 2).await;
    let done = app.wait_until_finished(job.id).await;
    assert_eq!(done.status, JobStatus::Completed);

    let calls = receiver.wait_for(1).await;
    let call = &calls[0];
    assert_eq!(call.header("content-type"), "application/json");
    assert_eq!(call.header("x-jobpulse-event"), "job.completed");
    let body = call.json();
    assert_eq!(
        call.header("x-jobpulse-delivery"),
        body["id"].as_str().unwrap()
    );
    assert_eq!(body["type"], "job.completed");
    assert_eq!(body["data"]["job"]["id"], job.id.to_string());
    assert_eq!(body["data"]["job"]["kind"], "bulk_send");
    assert_eq!(body["data"]["job"]["status"], "completed");
    assert_eq!(body["data"]["event"]["type"], "job_completed");
    assert_eq!(body["data"]["event"]["results"]["sent"], done.progress.sent);
    // The signature is the HMAC of "t.body" under the secret shown at creation.
    let signature = call.header("x-jobpulse-signature");
    let (t, v1) = signature
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
        .unwrap_or_else(|| panic!("signature {signature:?}"));
    assert_eq!(v1, expected_signature(&secret, t, &call.body));
    assert_ne!(v1, expected_signature("whsec_other", t, &call.body));

    let delivered = wait_for_delivery(&app, &hook, "delivered").await;
    assert_eq!(delivered["id"], body["id"]);
    assert_eq!(delivered["attempts"], 1);
    assert_eq!(delivered["response_status"], 200);
    assert_eq!(delivered["job_id"], job.id.to_string());
    let hooks: Value = app.get("/api/hooks").await.json().await.unwrap();
    assert_eq!(hooks[0]["last_delivery"], "delivered");
    assert!(quiet.calls().is_empty());
    assert_eq!(hooks[1]["last_delivery"], Value::Null);
}

#[tokio::test]
async fn a_refused_call_is_tried_again_with_the_same_body_until_answered() {
    let app = spawn_app_with(quick).await;
    let (receiver, url) = Receiver::start().await;
    receiver.answers.lock().unwrap().extend([500, 503]);
    let created: Value = add_hook(&app, json!({"url": url, "events": ["job.failed"]}))
        .await
        .json()
        .await
        .unwrap();
    let hook = created["hook"]["id"].as_str().unwrap();
    let response = test_call(&app, hook).await;
    assert_eq!(response.status(), 202);
    let queued: Value = response.json().await.unwrap();
    assert_eq!(
        (queued["event"].as_str(), queued["status"].as_str()),
        (Some("ping"), Some("pending"))
    );

    let delivered = wait_for_delivery(&app, hook, "delivered").await;
    assert_eq!(delivered["attempts"], 3);
    let calls = receiver.calls();
    assert_eq!(calls.len(), 3);
    for call in &calls {
        assert_eq!(call.body, calls[0].body, "every try sends the same body");
        assert_eq!(
            call.header("x-jobpulse-delivery"),
            queued["id"].as_str().unwrap()
        );
    }
    assert_eq!(calls[0].json()["type"], "ping");
}

#[tokio::test]
async fn a_hook_out_of_tries_is_failed_and_says_why() {
    let app = spawn_app_with(|settings| {
        quick(settings);
        settings.hooks.max_attempts = 2;
    })
    .await;
    let (receiver, url) = Receiver::start().await;
    *receiver.always.lock().unwrap() = Some(500);
    let created: Value = add_hook(&app, json!({"url": url, "events": ["job.completed"]}))
        .await
        .json()
        .await
        .unwrap();
    let hook = created["hook"]["id"].as_str().unwrap();
    test_call(&app, hook).await;
    let failed = wait_for_delivery(&app, hook, "failed").await;
    assert_eq!(
        (
            failed["attempts"].as_u64(),
            failed["response_status"].as_u64()
        ),
        (Some(2), Some(500))
    );
    assert_eq!(failed["next_attempt_at"], Value::Null);
    assert_eq!(receiver.calls().len(), 2);

    // Nobody listening: the call fails without an answer, and says so.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let nowhere = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let created: Value = add_hook(&app, json!({"url": nowhere, "events": ["job.completed"]}))
        .await
        .json()
        .await
        .unwrap();
    let hook = created["hook"]["id"].as_str().unwrap();
    test_call(&app, hook).await;
    let failed = wait_for_delivery(&app, hook, "failed").await;
    assert_eq!(failed["response_status"], Value::Null);
    let error = failed["error"].as_str().unwrap();
    assert!(error.starts_with("unreachable: "), "{error}");
}

#[tokio::test]
async fn a_delivery_waiting_for_its_next_try_survives_a_restart() {
    let mut app = spawn_app_with(|settings| {
        quick(settings);
        // Long enough that the first instance does not try again before it stops.
        settings.hooks.retry_base_ms = 1_000;
        settings.hooks.retry_max_ms = 1_000;
    })
    .await;
    let (receiver, url) = Receiver::start().await;
    *receiver.always.lock().unwrap() = Some(503);
    let created: Value = add_hook(&app, json!({"url": url, "events": ["job.completed"]}))
        .await
        .json()
        .await
        .unwrap();
    let hook = created["hook"]["id"].as_str().unwrap().to_owned();
    let job = app.create_job(&phones(5), 1).await;
    app.wait_until_finished(job.id).await;
    receiver.wait_for(1).await;

    app.restart().await;
    *receiver.always.lock().unwrap() = None;
    let delivered = wait_for_delivery(&app, &hook, "delivered").await;
    assert_eq!(delivered["job_id"], job.id.to_string());
    assert!(delivered["attempts"].as_u64().unwrap() >= 2);
    let calls = receiver.calls();
    assert!(calls.iter().all(|c| c.body == calls[0].body));
}

#[tokio::test]
async fn bad_hooks_are_refused_with_words_and_nothing_is_added() {
    let app = spawn_app_with(|settings| settings.scrape.allow_private_addresses = false).await;
    for (body, rule) in [
        (json!({"url": "", "events": ["job.completed"]}), "url_empty"),
        (
            json!({"url": "ftp://example.com/x", "events": ["job.completed"]}),
            "not_url",
        ),
        (
            json!({"url": "example.com/x", "events": ["job.completed"]}),
            "not_url",
        ),
        (
            json!({"url": "http://127.0.0.1:9/x", "events": ["job.completed"]}),
            "private_address",
        ),
        (
            json!({"url": "http://localhost/x", "events": ["job.completed"]}),
            "private_address",
        ),
        (
            json!({"url": "https://example.com/x", "events": []}),
            "no_events",
        ),
        (
            json!({"url": "https://example.com/x", "events": ["job.exploded"]}),
            "unknown_event",
        ),
        (
            json!({"url": "https://example.com/x", "events": ["ping"]}),
            "unknown_event",
        ),
    ] {
        let response = add_hook(&app, body.clone()).await;
        assert_eq!(response.status(), 422, "{body}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["code"], "invalid_hook", "{body}");
        assert_eq!(problem["hook_rule"], rule, "{body}");
        assert!(!problem["detail"].as_str().unwrap().is_empty());
    }
    let response = add_hook(&app, json!({"url": "https://example.com/x"})).await;
    assert_eq!(response.status(), 422, "events are required");
    let problem: Value = response.json().await.unwrap();
    assert_eq!(problem["code"], "invalid");
    let listed: Value = app.get("/api/hooks").await.json().await.unwrap();
    assert_eq!(listed, json!([]));

    // Another tenant's hook is not there for this one.
    let created: Value = add_hook(
        &app,
        json!({"url": "https://example.com/x", "events": ["job.completed", "job.completed"]}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(created["hook"]["events"], json!(["job.completed"]));
    let hook = created["hook"]["id"].as_str().unwrap();
    let other = app.other_tenant_token("globex").await;
    let response = app
        .get_as(&other, &format!("/api/hooks/{hook}/deliveries"))
        .await;
    assert_eq!(response.status(), 404);
    let listed: Value = app.get_as(&other, "/api/hooks").await.json().await.unwrap();
    assert_eq!(listed, json!([]));
    let delete = |token: String| {
        app.client
            .delete(format!("{}/api/hooks/{hook}", app.address))
            .bearer_auth(token)
            .send()
    };
    assert_eq!(delete(other).await.unwrap().status(), 404);
    assert_eq!(delete(app.token.clone()).await.unwrap().status(), 204);
    let listed: Value = app.get("/api/hooks").await.json().await.unwrap();
    assert_eq!(listed, json!([]));
}
