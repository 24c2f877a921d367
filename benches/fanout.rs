//! The live-channel benchmark: memory per idle WebSocket connection, and fan-out of one job's
//! events to many subscribers (delivered events/s, publish-to-receive latency), for jobpulse and
//! for a Socket.IO 4.8 server doing the same fan-out, with the same client harness, in one run.
//!
//! `cargo bench --features ssr --bench fanout [-- CLIENTS EVENTS PER_SECOND]`
//! (defaults 10000 200 20). Needs Node.js and `npm ci` in `benches/socketio` (done if missing).
//!
//! Both servers run as separate processes on this machine, one after the other; the harness runs
//! here too, so on two cores the three share the CPU: compare the rows, not the absolute numbers.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{Semaphore, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// What one client saw.
#[derive(Default)]
struct Seen {
    latencies_ms: Vec<f32>,
    last_at: f64,
    done: bool,
}

/// The two servers, behind one client harness.
#[derive(Clone)]
enum Target {
    Jobpulse {
        port: u16,
        token: String,
        job: String,
    },
    SocketIo {
        port: u16,
    },
}

async fn connect(target: &Target) -> Socket {
    let url = match target {
        Target::Jobpulse { port, token, job } => {
            format!("ws://127.0.0.1:{port}/api/ws/job/{job}?token={token}")
        }
        Target::SocketIo { port } => {
            format!("ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket")
        }
    };
    // Small buffers: 10,000 clients in one process.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let mut attempt = 0;
    let (mut socket, _) = loop {
        match tokio_tungstenite::connect_async_with_config(url.as_str(), Some(config), true).await {
            Ok(ok) => break ok,
            Err(error) if attempt < 20 => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                let _ = error;
            }
            Err(error) => panic!("cannot connect: {error}"),
        }
    };
    if let Target::SocketIo { .. } = target {
        // Engine.IO open packet, then join the default namespace.
        let _open = socket.next().await;
        socket.send(Message::Text("40".into())).await.unwrap();
        let _joined = socket.next().await;
    } else {
        // `connected`, then `subscribed`.
        let _ = socket.next().await;
        let _ = socket.next().await;
    }
    socket
}

/// Reads events until the last one (or `stop`), recording each one's latency.
async fn follow(
    target: Target,
    mut socket: Socket,
    expected: u64,
    mut stop: watch::Receiver<bool>,
) -> Seen {
    let mut seen = Seen::default();
    loop {
        let frame = tokio::select! {
            frame = socket.next() => frame,
            _ = stop.changed() => return seen,
        };
        let Some(Ok(Message::Text(text))) = frame else {
            if matches!(frame, Some(Ok(_))) {
                continue;
            }
            return seen;
        };
        let text = text.as_str();
        let event: Option<Value> = match target {
            Target::SocketIo { .. } => {
                if text == "2" {
                    let _ = socket.send(Message::Text("3".into())).await;
                    continue;
                }
                text.strip_prefix("42")
                    .and_then(|json| serde_json::from_str::<Value>(json).ok())
                    .map(|mut array| array[1].take())
            }
            Target::Jobpulse { .. } => serde_json::from_str(text).ok(),
        };
        let Some(event) = event else { continue };
        let at = match &event["at"] {
            Value::Number(ms) => ms.as_f64().unwrap_or_default(),
            Value::String(rfc3339) => chrono::DateTime::parse_from_rfc3339(rfc3339)
                .map(|t| t.timestamp_micros() as f64 / 1000.0)
                .unwrap_or_default(),
            _ => continue,
        };
        let now = now_ms();
        if event["type"] == "progress" {
            seen.latencies_ms.push((now - at).max(0.0) as f32);
            seen.last_at = now;
        }
        let finished = event["type"] == "job_completed" || event["seq"].as_u64() == Some(expected);
        if finished && matches!(target, Target::SocketIo { .. }) || event["type"] == "job_completed"
        {
            seen.done = true;
            return seen;
        }
    }
}

struct Row {
    server: &'static str,
    clients: usize,
    per_connection_kib: f64,
    events: u64,
    deliveries: u64,
    delivered_per_sec: f64,
    p50: f32,
    p99: f32,
    max: f32,
    complete: usize,
}

async fn measure(
    server: &'static str,
    target: Target,
    pid: u32,
    clients: usize,
    events: u64,
    publish: impl AsyncFnOnce(),
) -> Row {
    let before = rss_kib(pid);
    let gate = Arc::new(Semaphore::new(256));
    let mut sockets = Vec::with_capacity(clients);
    let mut opening = Vec::with_capacity(clients);
    for _ in 0..clients {
        let gate = gate.clone();
        let target = target.clone();
        opening.push(tokio::spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            connect(&target).await
        }));
    }
    for task in opening {
        sockets.push(task.await.unwrap());
    }
    // Let the server settle (allocator, buffers) before reading its memory.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(pid);
    let per_connection_kib = after.saturating_sub(before) as f64 / clients as f64;
    eprintln!("{server}: {clients} idle connections, {before} KiB → {after} KiB");

    let (stop_tx, stop_rx) = watch::channel(false);
    let followers: Vec<_> = sockets
        .into_iter()
        .map(|socket| tokio::spawn(follow(target.clone(), socket, events, stop_rx.clone())))
        .collect();
    let started = now_ms();
    publish().await;
    let stopper = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(120)).await;
        let _ = stop_tx.send(true);
    });
    let mut latencies = Vec::new();
    let mut last = started;
    let mut complete = 0;
    for follower in followers {
        let seen = follower.await.unwrap();
        complete += usize::from(seen.done);
        last = last.max(seen.last_at);
        latencies.extend(seen.latencies_ms);
    }
    stopper.abort();
    latencies.sort_by(|a, b| a.total_cmp(b));
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q) as usize)
            .copied()
            .unwrap_or(f32::NAN)
    };
    let deliveries = latencies.len() as u64;
    Row {
        server,
        clients,
        per_connection_kib,
        events,
        deliveries,
        delivered_per_sec: deliveries as f64 / ((last - started) / 1000.0),
        p50: pick(0.5),
        p99: pick(0.99),
        max: latencies.last().copied().unwrap_or(f32::NAN),
        complete,
    }
}

