use leptos::prelude::*;

use crate::app::i18n::use_text;
use crate::protocol::JobStatus;

/// The job's status as a coloured pill; a search that completed short of its target says so in
/// amber rather than calling it done.
#[component]
pub fn StatusBadge(
    #[prop(into)] status: Signal<JobStatus>,
    /// A search's (results, target): completed with fewer results than wanted reads "short".
    #[prop(optional, into)]
    reach: Option<Signal<(u64, u64)>>,
) -> impl IntoView {
    let text = use_text();
    let short = move || {
        reach
            .map(|reach| reach.get())
            .filter(|(got, target)| status.get() == JobStatus::Completed && got < target)
    };
    view! {
        <span
            class=move || match short() {
                Some(_) => "badge badge-short".to_owned(),
                None => format!("badge badge-{}", status.get().as_str()),
            }
            data-status=move || status.get().as_str()
            data-short=move || short().is_some().then_some("true")
        >
            {move || match short() {
                Some((got, target)) => {
                    (text.campaign.short_of_target)(&text.number(got), &text.number(target))
                }
                None => (text.status)(status.get()).to_owned(),
            }}
        </span>
    }
}
