//! Scale-out: three instances of the real binary on one PostgreSQL database. Nothing is claimed
//! twice, events cross instances without a gap, a killed instance's job is rescued, and clients
//! converge even when the listeners' connections are killed.

#[path = "support/fake_provider.rs"]
mod fake_provider;
#[path = "support/postgres.rs"]
mod postgres_db;
#[path = "support/process.rs"]
mod process;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use fake_provider::FakeProvider;
use futures::StreamExt;
use process::{Launch, Server, accepted_phones, all_items, create_job, get, wait_until_completed};
use serde_json::Value;
use sqlx::Connection;
use tokio_tungstenite::tungstenite::Message;

const RECIPIENTS: usize = 10_000;

struct Cluster {
    launch: Launch,
    servers: Vec<Server>,
    token: String,
    provider: FakeProvider,
    db: postgres_db::TestDatabase,
    _dir: tempfile::TempDir,
}

async fn cluster(instances: usize, latency_ms: u64) -> Cluster {
    let provider = FakeProvider::start().await;
    provider.set(|b| b.latency = Duration::from_millis(latency_ms));
    let db = postgres_db::TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let launch = Launch {
        lease_ms: 1_500,
        ..Launch::new(dir.path(), db.url.clone(), provider.url())
    };
    let token = launch.tenant("acme").await;
    let mut servers = Vec::new();
    for _ in 0..instances {
        servers.push(launch.serve().await);
    }
    Cluster {
        launch,
        servers,
        token,
        provider,
        db,
        _dir: dir,
    }
}

/// Follows a job over one instance's WebSocket from seq 0, returning every seq it saw.
fn follow(base: &str, token: &str, job: &str) -> tokio::task::JoinHandle<(Vec<u64>, Value)> {
    let url = format!(
        "{}/api/ws/job/{job}?token={token}&after_seq=0",
        base.replacen("http", "ws", 1)
    );
    tokio::spawn(async move {
        let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        let mut seqs = Vec::new();
        loop {
            let frame = tokio::time::timeout(Duration::from_secs(120), socket.next())
                .await
                .expect("events keep coming")
                .expect("the socket stays open")
                .unwrap();
            let Message::Text(text) = frame else { continue };
            let msg: Value = serde_json::from_str(text.as_str()).unwrap();
            if let Some(seq) = msg["seq"].as_u64() {
                seqs.push(seq);
            }
            if msg["type"] == "job_completed" {
                return (seqs, msg);
            }
        }
    })
}

