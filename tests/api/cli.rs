//! The `jobpulse` command line as a client: `send-bulk` and `watch`, run as real processes.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::process::Command;

use crate::helpers::{TestApp, phones, spawn_app};

fn jobpulse(app: &TestApp) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jobpulse"));
    command
        .env("JOBPULSE_URL", &app.address)
        .env("JOBPULSE_TOKEN", &app.token)
        .env("JOBPULSE_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

#[tokio::test]
async fn send_bulk_reads_a_csv_and_watch_follows_it_to_the_end() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("recipients.csv");
    let list = phones(150);
    let mut text = String::from("name,phone\n");
    for (i, phone) in list.iter().enumerate() {
        text.push_str(&format!("Client {i},{phone}\n"));
    }
    std::fs::write(&csv, text).unwrap();

    let output = jobpulse(&app)
        .args([
            "send-bulk",
            "--message",
            "Hola desde la terminal",
            "--devices",
            "4",
            "--watch",
            "--phones",
        ])
        .arg(&csv)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut lines = stdout.lines();
    let job_id = lines.next().unwrap().trim().to_owned();
    let summary = lines.last().unwrap();
    let job = app.job(job_id.as_str()).await;
    assert_eq!(job.progress.total, 150);
    assert_eq!(job.devices_limit, 4);
    assert!(
        summary.starts_with(&format!(
            "completed: {} sent, {} failed",
            job.progress.sent, job.progress.failed
        )),
        "{summary}"
    );
}

#[tokio::test]
async fn send_bulk_lists_bad_rows_by_line_and_creates_nothing() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bad.csv");
    std::fs::write(&csv, "phone\n+34600000001\nnot a phone\n+34600000001\n").unwrap();
    let output = jobpulse(&app)
        .args(["send-bulk", "--message", "x", "--phones"])
        .arg(&csv)
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("line 3") && stderr.contains("not a phone number"),
        "{stderr}"
    );
    assert!(
        stderr.contains("line 4") && stderr.contains("duplicate"),
        "{stderr}"
    );
    let jobs: Vec<Value> = app.get("/api/jobs").await.json().await.unwrap();
    assert!(jobs.is_empty());
}

#[tokio::test]
async fn watch_exits_non_zero_when_the_job_is_cancelled() {
    let app = spawn_app().await;
    app.provider.set(|b| b.latency = Duration::from_millis(20));
    let job = app.create_job(&phones(500), 2).await;
    let watcher = jobpulse(&app)
        .args(["watch", &job.id.to_string()])
        .spawn()
        .unwrap();
    app.wait_for(job.id, |j| j.progress.sent > 10).await;
    assert_eq!(app.job_action(job.id, "cancel", None).await.status(), 200);
    let output = watcher.wait_with_output().await.unwrap();
    assert_eq!(
        output.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("cancelled: "));

    let unknown = jobpulse(&app)
        .args(["watch", &uuid::Uuid::now_v7().to_string()])
        .output()
        .await
        .unwrap();
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("Job not found"));
}

#[tokio::test]
async fn watch_with_receipts_follows_a_send_until_every_message_has_its_receipt() {
    let app = spawn_app().await;
    let created = app
        .client
        .post(format!("{}/api/senders", app.address))
        .bearer_auth(&app.token)
        .json(&serde_json::json!({"name": "Demo", "provider": "sandbox", "config": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    // The sandbox sender reads 10, delivers 11, gives 17 up and never sends 13.
    let list = [
        "+34600000010",
        "+34600000011",
        "+34600000017",
        "+34600000113",
    ];
    let job = app.create_job(&list.map(str::to_owned), 1).await;
    let output = jobpulse(&app)
        .args(["watch", "--receipts", &job.id.to_string()])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    // It stops once every sent message has a receipt (a delivered one may still be read).
    let summary = stdout.lines().last().unwrap_or_default();
    assert!(
        summary.starts_with("completed: 3 sent, 1 failed")
            && summary.contains("; delivered 2 · read ")
            && summary.ends_with(" · undelivered 1 · awaiting receipt 0"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(app.job(job.id).await.receipts.unwrap().awaiting, 0);
}
