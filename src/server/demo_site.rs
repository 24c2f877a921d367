//! The built-in demo site: a small, made-up social feed that campaigns can scrape without
//! touching anyone's real website. Every page says it is a demo.
//!
//! Everything is computed from the keyword with a fixed hash (FNV-1a), so the same search gives
//! the same posts on every machine and every release: 100 to 250 posts per keyword, 20 a page,
//! and a pool of "featured" posts that appear under several keywords (same URL), so a campaign
//! with more than one keyword shows de-duplication at work.

use std::fmt::Write;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::protocol::HttpSourceSpec;
use crate::server::AppState;

/// Posts on one search page.
pub const PER_PAGE: u32 = 20;
const MIN_POSTS: u32 = 100;
const MAX_POSTS: u32 = 250;
/// Featured posts shared between keywords; more than the featured slots of any one feed, so a
/// feed never lists the same post twice.
const FEATURED: u32 = 40;
/// Every `FEATURED_EVERY`-th slot of a feed holds a featured post.
const FEATURED_EVERY: u32 = 8;
const BANNER: &str = "jobpulse demo site — sample posts for trying campaigns; nothing here is real";

/// Google and others may read the demo pages; nothing else of the app is for crawlers.
const ROBOTS_TXT: &str = "# jobpulse demo site: only /demo/ is for crawlers.\n\
User-agent: *\n\
Allow: /demo/\n\
Disallow: /api/\n\
Disallow: /\n";

/// The demo site's routes: `/demo/search`, `/demo/posts/{id}` and `/robots.txt`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/demo/search", get(search))
        .route("/demo/posts/{id}", get(post))
        .route("/robots.txt", get(robots))
}

/// How the http source reads the demo site served at `self_url`.
pub fn source_spec(self_url: &str) -> HttpSourceSpec {
    HttpSourceSpec {
        search_url: format!(
            "{}/demo/search?q={{keyword}}",
            self_url.trim_end_matches('/')
        ),
        item_selector: "article.post".into(),
        link_selector: "a.post-link".into(),
        title_selector: Some(".post-title".into()),
        author_selector: Some(".post-author".into()),
        text_selector: Some(".post-text".into()),
        next_selector: Some("a[rel=next]".into()),
        // Each page already takes `demo_latency_ms`.
        delay_ms: 0,
        max_pages: MAX_POSTS.div_ceil(PER_PAGE),
    }
}

/// How many posts the demo site lists for `keyword` (0 for an empty one).
pub fn post_count(keyword: &str) -> u32 {
    let keyword = normalize(keyword);
    if keyword.is_empty() {
        return 0;
    }
    MIN_POSTS + (fnv(&keyword) % u64::from(MAX_POSTS - MIN_POSTS + 1)) as u32
}

fn normalize(keyword: &str) -> String {
    keyword.trim().to_lowercase()
}

/// FNV-1a: fixed, unlike std's `DefaultHasher`, whose output may change between releases.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// One post of the demo feed.
#[derive(Clone, Debug, PartialEq, Eq)]
enum PostId {
    /// The `index`-th own post of a keyword (lowercased).
    Keyword {
        keyword: String,
        index: u32,
    },
    Featured(u32),
}

impl PostId {
    /// The post in slot `slot` of the feed for `keyword`.
    fn in_feed(keyword: &str, slot: u32) -> PostId {
        if slot % FEATURED_EVERY == FEATURED_EVERY / 2 {
            let start = (fnv(keyword) % u64::from(FEATURED)) as u32;
            PostId::Featured((start + slot / FEATURED_EVERY) % FEATURED)
        } else {
            PostId::Keyword {
                keyword: keyword.to_owned(),
                index: slot,
            }
        }
    }

    /// The id as it appears in `/demo/posts/{id}` (not yet percent-encoded).
    fn key(&self) -> String {
        match self {
            PostId::Keyword { keyword, index } => format!("{index}-{keyword}"),
            PostId::Featured(n) => format!("featured-{n}"),
        }
    }

