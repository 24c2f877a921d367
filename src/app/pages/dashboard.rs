use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::{list_instances, list_jobs};
use crate::app::OperatorOnly;
use crate::app::components::{ProgressBar, StatusBadge};
use crate::app::format;
use crate::app::i18n::use_text;
use crate::app::pages::{ErrorNotice, Loading};
use crate::live::{JobFeed, use_followed, use_live};
use crate::protocol::JobView;

/// The tenant's jobs, newest first, each row live.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let text = use_text();
    let jobs = Resource::new(|| (), |_| list_jobs());
    view! {
        <Title text=text.jobs_title />
        <div class="page-head">
            <h1>{text.jobs_title}</h1>
            <OperatorOnly>
                <A href="/bulk/new" attr:class="button button-primary">{text.nav_new_bulk}</A>
            </OperatorOnly>
        </div>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match jobs.await {
                    Ok(list) => view! { <JobTable initial=list /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Suspense>
        <Instances />
    }
}

/// Which instance runs which job, and when each was last alive (admins only).
#[component]
fn Instances() -> impl IntoView {
    let text = use_text();
    let instances = Resource::new(|| (), |_| list_instances());
    // Heartbeats move on: look again now and then.
    Effect::new(move |_| {
        let every = std::time::Duration::from_secs(10);
        if let Ok(timer) = set_interval_with_handle(move || instances.refetch(), every) {
            on_cleanup(move || timer.clear());
        }
    });
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                instances.await.ok().flatten().filter(|list| !list.is_empty()).map(|list| {
                    view! {
                        <section class="panel instances" aria-labelledby="instances-title">
                            <div class="panel-head">
                                <h2 id="instances-title">{text.instances_title}</h2>
                            </div>
                            <div class="table-wrap">
                                <table class="data">
                                    <thead>
                                        <tr>
                                            <th scope="col">{text.col_instance}</th>
                                            <th scope="col">{text.col_last_seen}</th>
                                            <th scope="col" class="num">{text.col_running}</th>
                                            <th scope="col">{text.col_your_jobs}</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {list
                                            .into_iter()
                                            .map(|instance| {
                                                view! {
                                                    <tr data-instance=instance.id.clone()>
                                                        <td data-label=text.col_instance>
                                                            <code>{instance.id.clone()}</code>
                                                        </td>
                                                        <td data-label=text.col_last_seen class="muted">
                                                            {format::date_time_seconds(instance.last_seen_at)}
                                                        </td>
                                                        <td data-label=text.col_running class="num">{instance.running_jobs}</td>
                                                        <td data-label=text.col_your_jobs>
                                                            {instance
                                                                .tenant_jobs
                                                                .into_iter()
                                                                .map(|id| {
                                                                    let id = id.to_string();
                                                                    view! {
                                                                        <a class="job-id" href=format!("/jobs/{id}")>{format::short_id(&id)}</a>
                                                                        " "
                                                                    }
                                                                })
                                                                .collect_view()}
                                                        </td>
                                                    </tr>
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        </section>
                    }
                })
            })}
        </Transition>
    }
}

/// Rows the dashboard's table keeps as new jobs arrive (the first render shows up to 50).
const MAX_ROWS: usize = 100;

#[component]
fn JobTable(initial: Vec<JobView>) -> impl IntoView {
    let text = use_text();
    let live = use_live();
    let followed = use_followed();
    let rows = RwSignal::new(
        initial
            .into_iter()
            .map(|job| followed.follow(job, &[]))
            .collect::<Vec<JobFeed>>(),
    );
    live.follow_new_jobs();
    Effect::new(move |_| {
        let fresh = live.new_jobs.get();
        rows.update(|rows| {
            for job in fresh {
                if !rows.iter().any(|feed| feed.id == job.id) {
                    rows.insert(0, followed.follow(job, &[]));
                }
            }
            // The table shows the newest jobs only; those pushed off it stop being followed.
            for gone in rows.split_off(rows.len().min(MAX_ROWS)) {
                followed.unfollow(gone.id);
            }
        });
    });

    view! {
        <Show
            when=move || !rows.with(Vec::is_empty)
            fallback=move || {
                view! {
                    <section class="panel empty">
                        <h2>{text.jobs_empty}</h2>
                        <OperatorOnly>
                            <p>{text.jobs_empty_hint}</p>
                            <A href="/bulk/new" attr:class="button button-primary">{text.nav_new_bulk}</A>
                        </OperatorOnly>
                    </section>
                }
            }
        >
            <div class="panel table-wrap">
                <table class="data jobs">
                    <thead>
                        <tr>
                            <th scope="col">{text.col_job}</th>
                            <th scope="col">{text.col_status}</th>
                            <th scope="col" class="col-progress">{text.col_progress}</th>
                            <th scope="col" class="num">{text.sent}</th>
                            <th scope="col" class="num">{text.failed}</th>
                            <th scope="col" class="num">{text.total}</th>
                            <th scope="col">{text.col_created}</th>
                        </tr>
                    </thead>
                    <tbody>
                        <For each=move || rows.get() key=|feed| feed.id let:feed>
                            <JobRow feed />
                        </For>
                    </tbody>
                </table>
            </div>
        </Show>
    }
}

#[component]
fn JobRow(feed: JobFeed) -> impl IntoView {
    let text = use_text();
    let job = feed.job;
    let id = feed.id.to_string();
    let href = format!("/jobs/{id}");
    let preview = job.with_untracked(|j| {
        // A send shows its message; an outside worker's job, its name.
        let message = j
            .message
            .clone()
            .or_else(|| j.name.clone())
            .unwrap_or_default();
        let mut preview: String = message.chars().take(60).collect();
        if message.chars().count() > 60 {
            preview.push('…');
        }
        preview
    });
    let progress = Signal::derive(move || job.with(|j| j.progress));
    let status = Signal::derive(move || job.with(|j| j.status));
    view! {
        <tr data-job-id=id.clone()>
            <td data-label=text.col_job>
                <a href=href class="job-link">
                    <span class="job-kind">{move || (text.kind)(job.with(|j| j.kind))}</span>
                    <code class="job-id">{format::short_id(&id)}</code>
                </a>
                <span class="job-preview">{preview}</span>
            </td>
            <td data-label=text.col_status><StatusBadge status /></td>
            <td data-label=text.col_progress class="col-progress">
                <div class="row-progress">
                    <ProgressBar progress label=text.progress_label.to_owned() compact=true />
                    <span class="num">{move || text.percent(progress.get().percentage)}</span>
                </div>
            </td>
            <td data-label=text.sent class="num" data-testid="row-sent">{move || text.number(progress.get().sent)}</td>
            <td data-label=text.failed class="num" data-testid="row-failed">{move || text.number(progress.get().failed)}</td>
            <td data-label=text.total class="num">{move || text.number(progress.get().total)}</td>
            <td data-label=text.col_created class="muted">{move || format::date_time(job.with(|j| j.created_at))}</td>
        </tr>
    }
}
