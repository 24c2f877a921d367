use crate::app::components::LocalTime;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::api::{CampaignPageData, RerunCampaign, campaign_page};
use crate::app::OperatorOnly;
use crate::app::components::{LogPane, ProgressBar, StageSteps, StatusBadge, web_link};
use crate::app::format;
use crate::app::i18n::use_text;
use crate::app::pages::{ErrorNotice, Loading, NotFound, action_alert};
use crate::live::{JobFeed, LogEntry, use_campaign_feed};
use crate::protocol::SourceSpec;

/// Results listed under "latest results".
const LATEST: usize = 10;

/// One campaign: all its searches live (one `subscribe_campaign`), results as they are found.
#[component]
pub fn CampaignPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let page = Resource::new(id, campaign_page);
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(Some(data)) => view! { <CampaignDetail data /> }.into_any(),
                    Ok(None) => view! { <NotFound /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn CampaignDetail(data: CampaignPageData) -> impl IntoView {
    let text = use_text();
    let c = text.campaign;
    let campaign = data.campaign;
    let id = campaign.id;
    let mut logs = data.logs;
    let jobs = use_campaign_feed(
        id,
        campaign
            .jobs
            .iter()
            .map(|job| {
                let log = logs
                    .iter()
                    .position(|(job_id, _)| *job_id == job.id)
                    .map(|at| logs.swap_remove(at).1)
                    .unwrap_or_default();
                (job.clone(), log)
            })
            .collect(),
    );

    let results = move || {
        jobs.with(|jobs| {
            jobs.iter()
                .map(|f| f.job.with(|j| j.progress.sent))
                .sum::<u64>()
        })
    };
    let target = u64::from(campaign.target_results);
    // The newest search, re-rendering what depends on it only when it is another job.
    let newest_id = Memo::new(move |_| jobs.with(|jobs| jobs.first().map(|f| f.id)));
    let newest = move || {
        newest_id.get()?;
        jobs.with_untracked(|jobs| jobs.first().copied())
    };
    let latest = move || {
        let mut found: Vec<(u64, i64, String, Option<String>)> = Vec::new();
        for feed in jobs.get() {
            feed.log.with(|ring| {
                for line in ring.iter().rev() {
                    if let LogEntry::Found { key, title } = &line.entry {
                        let at = line.at.map_or(0, |at| at.timestamp_millis());
                        found.push((line.seq, at, key.clone(), title.clone()));
                    }
                    if found.len() >= LATEST * 4 {
                        break;
                    }
                }
            });
        }
        found.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
        found.truncate(LATEST);
        found
    };
    let rerun = ServerAction::<RerunCampaign>::new();
    let rerun_error = action_alert(rerun);
    let sandbox = campaign.source == SourceSpec::Sandbox;
    let base = format!("/api/campaigns/{id}/results");

    view! {
        <Title text=campaign.name.clone() />
        <div class="page-head">
            <div>
                <A href="/campaigns" attr:class="back">{c.back_to_campaigns}</A>
                <h1>{campaign.name.clone()}</h1>
                <p class="muted">
                    {campaign.platform.clone()} " · " {campaign.keywords.join(", ")} " · "
                    {c.target} " " {text.number(campaign.target_results.into())}
                </p>
            </div>
            {move || newest().map(|feed| {
                let status = Signal::derive(move || feed.job.with(|j| j.status));
                let reach = Signal::derive(move || (results(), target));
                view! { <StatusBadge status reach /> }
            })}
        </div>
        <Show when=move || sandbox>
            <p class="notice" role="note">{c.demo_note}</p>
        </Show>

        <section class="panel hero" aria-label=text.progress_label>
            <div class="hero-figures">
                <span class="big-number" data-testid="campaign-total">{move || text.number(results())}</span>
                <span class="muted">{c.col_results}</span>
            </div>
            {move || newest().map(|feed| {
                let progress = Signal::derive(move || feed.job.with(|j| j.progress));
                view! {
                    <ProgressBar progress label=text.progress_label.to_owned() by_percentage=true />
                    <StageSteps feed />
                }
            })}
            <div class="controls-row">
                <OperatorOnly>
                    <button
                        type="button"
                        class="button"
                        data-testid="run-again"
                        disabled=move || {
                            rerun.pending().get()
                                || newest().is_some_and(|f| !f.job.with(|j| j.status.is_terminal()))
                        }
                        on:click=move |_| {
                            rerun.dispatch(RerunCampaign { id: id.to_string() });
                        }
                    >
                        {c.run_again}
                    </button>
                </OperatorOnly>
                <a class="button button-quiet" href=format!("{base}?format=csv") download data-testid="export-csv">{c.export_csv}</a>
                <a class="button button-quiet" href=format!("{base}?format=json") target="_blank">{c.export_json}</a>
                <A href=format!("/campaigns/{id}/results") attr:class="button button-quiet">{c.all_results}</A>
            </div>
            {rerun_error}
        </section>

        <section class="panel" aria-labelledby="latest-title">
            <div class="panel-head">
                <h2 id="latest-title">{c.latest_results}</h2>
            </div>
            <Show
                when=move || !latest().is_empty()
                fallback=move || view! { <p class="muted">{c.no_results}</p> }
            >
                <ul class="latest-results" data-testid="latest-results">
                    <For each=latest key=|(_, _, key, _)| key.clone() let:found>
                        <li>
                            <a href=web_link(&found.2) rel="noopener noreferrer nofollow" target="_blank">
                                {found.3.clone().unwrap_or_else(|| found.2.clone())}
                            </a>
                            // Titles repeat across sources; the address tells the results apart.
                            {found.3.is_some().then(move || view! {
                                <span class="result-url muted">{format::readable_url(&found.2)}</span>
                            })}
                        </li>
                    </For>
                </ul>
            </Show>
        </section>

        <section class="panel" aria-labelledby="searches-title">
            <div class="panel-head">
                <h2 id="searches-title">{c.searches_title}</h2>
            </div>
            <div class="table-wrap searches">
            <table class="data jobs" data-testid="campaign-jobs">
                <thead>
                    <tr>
                        <th scope="col">{text.col_job}</th>
                        <th scope="col">{text.col_status}</th>
                        <th scope="col" class="col-progress">{text.col_progress}</th>
                        <th scope="col" class="num">{c.col_results}</th>
                        <th scope="col" class="num">{(c.failed_label)(crate::protocol::JobKind::Scrape)}</th>
                        <th scope="col">{text.col_created}</th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || jobs.get() key=|feed| feed.id let:feed>
                        <SearchRow feed />
                    </For>
                </tbody>
            </table>
            </div>
        </section>

        {move || newest().map(|feed| view! { <LogPane feed /> })}
    }
}

#[component]
fn SearchRow(feed: JobFeed) -> impl IntoView {
    let text = use_text();
    let job = feed.job;
    let id = feed.id.to_string();
    let progress = Signal::derive(move || job.with(|j| j.progress));
    let status = Signal::derive(move || job.with(|j| j.status));
    // The stage says more than the badge only while the search runs.
    let stage = move || {
        job.with(|j| j.stage.clone().filter(|_| !j.status.is_terminal()))
            .map(|s| (text.campaign.stage)(&s))
    };
    view! {
        <tr data-job-id=id.clone()>
            <td data-label=text.col_job>
                <a href=format!("/jobs/{id}") class="job-link"><code class="job-id">{format::short_id(&id)}</code></a>
            </td>
            <td data-label=text.col_status>
                <StatusBadge status reach=Signal::derive(move || progress.with(|p| (p.sent, p.total))) />
                <span class="muted row-stage" data-testid="row-stage">{stage}</span>
            </td>
            <td data-label=text.col_progress class="col-progress">
                <div class="row-progress">
                    <ProgressBar progress label=text.progress_label.to_owned() compact=true by_percentage=true />
                    <span class="num">{move || text.percent(progress.get().percentage)}</span>
                </div>
            </td>
            <td class="num" data-testid="row-sent">{move || text.number(progress.get().sent)}</td>
            <td class="num" data-testid="row-failed">{move || text.number(progress.get().failed)}</td>
            <td class="muted">{move || view! { <LocalTime at=job.with(|j| j.created_at) /> }}</td>
        </tr>
    }
}
