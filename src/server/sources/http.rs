//! The `http` source: a site's search pages, read politely with CSS selectors.
//!
//! robots.txt is read once per job and obeyed for every page (as Google reads it: a 4xx means
//! no rules, a 5xx or no answer means stay out), requests to the site are spaced by the larger of
//! `delay_ms` and its `Crawl-delay`, and a page that cannot be read ends its keyword, not the job.

use std::collections::HashSet;
use std::time::Duration;

use async_trait::async_trait;
use reqwest::{StatusCode, Url};
use scraper::error::SelectorErrorKind;
use scraper::{ElementRef, Html, Selector};
use texting_robots::Robot;

use super::{
    Answer, Batch, FailedPage, FoundResult, NoAnswer, Pacer, Source, SourceContext, SourceError,
    human_duration, human_size,
};
use crate::protocol::HttpSourceSpec;

/// A search page larger than this is not read (real ones are a few hundred KB at most).
const MAX_PAGE_BYTES: usize = 5 * 1024 * 1024;
/// Google reads the first 500 KiB of a robots.txt and so do we.
const MAX_ROBOTS_BYTES: usize = 500 * 1024;
const MAX_DELAY_MS: u64 = 60_000;
const MAX_PAGES: u32 = 1000;
/// A `Crawl-delay` beyond this is read as this: the job stays slow, but it ends.
const LONGEST_CRAWL_DELAY: Duration = Duration::from_secs(300);
const PLACEHOLDER: &str = "{keyword}";

/// Checks an http source's settings; the error names the field to fix.
pub fn validate(spec: &HttpSourceSpec) -> Result<(), String> {
    search_url(&spec.search_url, "jobpulse")?;
    Selectors::parse(spec)?;
    if spec.delay_ms > MAX_DELAY_MS {
        return Err(format!(
            "delay_ms is {}, but at most {MAX_DELAY_MS} (one minute) is allowed",
            spec.delay_ms
        ));
    }
    if !(1..=MAX_PAGES).contains(&spec.max_pages) {
        return Err(format!(
            "max_pages is {}, but it must be between 1 and {MAX_PAGES}",
            spec.max_pages
        ));
    }
    Ok(())
}

/// The search URL for `keyword`: the template with the keyword percent-encoded in its place
/// (`+` for spaces in a query, `%20` in a path, where `+` would be a literal plus).
fn search_url(template: &str, keyword: &str) -> Result<Url, String> {
    let Some(at) = template.find(PLACEHOLDER) else {
        return Err(format!(
            "search_url “{template}” has no {PLACEHOLDER}: put it where the search term goes, \
             as in https://example.com/search?q={PLACEHOLDER}"
        ));
    };
    let encoded: String = form_urlencoded::byte_serialize(keyword.as_bytes()).collect();
    let encoded = if template[..at].contains('?') {
        encoded
    } else {
        encoded.replace('+', "%20")
    };
    let url = Url::parse(&template.replace(PLACEHOLDER, &encoded))
        .map_err(|e| format!("search_url “{template}” is not a valid URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "search_url “{template}” must start with http:// or https://"
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("search_url “{template}” has no host"));
    }
    Ok(url)
}

/// The spec's selectors, parsed once.
#[derive(Debug)]
struct Selectors {
    item: Selector,
    link: Selector,
    title: Option<Selector>,
    author: Option<Selector>,
    text: Option<Selector>,
    next: Option<Selector>,
}

