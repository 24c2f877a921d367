//! The `http` source: a site's search pages, read politely with CSS selectors.
//!
//! robots.txt is read once per job and obeyed for every page (as Google reads it: a 4xx means
//! no rules, a 5xx or no answer means stay out), requests to the site are spaced by the larger of
//! `delay_ms` and its `Crawl-delay`, and a page that cannot be read ends its keyword, not the job.

mod cursor;
mod parse;
mod robots;

use std::time::Duration;

use async_trait::async_trait;
use reqwest::Url;

use self::cursor::{Cursor, search_url};
use self::parse::{ParsedPage, Selectors, parse_page};
use self::robots::{MAX_ROBOTS_BYTES, Robots, path_of, robots_agent};
use super::{
    Answer, Batch, FailedPage, NoAnswer, Pacer, Source, SourceContext, SourceError, guard,
    human_duration, human_size,
};
use crate::protocol::HttpSourceSpec;
use crate::server::settings::ScrapeSettings;

/// A search page larger than this is not read (real ones are a few hundred KB at most).
const MAX_PAGE_BYTES: usize = 5 * 1024 * 1024;
const MAX_DELAY_MS: u64 = 60_000;
const MAX_PAGES: u32 = 1000;

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

/// `validate`, and with `settings.allow_private_addresses` off, a search URL on a private
/// address (an IP literal or `localhost`) is refused too.
pub fn validate_with(spec: &HttpSourceSpec, settings: &ScrapeSettings) -> Result<(), String> {
    validate(spec)?;
    if !settings.allow_private_addresses
        && let Some(forbidden) = guard::forbidden_host(&search_url(&spec.search_url, "jobpulse")?)
    {
        return Err(forbidden.sentence(&format!("search_url “{}”", spec.search_url)));
    }
    Ok(())
}

/// `host` or `host:port`, as people name a site.
fn site(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

fn results_count(count: usize) -> String {
    match count {
        1 => "1 result".into(),
        n => format!("{n} results"),
    }
}

/// A page read (or not), waiting to be parsed.
struct Fetched {
    keyword: usize,
    page: u32,
    url: Url,
    answer: Result<Answer, NoAnswer>,
}

/// Reads a website's search pages with CSS selectors.
pub struct HttpSource {
    spec: HttpSourceSpec,
    keywords: Vec<String>,
    context: SourceContext,
    selectors: Result<Selectors, String>,
    /// Read by `prepare`; no rules until then.
    robots: Robots,
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
            robots: Robots::default(),
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

    /// Reads `url`; the outer error means the source cannot go on (a refused address).
    async fn fetch(
        &mut self,
        url: &Url,
        max_body: usize,
    ) -> Result<Result<Answer, NoAnswer>, SourceError> {
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

    /// Reads robots.txt for the search's site and keeps its rules and crawl delay.
    async fn read_robots(&mut self, first: &Url) -> Result<String, SourceError> {
        let location = robots::location(first)?;
        let answer = self.fetch(&location, MAX_ROBOTS_BYTES).await?;
        let reading = robots::read(first, self.agent(), answer)?;
        self.robots = reading.robots;
        let mut note = reading.note;
        if let Some(delay) = reading.crawl_delay {
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
    async fn read_next(&mut self) -> Result<Option<Result<Fetched, Batch>>, SourceError> {
        let Some(target) = self.cursor.advance(&self.keywords, &self.spec.search_url) else {
            return Ok(None);
        };
        let keyword = self.keyword(target.keyword).to_owned();
        let url = match target.url {
            Ok(url) => url,
            Err(error) => {
                self.cursor.next = None;
                return Ok(Some(Err(Batch {
                    note: Some(format!("Skipped “{keyword}”: {error}")),
                    ..Batch::default()
                })));
            }
        };
        if !self.robots.allowed(&url) || !self.same_origin(&url) {
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
            return Ok(Some(Err(Batch {
                note: Some(note),
                ..Batch::default()
            })));
        }
        self.cursor.visited.insert(url.to_string());
        let answer = self.fetch(&url, MAX_PAGE_BYTES).await?;
        if let Ok(answer) = &answer {
            self.cursor.visited.insert(answer.url.to_string());
        }
        Ok(Some(Ok(Fetched {
            keyword: target.keyword,
            page: target.page,
            url,
            answer,
        })))
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
            Some(next) if !self.robots.allowed(&next) => note.push_str(&format!(
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
        self.context.refuse_literal(&first, "the search URL")?;
        self.origin = Some((
            first.scheme().to_owned(),
            first.host_str().unwrap_or_default().to_owned(),
            first.port_or_known_default(),
        ));
        self.read_robots(&first).await
    }

    async fn start(&mut self) -> Result<String, SourceError> {
        match self.read_next().await? {
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
        Ok(match self.read_next().await? {
            None => None,
            Some(Err(batch)) => Some(batch),
            Some(Ok(fetched)) => Some(self.process(fetched)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn spec() -> HttpSourceSpec {
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
    fn private_search_urls_are_refused_unless_allowed() {
        let strict = ScrapeSettings::default();
        let open = ScrapeSettings {
            allow_private_addresses: true,
            ..ScrapeSettings::default()
        };
        assert_eq!(validate_with(&spec(), &strict), Ok(()));
        for (search_url, address) in [
            (
                "http://10.0.0.5/s?q={keyword}",
                "a private address (10.0.0.5)",
            ),
            (
                "http://169.254.169.254/latest/{keyword}",
                "a link-local address (169.254.169.254)",
            ),
            ("http://[::1]:8080/{keyword}", "a loopback address (::1)"),
            (
                "http://localhost:3000/{keyword}",
                "a loopback address (127.0.0.1)",
            ),
        ] {
            let private = HttpSourceSpec {
                search_url: search_url.into(),
                ..spec()
            };
            assert_eq!(
                validate_with(&private, &strict),
                Err(format!(
                    "search_url “{search_url}” points at {address}, which searches may not read; \
                     an admin can allow it with scrape.allow_private_addresses"
                ))
            );
            assert_eq!(validate_with(&private, &open), Ok(()));
        }
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
}
