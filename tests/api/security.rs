//! Tenancy, login, tokens and cross-site protection: nobody reaches into another tenant's work.

use std::time::Duration;

use futures::StreamExt;
use jobpulse::server::http::auth;
use jobpulse::server::store::{NewBulkJob, Role};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::{TestApp, next_msg, phones, send_json, session_cookie, spawn_app_with};

/// A logged-in browser of `tenant`: its session cookie and the page's CSRF token.
pub(crate) struct Browser {
    pub(crate) cookie: String,
    pub(crate) csrf: String,
}

pub(crate) async fn user(app: &TestApp, tenant: &str, username: &str, role: Role) -> Browser {
    let store = app.state.store.as_ref();
    let tenant = match store.tenant_by_name(tenant).await.unwrap() {
        Some(t) => t,
        None => store.create_tenant(tenant).await.unwrap(),
    };
    store
        .create_user(
            tenant.id,
            username,
            &auth::hash_password("correct horse battery"),
            role,
        )
        .await
        .unwrap();
    let response = app
        .post_login(&tenant.name, username, "correct horse battery")
        .await;
    let cookie = session_cookie(&response).expect("logged in");
    let html = app
        .client
        .get(format!("{}/", app.address))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = "name=\"csrf-token\" content=\"";
    let start = html.find(marker).unwrap() + marker.len();
    Browser {
        cookie,
        csrf: html[start..start + 64].to_owned(),
    }
}

impl Browser {
    /// Calls a server function the way the page does.
    pub(crate) async fn call(
        &self,
        app: &TestApp,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        app.client
            .post(format!("{}/api/{endpoint}", app.address))
            .header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf)
            .header("sec-fetch-site", "same-origin")
            .form(form)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn a_tenant_learns_nothing_about_another_tenants_jobs() {
    let app = spawn_app_with(|s| {
        s.engine.enabled = false;
        s.limits.api_requests_per_second = 100_000;
        s.live.max_client_messages_per_sec = 100_000;
    })
    .await;
    // Tenant B: 1,000 jobs whose message is a marker that must never leak.
    let b = app.state.store.create_tenant("globex").await.unwrap();
    let mut b_ids = Vec::new();
    for _ in 0..1_000 {
        let created = app
            .state
            .store
            .create_bulk_job(NewBulkJob {
                tenant_id: b.id,
                message: "SECRET-OF-GLOBEX".into(),
                devices_limit: 1,
                recipients: vec!["+34699999999".into()],
                skipped: 0,
                skipped_opted_out: 0,
                idempotency_key: None,
                senders: vec![],
                receipts_window_hours: 72,
                name: None,
                tags: Vec::new(),
            })
            .await
            .unwrap();
        b_ids.push(created.job().id.to_string());
    }
    let random: Vec<String> = (0..100).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    let a_session = user(&app, "acme", "ana", Role::Admin).await;

    // REST, with A's token and with A's session, over every job route.
    let probe = |id: String, route: &'static str, method: &'static str, by_cookie: bool| {
        let client = app.client.clone();
        let url = format!("{}/api/jobs/{id}{route}", app.address);
        let (token, cookie, csrf) = (
            app.token.clone(),
            a_session.cookie.clone(),
            a_session.csrf.clone(),
        );
        async move {
            let request = if method == "GET" {
                client.get(url)
            } else {
                client.post(url)
            };
            let request = if by_cookie {
                request
                    .header("cookie", cookie)
                    .header("x-csrf-token", csrf)
            } else {
                request.bearer_auth(token)
            };
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.text().await.unwrap())
        }
    };
    let routes = [
        ("", "GET"),
        ("/events", "GET"),
        ("/events?after_seq=0", "GET"),
        ("/items", "GET"),
        ("/cancel", "POST"),
        ("/pause", "POST"),
        ("/resume", "POST"),
        ("/retry-failed", "POST"),
    ];
    for by_cookie in [false, true] {
        for (route, method) in routes {
            let (expected_status, expected_body) =
                probe(random[0].clone(), route, method, by_cookie).await;
            assert_eq!(expected_status, 404, "{route}");
            for chunk in b_ids.chunks(100).chain(random.chunks(100)) {
                let answers = futures::future::join_all(
                    chunk
                        .iter()
                        .map(|id| probe(id.clone(), route, method, by_cookie)),
                )
                .await;
                for (status, body) in answers {
                    assert_eq!(
                        (status, body.as_str()),
                        (expected_status, expected_body.as_str()),
                        "{route}"
                    );
                }
            }
        }
    }
    let listed = app.get("/api/jobs?limit=500").await.text().await.unwrap();
    assert_eq!(listed, "[]");