    fn parse(key: &str) -> Option<PostId> {
        if let Some(n) = key.strip_prefix("featured-") {
            let n: u32 = n.parse().ok()?;
            return (n < FEATURED).then_some(PostId::Featured(n));
        }
        let (index, keyword) = key.split_once('-')?;
        let index: u32 = index.parse().ok()?;
        let keyword = normalize(keyword);
        (index < post_count(&keyword) && PostId::in_feed(&keyword, index).key() == key)
            .then_some(PostId::Keyword { keyword, index })
    }

    fn path(&self) -> String {
        let encoded: String = form_urlencoded::byte_serialize(self.key().as_bytes()).collect();
        // A `+` in a path is a plus sign, not a space.
        format!("/demo/posts/{}", encoded.replace('+', "%20"))
    }
}

const AUTHORS: [&str; 16] = [
    "@maria_dev",
    "@jon_codes",
    "@lucia.rs",
    "@dev_amir",
    "@nora_builds",
    "@pablo_ops",
    "@kenji.t",
    "@sam_writes_code",
    "@ines_data",
    "@olu_ships",
    "@hana_frontend",
    "@marek_sre",
    "@chloe.ml",
    "@diego_backend",
    "@priya_infra",
    "@tomas_oss",
];

const TITLES: [&str; 10] = [
    "Tried {k} for a week: what stuck",
    "{k} tip: read the error messages twice",
    "Why our team moved to {k}",
    "A tiny {k} project to start with",
    "Three {k} mistakes I keep making",
    "{k} in production, six months later",
    "What nobody told me about {k}",
    "Notes from the {k} meetup",
    "Is {k} worth learning this year?",
    "My {k} setup, explained",
];

const OPENERS: [&str; 8] = [
    "Spent the weekend with {k} and the docs were better than I remembered.",
    "Shipped a small {k} change today and the diff was pleasantly boring.",
    "Asked a beginner question about {k} and got three kind answers in minutes.",
    "Rewrote an old script with {k}; it is shorter and I understand it again.",
    "Paired with a colleague on {k} this morning and learned two shortcuts.",
    "Benchmarked the {k} version against the old one: not magic, but clearly better.",
    "Gave a lightning talk on {k} and the questions were the best part.",
    "Reading other people's {k} code is still the fastest way I learn.",
];

const CLOSERS: [&str; 6] = [
    "Would do it again.",
    "Slides and notes are in my profile.",
    "Next step: tests.",
    "Questions welcome.",
    "Still not sure about the naming, though.",
    "Thanks to everyone who helped.",
];

const FEATURED_TITLES: [&str; 5] = [
    "Community roundup #{n}: what people shipped this week",
    "Featured #{n}: the best threads of the month",
    "Office hours #{n}: answers to your questions",
    "Reading list #{n}: articles worth your evening",
    "Show and tell #{n}: side projects from the community",
];

/// A post's contents, all derived from its id.
struct Post {
    id: PostId,
    title: String,
    author: &'static str,
    text: String,
    featured: bool,
}

fn pick<T: Copy>(items: &[T], seed: u64, salt: u64) -> T {
    items[((seed.rotate_left(salt as u32 * 13) ^ salt) % items.len() as u64) as usize]
}

impl Post {
    fn new(id: PostId) -> Post {
        let seed = fnv(&id.key());
        match &id {
            PostId::Keyword { keyword, .. } => {
                let tag: String = keyword.chars().filter(|c| c.is_alphanumeric()).collect();
                let fill = |template: &str| template.replace("{k}", keyword);
                let text = format!(
                    "{} {} #{tag} #{}",
                    fill(pick(&OPENERS, seed, 2)),
                    pick(&CLOSERS, seed, 3),
                    pick(
                        &["buildinpublic", "devlife", "learning", "opensource"],
                        seed,
                        4
                    )
                );
                Post {
                    title: fill(pick(&TITLES, seed, 1)),
                    author: pick(&AUTHORS, seed, 5),
                    text,
                    featured: false,
                    id,
                }
            }
            PostId::Featured(n) => Post {
                title: pick(&FEATURED_TITLES, seed, 1).replace("{n}", &(n + 1).to_string()),
                author: "@jobpulse_demo",
                text: "A pinned post that shows up in many searches, so campaigns with several \
                       keywords find it more than once. #community #featured"
                    .into(),
                featured: true,
                id,
            },
        }
    }
}

