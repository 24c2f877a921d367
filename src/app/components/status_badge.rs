use leptos::prelude::*;

use crate::app::i18n::use_text;
use crate::protocol::JobStatus;

/// The job's status as a coloured pill.
#[component]
pub fn StatusBadge(#[prop(into)] status: Signal<JobStatus>) -> impl IntoView {
    let text = use_text();
    view! {
        <span class=move || format!("badge badge-{}", status.get().as_str()) data-status=move || status.get().as_str()>
            {move || (text.status)(status.get())}
        </span>
    }
}
