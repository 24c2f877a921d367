use leptos::prelude::*;

use crate::api::{JobAction, JobCommand, SendRest};
use crate::app::i18n::use_text;
use crate::app::pages::action_alert;
use crate::live::{Connection, JobFeed, use_live};
use crate::protocol::lifecycle::{self, Command};
use crate::protocol::{ItemStatus, JobKind, JobStatus};

/// Pause, resume, cancel (with a confirmation) and retry, as the job's state allows.
#[component]
pub fn JobControls(feed: JobFeed) -> impl IntoView {
    let text = use_text();
    let action = ServerAction::<JobAction>::new();
    let confirming = RwSignal::new(false);
    let include_unknown = RwSignal::new(false);
    let id = feed.id.to_string();
    let job = feed.job;
    let live = use_live();
    // Once the session has ended the job shown may be stale and every command would be refused:
    // the connection badge offers the way back (log in), not buttons that cannot work.
    let signed_in = move || live.connection.get() != Connection::SessionEnded;
    // The same rules the server applies: a button shows only when its command would be taken.
    let allows = move |command: Command| signed_in() && job.with(|j| lifecycle::allows(j, command));
    let can_pause = move || allows(Command::Pause);
    let can_cancel = move || allows(Command::Cancel);
    let can_resume = move || allows(Command::Resume);
    let can_retry = move || {
        allows(Command::Retry {
            include_unknown: true,
        })
    };
    // Offline, a command cannot reach the server: the buttons wait, and say why.
    let offline = move || live.connection.get() == Connection::Offline;
    let busy = move || action.pending().get() || offline();
    let run = Callback::new(move |command: JobCommand| {
        action.dispatch(JobAction {
            id: id.clone(),
            command,
        });
    });
    let has_unknown = move || job.with(|j| j.progress.unknown > 0);
    let error = action_alert(action);
    // A command that moved the job (resume, retry): keep following it.
    Effect::new(move |_| {
        if let Some(Ok(view)) = action.value().get() {
            live.refollow(view);
        }
    });
    // Once the job has stopped, there is nothing left to confirm.
    Effect::new(move |_| {
        if !can_cancel() {
            confirming.set(false);
        }
    });

    view! {
        <div class="controls" data-testid="job-controls">
            <Show when=move || !confirming.get()>
                <div class="controls-row">
                    <Show when=can_pause>
                        <button type="button" class="button" disabled=busy on:click=move |_| run.run(JobCommand::Pause)>
                            {text.pause}
                        </button>
                    </Show>
                    <Show when=can_resume>
                        <button type="button" class="button button-primary" disabled=busy on:click=move |_| run.run(JobCommand::Resume)>
                            {text.resume}
                        </button>
                    </Show>
                    <Show when=can_cancel>
                        <button type="button" class="button button-danger" disabled=busy on:click=move |_| confirming.set(true)>
                            {text.cancel}
                        </button>
                    </Show>
                    <Show when=can_retry>
                        <button type="button" class="button" disabled=busy on:click=move |_| {
                            run.run(if include_unknown.get_untracked() {
                                JobCommand::RetryFailedAndUnknown
                            } else {
                                JobCommand::RetryFailed
                            })
                        }>
                            {text.retry_failed}
                        </button>
                        <Show when=has_unknown>
                            <label class="check">
                                <input type="checkbox" prop:checked=move || include_unknown.get() on:change=move |ev| include_unknown.set(event_target_checked(&ev)) />
                                {text.include_unknown}
                            </label>
                        </Show>
                    </Show>
                </div>
            </Show>
            <Show when=move || confirming.get()>
                <div class="confirm" role="alertdialog" aria-labelledby="cancel-question">
                    <p id="cancel-question">{text.cancel_question}</p>
                    <div class="controls-row">
                        <button type="button" class="button button-danger" disabled=busy on:click=move |_| run.run(JobCommand::Cancel)>
                            {move || if busy() { text.working } else { text.cancel_confirm }}
                        </button>
                        <button type="button" class="button button-quiet" on:click=move |_| confirming.set(false)>
                            {text.keep_sending}
                        </button>
                    </div>
                    <Show when=busy>
                        <p class="hint">{text.stopping_note}</p>
                    </Show>
                </div>
            </Show>
            <Show when=offline>
                <p class="hint" data-testid="controls-offline">{text.cockpit.offline_controls}</p>
            </Show>
            {error}
            <SendTheRest feed />
        </div>
    }
}

/// For a cancelled send with recipients it never tried: **Send the rest** (a new send of them,
/// opened once created) and **Export not sent** (their CSV).
#[component]
fn SendTheRest(feed: JobFeed) -> impl IntoView {
    let text = use_text();
    let words = text.cockpit;
    let live = use_live();
    let job = feed.job;
    let action = ServerAction::<SendRest>::new();
    let rest = move || {
        job.with(|j| {
            (j.kind == JobKind::BulkSend && j.status == JobStatus::Cancelled)
                .then(|| j.progress.total.saturating_sub(j.progress.done()))
                .filter(|n| *n > 0)
        })
    };
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(view)) = action.value().get() {
            navigate(&format!("/jobs/{}", view.id), Default::default());
        }
    });
    let busy = move || action.pending().get() || live.connection.get() == Connection::Offline;
    let csv = format!(
        "/api/jobs/{}/items?status={}&format=csv",
        feed.id,
        ItemStatus::Pending.as_str()
    );
    let id = feed.id;
    view! {
        <Show when=move || rest().is_some()>
            <div class="controls-row send-rest" data-testid="send-rest">
                <button
                    type="button"
                    class="button button-primary"
                    disabled=busy
                    on:click=move |_| {
                        action.dispatch(SendRest { id: id.to_string() });
                    }
                >
                    {move || (words.send_rest)(&text.number(rest().unwrap_or_default()))}
                </button>
                <a class="button button-quiet" href=csv.clone() download data-testid="export-not-sent">
                    {words.export_not_sent}
                </a>
                <p class="hint">{words.send_rest_hint}</p>
            </div>
        </Show>
        {action_alert(action)}
    }
}
