use super::viewer_time;
use crate::app::format::TimeShown;
use leptos::html::Div;
use leptos::prelude::*;

use crate::app::i18n::{Text, use_text};
use crate::live::{JobFeed, LogEntry, LogLine};
use crate::protocol::JobKind;

fn describe(text: &Text, kind: JobKind, line: &LogLine) -> String {
    let campaign = text.campaign;
    match &line.entry {
        LogEntry::Created { total } => match kind {
            JobKind::BulkSend => (text.log_created)(*total),
            JobKind::Scrape => (campaign.log_created_search)(*total),
            JobKind::External => (campaign.log_created_external)(*total),
        },
        LogEntry::Started { rescued: false } => match kind {
            JobKind::BulkSend => text.log_started,
            JobKind::Scrape => campaign.log_started_search,
            JobKind::External => campaign.log_started_external,
        }
        .to_owned(),
        LogEntry::Started { rescued: true } => text.log_resumed.to_owned(),
        LogEntry::Resumed => campaign.log_resumed_request.to_owned(),
        LogEntry::Stage {
            stage,
            message,
            note,
        } => {
            let stage = (campaign.stage)(stage);
            match note
                .as_ref()
                .map(|n| (text.stage_note)(n, message.as_deref().unwrap_or_default()))
                .or_else(|| message.clone())
            {
                Some(message) => format!("{stage} · {message}"),
                None => stage,
            }
        }
        LogEntry::Found { key, title } => (campaign.log_found)(match title {
            Some(title) => title,
            None => key,
        }),
        LogEntry::ItemError { key, error, fault } => {
            let worded = fault.as_ref().map(|f| (text.fetch_fault)(f, error));
            (campaign.log_item_error)(key, worded.as_deref().unwrap_or(error))
        }
        LogEntry::Sent { device, phone } => (text.log_sent)(*device, phone),
        LogEntry::ItemFailed {
            device,
            phone,
            error,
            fault,
        } => {
            let worded = fault.as_ref().map(|f| (text.send_fault)(f, error));
            (text.log_item_failed)(*device, phone, worded.as_deref().unwrap_or(error))
        }
        LogEntry::Completed {
            sent,
            failed,
            message,
            note,
        } => {
            let counts = match kind {
                JobKind::BulkSend => (text.log_completed)(*sent, *failed),
                JobKind::Scrape => (campaign.log_completed_search)(*sent, *failed),
                JobKind::External => (campaign.log_completed_items)(*sent, *failed),
            };
            match note
                .as_ref()
                .map(|n| (text.stage_note)(n, message.as_deref().unwrap_or_default()))
                .or_else(|| message.clone())
            {
                Some(message) => format!("{counts} · {message}"),
                None => counts,
            }
        }
        LogEntry::JobFailed {
            error,
            message,
            fault,
        } => (text.log_job_failed)(&match fault {
            Some(fault) => (text.job_fault)(fault, error, message),
            None => error.clone(),
        }),
        LogEntry::Cancelled => text.log_cancelled.to_owned(),
        LogEntry::Paused => text.log_paused.to_owned(),
        LogEntry::Resync => text.log_resync.to_owned(),
    }
}

