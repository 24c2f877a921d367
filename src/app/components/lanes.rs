use std::time::Duration;

use leptos::prelude::*;

use crate::api::{DeviceAction, job_lanes};
use crate::app::OperatorOnly;
use crate::app::components::SenderHealthBadge;
use crate::app::i18n::use_text;
use crate::app::pages::action_alert;
use crate::live::{Connection, JobFeed, use_live};
use crate::protocol::JobStatus;
use crate::protocol::lanes::{LaneState, SenderLane};
use crate::protocol::senders::SenderHealthView;

/// How often a running send's lanes are read again. The feed's item events are not counted
/// into them: a read and the events it already counts cannot be told apart, so the counts come
/// from reads only (and one more when the send ends).
const REFRESH: Duration = Duration::from_secs(2);

/// The classes of a lane's state (a badge's look, not its class: pages find the job's badge by
/// `.badge`); never colour alone, the word is always there.
fn state_class(state: LaneState) -> &'static str {
    match state {
        LaneState::Sending => "lane-state badge-processing",
        LaneState::Idle | LaneState::Stopped => "lane-state badge-pending",
        LaneState::Paused | LaneState::Degraded => "lane-state badge-paused",
        LaneState::Stalled | LaneState::Down => "lane-state badge-failed",
    }
}

