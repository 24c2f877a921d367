//! Drains a 100,000-recipient bulk send through the real engine and SQLite store, every item and
//! event persisted, and reports items/s and the writes it cost.
//!
//! `cargo bench --features ssr --bench engine [-- RECIPIENTS]`
//!
//! Two providers: the in-process zero-latency sandbox (the engine and store alone), and the HTTP
//! provider against a local zero-latency server (adds one real HTTP request per item, on the
//! same two cores).

use std::sync::Arc;
use std::time::{Duration, Instant};

use jobpulse::protocol::{JobStatus, SendBulkRequest};
use jobpulse::server::adapters::providers::{HttpProvider, MessagingProvider, SandboxProvider};
use jobpulse::server::engine::Engine;
use jobpulse::server::http::auth;
use jobpulse::server::live::hub::Hub;
use jobpulse::server::settings::{EngineSettings, Settings};
use jobpulse::server::store::{NewBulkJob, SqliteStore, Store};

struct Outcome {
    provider: &'static str,
    items: usize,
    create: Duration,
    drain: Duration,
    writes: u64,
    events: u64,
}

async fn run(provider: Arc<dyn MessagingProvider>, label: &'static str, items: usize) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let sqlite = Arc::new(SqliteStore::connect(&url).await.unwrap());
    sqlite.migrate().await.unwrap();
    let store: Arc<dyn Store> = sqlite.clone();
    let (tenant, _) = auth::create_tenant(store.as_ref(), "bench").await.unwrap();
    let recipients: Vec<String> = (0..items)
        .map(|i| format!("+346{:08}", i * 100 + 1))
        .collect();
    let request = SendBulkRequest {
        message: "benchmark".into(),
        phones: recipients.clone(),
        devices_limit: 50,
        idempotency_key: None,
        skip_invalid: false,
        senders: None,
        name: None,
        tags: Vec::new(),
    };
    jobpulse::server::services::jobs::validate_shape(&request).unwrap();

    let started = Instant::now();
    let created = store
        .create_bulk_job(NewBulkJob {
            tenant_id: tenant.id,
            message: request.message,
            devices_limit: request.devices_limit,
            recipients,
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
    let create = started.elapsed();
    let job = created.job().clone();

    let settings = EngineSettings {
        poll_interval_ms: 10,
        ..Settings::default().engine
    };
    let writes_before = sqlite.write_count();
    let engine = Engine::new(
        store.clone(),
        Arc::new(Hub::new(1024)),
        provider,
        jobpulse::server::adapters::sources::SourceContext::new(
            &Default::default(),
            "http://127.0.0.1:9".into(),
        ),
        settings,
        jobpulse::server::engine::SenderKit {
            vault: Arc::new(jobpulse::server::vault::Vault::from_hex(&"00".repeat(32)).unwrap()),
            settings: Arc::new(Settings::default()),
            public_url: "http://127.0.0.1:9".into(),
            // Nothing here sends through a sandbox sender.
            sandbox_receipts: jobpulse::server::adapters::providers::sandbox::ReceiptSink::channel(
            )
            .0,
        },
        jobpulse::server::engine::new_instance_id(),
    );
    let started = Instant::now();
    engine.spawn();
    let finished = loop {
        let current = store.job(tenant.id, job.id).await.unwrap().unwrap();
        if current.status == JobStatus::Completed {
            break current;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let drain = started.elapsed();
    engine.stop();
    assert_eq!(finished.progress.sent as usize, items, "every item sent");
    Outcome {
        provider: label,
        items,
        create,
        drain,
        writes: sqlite.write_count() - writes_before,
        events: finished.last_seq,
    }
}

/// A provider that answers 200 at once, over real HTTP on localhost.
async fn local_http_provider() -> String {
    use axum::routing::post;
    let app = axum::Router::new().route(
        "/send",
        post(|| async { axum::Json(serde_json::json!({"id": "ok"})) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/send")
}

#[tokio::main]
async fn main() {
    let items: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let sandbox = Arc::new(SandboxProvider::new(Duration::ZERO));
    let url = local_http_provider().await;
    let http = Arc::new(HttpProvider::new(&url, "", Duration::from_secs(10), true));
    let results = [
        run(sandbox, "sandbox (in-process, 0 ms)", items).await,
        run(http, "http (localhost, 0 ms)", items).await,
    ];
    println!();
    println!(
        "| provider | items | create job | drain | items/s | write txns | write txns/s | rows per txn |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in results {
        let secs = r.drain.as_secs_f64();
        println!(
            "| {} | {} | {:.2} s | {:.2} s | {:.0} | {} | {:.0} | {:.0} |",
            r.provider,
            r.items,
            r.create.as_secs_f64(),
            secs,
            r.items as f64 / secs,
            r.writes,
            r.writes as f64 / secs,
            // Each item writes its row and its event.
            (r.items as f64 + r.events as f64) / r.writes as f64,
        );
    }
}
