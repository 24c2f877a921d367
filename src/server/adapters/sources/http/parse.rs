//! One search page read with the spec's CSS selectors: its results and its next link.

use reqwest::Url;
use scraper::error::SelectorErrorKind;
use scraper::{ElementRef, Html, Selector};

use crate::protocol::HttpSourceSpec;
use crate::protocol::problem::{SelectorIssue, SourceRule};
use crate::server::adapters::sources::FoundResult;

/// The spec's selectors, parsed once.
#[derive(Debug)]
pub(super) struct Selectors {
    item: Selector,
    link: Selector,
    title: Option<Selector>,
    author: Option<Selector>,
    text: Option<Selector>,
    next: Option<Selector>,
}

impl Selectors {
    /// Parses every selector of the spec; the error names the field and what is wrong with it.
    pub(super) fn parse(spec: &HttpSourceSpec) -> Result<Selectors, SourceRule> {
        let optional = |field: &str, css: &Option<String>| {
            css.as_deref().map(|css| selector(field, css)).transpose()
        };
        Ok(Selectors {
            item: selector("item_selector", &spec.item_selector)?,
            link: selector("link_selector", &spec.link_selector)?,
            title: optional("title_selector", &spec.title_selector)?,
            author: optional("author_selector", &spec.author_selector)?,
            text: optional("text_selector", &spec.text_selector)?,
            next: optional("next_selector", &spec.next_selector)?,
        })
    }

    /// Every selector of the spec that does not parse, in the form's order.
    pub(super) fn problems(spec: &HttpSourceSpec) -> Vec<SourceRule> {
        [
            ("item_selector", Some(&spec.item_selector)),
            ("link_selector", Some(&spec.link_selector)),
            ("title_selector", spec.title_selector.as_ref()),
            ("author_selector", spec.author_selector.as_ref()),
            ("text_selector", spec.text_selector.as_ref()),
            ("next_selector", spec.next_selector.as_ref()),
        ]
        .into_iter()
        .filter_map(|(field, css)| selector(field, css?).err())
        .collect()
    }
}

fn selector(field: &str, css: &str) -> Result<Selector, SourceRule> {
    Selector::parse(css).map_err(|error| SourceRule::BadSelector {
        field: field.to_owned(),
        css: css.to_owned(),
        issue: selector_issue(error),
    })
}

fn selector_issue(error: SelectorErrorKind) -> SelectorIssue {
    match error {
        SelectorErrorKind::EndOfLine => SelectorIssue::EndsEarly,
        SelectorErrorKind::UnexpectedToken => SelectorIssue::UnexpectedToken,
        // The crate's own text for these asks to report a bug; the kind's name says more.
        SelectorErrorKind::UnexpectedSelectorParseError(kind) => {
            match format!("{kind:?}").as_str() {
                "EmptySelector" => SelectorIssue::Empty,
                "DanglingCombinator" => SelectorIssue::DanglingCombinator,
                "UnsupportedPseudoClassOrElement" => SelectorIssue::UnsupportedPseudo,
                other => SelectorIssue::Other {
                    text: other.to_owned(),
                },
            }
        }
        other => SelectorIssue::Other {
            text: other.to_string(),
        },
    }
}

/// What one page held.
#[derive(Debug, Default)]
pub(super) struct ParsedPage {
    pub(super) results: Vec<FoundResult>,
    /// Items the item selector matched that had no usable link.
    pub(super) skipped: usize,
    pub(super) next: Option<Url>,
}

/// Reads one page. Synchronous on purpose: `Html` is not `Send`, so it must never live across
/// an `.await` of the source.
pub(super) fn parse_page(
    body: &str,
    page: &Url,
    selectors: &Selectors,
    keyword: &str,
) -> ParsedPage {
    let document = Html::parse_document(body);
    let mut parsed = ParsedPage::default();
    for item in document.select(&selectors.item) {
        // The item may itself be the link (`a.result`), or hold it.
        let link = if selectors.link.matches(&item) {
            Some(item)
        } else {
            item.select(&selectors.link).next()
        };
        let Some((link, url)) = link.and_then(|link| Some((link, resolve(page, link)?))) else {
            parsed.skipped += 1;
            continue;
        };
        let within = |selector: &Option<Selector>| {
            selector
                .as_ref()
                .and_then(|selector| item.select(selector).next())
                .and_then(text_of)
        };
        parsed.results.push(FoundResult {
            url: url.to_string(),
            title: within(&selectors.title).or_else(|| text_of(link)),
            author: within(&selectors.author),
            text: within(&selectors.text),
            keyword: Some(keyword.to_owned()),
        });
    }
    parsed.next = selectors
        .next
        .as_ref()
        .and_then(|next| document.select(next).next())
        .and_then(|link| resolve(page, link))
        .map(|mut url| {
            url.set_fragment(None);
            url
        });
    parsed
}