async fn jobpulse_row(clients: usize, events: u64, per_second: u64, dir: &Path) -> Row {
    let port = free_port();
    let env = |command: &mut Command| {
        command
            .current_dir(dir)
            .env("JOBPULSE_CONFIG", dir.join("absent.toml"))
            .env("JOBPULSE_ADDR", format!("127.0.0.1:{port}"))
            .env(
                "JOBPULSE_DATABASE_URL",
                format!("sqlite://{}", dir.join("fanout.db").display()),
            )
            .env("JOBPULSE_PROVIDER", "sandbox")
            // One device at this latency paces the job at `per_second` events.
            .env(
                "JOBPULSE_SANDBOX_LATENCY_MS",
                (1000 / per_second).to_string(),
            )
            .env("JOBPULSE_DEMO", "false")
            .env("JOBPULSE_LOG", "error");
    };
    let binary = env!("CARGO_BIN_EXE_jobpulse");
    let mut create = Command::new(binary);
    env(&mut create);
    let token = String::from_utf8(
        create
            .args(["tenant", "create", "bench"])
            .output()
            .await
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_owned();
    let mut serve = Command::new(binary);
    env(&mut serve);
    let mut child: Child = serve
        .arg("serve")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    lines.next_line().await.unwrap();
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    // The job exists (paused, so subscribers are all in place before it emits).
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}/api");
    let phones: Vec<String> = (0..events)
        .map(|i| format!("+346{:08}", i * 100 + 1))
        .collect();
    let created: Value = http
        .post(format!("{base}/messages/send-bulk"))
        .bearer_auth(&token)
        .json(&json!({"message": "fan-out", "phones": phones, "devices_limit": 1}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let job = created["job"]["id"].as_str().unwrap().to_owned();
    http.post(format!("{base}/jobs/{job}/pause"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let paused: Value = http
        .get(format!("{base}/jobs/{job}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let remaining = events - paused["progress"]["sent"].as_u64().unwrap();

    let target = Target::Jobpulse {
        port,
        token: token.clone(),
        job: job.clone(),
    };
    let pid = child.id().unwrap();
    let mut row = measure("jobpulse", target, pid, clients, remaining, async || {
        http.post(format!("{base}/jobs/{job}/resume"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
    })
    .await;
    row.events = remaining;
    child.start_kill().unwrap();
    row
}

async fn socketio_row(clients: usize, events: u64, per_second: u64) -> Row {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/socketio");
    if !dir.join("node_modules/socket.io").exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .await
            .unwrap();
        assert!(status.success(), "npm ci in benches/socketio failed");
    }
    let port = free_port();
    let mut child = Command::new("node")
        .arg("server.mjs")
        .arg(port.to_string())
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next_line().await.unwrap().as_deref(), Some("ready"));
    let pid = child.id().unwrap();
    let row = measure(
        "Socket.IO 4.8",
        Target::SocketIo { port },
        pid,
        clients,
        events,
        async || {
            stdin
                .write_all(format!("publish {events} {per_second}\n").as_bytes())
                .await
                .unwrap();
            stdin.flush().await.unwrap();
        },
    )
    .await;
    child.start_kill().unwrap();
    row
}

#[tokio::main]
async fn main() {
    let numbers: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let clients = numbers.first().copied().unwrap_or(10_000) as usize;
    let events = numbers.get(1).copied().unwrap_or(200);
    let per_second = numbers.get(2).copied().unwrap_or(20);
    // Each client is a socket here and one in the server.
    let (_, hard) = rlimit::Resource::NOFILE.get().unwrap();
    rlimit::Resource::NOFILE.set(hard, hard).unwrap();
    assert!(
        hard as usize > clients + 100,
        "raise the open-files limit above {clients}"
    );

    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let rows = [
        jobpulse_row(clients, events, per_second, dir.path()).await,
        socketio_row(clients, events, per_second).await,
    ];
    println!();
    println!(
        "{clients} subscribers of one job; {events} events at {per_second}/s; harness and server on this machine"
    );
    println!();
    println!(
        "| server | idle memory per connection | events | deliveries | clients that got the last event | delivered events/s | p50 | p99 | max |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for r in rows {
        println!(
            "| {} | {:.1} KiB | {} | {} | {} of {} | {:.0} | {:.1} ms | {:.1} ms | {:.1} ms |",
            r.server,
            r.per_connection_kib,
            r.events,
            r.deliveries,
            r.complete,
            r.clients,
            r.delivered_per_sec,
            r.p50,
            r.p99,
            r.max
        );
    }
    eprintln!("(took {:.0} s)", started.elapsed().as_secs_f64());
}
