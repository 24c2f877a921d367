use std::time::Duration;

use crate::app::components::LocalTime;
use crate::app::format::TimeShown;
use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::{AddHook, DeleteHook, TestHook, load_hooks};
use crate::app::format;
use crate::app::i18n::use_text;
use crate::app::pages::{ErrorNotice, Loading, action_alert};
use crate::protocol::hooks::{
    CallFailure, DeliveryStatus, DeliveryView, HookEvent, HookWithDeliveries,
};

/// How soon the page looks again while a call is pending (a test was just queued).
const PENDING_REFRESH: Duration = Duration::from_millis(1_500);

/// Outgoing webhooks: adding one (its secret shown once), trying it, its latest calls.
#[component]
pub fn HooksPage() -> impl IntoView {
    let words = use_text().hooks;
    let add = ServerAction::<AddHook>::new();
    let remove = ServerAction::<DeleteHook>::new();
    let test = ServerAction::<TestHook>::new();
    let refresh = RwSignal::new(0_u32);
    let data = Resource::new(
        move || {
            (
                add.version().get(),
                remove.version().get(),
                test.version().get(),
                refresh.get(),
            )
        },
        |_| load_hooks(),
    );
    // While a call is pending, look again shortly: the list shows it land.
    Effect::new(move |_| {
        let pending = data.get().and_then(|r| r.ok()).is_some_and(|hooks| {
            hooks.iter().any(|h| {
                h.deliveries
                    .iter()
                    .any(|d| d.status == DeliveryStatus::Pending)
            })
        });
        if pending {
            set_timeout(
                move || {
                    let _ = refresh.try_update(|n| *n += 1);
                },
                PENDING_REFRESH,
            );
        }
    });
    let add_error = action_alert(add);
    let remove_error = action_alert(remove);
    let test_error = action_alert(test);
    let created = move || add.value().get().and_then(|r| r.ok());
    view! {
        <Title text=words.title />
        <div class="page-head">
            <h1>{words.title}</h1>
        </div>
        <crate::app::pages::AdminTabs />
        <p class="muted intro">{words.intro}</p>
        <section class="panel" aria-labelledby="add-hook">
            <ActionForm action=add attr:class="hook-form" attr:data-testid="add-hook">
                <label class="field">
                    <span id="add-hook">{words.url_label}</span>
                    <input
                        name="url"
                        type="url"
                        required
                        maxlength="2048"
                        autocomplete="off"
                        placeholder="https://example.com/jobpulse"
                    />
                    <small class="muted">{words.url_hint}</small>
                </label>
                <fieldset class="field hook-events">
                    <legend>{words.events_label}</legend>
                    {HookEvent::SUBSCRIBABLE
                        .into_iter()
                        .map(|event| {
                            let name = match event {
                                HookEvent::JobCompleted => "completed",
                                HookEvent::JobFailed => "failed",
                                HookEvent::JobCancelled => "cancelled",
                                _ => "paused",
                            };
                            let ticked = matches!(
                                event,
                                HookEvent::JobCompleted | HookEvent::JobFailed
                            );
                            view! {
                                <label class="check">
                                    <input type="checkbox" name=name checked=ticked />
                                    <span>{(words.event)(event)}</span>
                                    <code class="muted">{event.as_str()}</code>
                                </label>
                            }
                        })
                        .collect_view()}
                </fieldset>
                <button type="submit" class="button button-primary" disabled=move || add.pending().get()>
                    {move || if add.pending().get() { words.adding } else { words.add }}
                </button>
            </ActionForm>
            {move || {
                created()
                    .map(|created| {
                        view! {
                            <div class="notice notice-ok" role="status" data-testid="hook-secret">
                                <p>{words.secret_note}</p>
                                <code class="secret">{created.secret}</code>
                            </div>
                        }
                    })
            }}
            {add_error}
        </section>
        {remove_error}
        {test_error}
        {move || {
            test.value()
                .get()
                .and_then(|r| r.ok())
                .map(|_| view! { <p class="notice notice-ok" role="status">{words.test_queued}</p> })
        }}
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(hooks) if hooks.is_empty() => {
                        view! { <p class="empty" data-testid="no-hooks">{words.empty}</p> }.into_any()
                    }
                    Ok(hooks) => {
                        hooks
                            .into_iter()
                            .map(|entry| view! { <HookCard entry remove test /> })
                            .collect_view()
                            .into_any()
                    }
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn HookCard(
    entry: HookWithDeliveries,
    remove: ServerAction<DeleteHook>,
    test: ServerAction<TestHook>,
) -> impl IntoView {
    let words = use_text().hooks;
    let HookWithDeliveries { hook, deliveries } = entry;
    let id = hook.id.to_string();
    let (test_id, remove_id) = (id.clone(), id);
    let events = hook
        .events
        .iter()
        .map(|e| (words.event)(*e))
        .collect::<Vec<_>>()
        .join(", ");
    let delete_label = (words.delete_label)(&hook.url);
    view! {
        <section class="panel hook" data-testid="hook">
            <div class="hook-head">
                <h2 class="hook-url">{hook.url.clone()}</h2>
                <div class="row-actions">
                    <button
                        type="button"
                        class="button button-small"
                        on:click=move |_| {
                            test.dispatch(TestHook { id: test_id.clone() });
                        }
                    >
                        {words.send_test}
                    </button>
                    <button
                        type="button"
                        class="button button-small button-danger"
                        aria-label=delete_label
                        on:click=move |_| {
                            remove.dispatch(DeleteHook { id: remove_id.clone() });
                        }
                    >
                        {words.delete}
                    </button>
                </div>
            </div>
            <dl class="hook-facts">
                <div>
                    <dt>{words.events_of}</dt>
                    <dd>{events}</dd>
                </div>
                <div>
                    <dt>{words.created}</dt>
                    <dd><LocalTime at=hook.created_at /></dd>
                </div>
            </dl>
            <h3>{words.deliveries}</h3>
            {if deliveries.is_empty() {
                view! { <p class="muted">{words.no_deliveries}</p> }.into_any()
            } else {
                view! { <Deliveries deliveries /> }.into_any()
            }}
        </section>
    }
}

#[component]
fn Deliveries(deliveries: Vec<DeliveryView>) -> impl IntoView {
    let words = use_text().hooks;
    view! {
        <div class="table-wrap">
            <table class="data deliveries">
                <thead>
                    <tr>
                        <th scope="col">{words.col_when}</th>
                        <th scope="col">{words.col_event}</th>
                        <th scope="col">{words.col_job}</th>
                        <th scope="col">{words.col_status}</th>
                        <th scope="col" class="num">{words.col_attempts}</th>
                        <th scope="col">{words.col_answer}</th>
                        <th scope="col">{words.col_next_try}</th>
                    </tr>
                </thead>
                <tbody>
                    {deliveries
                        .into_iter()
                        .map(|d| {
                            let badge = match d.status {
                                DeliveryStatus::Pending => "badge badge-pending",
                                DeliveryStatus::Delivered => "badge badge-completed",
                                DeliveryStatus::Failed => "badge badge-failed",
                            };
                            let answer = match (d.response_status, d.error.as_deref()) {
                                (Some(code), _) => format!("HTTP {code}"),
                                (None, Some(error)) => match CallFailure::of_error(error) {
                                    Some((failure, _)) => (words.failure)(failure).to_owned(),
                                    None => error.to_owned(),
                                },
                                (None, None) => String::new(),
                            };
                            let detail = d.error.clone().unwrap_or_default();
                            let job = d.job_id.map(|job| {
                                let href = format!("/jobs/{job}");
                                view! { <a href=href>{format::short_id(&job.to_string())}</a> }
                            });
                            let next = (d.status == DeliveryStatus::Pending)
                                .then_some(d.next_attempt_at)
                                .flatten()
                                .map(|at| view! { <LocalTime at shown=TimeShown::Seconds /> });
                            view! {
                                <tr data-testid="delivery" data-status=d.status.as_str()>
                                    <td data-label=words.col_when class="nowrap">
                                        <LocalTime at=d.created_at shown=TimeShown::Seconds />
                                    </td>
                                    <td data-label=words.col_event>
                                        <code>{d.event.as_str()}</code>
                                    </td>
                                    <td data-label=words.col_job>{job}</td>
                                    <td data-label=words.col_status>
                                        <span class=badge>{(words.status)(d.status)}</span>
                                    </td>
                                    <td data-label=words.col_attempts class="num">{d.attempts}</td>
                                    <td data-label=words.col_answer title=detail>{answer}</td>
                                    <td data-label=words.col_next_try class="nowrap">{next}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}
