use std::time::Duration;

use leptos::prelude::*;

use crate::api::job_failures;
use crate::app::OperatorOnly;
use crate::app::i18n::use_text;
use crate::app::pages::{action_alert, error_message};
use crate::live::{Connection, JobFeed, use_live};
use crate::protocol::FailureGroup;
use crate::protocol::lifecycle::{self, Command};

/// Looked up again at most this often while failures come in.
const REFRESH_EVERY: Duration = Duration::from_secs(2);

/// A send's failures grouped by reason, counted by the server over every item (not the log's
/// last lines), each with "Retry only these".
#[component]
pub fn FailureReasons(feed: JobFeed) -> impl IntoView {
    let text = use_text();
    let words = text.cockpit;
    let live = use_live();
    let job = feed.job;
    let job_id = feed.id;
    let id = job_id.to_string();
    let groups = RwSignal::new(Vec::<FailureGroup>::new());
    let error = RwSignal::new(None::<String>);
    let failed = Memo::new(move |_| job.with(|j| j.progress.failed));
    let scheduled = StoredValue::new(false);

    let fetch = {
        let id = id.clone();
        move || {
            let id = id.clone();
            leptos::task::spawn_local(async move {
                match job_failures(id).await {
                    Ok(found) => {
                        groups.set(found);
                        error.set(None);
                    }
                    Err(e) => error.set(Some(error_message(&e))),
                }
            });
        }
    };
    // Offline, a request can only fail: look again once the connection is back.
    let offline = Memo::new(move |_| live.connection.get() == Connection::Offline);
    // The first look at once; then at most one every REFRESH_EVERY while the count moves.
    Effect::new(move |first: Option<()>| {
        failed.track();
        if offline.get() {
            return;
        }
        if first.is_none() {
            fetch();
        } else if !scheduled.get_value() {
            scheduled.set_value(true);
            let fetch = fetch.clone();
            set_timeout(
                // The page may have moved on (to another job) meanwhile: then nothing is left to do.
                move || {
                    let _ = scheduled.try_set_value(false);
                    if offline.try_get_untracked() == Some(false) {
                        fetch();
                    }
                },
                REFRESH_EVERY,
            );
        }
    });

    let retry = ServerAction::<crate::api::RetryClass>::new();
    Effect::new(move |_| {
        if let Some(Ok(view)) = retry.value().get() {
            live.refollow(view);
        }
    });
    let retry_error = action_alert(retry);
    // Offered once the job has ended (as the server allows); held while one is on its way.
    let retryable = move || {
        job.with(|j| {
            lifecycle::allows(
                j,
                Command::Retry {
                    include_unknown: false,
                },
            )
        })
    };
    let can_retry = move || live.connection.get() != Connection::Offline && !retry.pending().get();

    view! {
        <Show when=move || { failed.get() > 0 && !groups.with(Vec::is_empty) }>
            <section class="panel failures" aria-labelledby="failures-title" data-testid="failure-reasons">
                <div class="panel-head">
                    <h2 id="failures-title">{words.failures_title}</h2>
                </div>
                {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                <div class="table-wrap">
                    <table class="data">
                        <thead>
                            <tr>
                                <th scope="col">{words.col_reason}</th>
                                <th scope="col" class="num">{words.col_count}</th>
                                <th scope="col"><span class="visually-hidden">{words.col_actions}</span></th>
                            </tr>
                        </thead>
                        <tbody>
                            <For
                                each=move || groups.get()
                                key=|group| (group.class.clone(), group.error.clone(), group.count)
                                let:group
                            >
                                {
                                    let reason = group
                                        .fault
                                        .as_ref()
                                        .map_or_else(|| group.error.clone(), |f| (text.send_fault)(f, &group.error));
                                    let class = StoredValue::new(group.class.clone());
                                    view! {
                                        <tr data-testid="failure-group" data-class=group.class.clone()>
                                            <td data-label=words.col_reason>{reason}</td>
                                            <td data-label=words.col_count class="num" data-testid="failure-count">{text.number(group.count)}</td>
                                            <td>
                                                <OperatorOnly>
                                                    <Show when=retryable>
                                                        <button
                                                            type="button"
                                                            class="button button-quiet"
                                                            disabled=move || !can_retry()
                                                            on:click=move |_| {
                                                                retry.dispatch(crate::api::RetryClass {
                                                                    id: job_id.to_string(),
                                                                    class: class.get_value(),
                                                                });
                                                            }
                                                        >
                                                            {words.retry_these}
                                                        </button>
                                                    </Show>
                                                </OperatorOnly>
                                            </td>
                                        </tr>
                                    }
                                }
                            </For>
                        </tbody>
                    </table>
                </div>
                {retry_error}
            </section>
        </Show>
    }
}
