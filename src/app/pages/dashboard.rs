use crate::app::components::LocalTime;
use crate::app::format::TimeShown;
use chrono::NaiveDate;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;
use leptos_router::params::ParamsMap;

use crate::api::{act_on_jobs, list_instances, list_jobs};
use crate::app::OperatorOnly;
use crate::app::components::{ProgressBar, StatusBadge};
use crate::app::format;
use crate::app::i18n::use_text;
use crate::app::pages::{ErrorNotice, Loading};
use crate::live::{JobFeed, use_followed, use_live};
use crate::protocol::problem::Problem;
use crate::protocol::{
    BulkAction, BulkActionResult, JobId, JobKind, JobSearch, JobStatus, JobView, JobsPage,
};

/// The tenant's jobs, newest first, each row live; found by text, status, kind and date, a
/// page at a time, with one action for everything a search matches.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let text = use_text();
    let query = use_query_map();
    let params = Memo::new(move |_| query.with(ListParams::read));
    let jobs = Resource::new(
        move || params.get(),
        |params| list_jobs(params.search(), params.before),
    );
    // Lives above the list it refreshes, so its report stays while the list is read again.
    let act: BulkAct = Action::new(|(search, action): &(JobSearch, BulkAction)| {
        act_on_jobs(search.clone(), *action)
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = act.value().get() {
            jobs.refetch();
        }
    });
    // A report is of the search it was made for.
    Effect::new(move |first: Option<()>| {
        params.track();
        if first.is_some() {
            act.value().set(None);
        }
    });
    view! {
        <Title text=text.jobs_title />
        <div class="page-head">
            <h1>{text.jobs_title}</h1>
            <OperatorOnly>
                <A href="/bulk/new" attr:class="button button-primary">{text.nav_new_bulk}</A>
            </OperatorOnly>
        </div>
        <Filters params />
        <div role="status" class="bulk-result" data-testid="bulk-result">
            {move || act.value().get().map(|outcome| match outcome {
                Ok(result) => view! { <BulkReport result /> }.into_any(),
                Err(error) => view! { <ErrorNotice error /> }.into_any(),
            })}
        </div>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                let params = params.get_untracked();
                match jobs.await {
                    Ok(page) => view! {
                        <JobsFound page params act />
                    }
                    .into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Transition>
        <Instances />
    }
}

/// A `YYYY-MM-DD` day, as date inputs send it (read by hand: chrono's parser would weigh on the
/// browser's bundle).
fn parse_day(text: &str) -> Option<NaiveDate> {
    let mut parts = text.splitn(3, '-').map(|p| p.parse::<u32>().ok());
    let (year, month, day) = (parts.next()??, parts.next()??, parts.next()??);
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)
}

/// The bulk action: the search and the action, to the report.
type BulkAct = Action<(JobSearch, BulkAction), Result<BulkActionResult, Problem>>;

/// What the jobs list shows, as its URL says (so a search can be shared and reloaded).
#[derive(Clone, Debug, Default, PartialEq)]
struct ListParams {
    q: Option<String>,
    status: Option<JobStatus>,
    kind: Option<JobKind>,
    /// First and last day of creation, both included (UTC days).
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    before: Option<JobId>,
}

