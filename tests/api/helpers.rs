//! `spawn_app`: the real application on port 0 with a fresh SQLite database and a fake provider.

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use jobpulse::protocol::JobView;
use jobpulse::server::AppState;
use jobpulse::server::http::auth;
use jobpulse::server::settings::{ProviderKind, Settings};
use jobpulse::server::startup::Application;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

pub use crate::fake_provider::FakeProvider;

/// A running app and what a test needs to talk to it.
pub struct TestApp {
    pub address: String,
    pub port: u16,
    /// An API token of the test's own tenant.
    pub token: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub provider: FakeProvider,
    pub settings: Settings,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
    /// Set when the app runs on a fresh PostgreSQL database (dropped with the app).
    _database: Option<crate::postgres::TestDatabase>,
}

/// A WebSocket client.
pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Starts the app with test settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the app on a fresh PostgreSQL database, after `configure` adjusts the test settings.
pub async fn spawn_app_on_postgres(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let database = crate::postgres::TestDatabase::create().await;
    let url = database.url.clone();
    let mut app = spawn_app_with(move |settings| {
        settings.database_url = url;
        configure(settings);
    })
    .await;
    // (In the PostgreSQL pass the app made a database of its own first, unused: dropped here.)
    app._database = Some(database);
    app
}

/// True when this run of the API suite is its PostgreSQL pass (`JOBPULSE_TEST_API_DATABASE=postgres`):
/// every app then starts on a fresh PostgreSQL database instead of a SQLite file.
pub fn postgres_pass() -> bool {
    std::env::var("JOBPULSE_TEST_API_DATABASE").is_ok_and(|db| db == "postgres")
}

/// Starts the app after `configure` adjusts the test settings.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let provider = FakeProvider::start().await;
    let dir = tempfile::tempdir().unwrap();
    let database = if postgres_pass() {
        Some(crate::postgres::TestDatabase::create().await)
    } else {
        None
    };
    let mut settings = Settings {
        addr: "127.0.0.1:0".into(),
        database_url: match &database {
            Some(db) => db.url.clone(),
            None => format!("sqlite://{}", dir.path().join("test.db").display()),
        },
        ..Settings::default()
    };
    settings.demo.enabled = false;
    // The generated secret key goes beside the test's files (shared by its other instances).
    settings.data_dir = dir.path().display().to_string();
    settings.provider.kind = ProviderKind::Http;
    settings.provider.url = provider.url();
    settings.provider.token = "provider-secret".into();
    settings.engine.poll_interval_ms = 50;
    settings.engine.retry_base_delay_ms = 10;
    settings.engine.retry_max_delay_ms = 100;
    // The fixture sites the campaign tests search are on 127.0.0.1.
    settings.scrape.allow_private_addresses = true;
    // Tests hammer the API on purpose; the rate-limit test lowers this again.
    settings.limits.api_requests_per_second = 100_000;
    configure(&mut settings);
    let (state, port, stop) = launch(settings.clone()).await;
    let (_, token) = auth::create_tenant(state.store.as_ref(), "acme")
        .await
        .unwrap();
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        port,
        token,
        // A request the server never answers fails the test, naming the request, instead of
        // hanging the suite.
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap(),
        state,
        provider,
        settings,
        stop: Some(stop),
        _dir: dir,
        _database: database,
    }
}

/// Starts an application on `settings` in the background; the sender stops it.
async fn launch(settings: Settings) -> (AppState, u16, tokio::sync::oneshot::Sender<()>) {
    let app = Application::build(settings).await.expect("the app builds");
    let port = app.port();
    let state = app.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    (state, port, stop)
}

/// Another instance of the same app: same database, same provider, its own port and engine.
pub struct Instance {
    pub state: AppState,
    pub port: u16,
    _stop: tokio::sync::oneshot::Sender<()>,
}

/// `count` distinct Spanish mobile numbers; every tenth ends in 13 (the providers refuse those).
pub fn phones(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| {
            if i % 10 == 3 {
                format!("+346{:06}13", i)
            } else {
                format!("+346{:08}", i * 100 + 1)
            }
        })
        .collect()
}

impl TestApp {
    /// Stops this instance (its engine stops claiming; nothing is cleaned up) and starts a new
    /// one on the same database, as a restart would.
    pub async fn restart(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(engine) = &self.state.engine {
            engine.stop();
        }
        let (state, port, stop) = launch(self.settings.clone()).await;
        self.state = state;
        self.port = port;
        self.address = format!("http://127.0.0.1:{port}");
        self.stop = Some(stop);
    }

    /// Starts a second instance on the same database.
    pub async fn another_instance(&self) -> Instance {
        let (state, port, stop) = launch(self.settings.clone()).await;
        Instance {
            state,
            port,
            _stop: stop,
        }
    }

