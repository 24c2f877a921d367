//! Outside workers: a job of kind `external` created by API and driven by its worker's reports.

use std::time::Duration;

use jobpulse::protocol::{JobKind, JobStatus, JobView};
use serde_json::{Value, json};

use crate::helpers::{TestApp, collect_until_terminal, next_msg, spawn_app, spawn_app_with};

impl TestApp {
    /// `POST /api/jobs` for an outside worker: (job, worker token).
    pub(crate) async fn external_job(&self, total: u64, stages: &[&str]) -> (JobView, String) {
        let response = self
            .client
            .post(format!("{}/api/jobs", self.address))
            .bearer_auth(&self.token)
            .json(&json!({"kind": "external", "name": "Nightly import", "total": total, "stages": stages}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "{}", response.text().await.unwrap());
        let body: Value = response.json().await.unwrap();
        (
            serde_json::from_value(body["job"].clone()).unwrap(),
            body["worker_token"].as_str().unwrap().to_owned(),
        )
    }

    /// A worker report: `POST /api/jobs/{id}/{what}` with a bearer token.
    pub(crate) async fn report(
        &self,
        job: impl std::fmt::Display,
        what: &str,
        token: &str,
        body: Value,
    ) -> reqwest::Response {
        self.client
            .post(format!("{}/api/jobs/{job}/{what}", self.address))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn an_outside_worker_reports_its_job_to_completion() {
    let app = spawn_app().await;
    let (job, token) = app.external_job(5, &["download", "upload"]).await;
    assert_eq!(job.kind, JobKind::External);
    assert_eq!(job.status, JobStatus::Pending);
    assert_eq!(job.stages, ["download", "upload"]);
    assert!(token.starts_with("jpw_"));

    let mut socket = app
        .ws(&format!("/api/ws/job/{}?token={}", job.id, app.token), None)
        .await;
    assert_eq!(next_msg(&mut socket).await["type"], "connected");
    assert_eq!(next_msg(&mut socket).await["type"], "subscribed");

    let ok = |r: reqwest::Response| async move {
        let status = r.status();
        let body: Value = r.json().await.unwrap();
        assert_eq!(status, 200, "{body}");
        body
    };
    let after = ok(app
        .report(
            job.id,
            "progress",
            &token,
            json!({"processed": 0, "stage": "download", "message": "starting"}),
        )
        .await)
    .await;
    assert_eq!(after["status"], "processing");
    assert_eq!(after["stage"], "download");
    assert_eq!(after["stage_message"], "starting");
    ok(app
        .report(
            job.id,
            "items",
            &token,
            json!({"items": [
                {"key": "a", "status": "ok", "data": {"rows": 10}},
                {"key": "b", "status": "ok"},
                {"key": "c", "status": "failed", "error": "checksum mismatch"},
            ]}),
        )
        .await)
    .await;
    // A key reported again counts once.
    let after = ok(app
        .report(
            job.id,
            "items",
            &token,
            json!({"items": [{"key": "a", "status": "ok"}, {"key": "d", "status": "ok"}]}),
        )
        .await)
    .await;
    assert_eq!(after["progress"]["sent"], 3);
    assert_eq!(after["progress"]["failed"], 1);
    let after = ok(app
        .report(
            job.id,
            "progress",
            &token,
            json!({"processed": 4, "stage": "upload"}),
        )
        .await)
    .await;
    assert_eq!(after["progress"]["percentage"], 80.0);
    let done = ok(app.report(job.id, "complete", &token, json!({})).await).await;
    assert_eq!(done["status"], "completed");

    let events = collect_until_terminal(&mut socket).await;
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "job_started",
            "stage",
            "item",
            "item",
            "item",
            "item",
            "stage",
            "job_completed"
        ]
    );
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        (2..=9).collect::<Vec<_>>(),
        "gap-free after job_created"
    );
    assert_eq!(events[4]["error"], "checksum mismatch");
    assert_eq!(events.last().unwrap()["results"]["sent"], 3);
    let failed = app.items(job.id, "failed").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].recipient, "c");

    // Once ended, the worker hears so.
    let late = app
        .report(job.id, "progress", &token, json!({"processed": 5}))
        .await;
    assert_eq!(late.status(), 409);
    let detail: Value = late.json().await.unwrap();
    assert!(detail["detail"].as_str().unwrap().contains("completed"));
    // The code and its parameters come too, for a client that words answers itself.
    assert_eq!(detail["code"], "conflict");
    assert_eq!(detail["status"], "completed");
}

