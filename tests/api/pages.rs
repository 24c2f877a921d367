use std::time::Duration;

use jobpulse::server::http::auth;
use jobpulse::server::store::Role;
use serde_json::Value;

use crate::helpers::{TestApp, phones, session_cookie, spawn_app};

/// Logs in through the login server function like the page does, returning the cookie.
async fn login(app: &TestApp) -> String {
    let store = app.state.store.as_ref();
    let tenant = store.tenant_by_name("acme").await.unwrap().unwrap();
    let hash = auth::hash_password("s3cret-pass");
    store
        .create_user(tenant.id, "ana", &hash, Role::Operator)
        .await
        .unwrap();
    let response = app.post_login("acme", "ana", "s3cret-pass").await;
    assert!(response.status().is_success(), "{}", response.status());
    let set = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with("jobpulse_session="))
        .expect("login sets the session cookie");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    session_cookie(&response).unwrap()
}

/// The CSRF token a page embeds for the session.
async fn page_csrf_token(app: &TestApp, cookie: &str) -> String {
    let html = app.page("/bulk/new", cookie).await;
    let start = html
        .find("name=\"csrf-token\" content=\"")
        .expect("the page embeds a CSRF token")
        + "name=\"csrf-token\" content=\"".len();
    html[start..start + 64].to_owned()
}

#[tokio::test]
async fn pages_need_a_login() {
    let app = spawn_app().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = client
        .get(format!("{}/bulk/new", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/login?next=%2Fbulk%2Fnew");
    let response = client
        .get(format!("{}/login", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let wrong = app.post_login("acme", "nobody", "x").await;
    // A wrong password is the caller's mistake, not the server's: 401, not 500.
    assert_eq!(wrong.status(), 401);
    assert!(session_cookie(&wrong).is_none());
    // A problem code the login page words in its reader's language.
    let problem: serde_json::Value = wrong.json().await.unwrap();
    assert_eq!(problem["code"], "wrong_password");
}

#[tokio::test]
async fn the_job_page_renders_the_current_state_on_the_server() {
    let app = spawn_app().await;
    let cookie = login(&app).await;
    let job = app.create_job(&phones(30), 2).await;
    let job = app.wait_until_finished(job.id).await;
    let html = app
        .client
        .get(format!("{}/jobs/{}", app.address, job.id))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("role=\"progressbar\""), "{html:.2000}");
    assert!(html.contains("aria-valuenow=\"100\""));
    assert!(html.contains(&format!("data-testid=\"stat-sent\">{}<", job.progress.sent)));
    assert!(html.contains(&format!(
        "data-testid=\"stat-failed\">{}<",
        job.progress.failed
    )));
    assert!(html.contains("data-status=\"completed\""));
    assert!(
        html.contains("recipient not on WhatsApp"),
        "failed lines are in the log"
    );
    // A Spanish reader gets the provider's refusal framed in Spanish, from its code.
    let spanish = app
        .client
        .get(format!("{}/jobs/{}", app.address, job.id))
        .header("cookie", &cookie)
        .header("accept-language", "es-ES,es;q=0.9")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        spanish.contains("el proveedor dijo: «recipient not on WhatsApp»"),
        "{spanish:.3000}"
    );

    let dashboard = app
        .client
        .get(format!("{}/", app.address))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(dashboard.contains(&format!("data-job-id=\"{}\"", job.id)));

    let other_tenant_job = {
        let other = app.other_tenant_token("globex").await;
        let response = app
            .send_bulk_as(
                &other,
                &serde_json::json!({"message": "x", "phones": phones(1)}),
            )
            .await;
        let body: Value = response.json().await.unwrap();
        body["job"]["id"].as_str().unwrap().to_owned()
    };
    let response = app
        .client
        .get(format!("{}/jobs/{other_tenant_job}", app.address))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn the_form_server_function_reports_bad_lines_and_creates_nothing() {
    let app = spawn_app().await;
    let cookie = login(&app).await;
    let csrf = page_csrf_token(&app, &cookie).await;
    let response = app
        .client
        .post(format!("{}/api/start_bulk_send", app.address))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .form(&[
            ("message", "Hola"),
            (
                "recipients",
                "+34600000001\n\nabc, +34600000002\n+34600000001",
            ),
            ("devices_limit", "5"),
        ])
        .send()
        .await
        .unwrap();
    let status = response.status();
    let outcome: Value = response.json().await.unwrap_or_default();
    assert!(status.is_success(), "{status}: {outcome}");
    let lines = &outcome["Rejected"]["lines"];
    assert_eq!(lines[0]["line"], 3);
    assert_eq!(lines[0]["entry"], "abc");
    assert_eq!(lines[1]["line"], 4);
    assert_eq!(
        lines[1]["issue"],
        serde_json::json!({"issue": "duplicate", "entry": 1, "e164": "+34600000001"})
    );
    let jobs: Vec<Value> = app.get("/api/jobs").await.json().await.unwrap();
    assert!(jobs.is_empty());

    let response = app
        .client
        .post(format!("{}/api/start_bulk_send", app.address))
        .header("cookie", &cookie)
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("message", "Hola"),
            ("recipients", "+34600000001, +34600000002"),
            ("devices_limit", "2"),
            ("idempotency_key", "form-1"),
        ])
        .send()
        .await
        .unwrap();
    let outcome: Value = response.json().await.unwrap();
    let job_id = outcome["Created"]["job_id"]
        .as_str()
        .expect("created")
        .to_owned();
    let job = app.wait_until_finished(job_id.as_str()).await;
    assert_eq!(job.progress.sent, 2);
}

#[tokio::test]
async fn healthz_answers_when_the_database_does() {
    let app = spawn_app().await;
    let response = reqwest::get(format!("{}/healthz", app.address))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// Starting a server walks the app's routes, which parks any resource first polled meanwhile
/// (leptos#4773); pages of servers already running in the process must keep answering.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pages_answer_while_other_servers_start_in_the_process() {
    let app = spawn_app().await;
    let cookie = login(&app).await;
    let job = app.create_job(&phones(3), 1).await;
    let path = format!("/jobs/{}", job.id);
    // The servers that start meanwhile only need to be built (that is where routes are walked),
    // each on a SQLite file of its own, whichever database this pass runs on.
    let dir = tempfile::tempdir().unwrap();
    let build = |n: usize| {
        let mut settings = app.settings.clone();
        settings.addr = "127.0.0.1:0".into();
        settings.database_url =
            format!("sqlite://{}", dir.path().join(format!("{n}.db")).display());
        settings.engine.enabled = false;
        jobpulse::server::startup::Application::build(settings)
    };
    for round in 0..300 {
        let starting = futures::future::join_all((0..4).map(|i| build(round * 4 + i)));
        let pages = futures::future::join_all((0..16).map(|_| async {
            tokio::time::timeout(Duration::from_secs(10), app.page(&path, &cookie))
                .await
                .unwrap_or_else(|_| panic!("round {round}: the job page never answered"))
        }));
        let (started, pages) = tokio::join!(starting, pages);
        for server in started {
            server.expect("the server builds");
        }
        for html in pages {
            assert!(html.contains(&job.id.to_string()), "round {round}");
        }
    }
}
