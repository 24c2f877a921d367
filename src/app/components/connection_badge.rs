use std::time::Duration;

use leptos::prelude::*;

use crate::app::format;

use crate::app::i18n::use_text;
use crate::live::{Connection, use_live};

/// Whether the page is live, announced politely to screen readers when it changes.
#[component]
pub fn ConnectionBadge() -> impl IntoView {
    let text = use_text();
    let live = use_live();
    let state = move || match live.connection.get() {
        Connection::Connecting => ("connecting", text.conn_connecting.to_owned()),
        Connection::Connected => ("connected", text.conn_connected.to_owned()),
        Connection::Reconnecting(n) => ("reconnecting", (text.conn_reconnecting)(n)),
        Connection::Polling => ("polling", text.conn_polling.to_owned()),
        Connection::Offline => ("offline", text.conn_offline.to_owned()),
        Connection::SessionEnded => ("ended", text.conn_session_ended.to_owned()),
    };
    let ended = move || live.connection.get() == Connection::SessionEnded;
    view! {
        <span
            class=move || format!("conn conn-{}", state().0)
            data-state=move || state().0
            role="status"
            aria-live="polite"
            title=text.conn_label
        >
            <span class="conn-dot" aria-hidden="true"></span>
            {move || state().1}
            <Show when=ended>
                " " <a class="conn-login" href="/login">{text.log_in}</a>
            </Show>
        </span>
    }
}

/// While nothing reaches the page: how old its figures are, counting up each second.
#[component]
pub fn StaleNote() -> impl IntoView {
    let text = use_text();
    let live = use_live();
    let now = RwSignal::new(None::<f64>);
    let mounted_at = StoredValue::new(None::<f64>);
    let stale = move || live.connection.get().is_stale();
    let clock = || format::now().timestamp_millis() as f64;
    Effect::new(move |_| {
        mounted_at.update_value(|at| *at = at.or(Some(clock())));
        if stale() {
            now.set(Some(clock()));
            if let Ok(timer) =
                set_interval_with_handle(move || now.set(Some(clock())), Duration::from_secs(1))
            {
                on_cleanup(move || timer.clear());
            }
        }
    });
    let ago = move || {
        let now = now.get()?;
        let since = live.heard_at.get().or(mounted_at.get_value())?;
        Some(format::whole_duration_ms((now - since).max(0.0) as u64))
    };
    move || {
        stale().then(|| {
            ago().map(|ago| {
                view! {
                    <p class="stale-note" data-testid="stale-note">{(text.cockpit.last_update)(&ago)}</p>
                }
            })
        })
    }
}