    // Pages and server functions, with A's session.
    for id in b_ids.iter().take(50) {
        let page = app
            .client
            .get(format!("{}/jobs/{id}", app.address))
            .header("cookie", &a_session.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 404);
        assert!(!page.text().await.unwrap().contains("SECRET"));
        let data = a_session
            .call(&app, "job_page", &[("id", id)])
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(data, "null");
        let items = a_session
            .call(&app, "job_items", &[("id", id), ("status", "pending")])
            .await;
        assert!(!items.text().await.unwrap().contains("+34699999999"));
        let action = a_session
            .call(&app, "job_action", &[("id", id), ("command", "Cancel")])
            .await;
        let problem: Value = action.json().await.unwrap();
        assert_eq!(
            problem,
            serde_json::json!({"code": "not_found", "thing": "job"})
        );
    }

    // Both WebSocket endpoints, and subscribe messages for every one of B's ids.
    for id in b_ids.iter().take(20).chain(random.iter().take(5)) {
        let mut socket = app
            .ws(&format!("/api/ws/job/{id}?token={}", app.token), None)
            .await;
        assert_eq!(next_msg(&mut socket).await["type"], "connected");
        let answer = next_msg(&mut socket).await;
        assert_eq!(
            answer,
            json!({"type": "error", "job_id": id, "error": "job not found"})
        );
    }
    let mut socket = app.ws("/api/ws", Some(&app.token)).await;
    next_msg(&mut socket).await;
    for id in b_ids.iter().chain(random.iter()) {
        send_json(
            &mut socket,
            &json!({"type": "subscribe_job", "job_id": id, "after_seq": 0}),
        )
        .await;
        let answer = next_msg(&mut socket).await;
        assert_eq!(
            answer,
            json!({"type": "error", "job_id": id, "error": "job not found"})
        );
    }
    send_json(&mut socket, &json!({"type": "subscribe_jobs"})).await;
    send_json(&mut socket, &json!({"type": "ping", "timestamp": 1})).await;
    assert_eq!(next_msg(&mut socket).await["type"], "pong");
}

#[tokio::test]
async fn websocket_upgrades_from_foreign_origins_are_refused_even_with_a_cookie() {
    let app = spawn_app_with(|_| {}).await;
    let browser = user(&app, "acme", "ana", Role::Operator).await;
    let own = format!("http://127.0.0.1:{}", app.port);
    let attempt = |origin: String| {
        let cookie = browser.cookie.clone();
        let port = app.port;
        async move {
            let mut request = format!("ws://127.0.0.1:{port}/api/ws")
                .into_client_request()
                .unwrap();
            request
                .headers_mut()
                .insert("origin", origin.parse().unwrap());
            request
                .headers_mut()
                .insert("cookie", cookie.parse().unwrap());
            match tokio_tungstenite::connect_async(request).await {
                Ok(_) => 101,
                Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                    response.status().as_u16()
                }
                Err(other) => panic!("{other}"),
            }
        }
    };
    for origin in [
        "https://evil.example".to_owned(),
        format!("{own}.evil.net"),
        format!("http://evil{}", own.trim_start_matches("http://")),
        "null".to_owned(),
    ] {
        assert_eq!(attempt(origin.clone()).await, 403, "{origin}");
    }
    assert_eq!(attempt(own).await, 101, "the site's own origin is welcome");
}

