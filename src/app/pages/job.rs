use crate::app::components::LocalTime;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;

use crate::api::{JobPageData, job_page};
use crate::app::OperatorOnly;
use crate::app::components::{
    FailureReasons, JobControls, JobPace, JobWatch, LogPane, ProgressBar, RecipientsPanel,
    SenderLanes, StageSteps, StaleNote, StatusBadge,
};
use crate::app::format;
use crate::app::i18n::use_text;
use crate::app::pages::{ErrorNotice, Loading, NotFound};
use crate::live::{use_job_feed, use_live};
use crate::protocol::{JobKind, JobStatus};

/// One job, rendered on the server at its current seq, then live.
#[component]
pub fn JobPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let page = Resource::new(id, job_page);
    view! {
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(Some(data)) => view! { <JobDetail data /> }.into_any(),
                    Ok(None) => view! { <NotFound /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn JobDetail(data: JobPageData) -> impl IntoView {
    let text = use_text();
    let senders = data.senders;
    let feed = use_job_feed(data.job, &data.log);
    let live = use_live();
    let job = feed.job;
    let id = feed.id.to_string();

    let progress = Signal::derive(move || job.with(|j| j.progress));
    let status = Signal::derive(move || job.with(|j| j.status));
    let job_kind = job.with_untracked(|j| j.kind);
    let bulk = job_kind == JobKind::BulkSend;
    let has_stages = job.with_untracked(|j| !j.stages.is_empty());
    // Receipts come through senders' webhooks.
    let has_senders = job.with_untracked(|j| j.through_senders());
    let campaign_id = job.with_untracked(|j| j.campaign_id);
    let kind = move || match job.with(|j| j.name.clone()) {
        Some(name) => name,
        None => (text.kind)(job_kind).to_owned(),
    };
    let remaining = move || {
        let p = progress.get();
        p.total.saturating_sub(p.done())
    };
    let name = format!(
        "{} {}",
        job.with_untracked(|j| j.name.clone())
            .unwrap_or_else(|| (text.kind)(job_kind).to_owned()),
        format::short_id(&id)
    );
    // The percentage leads while it moves, the outcome once it ended: a background tab says both.
    let title_of = {
        let name = name.clone();
        move |(status, percentage): (JobStatus, f64)| {
            if status.is_terminal() {
                format!("{} · {name}", (text.status)(status))
            } else {
                format!("{} · {name}", text.percent(percentage))
            }
        }
    };
    // The server reads the title once the page is rendered, outside the page's reactive arena
    // (its values may be gone by then): it gets the title as it is now, the browser a live one.
    let title: TextProp = if cfg!(feature = "ssr") {
        title_of(job.with_untracked(|j| (j.status, j.progress.percentage))).into()
    } else {
        let name = name.clone();
        (move || {
            job.try_with(|j| (j.status, j.progress.percentage))
                .map_or_else(|| name.clone(), &title_of)
        })
        .into()
    };

    view! {
        <Title text=title />
        <div class="page-head">
            <div>
                {match campaign_id {
                    Some(campaign) => view! {
                        <A href=format!("/campaigns/{campaign}") attr:class="back">{text.campaign.back_to_campaigns}</A>
                    }.into_any(),
                    None => view! { <A href="/" attr:class="back">{text.back_to_jobs}</A> }.into_any(),
                }}
                <h1>
                    {kind} " " <code class="job-id" title=id.clone()>{format::short_id(&id)}</code>
                </h1>
            </div>
            {if job_kind == JobKind::Scrape {
                let reach = Signal::derive(move || progress.with(|p| (p.sent, p.total)));
                view! { <StatusBadge status reach /> }.into_any()
            } else {
                view! { <StatusBadge status /> }.into_any()
            }}
        </div>

        <section class="panel hero" class:stale=move || live.connection.get().is_stale() aria-label=text.progress_label>
            <StaleNote />
            <div class="hero-figures">
                <span class="big-number" data-testid="percentage">{move || text.percent(progress.get().percentage)}</span>
                <span class="muted">
                    {move || text.number(progress.get().done())} " / " {move || text.number(progress.get().total)}
                </span>
            </div>
            <ProgressBar progress label=text.progress_label.to_owned() by_percentage=!bulk />
            <Show when=move || has_stages>
                <StageSteps feed />
            </Show>
            <OperatorOnly>
                <JobControls feed />
            </OperatorOnly>
            <dl class="stats">
                <div class="stat stat-sent">
                    <dt>{(text.campaign.done_label)(job_kind)}</dt>
                    <dd data-testid="stat-sent">{move || text.number(progress.get().sent)}</dd>
                </div>
                <div class="stat stat-failed">
                    <dt>{(text.campaign.failed_label)(job_kind)}</dt>
                    <dd data-testid="stat-failed">{move || text.number(progress.get().failed)}</dd>
                </div>
                <Show when=move || { progress.get().unknown > 0 }>
                    <div class="stat stat-unknown">
                        <dt>{text.unknown}</dt>
                        <dd data-testid="stat-unknown">{move || text.number(progress.get().unknown)}</dd>
                    </div>
                </Show>
                <Show when=move || bulk>
                    <div class="stat">
                        <dt>{text.remaining}</dt>
                        <dd data-testid="stat-remaining">{move || text.number(remaining())}</dd>
                    </div>
                </Show>
                <div class="stat">
                    <dt>{if job_kind == JobKind::Scrape { text.campaign.target } else { text.total }}</dt>
                    <dd data-testid="stat-total">{move || text.number(progress.get().total)}</dd>
                </div>
            </dl>
            <JobPace job />
            <JobWatch job name=name.clone() />
            <Show when=move || has_senders>
                <Funnel job />
            </Show>
        </section>

        <section class="panel details">
            <dl class="facts">
                <Show when=move || bulk>
                    <div class="fact fact-wide">
                        <dt>{text.message_label}</dt>
                        <dd class="message">{move || job.with(|j| j.message.clone().unwrap_or_default())}</dd>
                    </div>
                    <div class="fact">
                        <dt>{text.devices}</dt>
                        <dd>{move || job.with(|j| j.devices_limit)}</dd>
                    </div>
                </Show>
                <Show when=move || job_kind == JobKind::External>
                    <div class="fact fact-wide">
                        <dd class="muted">{text.campaign.worker_note}</dd>
                    </div>
                </Show>
                {campaign_id.map(|campaign| view! {
                    <div class="fact">
                        <dt>{text.campaign.campaign_link}</dt>
                        <dd><A href=format!("/campaigns/{campaign}")>{format::short_id(&campaign.to_string())}</A></dd>
                    </div>
                })}
                <div class="fact">
                    <dt>{text.started}</dt>
                    <dd>{move || job.with(|j| j.started_at).map(|at| view! { <LocalTime at /> }.into_any()).unwrap_or_else(|| "—".into_any())}</dd>
                </div>
                <div class="fact">
                    <dt>{text.finished}</dt>
                    <dd>{move || job.with(|j| j.finished_at).map(|at| view! { <LocalTime at /> }.into_any()).unwrap_or_else(|| "—".into_any())}</dd>
                </div>
                {move || {
                    job.with(|j| j.results.clone())
                        .filter(|_| bulk)
                        .map(|results| {
                            view! {
                                <div class="fact">
                                    <dt>{text.duration}</dt>
                                    <dd>{text.decimals(format::duration_ms(results.duration_ms))}</dd>
                                </div>
                                <div class="fact">
                                    <dt>{text.throughput}</dt>
                                    <dd>{(text.per_second)(results.throughput_per_sec)}</dd>
                                </div>
                                <div class="fact">
                                    <dt>{text.summary_title}</dt>
                                    <dd data-testid="summary">{(text.devices_used)(results.devices_used, results.parallel_workers)}</dd>
                                </div>
                            }
                        })
                }}
            </dl>
            <Show when=move || job.with(|j| j.skipped > 0)>
                <p class="muted">{move || (text.skipped_entries)(job.with(|j| j.skipped))}</p>
            </Show>
        </section>

        {(bulk && job.with_untracked(|j| !j.senders.is_empty()))
            .then(|| view! { <SenderLanes feed senders /> })}
        <Show when=move || bulk>
            <FailureReasons feed />
        </Show>
        <LogPane feed />
        <RecipientsPanel feed />
    }
}

/// A bulk send's delivery funnel, live: delivered, read, undelivered, awaiting; after the
/// sending ends, "receipts arriving" until its window closes.
#[component]
fn Funnel(job: RwSignal<crate::protocol::JobView>) -> impl IntoView {
    let text = use_text();
    let words = text.senders;
    let receipts = Signal::derive(move || job.with(|j| j.receipts.unwrap_or_default()));
    let replies = Signal::derive(move || job.with(|j| j.replies.unwrap_or_default()));
    let arriving = move || {
        job.with(|j| {
            j.status.is_terminal()
                && j.receipts_open_until
                    .is_some_and(|until| until > crate::app::format::now())
        })
    };
    view! {
        <div class="funnel" aria-label=words.funnel_label>
            <dl class="stats">
                <div class="stat stat-sent">
                    <dt>{words.delivered}</dt>
                    <dd data-testid="stat-delivered">{move || text.number(receipts.get().delivered)}</dd>
                </div>
                <div class="stat stat-sent">
                    <dt>{words.read}</dt>
                    <dd data-testid="stat-read">{move || text.number(receipts.get().read)}</dd>
                </div>
                <div class="stat stat-failed">
                    <dt>{words.undelivered}</dt>
                    <dd data-testid="stat-undelivered">{move || text.number(receipts.get().undelivered)}</dd>
                </div>
                <div class="stat">
                    <dt>{words.awaiting}</dt>
                    <dd data-testid="stat-awaiting">{move || text.number(receipts.get().awaiting)}</dd>
                </div>
            </dl>
            <Show when=arriving>
                <p class="muted" role="status" data-testid="receipts-arriving">{words.receipts_arriving}</p>
            </Show>
            <p class="replies">
                {text.inbox.replies} ": "
                <strong data-testid="stat-replies">{move || text.number(replies.get())}</strong>
                <Show when=move || { replies.get() > 0 }>
                    " · "
                    <A href=move || format!("/inbox?job={}", job.with(|j| j.id.0))>{text.inbox.see_replies}</A>
                </Show>
            </p>
        </div>
    }
}
