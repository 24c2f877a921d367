//! The release server under the abuse the hardening issue describes, measured from outside:
//! memory (RSS now and at its peak, from /proc), open descriptors, and how fast a normal client
//! is answered meanwhile.
//!
//! `cargo bench --features ssr --bench attacks [-- SCENARIO]`, SCENARIO one of `bodies`,
//! `logins`, `slowloris` (default: all three, each against a fresh server).
//! - bodies: 300 connections with a bogus session cookie POST 16 MiB forms to a server function.
//! - logins: 600 logins at once, each for another username (the per-address limit raised).
//! - slowloris: 19,000 connections from one address (this process may hold 20,000 descriptors),
//!   each sending a header line every 5 s and reconnecting when dropped, for 30 s.

#[path = "../tests/support/process.rs"]
mod process;

use std::time::{Duration, Instant};

use futures::future::join_all;
use process::{Launch, Server};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

/// A number from /proc/PID/status (VmRSS, VmHWM), in MiB.
fn memory_mib(pid: u32, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|line| line.starts_with(field))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn open_descriptors(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |dir| dir.count())
}

fn report(name: &str, server: &Server, started: f64) {
    let pid = server.child.id().unwrap();
    println!(
        "{name}: RSS {:.1} MiB (before {:.1}), peak {:.1} MiB, open descriptors {}",
        memory_mib(pid, "VmRSS"),
        started,
        memory_mib(pid, "VmHWM"),
        open_descriptors(pid)
    );
}

/// Times `/healthz` `count` times, one after another, with curl in a process of its own (so this
/// process's own load does not count): (p50, p99, failures).
async fn health_latency(base: &str, count: usize) -> (f64, f64, usize) {
    let mut times = Vec::new();
    let mut failures = 0;
    for _ in 0..count {
        let output = tokio::process::Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-m",
                "10",
                "-w",
                "%{http_code} %{time_total}",
            ])
            .arg(format!("{base}/healthz"))
            .output()
            .await
            .expect("curl runs");
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        match text.split_once(' ') {
            Some(("200", seconds)) => {
                times.push(seconds.parse::<f64>().unwrap_or(f64::NAN) * 1000.0)
            }
            _ => failures += 1,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    times.sort_by(f64::total_cmp);
    let at = |q: f64| {
        times
            .get(((times.len() as f64 * q) as usize).min(times.len().saturating_sub(1)))
            .copied()
            .unwrap_or(f64::NAN)
    };
    (at(0.5), at(0.99), failures)
}

async fn start(dir: &std::path::Path, env: &[(&str, &str)]) -> (Launch, Server) {
    let mut launch = Launch::new(
        dir,
        format!("sqlite://{}", dir.join("attack.db").display()),
        "http://127.0.0.1:9/".into(),
    );
    launch.extra_env = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let server = launch.serve().await;
    (launch, server)
}

