use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::Login;
use crate::app::i18n::use_text;
use crate::app::pages::error_message;

/// Username and password; on success, a full page load of where the user was going.
#[component]
pub fn LoginPage() -> impl IntoView {
    let text = use_text();
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = move || {
        query
            .read()
            .get("next")
            .filter(|n| n.starts_with('/') && !n.starts_with("//"))
            .unwrap_or_else(|| "/".to_owned())
    };
    // A full load, so the header, the live channel and every page start from the new session.
    Effect::new(move |_| {
        if let Some(Ok(())) = login.value().get() {
            let _ = window().location().set_href(&next());
        }
    });
    let error = move || {
        login
            .value()
            .get()
            .and_then(|result| result.err())
            .map(|e| view! { <p class="field-error" role="alert">{error_message(&e)}</p> })
    };
    view! {
        <Title text=text.login_title />
        <section class="panel auth">
            <h1>{text.login_title}</h1>
            <ActionForm action=login>
                <input type="hidden" name="next" prop:value=next />
                <label class="field">
                    <span>{text.username}</span>
                    <input name="username" autocomplete="username" required autofocus />
                </label>
                <label class="field">
                    <span>{text.password}</span>
                    <input type="password" name="password" autocomplete="current-password" required />
                </label>
                {error}
                <button type="submit" class="button button-primary" disabled=move || login.pending().get()>
                    {move || if login.pending().get() { text.logging_in } else { text.log_in }}
                </button>
            </ActionForm>
        </section>
    }
}
