use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::Login;
use crate::app::i18n::use_text;
use crate::app::pages::action_alert;

/// The workspace this browser last logged in to (read on the server, from its cookie).
async fn remembered_workspace() -> String {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .and_then(|parts| crate::server::http::auth::remembered_workspace(&parts))
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        String::new()
    }
}

/// Workspace, username and password; on success, a full page load of where the user was going.
#[component]
pub fn LoginPage() -> impl IntoView {
    let text = use_text();
    let login = ServerAction::<Login>::new();
    let workspace = OnceResource::new(remembered_workspace());
    let query = use_query_map();
    let next = move || {
        query
            .read()
            .get("next")
            .and_then(|next| crate::app::navigation::same_site_path(&next))
            .unwrap_or_else(|| "/".to_owned())
    };
    // A full load, so the header, the live channel and every page start from the new session.
    Effect::new(move |_| {
        if let Some(Ok(())) = login.value().get() {
            let _ = window().location().set_href(&next());
        }
    });
    let error = action_alert(login);
    view! {
        <Title text=text.login_title />
        <section class="panel auth">
            <h1>{text.login_title}</h1>
            <ActionForm action=login>
                <input type="hidden" name="next" prop:value=next />
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        let remembered = workspace.await;
                        let first_visit = remembered.is_empty();
                        view! {
                            <label class="field">
                                <span>{text.workspace}</span>
                                <input
                                    name="workspace"
                                    autocomplete="organization"
                                    required
                                    autofocus=first_visit
                                    value=remembered
                                    aria-describedby="workspace-hint"
                                />
                            </label>
                            <small class="hint" id="workspace-hint">{text.workspace_hint}</small>
                            <label class="field">
                                <span>{text.username}</span>
                                <input name="username" autocomplete="username" required autofocus=!first_visit />
                            </label>
                        }
                    })}
                </Suspense>
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