/// The job's activity, newest at the bottom. It follows new lines unless the reader scrolled up.
#[component]
pub fn LogPane(feed: JobFeed) -> impl IntoView {
    let text = use_text();
    let kind = feed.job.with_untracked(|j| j.kind);
    let failures_only = RwSignal::new(false);
    // Pinned to the bottom until the reader scrolls up; scrolling back down pins it again.
    let pinned = RwSignal::new(true);
    let pane = NodeRef::<Div>::new();
    // Distance from the bottom to keep while older lines are put above, so the view stays put.
    let anchor = StoredValue::new(None::<i32>);

    let lines = move || {
        feed.log.with(|ring| {
            ring.iter()
                .filter(|line| !failures_only.get() || line.is_failure())
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let failure_count = move || {
        feed.log
            .with(|ring| ring.iter().filter(|l| l.is_failure()).count())
    };

    // Frame callbacks may run after the pane is gone (the page moved on): then they do nothing.
    let scroll_to_end = move || {
        if let Some(el) = pane.try_get_untracked().flatten() {
            el.set_scroll_top(el.scroll_height());
        }
    };
    Effect::new(move |_| {
        feed.log.track();
        failures_only.track();
        if let Some(from_bottom) = anchor.get_value() {
            request_animation_frame(move || {
                if let Some(el) = pane.try_get_untracked().flatten() {
                    el.set_scroll_top(el.scroll_height() - from_bottom);
                }
                anchor.try_set_value(None);
            });
        } else if pinned.get_untracked() {
            // After this render reaches the DOM.
            request_animation_frame(scroll_to_end);
        }
    });
    let load_older = move || {
        if let Some(el) = pane.get_untracked() {
            anchor.set_value(Some(el.scroll_height() - el.scroll_top()));
        }
        feed.load_older();
    };
    let on_scroll = move |_| {
        if let Some(el) = pane.get_untracked() {
            let at_end = el.scroll_top() + el.client_height() >= el.scroll_height() - 8;
            if at_end && !pinned.get_untracked() {
                // Back at the newest lines: the older ones loaded meanwhile can go.
                feed.release_older();
            }
            pinned.set(at_end);
            if el.scroll_top() < 40 && !failures_only.get_untracked() {
                load_older();
            }
        }
    };

    view! {
        <section class="panel log" aria-labelledby="log-title">
            <div class="panel-head">
                <h2 id="log-title">{text.log_title}</h2>
                <div class="segmented" role="group" aria-label=text.log_title>
                    <button
                        type="button"
                        aria-pressed=move || (!failures_only.get()).to_string()
                        on:click=move |_| failures_only.set(false)
                    >
                        {text.log_all}
                    </button>
                    <button
                        type="button"
                        data-testid="log-filter-failures"
                        aria-pressed=move || failures_only.get().to_string()
                        on:click=move |_| failures_only.set(true)
                    >
                        {text.log_failures}
                        " "
                        <span class="count">{move || failure_count()}</span>
                    </button>
                </div>
            </div>
            <div
                class="log-lines"
                node_ref=pane
                on:scroll=on_scroll
                tabindex="0"
                role="region"
                aria-labelledby="log-title"
                data-testid="log-lines"
            >
                <Show when=move || { feed.dropped.get() > 0 && !failures_only.get() }>
                    <p class="log-note">
                        {move || (text.log_older_hidden)(feed.dropped.get())}
                        " "
                        <button
                            type="button"
                            class="button button-small"
                            data-testid="log-load-older"
                            disabled=move || feed.loading_older.get()
                            on:click=move |_| load_older()
                        >
                            {move || if feed.loading_older.get() { text.loading } else { text.log_load_older }}
                        </button>
                    </p>
                </Show>
                <Show when=move || feed.log.with(|l| l.is_empty())>
                    <p class="log-note">{text.log_empty}</p>
                </Show>
                <ol>
                    <For each=lines key=|line| line.seq let:line>
                        <li class="log-line" class:log-failure=line.is_failure() data-seq=line.seq>
                            <time>
                                {move || line.at.map(|at| viewer_time(at, TimeShown::Clock)).unwrap_or_default()}
                            </time>
                            <span>{describe(text, kind, &line)}</span>
                        </li>
                    </For>
                </ol>
            </div>
            <Show when=move || !pinned.get()>
                <button
                    type="button"
                    class="button button-small log-jump"
                    on:click=move |_| {
                        pinned.set(true);
                        feed.release_older();
                        scroll_to_end();
                    }
                >
                    {text.log_jump}
                </button>
            </Show>
        </section>
    }
}