/// The instance whose engine ran the job (from its `job_started` events: the last one).
async fn runner(cluster: &Cluster, job: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let page = get(
            &cluster.servers[0].base,
            &cluster.token,
            &format!("/api/jobs/{job}/events?limit=5"),
        )
        .await;
        if let Some(started) = page["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["type"] == "job_started")
        {
            return started["instance"].as_str().unwrap().to_owned();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "nobody claimed the job"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Checks that every recipient went to the provider exactly once, under one key.
fn assert_each_recipient_once(provider: &FakeProvider) {
    let mut per_key: HashMap<String, usize> = HashMap::new();
    let mut keys_per_recipient: HashMap<String, HashSet<String>> = HashMap::new();
    for request in provider.requests() {
        *per_key.entry(request.key.clone()).or_default() += 1;
        keys_per_recipient
            .entry(request.to)
            .or_default()
            .insert(request.key);
    }
    assert_eq!(provider.delivered().len(), RECIPIENTS);
    assert_eq!(keys_per_recipient.len(), RECIPIENTS);
    assert!(
        keys_per_recipient.values().all(|keys| keys.len() == 1),
        "a recipient under two keys"
    );
    let _ = per_key;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_share_the_work_and_every_instance_streams_every_event() {
    let cluster = cluster(3, 2).await;
    let job = create_job(
        &cluster.servers[0].base,
        &cluster.token,
        &accepted_phones(RECIPIENTS),
        10,
    )
    .await;
    let followers: Vec<_> = cluster
        .servers
        .iter()
        .map(|s| follow(&s.base, &cluster.token, &job))
        .collect();
    let ran_by = runner(&cluster, &job).await;
    let done = wait_until_completed(&cluster.servers[1].base, &cluster.token, &job).await;
    let n = done["last_seq"].as_u64().unwrap();
    let mut others = 0;
    for (server, follower) in cluster.servers.iter().zip(followers) {
        let (seqs, completed) = follower.await.unwrap();
        assert_eq!(
            seqs,
            (1..=n).collect::<Vec<_>>(),
            "instance {}",
            server.base
        );
        assert_eq!(completed["results"]["sent"], RECIPIENTS);
        if server.instance().await != ran_by {
            others += 1;
        }
    }
    assert_eq!(
        others, 2,
        "two of the three followed a job another instance ran"
    );

    // Nothing claimed twice: at the provider, and in the database.
    let mut per_key: HashMap<String, usize> = HashMap::new();
    for request in cluster.provider.requests() {
        *per_key.entry(request.key).or_default() += 1;
    }
    assert_eq!(per_key.len(), RECIPIENTS);
    assert!(per_key.values().all(|&n| n == 1), "an item was sent twice");
    let items = all_items(&cluster.servers[2].base, &cluster.token, &job).await;
    assert_eq!(items.len(), RECIPIENTS);
    assert!(
        items
            .iter()
            .all(|i| i["status"] == "sent" && i["attempts"] == 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_running_instance_loses_nothing() {
    let mut cluster = cluster(3, 3).await;
    let job = create_job(
        &cluster.servers[0].base,
        &cluster.token,
        &accepted_phones(RECIPIENTS),
        10,
    )
    .await;
    let ran_by = runner(&cluster, &job).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while cluster.provider.requests().len() < 2_000 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut victim = None;
    for (i, server) in cluster.servers.iter().enumerate() {
        if server.instance().await == ran_by {
            victim = Some(i);
        }
    }
    let victim = victim.expect("the runner is one of ours");
    cluster.servers[victim].kill().await;
    let survivor = &cluster.servers[(victim + 1) % 3];
    let done = wait_until_completed(&survivor.base, &cluster.token, &job).await;
    assert_eq!(done["progress"]["sent"], RECIPIENTS);
    let rescuer = runner_after(&survivor.base, &cluster.token, &job).await;
    assert_ne!(rescuer, ran_by, "another instance rescued it");
    assert_each_recipient_once(&cluster.provider);
    let items = all_items(&survivor.base, &cluster.token, &job).await;
    assert!(items.iter().all(|i| i["status"] == "sent"));
    let _ = &cluster.launch;
}

/// The instance named by a job's last `job_started` event.
async fn runner_after(base: &str, token: &str, job: &str) -> String {
    let events = process::all_events(base, token, job).await;
    events
        .iter()
        .rev()
        .find(|e| e["type"] == "job_started")
        .and_then(|e| e["instance"].as_str())
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_converge_when_the_listeners_connections_are_killed() {
    let cluster = cluster(3, 3).await;
    let job = create_job(
        &cluster.servers[0].base,
        &cluster.token,
        &accepted_phones(RECIPIENTS),
        10,
    )
    .await;
    let followers: Vec<_> = cluster
        .servers
        .iter()
        .map(|s| follow(&s.base, &cluster.token, &job))
        .collect();
    runner(&cluster, &job).await;
    let mut admin = sqlx::PgConnection::connect(&cluster.db.url).await.unwrap();
    let database = cluster.db.url.rsplit('/').next().unwrap().to_owned();
    let mut terminated = 0;
    for threshold in [1_500, 3_500, 5_500, 7_500] {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while cluster.provider.requests().len() < threshold {
            assert!(tokio::time::Instant::now() < deadline);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let killed: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = 'jobpulse-listener' AND datname = $1",
        )
        .bind(&database)
        .fetch_all(&mut admin)
        .await
        .unwrap();
        terminated += killed.iter().filter(|k| **k).count();
    }
    assert!(terminated >= 4, "listeners were terminated ({terminated})");
    let done = wait_until_completed(&cluster.servers[0].base, &cluster.token, &job).await;
    let n = done["last_seq"].as_u64().unwrap();
    for (server, follower) in cluster.servers.iter().zip(followers) {
        let (seqs, completed) = follower.await.unwrap();
        // Every event arrived once, in order: the state is the database's.
        assert_eq!(
            seqs,
            (1..=n).collect::<Vec<_>>(),
            "instance {}",
            server.base
        );
        assert_eq!(completed["results"]["sent"], done["progress"]["sent"]);
    }
}
