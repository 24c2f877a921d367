use leptos::prelude::*;

use crate::app::i18n::use_text;
use crate::protocol::{JobStatus, JobView};

/// For a person who looks away while a job runs: milestones and the end announced politely to
/// screen readers, and (if they ask) a browser notification when it ends.
#[component]
pub fn JobWatch(job: RwSignal<JobView>, #[prop(into)] name: String) -> impl IntoView {
    let text = use_text();
    let words = text.cockpit;
    let status = Memo::new(move |_| job.with(|j| j.status));
    let quarter = Memo::new(move |_| job.with(|j| (j.progress.percentage / 25.0).floor() as u32));
    // What the status region says: empty until something worth saying happens while watched.
    let said = RwSignal::new(String::new());
    Effect::new(move |seen: Option<u32>| {
        let now = quarter.get();
        if let Some(before) = seen
            && now > before
            && (1..4).contains(&now)
        {
            said.set((words.milestone)(now * 25));
        }
        now
    });
    let asked = RwSignal::new(false);
    let name = StoredValue::new(name);
    Effect::new(move |was: Option<JobStatus>| {
        let now = status.get();
        if let Some(before) = was
            && !before.is_terminal()
            && now.is_terminal()
        {
            let (sent, failed) = job.with_untracked(|j| (j.progress.sent, j.progress.failed));
            let summary =
                (words.ended)((text.status)(now), &text.number(sent), &text.number(failed));
            said.set(summary.clone());
            if asked.get_untracked() {
                notify(&name.get_value(), &summary);
            }
        }
        now
    });
    let can_notify = RwSignal::new(false);
    Effect::new(move |_| can_notify.set(notifications_available()));
    let ask = move |_| {
        asked.set(true);
        request_permission();
    };

    view! {
        <p class="visually-hidden" role="status" data-testid="job-announcement">{move || said.get()}</p>
        <Show when=move || can_notify.get() && !status.get().is_terminal()>
            <p class="notify-row">
                <Show
                    when=move || asked.get()
                    fallback=move || view! {
                        <button type="button" class="button button-quiet button-small" data-testid="notify-me" on:click=ask>
                            {words.notify_me}
                        </button>
                    }
                >
                    <span class="muted small" data-testid="notify-on">{words.notify_on}</span>
                </Show>
            </p>
        </Show>
    }
}

/// Whether this browser can show notifications and the reader has not refused them.
fn notifications_available() -> bool {
    #[cfg(feature = "hydrate")]
    {
        let has_api = js_sys::Reflect::has(&window(), &"Notification".into()).unwrap_or(false);
        has_api && web_sys::Notification::permission() != web_sys::NotificationPermission::Denied
    }
    #[cfg(not(feature = "hydrate"))]
    {
        false
    }
}

fn request_permission() {
    #[cfg(feature = "hydrate")]
    if web_sys::Notification::permission() == web_sys::NotificationPermission::Default {
        // The answer comes back through `permission()` when the job ends.
        let _ = web_sys::Notification::request_permission();
    }
}

fn notify(title: &str, body: &str) {
    #[cfg(feature = "hydrate")]
    if web_sys::Notification::permission() == web_sys::NotificationPermission::Granted {
        let options = web_sys::NotificationOptions::new();
        options.set_body(body);
        let _ = web_sys::Notification::new_with_options(title, &options);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (title, body);
}
