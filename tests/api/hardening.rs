//! What a hostile caller tries, and what the server does about it: markup in names, bodies that
//! never end, floods of logins, half-sent requests, subscriptions to made-up jobs, cookies riding
//! along with a bogus `Authorization`, redirects off the site, NUL characters, numbers at the edge.

use std::collections::HashSet;
use std::time::Duration;

use futures::future::join_all;
use jobpulse::server::settings::Settings;
use jobpulse::server::store::Role;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::{
    TestApp, next_msg, phones, send_json, spawn_app, spawn_app_on_postgres, spawn_app_with,
};
use crate::security::user;

const DEADLINE: Duration = Duration::from_secs(20);

/// Reads from a raw connection until the server closes it (or the deadline passes): what it sent.
async fn read_until_closed(stream: &mut TcpStream) -> Option<String> {
    let mut answer = Vec::new();
    let mut buffer = [0_u8; 4096];
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return Some(String::from_utf8_lossy(&answer).into_owned()),
            Ok(Ok(n)) => answer.extend_from_slice(&buffer[..n]),
            Err(_) => return None,
        }
    }
}

#[tokio::test]
async fn a_name_cannot_break_out_of_the_page_title() {
    let app = spawn_app().await;
    let admin = user(&app, "acme", "root", Role::Admin).await;
    let payloads = [
        "x</title><form action=/api/create_user method=post><input name=username value=pwn hidden><input name=password value=pwnpwnpwnpwn hidden><input name=role value=admin hidden>",
        "y</title><meta http-equiv=refresh content=\"0;url=https://evil.example\">",
    ];
    for name in payloads {
        // Any API token can name an outside worker's job, and a campaign.
        let response = app
            .client
            .post(format!("{}/api/jobs", app.address))
            .bearer_auth(&app.token)
            .json(&json!({"kind": "external", "name": name, "total": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let job: Value = response.json().await.unwrap();
        let campaign: Value = app
            .client
            .post(format!("{}/api/campaigns", app.address))
            .bearer_auth(&app.token)
            .json(
                &json!({"name": name, "platform": "demo", "keywords": ["rust"],
                          "target_results": 500, "source": {"kind": "sandbox"}}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let pages = [
            format!("/jobs/{}", job["job"]["id"].as_str().unwrap()),
            format!("/campaigns/{}", campaign["campaignId"].as_str().unwrap()),
        ];
        for page in pages {
            let html = app.page(&page, &admin.cookie).await;
            let head = &html[..html.find("</head>").expect("a head")];
            assert_eq!(head.matches("<title>").count(), 1, "{page}: {head}");
            let title = &head[head.find("<title>").unwrap()..head.find("</title>").unwrap()];
            assert!(title.contains("&lt;/title&gt;"), "{page}: {title}");
            assert!(!head.contains("<form"), "{page}: markup escaped the title");
            assert!(
                !head.contains("<meta http-equiv"),
                "{page}: markup escaped the title"
            );
        }
    }
}

#[tokio::test]
async fn a_bogus_session_cannot_make_the_server_read_a_large_body() {
    let app = spawn_app().await;
    let big = format!("recipients={}", "+34600000001%0A".repeat(80_000));
    for cookie in ["jobpulse_session=bogus", ""] {
        let response = app
            .client
            .post(format!("{}/api/start_bulk_send", app.address))
            .header("cookie", cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(big.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 413, "cookie {cookie:?}");
    }
    // A logged-in operator may still send a large form: the bulk limit is for known callers.
    let ana = user(&app, "acme", "ana", Role::Operator).await;
    let phones = phones(20_000).join("\n");
    let key = "form-large".to_owned();
    let response = ana
        .call(
            &app,
            "start_bulk_send",
            &[
                ("message", "Hola"),
                ("recipients", &phones),
                ("devices_limit", "5"),
                ("idempotency_key", &key),
            ],
        )
        .await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    // A small body is fine for any other call; a large one is not.
    let response = ana
        .call(&app, "create_token", &[("name", &"n".repeat(100_000))])
        .await;
    assert_eq!(response.status(), 413);
}

#[tokio::test]
async fn a_body_that_stops_arriving_is_cut_off() {
    let app = spawn_app_with(|s| s.http.body_read_timeout_ms = 300).await;
    let mut stream = TcpStream::connect(("127.0.0.1", app.port)).await.unwrap();
    stream
        .write_all(
            format!(
                "POST /api/messages/send-bulk HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer {}\r\n\
                 content-type: application/json\r\ncontent-length: 5000\r\n\r\n{{\"message\":",
                app.token
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let answer = read_until_closed(&mut stream)
        .await
        .expect("the server answers or hangs up instead of waiting forever");
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
}

#[tokio::test]
async fn a_login_flood_waits_its_turn_or_is_told_to_come_back() {
    let app = spawn_app_with(|s| {
        s.limits.password_checks_at_once = 1;
        s.limits.password_checks_waiting = 2;
        s.limits.logins_per_address_per_minute = 10_000;
    })
    .await;
    let names: Vec<String> = (0..24).map(|i| format!("user{i}")).collect();
    let attempts = names
        .iter()
        .map(|name| app.post_login("acme", name, "guess"));
    let health = async {
        app.client
            .get(format!("{}/healthz", app.address))
            .send()
            .await
            .unwrap()
            .status()
    };
    let (answers, health) = tokio::join!(join_all(attempts), health);
    assert_eq!(health, 200, "the server keeps answering during the flood");
    let mut busy = 0;
    for answer in answers {
        match answer.status().as_u16() {
            401 => {}
            503 => {
                busy += 1;
                let wait: u64 = answer.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!(wait >= 1);
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(busy > 0, "24 logins at once cannot all be checked");
    assert_eq!(app.state.limits.passwords().busiest(), 1);
}

#[tokio::test]
async fn half_sent_requests_cannot_crowd_out_other_clients() {
    let app = spawn_app_with(|s| {
        s.http.max_connections_per_address = 20;
        s.http.header_read_timeout_ms = 500;
    })
    .await;
    // 60 connections from another address, each sending half a request header and then nothing.
    let mut attackers = Vec::new();
    for _ in 0..60 {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        let mut stream = socket
            .connect(format!("127.0.0.1:{}", app.port).parse().unwrap())
            .await
            .unwrap();
        let _ = stream
            .write_all(b"GET /healthz HTTP/1.1\r\nx-slow: 1\r\n")
            .await;
        attackers.push(stream);
    }
    // Everyone else is served meanwhile.
    let answer = app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    // Beyond its 20, the attacker's connections were closed at once; the 20 are closed once
    // they fail to finish their header in time. None of them got an answer.
    for stream in &mut attackers {
        let answer = read_until_closed(stream)
            .await
            .expect("every half-sent request is hung up on");
        assert!(!answer.contains(" 200 "), "{answer}");
    }
}

#[tokio::test]
async fn subscribing_to_made_up_jobs_costs_nothing() {
    let app = spawn_app_with(|s| s.live.max_client_messages_per_sec = 100_000).await;
    let other = app.other_tenant_token("globex").await;
    let foreign = app.create_job(&phones(2), 1).await.id;
    let mut socket = app.ws(&format!("/api/ws?token={other}"), None).await;
    assert_eq!(next_msg(&mut socket).await["type"], "connected");
    let mut ids: Vec<String> = (0..500).map(|_| uuid::Uuid::now_v7().to_string()).collect();
    ids.push(foreign.to_string());
    for id in &ids {
        send_json(
            &mut socket,
            &json!({"type": "subscribe_job", "job_id": id, "after_seq": 0}),
        )
        .await;
        let answer = next_msg(&mut socket).await;
        assert_eq!(answer["error"], "job not found", "{answer}");
    }
    assert_eq!(app.state.hub.job_channels(), 0);
}

#[tokio::test]
async fn a_token_may_hold_only_so_many_live_connections() {
    let app = spawn_app_with(|s| s.live.max_connections_per_credential = 3).await;
    let mut open = Vec::new();
    for _ in 0..3 {
        let mut socket = app.ws(&format!("/api/ws?token={}", app.token), None).await;
        assert_eq!(next_msg(&mut socket).await["type"], "connected");
        open.push(socket);
    }
    let request = format!("ws://127.0.0.1:{}/api/ws?token={}", app.port, app.token)
        .into_client_request()
        .unwrap();
    match tokio_tungstenite::connect_async(request).await {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 429),
        other => panic!("a fourth connection was let in: {:?}", other.map(|_| ())),
    }
    // Another token is not affected, and a closed connection frees its place.
    let other = app.other_tenant_token("globex").await;
    app.ws(&format!("/api/ws?token={other}"), None).await;
    drop(open.pop());
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let request = format!("ws://127.0.0.1:{}/api/ws?token={}", app.port, app.token)
            .into_client_request()
            .unwrap();
        if tokio_tungstenite::connect_async(request).await.is_ok() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the place was not freed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_authorization_header_never_lets_a_cookie_skip_the_csrf_check() {
    let app = spawn_app().await;
    let ana = user(&app, "acme", "ana", Role::Operator).await;
    for authorization in ["Basic eDp5", "Bearer ", "Bearer", "Token abc"] {
        let form = app
            .client
            .post(format!("{}/api/start_bulk_send", app.address))
            .header("cookie", &ana.cookie)
            .header("authorization", authorization)
            .header("origin", "https://evil.example")
            .form(&[
                ("message", "x"),
                ("recipients", "+34600000001"),
                ("devices_limit", "1"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(form.status(), 401, "{authorization:?}");
        let rest = app
            .client
            .post(format!("{}/api/messages/send-bulk", app.address))
            .header("cookie", &ana.cookie)
            .header("authorization", authorization)
            .header("origin", "https://evil.example")
            .json(&json!({"message": "x", "phones": ["+34600000001"]}))
            .send()
            .await
            .unwrap();
        assert_eq!(rest.status(), 401, "{authorization:?}");
    }
    let jobs: Vec<Value> = app.get("/api/jobs").await.json().await.unwrap();
    assert!(jobs.is_empty(), "nothing was created");
}

#[tokio::test]
async fn after_login_the_browser_only_goes_to_this_site() {
    let app = spawn_app_with(|s| s.limits.logins_per_account_per_minute = 100).await;
    user(&app, "acme", "ana", Role::Operator).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let site = url::Url::parse(&app.address).unwrap();
    for (next, lands_on) in [
        ("/\t/evil.example", None),
        ("/\\evil.example", None),
        // URL parsers drop the newline: this is `//x`, another host.
        ("/\n/x", None),
        ("//evil.example", None),
        ("https://evil.example/", None),
        ("/jobs?status=failed", Some("/jobs?status=failed")),
    ] {
        let response = client
            .post(format!("{}/api/login", app.address))
            .header("accept", "text/html")
            .form(&[
                ("workspace", "acme"),
                ("username", "ana"),
                ("password", "correct horse battery"),
                ("next", next),
            ])
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_redirection(),
            "{next:?}: {}",
            response.status()
        );
        let location = response.headers()["location"].to_str().unwrap();
        let target = site.join(location).unwrap();
        assert_eq!(target.origin(), site.origin(), "{next:?} → {location}");
        assert_eq!(location, lands_on.unwrap_or("/"), "{next:?}");
    }
}

/// Every way text gets in refuses a NUL character with a 422 that names the field.
async fn nul_characters_are_refused_by_field(app: TestApp) {
    let (job, worker) = app.external_job(3, &[]).await;
    let refused = [
        app.send_bulk(&json!({"message": "hola\u{0}", "phones": ["+34600000001"]}))
            .await,
        app.send_bulk(&json!({"message": "hola", "phones": ["+34600000001", "+346\u{0}"]}))
            .await,
        app.client
            .post(format!("{}/api/campaigns", app.address))
            .bearer_auth(&app.token)
            .json(
                &json!({"name": "c", "platform": "demo", "keywords": ["ok", "r\u{0}"],
                          "target_results": 10, "source": {"kind": "sandbox"}}),
            )
            .send()
            .await
            .unwrap(),
        app.report(
            job.id,
            "progress",
            &worker,
            json!({"processed": 1, "message": "\u{0}"}),
        )
        .await,
        app.report(
            job.id,
            "items",
            &worker,
            json!({"items": [{"key": "a", "status": "ok", "data": {"n\u{0}": 1}}]}),
        )
        .await,
        app.get(&format!(
            "/api/campaigns/{}/results?q=%00",
            uuid::Uuid::now_v7()
        ))
        .await,
    ];
    let fields = [
        "message",
        "phones[1]",
        "keywords[1]",
        "message",
        "items[0].data.n\\u0000",
        "q",
    ];
    for (response, field) in refused.into_iter().zip(fields) {
        assert_eq!(response.status(), 422, "{field}");
        let body: Value = response.json().await.unwrap();
        let detail = body["detail"].as_str().unwrap();
        assert!(
            detail.starts_with(&format!("{field} contains a NUL")),
            "{detail}"
        );
    }
    // The same through a page's form.
    let ana = user(&app, "acme", "ana", Role::Operator).await;
    let form = ana
        .call(
            &app,
            "start_bulk_send",
            &[
                ("message", "ho\0la"),
                ("recipients", "+34600000001"),
                ("devices_limit", "1"),
            ],
        )
        .await;
    assert_eq!(form.status(), 422);
    // A page gets the code and its parameters, and words them in its reader's language.
    let problem = form.text().await.unwrap();
    assert!(
        problem.contains(r#""code":"nul_character""#) && problem.contains(r#""field":"message""#),
        "{problem}"
    );
    // Nothing was created but the worker's job.
    let jobs: Vec<Value> = app.get("/api/jobs").await.json().await.unwrap();
    assert_eq!(jobs.len(), 1);
    let job = app.job(job.id).await;
    assert_eq!(job.last_seq, 1, "the worker's reports were refused whole");
}

#[tokio::test]
async fn nul_characters_are_refused_on_sqlite() {
    nul_characters_are_refused_by_field(spawn_app().await).await;
}

#[tokio::test]
async fn nul_characters_are_refused_on_postgres() {
    nul_characters_are_refused_by_field(spawn_app_on_postgres(|_| {}).await).await;
}

#[tokio::test]
async fn numbers_at_the_edge_do_not_wrap() {
    let app = spawn_app().await;
    let job = app.create_job(&phones(3), 1).await;
    app.wait_until_finished(job.id).await;
    let max = u64::MAX;
    let events: Value = app
        .get(&format!("/api/jobs/{}/events?after_seq={max}", job.id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(events["events"].as_array().unwrap().len(), 0, "{events}");
    let items: Value = app
        .get(&format!("/api/jobs/{}/items?after={max}", job.id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(items["items"].as_array().unwrap().len(), 0, "{items}");
    let mut socket = app
        .ws(
            &format!("/api/ws/job/{}?after_seq={max}&token={}", job.id, app.token),
            None,
        )
        .await;
    assert_eq!(next_msg(&mut socket).await["type"], "connected");
    assert_eq!(next_msg(&mut socket).await["type"], "subscribed");
    send_json(&mut socket, &json!({"type": "ping", "timestamp": 1})).await;
    assert_eq!(
        next_msg(&mut socket).await["type"],
        "pong",
        "nothing is replayed"
    );

    // A worker cannot report more done than its job has.
    let (external, worker) = app.external_job(10, &[]).await;
    let over = app
        .report(external.id, "progress", &worker, json!({"processed": 11}))
        .await;
    assert_eq!(over.status(), 422);
    let ok = app
        .report(external.id, "progress", &worker, json!({"processed": 10}))
        .await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn a_page_call_about_a_missing_thing_is_a_404_not_a_500() {
    let app = spawn_app().await;
    let ana = user(&app, "acme", "ana", Role::Operator).await;
    let id = uuid::Uuid::now_v7().to_string();
    let missing = ana
        .call(&app, "job_action", &[("id", &id), ("command", "Cancel")])
        .await;
    assert_eq!(missing.status(), 404);
    let missing = ana.call(&app, "rerun_campaign", &[("id", &id)]).await;
    assert_eq!(missing.status(), 404);
}

fn behind_proxy(settings: &mut Settings) {
    settings.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    settings.limits.logins_per_address_per_minute = 2;
}

#[tokio::test]
async fn the_login_limit_counts_the_address_a_trusted_proxy_names() {
    let app = spawn_app_with(behind_proxy).await;
    let login = |client: &'static str, username: &'static str| {
        app.client
            .post(format!("{}/api/login", app.address))
            .header("x-forwarded-for", client)
            .form(&[
                ("workspace", "acme"),
                ("username", username),
                ("password", "x"),
            ])
            .send()
    };
    assert_eq!(login("203.0.113.1", "a").await.unwrap().status(), 401);
    assert_eq!(login("203.0.113.1", "b").await.unwrap().status(), 401);
    assert_eq!(login("203.0.113.1", "c").await.unwrap().status(), 429);
    // Someone else behind the same proxy is not held back by them.
    assert_eq!(login("203.0.113.2", "d").await.unwrap().status(), 401);

    // Without trusting the proxy, the header is ignored: every attempt is the proxy's.
    let app = spawn_app_with(|s| s.limits.logins_per_address_per_minute = 2).await;
    for (client, expected) in [
        ("198.51.100.1", 401),
        ("198.51.100.2", 401),
        ("198.51.100.3", 429),
    ] {
        let answer = app
            .client
            .post(format!("{}/api/login", app.address))
            .header("x-forwarded-for", client)
            .form(&[
                ("workspace", "acme"),
                ("username", client),
                ("password", "x"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), expected, "{client}");
    }
}

#[tokio::test]
async fn usernames_belong_to_their_workspace() {
    let app = spawn_app().await;
    let acme = user(&app, "acme", "ana", Role::Admin).await;
    // Another tenant may have its own "ana"; neither learns about the other.
    let globex = user(&app, "globex", "ana", Role::Admin).await;
    assert_ne!(acme.cookie, globex.cookie);
    let tenants: HashSet<String> = join_all([&acme, &globex].map(|browser| async {
        let html = app.page("/", &browser.cookie).await;
        ["acme", "globex"]
            .into_iter()
            .find(|t| html.contains(&format!("title=\"{t} · ")))
            .unwrap_or("none")
            .to_owned()
    }))
    .await
    .into_iter()
    .collect();
    assert_eq!(
        tenants,
        HashSet::from(["acme".to_owned(), "globex".to_owned()])
    );
    let again = acme
        .call(
            &app,
            "create_user",
            &[
                ("username", "ana"),
                ("password", "0123456789ab"),
                ("role", "viewer"),
            ],
        )
        .await;
    assert_eq!(again.status(), 409);
    let problem: serde_json::Value = again.json().await.unwrap();
    assert_eq!(
        problem,
        serde_json::json!({"code": "invalid_account", "rule": "username_taken", "username": "ana"})
    );
    // The wrong workspace is a wrong login, whoever the user is elsewhere.
    let wrong = app.post_login("globex", "ana", "wrong password").await;
    assert_eq!(wrong.status(), 401);
    let nowhere = app
        .post_login("initech", "ana", "correct horse battery")
        .await;
    assert_eq!(nowhere.status(), 401);
}