impl Selectors {
    fn parse(spec: &HttpSourceSpec) -> Result<Selectors, String> {
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
}

fn selector(field: &str, css: &str) -> Result<Selector, String> {
    Selector::parse(css).map_err(|error| {
        format!(
            "{field} “{css}” is not a valid CSS selector: {}",
            selector_reason(error)
        )
    })
}

fn selector_reason(error: SelectorErrorKind) -> String {
    match error {
        SelectorErrorKind::EndOfLine => {
            "it ends too early (is a bracket or a parenthesis left open?)".into()
        }
        SelectorErrorKind::UnexpectedToken => "it has a character where none fits".into(),
        // The crate's own text for these asks to report a bug; the kind's name says more.
        SelectorErrorKind::UnexpectedSelectorParseError(kind) => {
            match format!("{kind:?}").as_str() {
                "EmptySelector" => "it is empty".into(),
                "DanglingCombinator" => "it ends with a combinator (>, + or ~)".into(),
                "UnsupportedPseudoClassOrElement" => "it uses a pseudo-class or pseudo-element \
                     that is unknown or cannot match a fetched page (such as :hover)"
                    .into(),
                other => other.to_owned(),
            }
        }
        other => other.to_string(),
    }
}

/// What one page held.
#[derive(Debug, Default)]
struct ParsedPage {
    results: Vec<FoundResult>,
    /// Items the item selector matched that had no usable link.
    skipped: usize,
    next: Option<Url>,
}

/// Reads one page. Synchronous on purpose: `Html` is not `Send`, so it must never live across
/// an `.await` of the source.
fn parse_page(body: &str, page: &Url, selectors: &Selectors, keyword: &str) -> ParsedPage {
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

/// The name robots.txt groups are matched against: the product token of the user agent
/// (`jobpulse` for `jobpulse/0.3.0 (+https://…)`).
fn robots_agent(user_agent: &str) -> &str {
    user_agent
        .split(|c: char| c == '/' || c.is_whitespace())
        .find(|part| !part.is_empty())
        .unwrap_or("*")
}

/// `host` or `host:port`, as people name a site.
fn site(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

/// Path and query, as robots.txt rules see them.
fn path_of(url: &Url) -> String {
    match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_owned(),
    }
}

fn results_count(count: usize) -> String {
    match count {
        1 => "1 result".into(),
        n => format!("{n} results"),
    }
}

/// Where the reading is: which keyword, how many of its pages were taken, and what comes next.
#[derive(Debug, Default)]
struct Cursor {
    keyword: usize,
    /// Pages of this keyword taken so far (read or failed).
    pages: u32,
    next: Option<Url>,
    /// This keyword's pages, so a next link back to one of them ends the loop.
    visited: HashSet<String>,
}

/// A page to read.
struct Target {
    keyword: usize,
    page: u32,
    url: Result<Url, String>,
}

/// A page read (or not), waiting to be parsed.
struct Fetched {
    keyword: usize,
    page: u32,
    url: Url,
    answer: Result<Answer, NoAnswer>,
}

impl Cursor {
    fn advance(&mut self, keywords: &[String], template: &str) -> Option<Target> {
        loop {
            let keyword = keywords.get(self.keyword)?;
            if self.pages == 0 {
                self.pages = 1;
                return Some(Target {
                    keyword: self.keyword,
                    page: 1,
                    url: search_url(template, keyword),
                });
            }
            if let Some(url) = self.next.take() {
                self.pages += 1;
                return Some(Target {
                    keyword: self.keyword,
                    page: self.pages,
                    url: Ok(url),
                });
            }
            *self = Cursor {
                keyword: self.keyword + 1,
                ..Cursor::default()
            };
        }
    }
}

/// Reads a website's search pages with CSS selectors.
pub struct HttpSource {
    spec: HttpSourceSpec,
    keywords: Vec<String>,
    context: SourceContext,
    selectors: Result<Selectors, String>,
    /// `None` when the site has no robots.txt (or a 4xx one): no rules.
    robots: Option<Robot>,
    /// The host robots.txt was read for; pages elsewhere are not fetched.
    origin: Option<(String, String, Option<u16>)>,
    pacer: Pacer,
    cursor: Cursor,
    /// The first page, read by `start`, parsed by `analyze`.
    fetched: Option<Fetched>,
    /// The first page's batch, made by `analyze`, handed out by the first `next_batch`.
    ready: Option<Batch>,
}

impl HttpSource {
    /// A source for `keywords` on the site `spec` describes.
    pub fn new(spec: HttpSourceSpec, keywords: Vec<String>, context: SourceContext) -> Self {
        let selectors = Selectors::parse(&spec);
        let pacer = Pacer::new(Duration::from_millis(spec.delay_ms));
        HttpSource {
            spec,
            keywords,
            context,
            selectors,
            robots: None,
            origin: None,
            pacer,
            cursor: Cursor::default(),
            fetched: None,
            ready: None,
        }
    }

    fn keyword(&self, index: usize) -> &str {
        &self.keywords[index]
    }

    fn allowed(&self, url: &Url) -> bool {
        self.robots
            .as_ref()
            .is_none_or(|robot| robot.allowed(url.as_str()))
    }

    fn same_origin(&self, url: &Url) -> bool {
        self.origin.as_ref().is_none_or(|(scheme, host, port)| {
            url.scheme() == scheme
                && url.host_str() == Some(host.as_str())
                && url.port_or_known_default() == *port
        })
    }

    fn agent(&self) -> &str {
        robots_agent(&self.context.user_agent)
    }

    async fn fetch(&mut self, url: &Url, max_body: usize) -> Result<Answer, NoAnswer> {
        let client = self.context.client.clone();
        let request = url.clone();
        self.context
            .send(
                || client.get(request.clone()),
                Some(&mut self.pacer),
                max_body,
            )
            .await
    }

    /// Reads robots.txt for the search's site and remembers its rules and crawl delay.
    async fn read_robots(&mut self, first: &Url) -> Result<String, SourceError> {
        let host = site(first);
        let robots_url = texting_robots::get_robots_url(first.as_str())
            .ok()
            .and_then(|url| Url::parse(&url).ok())
            .ok_or_else(|| SourceError(format!("cannot tell where robots.txt of {host} is")))?;
        let closed = |why: String| {
            SourceError(format!(
                "robots.txt of {host} could not be read ({why}); like Google, jobpulse treats \
                 a site whose robots.txt fails this way as closed to crawlers. Try again once \
                 the site answers"
            ))
        };
        let answer = self
            .fetch(&robots_url, MAX_ROBOTS_BYTES)
            .await
            .map_err(|e| closed(e.0))?;
        let status = answer.status;
        if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
            return Err(closed(answer.describe()));
        }
        if !status.is_success() {
            self.robots = None;
            return Ok(format!(
                "{host} has no robots.txt ({}): no crawl rules",
                answer.describe()
            ));
        }
        let agent = self.agent().to_owned();
        let robot = Robot::new(&agent, &answer.body).map_err(|e| {
            SourceError(format!(
                "robots.txt of {host} could not be understood ({e}), so jobpulse stays out"
            ))
        })?;
        if !robot.allowed(first.as_str()) {
            return Err(SourceError(format!(
                "robots.txt of {host} does not allow {} for user agent {agent}",
                path_of(first)
            )));
        }
        let crawl_delay = robot
            .delay
            .and_then(|seconds| Duration::try_from_secs_f32(seconds).ok())
            .map(|delay| delay.min(LONGEST_CRAWL_DELAY));
        self.robots = Some(robot);
        let mut note = format!("robots.txt of {host} allows the search for {agent}");
        if let Some(delay) = crawl_delay {
            if delay > self.pacer.interval() {
                self.pacer.set_interval(delay);
            }
            note.push_str(&format!(
                "; its Crawl-delay keeps {} between requests",
                human_duration(self.pacer.interval())
            ));
        }
        Ok(note)
    }

    /// Reads the next page of the cursor; `None` when every keyword is done.
    async fn read_next(&mut self) -> Option<Result<Fetched, Batch>> {
        let target = self.cursor.advance(&self.keywords, &self.spec.search_url)?;
        let keyword = self.keyword(target.keyword).to_owned();
        let url = match target.url {
            Ok(url) => url,
            Err(error) => {
                self.cursor.next = None;
                return Some(Err(Batch {
                    note: Some(format!("Skipped “{keyword}”: {error}")),
                    ..Batch::default()
                }));
            }
        };
        if !self.allowed(&url) || !self.same_origin(&url) {
            self.cursor.next = None;
            let note = if self.same_origin(&url) {
                format!(
                    "Skipped “{keyword}”: robots.txt of {} does not allow {} for user agent {}",
                    site(&url),
                    path_of(&url),
                    self.agent()
                )
            } else {
                format!(
                    "Skipped “{keyword}”: its search is on another site ({})",
                    site(&url)
                )
            };
            return Some(Err(Batch {
                note: Some(note),
                ..Batch::default()
            }));
        }
        self.cursor.visited.insert(url.to_string());
        let answer = self.fetch(&url, MAX_PAGE_BYTES).await;
        if let Ok(answer) = &answer {
            self.cursor.visited.insert(answer.url.to_string());
        }
        Some(Ok(Fetched {
            keyword: target.keyword,
            page: target.page,
            url,
            answer,
        }))
    }

    /// Turns a read page into its batch, and decides whether its keyword has a next page.
    fn process(&mut self, fetched: Fetched) -> Batch {
        let keyword = self.keyword(fetched.keyword).to_owned();
        let label = format!("Page {} for “{keyword}”", fetched.page);
        let error = match fetched.answer {
            Ok(answer) if answer.status.is_success() => {
                return self.process_page(&answer, &keyword, &label, fetched.page);
            }
            Ok(answer) => answer.describe(),
            Err(NoAnswer(error)) => error,
        };
        self.cursor.next = None;
        let more = if fetched.keyword + 1 < self.keywords.len() {
            "going on with the next keyword"
        } else {
            "no keywords left"
        };
        Batch {
            results: Vec::new(),
            failed: vec![FailedPage {
                url: fetched.url.to_string(),
                error: error.clone(),
            }],
            note: Some(format!("{label} could not be read: {error}; {more}")),
        }
    }

    fn process_page(&mut self, answer: &Answer, keyword: &str, label: &str, page: u32) -> Batch {
        let parsed = match &self.selectors {
            Ok(selectors) => parse_page(&answer.text(), &answer.url, selectors, keyword),
            Err(_) => ParsedPage::default(),
        };
        let mut note = format!("{label}: {}", results_count(parsed.results.len()));
        if parsed.skipped > 0 {
            note.push_str(&format!(
                " ({} without a link skipped)",
                match parsed.skipped {
                    1 => "1 item".to_owned(),
                    n => format!("{n} items"),
                }
            ));
        }
        self.cursor.next = None;
        match parsed.next {
            None => {}
            Some(next) if self.cursor.visited.contains(next.as_str()) => note.push_str(&format!(
                "; its next link leads back to a page already read, so “{keyword}” ends here"
            )),
            Some(_) if page >= self.spec.max_pages => note.push_str(&format!(
                "; “{keyword}” stops at max_pages ({})",
                self.spec.max_pages
            )),
            Some(next) if !self.same_origin(&next) => note.push_str(&format!(
                "; the next page is on another site ({}), so “{keyword}” ends here",
                site(&next)
            )),
            Some(next) if !self.allowed(&next) => note.push_str(&format!(
                "; robots.txt does not allow the next page ({}), so “{keyword}” ends here",
                path_of(&next)
            )),
            Some(next) => {
                note.push_str(", a next page");
                self.cursor.next = Some(next);
            }
        }
        Batch {
            results: parsed.results,
            failed: Vec::new(),
            note: Some(note),
        }
    }
}

#[async_trait]
impl Source for HttpSource {
    async fn prepare(&mut self) -> Result<String, SourceError> {
        if let Err(error) = &self.selectors {
            return Err(SourceError(error.clone()));
        }
        let Some(keyword) = self.keywords.first() else {
            return Err(SourceError(
                "the campaign has no keywords to search for".into(),
            ));
        };
        let first = search_url(&self.spec.search_url, keyword).map_err(SourceError)?;
        self.origin = Some((
            first.scheme().to_owned(),
            first.host_str().unwrap_or_default().to_owned(),
            first.port_or_known_default(),
        ));
        self.read_robots(&first).await
    }

