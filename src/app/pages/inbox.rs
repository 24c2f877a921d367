use crate::app::components::LocalTime;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::api::{INBOX_PAGE, load_inbox};
use crate::app::i18n::use_text;
use crate::app::pages::{ErrorNotice, Loading, error_message};
use crate::live::use_live;
use crate::protocol::{InboundMessage, InboxPage as Page, JobId};

/// What recipients wrote back, newest first, live; `?job=` shows one send's replies.
#[component]
pub fn InboxPage() -> impl IntoView {
    let words = use_text().inbox;
    let query = use_query_map();
    let job = Memo::new(move |_| query.read().get("job").filter(|j| !j.is_empty()));
    let data = Resource::new(move || job.get(), |job| load_inbox(job, None));
    let live = use_live();
    on_cleanup(move || live.unfollow_inbox());
    view! {
        <Title text=words.title />
        <div class="page-head">
            <h1>{move || if job.read().is_some() { words.job_title } else { words.title }}</h1>
            <A href="/opt-outs" attr:class="button button-quiet">{words.opt_outs_link}</A>
        </div>
        <p class="muted intro">{words.intro}</p>
        <Show when=move || job.read().is_some()>
            <p><A href="/inbox">{words.show_all}</A></p>
        </Show>
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(page) => view! { <Messages page job=job.get_untracked() /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// The rendered page of messages, the ones that arrive live above it, and older pages below.
#[component]
fn Messages(page: Page, job: Option<String>) -> impl IntoView {
    let words = use_text().inbox;
    let live = use_live();
    let newest = page.messages.last().map(|m| m.id);
    // In the browser only: the subscription resumes after what the server rendered.
    Effect::new(move |_| live.follow_inbox(newest));
    let only_job = job.as_deref().and_then(|j| j.parse().ok()).map(JobId);
    let arrived = move || {
        live.inbox
            .get()
            .into_iter()
            .rev()
            .filter(|m| newest.is_none_or(|n| m.id > n))
            .filter(|m| only_job.is_none() || m.job_id == only_job)
            .collect::<Vec<_>>()
    };
    let rendered: Vec<InboundMessage> = page.messages.into_iter().rev().collect();
    let oldest = RwSignal::new(rendered.last().map(|m| m.id));
    let more = RwSignal::new(rendered.len() as u32 == INBOX_PAGE);
    let older = RwSignal::new(Vec::<InboundMessage>::new());
    let load_older = Action::new(move |before: &i64| load_inbox(job.clone(), Some(*before)));
    Effect::new(move |_| {
        if let Some(Ok(page)) = load_older.value().get() {
            more.set(page.messages.len() as u32 == INBOX_PAGE);
            oldest.set(page.messages.first().map(|m| m.id));
            older.update(|o| o.extend(page.messages.into_iter().rev()));
        }
    });
    let older_error = move || {
        load_older
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| error_message(&e))
    };
    let empty = rendered.is_empty();
    view! {
        <Show when=move || !(empty && arrived().is_empty())>
            <section class="panel">
                <div class="table-wrap">
                    <table class="data inbox">
                        <thead>
                            <tr>
                                <th scope="col">{words.col_from}</th>
                                <th scope="col">{words.col_message}</th>
                                <th scope="col">{words.col_when}</th>
                                <th scope="col">{words.col_send}</th>
                            </tr>
                        </thead>
                        <tbody>
                            <For each=arrived key=|m| m.id let:message>
                                <MessageRow message />
                            </For>
                            {rendered
                                .clone()
                                .into_iter()
                                .map(|message| view! { <MessageRow message /> })
                                .collect_view()}
                            <For each=move || older.get() key=|m| m.id let:message>
                                <MessageRow message />
                            </For>
                        </tbody>
                    </table>
                </div>
            </section>
        </Show>
        <Show when=move || empty && arrived().is_empty()>
            <p class="empty" data-testid="inbox-empty">{words.empty}</p>
        </Show>
        <Show when=move || more.get()>
            <button
                type="button"
                class="button"
                disabled=move || load_older.pending().get()
                on:click=move |_| {
                    if let Some(before) = oldest.get_untracked() {
                        load_older.dispatch(before);
                    }
                }
            >
                {words.older}
            </button>
        </Show>
        {move || older_error().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
    }
}

#[component]
fn MessageRow(message: InboundMessage) -> impl IntoView {
    let words = use_text().inbox;
    view! {
        <tr data-testid="inbox-message">
            <td data-label=words.col_from class="nowrap">
                <span data-testid="inbox-from">{message.from.clone()}</span>
            </td>
            <td data-label=words.col_message class="message-text" data-testid="inbox-text">
                {message.text.clone()}
            </td>
            <td data-label=words.col_when class="nowrap"><LocalTime at=message.at /></td>
            <td data-label=words.col_send>
                {match message.job_id {
                    Some(job) => view! {
                        <A href=format!("/jobs/{}", job.0)>{words.open_send}</A>
                    }
                    .into_any(),
                    None => view! { <span class="muted">{words.no_send}</span> }.into_any(),
                }}
            </td>
        </tr>
    }
}
