use super::LocalTime;
use leptos::prelude::*;

use crate::app::format;
use crate::app::i18n::use_text;
use crate::protocol::ResultView;

/// A result's URL as a link target: web addresses only, so a `javascript:` or `data:` URL a
/// source let through can never run in our pages.
pub fn web_link(url: &str) -> Option<String> {
    let lower = url.trim_start().to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://")).then(|| url.to_owned())
}

/// A campaign's results: link (with its title), author, keyword, when it was found.
#[component]
pub fn ResultsTable(#[prop(into)] results: Signal<Vec<ResultView>>) -> impl IntoView {
    let text = use_text();
    let c = text.campaign;
    view! {
        <Show
            when=move || !results.with(Vec::is_empty)
            fallback=move || view! { <p class="muted">{c.no_results}</p> }
        >
            <div class="table-wrap">
                <table class="data results" data-testid="results-table">
                    <thead>
                        <tr>
                            <th scope="col">{c.col_title}</th>
                            <th scope="col">{c.col_author}</th>
                            <th scope="col">{c.col_keyword}</th>
                            <th scope="col">{c.col_found}</th>
                        </tr>
                    </thead>
                    <tbody>
                        <For each=move || results.get() key=|r| r.url.clone() let:result>
                            <tr data-url=result.url.clone()>
                                <td data-label=c.col_title class="result-title">
                                    // Results come from other sites: no referrer, no opener.
                                    <a href=web_link(&result.url) rel="noopener noreferrer nofollow" target="_blank">
                                        {result.title.clone().unwrap_or_else(|| format::readable_url(&result.url))}
                                    </a>
                                    {result.text.clone().map(|t| view! { <span class="result-text">{t}</span> })}
                                </td>
                                <td data-label=c.col_author>{result.author.clone().unwrap_or_default()}</td>
                                <td data-label=c.col_keyword>{result.keyword.clone().unwrap_or_default()}</td>
                                <td data-label=c.col_found class="muted"><LocalTime at=result.found_at /></td>
                            </tr>
                        </For>
                    </tbody>
                </table>
            </div>
        </Show>
    }
}