impl ListParams {
    /// Reads the URL's query; a value that is not one of its kind is left out.
    fn read(query: &ParamsMap) -> Self {
        let get = |name: &str| {
            query
                .get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let day = |name: &str| get(name).and_then(|d| parse_day(&d));
        ListParams {
            q: get("q"),
            status: get("status").and_then(|s| s.parse().ok()),
            kind: get("kind").and_then(|k| k.parse().ok()),
            from: day("from"),
            to: day("to"),
            before: get("before").and_then(|b| b.parse().ok()),
        }
    }

    /// The filters, as the server reads them.
    fn search(&self) -> JobSearch {
        let midnight = |day: NaiveDate| day.and_hms_opt(0, 0, 0).map(|at| at.and_utc());
        JobSearch {
            q: self.q.clone(),
            status: self.status,
            kind: self.kind,
            created_after: self.from.and_then(midnight),
            // The last day counts whole.
            created_before: self.to.and_then(|day| day.succ_opt()).and_then(midnight),
        }
    }

    /// This list's URL.
    fn href(&self) -> String {
        let mut pairs = Vec::new();
        if let Some(q) = &self.q {
            pairs.push(format!("q={}", format::query_value(q)));
        }
        if let Some(status) = self.status {
            pairs.push(format!("status={}", status.as_str()));
        }
        if let Some(kind) = self.kind {
            pairs.push(format!("kind={}", kind.as_str()));
        }
        if let Some(from) = self.from {
            pairs.push(format!("from={from}"));
        }
        if let Some(to) = self.to {
            pairs.push(format!("to={to}"));
        }
        if let Some(before) = self.before {
            pairs.push(format!("before={before}"));
        }
        if pairs.is_empty() {
            "/".to_owned()
        } else {
            format!("/?{}", pairs.join("&"))
        }
    }

    /// The first page of the same filters with another status.
    fn with_status(&self, status: Option<JobStatus>) -> String {
        ListParams {
            status,
            before: None,
            ..self.clone()
        }
        .href()
    }

    fn is_filtered(&self) -> bool {
        !self.search().is_empty()
    }
}

/// The filter form: a plain GET form, so it works before the page is interactive too.
#[component]
fn Filters(params: Memo<ListParams>) -> impl IntoView {
    let text = use_text();
    let l = text.list;
    let value =
        move |f: fn(&ListParams) -> Option<String>| move || params.with(f).unwrap_or_default();
    view! {
        <section class="panel filters" aria-label=l.filters_label>
            <form method="get" action="/" class="filter-form" role="search">
                <label class="field field-grow">
                    <span>{l.search}</span>
                    <input
                        type="search"
                        name="q"
                        maxlength="200"
                        placeholder=l.search_placeholder
                        value=value(|p| p.q.clone())
                        prop:value=value(|p| p.q.clone())
                    />
                </label>
                <label class="field">
                    <span>{l.status}</span>
                    <select name="status" prop:value=value(|p| p.status.map(|s| s.as_str().to_owned()))>
                        <option value="">{l.any_status}</option>
                        {JobStatus::ALL
                            .iter()
                            .map(|&status| {
                                view! {
                                    <option value=status.as_str() selected=move || params.with(|p| p.status == Some(status))>
                                        {(text.status)(status)}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                </label>
                <label class="field">
                    <span>{l.kind}</span>
                    <select name="kind" prop:value=value(|p| p.kind.map(|k| k.as_str().to_owned()))>
                        <option value="">{l.any_kind}</option>
                        {[JobKind::BulkSend, JobKind::Scrape, JobKind::External]
                            .into_iter()
                            .map(|kind| {
                                view! {
                                    <option value=kind.as_str() selected=move || params.with(|p| p.kind == Some(kind))>
                                        {(text.kind)(kind)}
                                    </option>
                                }
                            })
                            .collect_view()}
                    </select>
                </label>
                <label class="field">
                    <span>{l.from}</span>
                    <input
                        type="date"
                        name="from"
                        value=value(|p| p.from.map(|d| d.to_string()))
                        prop:value=value(|p| p.from.map(|d| d.to_string()))
                    />
                </label>
                <label class="field">
                    <span>{l.to}</span>
                    <input
                        type="date"
                        name="to"
                        value=value(|p| p.to.map(|d| d.to_string()))
                        prop:value=value(|p| p.to.map(|d| d.to_string()))
                    />
                </label>
                <div class="filter-buttons">
                    <button type="submit" class="button">{l.apply}</button>
                    <Show when=move || params.with(ListParams::is_filtered)>
                        <a class="button button-quiet" href="/">{l.clear}</a>
                    </Show>
                    <a class="button button-quiet" href="/recipients">{l.recipient_link}</a>
                </div>
            </form>
        </section>
    }
}

/// A page of the jobs a search found: counts per status, the bulk action, the table, the pager.
#[component]
fn JobsFound(page: JobsPage, params: ListParams, act: BulkAct) -> impl IntoView {
    let text = use_text();
    let l = text.list;
    let count = |status: JobStatus| {
        page.counts
            .iter()
            .find(|(s, _)| *s == status)
            .map_or(0, |(_, n)| *n)
    };
    let all: u64 = page.counts.iter().map(|(_, n)| n).sum();
    let matched = params.status.map_or(all, count);
    let chips = std::iter::once((None, all))
        .chain(JobStatus::ALL.iter().map(|&s| (Some(s), count(s))))
        .map(|(status, n)| {
            let current = params.status == status;
            let label = status.map_or(l.all, text.status);
            view! {
                <li>
                    <a
                        class="count-chip"
                        class:count-chip-current=current
                        class:count-chip-zero=n == 0
                        aria-current=current.then_some("page")
                        href=params.with_status(status)
                        data-status=status.map_or("all", JobStatus::as_str)
                    >
                        <span>{label}</span>
                        <strong class="num">{text.number(n)}</strong>
                    </a>
                </li>
            }
        })
        .collect_view();
    let first = params.before.is_none();
    let newest = (!first).then(|| {
        ListParams {
            before: None,
            ..params.clone()
        }
        .href()
    });
    let older = page.next_before.map(|before| {
        ListParams {
            before: Some(before),
            ..params.clone()
        }
        .href()
    });
    let live = first && !params.is_filtered();
    let empty = page.jobs.is_empty();
    let search = params.search();
    view! {
        <nav class="count-chips" aria-label=l.counts_label>
            <ul>{chips}</ul>
        </nav>
        <OperatorOnly>
            {(matched > 0).then(|| view! { <BulkActions search=search.clone() matched act /> })}
        </OperatorOnly>
        {if empty && params.is_filtered() {
            view! {
                <section class="panel empty">
                    <h2>{l.no_match}</h2>
                    <a class="button" href="/">{l.clear}</a>
                </section>
            }
            .into_any()
        } else {
            view! { <JobTable initial=page.jobs live /> }.into_any()
        }}
        <nav class="pager" aria-label=text.jobs_title>
            {newest.map(|href| view! { <a class="button" href=href data-testid="newest">{l.newest}</a> })}
            {older.map(|href| view! { <a class="button" href=href rel="next" data-testid="older">{l.older}</a> })}
        </nav>
    }
}

/// One action for every job a search matches: chosen, confirmed with the count, then reported
/// (what changed, and what was left as it was with the reason).
#[component]
fn BulkActions(search: JobSearch, matched: u64, act: BulkAct) -> impl IntoView {
    let search = StoredValue::new(search);
    let text = use_text();
    let l = text.list;
    let chosen = RwSignal::new(BulkAction::Pause);
    let confirming = RwSignal::new(false);
    let confirm_button = NodeRef::<leptos::html::Button>::new();
    // The question takes the focus, so a keyboard user answers it next.
    Effect::new(move |_| {
        if confirming.get()
            && let Some(button) = confirm_button.get()
        {
            let _ = button.focus();
        }
    });
    view! {
        <section class="panel bulk-actions" aria-labelledby="bulk-title">
            <form
                class="bulk-form"
                on:submit=move |ev| {
                    ev.prevent_default();
                    confirming.set(true);
                }
            >
                <label for="bulk-action" id="bulk-title">{l.bulk_label}</label>
                <select
                    id="bulk-action"
                    on:change=move |ev| {
                        let value = event_target_value(&ev);
                        if let Some(action) = BulkAction::ALL.into_iter().find(|a| a.as_str() == value) {
                            chosen.set(action);
                            confirming.set(false);
                        }
                    }
                >
                    {BulkAction::ALL
                        .into_iter()
                        .map(|action| view! { <option value=action.as_str()>{(l.action)(action)}</option> })
                        .collect_view()}
                </select>
                <button type="submit" class="button" disabled=move || act.pending().get() data-testid="bulk-apply">
                    {(l.bulk_apply)(matched)}
                </button>
            </form>
            <Show when=move || confirming.get()>
                <div class="bulk-confirm" role="alertdialog" aria-labelledby="bulk-question" aria-describedby="bulk-hint">
                    <p id="bulk-question"><strong>{move || (l.bulk_confirm)((l.action)(chosen.get()), matched)}</strong></p>
                    <p id="bulk-hint" class="muted">{l.bulk_confirm_hint}</p>
                    <div class="form-actions">
                        <button
                            type="button"
                            class="button button-primary"
                            node_ref=confirm_button
                            data-testid="bulk-confirm"
                            on:click=move |_| {
                                confirming.set(false);
                                act.dispatch((search.get_value(), chosen.get_untracked()));
                            }
                        >
                            {l.confirm}
                        </button>
                        <button type="button" class="button button-quiet" on:click=move |_| confirming.set(false)>
                            {l.keep}
                        </button>
                    </div>
                </div>
            </Show>
        </section>
    }
}

/// What a bulk action did: how many changed, and the rest grouped by reason with their jobs.
#[component]
fn BulkReport(result: BulkActionResult) -> impl IntoView {
    let text = use_text();
    let l = text.list;
    let mut reasons: Vec<(String, Vec<JobId>)> = Vec::new();
    for refused in &result.refused {
        let reason = (text.problem)(&Problem::Refused {
            refusal: refused.refusal,
        });
        match reasons.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, ids)) => ids.push(refused.id),
            None => reasons.push((reason, vec![refused.id])),
        }
    }
    let refused = result.refused.len() as u64;
    view! {
        <p>{(l.bulk_changed)(result.changed)}</p>
        {(refused > 0).then(|| view! {
            <p>{(l.bulk_refused)(refused)}</p>
            <ul class="bulk-reasons">
                {reasons
                    .into_iter()
                    .map(|(reason, ids)| {
                        let shown = ids.len().min(10);
                        view! {
                            <li>
                                <span>{reason}</span>" "
                                <span class="muted">"("{text.number(ids.len() as u64)}")"</span>" "
                                {ids[..shown]
                                    .iter()
                                    .map(|id| {
                                        let id = id.to_string();
                                        view! { <a class="job-id" href=format!("/jobs/{id}")>{format::short_id(&id)}</a>" " }
                                    })
                                    .collect_view()}
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        })}
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
                                                            <LocalTime at=instance.last_seen_at shown=TimeShown::Seconds />
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

/// The jobs, each row live; with `live`, jobs created meanwhile come in at the top (a filtered
/// list or an older page keeps its rows).
#[component]
fn JobTable(initial: Vec<JobView>, live: bool) -> impl IntoView {
    let text = use_text();
    let hub = use_live();
    let followed = use_followed();
    let rows = RwSignal::new(
        initial
            .into_iter()
            .map(|job| followed.follow(job, &[]))
            .collect::<Vec<JobFeed>>(),
    );
    if live {
        hub.follow_new_jobs();
    }
    Effect::new(move |_| {
        if !live {
            return;
        }
        let fresh = hub.new_jobs.get();
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
    // The name people gave it (a search's is its campaign's), then the message it sends.
    let (name, preview, tags) = job.with_untracked(|j| {
        let message = j.message.clone().unwrap_or_default();
        let mut preview: String = message.chars().take(60).collect();
        if message.chars().count() > 60 {
            preview.push('…');
        }
        (j.name.clone(), preview, j.tags.clone())
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
                {name.map(|name| view! { <span class="job-name">{name}</span> })}
                <span class="job-preview">{preview}</span>
                {(!tags.is_empty()).then(|| view! {
                    <ul class="tags" aria-label=text.list.tags>
                        {tags.into_iter().map(|tag| view! { <li class="tag">{tag}</li> }).collect_view()}
                    </ul>
                })}
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
            <td data-label=text.col_created class="muted">{move || view! { <LocalTime at=job.with(|j| j.created_at) /> }}</td>
        </tr>
    }
}
