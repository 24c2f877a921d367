use std::collections::HashSet;

use jobpulse::protocol::fault::SendFault;
use jobpulse::protocol::{ItemStatus, ItemsPage, JobStatus};
use serde_json::{Value, json};

use crate::helpers::{phones, spawn_app};

#[tokio::test]
async fn a_thousand_recipients_all_end_sent_or_failed() {
    let app = spawn_app().await;
    let phones = phones(1_000);
    let refused = phones.iter().filter(|p| p.ends_with("13")).count() as u64;
    let job = app.create_job(&phones, 5).await;
    assert_eq!(job.status, JobStatus::Pending);
    assert_eq!(job.progress.total, 1_000);
    assert_eq!(job.last_seq, 1);

    let job = app.wait_until_finished(job.id).await;
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(job.progress.sent + job.progress.failed, 1_000);
    assert_eq!(job.progress.failed, refused);
    assert_eq!(job.progress.percentage, 100.0);
    let results = job.results.expect("a finished job has a summary");
    assert_eq!(results.sent, 1_000 - refused);
    assert_eq!(results.parallel_workers, 5);
    assert!(results.devices_used >= 1 && results.devices_used <= 5);
    // created + started + one per item + completed
    assert_eq!(job.last_seq, 1_000 + 3);

    // The items table agrees with the counters, item by item.
    let mut items = Vec::new();
    let mut after: Option<u64> = None;
    loop {
        let path = match after {
            Some(a) => format!("/api/jobs/{}/items?limit=300&after={a}", job.id),
            None => format!("/api/jobs/{}/items?limit=300", job.id),
        };
        let page: ItemsPage = app.get(&path).await.json().await.unwrap();
        items.extend(page.items);
        match page.next_after {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(items.len(), 1_000);
    let sent = items
        .iter()
        .filter(|i| i.status == ItemStatus::Sent)
        .count() as u64;
    let failed: Vec<_> = items
        .iter()
        .filter(|i| i.status == ItemStatus::Failed)
        .collect();
    assert_eq!(sent, job.progress.sent);
    assert_eq!(failed.len() as u64, job.progress.failed);
    let said = SendFault::ProviderSaid {
        text: "recipient not on WhatsApp".into(),
    };
    assert!(failed.iter().all(|i| i.recipient.ends_with("13")
        && i.error.as_deref() == Some("recipient not on WhatsApp")
        && i.fault.as_ref() == Some(&said)
        && i.attempts == 1));
    let failed_page: ItemsPage = app
        .get(&format!(
            "/api/jobs/{}/items?status=failed&limit=5000",
            job.id
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(failed_page.items.len() as u64, refused);

    // The provider got every recipient exactly once, each under its own stable key.
    let requests = app.provider.requests();
    assert_eq!(requests.len(), 1_000);
    let keys: HashSet<_> = requests.iter().map(|r| r.key.clone()).collect();
    assert_eq!(keys.len(), 1_000);
    assert_eq!(app.provider.delivered().len() as u64, job.progress.sent);
    let recipients: HashSet<_> = requests.iter().map(|r| r.to.clone()).collect();
    assert_eq!(recipients, phones.iter().cloned().collect());
    assert!(requests.iter().all(|r| r.job_id == job.id.to_string()
        && (1..=5).contains(&r.device_id)
        && r.authorization.as_deref() == Some("Bearer provider-secret")));
}

#[tokio::test]
async fn the_events_endpoint_returns_exactly_the_tail() {
    let app = spawn_app().await;
    let job = app.create_job(&phones(50), 3).await;
    let job = app.wait_until_finished(job.id).await;
    let n = job.last_seq;

    let all: Value = app
        .get(&format!("/api/jobs/{}/events", job.id))
        .await
        .json()
        .await
        .unwrap();
    let seqs: Vec<u64> = all["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=n).collect::<Vec<_>>());
    assert_eq!(all["last_seq"], n);
    assert_eq!(all["events"][0]["type"], "job_created");
    assert_eq!(all["events"][1]["type"], "job_started");
    assert_eq!(all["events"][n as usize - 1]["type"], "job_completed");

    for k in [0, 1, 17, n - 1, n] {
        let tail: Value = app
            .get(&format!("/api/jobs/{}/events?after_seq={k}", job.id))
            .await
            .json()
            .await
            .unwrap();
        let seqs: Vec<u64> = tail["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["seq"].as_u64().unwrap())
            .collect();
        assert_eq!(seqs, (k + 1..=n).collect::<Vec<_>>(), "after_seq={k}");
        assert_eq!(tail["last_seq"], n);
    }

    let page: Value = app
        .get(&format!("/api/jobs/{}/events?after_seq=10&limit=5", job.id))
        .await
        .json()
        .await
        .unwrap();
    let seqs: Vec<u64> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(seqs, [11, 12, 13, 14, 15]);
    assert_eq!(page["has_more"], true);
}

#[tokio::test]
async fn a_repeated_idempotency_key_returns_the_same_job() {
    let app = spawn_app().await;
    let body = json!({"message": "Hola", "phones": phones(5), "idempotency_key": "order-42"});
    let (first, second) = tokio::join!(app.send_bulk(&body), app.send_bulk(&body));
    assert_eq!(first.status(), 202);
    assert_eq!(second.status(), 202);
    let first: Value = first.json().await.unwrap();
    let second: Value = second.json().await.unwrap();
    assert_eq!(first["job"]["id"], second["job"]["id"]);
    let jobs: Vec<Value> = app.get("/api/jobs").await.json().await.unwrap();
    assert_eq!(jobs.len(), 1);
}

#[tokio::test]
async fn jobs_are_listed_newest_first_and_filtered() {
    let app = spawn_app().await;
    let first = app.create_job(&phones(3), 1).await;
    let second = app.create_job(&phones(4), 1).await;
    app.wait_until_finished(first.id).await;
    app.wait_until_finished(second.id).await;
    let jobs: Vec<Value> = app.get("/api/jobs").await.json().await.unwrap();
    let ids: Vec<_> = jobs
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, [second.id.to_string(), first.id.to_string()]);
    let one: Vec<Value> = app
        .get("/api/jobs?limit=1&status=completed&kind=bulk_send")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one.len(), 1);
    let none: Vec<Value> = app
        .get("/api/jobs?status=failed")
        .await
        .json()
        .await
        .unwrap();
    assert!(none.is_empty());
    let bad = app.get("/api/jobs?status=done").await;
    assert_eq!(bad.status(), 400);
    let body: Value = bad.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("pending"));
}

#[tokio::test]
async fn skip_invalid_leaves_bad_entries_out_and_counts_them() {
    let app = spawn_app().await;
    let response = app
        .send_bulk(&json!({
            "message": "Hola",
            "phones": ["+34600000001", "not a phone", "+34 600 000 001", "+34600000002"],
            "skip_invalid": true
        }))
        .await;
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["job"]["total_numbers"], 2);
    assert_eq!(body["job"]["skipped"], 2);
    assert_eq!(body["job"]["devices_limit"], 5);
    assert_eq!(body["status"], "success");
}
