//! The crash test: the real server binary, killed with SIGKILL at random points of a
//! 10,000-recipient send and restarted each time. At the end every recipient was delivered
//! exactly once, under one key, and the job is complete with a gap-free event log.

#[path = "support/fake_provider.rs"]
mod fake_provider;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use fake_provider::FakeProvider;
use rand::Rng;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const RECIPIENTS: usize = 10_000;

fn command(dir: &Path, provider: &FakeProvider, deduplicates: bool) -> Command {
    command_on(dir, provider, deduplicates, "127.0.0.1:0")
}

fn command_on(dir: &Path, provider: &FakeProvider, deduplicates: bool, addr: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jobpulse"));
    command
        .current_dir(dir)
        .env("JOBPULSE_CONFIG", dir.join("absent.toml"))
        .env("JOBPULSE_ADDR", addr)
        .env(
            "JOBPULSE_DATABASE_URL",
            format!("sqlite://{}", dir.join("crash.db").display()),
        )
        .env("JOBPULSE_PROVIDER", "http")
        .env("JOBPULSE_PROVIDER_URL", provider.url())
        .env("JOBPULSE_LEASE_MS", "1000")
        .env("JOBPULSE_PROVIDER_DEDUPLICATES", deduplicates.to_string())
        .env("JOBPULSE_DEMO", "false")
        .env("JOBPULSE_LOG", "error")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    command
}

/// Starts `jobpulse serve` and waits for its "listening on" line.
async fn serve(dir: &Path, provider: &FakeProvider, deduplicates: bool) -> (Child, String) {
    serve_on(dir, provider, deduplicates, "127.0.0.1:0").await
}