    /// POSTs to a job action (`cancel`, `pause`, `resume`, `retry-failed`).
    pub async fn job_action(
        &self,
        id: impl std::fmt::Display,
        action: &str,
        body: Option<Value>,
    ) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}/api/jobs/{id}/{action}", self.address))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    /// All events of a job, from the events endpoint.
    pub async fn events(&self, id: impl std::fmt::Display) -> Vec<Value> {
        let page: Value = self
            .get(&format!("/api/jobs/{id}/events?limit=5000"))
            .await
            .json()
            .await
            .unwrap();
        page["events"].as_array().unwrap().clone()
    }

    /// All items of a job with a status.
    pub async fn items(
        &self,
        id: impl std::fmt::Display,
        status: &str,
    ) -> Vec<jobpulse::protocol::ItemView> {
        let page: jobpulse::protocol::ItemsPage = self
            .get(&format!("/api/jobs/{id}/items?status={status}&limit=5000"))
            .await
            .json()
            .await
            .unwrap();
        page.items
    }

    /// Posts the login form (the `login` server function) as a page without JavaScript would.
    pub async fn post_login(
        &self,
        workspace: &str,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        self.client
            .post(format!("{}/api/login", self.address))
            .form(&[
                ("workspace", workspace),
                ("username", username),
                ("password", password),
            ])
            .send()
            .await
            .unwrap()
    }

    /// The HTML of a page, as a browser with this session cookie gets it.
    pub async fn page(&self, path: &str, cookie: &str) -> String {
        self.client
            .get(format!("{}{path}", self.address))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// An API token for a second tenant.
    pub async fn other_tenant_token(&self, name: &str) -> String {
        auth::create_tenant(self.state.store.as_ref(), name)
            .await
            .unwrap()
            .1
    }

    /// `POST /api/messages/send-bulk` with this app's token.
    pub async fn send_bulk(&self, body: &Value) -> reqwest::Response {
        self.send_bulk_as(&self.token, body).await
    }

    /// `POST /api/messages/send-bulk` with another token.
    pub async fn send_bulk_as(&self, token: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(format!("{}/api/messages/send-bulk", self.address))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Creates a bulk send that must be accepted, returning the job.
    pub async fn create_job(&self, phones: &[String], devices: u32) -> JobView {
        let response = self
            .send_bulk(&json!({"message": "Hola!", "phones": phones, "devices_limit": devices}))
            .await;
        assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
        let body: Value = response.json().await.unwrap();
        serde_json::from_value(body["job"].clone()).unwrap()
    }

    /// GET a JSON API path with this app's token.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.get_as(&self.token, path).await
    }

    /// GET a JSON API path with another token.
    pub async fn get_as(&self, token: &str, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.address))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// The job as REST returns it.
    pub async fn job(&self, id: impl std::fmt::Display) -> JobView {
        let response = self.get(&format!("/api/jobs/{id}")).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// Polls the job until `done` holds, failing after a deadline.
    pub async fn wait_for(
        &self,
        id: impl std::fmt::Display + Copy,
        done: impl Fn(&JobView) -> bool,
    ) -> JobView {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let job = self.job(id).await;
            if done(&job) {
                return job;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "job did not get there in time: {job:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Waits until the job has ended.
    pub async fn wait_until_finished(&self, id: impl std::fmt::Display + Copy) -> JobView {
        self.wait_for(id, |job| job.status.is_terminal()).await
    }

    /// Opens a WebSocket at `path` (with `?token=` already in it, or a Bearer header).
    pub async fn ws(&self, path: &str, bearer: Option<&str>) -> Socket {
        let mut request = format!("ws://127.0.0.1:{}{path}", self.port)
            .into_client_request()
            .unwrap();
        if let Some(token) = bearer {
            request
                .headers_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        let (socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        socket
    }
}

/// The `jobpulse_session=…` pair a login answer sets, if it set one.
pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("jobpulse_session="))
        .and_then(|v| v.split(';').next())
        .filter(|pair| pair.len() > "jobpulse_session=".len())
        .map(str::to_owned)
}

/// The next JSON message from the socket, failing after a deadline.
pub async fn next_msg(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .expect("a message within 30 s")
            .expect("the socket stays open")
            .expect("a valid frame");
        match frame {
            Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// Sends a JSON message.
pub async fn send_json(socket: &mut Socket, value: &Value) {
    socket
        .send(Message::Text(value.to_string().into()))
        .await
        .unwrap();
}

/// Reads job events until the job's terminal event, returning their seqs (after the snapshot).
pub async fn collect_until_terminal(socket: &mut Socket) -> Vec<Value> {
    let mut events = Vec::new();
    loop {
        let msg = next_msg(socket).await;
        let terminal = matches!(
            msg["type"].as_str(),
            Some("job_completed" | "job_failed" | "job_cancelled")
        );
        if msg.get("seq").is_some() {
            events.push(msg);
        }
        if terminal {
            return events;
        }
    }
}
