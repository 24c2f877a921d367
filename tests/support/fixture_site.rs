//! A local website for scraping tests (not the demo site): a search feed on `127.0.0.1:0` that
//! behaves as the test configured it up front, and records every request it gets.
//!
//! `GET /search?q=KEYWORD&page=N` (`page` defaults to 1) lists the keyword's posts, `per_page`
//! at a time, in this shape (hrefs are relative on purpose, so URL resolution is exercised):
//!
//! ```html
//! <div class="result">
//!   <h2 class="title">Post 3 about rust</h2>
//!   <a class="link" href="posts/rust/3">read more</a>
//!   <span class="by">author-3</span>
//!   <p class="snippet">Snippet <b>3</b>
//!      of rust</p>                        (whitespace to collapse: "Snippet 3 of rust")
//! </div>
//! <div class="result sponsored">An ad without a link</div>    (one per page; no link, skipped)
//! <a class="next" rel="next" href="?q=rust&amp;page=2">Next</a>     (on every page but the last)
//! ```
//!
//! `GET /posts/KEYWORD/N` is that post's page, `GET /robots.txt` is `FixtureConfig::robots_txt`
//! (404 when `None`), and anything else is a 404. Faults (`failing`, `hanging`) are keyed by the
//! path and query exactly as requested (see `FixtureSite::page_path`) and apply to every path,
//! robots.txt included.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use jobpulse::protocol::HttpSourceSpec;
use tokio::time::Instant;

/// How the fixture site behaves.
#[derive(Clone, Debug)]
pub struct FixtureConfig {
    /// Posts listed for every keyword not in `posts_for` (default 45: three pages of 20).
    pub posts_per_keyword: usize,
    /// Posts listed for particular keywords.
    pub posts_for: HashMap<String, usize>,
    /// Posts per search page (default 20).
    pub per_page: usize,
    /// The robots.txt body; `None` answers 404 (no rules).
    pub robots_txt: Option<String>,
    /// Paths that answer `failure_status` this many times before succeeding (`u32::MAX`: always).
    pub failing: HashMap<String, u32>,
    /// The status `failing` paths answer (default 500).
    pub failure_status: StatusCode,
    /// Paths that never answer: the request is held until the client gives up.
    pub hanging: HashSet<String>,
    /// Page 2 of every keyword also lists the first post of page 1 again (same URL), first.
    pub repeat_on_page_2: bool,
    /// How search pages are encoded and where they say so.
    pub encoding: PageEncoding,
}

/// The encoding of the search pages.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PageEncoding {
    /// UTF-8, declared in `Content-Type`.
    #[default]
    Utf8,
    /// ISO-8859-1, declared in `Content-Type` only.
    Latin1InHeader,
    /// ISO-8859-1, declared only by a `<meta http-equiv>` tag (`Content-Type: text/html`).
    Latin1InMeta,
}

impl Default for FixtureConfig {
    fn default() -> Self {
        FixtureConfig {
            posts_per_keyword: 45,
            posts_for: HashMap::new(),
            per_page: 20,
            robots_txt: None,
            failing: HashMap::new(),
            failure_status: StatusCode::INTERNAL_SERVER_ERROR,
            hanging: HashSet::new(),
            repeat_on_page_2: false,
            encoding: PageEncoding::Utf8,
        }
    }
}

/// One request as the site saw it.
#[derive(Clone, Debug)]
pub struct SiteRequest {
    /// Path and query, as requested: `/search?q=rust&page=2`.
    pub path: String,
    pub at: Instant,
    pub user_agent: Option<String>,
}

struct Inner {
    config: FixtureConfig,
    requests: Vec<SiteRequest>,
}

/// The running fixture site.
#[derive(Clone)]
pub struct FixtureSite {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

#[allow(dead_code)]
impl FixtureSite {
    /// Starts the site on a free port.
    pub async fn start(config: FixtureConfig) -> FixtureSite {
        let inner = Arc::new(Mutex::new(Inner {
            config,
            requests: Vec::new(),
        }));
        let app = Router::new().fallback(handle).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FixtureSite { addr, inner }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// An http source spec that reads this site (no delay, up to 100 pages per keyword).
    pub fn spec(&self) -> HttpSourceSpec {
        HttpSourceSpec {
            search_url: format!("{}/search?q={{keyword}}", self.url()),
            item_selector: "div.result".into(),
            link_selector: "a.link".into(),
            title_selector: Some("h2.title".into()),
            author_selector: Some(".by".into()),
            text_selector: Some("p.snippet".into()),
            next_selector: Some("a[rel=next]".into()),
            delay_ms: 0,
            max_pages: 100,
        }
    }

    /// The path and query the http source requests for a page: `/search?q=rust` for page 1
    /// (the search URL), `/search?q=rust&page=2` after that (the next links).
    pub fn page_path(keyword: &str, page: usize) -> String {
        let q = encode(keyword);
        if page <= 1 {
            format!("/search?q={q}")
        } else {
            format!("/search?q={q}&page={page}")
        }
    }

    /// The absolute URL of post `n` (1-based) of `keyword`, as the source should report it.
    pub fn post_url(&self, keyword: &str, n: usize) -> String {
        format!("{}/posts/{}/{n}", self.url(), encode_segment(keyword))
    }

    /// How many posts the site lists for `keyword`.
    pub fn posts_for(&self, keyword: &str) -> usize {
        posts_for(&self.inner.lock().unwrap().config, keyword)
    }

    /// Paths requested so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.log().into_iter().map(|r| r.path).collect()
    }