#[tokio::test]
async fn cross_site_and_token_less_posts_to_server_functions_are_refused() {
    let app = spawn_app_with(|_| {}).await;
    let admin = user(&app, "acme", "ana", Role::Admin).await;
    let job = app.create_job(&phones(2), 1).await.id.to_string();
    let calls: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "start_bulk_send",
            vec![
                ("message", "x"),
                ("recipients", "+34600000001"),
                ("devices_limit", "1"),
            ],
        ),
        ("job_action", vec![("id", &job), ("command", "Cancel")]),
        ("create_token", vec![("name", "stolen")]),
        (
            "create_user",
            vec![
                ("username", "mallory"),
                ("password", "0123456789ab"),
                ("role", "admin"),
            ],
        ),
        ("logout", vec![]),
    ];
    for (endpoint, form) in &calls {
        let post = |headers: Vec<(&'static str, String)>| {
            let mut request = app
                .client
                .post(format!("{}/api/{endpoint}", app.address))
                .header("cookie", &admin.cookie)
                .form(form);
            for (name, value) in headers {
                request = request.header(name, value);
            }
            request.send()
        };
        let evil = post(vec![
            ("origin", "https://evil.example".into()),
            ("x-csrf-token", admin.csrf.clone()),
        ])
        .await
        .unwrap();
        assert_eq!(evil.status(), 403, "{endpoint}: foreign Origin");
        let cross = post(vec![
            ("sec-fetch-site", "cross-site".into()),
            ("x-csrf-token", admin.csrf.clone()),
        ])
        .await
        .unwrap();
        assert_eq!(cross.status(), 403, "{endpoint}: Sec-Fetch-Site cross-site");
        let tokenless = post(vec![("sec-fetch-site", "same-origin".into())])
            .await
            .unwrap();
        assert_eq!(tokenless.status(), 403, "{endpoint}: no CSRF token");
        let wrong = post(vec![("x-csrf-token", "0".repeat(64))]).await.unwrap();
        assert_eq!(wrong.status(), 403, "{endpoint}: wrong CSRF token");
        // Refused in the server functions' own encoding (a problem code), so the page can word it.
        let problem: Value = wrong.json().await.unwrap();
        assert_eq!(problem["code"], "forbidden", "{endpoint}");
        assert_eq!(problem["denial"], "no_csrf_token", "{endpoint}");
        // And none of them uses GET.
        let get = app
            .client
            .get(format!("{}/api/{endpoint}", app.address))
            .header("cookie", &admin.cookie)
            .send()
            .await
            .unwrap();
        assert!(
            get.status().is_client_error(),
            "{endpoint} answers GET with {}",
            get.status()
        );
    }
    // Nothing happened.
    let jobs: Vec<Value> = app.get("/api/jobs").await.json().await.unwrap();
    assert_eq!(jobs.len(), 1);
    let tenant = app
        .state
        .store
        .tenant_by_name("acme")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        app.state.store.list_tokens(tenant.id).await.unwrap().len(),
        1
    );
    assert!(
        app.state
            .store
            .user_by_username(tenant.id, "mallory")
            .await
            .unwrap()
            .is_none()
    );
    // The same calls from the page, with its token, do work.
    let created = admin
        .call(&app, "create_token", &[("name", "billing")])
        .await;
    assert!(created.status().is_success());
}

#[tokio::test]
async fn the_sixth_wrong_password_in_a_minute_is_throttled() {
    let app = spawn_app_with(|_| {}).await;
    user(&app, "acme", "ana", Role::Operator).await;
    let attempt = |password: &'static str| app.post_login("acme", "ana", password);
    // The login in `user` was the first attempt of the minute.
    for _ in 0..4 {
        let wrong = attempt("guess").await;
        let problem: Value = wrong.json().await.unwrap();
        assert_eq!(problem["code"], "wrong_password");
    }
    let throttled = attempt("guess").await;
    assert_eq!(throttled.status(), 429);
    let retry_after: u64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    let problem: Value = throttled.json().await.unwrap();
    assert_eq!(problem["code"], "too_many_logins");
    assert_eq!(problem["seconds"], retry_after);
    // Even the right password waits now.
    let right = attempt("correct horse battery").await;
    assert_eq!(right.status(), 429);
    assert!(right.headers().get("set-cookie").is_none());
}

/// Waits for the server to close the socket; the close code, if any.
async fn closed(socket: &mut crate::helpers::Socket) -> Option<u16> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, socket.next())
            .await
            .expect("closed in time")
        {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            _ => return None,
        }
    }
}

#[tokio::test]
async fn logging_out_closes_that_sessions_live_sockets() {
    let app = spawn_app_with(|_| {}).await;
    let browser = user(&app, "acme", "ana", Role::Operator).await;
    let mut request = format!("ws://127.0.0.1:{}/api/ws", app.port)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("cookie", browser.cookie.parse().unwrap());
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(next_msg(&mut socket).await["type"], "connected");
    assert!(
        browser
            .call(&app, "logout", &[])
            .await
            .status()
            .is_success()
    );
    assert_eq!(closed(&mut socket).await, Some(4401));
    // And the cookie no longer opens anything.
    let page = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/", app.address))
        .header("cookie", &browser.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 303);
}

