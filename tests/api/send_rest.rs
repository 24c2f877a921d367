//! "Send the rest": a cancelled send's untried recipients as a new send, once.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use jobpulse::protocol::{JobStatus, JobView};
use serde_json::Value;

use crate::helpers::{phones, spawn_app};

#[tokio::test]
async fn a_cancelled_send_sends_its_rest_once_and_only_to_whom_it_never_tried() {
    let app = spawn_app().await;
    app.provider.set(|b| b.latency = Duration::from_millis(20));
    let list = phones(400);
    let job = app.create_job(&list, 2).await;

    // Only a cancelled send has a rest to send: this one still runs.
    let early = app.job_action(job.id, "send-rest", None).await;
    assert_eq!(early.status(), 409);
    let body: Value = early.json().await.unwrap();
    assert_eq!(body["code"], "not_cancelled", "{body}");

    app.wait_for(job.id, |j| j.progress.done() >= 20).await;
    assert_eq!(app.job_action(job.id, "cancel", None).await.status(), 200);
    let cancelled = app
        .wait_for(job.id, |j| j.status == JobStatus::Cancelled)
        .await;
    let mut tried = HashSet::new();
    for status in ["sent", "failed", "unknown"] {
        tried.extend(
            app.items(job.id, status)
                .await
                .into_iter()
                .map(|i| i.recipient),
        );
    }
    let untried: HashSet<String> = app
        .items(job.id, "pending")
        .await
        .into_iter()
        .map(|i| i.recipient)
        .collect();
    assert!(
        !untried.is_empty(),
        "cancelled early enough to leave a rest"
    );
    assert_eq!(tried.len() + untried.len(), list.len());
    assert_eq!(
        cancelled.progress.total - cancelled.progress.done(),
        untried.len() as u64
    );

    let response = app.job_action(job.id, "send-rest", None).await;
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    let rest: JobView = serde_json::from_value(body["job"].clone()).unwrap();
    assert_ne!(rest.id, job.id);
    assert_eq!(rest.total_numbers, untried.len() as u64);
    assert_eq!(rest.message, job.message);
    assert_eq!(rest.devices_limit, 2);

    // Asked again (a double click, another tab): the same new send, nothing sent twice.
    let again = app.job_action(job.id, "send-rest", None).await;
    assert_eq!(again.status(), 200);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["job"]["id"], body["job"]["id"]);

    let done = app.wait_until_finished(rest.id).await;
    assert_eq!(done.status, JobStatus::Completed);
    let mut sent_now = HashSet::new();
    for status in ["sent", "failed"] {
        sent_now.extend(
            app.items(rest.id, status)
                .await
                .into_iter()
                .map(|i| i.recipient),
        );
    }
    assert_eq!(sent_now, untried, "the rest is exactly who was never tried");
    // Every number reached the provider once, across both sends.
    let mut asked: HashMap<String, usize> = HashMap::new();
    for request in app.provider.requests() {
        *asked.entry(request.to).or_default() += 1;
    }
    assert_eq!(asked.len(), list.len());
    assert!(asked.values().all(|&n| n == 1), "nobody was sent twice");

    // A send that ended any other way has no rest; another tenant's send is not found.
    let completed = app.job_action(rest.id, "send-rest", None).await;
    assert_eq!(completed.status(), 409);
    let stranger = app.other_tenant_token("globex").await;
    let foreign = app
        .client
        .post(format!("{}/api/jobs/{}/send-rest", app.address, job.id))
        .bearer_auth(&stranger)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 404);
}
