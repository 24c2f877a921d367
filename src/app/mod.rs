//! The pages: shell, router, layout.

pub mod components;
pub mod format;
/// The UI's strings: the shared tables, and the page's locale.
pub mod i18n {
    pub use crate::i18n::*;

    /// The current page's strings.
    pub fn use_text() -> &'static Text {
        leptos::prelude::use_context::<Locale>()
            .unwrap_or_default()
            .text()
    }
}
pub mod navigation;
pub mod pace;
pub mod pages;

use leptos::prelude::*;
use leptos_meta::{HashedStylesheet, MetaTags, Title, provide_meta_context};
use leptos_router::components::{A, Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::api::{Logout, ViewerInfo, viewer};
use crate::app::components::ConnectionBadge;
use crate::app::i18n::{Locale, use_text};
use crate::live::Live;

/// The HTML document around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let locale = current_locale();
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) && let Ok(policy) =
        http::HeaderValue::from_str(&crate::server::http::guard::page_policy(&nonce))
    {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, policy);
    }
    view! {
        <!DOCTYPE html>
        <html lang=locale.tag()>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <meta name="color-scheme" content="light dark" />
                <meta name="csrf-token" content=csrf_token().unwrap_or_default() />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <HashedStylesheet options=options.clone() id="leptos" />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

pub use crate::api::csrf_token;

/// The hidden field that carries the CSRF token when a form is posted without JavaScript.
#[component]
pub fn CsrfField() -> impl IntoView {
    view! { <input type="hidden" name="csrf_token" value=csrf_token().unwrap_or_default() /> }
}

/// The language of this request: `?lang=` cookie or Accept-Language on the server, the
/// document's `lang` in the browser (so hydration renders the same words).
fn current_locale() -> Locale {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .map(|parts| {
                let cookie = axum_extra::extract::CookieJar::from_headers(&parts.headers)
                    .get("lang")
                    .map(|c| c.value().to_owned());
                let header = parts
                    .headers
                    .get(http::header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_owned();
                Locale::negotiate(&cookie.unwrap_or(header))
            })
            .unwrap_or_default()
    }
    #[cfg(not(feature = "ssr"))]
    {
        document()
            .document_element()
            .and_then(|el| el.get_attribute("lang"))
            .map(|lang| Locale::negotiate(&lang))
            .unwrap_or_default()
    }
}

/// The document title. On the server it is escaped: leptos_meta writes the title into `<title>`
/// as it is, and page titles carry names that anyone with a token chooses (a job named
/// `x</title><form …>` must stay text). In the browser it becomes `document.title`, plain text.
fn page_title(page: String) -> String {
    let title = if page.is_empty() {
        "jobpulse".to_owned()
    } else {
        format!("{page} · jobpulse")
    };
    #[cfg(feature = "ssr")]
    {
        html_escape::encode_text(&title).into_owned()
    }
    #[cfg(not(feature = "ssr"))]
    {
        title
    }
}

/// Who is logged in, loaded once per page and shared by every component that asks.
#[derive(Clone, Copy)]
pub struct Viewer(Resource<Result<Option<ViewerInfo>, crate::protocol::Problem>>);

/// The shared viewer resource.
pub fn use_viewer() -> Resource<Result<Option<ViewerInfo>, crate::protocol::Problem>> {
    expect_context::<Viewer>().0
}

/// Opens the live connection once a logged-in page is interactive.
#[component]
fn StartLive() -> impl IntoView {
    let live = crate::live::use_live();
    Effect::new(move |_| live.start());
}

/// Shows its children only to viewers allowed to start and change work (the server checks too).
#[component]
pub fn OperatorOnly(
    children: ChildrenFn,
    /// What others see instead.
    #[prop(optional, into)]
    otherwise: ViewFn,
) -> impl IntoView {
    let viewer = use_viewer();
    view! {
        <Transition fallback=|| ()>
            {move || {
                let children = children.clone();
                let otherwise = otherwise.clone();
                Suspend::new(async move {
                    let allowed = viewer.await.ok().flatten().is_some_and(|v| v.can_operate());
                    if allowed { children().into_any() } else { otherwise.run().into_any() }
                })
            }}
        </Transition>
    }
}

/// The application: context (locale, live channel), layout and routes.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_context(current_locale());
    provide_context(Viewer(Resource::new(|| (), |_| viewer())));
    Live::provide();
    components::ViewerZone::provide();
    let text = use_text();

    view! {
        <Title formatter=page_title />
        <Router>
            <a class="skip-link" href="#main">{text.skip_to_content}</a>
            <FocusHeadingOnNavigate />
            <Header />
            <main id="main" class="main">
                <Routes fallback=pages::NotFound>
                    <Route path=path!("/login") view=pages::LoginPage ssr=SsrMode::Async />
                    <Route path=path!("/") view=pages::DashboardPage ssr=SsrMode::Async />
                    <Route path=path!("/bulk/new") view=pages::BulkNewPage ssr=SsrMode::Async />
                    <Route path=path!("/jobs/:id") view=pages::JobPage ssr=SsrMode::Async />
                    <Route path=path!("/settings") view=pages::SettingsPage ssr=SsrMode::Async />
                    <Route path=path!("/senders") view=pages::SendersPage ssr=SsrMode::Async />
                    <Route path=path!("/hooks") view=pages::HooksPage ssr=SsrMode::Async />
                    <Route path=path!("/audit") view=pages::AuditPage ssr=SsrMode::Async />
                    <Route path=path!("/inbox") view=pages::InboxPage ssr=SsrMode::Async />
                    <Route path=path!("/opt-outs") view=pages::OptOutsPage ssr=SsrMode::Async />
                    <Route path=path!("/recipients") view=pages::RecipientPage ssr=SsrMode::Async />
                    <Route path=path!("/campaigns") view=pages::CampaignsPage ssr=SsrMode::Async />
                    <Route path=path!("/campaigns/new") view=pages::CampaignNewPage ssr=SsrMode::Async />
                    <Route path=path!("/campaigns/:id") view=pages::CampaignPage ssr=SsrMode::Async />
                    <Route path=path!("/campaigns/:id/results") view=pages::ResultsPage ssr=SsrMode::Async />
                </Routes>
            </main>
        </Router>
    }
}