    async fn start(&mut self) -> Result<String, SourceError> {
        match self.read_next().await {
            None => Ok("Nothing to read".into()),
            Some(Err(batch)) => {
                let note = batch.note.clone().unwrap_or_default();
                self.ready = Some(batch);
                Ok(note)
            }
            Some(Ok(fetched)) => {
                let keyword = self.keyword(fetched.keyword);
                let note = match &fetched.answer {
                    Ok(answer) if answer.status.is_success() => format!(
                        "Read the first page for “{keyword}” ({}, {})",
                        answer.describe(),
                        human_size(answer.body.len())
                    ),
                    Ok(answer) => format!(
                        "Could not read the first page for “{keyword}”: {}",
                        answer.describe()
                    ),
                    Err(error) => {
                        format!("Could not read the first page for “{keyword}”: {error}")
                    }
                };
                self.fetched = Some(fetched);
                Ok(note)
            }
        }
    }

    async fn analyze(&mut self) -> Result<String, SourceError> {
        let Some(fetched) = self.fetched.take() else {
            return Ok("Nothing to analyze".into());
        };
        let batch = self.process(fetched);
        let note = batch.note.clone().unwrap_or_default();
        self.ready = Some(batch);
        Ok(note)
    }

    async fn next_batch(&mut self) -> Result<Option<Batch>, SourceError> {
        if let Some(batch) = self.ready.take() {
            return Ok(Some(batch));
        }
        if let Some(fetched) = self.fetched.take() {
            return Ok(Some(self.process(fetched)));
        }
        Ok(match self.read_next().await {
            None => None,
            Some(Err(batch)) => Some(batch),
            Some(Ok(fetched)) => Some(self.process(fetched)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> HttpSourceSpec {
        HttpSourceSpec {
            search_url: "https://example.com/search?q={keyword}".into(),
            item_selector: "div.result".into(),
            link_selector: "a".into(),
            title_selector: None,
            author_selector: Some(".by".into()),
            text_selector: Some("p".into()),
            next_selector: Some("a[rel=next]".into()),
            delay_ms: 500,
            max_pages: 20,
        }
    }

    #[test]
    fn a_good_spec_is_valid() {
        assert_eq!(validate(&spec()), Ok(()));
    }

    #[test]
    fn validation_names_the_field_and_the_selector() {
        let error = validate(&HttpSourceSpec {
            item_selector: "div[".into(),
            ..spec()
        })
        .unwrap_err();
        assert_eq!(
            error,
            "item_selector “div[” is not a valid CSS selector: it ends too early (is a bracket \
             or a parenthesis left open?)"
        );
        let error = validate(&HttpSourceSpec {
            next_selector: Some("a[rel=".into()),
            ..spec()
        })
        .unwrap_err();
        assert!(error.starts_with("next_selector “a[rel=”"), "{error}");
        let error = validate(&HttpSourceSpec {
            link_selector: "".into(),
            ..spec()
        })
        .unwrap_err();
        assert_eq!(
            error,
            "link_selector “” is not a valid CSS selector: it is empty"
        );
        let error = validate(&HttpSourceSpec {
            title_selector: Some("a:hover".into()),
            ..spec()
        })
        .unwrap_err();
        assert!(error.contains("such as :hover"), "{error}");
    }

    #[test]
    fn validation_checks_the_search_url() {
        let with = |url: &str| {
            validate(&HttpSourceSpec {
                search_url: url.into(),
                ..spec()
            })
        };
        assert!(
            with("https://example.com/search?q=rust")
                .unwrap_err()
                .contains("has no {keyword}")
        );
        assert!(
            with("ftp://example.com/{keyword}")
                .unwrap_err()
                .contains("http:// or https://")
        );
        assert!(
            with("not a url {keyword}")
                .unwrap_err()
                .contains("is not a valid URL")
        );
        assert_eq!(with("http://127.0.0.1:8080/s/{keyword}/all"), Ok(()));
    }

    #[test]
    fn validation_bounds_delay_and_pages() {
        let error = validate(&HttpSourceSpec {
            delay_ms: 60_001,
            ..spec()
        })
        .unwrap_err();
        assert!(error.starts_with("delay_ms is 60001"), "{error}");
        for max_pages in [0, 1001] {
            let error = validate(&HttpSourceSpec {
                max_pages,
                ..spec()
            })
            .unwrap_err();
            assert!(error.starts_with("max_pages is"), "{error}");
        }
    }

    #[test]
    fn keywords_are_encoded_for_where_they_go() {
        let url = search_url(
            "https://example.com/search?q={keyword}&page=1",
            "rust & c++",
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "https://example.com/search?q=rust+%26+c%2B%2B&page=1"
        );
        assert_eq!(url.query_pairs().next().unwrap().1, "rust & c++");
        let url = search_url("https://example.com/tag/{keyword}", "rust lang/ü").unwrap();
        assert_eq!(url.as_str(), "https://example.com/tag/rust%20lang%2F%C3%BC");
    }

    #[test]
    fn robots_agent_is_the_product_token() {
        assert_eq!(
            robots_agent("jobpulse/0.3.0 (+https://example.com)"),
            "jobpulse"
        );
        assert_eq!(robots_agent("FerrisBot"), "FerrisBot");
        assert_eq!(robots_agent(""), "*");
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
        <div class="result"><a href="https://other.example/x#frag">Elsewhere</a></div>
        <a rel="next" href="?q=rust&amp;page=2#top">Next</a>
    </body></html>"#;

    #[test]
    fn pages_parse_into_results_and_a_next_link() {
        let selectors = Selectors::parse(&spec()).unwrap();
        let page = Url::parse("https://example.com/search?q=rust").unwrap();
        let parsed = parse_page(PAGE, &page, &selectors, "rust");
        assert_eq!(parsed.skipped, 2);
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