/// Escapes text for HTML content and attribute values.
fn escape(text: &str) -> String {
    html_escape::encode_quoted_attribute(text).into_owned()
}

fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{title} · jobpulse demo site</title>
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; max-width: 42rem; margin: 0 auto; padding: 1rem; color: #1f2328; }}
.demo-banner {{ background: #fff8c5; border: 1px solid #d4a72c; padding: .5rem .75rem; border-radius: 6px; }}
article {{ border-bottom: 1px solid #d0d7de; padding: .75rem 0; }}
.post-title {{ font-size: 1.1rem; margin: 0; }}
.post-author, .summary {{ color: #59636e; margin: .25rem 0; }}
.featured {{ font-size: .8rem; text-transform: uppercase; color: #8250df; }}
</style>
</head>
<body>
<p class="demo-banner" role="note">{BANNER}.</p>
{body}
</body>
</html>
"#,
        title = escape(title),
        BANNER = escape(BANNER),
    )
}

fn search_href(keyword: &str, page: u32) -> String {
    let q: String = form_urlencoded::byte_serialize(keyword.as_bytes()).collect();
    format!("/demo/search?q={q}&page={page}")
}

fn render_post_summary(out: &mut String, post: &Post) {
    let _ = write!(
        out,
        r#"<article class="post">
{featured}<h2 class="post-title"><a class="post-link" href="{href}">{title}</a></h2>
<p class="post-author">{author}</p>
<p class="post-text">{text}</p>
</article>
"#,
        featured = if post.featured {
            "<p class=\"featured\">Featured</p>\n"
        } else {
            ""
        },
        href = escape(&post.id.path()),
        title = escape(&post.title),
        author = escape(post.author),
        text = escape(&post.text),
    );
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    page: Option<String>,
}

async fn simulated_latency(state: &AppState) {
    let latency = state.settings.scrape.demo_latency_ms;
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
}

/// `GET /demo/search?q=KEYWORD&page=N`: one page of the keyword's feed.
async fn search(State(state): State<AppState>, Query(query): Query<SearchQuery>) -> Html<String> {
    simulated_latency(&state).await;
    let keyword = normalize(&query.q);
    let page_number = query
        .page
        .and_then(|p| p.trim().parse::<u32>().ok())
        .unwrap_or(1)
        .max(1);
    let mut body = format!(
        r#"<form action="/demo/search" method="get" role="search">
<label>Search posts <input name="q" value="{}"></label> <button>Search</button>
</form>
<main>
"#,
        escape(&query.q)
    );
    if keyword.is_empty() {
        body.push_str("<p class=\"summary\">Type a keyword, such as rustlang, to see sample posts.</p>\n</main>");
        return Html(page("Search", &body));
    }
    let total = post_count(&keyword);
    let pages = total.div_ceil(PER_PAGE);
    let first = (page_number - 1).saturating_mul(PER_PAGE);
    let last = first.saturating_add(PER_PAGE).min(total);
    let _ = writeln!(
        body,
        r#"<h1>Posts about “{}”</h1>
<p class="summary" data-total="{total}">{total} posts · page {page_number} of {pages}</p>"#,
        escape(&keyword)
    );
    for slot in first..last {
        render_post_summary(&mut body, &Post::new(PostId::in_feed(&keyword, slot)));
    }
    if first >= total {
        body.push_str("<p class=\"summary\">No more posts.</p>\n");
    }
    body.push_str("<nav class=\"pages\">\n");
    if page_number > 1 {
        let previous = (page_number - 1).min(pages.max(1));
        let _ = writeln!(
            body,
            r#"<a rel="prev" href="{}">Previous page</a>"#,
            escape(&search_href(&keyword, previous))
        );
    }
    if page_number < pages {
        let _ = writeln!(
            body,
            r#"<a rel="next" href="{}">Next page</a>"#,
            escape(&search_href(&keyword, page_number + 1))
        );
    }
    body.push_str("</nav>\n</main>");
    Html(page(
        &format!("Search “{keyword}”, page {page_number}"),
        &body,
    ))
}

/// `GET /demo/posts/{id}`: one post.
async fn post(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    simulated_latency(&state).await;
    let Some(id) = PostId::parse(&id) else {
        let body = "<main><h1>No such post</h1><p><a href=\"/demo/search\">Search the demo posts</a></p></main>";
        return (StatusCode::NOT_FOUND, Html(page("No such post", body))).into_response();
    };
    let back = match &id {
        PostId::Keyword { keyword, index } => search_href(keyword, index / PER_PAGE + 1),
        PostId::Featured(_) => "/demo/search".to_owned(),
    };
    let post = Post::new(id);
    let body = format!(
        r#"<main>
<article class="post post-full">
<h1 class="post-title">{title}</h1>
<p class="post-author">{author}</p>
<p class="post-text">{text}</p>
</article>
<p><a href="{back}">Back to the search</a></p>
</main>"#,
        title = escape(&post.title),
        author = escape(post.author),
        text = escape(&post.text),
        back = escape(&back),
    );
    Html(page(&post.title, &body)).into_response()
}

/// `GET /robots.txt`: the demo pages are open to crawlers, the rest of the app is not.
async fn robots() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        ROBOTS_TXT,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_stable_and_in_range() {
        // Fixed values: a change here changes every demo campaign people have seen.
        assert_eq!(fnv(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(post_count("rustlang"), post_count("  RustLang "));
        for keyword in ["rustlang", "python", "a", "café", "rust lang"] {
            let count = post_count(keyword);
            assert!(
                (MIN_POSTS..=MAX_POSTS).contains(&count),
                "{keyword}: {count}"
            );
        }
        assert_eq!(post_count(" "), 0);
    }

    #[test]
    fn a_feed_never_repeats_a_post_but_feeds_share_featured_ones() {
        let feed = |keyword: &str| -> Vec<String> {
            (0..post_count(keyword))
                .map(|slot| PostId::in_feed(keyword, slot).path())
                .collect()
        };
        let rust = feed("rustlang");
        let unique: std::collections::HashSet<_> = rust.iter().collect();
        assert_eq!(unique.len(), rust.len());
        let python = feed("python");
        assert!(rust.iter().any(|path| python.contains(path)));
    }

    #[test]
    fn post_ids_round_trip() {
        for keyword in ["rustlang", "rust lang", "c++", "featured"] {
            for slot in [0, 4, 12, post_count(keyword) - 1] {
                let id = PostId::in_feed(keyword, slot);
                assert_eq!(
                    PostId::parse(&id.key()),
                    Some(id.clone()),
                    "{keyword} {slot}"
                );
            }
        }
        assert_eq!(PostId::parse("featured-40"), None);
        assert_eq!(PostId::parse("9999-rustlang"), None);
        // Slot 4 of a feed is a featured post, so the keyword post "4-…" does not exist.
        assert_eq!(PostId::parse("4-rustlang"), None);
        assert_eq!(PostId::parse("nonsense"), None);
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#x27;&amp;&#x27;&lt;/a&gt;"
        );
    }

    #[test]
    fn the_spec_reads_every_page() {
        let spec = source_spec("http://127.0.0.1:3000/");
        assert_eq!(
            spec.search_url,
            "http://127.0.0.1:3000/demo/search?q={keyword}"
        );
        assert!(spec.max_pages * PER_PAGE >= MAX_POSTS);
        assert_eq!(
            crate::server::adapters::sources::validate(&crate::protocol::SourceSpec::Http(spec)),
            Ok(())
        );
    }
}
