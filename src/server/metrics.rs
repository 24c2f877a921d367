//! `GET /metrics` for Prometheus (CONTRACT.md "Operations"): counters kept by the `metrics`
//! crate as things happen, rendered by its Prometheus exporter; job counts read from the
//! database at each scrape, so every instance reports the same truth about jobs.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::protocol::{ItemStatus, JobStatus};
use crate::server::AppState;

/// Items that reached an outcome, by `status` (`sent`, `failed`, `unknown`).
pub const ITEMS: &str = "jobpulse_items_total";
/// Jobs in the database by `status`, read at each scrape.
pub const JOBS: &str = "jobpulse_jobs";
/// Live WebSocket connections open in this instance.
pub const WS_CONNECTIONS: &str = "jobpulse_ws_connections";
/// Job events handed to this instance's live subscribers.
pub const EVENTS_PUBLISHED: &str = "jobpulse_events_published_total";
/// HTTP requests by `method`, `route` (the matched pattern, never the raw path) and `status`.
pub const HTTP_DURATION: &str = "jobpulse_http_request_duration_seconds";
/// Webhook calls by `provider` and `result` (`stored`, `unauthorized`, `unreadable`, `unknown_sender`,
/// `unavailable`), and the receipts they brought.
pub const WEBHOOK_RECEIPTS: &str = "jobpulse_webhook_receipts_total";
/// Counter: calls of outgoing webhooks, by `result`.
pub const HOOK_CALLS: &str = "jobpulse_hook_calls_total";

/// Seconds: from a fast API answer to a slow page.
const HTTP_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// How often histogram samples are folded into their buckets.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's recorder, installed on first use: one per process, however many servers it
/// runs (the tests start many). `None` if another recorder was installed first.
pub fn install() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(HTTP_DURATION.into()), &HTTP_BUCKETS)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            describe();
            // Histogram samples pile up until folded into their buckets: fold them now and then
            // even where nothing scrapes, or a server without Prometheus would grow forever.
            let upkeep = handle.clone();
            let _ = std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_EVERY);
                        upkeep.run_upkeep();
                    }
                });
            Some(handle)
        })
        .as_ref()
}

fn describe() {
    metrics::describe_counter!(ITEMS, "Items that reached an outcome, by status.");
    metrics::describe_counter!(
        EVENTS_PUBLISHED,
        "Job events published to live subscribers."
    );
    metrics::describe_histogram!(
        HTTP_DURATION,
        metrics::Unit::Seconds,
        "HTTP request duration, by method, route and status."
    );
    metrics::describe_counter!(
        HOOK_CALLS,
        "Calls of tenants' outgoing webhooks, by result (delivered, retry, failed)."
    );
    metrics::describe_counter!(
        WEBHOOK_RECEIPTS,
        "Webhook receipts and messages from providers, by provider and result."
    );
}

/// Counts one call of an outgoing webhook: `delivered`, `retry` or `failed` (out of tries).
pub fn hook_call(result: &'static str) {
    metrics::counter!(HOOK_CALLS, "result" => result).increment(1);
}

/// Counts items that reached an outcome.
pub fn items(status: ItemStatus, count: u64) {
    if count > 0 {
        metrics::counter!(ITEMS, "status" => status.as_str()).increment(count);
    }
}

/// Counts job events published to this instance's live subscribers.
pub fn events_published(count: usize) {
    metrics::counter!(EVENTS_PUBLISHED).increment(count as u64);
}

/// Counts a webhook call: for `stored`, the receipts and messages it brought; otherwise the call.
pub fn webhook(provider: &'static str, result: &'static str, receipts: usize) {
    metrics::counter!(WEBHOOK_RECEIPTS, "provider" => provider, "result" => result)
        .increment(receipts as u64);
}

/// Times every request by its route pattern (a raw path would make one series per job id).
pub async fn track_http(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!(HTTP_DURATION, "method" => method, "route" => route, "status" => status)
        .record(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics`: the Prometheus text format; with `metrics_token` set, only for its bearer.
pub async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let token = state.settings.metrics_token.as_str();
    if !token.is_empty() {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        // Digests compared, so the time taken says nothing about the token.
        use sha2::Digest as _;
        if sha2::Sha256::digest(given) != sha2::Sha256::digest(token) {
            // No words: a scraper reads the status and the challenge.
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")],
            )
                .into_response();
        }
    }
    let Some(handle) = install() else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    // Jobs and connections are this server's own (its database, its hub): written here rather
    // than through the process-wide recorder, which servers in one process share.
    let mut text = handle.render();
    use std::fmt::Write as _;
    match state.store.jobs_by_status().await {
        Ok(counts) => {
            let _ = writeln!(text, "# HELP {JOBS} Jobs in the database, by status.");
            let _ = writeln!(text, "# TYPE {JOBS} gauge");
            for status in JobStatus::ALL {
                let count = counts
                    .iter()
                    .find(|(s, _)| s == status.as_str())
                    .map_or(0, |(_, n)| *n);
                let _ = writeln!(text, "{JOBS}{{status=\"{}\"}} {count}", status.as_str());
            }
        }
        Err(error) => tracing::warn!(%error, "could not count jobs for /metrics"),
    }
    let _ = writeln!(
        text,
        "# HELP {WS_CONNECTIONS} Live WebSocket connections open here."
    );
    let _ = writeln!(text, "# TYPE {WS_CONNECTIONS} gauge");
    let _ = writeln!(text, "{WS_CONNECTIONS} {}", state.hub.live_connections());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}
