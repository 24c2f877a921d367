//! Delivery receipts through the real webhook: WhatsApp Cloud API notifications, signed with the
//! sender's app secret, POSTed to `/api/webhooks/{sender_id}` by concurrent clients, on SQLite and
//! on PostgreSQL; how fast they are acknowledged and applied, and how long a receipt takes from
//! the webhook to a WebSocket subscriber of its job.
//!
//! `cargo bench --features ssr --bench receipts [-- MESSAGES CLIENTS]` (defaults 20000 32). The
//! PostgreSQL half needs `$JOBPULSE_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432`); `RECEIPTS_DATABASE=sqlite` (or `postgres`) runs one only.
//!
//! Per database, in one in-process server: 8 `whatsapp_cloud` senders point at a local fake Cloud
//! API that answers every send with a `wamid`; one bulk send of MESSAGES recipients per batch size
//! (1 and 50 statuses per POST) goes through them before anything is timed. Then a `delivered`
//! and a `read` for every message, all deliveries first, from CLIENTS concurrent clients; a
//! WebSocket client follows the job. Last, a quiet run: 200 `delivered` receipts at 20/s, one per
//! POST, each timed from its POST to its `receipt` event. Bench, server and fake share the cores.

#[path = "../tests/support/postgres.rs"]
mod postgres_db;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use futures::StreamExt;
use hmac::{Hmac, Mac};
use jobpulse::server::http::auth;
use jobpulse::server::settings::Settings;
use jobpulse::server::startup::Application;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

const APP_SECRET: &str = "bench-app-secret";
const ACCESS_TOKEN: &str = "EAAJB-bench-token";
/// Each sender sends at most 1,000 a second (the highest `rate_per_minute`); eight of them make
/// the sends that prepare a run take seconds, not a minute.
const SENDERS: usize = 8;
const BATCHES: [usize; 2] = [1, 50];
const QUIET_RECEIPTS: usize = 200;
const QUIET_PER_SEC: u64 = 20;
/// Generous: on PostgreSQL the backlog of 40,000 receipts took nearly 4 minutes to apply.
const DEADLINE: Duration = Duration::from_secs(900);

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The fake Cloud API's memory: which sender (phone number id) sent to whom, under which wamid.
type Sent = Arc<Mutex<HashMap<String, (String, String)>>>;

/// A Cloud API that accepts every text message and remembers its wamid.
async fn fake_cloud_api() -> (String, Sent) {
    let sent: Sent = Arc::default();
    let counter = Arc::new(AtomicU64::new(0));
    let app = axum::Router::new()
        .route(
            "/{version}/{phone_number_id}/messages",
            axum::routing::post(
                |State((sent, counter)): State<(Sent, Arc<AtomicU64>)>,
                 Path((_version, phone_number_id)): Path<(String, String)>,
                 axum::Json(body): axum::Json<Value>| async move {
                    let to = body["to"].as_str().unwrap_or_default().to_owned();
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    let wamid = format!("wamid.HBgL{to}FQIAERgS{n:016X}");
                    sent.lock()
                        .unwrap()
                        .insert(to.clone(), (phone_number_id, wamid.clone()));
                    axum::Json(json!({
                        "messaging_product": "whatsapp",
                        "contacts": [{"input": to, "wa_id": to}],
                        "messages": [{"id": wamid}],
                    }))
                },
            ),
        )
        .with_state((sent.clone(), counter));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/v21.0"), sent)
}

fn phone_number_id(sender: usize) -> String {
    format!("10654035224{sender:04}")
}

