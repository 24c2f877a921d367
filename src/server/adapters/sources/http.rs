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
    Answer, Batch, FailedPage, NextPage, NoAnswer, Pacer, SkipReason, Source, SourceContext,
    SourceError, SourceFault, SourceNote, Target, guard,
};
use crate::protocol::HttpSourceSpec;
use crate::protocol::problem::SourceRule;
use crate::server::settings::ScrapeSettings;

/// A search page larger than this is not read (real ones are a few hundred KB at most).
const MAX_PAGE_BYTES: usize = 5 * 1024 * 1024;
const MAX_DELAY_MS: u64 = 60_000;
const MAX_PAGES: u32 = 1000;

/// Checks an http source's settings; the error names the field to fix.
pub fn validate(spec: &HttpSourceSpec) -> Result<(), SourceRule> {
    first(problems(spec, true))
}

/// `validate`, and with `settings.allow_private_addresses` off, a search URL on a private
/// address (an IP literal or `localhost`) is refused too.
pub fn validate_with(spec: &HttpSourceSpec, settings: &ScrapeSettings) -> Result<(), SourceRule> {
    first(problems(spec, settings.allow_private_addresses))
}

/// Every rule the settings break, in the form's order (a form shows them all; REST the first).
pub fn problems(spec: &HttpSourceSpec, allow_private_addresses: bool) -> Vec<SourceRule> {
    let mut found = Vec::new();
    match search_url(&spec.search_url, "jobpulse") {
        Err(rule) => found.push(rule),
        Ok(url) => {
            if !allow_private_addresses && let Some(forbidden) = guard::forbidden_host(&url) {
                found.push(forbidden.rule("search_url", &spec.search_url));
            }
        }
    }
    found.extend(Selectors::problems(spec));
    if spec.delay_ms > MAX_DELAY_MS {
        found.push(SourceRule::DelayTooLong {
            got: spec.delay_ms,
            max: MAX_DELAY_MS,
        });
    }
    if !(1..=MAX_PAGES).contains(&spec.max_pages) {
        found.push(SourceRule::MaxPagesOutOfRange {
            got: spec.max_pages,
            max: MAX_PAGES,
        });
    }
    found
}

fn first(problems: Vec<SourceRule>) -> Result<(), SourceRule> {
    problems.into_iter().next().map_or(Ok(()), Err)
}