/// After a navigation inside the app (not the first load, not a change of query alone), focus
/// moves to the new page's heading: screen readers announce where the reader is, and the
/// keyboard goes on from there instead of from the link that was followed.
#[component]
fn FocusHeadingOnNavigate() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    Effect::new(move |previous: Option<String>| {
        let path = location.pathname.get();
        if previous.is_some_and(|previous| previous != path) {
            #[cfg(feature = "hydrate")]
            focus_heading(20);
        }
        path
    });
}

/// Focuses the page's heading for the next `frames` frames, while the new page renders: the
/// router may patch the old page's heading in place or replace it, so whatever heading is there
/// gets focus, unless the reader already went to a control.
#[cfg(feature = "hydrate")]
fn focus_heading(frames: u32) {
    use wasm_bindgen::JsCast;
    request_animation_frame(move || {
        let active = document().active_element();
        let in_a_control = active.as_ref().is_some_and(|a| {
            matches!(
                a.tag_name().as_str(),
                "INPUT" | "TEXTAREA" | "SELECT" | "BUTTON"
            )
        });
        let heading = document()
            .query_selector("main h1")
            .ok()
            .flatten()
            .and_then(|h| h.dyn_into::<web_sys::HtmlElement>().ok());
        if let Some(heading) = heading.filter(|_| !in_a_control)
            && active.as_ref() != Some(heading.as_ref())
        {
            // Focusable from script only: it does not join the tab order.
            let _ = heading.set_attribute("tabindex", "-1");
            let _ = heading.focus();
        }
        if frames > 0 {
            focus_heading(frames - 1);
        }
    });
}

/// Brand, navigation, live indicator and the user's menu.
#[component]
fn Header() -> impl IntoView {
    let text = use_text();
    let viewer = use_viewer();
    let logout = ServerAction::<Logout>::new();
    // Phones: the links and the user's menu fold behind one button; following a link folds them.
    let open = RwSignal::new(false);
    // A full load: the live connection and every cached page go with the session.
    Effect::new(move |_| {
        if let Some(Ok(())) = logout.value().get() {
            let _ = window().location().set_href("/login");
        }
    });
    view! {
        <header class="topbar">
            <A href="/" attr:class="brand">
                <span class="brand-mark" aria-hidden="true"></span>
                {text.app_name}
            </A>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    viewer.await.ok().flatten().map(|v| {
                        let sandbox = v.sandbox;
                        let (operator, admin) = (v.can_operate(), v.is_admin());
                        view! {
                            <ConnectionBadge />
                            <button
                                type="button"
                                class="button button-quiet menu-button"
                                aria-expanded=move || open.get().to_string()
                                aria-controls="topbar-menu"
                                data-testid="menu-button"
                                on:click=move |_| open.update(|o| *o = !*o)
                            >
                                <span class="menu-icon" aria-hidden="true"></span>
                                {text.cockpit.menu}
                            </button>
                            <div id="topbar-menu" class="topbar-menu" class:open=move || open.get() on:click=move |_| open.set(false)>
                            <nav class="nav" aria-label=text.cockpit.nav_label>
                                <A href="/" exact=true>{text.nav_jobs}</A>
                                <A href="/campaigns" exact=true>{text.campaign.nav_campaigns}</A>
                                <A href="/inbox">{text.inbox.nav_inbox}</A>
                                <Show when=move || operator>
                                    <A href="/bulk/new">{text.nav_new_bulk}</A>
                                    <A href="/campaigns/new">{text.campaign.nav_new_campaign}</A>
                                </Show>
                                <Show when=move || admin>
                                    <A href="/senders">{text.senders.nav_senders}</A>
                                    <A href="/settings">{text.nav_settings}</A>
                                </Show>
                            </nav>
                            <div class="topbar-end">
                                <StartLive />
                                <span class="user" title=format!("{} · {}", v.tenant, (text.role)(&v.role))>
                                    {v.username.clone()}
                                    <span class="user-role">{(text.role)(&v.role)}</span>
                                </span>
                                <ActionForm action=logout attr:class="inline-form">
                                    <CsrfField />
                                    <button type="submit" class="button button-quiet">{text.log_out}</button>
                                </ActionForm>
                            </div>
                            </div>
                            <Show when=move || sandbox>
                                <p class="sandbox-banner" role="note">{text.sandbox_banner}</p>
                            </Show>
                        }
                    })
                })}
            </Transition>
        </header>
    }
}