#[tokio::test]
async fn a_worker_token_is_good_for_its_own_job_only() {
    let app = spawn_app().await;
    let (first, first_token) = app.external_job(3, &[]).await;
    let (second, _) = app.external_job(3, &[]).await;
    let progress = json!({"processed": 1});
    for (job, token) in [
        (second.id.to_string(), first_token.as_str()),
        (first.id.to_string(), app.token.as_str()),
        (first.id.to_string(), "jpw_not-a-token"),
        ("not-a-uuid".to_owned(), first_token.as_str()),
    ] {
        let response = app.report(&job, "progress", token, progress.clone()).await;
        assert_eq!(response.status(), 401, "{job} with {token}");
        let body: Value = response.json().await.unwrap();
        assert!(body["detail"].as_str().unwrap().contains("worker_token"));
    }
    let anonymous = app
        .client
        .post(format!("{}/api/jobs/{}/complete", app.address, first.id))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(app.job(second.id).await.status, JobStatus::Pending);
}

#[tokio::test]
async fn bad_worker_reports_are_refused_with_a_reason() {
    let app = spawn_app().await;
    let (job, token) = app.external_job(3, &["one", "two"]).await;
    let cases = [
        (
            "progress",
            json!({"processed": 1, "stage": "three"}),
            "one, two",
        ),
        ("items", json!({"items": []}), "empty"),
        (
            "items",
            json!({"items": [{"key": "", "status": "ok"}]}),
            "items[0].key",
        ),
        (
            "items",
            json!({"items": [{"key": "k", "status": "done"}]}),
            "items[0].status",
        ),
        ("fail", json!({"error": "  "}), "error"),
        ("progress", json!({"stage": "one"}), "processed"),
    ];
    for (what, body, mention) in cases {
        let response = app.report(job.id, what, &token, body.clone()).await;
        assert_eq!(response.status(), 422, "{what} {body}");
        let answer: Value = response.json().await.unwrap();
        assert!(
            answer["code"] == "invalid" || answer["code"] == "invalid_campaign",
            "{answer}"
        );
        assert!(
            answer.get("request_rule").is_some() || answer.get("rule").is_some(),
            "{answer}"
        );
        let detail = answer["detail"].as_str().unwrap();
        assert!(detail.contains(mention), "{mention:?} not in {detail:?}");
    }
    let wrong_kind = app
        .client
        .post(format!("{}/api/jobs", app.address))
        .bearer_auth(&app.token)
        .json(&json!({"kind": "bulk_send", "name": "x", "total": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_kind.status(), 422);
    assert_eq!(app.job(job.id).await.last_seq, 1, "nothing was recorded");
}

#[tokio::test]
async fn a_cancelled_outside_job_tells_its_worker_to_stop() {
    let app = spawn_app().await;
    let (job, token) = app.external_job(10, &[]).await;
    let started = app
        .report(job.id, "progress", &token, json!({"processed": 2}))
        .await;
    assert_eq!(started.status(), 200);
    let pause = app.job_action(job.id, "pause", None).await;
    assert_eq!(pause.status(), 409);
    let cancel = app.job_action(job.id, "cancel", None).await;
    assert_eq!(cancel.status(), 200);
    let cancelled: JobView = cancel.json().await.unwrap();
    assert_eq!(cancelled.status, JobStatus::Cancelled);
    let late = app
        .report(
            job.id,
            "items",
            &token,
            json!({"items": [{"key": "x", "status": "ok"}]}),
        )
        .await;
    assert_eq!(late.status(), 409);
    let detail: Value = late.json().await.unwrap();
    assert!(detail["detail"].as_str().unwrap().contains("cancelled"));
}

#[tokio::test]
async fn a_worker_that_goes_silent_fails_its_job() {
    let app = spawn_app_with(|s| s.scrape.worker_timeout_ms = 1_000).await;
    let (job, token) = app.external_job(10, &[]).await;
    app.report(job.id, "progress", &token, json!({"processed": 1}))
        .await;
    let job = app.wait_until_finished(job.id).await;
    assert_eq!(job.status, JobStatus::Failed);
    assert!(job.last_error.unwrap().contains("no report for 1 s"));
    let failed = app.events(job.id).await.pop().unwrap();
    assert_eq!(failed["fault"]["code"], "worker_silent");
    assert_eq!(failed["fault"]["after_ms"], 1_000);
}

#[tokio::test]
async fn the_example_worker_drives_a_job_to_completion() {
    let app = spawn_app().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/worker.py");
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        tokio::process::Command::new("python3")
            .args([script, "--url", &app.address, "--token", &app.token])
            .args(["--items", "30", "--batch", "7", "--delay", "0"])
            .output(),
    )
    .await
    .expect("the worker finishes")
    .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("job "))
        .expect("the worker prints its job");
    let job = app.job(id).await;
    assert_eq!(job.status, JobStatus::Completed);
    // Every seventh item fails, on purpose: 30 items, 4 failures.
    assert_eq!(job.progress.sent, 26);
    assert_eq!(job.progress.failed, 4);
    assert_eq!(app.items(id, "sent").await.len(), 26);
    let events = app.events(id).await;
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=job.last_seq).collect::<Vec<_>>());
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "stage" && e["stage"] == "transform")
    );
}

