//! The command line's client side: `jobpulse watch` and `jobpulse send-bulk`, speaking the same
//! REST + WebSocket API as any outside script.

mod send_bulk;
mod watch;

pub use send_bulk::{SendBulkArgs, send_bulk};
pub use watch::watch;

use std::process::ExitCode;

use crate::protocol::{JobStatus, JobView};

/// Where the API is and how to authenticate.
#[derive(Clone, Debug, clap::Args)]
pub struct ApiArgs {
    /// The jobpulse server.
    #[arg(long, env = "JOBPULSE_URL", default_value = "http://127.0.0.1:3000")]
    pub url: String,
    /// A tenant API token (from `jobpulse tenant create`).
    #[arg(long, env = "JOBPULSE_TOKEN", hide_env_values = true)]
    pub token: String,
}

impl ApiArgs {
    /// `{url}/api{path}`.
    pub fn api(&self, path: &str) -> String {
        format!("{}/api{path}", self.url.trim_end_matches('/'))
    }
}

/// Why a command could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error("the server answered {status}: {detail}")]
    Api { status: u16, detail: String },
    #[error("cannot reach the server: {0}")]
    Http(#[from] reqwest::Error),
}

/// Turns an error answer into its `detail`.
async fn api_error(response: reqwest::Response) -> CliError {
    let status = response.status().as_u16();
    let detail = response
        .json::<serde_json::Value>()
        .await
        .ok()
        .and_then(|v| v["detail"].as_str().map(str::to_owned))
        .unwrap_or_else(|| "no details".to_owned());
    CliError::Api { status, detail }
}

/// 0 when the job completed; 1 when it failed; 3 when it was cancelled.
pub fn exit_code(job: &JobView) -> ExitCode {
    match job.status {
        JobStatus::Completed => ExitCode::SUCCESS,
        JobStatus::Cancelled => ExitCode::from(3),
        _ => ExitCode::FAILURE,
    }
}

/// One line about a finished job, for stdout.
pub fn summary(job: &JobView) -> String {
    let p = job.progress;
    let mut line = format!(
        "{}: {} sent, {} failed, {} unknown of {}",
        job.status, p.sent, p.failed, p.unknown, p.total
    );
    if let Some(results) = &job.results {
        line.push_str(&format!(
            " in {:.1} s ({:.1}/s, {} of {} devices)",
            results.duration_ms as f64 / 1000.0,
            results.throughput_per_sec,
            results.devices_used,
            results.parallel_workers
        ));
    }
    if let Some(error) = &job.last_error {
        line.push_str(&format!(": {error}"));
    }
    if let Some(funnel) = funnel(job) {
        line.push_str(&format!("; {funnel}"));
    }
    line
}

/// A send through senders' delivery funnel, in the words the job page uses.
pub fn funnel(job: &JobView) -> Option<String> {
    let r = job.receipts.filter(|_| job.through_senders())?;
    let mut line = format!(
        "delivered {} · read {} · undelivered {} · awaiting receipt {}",
        r.delivered, r.read, r.undelivered, r.awaiting
    );
    if let Some(replies) = job.replies.filter(|n| *n > 0) {
        line.push_str(&format!(" · replies {replies}"));
    }
    Some(line)
}
