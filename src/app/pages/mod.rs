//! One file per route.

mod audit;
mod bulk_new;
mod campaign;
mod campaign_new;
mod campaigns;
mod dashboard;
mod hooks;
mod inbox;
mod job;
mod login;
mod not_found;
mod opt_outs;
mod recipient;
mod results;
mod senders;
mod settings;

pub use audit::AuditPage;
pub use bulk_new::BulkNewPage;
pub use campaign::CampaignPage;
pub use campaign_new::CampaignNewPage;
pub use campaigns::CampaignsPage;
pub use dashboard::DashboardPage;
pub use hooks::HooksPage;
pub use inbox::InboxPage;
pub use job::JobPage;
pub use login::LoginPage;
pub use not_found::NotFound;
pub use opt_outs::OptOutsPage;
pub use recipient::RecipientPage;
pub use results::ResultsPage;
pub use senders::SendersPage;
pub use settings::SettingsPage;

use leptos::prelude::*;

use crate::app::i18n::use_text;
use crate::protocol::Problem;

/// A problem, worded in the page's language.
pub fn error_message(problem: &Problem) -> String {
    (use_text().problem)(problem)
}

/// What the server refused of an action's last call, worded, as an alert beside its buttons.
pub fn action_alert<S>(action: ServerAction<S>) -> impl Fn() -> Option<AnyView> + Copy + 'static
where
    S: leptos::server_fn::ServerFn<Error = Problem> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    move || {
        action
            .value()
            .get()
            .and_then(|answer| answer.err())
            .map(|e| {
                view! { <p class="field-error" role="alert">{error_message(&e)}</p> }.into_any()
            })
    }
}

/// An error box; an ended session gets a link to log in again.
#[component]
pub fn ErrorNotice(error: Problem) -> impl IntoView {
    let text = use_text();
    if error.needs_login() {
        view! {
            <div class="notice notice-error" role="alert">
                <p>{text.session_expired}</p>
                <a class="button" href="/login">{text.log_in}</a>
            </div>
        }
        .into_any()
    } else {
        view! {
            <div class="notice notice-error" role="alert">
                <p>{text.error_prefix} " " {(text.problem)(&error)}</p>
            </div>
        }
        .into_any()
    }
}

/// A placeholder while a page's data loads.
#[component]
pub fn Loading() -> impl IntoView {
    let text = use_text();
    view! { <p class="loading" aria-busy="true">{text.loading}</p> }
}

/// The admin pages' tabs: users and tokens, webhooks, the audit log (the menu keeps one link).
#[component]
pub fn AdminTabs() -> impl IntoView {
    let text = crate::app::i18n::use_text();
    view! {
        <nav class="admin-tabs" aria-label=text.audit.admin_tabs>
            <leptos_router::components::A href="/settings">{text.nav_settings}</leptos_router::components::A>
            <leptos_router::components::A href="/hooks">{text.hooks.nav}</leptos_router::components::A>
            <leptos_router::components::A href="/audit">{text.audit.nav}</leptos_router::components::A>
        </nav>
    }
}
