use std::time::Duration;

use leptos::prelude::*;

use crate::app::format;
use crate::app::i18n::use_text;
use crate::app::pace::{CHART_SECONDS, Pace, STALL_AFTER_MS, Sample};
use crate::protocol::{JobStatus, JobView};

/// Height of the chart in its own units (one unit of width per second).
const CHART_HEIGHT: f64 = 40.0;

/// How a job moves, live: the rate over the last seconds, the time left and the time running, a
/// warning when a running job stops moving, and the sent and failed of each second as a chart.
#[component]
pub fn JobPace(job: RwSignal<JobView>) -> impl IntoView {
    let text = use_text();
    let words = text.cockpit;
    let pace = RwSignal::new(Pace::default());
    // The browser's clock, set each second once hydrated; `None` on the server and while
    // hydrating, so both render the same page.
    let now = RwSignal::new(None::<i64>);
    let observe = move |at_ms: i64| {
        let progress = job.with_untracked(|j| j.progress);
        pace.update(|pace| {
            pace.record(Sample {
                at_ms,
                sent: progress.sent,
                failed: progress.failed,
            })
        });
        now.set(Some(at_ms));
    };
    Effect::new(move |_| {
        job.track();
        observe(format::now().timestamp_millis());
    });
    Effect::new(move |_| {
        let tick = move || observe(format::now().timestamp_millis());
        if let Ok(timer) = set_interval_with_handle(tick, Duration::from_secs(1)) {
            on_cleanup(move || timer.clear());
        }
    });

    let status = move || job.with(|j| j.status);
    let running = move || status() == JobStatus::Processing;
    let rate = move || now.get().and_then(|now| pace.with(|p| p.rate(now)));
    let rate_text = move || match rate() {
        Some(rate) if running() => (words.rate_value)(rate),
        _ => words.no_value.to_owned(),
    };
    let eta_text = move || {
        let remaining = job.with(|j| j.progress.total.saturating_sub(j.progress.done()));
        match Pace::eta_ms(remaining, rate()) {
            Some(ms) if running() && now.get().is_some() => duration(ms),
            _ => words.no_value.to_owned(),
        }
    };
    let elapsed_text = move || {
        let (started, finished, results) =
            job.with(|j| (j.started_at, j.finished_at, j.results.clone()));
        let ended = |ms: i64| text.decimals(format::duration_ms(ms.max(0) as u64));
        match (started, finished, results) {
            (_, Some(_), Some(results)) => ended(results.duration_ms as i64),
            (Some(started), Some(finished), None) => ended((finished - started).num_milliseconds()),
            (Some(started), None, _) => now.get().map_or_else(
                || words.no_value.to_owned(),
                |now| duration(now - started.timestamp_millis()),
            ),
            _ => words.no_value.to_owned(),
        }
    };
    let stalled_for = move || {
        let now = now.get()?;
        let moved = pace.with(|p| p.moved_at_ms())?;
        (running() && now - moved >= STALL_AFTER_MS).then(|| duration(now - moved))
    };
    let seconds = Memo::new(move |_| match now.get() {
        Some(now) => pace.with(|p| p.per_second(now, CHART_SECONDS)),
        None => vec![(0, 0); CHART_SECONDS as usize],
    });
    let peak = move || {
        seconds
            .with(|s| s.iter().map(|(sent, failed)| sent + failed).max())
            .unwrap_or(0)
    };
    let summary = move || {
        let (sent, failed) = seconds.with(|s| {
            s.iter()
                .fold((0, 0), |acc, (sent, failed)| (acc.0 + sent, acc.1 + failed))
        });
        (words.chart_summary)(&text.number(sent), &text.number(failed), CHART_SECONDS)
    };
    let bars = move || {
        let scale = CHART_HEIGHT / peak().max(1) as f64;
        seconds.with(|s| {
            s.iter()
                .enumerate()
                .filter(|(_, (sent, failed))| sent + failed > 0)
                .map(|(i, &(sent, failed))| {
                    let sent_h = sent as f64 * scale;
                    let failed_h = failed as f64 * scale;
                    let x = i as f64 + 0.1;
                    view! {
                        <rect class="chart-sent" x=x width="0.8" y=CHART_HEIGHT - sent_h height=sent_h />
                        <rect class="chart-failed" x=x width="0.8" y=CHART_HEIGHT - sent_h - failed_h height=failed_h />
                    }
                })
                .collect_view()
        })
    };

    view! {
        <div class="pace" aria-label=words.pace_label>
            <dl class="stats">
                <div class="stat">
                    <dt>{words.rate}</dt>
                    <dd data-testid="pace-rate">{rate_text}</dd>
                </div>
                <div class="stat">
                    <dt>{words.eta}</dt>
                    <dd data-testid="pace-eta">{eta_text}</dd>
                </div>
                <div class="stat">
                    <dt>{words.elapsed}</dt>
                    <dd data-testid="pace-elapsed">{elapsed_text}</dd>
                </div>
            </dl>
            <div role="status" class="stall-region">
                {move || stalled_for().map(|since| view! {
                    <p class="stalled" data-testid="stalled">
                        <strong>{(words.stalled)(&since)}</strong>
                        " " <span>{words.stalled_hint}</span>
                    </p>
                })}
            </div>
            <figure class="chart">
                <figcaption>
                    <span>{words.chart_title}</span>
                    <span class="muted small" data-testid="chart-peak">
                        {move || (words.chart_peak)(&text.number(peak()))}
                    </span>
                </figcaption>
                <svg
                    viewBox=format!("0 0 {CHART_SECONDS} {CHART_HEIGHT}")
                    preserveAspectRatio="none"
                    role="img"
                    aria-label=summary
                    data-testid="throughput-chart"
                >
                    {bars}
                </svg>
                <div class="chart-axis muted small" aria-hidden="true">
                    <span>{(words.seconds_ago)(CHART_SECONDS)}</span>
                    <span class="chart-legend">
                        <span class="key key-sent"></span>{words.legend_sent}
                        <span class="key key-failed"></span>{words.legend_failed}
                    </span>
                    <span>{words.now}</span>
                </div>
            </figure>
        </div>
    }
}

/// `ms` as a time that counts each second.
fn duration(ms: i64) -> String {
    format::whole_duration_ms(ms.max(0) as u64)
}
