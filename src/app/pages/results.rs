use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::{RESULTS_PAGE, campaign_results};
use crate::app::components::ResultsTable;
use crate::app::format;
use crate::app::i18n::use_text;
use crate::app::pages::{ErrorNotice, Loading, NotFound};

/// A campaign's results, a page at a time, searchable, with exports of what is shown.
#[component]
pub fn ResultsPage() -> impl IntoView {
    let text = use_text();
    let c = text.campaign;
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let q = move || query.read().get("q").filter(|q| !q.trim().is_empty());
    let offset = move || {
        query
            .read()
            .get("offset")
            .and_then(|o| o.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let page = Resource::new(
        move || (id(), q(), offset()),
        |(id, q, offset)| campaign_results(id, q, offset),
    );
    let link = move |offset: u64| {
        let mut href = format!("/campaigns/{}/results?offset={offset}", id());
        if let Some(q) = q() {
            href.push_str("&q=");
            href.push_str(&format::query_value(&q));
        }
        href
    };
    let export = move |format: &str| {
        let mut href = format!("/api/campaigns/{}/results?format={format}", id());
        if let Some(q) = q() {
            href.push_str("&q=");
            href.push_str(&format::query_value(&q));
        }
        href
    };

    view! {
        <Title text=c.results_title />
        <div class="page-head">
            <div>
                <A href=move || format!("/campaigns/{}", id()) attr:class="back">{c.campaign_link}</A>
                <h1>{c.results_title}</h1>
            </div>
        </div>
        <section class="panel">
            // A plain GET form: the search is in the URL, so it can be shared and reloaded.
            <form method="get" class="search-form" role="search">
                <label class="visually-hidden" for="q">{c.search_placeholder}</label>
                <input
                    id="q"
                    name="q"
                    type="search"
                    placeholder=c.search_placeholder
                    value=move || q().unwrap_or_default()
                    prop:value=move || q().unwrap_or_default()
                />
                <button type="submit" class="button">{c.search_button}</button>
                <a class="button button-quiet" href=move || export("csv") download data-testid="export-csv">{c.export_csv}</a>
                <a class="button button-quiet" href=move || export("json") target="_blank">{c.export_json}</a>
            </form>
        </section>
        <Suspense fallback=Loading>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(Some(page)) => {
                        let from = if page.results.is_empty() { 0 } else { page.offset + 1 };
                        let to = page.offset + page.results.len() as u64;
                        let previous = (page.offset > 0).then(|| link(page.offset.saturating_sub(RESULTS_PAGE as u64)));
                        let next = page.next_offset.map(link);
                        view! {
                            <section class="panel">
                                <p class="muted" data-testid="results-range">
                                    {(c.results_range)(from, to, page.total)}
                                </p>
                                <ResultsTable results=page.results />
                                <nav class="pager" aria-label=c.results_title>
                                    {previous.map(|href| view! { <a class="button" href=href rel="prev">{c.previous}</a> })}
                                    {next.map(|href| view! { <a class="button" href=href rel="next">{c.next}</a> })}
                                </nav>
                            </section>
                        }
                        .into_any()
                    }
                    Ok(None) => view! { <NotFound /> }.into_any(),
                    Err(error) => view! { <ErrorNotice error /> }.into_any(),
                }
            })}
        </Suspense>
    }
}