/// Job `job`'s `i`-th recipient: distinct Spanish mobiles across jobs.
fn phone(job: usize, i: usize) -> String {
    format!("+346{job}{i:07}")
}

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A Cloud API notification carrying these statuses, shaped as Meta sends them.
fn notification(phone_number_id: &str, statuses: &[(&Recipient, &str)]) -> Vec<u8> {
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let statuses: Vec<Value> = statuses
        .iter()
        .map(|(recipient, status)| {
            let mut s = json!({"id": recipient.wamid, "status": status, "timestamp": timestamp,
                               "recipient_id": recipient.phone.trim_start_matches('+')});
            if *status == "delivered" {
                s["conversation"] =
                    json!({"id": "c0a8f0b2e1d64a3f9e7b", "origin": {"type": "marketing"}});
                s["pricing"] =
                    json!({"billable": true, "pricing_model": "CBP", "category": "marketing"});
            }
            s
        })
        .collect();
    serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{
        "id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
            "statuses": statuses}}]}]}))
    .unwrap()
}

/// A message the job sent, as the webhook will name it.
struct Recipient {
    phone: String,
    wamid: String,
    /// Its sender's webhook.
    hook: Arc<str>,
    phone_number_id: String,
}

/// One signed webhook call, built before the clock starts.
struct Post {
    hook: Arc<str>,
    body: axum::body::Bytes,
    signature: String,
    /// Index into the run's (status, recipient) send times.
    slots: Vec<usize>,
}

/// A running server with its tenant, senders and a way to read its database.
struct Server {
    address: String,
    port: u16,
    token: String,
    http: reqwest::Client,
    db: Db,
    stop: tokio::sync::oneshot::Sender<()>,
    /// Drops the PostgreSQL database after the server.
    _database: Option<postgres_db::TestDatabase>,
    _dir: tempfile::TempDir,
}

/// The database behind the server, read directly to check that nothing was lost.
enum Db {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

impl Db {
    async fn count(&self, sql: &str) -> i64 {
        match self {
            Db::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
            Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await.unwrap(),
        }
    }
}

async fn start(postgres: bool) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let database = if postgres {
        Some(postgres_db::TestDatabase::create().await)
    } else {
        None
    };
    let database_url = match &database {
        Some(db) => db.url.clone(),
        None => format!("sqlite://{}", dir.path().join("bench.db").display()),
    };
    let mut settings = Settings {
        addr: "127.0.0.1:0".into(),
        database_url: database_url.clone(),
        data_dir: dir.path().display().to_string(),
        ..Settings::default()
    };
    settings.demo.enabled = false;
    settings.engine.poll_interval_ms = 50;
    // The fake Cloud API is on 127.0.0.1.
    settings.senders.allow_private_addresses = true;
    settings.limits.api_requests_per_second = 100_000;
    let app = Application::build(settings).await.expect("the app builds");
    let port = app.port();
    let state = app.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let (_, token) = auth::create_tenant(state.store.as_ref(), "bench")
        .await
        .unwrap();
    let db = if postgres {
        Db::Postgres(sqlx::PgPool::connect(&database_url).await.unwrap())
    } else {
        Db::Sqlite(sqlx::SqlitePool::connect(&database_url).await.unwrap())
    };
    Server {
        address: format!("http://127.0.0.1:{port}"),
        port,
        token,
        http: reqwest::Client::new(),
        db,
        stop,
        _database: database,
        _dir: dir,
    }
}