/// A bulk send's devices, one row each: state, sent, failed, in flight, rate and last error,
/// live; operators pause one device's share (the others take it) or resume it.
#[component]
pub fn SenderLanes(feed: JobFeed, senders: Vec<SenderHealthView>) -> impl IntoView {
    let text = use_text();
    let words = text.lanes;
    let live = use_live();
    let job = feed.job;
    let job_id = feed.id;
    let lanes = Memo::new(move |_| job.with(|j| j.senders.clone()));
    // A read may come back after the page moved on (to another job): then there is no one to tell.
    let take = move |fresh: Vec<SenderLane>| {
        job.try_update(|j| j.senders = fresh);
    };
    let read = move || {
        let id = job_id.to_string();
        leptos::task::spawn_local(async move {
            if let Ok(fresh) = job_lanes(id).await {
                take(fresh);
            }
        });
    };

    // Sender health comes live from its own channel.
    if !senders.is_empty() {
        Effect::new(move |_| live.follow_senders());
    }
    Effect::new(move |_| {
        let tick = move || {
            let running = job.with_untracked(|j| j.status == JobStatus::Processing);
            if running && live.connection.get_untracked() != Connection::Offline {
                read();
            }
        };
        if let Ok(timer) = set_interval_with_handle(tick, REFRESH) {
            on_cleanup(move || timer.clear());
        }
    });
    // The final counts once it ends (or pauses).
    let stopped = Memo::new(move |_| job.with(|j| j.status != JobStatus::Processing));
    Effect::new(move |was: Option<bool>| {
        let now = stopped.get();
        if now && was == Some(false) {
            read();
        }
        now
    });

    let action = ServerAction::<DeviceAction>::new();
    Effect::new(move |_| {
        if let Some(Ok(view)) = action.value().get() {
            take(view.senders);
        }
    });
    let offline = move || live.connection.get() == Connection::Offline;
    let can_steer = move || {
        job.with(|j| !j.status.is_terminal()) && live.connection.get() != Connection::SessionEnded
    };
    let error = action_alert(action);

    let sender_cell = move |lane: &SenderLane| match lane
        .sender_id
        .and_then(|sid| senders.iter().find(|s| s.sender_id == sid).cloned())
    {
        Some(sender) => view! {
            <span class="lane-sender">
                <strong>{sender.name.clone()}</strong>
                " "
                <span class="muted small">{sender.provider.label()}</span>
                " "
                <SenderHealthBadge initial=sender />
            </span>
        }
        .into_any(),
        None => view! { <span class="muted small">{words.server_provider}</span> }.into_any(),
    };

    view! {
        <section class="panel" aria-labelledby="lanes-title" data-testid="lanes">
            <div class="panel-head">
                <h2 id="lanes-title">{words.title}</h2>
            </div>
            <p class="hint">{words.hint}</p>
            <div class="table-scroll">
                <table class="data lanes">
                    <thead>
                        <tr>
                            <th scope="col">{words.col_device}</th>
                            <th scope="col">{words.col_state}</th>
                            <th scope="col" class="num">{words.col_sent}</th>
                            <th scope="col" class="num">{words.col_failed}</th>
                            <th scope="col" class="num">{words.col_in_flight}</th>
                            <th scope="col" class="num">{words.col_rate}</th>
                            <th scope="col">{words.col_last_error}</th>
                            <OperatorOnly>
                                <th scope="col"><span class="visually-hidden">{words.pause}</span></th>
                            </OperatorOnly>
                        </tr>
                    </thead>
                    <tbody>
                        <For
                            each=move || lanes.get().into_iter().map(|l| l.device_id)
                            key=|device| *device
                            let:device
                        >
                            {
                                let lane = move || {
                                    lanes.with(|all| all.iter().find(|l| l.device_id == device).cloned())
                                        .unwrap_or_default()
                                };
                                let first = lane();
                                let state = move || lane().state;
                                let paused = move || lane().paused;
                                view! {
                                    <tr data-testid="lane" data-device=device data-state=move || state().as_str()>
                                        <th scope="row">
                                            <span class="lane-device">{(text.senders.device)(device)}</span>
                                            " "
                                            {sender_cell(&first)}
                                        </th>
                                        <td data-label=words.col_state>
                                            <span class=move || state_class(state()) title=move || (words.state_hint)(state()) data-testid="lane-state">
                                                {move || (words.state)(state())}
                                            </span>
                                        </td>
                                        <td class="num" data-label=words.col_sent data-testid="lane-sent">{move || text.number(lane().sent)}</td>
                                        <td class="num" data-label=words.col_failed data-testid="lane-failed">{move || text.number(lane().failed)}</td>
                                        <td class="num" data-label=words.col_in_flight data-testid="lane-in-flight">{move || text.number(u64::from(lane().in_flight))}</td>
                                        <td class="num" data-label=words.col_rate>
                                            {move || match lane().rate_per_sec {
                                                Some(rate) if state() != LaneState::Stopped => (text.cockpit.rate_value)(rate),
                                                _ => text.cockpit.no_value.to_owned(),
                                            }}
                                        </td>
                                        <td class="lane-error" data-label=words.col_last_error data-testid="lane-error">
                                            {move || {
                                                let lane = lane();
                                                match (&lane.last_fault, &lane.last_error) {
                                                    (Some(fault), Some(english)) => (text.send_fault)(fault, english),
                                                    (None, Some(english)) => english.clone(),
                                                    _ => text.cockpit.no_value.to_owned(),
                                                }
                                            }}
                                        </td>
                                        <OperatorOnly>
                                            <td>
                                                <Show when=can_steer>
                                                    {
                                                        view! {
                                                            <button
                                                                type="button"
                                                                class="button button-small"
                                                                data-testid="lane-toggle"
                                                                disabled=move || action.pending().get() || offline()
                                                                aria-label=move || if paused() { (words.resume_label)(device) } else { (words.pause_label)(device) }
                                                                on:click=move |_| {
                                                                    action.dispatch(DeviceAction {
                                                                        id: job_id.to_string(),
                                                                        device,
                                                                        paused: !paused(),
                                                                    });
                                                                }
                                                            >
                                                                {move || if paused() { words.resume } else { words.pause }}
                                                            </button>
                                                        }
                                                    }
                                                </Show>
                                            </td>
                                        </OperatorOnly>
                                    </tr>
                                }
                            }
                        </For>
                    </tbody>
                </table>
            </div>
            {error}
        </section>
    }
}
