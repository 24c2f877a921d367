use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::app::i18n::use_text;

/// Shown for unknown paths, and for jobs that do not exist or belong to another tenant.
#[component]
pub fn NotFound() -> impl IntoView {
    let text = use_text();
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text=text.not_found_title />
        <section class="panel empty">
            <h1>{text.not_found_title}</h1>
            <p>{text.not_found_body}</p>
            <A href="/" attr:class="button">{text.back_to_jobs}</A>
        </section>
    }
}