impl Server {
    async fn api(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method, format!("{}/api{path}", self.address))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {text}");
        serde_json::from_str(&text).unwrap()
    }

    async fn job(&self, id: &str) -> Value {
        self.api(reqwest::Method::GET, &format!("/jobs/{id}"), None)
            .await
    }

    /// A WebSocket client following the job, past its `connected` and `subscribed`.
    async fn follow(&self, job: &str) -> Socket {
        let url = format!(
            "ws://127.0.0.1:{}/api/ws/job/{job}?token={}",
            self.port, self.token
        );
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        for expected in ["connected", "subscribed"] {
            let Some(Ok(Message::Text(text))) = socket.next().await else {
                panic!("no {expected} message");
            };
            let msg: Value = serde_json::from_str(text.as_str()).unwrap();
            assert_eq!(msg["type"], expected, "{msg}");
        }
        socket
    }

    /// Waits until the job has no receipt left to apply and its counters say `delivered`/`read`.
    async fn settled(&self, job: &str, delivered: u64, read: u64) -> Value {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let view = self.job(job).await;
            let waiting = self
                .db
                .count("SELECT COUNT(*) FROM receipts WHERE applied_at IS NULL")
                .await;
            if waiting == 0
                && view["receipts"]["delivered"] == delivered
                && view["receipts"]["read"] == read
            {
                return view;
            }
            assert!(
                Instant::now() < deadline,
                "receipts not applied in time ({waiting} waiting): {}",
                view["receipts"]
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// What the WebSocket client saw of the job's receipts.
#[derive(Default)]
struct Seen {
    /// (recipient index, 0 delivered / 1 read, when it arrived since the run's start).
    events: Vec<(usize, usize, Duration)>,
    /// When the event whose counters reach the goal arrived.
    done: Option<Duration>,
}

/// Reads `receipt` events until the job's counters reach `delivered` and `read`.
async fn watch(
    mut socket: Socket,
    index: Arc<HashMap<String, usize>>,
    t0: Instant,
    delivered: u64,
    read: u64,
) -> Seen {
    let mut seen = Seen::default();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while let Ok(Some(Ok(frame))) = tokio::time::timeout_at(deadline, socket.next()).await {
        let Message::Text(text) = frame else { continue };
        let arrived = t0.elapsed();
        let msg: Value = serde_json::from_str(text.as_str()).unwrap();
        if msg["type"] != "receipt" {
            continue;
        }
        let status = match msg["status"].as_str() {
            Some("delivered") => 0,
            Some("read") => 1,
            other => panic!("unexpected receipt status {other:?}"),
        };
        if let Some(&i) = msg["phone"].as_str().and_then(|p| index.get(p)) {
            seen.events.push((i, status, arrived));
        }
        if msg["receipts"]["delivered"] == delivered && msg["receipts"]["read"] == read {
            seen.done = Some(arrived);
            break;
        }
    }
    seen
}

/// Sends a bulk send to `phones` through the senders, returning the job's id.
async fn send(server: &Server, phones: &[String]) -> String {
    let created = server
        .api(
            reqwest::Method::POST,
            "/messages/send-bulk",
            Some(
                json!({"message": "Hola, tu pedido ha salido", "phones": phones,
                        "devices_limit": SENDERS}),
            ),
        )
        .await;
    created["job"]["id"].as_str().unwrap().to_owned()
}

async fn wait_sent(server: &Server, job: &str, count: usize) {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let view = server.job(job).await;
        if view["status"] == "completed" {
            assert_eq!(view["progress"]["sent"], count as u64, "every message sent");
            return;
        }
        assert!(Instant::now() < deadline, "the send did not end: {view}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn recipients(phones: &[String], sent: &Sent, hooks: &HashMap<String, Arc<str>>) -> Vec<Recipient> {
    let sent = sent.lock().unwrap();
    phones
        .iter()
        .map(|phone| {
            let (phone_number_id, wamid) = sent[phone.trim_start_matches('+')].clone();
            Recipient {
                phone: phone.clone(),
                wamid,
                hook: hooks[&phone_number_id].clone(),
                phone_number_id,
            }
        })
        .collect()
}

/// Every recipient's `delivered`, then every `read`, `batch` statuses of one sender per POST.
fn posts(recipients: &[Recipient], batch: usize) -> Vec<Post> {
    let mut by_sender: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, r) in recipients.iter().enumerate() {
        by_sender.entry(&r.phone_number_id).or_default().push(i);
    }
    let mut senders: Vec<_> = by_sender.into_iter().collect();
    senders.sort();
    let n = recipients.len();
    let mut posts = Vec::new();
    for (status_index, status) in ["delivered", "read"].into_iter().enumerate() {
        for (phone_number_id, indexes) in &senders {
            for chunk in indexes.chunks(batch) {
                let statuses: Vec<(&Recipient, &str)> =
                    chunk.iter().map(|&i| (&recipients[i], status)).collect();
                let body = notification(phone_number_id, &statuses);
                posts.push(Post {
                    hook: recipients[chunk[0]].hook.clone(),
                    signature: sign(&body),
                    body: body.into(),
                    slots: chunk.iter().map(|&i| status_index * n + i).collect(),
                });
            }
        }
    }
    posts
}

/// Sends one signed webhook call until it is acknowledged, as Meta retries; the retries made.
async fn deliver(http: &reqwest::Client, post: &Post) -> u64 {
    let mut retries = 0;
    loop {
        let response = http
            .post(&*post.hook)
            .header("content-type", "application/json")
            .header("x-hub-signature-256", &post.signature)
            .body(post.body.clone())
            .send()
            .await;
        match response.map(|r| r.status().as_u16()) {
            Ok(200) => return retries,
            Ok(503) | Err(_) if retries < 20 => {
                retries += 1;
                tokio::time::sleep(Duration::from_millis(10 * retries)).await;
            }
            other => panic!("webhook answered {other:?}"),
        }
    }
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

struct Ingest {
    batch: usize,
    receipts: usize,
    posts: usize,
    retries: u64,
    acked: Duration,
    applied: Duration,
    events: usize,
    p50: f64,
    p99: f64,
}

async fn ingest(
    server: &Server,
    job: &str,
    recipients: &[Recipient],
    batch: usize,
    clients: usize,
) -> Ingest {
    let n = recipients.len();
    let posts = Arc::new(posts(recipients, batch));
    let index: Arc<HashMap<String, usize>> = Arc::new(
        recipients
            .iter()
            .enumerate()
            .map(|(i, r)| (r.phone.clone(), i))
            .collect(),
    );
    let socket = server.follow(job).await;
    let sent_at: Arc<Vec<AtomicU64>> = Arc::new((0..2 * n).map(|_| AtomicU64::new(0)).collect());
    let next = Arc::new(AtomicUsize::new(0));
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap();

    let t0 = Instant::now();
    let watcher = tokio::spawn(watch(socket, index, t0, n as u64, n as u64));
    let mut tasks = Vec::with_capacity(clients);
    for _ in 0..clients {
        let (posts, next, sent_at, http) =
            (posts.clone(), next.clone(), sent_at.clone(), http.clone());
        tasks.push(tokio::spawn(async move {
            let mut retries = 0;
            loop {
                let Some(post) = posts.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    return retries;
                };
                let at = t0.elapsed().as_nanos() as u64;
                for &slot in &post.slots {
                    sent_at[slot].store(at, Ordering::Relaxed);
                }
                retries += deliver(&http, post).await;
            }
        }));
    }
    let mut retries = 0;
    for task in tasks {
        retries += task.await.unwrap();
    }
    let acked = t0.elapsed();
    let seen = watcher.await.unwrap();
    let Some(applied) = seen.done else {
        panic!(
            "the job's counters never reached {n} read: {}",
            server.job(job).await["receipts"]
        );
    };
    let view = server.settled(job, n as u64, n as u64).await;
    assert_eq!(view["receipts"]["undelivered"], 0);
    assert_eq!(
        view["receipts"]["awaiting"], 0,
        "every message has a receipt"
    );

    let mut latencies: Vec<f64> = seen
        .events
        .iter()
        .map(|&(i, status, arrived)| {
            let sent = Duration::from_nanos(sent_at[status * n + i].load(Ordering::Relaxed));
            arrived.saturating_sub(sent).as_secs_f64() * 1000.0
        })
        .collect();
    latencies.sort_by(f64::total_cmp);
    Ingest {
        batch,
        receipts: 2 * n,
        posts: posts.len(),
        retries,
        acked,
        applied,
        events: seen.events.len(),
        p50: percentile(&latencies, 0.5),
        p99: percentile(&latencies, 0.99),
    }
}

struct Quiet {
    /// POST to its `200`: the part of the latency that is the webhook's own.
    answered_p50: f64,
    events: usize,
    p50: f64,
    p99: f64,
    max: f64,
}

/// One `delivered` per POST at a pace nothing has to queue behind, each timed to its event.
async fn quiet(server: &Server, job: &str, recipients: &[Recipient]) -> Quiet {
    let n = recipients.len();
    let posts = posts(recipients, 1);
    let index: Arc<HashMap<String, usize>> = Arc::new(
        recipients
            .iter()
            .enumerate()
            .map(|(i, r)| (r.phone.clone(), i))
            .collect(),
    );
    let socket = server.follow(job).await;
    let http = reqwest::Client::new();
    let t0 = Instant::now();
    let watcher = tokio::spawn(watch(socket, index, t0, n as u64, 0));
    let mut sent_at = vec![Duration::ZERO; n];
    let mut answered = Vec::with_capacity(n);
    let mut every = tokio::time::interval(Duration::from_millis(1000 / QUIET_PER_SEC));
    for post in posts.iter().take(n) {
        every.tick().await;
        sent_at[post.slots[0]] = t0.elapsed();
        assert_eq!(
            deliver(&http, post).await,
            0,
            "a quiet server never refuses"
        );
        answered.push((t0.elapsed() - sent_at[post.slots[0]]).as_secs_f64() * 1000.0);
    }
    answered.sort_by(f64::total_cmp);
    let seen = watcher.await.unwrap();
    assert!(seen.done.is_some(), "every quiet receipt applied");
    server.settled(job, n as u64, 0).await;
    let mut latencies: Vec<f64> = seen
        .events
        .iter()
        .map(|&(i, _, arrived)| arrived.saturating_sub(sent_at[i]).as_secs_f64() * 1000.0)
        .collect();
    latencies.sort_by(f64::total_cmp);
    Quiet {
        answered_p50: percentile(&answered, 0.5),
        events: latencies.len(),
        p50: percentile(&latencies, 0.5),
        p99: percentile(&latencies, 0.99),
        max: latencies.last().copied().unwrap_or(f64::NAN),
    }
}

struct Report {
    database: &'static str,
    ingests: Vec<Ingest>,
    quiet: Quiet,
    /// Dropped only after the tables are printed: the stopped server's receipt applier still
    /// ticks, and would log a warning for every tick on a dropped database.
    _database: Option<postgres_db::TestDatabase>,
}

async fn run(database: &'static str, postgres: bool, messages: usize, clients: usize) -> Report {
    let server = start(postgres).await;
    let (cloud, sent) = fake_cloud_api().await;
    let mut hooks = HashMap::new();
    for s in 0..SENDERS {
        let created = server
            .api(
                reqwest::Method::POST,
                "/senders",
                Some(
                    json!({"name": format!("Cloud {s}"), "provider": "whatsapp_cloud",
                    "rate_per_minute": 60000, "config": {"base_url": cloud,
                    "phone_number_id": phone_number_id(s), "access_token": ACCESS_TOKEN,
                    "app_secret": APP_SECRET, "verify_token": "bench-verify"}}),
                ),
            )
            .await;
        let id = created["sender"]["id"].as_str().unwrap();
        let hook: Arc<str> = format!("{}/api/webhooks/{id}", server.address).into();
        hooks.insert(phone_number_id(s), hook);
    }

    // Every send first, so the timed runs share the server with nothing else.
    let sizes: Vec<usize> = BATCHES
        .iter()
        .map(|_| messages)
        .chain([QUIET_RECEIPTS])
        .collect();
    let mut jobs = Vec::new();
    for (j, &size) in sizes.iter().enumerate() {
        let phones: Vec<String> = (0..size).map(|i| phone(j, i)).collect();
        let id = send(&server, &phones).await;
        jobs.push((id, phones));
    }
    let preparing = Instant::now();
    for ((id, _), &size) in jobs.iter().zip(&sizes) {
        wait_sent(&server, id, size).await;
    }
    eprintln!(
        "{database}: {} messages sent in {:.1} s",
        sizes.iter().sum::<usize>(),
        preparing.elapsed().as_secs_f64()
    );

    let mut ingests = Vec::new();
    for (&batch, (id, phones)) in BATCHES.iter().zip(&jobs) {
        let recipients = recipients(phones, &sent, &hooks);
        let ingest = ingest(&server, id, &recipients, batch, clients).await;
        eprintln!(
            "{database}, {batch} per POST: acknowledged in {:.1} s, applied in {:.1} s",
            ingest.acked.as_secs_f64(),
            ingest.applied.as_secs_f64()
        );
        ingests.push(ingest);
    }
    let (quiet_id, quiet_phones) = jobs.last().unwrap();
    let quiet = quiet(&server, quiet_id, &recipients(quiet_phones, &sent, &hooks)).await;

    // Nothing lost: every acknowledged status is a stored receipt, each one applied, and every
    // message of the timed runs ended read.
    let acknowledged: usize = ingests.iter().map(|i| i.receipts).sum::<usize>() + QUIET_RECEIPTS;
    let db = &server.db;
    assert_eq!(
        db.count("SELECT COUNT(*) FROM receipts").await,
        acknowledged as i64
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM receipts WHERE applied_at IS NULL")
            .await,
        0
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM items WHERE delivery = 'read' AND read_at IS NOT NULL")
            .await,
        (messages * BATCHES.len()) as i64
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM items WHERE delivery = 'delivered'")
            .await,
        QUIET_RECEIPTS as i64
    );
    let _ = server.stop.send(());
    Report {
        database,
        ingests,
        quiet,
        _database: server._database,
    }
}

#[tokio::main]
async fn main() {
    let mut numbers = std::env::args().skip(1).filter_map(|a| a.parse().ok());
    let messages: usize = numbers.next().unwrap_or(20_000);
    let clients: usize = numbers.next().unwrap_or(32);
    assert!(
        messages < 10_000_000,
        "phone numbers have seven digits to vary"
    );
    tracing_subscriber::fmt()
        .with_env_filter(
            // sqlx's slow-statement warnings would bury the progress lines (`RUST_LOG=warn` shows them).
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,sqlx::query=error".into()),
        )
        .with_writer(std::io::stderr)
        .init();

    let only = std::env::var("RECEIPTS_DATABASE").unwrap_or_default();
    let mut reports = Vec::new();
    if only != "postgres" {
        reports.push(run("SQLite", false, messages, clients).await);
    }
    if only != "sqlite" {
        reports.push(run("PostgreSQL", true, messages, clients).await);
    }

    println!();
    println!(
        "{messages} messages, a delivered and a read for each, from {clients} concurrent clients:"
    );
    println!();
    println!(
        "| database | statuses per POST | receipts | POSTs | retried | acknowledged/s | applied/s | receipt events seen | POST → event p50 | p99 |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for report in &reports {
        for i in &report.ingests {
            println!(
                "| {} | {} | {} | {} | {} | {:.0} | {:.0} | {} | {:.1} ms | {:.1} ms |",
                report.database,
                i.batch,
                i.receipts,
                i.posts,
                i.retries,
                i.receipts as f64 / i.acked.as_secs_f64(),
                i.receipts as f64 / i.applied.as_secs_f64(),
                i.events,
                i.p50,
                i.p99,
            );
        }
    }
    println!();
    println!("{QUIET_RECEIPTS} delivered receipts at {QUIET_PER_SEC}/s, one per POST:");
    println!();
    println!(
        "| database | POST answered p50 | receipt events seen | POST → event p50 | p99 | max |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for report in &reports {
        let q = &report.quiet;
        println!(
            "| {} | {:.1} ms | {} of {QUIET_RECEIPTS} | {:.1} ms | {:.1} ms | {:.1} ms |",
            report.database, q.answered_p50, q.events, q.p50, q.p99, q.max
        );
    }
}