/// An element's `href` as an absolute http(s) URL (`javascript:` and `mailto:` links are not results).
fn resolve(page: &Url, link: ElementRef<'_>) -> Option<Url> {
    let href = link.value().attr("href")?.trim();
    if href.is_empty() {
        return None;
    }
    let url = page.join(href).ok()?;
    matches!(url.scheme(), "http" | "https").then_some(url)
}

/// The element's text as a person reads it: whitespace collapsed, `None` when empty.
fn text_of(element: ElementRef<'_>) -> Option<String> {
    let text: String = element.text().collect();
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::adapters::sources::http::tests::spec;

    #[test]
    fn validation_names_the_field_and_the_selector() {
        let error = Selectors::parse(&HttpSourceSpec {
            item_selector: "div[".into(),
            ..spec()
        })
        .unwrap_err()
        .english();
        assert_eq!(
            error,
            "item_selector “div[” is not a valid CSS selector: it ends too early (is a bracket \
             or a parenthesis left open?)"
        );
        let error = Selectors::parse(&HttpSourceSpec {
            next_selector: Some("a[rel=".into()),
            ..spec()
        })
        .unwrap_err()
        .english();
        assert!(error.starts_with("next_selector “a[rel=”"), "{error}");
        let error = Selectors::parse(&HttpSourceSpec {
            link_selector: "".into(),
            ..spec()
        })
        .unwrap_err()
        .english();
        assert_eq!(
            error,
            "link_selector “” is not a valid CSS selector: it is empty"
        );
        let error = Selectors::parse(&HttpSourceSpec {
            title_selector: Some("a:hover".into()),
            ..spec()
        })
        .unwrap_err()
        .english();
        assert!(error.contains("such as :hover"), "{error}");
    }

    const PAGE: &str = r#"<html><body>
        <div class="result">
            <a href="/posts/1">  First
               post </a>
            <span class="by">@ana</span><p>Hello <b>world</b>,
              again.</p>
        </div>
        <div class="result"><span>an ad without a link</span></div>
        <div class="result"><a href="javascript:void(0)">not a page</a></div>
        <div class="result"><a href="data:text/html,<script>alert(1)</script>">nor this</a></div>
        <div class="result"><a href="https://other.example/x#frag">Elsewhere</a></div>
        <a rel="next" href="?q=rust&amp;page=2#top">Next</a>
    </body></html>"#;

    #[test]
    fn pages_parse_into_results_and_a_next_link() {
        let selectors = Selectors::parse(&spec()).unwrap();
        let page = Url::parse("https://example.com/search?q=rust").unwrap();
        let parsed = parse_page(PAGE, &page, &selectors, "rust");
        assert_eq!(parsed.skipped, 3);
        assert_eq!(parsed.results.len(), 2);
        assert_eq!(
            parsed.results[0],
            FoundResult {
                url: "https://example.com/posts/1".into(),
                title: Some("First post".into()),
                author: Some("@ana".into()),
                text: Some("Hello world, again.".into()),
                keyword: Some("rust".into()),
            }
        );
        assert_eq!(parsed.results[1].url, "https://other.example/x#frag");
        assert_eq!(parsed.results[1].author, None);
        assert_eq!(
            parsed.next.unwrap().as_str(),
            "https://example.com/search?q=rust&page=2"
        );
    }

    #[test]
    fn the_title_selector_wins_over_the_link_text() {
        let selectors = Selectors::parse(&HttpSourceSpec {
            title_selector: Some("p".into()),
            item_selector: "a".into(),
            next_selector: None,
            ..spec()
        })
        .unwrap();
        let page = Url::parse("https://example.com/").unwrap();
        let parsed = parse_page(
            r#"<a href="a.html"><p> The title </p> more</a>"#,
            &page,
            &selectors,
            "k",
        );
        // The item is the link itself here.
        assert_eq!(parsed.results[0].url, "https://example.com/a.html");
        assert_eq!(parsed.results[0].title.as_deref(), Some("The title"));
        assert_eq!(parsed.next, None);
    }
}
