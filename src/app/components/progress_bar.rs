use leptos::prelude::*;

use crate::app::i18n::use_text;
use crate::protocol::Progress;

/// An accessible progress bar: sent in the calm colour, failed in the alert colour, unknown apart.
#[component]
pub fn ProgressBar(
    #[prop(into)] progress: Signal<Progress>,
    /// Visible label for screen readers.
    #[prop(into)]
    label: String,
    #[prop(optional)] compact: bool,
    /// Fill by the overall percentage (a multi-stage job), not by items.
    #[prop(optional)]
    by_percentage: bool,
) -> impl IntoView {
    let text = use_text();
    let share = move |part: u64| {
        let total = progress.with(|p| p.total);
        if total == 0 {
            0.0
        } else {
            part as f64 * 100.0 / total as f64
        }
    };
    let value = move || progress.with(|p| p.percentage);
    view! {
        <div
            class="progress"
            class:progress-compact=compact
            role="progressbar"
            aria-label=label
            aria-valuemin="0"
            aria-valuemax="100"
            aria-valuenow=move || format!("{:.0}", value().floor())
            aria-valuetext=move || text.percent(value())
        >
            <Show
                when=move || !by_percentage
                fallback=move || view! { <div class="progress-sent" style:width=move || format!("{:.3}%", value().clamp(0.0, 100.0))></div> }
            >
                <div class="progress-sent" style:width=move || format!("{:.3}%", share(progress.with(|p| p.sent)))></div>
                <div class="progress-failed" style:width=move || format!("{:.3}%", share(progress.with(|p| p.failed)))></div>
                <div class="progress-unknown" style:width=move || format!("{:.3}%", share(progress.with(|p| p.unknown)))></div>
            </Show>
        </div>
    }
}
