#![allow(dead_code)]
//! The real `jobpulse` binary as a child process: what crash and scale-out tests run.

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How to start an instance: every instance of a cluster shares these.
#[derive(Clone, Debug)]
pub struct Launch {
    pub dir: PathBuf,
    pub database_url: String,
    pub provider_url: String,
    pub deduplicates: bool,
    pub lease_ms: u64,
    pub extra_env: Vec<(String, String)>,
}

/// A running `jobpulse serve`.
pub struct Server {
    pub child: Child,
    pub base: String,
    pub port: u16,
}

impl Launch {
    /// Settings for a database in `dir` (SQLite) or at `database_url`.
    pub fn new(dir: &Path, database_url: String, provider_url: String) -> Launch {
        Launch {
            dir: dir.to_owned(),
            database_url,
            provider_url,
            deduplicates: true,
            lease_ms: 1_000,
            extra_env: Vec::new(),
        }
    }

    /// `jobpulse` with this launch's environment.
    pub fn command(&self, addr: &str) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_jobpulse"));
        command
            .current_dir(&self.dir)
            .env("JOBPULSE_CONFIG", self.dir.join("absent.toml"))
            .env("JOBPULSE_ADDR", addr)
            .env("JOBPULSE_DATABASE_URL", &self.database_url)
            .env("JOBPULSE_PROVIDER", "http")
            .env("JOBPULSE_PROVIDER_URL", &self.provider_url)
            .env("JOBPULSE_LEASE_MS", self.lease_ms.to_string())
            .env(
                "JOBPULSE_PROVIDER_DEDUPLICATES",
                self.deduplicates.to_string(),
            )
            .env("JOBPULSE_API_REQUESTS_PER_SECOND", "100000")
            .env("JOBPULSE_DEMO", "false")
            .env("JOBPULSE_LOG", "error")
            .envs(self.extra_env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        command
    }

    /// Runs a CLI command to completion.
    pub async fn cli(&self, args: &[&str]) -> Output {
        self.command("127.0.0.1:0")
            .args(args)
            .stdout(Stdio::piped())
            .output()
            .await
            .unwrap()
    }

    /// Creates a tenant and returns its API token.
    pub async fn tenant(&self, name: &str) -> String {
        let output = self.cli(&["tenant", "create", name]).await;
        assert!(output.status.success());
        let token = String::from_utf8(output.stdout).unwrap().trim().to_owned();
        assert!(
            token.starts_with("jp_") && !token.contains('\n'),
            "the token alone: {token:?}"
        );
        token
    }

    /// Starts `jobpulse serve` on `addr` and waits for its "listening on" line.
    pub async fn serve_on(&self, addr: &str) -> Server {
        let mut child = self
            .command(addr)
            .arg("serve")
            .stdout(Stdio::piped())
            .spawn()
            .expect("the server binary starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the server starts listening in time")
            .unwrap()
            .expect("a first line");
        let base = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        // Keep reading so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let port = base.rsplit(':').next().unwrap().parse().unwrap();
        Server { child, base, port }
    }

    /// Starts `jobpulse serve` on a free port.
    pub async fn serve(&self) -> Server {
        self.serve_on("127.0.0.1:0").await
    }
}

impl Server {
    /// Kills the process (SIGKILL) and waits for it.
    pub async fn kill(&mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    /// This instance's name (its engine's lease owner).
    pub async fn instance(&self) -> String {
        let response = reqwest::get(format!("{}/healthz", self.base))
            .await
            .unwrap();
        response.headers()["x-jobpulse-instance"]
            .to_str()
            .unwrap()
            .to_owned()
    }
}

/// `count` distinct numbers that the fake provider accepts.
pub fn accepted_phones(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| format!("+346{:08}", i * 100 + 1))
        .collect()
}

/// Creates a bulk send and returns its id.
pub async fn create_job(base: &str, token: &str, phones: &[String], devices: u32) -> String {
    let created: Value = reqwest::Client::new()
        .post(format!("{base}/api/messages/send-bulk"))
        .bearer_auth(token)
        .json(&json!({"message": "from a test", "phones": phones, "devices_limit": devices}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    created["job"]["id"].as_str().expect("a job").to_owned()
}

/// GETs a JSON path.
pub async fn get(base: &str, token: &str, path: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Polls the job until it is completed.
pub async fn wait_until_completed(base: &str, token: &str, job: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    loop {
        let current = get(base, token, &format!("/api/jobs/{job}")).await;
        if current["status"] == "completed" {
            return current;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the job did not complete: {current}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every event of a job, from the events endpoint, page by page.
pub async fn all_events(base: &str, token: &str, job: &str) -> Vec<Value> {
    let mut events = Vec::new();
    let mut after = 0;
    loop {
        let page = get(
            base,
            token,
            &format!("/api/jobs/{job}/events?after_seq={after}&limit=5000"),
        )
        .await;
        let page = page["events"].as_array().unwrap().clone();
        let Some(last) = page.last() else {
            return events;
        };
        after = last["seq"].as_u64().unwrap();
        events.extend(page);
    }
}

/// Every item of a job, page by page.
pub async fn all_items(base: &str, token: &str, job: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut after: Option<u64> = None;
    loop {
        let query = after.map(|a| format!("&after={a}")).unwrap_or_default();
        let page = get(
            base,
            token,
            &format!("/api/jobs/{job}/items?limit=5000{query}"),
        )
        .await;
        items.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_after"].as_u64() {
            Some(next) => after = Some(next),
            None => return items,
        }
    }
}
