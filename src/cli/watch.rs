//! `jobpulse watch JOB_ID`: follows a job over the WebSocket with a terminal progress bar,
//! resuming by seq when the connection drops.

use std::process::ExitCode;
use std::time::Duration;

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::{ApiArgs, CliError, api_error, exit_code, summary};
use crate::protocol::backoff::Backoff;
use crate::protocol::{JobId, JobView, ServerMsg};

/// How soon `watch` tries again after losing the server.
const RECONNECT: Backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(5));

fn bar(job: &JobView) -> ProgressBar {
    let bar = ProgressBar::new(job.progress.total);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner:.green} [{elapsed_precise}] {bar:40.cyan/blue} {pos}/{len} {msg} · {per_sec} · ETA {eta}",
        )
        .expect("a valid template")
        .progress_chars("█▉▊▋▌▍▎▏ "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    show(&bar, job);
    bar
}

fn show(bar: &ProgressBar, job: &JobView) {
    let p = job.progress;
    bar.set_position(p.done());
    let mut message = format!("{} · sent {} · failed {}", job.status, p.sent, p.failed);
    if p.unknown > 0 {
        message.push_str(&format!(" · unknown {}", p.unknown));
    }
    if let Some(funnel) = super::funnel(job) {
        message.push_str(&format!(" · {funnel}"));
    }
    bar.set_message(message);
}

/// True while a send's receipts may still move: some sent messages have none yet and its
/// window is open.
fn receipts_pending(job: &JobView) -> bool {
    job.receipts.is_some_and(|r| r.awaiting > 0) && job.expects_events(chrono::Utc::now())
}

/// Follows a job until it ends (with `receipts`, until its messages' receipts are in or its
/// receipts window closes); the exit code says how it ended.
pub async fn watch(api: &ApiArgs, job_id: JobId, receipts: bool) -> Result<ExitCode, CliError> {
    let client = reqwest::Client::new();
    let response = client
        .get(api.api(&format!("/jobs/{job_id}")))
        .bearer_auth(&api.token)
        .send()
        .await?;
    if !response.status().is_success() {
        return Err(api_error(response).await);
    }
    let mut job: JobView = response.json().await?;
    let until_receipts = |job: &JobView| receipts && receipts_pending(job);
    if job.status.is_terminal() && !until_receipts(&job) {
        println!("{}", summary(&job));
        return Ok(exit_code(&job));
    }
    let bar = bar(&job);
    let ws_base = api.url.trim_end_matches('/').replacen("http", "ws", 1);
    let mut failures = 0_u32;
    loop {
        let url = format!("{ws_base}/api/ws/job/{job_id}?after_seq={}", job.last_seq);
        let mut request = url
            .into_client_request()
            .map_err(|e| CliError::Usage(format!("bad server URL: {e}")))?;
        request.headers_mut().insert(
            "authorization",
            format!("Bearer {}", api.token)
                .parse()
                .map_err(|_| CliError::Usage("the token is not a valid header value".into()))?,
        );
        match tokio_tungstenite::connect_async(request).await {
            Ok((mut socket, _)) => {
                while let Some(frame) = socket.next().await {
                    let Ok(Message::Text(text)) = frame else {
                        if frame.is_err() {
                            break;
                        }
                        continue;
                    };
                    let Ok(msg) = serde_json::from_str::<ServerMsg>(text.as_str()) else {
                        continue;
                    };
                    failures = 0;
                    match &msg {
                        // Our copy is at least as new; the replay that follows brings it up to date.
                        ServerMsg::Subscribed(_) => continue,
                        ServerMsg::Error(e) if e.seq.is_none() => {
                            bar.abandon();
                            return Err(CliError::Usage(e.error.clone()));
                        }
                        _ => {}
                    }
                    if msg.seq().is_some_and(|seq| seq <= job.last_seq) {
                        continue;
                    }
                    job.apply(&msg);
                    show(&bar, &job);
                    if job.status.is_terminal() && !until_receipts(&job) {
                        bar.finish();
                        // The terminal event has the final counters; the REST view adds the summary.
                        if let Ok(response) = client
                            .get(api.api(&format!("/jobs/{job_id}")))
                            .bearer_auth(&api.token)
                            .send()
                            .await
                            && let Ok(full) = response.json::<JobView>().await
                        {
                            job = full;
                        }
                        println!("{}", summary(&job));
                        return Ok(exit_code(&job));
                    }
                    if msg.is_terminal() {
                        bar.println("sending finished; following receipts");
                    }
                }
                bar.println(format!(
                    "connection lost; resuming after seq {}",
                    job.last_seq
                ));
            }
            Err(error) => {
                bar.println(format!("cannot connect ({error}); retrying"));
            }
        }
        failures += 1;
        tokio::time::sleep(RECONNECT.delay(failures)).await;
    }
}
