//! Cancel, pause / resume (across a restart), retry-failed, and a provider that stays down.

use std::collections::HashMap;
use std::time::Duration;

use jobpulse::protocol::{FailureGroup, JobStatus};
use serde_json::{Value, json};

use crate::helpers::{TestApp, phones, spawn_app, spawn_app_with};

/// Waits until the provider has been asked at least `n` times.
async fn wait_for_requests(app: &TestApp, n: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while app.provider.requests().len() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the provider was not called"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Every key the provider was asked for, with how many times.
/// `GET /api/jobs/{id}/failures`.
async fn failures(app: &TestApp, job: impl std::fmt::Display) -> Vec<FailureGroup> {
    let response = app.get(&format!("/api/jobs/{job}/failures")).await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn requests_per_key(app: &TestApp) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for request in app.provider.requests() {
        *counts.entry(request.key).or_default() += 1;
    }
    counts
}

#[tokio::test]
async fn cancelling_a_running_send_stops_it_with_exact_counts() {
    let app = spawn_app().await;
    app.provider.set(|b| b.latency = Duration::from_millis(20));
    let job = app.create_job(&phones(600), 3).await;
    wait_for_requests(&app, 30).await;

    let response = app.job_action(job.id, "cancel", None).await;
    assert_eq!(response.status(), 200);
    let cancelled: jobpulse::protocol::JobView = response.json().await.unwrap();
    assert_eq!(
        cancelled.status,
        JobStatus::Cancelled,
        "the answer waits for the final counts"
    );
    let p = cancelled.progress;
    assert!(p.sent + p.failed >= 30 && p.sent + p.failed < 600, "{p:?}");

    // The database agrees, and nothing was left in flight.
    let sent = app.items(job.id, "sent").await;
    let failed = app.items(job.id, "failed").await;
    let pending = app.items(job.id, "pending").await;
    assert_eq!(sent.len() as u64, p.sent);
    assert_eq!(failed.len() as u64, p.failed);
    assert_eq!(sent.len() + failed.len() + pending.len(), 600);
    assert!(app.items(job.id, "sending").await.is_empty());
    // Only the items with an outcome were ever sent to the provider.
    assert_eq!(app.provider.requests().len(), sent.len() + failed.len());

    let events = app.events(job.id).await;
    let last = events.last().unwrap();
    assert_eq!(last["type"], "job_cancelled");
    assert_eq!(last["progress"]["sent"], p.sent);
    assert_eq!(last["progress"]["failed"], p.failed);
    assert_eq!(last["seq"], cancelled.last_seq);

    let again = app.job_action(job.id, "cancel", None).await;
    assert_eq!(again.status(), 409);
    let body: Value = again.json().await.unwrap();
    assert_eq!(
        body["detail"],
        "The job has already been cancelled; there is nothing to cancel."
    );
    // Scripts match on the code, people read the detail.
    assert_eq!(body["code"], "ended");
}

#[tokio::test]
async fn a_job_no_instance_runs_is_cancelled_at_once() {
    let app = spawn_app_with(|s| s.engine.enabled = false).await;
    let job = app.create_job(&phones(5), 1).await;
    let response = app.job_action(job.id, "cancel", None).await;
    assert_eq!(response.status(), 200);
    let job: Value = response.json().await.unwrap();
    assert_eq!(job["status"], "cancelled");
    let events = app.events(job["id"].as_str().unwrap()).await;
    let kinds: Vec<_> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["job_created", "job_cancelled"]);
    let missing = app.job_action(uuid::Uuid::now_v7(), "cancel", None).await;
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn a_paused_job_stays_paused_across_a_restart_and_resumes() {
    let mut app = spawn_app().await;
    app.provider.set(|b| b.latency = Duration::from_millis(10));
    let job = app.create_job(&phones(400), 2).await;
    wait_for_requests(&app, 20).await;

    let paused: Value = app
        .job_action(job.id, "pause", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(paused["status"], "paused");
    let asked = app.provider.requests().len();

    app.restart().await;
    let still = app.job(job.id).await;
    assert_eq!(
        still.status,
        JobStatus::Paused,
        "a paused job holds no lease and is not claimed"
    );
    assert!(app.items(job.id, "sending").await.is_empty());
    assert_eq!(app.provider.requests().len(), asked);
    assert_eq!(app.job_action(job.id, "pause", None).await.status(), 409);

    let resumed = app.job_action(job.id, "resume", None).await;
    assert_eq!(resumed.status(), 200);
    let done = app.wait_until_finished(job.id).await;
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!(done.progress.sent + done.progress.failed, 400);
    // Every recipient was asked for exactly once, pause or not.
    let counts = requests_per_key(&app);
    assert_eq!(counts.len(), 400);
    assert!(counts.values().all(|&n| n == 1));

    let kinds: Vec<String> = app
        .events(job.id)
        .await
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect();
    for kind in ["job_paused", "job_resumed", "job_completed"] {
        assert!(kinds.contains(&kind.to_owned()), "{kind} in {kinds:?}");
    }
    assert_eq!(app.job_action(job.id, "resume", None).await.status(), 409);
}

#[tokio::test]
async fn retry_failed_requeues_only_failed_items_in_the_same_job() {
    let app = spawn_app().await;
    let list = phones(40);
    let refused = list.iter().filter(|p| p.ends_with("13")).count() as u64;
    let job = app.create_job(&list, 2).await;
    let first = app.wait_until_finished(job.id).await;
    assert_eq!(first.progress.failed, refused);
    let first_last_seq = first.last_seq;

    // The provider now accepts those numbers: retrying sends only them.
    app.provider.set(|b| b.accept_13 = true);
    let response = app
        .job_action(
            job.id,
            "retry-failed",
            Some(json!({"include_unknown": false})),
        )
        .await;
    assert_eq!(response.status(), 200);
    let again = app.wait_until_finished(job.id).await;
    assert_eq!(again.id, job.id);
    assert_eq!((again.progress.sent, again.progress.failed), (40, 0));

    let events = app.events(job.id).await;
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=again.last_seq).collect::<Vec<_>>(),
        "seq continues without a gap"
    );
    assert_eq!(events[first_last_seq as usize]["type"], "job_resumed");
    let retried: Vec<_> = events[first_last_seq as usize..]
        .iter()
        .filter(|e| e["type"] == "progress")
        .map(|e| e["phone"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(retried.len() as u64, refused);
    assert!(retried.iter().all(|p| p.ends_with("13")));

    let counts = requests_per_key(&app);
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n == 2).collect();
    assert_eq!(
        twice.len() as u64,
        refused,
        "only the failed items were sent again"
    );
    let item = app
        .items(job.id, "sent")
        .await
        .into_iter()
        .find(|i| i.recipient.ends_with("13"))
        .unwrap();
    assert_eq!(item.attempts, 2);
    assert_eq!(item.errors, ["recipient not on WhatsApp"]);

    let nothing = app.job_action(job.id, "retry-failed", None).await;
    assert_eq!(nothing.status(), 409);
}

#[tokio::test]
async fn failures_are_counted_by_reason_and_one_reason_is_retried_alone() {
    let app = spawn_app().await;
    app.provider.set(|b| b.refuse_17 = true);
    let mut list = phones(60);
    let refused_13 = list.iter().filter(|p| p.ends_with("13")).count() as u64;
    list.extend((0..9).map(|i| format!("+3469{i:05}17")));
    let job = app.create_job(&list, 3).await;
    let first = app.wait_until_finished(job.id).await;
    assert_eq!(first.progress.failed, refused_13 + 9);

    // Every failure counted, one group per reason, the biggest first.
    let groups = failures(&app, job.id).await;
    let counts: Vec<(&str, u64)> = groups.iter().map(|g| (g.class.as_str(), g.count)).collect();
    assert_eq!(
        counts,
        [("provider_status_403", 9), ("provider_said", refused_13)],
        "{groups:?}"
    );
    assert_eq!(groups[0].error, "provider answered 403");
    assert_eq!(groups[1].error, "recipient not on WhatsApp");

    // The failed tab exports as CSV: every failed item, numbers as they are.
    let csv = app
        .get(&format!(
            "/api/jobs/{}/items?status=failed&format=csv",
            job.id
        ))
        .await;
    assert_eq!(csv.status(), 200);
    assert_eq!(
        csv.headers()["content-type"],
        "text/csv; charset=utf-8",
        "a spreadsheet"
    );
    let csv = csv.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].starts_with("index,recipient,status,attempts,error,"),
        "{}",
        lines[0]
    );
    assert_eq!(lines.len() as u64, 1 + refused_13 + 9);
    assert!(
        lines[1..]
            .iter()
            .all(|l| l.split(',').nth(1).unwrap().starts_with("+34")),
        "{csv}"
    );
    assert!(
        csv.contains(",failed,1,recipient not on WhatsApp,"),
        "{csv}"
    );
    let bad = app
        .get(&format!("/api/jobs/{}/items?format=xml", job.id))
        .await;
    assert_eq!(bad.status(), 400);

    // The provider takes the 17s now: retrying that reason sends them, and only them.
    app.provider.set(|b| b.refuse_17 = false);
    let body = json!({"errors": ["provider_status_403"]});
    let retried = app.job_action(job.id, "retry-failed", Some(body)).await;
    assert_eq!(retried.status(), 200);
    let again = app.wait_until_finished(job.id).await;
    assert_eq!(again.status, JobStatus::Completed);
    assert_eq!(again.progress.failed, refused_13);
    assert_eq!(again.progress.sent, list.len() as u64 - refused_13);
    let groups = failures(&app, job.id).await;
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0].class, "provider_said");
    let sent_twice = requests_per_key(&app).values().filter(|&&n| n == 2).count();
    assert_eq!(sent_twice, 9, "only the 17s were sent again");

    // A reason with no failures left is nothing to retry; another tenant sees no such job.
    let none = json!({"errors": ["provider_status_403"]});
    assert_eq!(
        app.job_action(job.id, "retry-failed", Some(none))
            .await
            .status(),
        409
    );
    let stranger = app.other_tenant_token("elsewhere").await;
    let url = format!("/api/jobs/{}/failures", job.id);
    assert_eq!(app.get_as(&stranger, &url).await.status(), 404);
}