async fn bodies() {
    let dir = tempfile::tempdir().unwrap();
    let (_, server) = start(dir.path(), &[]).await;
    let pid = server.child.id().unwrap();
    let before = memory_mib(pid, "VmRSS");
    let started = Instant::now();
    let chunk = vec![b'a'; 1024 * 1024];
    let answers = join_all((0..300).map(|_| {
        let chunk = chunk.clone();
        let port = server.port;
        async move {
            let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
            let head = "POST /api/start_bulk_send HTTP/1.1\r\nhost: x\r\ncookie: jobpulse_session=bogus\r\n\
                        content-type: application/x-www-form-urlencoded\r\ntransfer-encoding: chunked\r\n\r\n";
            stream.write_all(head.as_bytes()).await.ok()?;
            for _ in 0..16 {
                let frame = format!("{:x}\r\n", chunk.len());
                if stream.write_all(frame.as_bytes()).await.is_err()
                    || stream.write_all(&chunk).await.is_err()
                    || stream.write_all(b"\r\n").await.is_err()
                {
                    break;
                }
            }
            let mut answer = [0_u8; 12];
            stream.read_exact(&mut answer).await.ok()?;
            Some(String::from_utf8_lossy(&answer[9..12]).into_owned())
        }
    }))
    .await;
    let refused = answers.iter().flatten().filter(|s| *s == "413").count();
    println!(
        "bodies: 300 × 16 MiB with a bogus cookie: {refused} answered 413 in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    report("bodies", &server, before);
}

async fn logins() {
    let dir = tempfile::tempdir().unwrap();
    let (_, server) = start(
        dir.path(),
        &[("JOBPULSE_LOGINS_PER_ADDRESS_PER_MINUTE", "100000")],
    )
    .await;
    let pid = server.child.id().unwrap();
    let before = memory_mib(pid, "VmRSS");
    // From 60 addresses (127.0.1.1 … 127.0.1.60), so the per-address limits do not stop them
    // before the password checks do; /healthz is asked from 127.0.0.1.
    let clients: Vec<reqwest::Client> = (1..=60)
        .map(|n| {
            reqwest::Client::builder()
                .local_address(std::net::IpAddr::from([127, 0, 1, n]))
                .build()
                .unwrap()
        })
        .collect();
    let started = Instant::now();
    let flood = join_all((0..600).map(|i| {
        let client = clients[i % clients.len()].clone();
        let base = server.base.clone();
        async move {
            client
                .post(format!("{base}/api/login"))
                .form(&[
                    ("workspace", "acme"),
                    ("username", &format!("user{i}")),
                    ("password", "guess"),
                ])
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }
    }));
    let (answers, (p50, p99, failed)) = tokio::join!(flood, health_latency(&server.base, 20));
    let count = |code| answers.iter().filter(|&&s| s == code).count();
    println!(
        "logins: 600 at once in {:.1} s: {} checked (401), {} told to come back (503), {} other; \
         /healthz meanwhile p50 {p50:.1} ms, p99 {p99:.1} ms, {failed} failed",
        started.elapsed().as_secs_f64(),
        count(401),
        count(503),
        answers.len() - count(401) - count(503),
    );
    report("logins", &server, before);
}

/// Room for 20,000 sockets in this process and the server's (as root the hard limit can rise).
fn more_descriptors() {
    let (_, hard) = rlimit::Resource::NOFILE.get().unwrap();
    let wanted = hard.max(65_536);
    if rlimit::Resource::NOFILE.set(wanted, wanted).is_err() {
        rlimit::Resource::NOFILE.set(hard, hard).unwrap();
    }
}

async fn slowloris() {
    let dir = tempfile::tempdir().unwrap();
    let (_, server) = start(dir.path(), &[]).await;
    let pid = server.child.id().unwrap();
    let before = memory_mib(pid, "VmRSS");
    let port = server.port;
    let stop = Instant::now() + Duration::from_secs(30);
    let connects = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let attackers: Vec<_> = (0..19_000)
        .map(|_| {
            let connects = connects.clone();
            tokio::spawn(async move {
                while Instant::now() < stop {
                    let Ok(socket) = TcpSocket::new_v4() else {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        continue;
                    };
                    socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
                    let Ok(mut stream) = socket
                        .connect(format!("127.0.0.1:{port}").parse().unwrap())
                        .await
                    else {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        continue;
                    };
                    connects.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let _ = stream.write_all(b"GET / HTTP/1.1\r\n").await;
                    while Instant::now() < stop {
                        let mut byte = [0_u8; 1];
                        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut byte))
                            .await
                        {
                            Ok(_) => break, // closed (or answered): reconnect
                            Err(_) => {
                                if stream.write_all(b"x-a: b\r\n").await.is_err() {
                                    break;
                                }
                            }
                        }
                    }
                }
            })
        })
        .collect();
    let most_descriptors = tokio::spawn(async move {
        let mut most = 0;
        while Instant::now() < stop {
            most = most.max(open_descriptors(pid));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        most
    });
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (p50, p99, failed) = health_latency(&server.base, 100).await;
    let descriptors = most_descriptors.await.unwrap();
    println!(
        "slowloris: 19,000 slow connections from one address ({} connects in 30 s): \
         a normal client's /healthz p50 {p50:.1} ms, p99 {p99:.1} ms, {failed} of 100 failed; \
         the server's descriptors peaked at {descriptors}",
        connects.load(std::sync::atomic::Ordering::Relaxed)
    );
    for attacker in attackers {
        let _ = attacker.await;
    }
    report("slowloris", &server, before);
}

#[tokio::main]
async fn main() {
    more_descriptors();
    let which = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .unwrap_or_default();
    if which.is_empty() || which == "bodies" {
        bodies().await;
    }
    if which.is_empty() || which == "logins" {
        logins().await;
    }
    if which.is_empty() || which == "slowloris" {
        slowloris().await;
    }
}
