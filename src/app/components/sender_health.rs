use leptos::prelude::*;

use crate::app::i18n::use_text;
use crate::live::use_live;
use crate::protocol::senders::{SenderHealth, SenderHealthView};

/// The badge class of a health.
fn health_class(health: SenderHealth) -> &'static str {
    match health {
        SenderHealth::Ok => "badge badge-completed",
        SenderHealth::Degraded => "badge badge-paused",
        SenderHealth::Down => "badge badge-failed",
        SenderHealth::Unknown => "badge badge-pending",
    }
}

/// A sender's health and why, live: as the page was rendered until the live channel says
/// otherwise (the page asks for it with `follow_senders`).
#[component]
pub fn SenderHealthBadge(initial: SenderHealthView) -> impl IntoView {
    let text = use_text();
    let words = text.senders;
    let live = use_live();
    let id = initial.sender_id;
    let current = Memo::new(move |_| live.sender_health(id).unwrap_or_else(|| initial.clone()));
    let health = move || current.with(|c| c.health);
    // The detail in the reader's language when the server gave its code.
    let detail = move || {
        current.with(|c| match (&c.health_fault, &c.health_detail) {
            (Some(fault), Some(english)) => Some((text.send_fault)(fault, english)),
            (None, Some(english)) => Some(english.clone()),
            _ => None,
        })
    };
    view! {
        <span aria-live="polite">
            <span class=move || health_class(health()) data-testid="sender-health">
                {move || (words.health)(health())}
            </span>
            {move || {
                detail()
                    .map(|detail| {
                        view! { <span class="health-detail muted small" data-testid="sender-health-detail">{detail}</span> }
                    })
            }}
        </span>
    }
}
