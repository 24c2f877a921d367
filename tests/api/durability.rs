//! Faults at the provider, two runners on one database, and SQLite under contention.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use jobpulse::protocol::{ItemStatus, JobStatus};
use serde_json::json;

use crate::fake_provider::{Fault, fault_for};
use crate::helpers::{phones, spawn_app_with};

#[tokio::test]
async fn transient_faults_are_retried_and_permanent_ones_are_not() {
    let app = spawn_app_with(|s| {
        s.provider.timeout_ms = 300;
        s.engine.max_attempts = 4;
    })
    .await;
    app.provider.set(|b| {
        b.faults = true;
        b.hang = Duration::from_millis(1_500);
    });
    let list = phones(400);
    let job = app.create_job(&list, 20).await;
    let done = app.wait_until_finished(job.id).await;
    assert_eq!(done.status, JobStatus::Completed);
    let refused: HashSet<_> = list.iter().filter(|p| p.ends_with("13")).cloned().collect();
    assert_eq!(done.progress.failed as usize, refused.len());
    assert_eq!(done.progress.sent as usize, list.len() - refused.len());

    let requests = app.provider.requests();
    let mut per_key: HashMap<String, usize> = HashMap::new();
    for r in &requests {
        *per_key.entry(r.key.clone()).or_default() += 1;
    }
    let items: Vec<_> = app
        .items(job.id, "sent")
        .await
        .into_iter()
        .chain(app.items(job.id, "failed").await)
        .collect();
    let mut seen = HashSet::new();
    for item in &items {
        let key = format!("{}:{}", job.id, item.index);
        let asked = per_key[&key];
        if refused.contains(&item.recipient) {
            assert_eq!(item.status, ItemStatus::Failed);
            assert_eq!(
                (asked, item.attempts),
                (1, 1),
                "permanent errors are never retried"
            );
        } else if fault_for(&key).is_some() {
            assert_eq!(item.status, ItemStatus::Sent);
            assert_eq!(
                (asked, item.attempts as usize),
                (2, 2),
                "{key}: one fault, one retry"
            );
            assert_eq!(item.errors.len(), 1);
        } else {
            assert_eq!((asked, item.attempts), (1, 1));
        }
        assert!(seen.insert(item.recipient.clone()));
    }
    // Each injected kind of fault really happened.
    let faults: HashSet<_> = items
        .iter()
        .filter(|i| !refused.contains(&i.recipient))
        .filter_map(|i| fault_for(&format!("{}:{}", job.id, i.index)))
        .collect();
    assert_eq!(
        faults,
        HashSet::from([Fault::ServerError, Fault::Hang, Fault::TooManyRequests])
    );
    // Nothing delivered twice: one delivery per accepted recipient.
    assert_eq!(app.provider.delivered().len(), list.len() - refused.len());
}

#[tokio::test]
async fn two_instances_on_one_database_never_claim_the_same_item() {
    let app = spawn_app_with(|s| s.engine.max_concurrent_jobs = 2).await;
    app.provider.set(|b| b.latency = Duration::from_millis(2));
    let second = app.another_instance().await;
    assert!(second.port != app.port);
    let mut ids = Vec::new();
    for n in 0..4 {
        ids.push(app.create_job(&phones(300), 4 + n).await.id);
    }
    for id in &ids {
        let done = app.wait_until_finished(*id).await;
        assert_eq!(done.status, JobStatus::Completed);
        assert_eq!(done.progress.sent + done.progress.failed, 300);
    }
    let mut per_key: HashMap<String, usize> = HashMap::new();
    for r in app.provider.requests() {
        *per_key.entry(r.key).or_default() += 1;
    }
    assert_eq!(per_key.len(), 1_200);
    assert!(
        per_key.values().all(|&n| n == 1),
        "an item was claimed twice"
    );
    // Both instances did some of the work (each runs at most two jobs at once).
    let mut owners = HashSet::new();
    for id in &ids {
        for event in app.events(id).await {
            if event["type"] == "job_started" {
                owners.insert(event["instance"].as_str().unwrap().to_owned());
            }
        }
    }
    let instance = |state: &jobpulse::server::AppState| {
        state.engine.as_ref().unwrap().instance_id().to_owned()
    };
    assert_eq!(
        owners,
        HashSet::from([instance(&app.state), instance(&second.state)])
    );
}

#[tokio::test]
async fn no_database_is_locked_error_reaches_a_caller_under_contention() {
    let app = spawn_app_with(|s| s.engine.max_concurrent_jobs = 4).await;
    let seed = app.create_job(&phones(200), 5).await;
    let writers = (0..8).map(|w| {
        let client = app.client.clone();
        let url = format!("{}/api/messages/send-bulk", app.address);
        let token = app.token.clone();
        tokio::spawn(async move {
            let mut statuses = Vec::new();
            for _ in 0..5 {
                let response = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&json!({"message": "contention", "phones": phones(100 + w), "devices_limit": 5}))
                    .send()
                    .await
                    .unwrap();
                statuses.push(response.status().as_u16());
            }
            statuses
        })
    });
    let readers = (0..24).map(|_| {
        let client = app.client.clone();
        let base = app.address.clone();
        let token = app.token.clone();
        let id = seed.id;
        tokio::spawn(async move {
            let mut statuses = Vec::new();
            for i in 0..20 {
                let path = match i % 3 {
                    0 => format!("{base}/api/jobs"),
                    1 => format!("{base}/api/jobs/{id}/events?after_seq={}", i * 5),
                    _ => format!("{base}/api/jobs/{id}/items?status=sent"),
                };
                let response = client.get(path).bearer_auth(&token).send().await.unwrap();
                statuses.push(response.status().as_u16());
            }
            statuses
        })
    });
    let writes: Vec<u16> = futures::future::join_all(writers)
        .await
        .into_iter()
        .flat_map(|r| r.unwrap())
        .collect();
    let reads: Vec<u16> = futures::future::join_all(readers)
        .await
        .into_iter()
        .flat_map(|r| r.unwrap())
        .collect();
    assert!(writes.iter().all(|&s| s == 202), "{writes:?}");
    assert!(reads.iter().all(|&s| s == 200), "{reads:?}");
    let jobs: Vec<serde_json::Value> = app.get("/api/jobs?limit=100").await.json().await.unwrap();
    for job in jobs {
        let done = app.wait_until_finished(job["id"].as_str().unwrap()).await;
        assert_eq!(done.status, JobStatus::Completed);
    }
}
