use leptos::prelude::*;

use crate::api::job_items;
use crate::app::i18n::use_text;
use crate::app::pages::error_message;
use crate::live::JobFeed;
use crate::protocol::{ItemStatus, ItemView, JobKind};

/// The job's recipients by outcome, loaded a page at a time when asked for.
#[component]
pub fn RecipientsPanel(feed: JobFeed) -> impl IntoView {
    let text = use_text();
    let tab = RwSignal::new(None::<ItemStatus>);
    let rows = RwSignal::new(Vec::<ItemView>::new());
    let next = RwSignal::new(None::<u64>);
    let loading = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let id = feed.id.to_string();

    let load = Callback::new(move |(status, after): (ItemStatus, Option<u64>)| {
        let id = id.clone();
        loading.set(true);
        leptos::task::spawn_local(async move {
            match job_items(id, status, after).await {
                Ok(page) => {
                    if after.is_none() {
                        rows.set(page.items);
                    } else {
                        rows.try_update(|r| r.extend(page.items));
                    }
                    next.set(page.next_after);
                    error.set(None);
                }
                Err(e) => error.set(Some(error_message(&e))),
            }
            loading.set(false);
        });
    });
    let open = move |status: ItemStatus| {
        tab.set(Some(status));
        rows.set(Vec::new());
        load.run((status, None));
    };
    let count = move |status: ItemStatus| {
        feed.job.with(|j| match status {
            ItemStatus::Sent => j.progress.sent,
            ItemStatus::Failed => j.progress.failed,
            ItemStatus::Unknown => j.progress.unknown,
            _ => j.progress.total.saturating_sub(j.progress.done()),
        })
    };
    let kind = feed.job.with_untracked(|j| j.kind);
    let bulk = kind == JobKind::BulkSend;
    let tabs: Vec<(ItemStatus, &'static str)> = if bulk {
        vec![
            (ItemStatus::Sent, text.tab_sent),
            (ItemStatus::Failed, text.tab_failed),
            (ItemStatus::Unknown, text.tab_unknown),
            (ItemStatus::Pending, text.tab_pending),
        ]
    } else {
        vec![
            (ItemStatus::Sent, (text.campaign.done_label)(kind)),
            (ItemStatus::Failed, (text.campaign.failed_label)(kind)),
        ]
    };
    let title = if kind == JobKind::Scrape {
        text.campaign.results_title
    } else {
        text.recipients_title
    };
    let key_column = if kind == JobKind::Scrape {
        text.campaign.col_link
    } else {
        text.col_recipient
    };

    view! {
        <section class="panel recipients" aria-labelledby="recipients-title">
            <div class="panel-head">
                <h2 id="recipients-title">{title}</h2>
                <div class="segmented" role="group" aria-label=title>
                    {tabs
                        .into_iter()
                        .map(|(status, label)| {
                            view! {
                                <button
                                    type="button"
                                    data-testid=format!("recipients-{}", status.as_str())
                                    aria-pressed=move || (tab.get() == Some(status)).to_string()
                                    on:click=move |_| open(status)
                                >
                                    {label}
                                    " "
                                    <span class="count">{move || text.number(count(status))}</span>
                                </button>
                            }
                        })
                        .collect_view()}
                </div>
            </div>
            <Show when=move || tab.get().is_some()>
                {move || tab.get().map(|status| {
                    let href = format!("/api/jobs/{}/items?status={}&format=csv", feed.id, status.as_str());
                    view! {
                        <p class="export-row">
                            <a class="button button-quiet" href=href download data-testid="export-recipients">{text.campaign.export_csv}</a>
                        </p>
                    }
                })}
                {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                <Show
                    when=move || !rows.with(Vec::is_empty)
                    fallback=move || view! { <p class="muted">{move || if loading.get() { text.loading } else { text.no_items }}</p> }
                >
                    <div class="table-wrap">
                        <table class="data items" data-testid="recipients-table">
                            <thead>
                                <tr>
                                    <th scope="col" class="num">"#"</th>
                                    <th scope="col">{key_column}</th>
                                    <Show when=move || bulk>
                                        <th scope="col" class="num">{text.col_device}</th>
                                        <th scope="col" class="num">{text.col_attempts}</th>
                                    </Show>
                                    <th scope="col">{text.col_error}</th>
                                </tr>
                            </thead>
                            <tbody>
                                <For each=move || rows.get() key=|item| item.index let:item>
                                    <tr>
                                        <td class="num" data-label="#">{item.index + 1}</td>
                                        <td class="mono" data-label=key_column>{item.recipient.clone()}</td>
                                        <Show when=move || bulk>
                                            <td class="num" data-label=text.col_device>{item.device_id.map(|d| d.to_string()).unwrap_or_default()}</td>
                                            <td class="num" data-label=text.col_attempts>{item.attempts}</td>
                                        </Show>
                                        <td data-label=text.col_error title=item.errors.join("\n")>
                                            {item.error_words(text.send_fault)}
                                        </td>
                                    </tr>
                                </For>
                            </tbody>
                        </table>
                    </div>
                </Show>
                <Show when=move || next.get().is_some()>
                    <button type="button" class="button button-small" disabled=move || loading.get() on:click=move |_| {
                        if let Some(status) = tab.get_untracked() {
                            load.run((status, next.get_untracked()));
                        }
                    }>
                        {text.load_more}
                    </button>
                </Show>
            </Show>
        </section>
    }
}
