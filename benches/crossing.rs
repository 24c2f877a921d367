//! Events crossing between two instances on one PostgreSQL database: instance A runs a job, a
//! WebSocket client of instance B follows it. Measured with jobpulse's design (one NOTIFY per
//! committed batch, carrying only `job_id:last_seq`; B reads the rows) and with the naive one
//! (one NOTIFY per event, carrying the event), in the same run.
//!
//! `cargo bench --features ssr --bench crossing [-- EVENTS]` (default 100000). Needs PostgreSQL at
//! `$JOBPULSE_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432`).
//! `CROSSING_TRACE=PREFIX` writes each event's arrival time, latency and seq to
//! `PREFIX.<design>.csv` (to see where a tail comes from); `CROSSING_SKIP_NAIVE=1` skips the naive run.

#[path = "../tests/support/postgres.rs"]
mod postgres_db;

use std::process::Stdio;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::Message;

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}

struct Instance {
    child: Child,
    base: String,
}

async fn instance(
    url: &str,
    dir: &std::path::Path,
    notify: &str,
    engine: bool,
    token_out: Option<&mut String>,
) -> Instance {
    let binary = env!("CARGO_BIN_EXE_jobpulse");
    let env = |command: &mut Command| {
        command
            .current_dir(dir)
            .env("JOBPULSE_CONFIG", dir.join("absent.toml"))
            .env("JOBPULSE_ADDR", "127.0.0.1:0")
            .env("JOBPULSE_DATABASE_URL", url)
            .env("JOBPULSE_PROVIDER", "sandbox")
            .env("JOBPULSE_SANDBOX_LATENCY_MS", "0")
            .env("JOBPULSE_POSTGRES_NOTIFY", notify)
            .env("JOBPULSE_ENGINE", engine.to_string())
            .env("JOBPULSE_API_REQUESTS_PER_SECOND", "100000")
            .env("JOBPULSE_DEMO", "false")
            .env("JOBPULSE_LOG", "error")
            .stderr(Stdio::null());
    };
    if let Some(token) = token_out {
        let mut create = Command::new(binary);
        env(&mut create);
        let output = create
            .args(["tenant", "create", "bench"])
            .output()
            .await
            .unwrap();
        *token = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    }
    let mut serve = Command::new(binary);
    env(&mut serve);
    let mut child = serve
        .arg("serve")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.next_line().await.unwrap().unwrap();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Instance {
        child,
        base: line.trim_start_matches("listening on ").to_owned(),
    }
}

struct Row {
    design: &'static str,
    events: usize,
    per_sec: f64,
    p50: f32,
    p99: f32,
    max: f32,
}

async fn run(design: &'static str, notify: &str, events: usize) -> Row {
    let db = postgres_db::TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let mut token = String::new();
    let mut runner = instance(&db.url, dir.path(), notify, true, Some(&mut token)).await;
    let mut follower = instance(&db.url, dir.path(), notify, false, None).await;
    let http = reqwest::Client::new();
    let api = |base: &str, path: &str| format!("{base}/api{path}");

    // Paused at once, so the follower is listening before the first event.
    let phones: Vec<String> = (0..events)
        .map(|i| format!("+346{:08}", i * 100 + 1))
        .collect();
    let created: Value = http
        .post(api(&runner.base, "/messages/send-bulk"))
        .bearer_auth(&token)
        .json(&json!({"message": "crossing", "phones": phones, "devices_limit": 50}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let job = created["job"]["id"].as_str().unwrap().to_owned();
    http.post(api(&runner.base, &format!("/jobs/{job}/pause")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let paused: Value = http
        .get(api(&runner.base, &format!("/jobs/{job}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ws = format!(
        "{}/api/ws/job/{job}?token={token}",
        follower.base.replacen("http", "ws", 1)
    );
    let (mut socket, _) = tokio_tungstenite::connect_async(ws).await.unwrap();
    let _connected = socket.next().await;
    let _subscribed = socket.next().await;
    let expected = events as u64 - paused["progress"]["sent"].as_u64().unwrap();
    http.post(api(&runner.base, &format!("/jobs/{job}/resume")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();

    let mut latencies = Vec::with_capacity(events);
    let mut trace = Vec::with_capacity(events);
    let (mut first, mut last) = (0.0, 0.0);
    while let Ok(Some(Ok(frame))) =
        tokio::time::timeout(Duration::from_secs(60), socket.next()).await
    {
        let Message::Text(text) = frame else { continue };
        let now = now_ms();
        let msg: Value = serde_json::from_str(text.as_str()).unwrap();
        if msg["type"] == "progress" {
            let at = chrono::DateTime::parse_from_rfc3339(msg["at"].as_str().unwrap()).unwrap();
            let latency = (now - at.timestamp_micros() as f64 / 1000.0).max(0.0) as f32;
            latencies.push(latency);
            if first == 0.0 {
                first = now;
            }
            trace.push((now - first, latency, msg["seq"].as_u64().unwrap_or(0)));
            last = now;
        }
        if msg["type"] == "job_completed" {
            break;
        }
    }
    assert_eq!(latencies.len() as u64, expected, "every event crossed");
    if let Ok(path) = std::env::var("CROSSING_TRACE") {
        let mut out = String::from("t_ms,latency_ms,seq\n");
        for (t, l, seq) in &trace {
            out.push_str(&format!("{t:.2},{l:.2},{seq}\n"));
        }
        std::fs::write(format!("{path}.{notify}.csv"), out).unwrap();
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    let pick = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    let _ = runner.child.start_kill();
    let _ = follower.child.start_kill();
    Row {
        design,
        events: latencies.len(),
        per_sec: latencies.len() as f64 / ((last - first) / 1000.0),
        p50: pick(0.5),
        p99: pick(0.99),
        max: *latencies.last().unwrap(),
    }
}

#[tokio::main]
async fn main() {
    let events: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let mut rows = vec![
        run(
            "one NOTIFY per batch (job_id:last_seq), rows read",
            "batch",
            events,
        )
        .await,
    ];
    if std::env::var_os("CROSSING_SKIP_NAIVE").is_none() {
        rows.push(
            run(
                "one NOTIFY per event, event as payload (naive)",
                "per_row",
                events,
            )
            .await,
        );
    }
    println!();
    println!("| design | events crossed | events/s | p50 | p99 | max |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for r in rows {
        println!(
            "| {} | {} | {:.0} | {:.1} ms | {:.1} ms | {:.1} ms |",
            r.design, r.events, r.per_sec, r.p50, r.p99, r.max
        );
    }
}