#[tokio::test]
async fn a_revoked_token_closes_its_sockets_and_cannot_reconnect() {
    let app = spawn_app_with(|_| {}).await;
    let admin = user(&app, "acme", "ana", Role::Admin).await;
    let secret: String = admin
        .call(&app, "create_token", &[("name", "ci")])
        .await
        .json()
        .await
        .unwrap();
    let mut socket = app.ws(&format!("/api/ws?token={secret}"), None).await;
    assert_eq!(next_msg(&mut socket).await["type"], "connected");
    let tenant = app
        .state
        .store
        .tenant_by_name("acme")
        .await
        .unwrap()
        .unwrap();
    let tokens = app.state.store.list_tokens(tenant.id).await.unwrap();
    let ci = tokens.iter().find(|t| t.name == "ci").unwrap();
    assert!(ci.last_used_at.is_some(), "last use is recorded");
    let revoked = admin
        .call(&app, "revoke_token", &[("id", &ci.id.to_string())])
        .await;
    assert!(revoked.status().is_success());
    assert_eq!(closed(&mut socket).await, Some(4401));
    let again = tokio_tungstenite::connect_async(format!(
        "ws://127.0.0.1:{}/api/ws?token={secret}",
        app.port
    ))
    .await;
    match again {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401)
        }
        other => panic!("a revoked token reconnected: {:?}", other.map(|_| ())),
    }
    assert_eq!(app.get_as(&secret, "/api/jobs").await.status(), 401);
}

#[tokio::test]
async fn a_viewer_can_watch_but_not_start_or_stop_work() {
    let app = spawn_app_with(|_| {}).await;
    let viewer = user(&app, "acme", "vera", Role::Viewer).await;
    let job = app.create_job(&phones(3), 1).await.id.to_string();
    let start = viewer
        .call(
            &app,
            "start_bulk_send",
            &[
                ("message", "x"),
                ("recipients", "+34600000001"),
                ("devices_limit", "1"),
            ],
        )
        .await;
    assert_eq!(start.status(), 403);
    let cancel = viewer
        .call(&app, "job_action", &[("id", &job), ("command", "Cancel")])
        .await;
    assert_eq!(cancel.status(), 403);
    let rest = app
        .client
        .post(format!("{}/api/messages/send-bulk", app.address))
        .header("cookie", &viewer.cookie)
        .header("x-csrf-token", &viewer.csrf)
        .json(&json!({"message": "x", "phones": ["+34600000001"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), 403);
    let admin_only = viewer.call(&app, "tenant_admin", &[]).await;
    assert_eq!(admin_only.status(), 403);
    // Watching works.
    let page = app
        .client
        .get(format!("{}/jobs/{job}", app.address))
        .header("cookie", &viewer.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("data-testid=\"job-controls\""),
        "no buttons for a viewer"
    );
    let jobs: Vec<Value> = app.get("/api/jobs").await.json().await.unwrap();
    assert_eq!(jobs.len(), 1);
}

#[tokio::test]
async fn api_tokens_are_rate_limited_with_retry_after() {
    let app = spawn_app_with(|s| s.limits.api_requests_per_second = 5).await;
    let mut statuses = Vec::new();
    for _ in 0..15 {
        let response = app.get("/api/jobs").await;
        statuses.push((
            response.status().as_u16(),
            response.headers().get("retry-after").cloned(),
        ));
    }
    let limited = statuses
        .iter()
        .find(|(status, _)| *status == 429)
        .expect("limited");
    assert!(limited.1.is_some());
    assert!(statuses.iter().take(10).all(|(status, _)| *status == 200));
}

#[tokio::test]
async fn pages_and_answers_carry_security_headers() {
    let app = spawn_app_with(|_| {}).await;
    let page = app
        .client
        .get(format!("{}/login", app.address))
        .send()
        .await
        .unwrap();
    let headers = page.headers().clone();
    let csp = headers["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap()
        .to_owned();
    assert!(
        html.contains(&format!("nonce=\"{nonce}\"")),
        "the hydration script carries the CSP nonce"
    );
    assert!(
        csp.contains("frame-ancestors 'none'")
            && csp.contains("'wasm-unsafe-eval'")
            && !csp.contains("unsafe-inline'; script")
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "same-origin");
    let api = app.get("/api/jobs").await;
    assert_eq!(
        api.headers()["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'"
    );
    let second = app
        .client
        .get(format!("{}/login", app.address))
        .send()
        .await
        .unwrap();
    assert_ne!(
        second.headers()["content-security-policy"]
            .to_str()
            .unwrap(),
        csp,
        "a fresh nonce per page"
    );
}