#[tokio::test]
async fn a_provider_that_stays_down_fails_the_job_and_keeps_items_pending() {
    let app = spawn_app_with(|s| {
        s.engine.provider_down_after_ms = 300;
        s.engine.max_attempts = 1_000;
    })
    .await;
    app.provider.set(|b| b.down = true);
    let job = app.create_job(&phones(30), 3).await;
    let failed = app.wait_until_finished(job.id).await;
    assert_eq!(failed.status, JobStatus::Failed);
    let error = failed.last_error.clone().unwrap();
    assert!(error.contains("provider down for maintenance"), "{error}");
    assert_eq!(failed.progress.sent + failed.progress.failed, 0);
    assert_eq!(app.items(job.id, "pending").await.len(), 30);
    let last = app.events(job.id).await.pop().unwrap();
    assert_eq!(last["type"], "job_failed");
    assert!(last["message"].as_str().unwrap().contains("resume"));
    assert_eq!(last["fault"]["code"], "provider_down");
    assert_eq!(last["fault"]["after_ms"], 300);
    assert!(error.contains("for 300 ms"), "{error}");

    app.provider.set(|b| b.down = false);
    assert_eq!(app.job_action(job.id, "resume", None).await.status(), 200);
    let done = app.wait_until_finished(job.id).await;
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!(done.progress.sent + done.progress.failed, 30);
}