async fn serve_on(
    dir: &Path,
    provider: &FakeProvider,
    deduplicates: bool,
    addr: &str,
) -> (Child, String) {
    let mut child = command_on(dir, provider, deduplicates, addr)
        .arg("serve")
        .stdout(Stdio::piped())
        .spawn()
        .expect("the server binary starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the server starts listening in time")
        .unwrap()
        .expect("a first line");
    let base = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    // Keep reading so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, base)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_killed_again_and_again_delivers_every_recipient_exactly_once() {
    let (job, provider, items) = kill_and_restart(true).await;
    assert_eq!(job["progress"]["sent"], RECIPIENTS);
    assert_eq!(job["progress"]["failed"], 0);
    assert_eq!(items.len(), RECIPIENTS);
    // At the provider: 10,000 distinct keys delivered, and no recipient under two keys.
    assert_eq!(provider.delivered().len(), RECIPIENTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_deduplication_items_in_flight_at_a_crash_become_unknown_and_are_never_resent() {
    let (job, provider, items) = kill_and_restart(false).await;
    let sent = job["progress"]["sent"].as_u64().unwrap();
    let unknown = job["progress"]["unknown"].as_u64().unwrap();
    assert_eq!(job["progress"]["failed"], 0);
    assert_eq!(sent + unknown, RECIPIENTS as u64);
    assert!(unknown > 0, "six kills mid-send leave some items in flight");
    let listed = items.iter().filter(|i| i["status"] == "unknown").count() as u64;
    assert_eq!(listed, unknown, "unknown items are counted and listed");
    // Never sent twice: not even under the same key.
    let mut per_key: HashMap<String, usize> = HashMap::new();
    for request in provider.requests() {
        *per_key.entry(request.key).or_default() += 1;
    }
    assert!(per_key.values().all(|&n| n == 1), "an item was re-sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_rides_out_a_server_crash_and_resumes_by_seq() {
    let provider = FakeProvider::start().await;
    provider.set(|b| b.latency = Duration::from_millis(5));
    let dir = tempfile::tempdir().unwrap();
    // A fixed port, so the restarted server is where the watcher reconnects.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr = format!("127.0.0.1:{port}");
    let output = command(dir.path(), &provider, true)
        .args(["tenant", "create", "acme"])
        .stdout(Stdio::piped())
        .output()
        .await
        .unwrap();
    let token = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    let (mut server, base) = serve_on(dir.path(), &provider, true, &addr).await;
    let phones: Vec<String> = (0..2_000)
        .map(|i| format!("+346{:08}", i * 100 + 1))
        .collect();
    let created: Value = reqwest::Client::new()
        .post(format!("{base}/api/messages/send-bulk"))
        .bearer_auth(&token)
        .json(&json!({"message": "watch me", "phones": phones, "devices_limit": 4}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let job_id = created["job"]["id"].as_str().unwrap().to_owned();

    let watcher = Command::new(env!("CARGO_BIN_EXE_jobpulse"))
        .args(["watch", &job_id, "--url", &base, "--token", &token])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while provider.requests().len() < 300 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.start_kill().unwrap();
    server.wait().await.unwrap();
    let (mut server, _) = serve_on(dir.path(), &provider, true, &addr).await;

    let output = tokio::time::timeout(Duration::from_secs(120), watcher.wait_with_output())
        .await
        .expect("watch ends when the job does")
        .unwrap();
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        stdout.starts_with("completed: 2000 sent, 0 failed"),
        "{stdout}"
    );
    server.start_kill().unwrap();
}

/// Runs a 10,000-recipient send, killing the server six times; returns the completed job, the
/// provider and every item.
async fn kill_and_restart(deduplicates: bool) -> (Value, FakeProvider, Vec<Value>) {
    let provider = FakeProvider::start().await;
    provider.set(|b| b.latency = Duration::from_millis(3));
    let dir = tempfile::tempdir().unwrap();

    let output = command(dir.path(), &provider, deduplicates)
        .args(["tenant", "create", "acme"])
        .stdout(Stdio::piped())
        .output()
        .await
        .unwrap();
    assert!(output.status.success());
    let token = String::from_utf8(output.stdout).unwrap().trim().to_owned();
    assert!(
        token.starts_with("jp_") && !token.contains('\n'),
        "the token alone: {token:?}"
    );

    let (mut server, mut base) = serve(dir.path(), &provider, deduplicates).await;
    let client = reqwest::Client::new();
    let phones: Vec<String> = (0..RECIPIENTS)
        .map(|i| format!("+346{:08}", i * 100 + 1))
        .collect();
    let created: Value = client
        .post(format!("{base}/api/messages/send-bulk"))
        .bearer_auth(&token)
        .json(&json!({"message": "crash test", "phones": phones, "devices_limit": 20}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let job_id = created["job"]["id"].as_str().unwrap().to_owned();

    // Kill right after the first request (claim done, outcomes not yet written), then at random
    // points of the run.
    let mut rng = rand::rng();
    let mut thresholds: Vec<usize> = (0..5).map(|_| rng.random_range(500..9_500)).collect();
    thresholds.sort_unstable();
    thresholds.insert(0, 1);
    eprintln!("killing after {thresholds:?} requests");
    for threshold in thresholds {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while provider.requests().len() < threshold {
            assert!(
                tokio::time::Instant::now() < deadline,
                "no progress towards {threshold}"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        server.start_kill().unwrap();
        server.wait().await.unwrap();
        (server, base) = serve(dir.path(), &provider, deduplicates).await;
    }

    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    let job = loop {
        let job: Value = client
            .get(format!("{base}/api/jobs/{job_id}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if job["status"] == "completed" {
            break job;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the job did not complete: {job}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // No recipient was ever sent under two keys.
    let mut keys_per_recipient: HashMap<String, HashSet<String>> = HashMap::new();
    for request in provider.requests() {
        keys_per_recipient
            .entry(request.to)
            .or_default()
            .insert(request.key);
    }
    assert!(keys_per_recipient.values().all(|keys| keys.len() == 1));

    // In the database: one outcome event per item, and seq 1..N without a gap.
    let mut seqs = Vec::new();
    let mut outcomes = 0;
    let mut after = 0;
    loop {
        let page: Value = client
            .get(format!(
                "{base}/api/jobs/{job_id}/events?after_seq={after}&limit=5000"
            ))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let events = page["events"].as_array().unwrap();
        if events.is_empty() {
            break;
        }
        for event in events {
            seqs.push(event["seq"].as_u64().unwrap());
            if event["type"] == "progress" {
                outcomes += 1;
            }
        }
        after = *seqs.last().unwrap();
    }
    assert_eq!(
        seqs,
        (1..=job["last_seq"].as_u64().unwrap()).collect::<Vec<_>>()
    );
    assert_eq!(outcomes as u64, job["progress"]["sent"].as_u64().unwrap());

    let mut items = Vec::new();
    let mut after: Option<u64> = None;
    loop {
        let query = after.map(|a| format!("&after={a}")).unwrap_or_default();
        let page: Value = client
            .get(format!("{base}/api/jobs/{job_id}/items?limit=5000{query}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_after"].as_u64() {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(items.len(), RECIPIENTS, "every item is accounted for");
    server.start_kill().unwrap();
    (job, provider, items)
}