/// `host` or `host:port`, as people name a site.
fn site(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
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
    selectors: Result<Selectors, SourceRule>,
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
    async fn read_robots(&mut self, first: &Url) -> Result<SourceNote, SourceError> {
        let location = robots::location(first)?;
        let answer = self.fetch(&location, MAX_ROBOTS_BYTES).await?;
        let reading = robots::read(first, self.agent(), answer)?;
        self.robots = reading.robots;
        let mut note = reading.note;
        if let Some(delay) = reading.crawl_delay {
            if delay > self.pacer.interval() {
                self.pacer.set_interval(delay);
            }
            if let SourceNote::RobotsAllow { crawl_delay_ms, .. } = &mut note {
                *crawl_delay_ms = Some(self.pacer.interval().as_millis() as u64);
            }
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
                    note: Some(SourceNote::Skipped {
                        keyword,
                        why: SkipReason::BadUrl {
                            error: error.english(),
                        },
                    }),
                    ..Batch::default()
                })));
            }
        };
        if !self.robots.allowed(&url) || !self.same_origin(&url) {
            self.cursor.next = None;
            let why = if self.same_origin(&url) {
                SkipReason::RobotsDisallow {
                    site: site(&url),
                    path: path_of(&url),
                    agent: self.agent().to_owned(),
                }
            } else {
                SkipReason::OtherSite { site: site(&url) }
            };
            return Ok(Some(Err(Batch {
                note: Some(SourceNote::Skipped { keyword, why }),
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
        let error = match fetched.answer {
            Ok(answer) if answer.status.is_success() => {
                return self.process_page(&answer, keyword, fetched.page);
            }
            Ok(answer) => answer.fault(),
            Err(NoAnswer(fault)) => fault,
        };
        self.cursor.next = None;
        Batch {
            results: Vec::new(),
            failed: vec![FailedPage {
                url: fetched.url.to_string(),
                error: error.english(),
                fault: Some(error.clone()),
            }],
            note: Some(SourceNote::PageUnread {
                page: fetched.page,
                keyword,
                error: error.english(),
                more_keywords: fetched.keyword + 1 < self.keywords.len(),
                fault: Some(error),
            }),
        }
    }

    fn process_page(&mut self, answer: &Answer, keyword: String, page: u32) -> Batch {
        let parsed = match &self.selectors {
            Ok(selectors) => parse_page(&answer.text(), &answer.url, selectors, &keyword),
            Err(_) => ParsedPage::default(),
        };
        self.cursor.next = None;
        let next = match parsed.next {
            None => NextPage::None,
            Some(next) if self.cursor.visited.contains(next.as_str()) => NextPage::LoopsBack,
            Some(_) if page >= self.spec.max_pages => NextPage::MaxPages {
                max: self.spec.max_pages,
            },
            Some(next) if !self.same_origin(&next) => NextPage::OtherSite { site: site(&next) },
            Some(next) if !self.robots.allowed(&next) => NextPage::RobotsDisallow {
                path: path_of(&next),
            },
            Some(next) => {
                self.cursor.next = Some(next);
                NextPage::Follows
            }
        };
        let note = SourceNote::Page {
            page,
            keyword,
            results: parsed.results.len() as u64,
            skipped: parsed.skipped as u64,
            next,
        };
        Batch {
            results: parsed.results,
            failed: Vec::new(),
            note: Some(note),
        }
    }
}

#[async_trait]
impl Source for HttpSource {
    async fn prepare(&mut self) -> Result<SourceNote, SourceError> {
        if let Err(rule) = &self.selectors {
            return Err(rule.clone().into());
        }
        let Some(keyword) = self.keywords.first() else {
            return Err(SourceError(SourceFault::NoKeywords));
        };
        let first = search_url(&self.spec.search_url, keyword)?;
        self.context.refuse_literal(&first, Target::SearchUrl)?;
        self.origin = Some((
            first.scheme().to_owned(),
            first.host_str().unwrap_or_default().to_owned(),
            first.port_or_known_default(),
        ));
        self.read_robots(&first).await
    }

    async fn start(&mut self) -> Result<SourceNote, SourceError> {
        match self.read_next().await? {
            None => Ok(SourceNote::NothingToRead),
            Some(Err(batch)) => {
                let note = batch.note.clone().unwrap_or(SourceNote::NothingToRead);
                self.ready = Some(batch);
                Ok(note)
            }
            Some(Ok(fetched)) => {
                let keyword = self.keyword(fetched.keyword).to_owned();
                let note = match &fetched.answer {
                    Ok(answer) if answer.status.is_success() => SourceNote::FirstPage {
                        keyword,
                        answer: answer.describe(),
                        bytes: answer.body.len() as u64,
                    },
                    Ok(answer) => SourceNote::FirstPageUnread {
                        keyword,
                        error: answer.describe(),
                        fault: Some(answer.fault()),
                    },
                    Err(NoAnswer(fault)) => SourceNote::FirstPageUnread {
                        keyword,
                        error: fault.english(),
                        fault: Some(fault.clone()),
                    },
                };
                self.fetched = Some(fetched);
                Ok(note)
            }
        }
    }

    async fn analyze(&mut self) -> Result<SourceNote, SourceError> {
        let Some(fetched) = self.fetched.take() else {
            return Ok(SourceNote::NothingToAnalyze);
        };
        let batch = self.process(fetched);
        let note = batch.note.clone().unwrap_or(SourceNote::NothingToAnalyze);
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
                validate_with(&private, &strict).map_err(|rule| rule.english()),
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
        .unwrap_err()
        .english();
        assert!(error.starts_with("delay_ms is 60001"), "{error}");
        for max_pages in [0, 1001] {
            let error = validate(&HttpSourceSpec {
                max_pages,
                ..spec()
            })
            .unwrap_err()
            .english();
            assert!(error.starts_with("max_pages is"), "{error}");
        }
    }
}
