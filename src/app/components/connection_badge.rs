use leptos::prelude::*;

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
