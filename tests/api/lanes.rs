//! Sender lanes: a bulk send's devices in its job view (what each sent, failed, holds and how
//! fast), and pausing one device's share so the others take it.

use std::collections::HashMap;
use std::time::Duration;

use jobpulse::protocol::JobStatus;
use jobpulse::protocol::lanes::LaneState;
use serde_json::Value;

use crate::helpers::{TestApp, phones, spawn_app};

async fn device(
    app: &TestApp,
    job: impl std::fmt::Display,
    device: &str,
    action: &str,
) -> reqwest::Response {
    app.job_action(job, &format!("devices/{device}/{action}"), None)
        .await
}

#[tokio::test]
async fn every_device_is_a_lane_and_the_lanes_add_up_to_the_job() {
    let app = spawn_app().await;
    let job = app.create_job(&phones(300), 3).await;
    // Created with its lanes, before anything ran.
    let devices: Vec<u32> = job.senders.iter().map(|l| l.device_id).collect();
    assert_eq!(devices, [1, 2, 3]);
    assert!(
        job.senders
            .iter()
            .all(|l| l.sender_id.is_none() && l.sent == 0)
    );

    let done = app.wait_until_finished(job.id).await;
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!(done.senders.len(), 3);
    let sent: u64 = done.senders.iter().map(|l| l.sent).sum();
    let failed: u64 = done.senders.iter().map(|l| l.failed).sum();
    assert_eq!((sent, failed), (done.progress.sent, done.progress.failed));
    assert_eq!(failed, 30, "numbers ending in 13 are refused");
    // The provider saw each device send what its lane says.
    let mut asked: HashMap<u32, u64> = HashMap::new();
    for request in app.provider.requests() {
        *asked.entry(request.device_id).or_default() += 1;
    }
    for lane in &done.senders {
        assert_eq!(
            asked.get(&lane.device_id).copied().unwrap_or(0),
            lane.sent + lane.failed
        );
        assert_eq!((lane.state, lane.in_flight), (LaneState::Stopped, 0));
        if lane.failed > 0 {
            let error = lane.last_error.as_deref().unwrap_or_default();
            assert!(!error.is_empty(), "a lane that failed says why: {lane:?}");
            assert!(lane.last_fault.is_some());
        }
    }
    // Lists carry the lanes too.
    let listed: Vec<Value> = app.get("/api/jobs").await.json().await.unwrap();
    let lanes = listed[0]["senders"].as_array().unwrap();
    assert_eq!(lanes.len(), 3);
    for key in [
        "sender_id",
        "device_id",
        "state",
        "sent",
        "failed",
        "in_flight",
        "rate_per_sec",
        "last_error",
    ] {
        assert!(lanes[0].get(key).is_some(), "{key} in {}", lanes[0]);
    }
}

#[tokio::test]
async fn a_paused_device_gives_its_share_to_the_others() {
    let app = spawn_app().await;
    app.provider.set(|b| b.latency = Duration::from_millis(5));
    let job = app.create_job(&phones(240), 3).await;
    // Held still while its devices are set up, so what device 2 did before is known exactly.
    assert_eq!(app.job_action(job.id, "pause", None).await.status(), 200);
    let held = app
        .wait_for(job.id, |j| j.status == JobStatus::Paused)
        .await;
    let before = held.senders.iter().find(|l| l.device_id == 2).unwrap().sent;

    let paused = device(&app, job.id, "2", "pause").await;
    assert_eq!(paused.status(), 200);
    let view: jobpulse::protocol::JobView = paused.json().await.unwrap();
    let lane = view.senders.iter().find(|l| l.device_id == 2).unwrap();
    assert!(lane.paused);
    assert_eq!(lane.state, LaneState::Paused);
    assert_eq!(device(&app, job.id, "1", "pause").await.status(), 200);
    // The last device still sending cannot be paused: that would be pausing the job.
    let last = device(&app, job.id, "3", "pause").await;
    assert_eq!(last.status(), 409);
    let body: Value = last.json().await.unwrap();
    assert_eq!(body["code"], "last_device");
    assert_eq!(body["refusal"]["code"], "last_device", "{body}");
    assert!(body["detail"].as_str().unwrap().contains("pause the job"));
    assert_eq!(device(&app, job.id, "1", "resume").await.status(), 200);

    // Unknown devices, a device that is not a number, another tenant's job: not found.
    assert_eq!(device(&app, job.id, "9", "pause").await.status(), 404);
    assert_eq!(device(&app, job.id, "two", "pause").await.status(), 404);
    let stranger = app.other_tenant_token("globex").await;
    let foreign = app
        .client
        .post(format!(
            "{}/api/jobs/{}/devices/1/pause",
            app.address, job.id
        ))
        .bearer_auth(&stranger)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 404);

    let before_resume = app.provider.requests().len();
    assert_eq!(app.job_action(job.id, "resume", None).await.status(), 200);
    let done = app.wait_until_finished(job.id).await;
    assert_eq!(done.status, JobStatus::Completed);
    assert_eq!(done.progress.done(), 240, "every recipient has an outcome");
    let lane2 = done.senders.iter().find(|l| l.device_id == 2).unwrap();
    assert_eq!(lane2.sent, before, "the paused device took no new items");
    assert!(lane2.paused);
    let resumed_by_2 = app.provider.requests()[before_resume..]
        .iter()
        .filter(|r| r.device_id == 2)
        .count();
    assert_eq!(resumed_by_2, 0);
    let others: u64 = done
        .senders
        .iter()
        .filter(|l| l.device_id != 2)
        .map(|l| l.sent)
        .sum();
    assert_eq!(others + lane2.sent, done.progress.sent);
    // An ended send's devices are not steered any more.
    let late = device(&app, job.id, "2", "resume").await;
    assert_eq!(late.status(), 409);
}