#[tokio::test]
async fn a_jobs_view_tells_its_rate_time_left_running_time_and_when_it_stalled() {
    let app = spawn_app().await;
    let (job, token) = app.external_job(100_000, &["load"]).await;
    let items = |from: usize| {
        let items: Vec<Value> = (from..from + 50)
            .map(|i| json!({"key": format!("row-{i}"), "status": "ok", "data": {}}))
            .collect();
        json!({ "items": items })
    };
    // The worker keeps reporting: once a second has passed the view has a rate and an estimate.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut reported = 0;
    let moving = loop {
        let response = app.report(job.id, "items", &token, items(reported)).await;
        assert_eq!(response.status(), 200);
        reported += 50;
        let view = app.job(job.id).await;
        if view.rate_per_sec.is_some_and(|rate| rate > 0.0) {
            break view;
        }
        assert!(tokio::time::Instant::now() < deadline, "no rate: {view:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(moving.status, JobStatus::Processing);
    let remaining = 100_000 - moving.progress.done();
    let rate = moving.rate_per_sec.unwrap();
    let eta = moving.eta_seconds.expect("an estimate while it moves");
    assert!(
        (eta as f64 - remaining as f64 / rate).abs() <= 1.0 + remaining as f64 / rate * 0.01,
        "{eta} s for {remaining} at {rate}/s"
    );
    assert!(moving.elapsed_ms.unwrap() >= 1_000);
    assert_eq!(moving.stalled_since, None);
    let raw: Value = app
        .get(&format!("/api/jobs/{}", job.id))
        .await
        .json()
        .await
        .unwrap();
    for field in ["rate_per_sec", "eta_seconds", "elapsed_ms"] {
        assert!(raw[field].is_number(), "{field} in {raw}");
    }

    // The worker goes quiet: after 30 s the job is stalled since its last report.
    let last_move = chrono::Utc::now();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let stalled = loop {
        let view = app.job(job.id).await;
        if view.stalled_since.is_some() {
            break view;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never stalled: {view:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let since = stalled.stalled_since.unwrap();
    assert!(
        since <= last_move,
        "{since} after the last report at {last_move}"
    );
    assert!(chrono::Utc::now() - since >= chrono::Duration::seconds(30));
    assert_eq!(stalled.rate_per_sec, Some(0.0));
    assert_eq!(stalled.eta_seconds, None);
    // One more report and it moves again.
    app.report(job.id, "items", &token, items(reported)).await;
    assert_eq!(app.job(job.id).await.stalled_since, None);
}