    /// Every request so far, with when it arrived and its `User-Agent`.
    pub fn log(&self) -> Vec<SiteRequest> {
        self.inner.lock().unwrap().requests.clone()
    }

    /// How many times `path` was requested.
    pub fn count(&self, path: &str) -> usize {
        self.requests().iter().filter(|p| *p == path).count()
    }

    /// Changes the behaviour from the next request on.
    pub fn set(&self, change: impl FnOnce(&mut FixtureConfig)) {
        change(&mut self.inner.lock().unwrap().config);
    }
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Percent-encoding for a path segment (a `+` there would be a literal plus).
fn encode_segment(text: &str) -> String {
    encode(text).replace('+', "%20")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn posts_for(config: &FixtureConfig, keyword: &str) -> usize {
    config
        .posts_for
        .get(keyword)
        .copied()
        .unwrap_or(config.posts_per_keyword)
}

async fn handle(State(inner): State<Arc<Mutex<Inner>>>, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let (config, fail) = {
        let mut inner = inner.lock().unwrap();
        inner.requests.push(SiteRequest {
            path: path.clone(),
            at: Instant::now(),
            user_agent: headers
                .get(header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        });
        let fail = match inner.config.failing.get_mut(&path) {
            Some(remaining) if *remaining > 0 => {
                if *remaining != u32::MAX {
                    *remaining -= 1;
                }
                true
            }
            _ => false,
        };
        (inner.config.clone(), fail)
    };
    if config.hanging.contains(&path) {
        std::future::pending::<()>().await;
    }
    if fail {
        return (
            config.failure_status,
            "the fixture site fails here on purpose",
        )
            .into_response();
    }
    let query: HashMap<String, String> =
        form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    match uri.path() {
        "/robots.txt" => match config.robots_txt {
            Some(body) => ([(header::CONTENT_TYPE, "text/plain")], body).into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        },
        "/search" => {
            let keyword = query.get("q").cloned().unwrap_or_default();
            let page = query
                .get("page")
                .and_then(|p| p.parse::<usize>().ok())
                .unwrap_or(1)
                .max(1);
            let page = search_page(&config, &keyword, page);
            let latin1 = || -> Vec<u8> {
                page.chars()
                    .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
                    .collect()
            };
            match config.encoding {
                PageEncoding::Utf8 => Html(page).into_response(),
                PageEncoding::Latin1InHeader => (
                    [(header::CONTENT_TYPE, "text/html; charset=ISO-8859-1")],
                    latin1(),
                )
                    .into_response(),
                PageEncoding::Latin1InMeta => {
                    ([(header::CONTENT_TYPE, "text/html")], latin1()).into_response()
                }
            }
        }
        other => match other.strip_prefix("/posts/") {
            Some(rest) => Html(format!(
                "<html><body><h1>Fixture post {}</h1></body></html>",
                escape(rest)
            ))
            .into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        },
    }
}

fn search_page(config: &FixtureConfig, keyword: &str, page: usize) -> String {
    let total = posts_for(config, keyword);
    let per_page = config.per_page.max(1);
    let first = (page - 1) * per_page + 1;
    let last = (page * per_page).min(total);
    let mut numbers: Vec<usize> = (first..=last).collect();
    if page == 2 && config.repeat_on_page_2 && total > 0 {
        numbers.insert(0, 1);
    }
    let kw = escape(keyword);
    let segment = escape(&encode_segment(keyword));
    let meta = if config.encoding == PageEncoding::Latin1InMeta {
        "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\">"
    } else {
        ""
    };
    let mut body =
        format!("<html><head>{meta}<title>Fixture search: {kw}</title></head><body><main>\n");
    for n in numbers {
        body.push_str(&format!(
            "<div class=\"result\">\n  <h2 class=\"title\">Post {n} about {kw}</h2>\n  \
             <a class=\"link\" href=\"posts/{segment}/{n}\">read more</a>\n  \
             <span class=\"by\">author-{n}</span>\n  \
             <p class=\"snippet\">Snippet <b>{n}</b>\n     of {kw}</p>\n</div>\n"
        ));
    }
    body.push_str("<div class=\"result sponsored\">An ad without a link</div>\n");
    if last < total {
        body.push_str(&format!(
            "<a class=\"next\" rel=\"next\" href=\"?q={}&amp;page={}\">Next</a>\n",
            escape(&encode(keyword)),
            page + 1
        ));
    }
    body.push_str("</main></body></html>\n");
    body
}
