//! The scraping sources, driven stage by stage against local fixtures: the http source against
//! the fixture site, the apify source against the fake Apify API, and the built-in demo site.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use axum::extract::Query;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use jobpulse::protocol::failure::FetchFault;
use jobpulse::protocol::fault::{NextPage, SourceNote};
use jobpulse::protocol::{ApifySourceSpec, HttpSourceSpec, SourceSpec};
use jobpulse::server::adapters::sources::apify::ApifySource;
use jobpulse::server::adapters::sources::http::HttpSource;
use jobpulse::server::adapters::sources::{
    self, Batch, FailedPage, FoundResult, Source, SourceContext,
};
use jobpulse::server::demo_site;
use jobpulse::server::settings::ScrapeSettings;
use serde_json::json;

use crate::fake_apify::{FakeApify, FakeApifyConfig, sample_items};
use crate::fixture_site::{FixtureConfig, FixtureSite, PageEncoding};

/// Settings with short timeouts and retries, so fault tests stay fast. Private addresses are
/// allowed: the fixtures are on 127.0.0.1.
fn settings(request_timeout_ms: u64, max_attempts: u32) -> ScrapeSettings {
    ScrapeSettings {
        request_timeout_ms,
        max_attempts,
        retry_base_delay_ms: 10,
        apify_poll_ms: 10,
        allow_private_addresses: true,
        ..ScrapeSettings::default()
    }
}

fn context(request_timeout_ms: u64, max_attempts: u32) -> SourceContext {
    SourceContext::new(
        &settings(request_timeout_ms, max_attempts),
        "http://127.0.0.1:9".into(),
    )
}

/// A context as deployed: private addresses may not be read. Retries wait long, so a refusal
/// that was retried would show as a test that takes seconds.
fn guarded_context(self_url: &str) -> SourceContext {
    let settings = ScrapeSettings {
        allow_private_addresses: false,
        retry_base_delay_ms: 5_000,
        ..settings(2_000, 3)
    };
    SourceContext::new(&settings, self_url.into())
}

/// How every refusal of a private address ends.
const MAY_NOT_READ: &str =
    "which searches may not read; an admin can allow it with scrape.allow_private_addresses";

fn keywords(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// Every note and batch of a source read to the end.
#[derive(Debug, Default)]
struct Reading {
    prepare: String,
    start: String,
    analyze: String,
    batches: Vec<Batch>,
}

impl Reading {
    fn results(&self) -> Vec<FoundResult> {
        self.batches
            .iter()
            .flat_map(|b| b.results.clone())
            .collect()
    }

    fn failed(&self) -> Vec<FailedPage> {
        self.batches.iter().flat_map(|b| b.failed.clone()).collect()
    }

    /// The batches' notes in English, as the job's log shows them.
    fn notes(&self) -> Vec<String> {
        self.codes().iter().map(SourceNote::english).collect()
    }

    fn codes(&self) -> Vec<SourceNote> {
        self.batches.iter().filter_map(|b| b.note.clone()).collect()
    }

    fn urls_for(&self, keyword: &str) -> Vec<String> {
        self.results()
            .into_iter()
            .filter(|r| r.keyword.as_deref() == Some(keyword))
            .map(|r| r.url)
            .collect()
    }
}

/// Runs every stage the way the runner does, until the source is exhausted.
async fn read_all(source: &mut dyn Source) -> Reading {
    let mut reading = Reading {
        prepare: source.prepare().await.expect("prepare").english(),
        start: source.start().await.expect("start").english(),
        analyze: source.analyze().await.expect("analyze").english(),
        ..Reading::default()
    };
    while let Some(batch) = source.next_batch().await.expect("next batch") {
        reading.batches.push(batch);
        assert!(reading.batches.len() < 10_000, "the source never ends");
    }
    reading
}

async fn read_with(spec: HttpSourceSpec, words: &[&str]) -> Reading {
    let mut source = HttpSource::new(spec, keywords(words), context(2_000, 3));
    read_all(&mut source).await
}

#[tokio::test]
async fn http_source_reads_every_page_of_every_keyword() {
    let site = FixtureSite::start(FixtureConfig::default()).await;
    let reading = read_with(site.spec(), &["rust", "go lang"]).await;

    assert_eq!(
        reading.prepare,
        format!(
            "{} has no robots.txt (HTTP 404 Not Found): no crawl rules",
            site.addr
        )
    );
    assert!(
        reading
            .start
            .starts_with("Read the first page for “rust” (HTTP 200 OK, "),
        "{}",
        reading.start
    );
    assert_eq!(
        reading.analyze,
        "Page 1 for “rust”: 20 results (1 item without a link skipped), a next page"
    );
    let expected =
        |keyword: &str| -> Vec<String> { (1..=45).map(|n| site.post_url(keyword, n)).collect() };
    assert_eq!(reading.urls_for("rust"), expected("rust"));
    assert_eq!(reading.urls_for("go lang"), expected("go lang"));
    assert_eq!(reading.results().len(), 90);
    assert!(reading.failed().is_empty());
    assert_eq!(
        reading.notes()[2],
        "Page 3 for “rust”: 5 results (1 item without a link skipped)"
    );
    // The same note as a code, which pages word in their reader's language.
    assert_eq!(
        reading.codes()[2],
        SourceNote::Page {
            page: 3,
            keyword: "rust".into(),
            results: 5,
            skipped: 1,
            next: NextPage::None,
        }
    );

    assert_eq!(
        site.requests(),
        vec![
            "/robots.txt".to_owned(),
            FixtureSite::page_path("rust", 1),
            FixtureSite::page_path("rust", 2),
            FixtureSite::page_path("rust", 3),
            FixtureSite::page_path("go lang", 1),
            FixtureSite::page_path("go lang", 2),
            FixtureSite::page_path("go lang", 3),
        ]
    );
    let agent = site.log()[0].user_agent.clone().unwrap();
    assert!(agent.starts_with("jobpulse/"), "{agent}");
}

#[tokio::test]
async fn selectors_give_title_author_and_collapsed_text() {
    let site = FixtureSite::start(FixtureConfig::default()).await;
    let reading = read_with(site.spec(), &["rust"]).await;
    assert_eq!(
        reading.results()[2],
        FoundResult {
            url: site.post_url("rust", 3),
            title: Some("Post 3 about rust".into()),
            author: Some("author-3".into()),
            text: Some("Snippet 3 of rust".into()),
            keyword: Some("rust".into()),
        }
    );

    // Without a title selector the link's text is the title; without the others, nothing.
    let spec = HttpSourceSpec {
        title_selector: None,
        author_selector: None,
        text_selector: None,
        ..site.spec()
    };
    let reading = read_with(spec, &["rust"]).await;
    let first = &reading.results()[0];
    assert_eq!(first.title.as_deref(), Some("read more"));
    assert_eq!(
        (first.author.as_deref(), first.text.as_deref()),
        (None, None)
    );
}

#[tokio::test]
async fn pages_in_latin1_are_read_in_the_encoding_they_declare() {
    for encoding in [PageEncoding::Latin1InHeader, PageEncoding::Latin1InMeta] {
        let site = FixtureSite::start(FixtureConfig {
            posts_per_keyword: 3,
            encoding,
            ..FixtureConfig::default()
        })
        .await;
        let reading = read_with(site.spec(), &["peluquería"]).await;
        let first = &reading.results()[0];
        assert_eq!(
            (first.title.as_deref(), first.text.as_deref()),
            (
                Some("Post 1 about peluquería"),
                Some("Snippet 1 of peluquería")
            ),
            "{encoding:?}"
        );
    }
}

#[tokio::test]
async fn max_pages_stops_each_keyword() {
    let site = FixtureSite::start(FixtureConfig::default()).await;
    let spec = HttpSourceSpec {
        max_pages: 2,
        ..site.spec()
    };
    let reading = read_with(spec, &["rust", "go"]).await;
    assert_eq!(reading.urls_for("rust").len(), 40);
    assert_eq!(reading.urls_for("go").len(), 40);
    assert!(
        reading.notes()[1].ends_with("; “rust” stops at max_pages (2)"),
        "{:?}",
        reading.notes()
    );
    assert_eq!(site.count(&FixtureSite::page_path("rust", 3)), 0);
}

#[tokio::test]
async fn duplicates_are_returned_for_the_store_to_drop() {
    let site = FixtureSite::start(FixtureConfig {
        repeat_on_page_2: true,
        ..FixtureConfig::default()
    })
    .await;
    let reading = read_with(site.spec(), &["rust"]).await;
    let urls = reading.urls_for("rust");
    assert_eq!(urls.len(), 46);
    assert_eq!(urls[20], site.post_url("rust", 1));
    assert_eq!(urls.iter().collect::<HashSet<_>>().len(), 45);
}

#[tokio::test]
async fn a_page_that_fails_twice_is_retried_and_read() {
    let page_2 = FixtureSite::page_path("rust", 2);
    let site = FixtureSite::start(FixtureConfig {
        failing: [(page_2.clone(), 2)].into(),
        ..FixtureConfig::default()
    })
    .await;
    let reading = read_with(site.spec(), &["rust"]).await;
    assert_eq!(reading.urls_for("rust").len(), 45);
    assert!(reading.failed().is_empty());
    assert_eq!(site.count(&page_2), 3);
}

#[tokio::test]
async fn a_page_that_always_fails_ends_its_keyword_only() {
    let page_2 = FixtureSite::page_path("rust", 2);
    let site = FixtureSite::start(FixtureConfig {
        failing: [(page_2.clone(), u32::MAX)].into(),
        ..FixtureConfig::default()
    })
    .await;
    let reading = read_with(site.spec(), &["rust", "go"]).await;
    assert_eq!(reading.urls_for("rust").len(), 20);
    assert_eq!(reading.urls_for("go").len(), 45);
    assert_eq!(
        reading.failed(),
        vec![FailedPage {
            url: format!("{}{page_2}", site.url()),
            error: "HTTP 500 Internal Server Error after 3 attempts".into(),
            fault: Some(FetchFault::Status {
                status: 500,
                reason: "Internal Server Error".into(),
                attempts: 3,
            }),
        }]
    );
    assert!(reading.notes().contains(
        &"Page 2 for “rust” could not be read: HTTP 500 Internal Server Error after 3 attempts; \
          going on with the next keyword"
            .to_owned()
    ));
    assert_eq!(site.count(&page_2), 3);
    assert_eq!(site.count(&FixtureSite::page_path("rust", 3)), 0);
}

#[tokio::test]
async fn a_first_page_that_fails_comes_back_in_the_first_batch() {
    let page_1 = FixtureSite::page_path("rust", 1);
    let site = FixtureSite::start(FixtureConfig {
        failing: [(page_1.clone(), u32::MAX)].into(),
        failure_status: axum::http::StatusCode::SERVICE_UNAVAILABLE,
        ..FixtureConfig::default()
    })
    .await;
    let reading = read_with(site.spec(), &["rust", "go"]).await;
    assert_eq!(
        reading.start,
        "Could not read the first page for “rust”: HTTP 503 Service Unavailable after 3 attempts"
    );
    let first = &reading.batches[0];
    assert!(first.results.is_empty());
    assert_eq!(first.failed[0].url, format!("{}{page_1}", site.url()));
    assert_eq!(reading.urls_for("go").len(), 45);
}

#[tokio::test]
async fn a_page_that_never_answers_times_out_into_a_failed_page() {
    let page_2 = FixtureSite::page_path("rust", 2);
    let site = FixtureSite::start(FixtureConfig {
        hanging: [page_2.clone()].into(),
        ..FixtureConfig::default()
    })
    .await;
    let mut source = HttpSource::new(site.spec(), keywords(&["rust", "go"]), context(300, 2));
    let reading = read_all(&mut source).await;
    assert_eq!(
        reading.failed(),
        vec![FailedPage {
            url: format!("{}{page_2}", site.url()),
            error: "no answer within 300 ms after 2 attempts".into(),
            fault: Some(FetchFault::Timeout {
                after_ms: 300,
                attempts: 2,
            }),
        }]
    );
    assert_eq!(reading.urls_for("rust").len(), 20);
    assert_eq!(reading.urls_for("go").len(), 45);
    assert_eq!(site.count(&page_2), 2);
}

#[tokio::test]
async fn robots_txt_that_disallows_the_search_stops_the_job_before_it_starts() {
    let site = FixtureSite::start(FixtureConfig {
        // Other crawlers may search; jobpulse may not.
        robots_txt: Some(
            "User-agent: jobpulse\nDisallow: /search\n\nUser-agent: *\nAllow: /\n".into(),
        ),
        ..FixtureConfig::default()
    })
    .await;
    let mut source = HttpSource::new(site.spec(), keywords(&["rust"]), context(2_000, 3));
    let error = source.prepare().await.unwrap_err();
    assert_eq!(
        error.0.english(),
        format!(
            "robots.txt of {} does not allow /search?q=rust for user agent jobpulse",
            site.addr
        )
    );
    assert_eq!(site.requests(), vec!["/robots.txt".to_owned()]);
}

#[tokio::test]
async fn robots_txt_that_does_not_answer_closes_the_site() {
    let site = FixtureSite::start(FixtureConfig {
        robots_txt: Some("User-agent: *\nAllow: /\n".into()),
        failing: [("/robots.txt".to_owned(), u32::MAX)].into(),
        ..FixtureConfig::default()
    })
    .await;
    let mut source = HttpSource::new(site.spec(), keywords(&["rust"]), context(2_000, 3));
    let error = source.prepare().await.unwrap_err();
    assert!(
        error.0.english().starts_with(&format!(
            "robots.txt of {} could not be read (HTTP 500 Internal Server Error after 3 attempts)",
            site.addr
        )),
        "{error}"
    );
    assert!(error.0.english().contains("closed to crawlers"), "{error}");
    assert_eq!(site.count("/search?q=rust"), 0);
}

#[tokio::test]
async fn a_next_page_robots_txt_disallows_ends_the_keyword() {
    let site = FixtureSite::start(FixtureConfig {
        robots_txt: Some("User-agent: *\nDisallow: /*page=3\n".into()),
        ..FixtureConfig::default()
    })
    .await;
    let reading = read_with(site.spec(), &["rust", "go"]).await;
    assert!(
        reading.prepare.starts_with("robots.txt of"),
        "{}",
        reading.prepare
    );
    assert_eq!(reading.urls_for("rust").len(), 40);
    assert_eq!(reading.urls_for("go").len(), 40);
    assert!(
        reading.notes()[1]
            .contains("robots.txt does not allow the next page (/search?q=rust&page=3)"),
        "{:?}",
        reading.notes()
    );
    assert!(!site.requests().iter().any(|p| p.contains("page=3")));
}

#[tokio::test]
async fn crawl_delay_spaces_the_requests() {
    let site = FixtureSite::start(FixtureConfig {
        robots_txt: Some("User-agent: *\nCrawl-delay: 0.3\nAllow: /\n".into()),
        ..FixtureConfig::default()
    })
    .await;
    let spec = HttpSourceSpec {
        delay_ms: 50,
        ..site.spec()
    };
    let reading = read_with(spec, &["rust"]).await;
    assert!(
        reading
            .prepare
            .ends_with("its Crawl-delay keeps 300 ms between requests"),
        "{}",
        reading.prepare
    );
    let log = site.log();
    assert_eq!(log.len(), 4);
    for pair in log.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap >= Duration::from_millis(300),
            "{} came {gap:?} after {}",
            pair[1].path,
            pair[0].path
        );
    }
}

fn apify_spec(fake: &FakeApify, token: &str) -> ApifySourceSpec {
    ApifySourceSpec {
        base_url: fake.url(),
        actor: "acme/posts".into(),
        token: token.into(),
        input: None,
        url_field: "url".into(),
        title_field: Some("title".into()),
        author_field: Some("author.name".into()),
        text_field: Some("text".into()),
    }
}

#[tokio::test]
async fn apify_source_runs_the_actor_and_pages_through_its_dataset() {
    let mut items = sample_items(250);
    items[7] = json!({"title": "no url here"});
    items[8] = json!({"url": "", "title": "an empty url"});
    let fake = FakeApify::start(FakeApifyConfig {
        token: Some("apify-secret".into()),
        items,
        polls_to_finish: 3,
        dataset_failures: 1,
        ..FakeApifyConfig::default()
    })
    .await;
    let mut source = ApifySource::new(
        apify_spec(&fake, "apify-secret"),
        keywords(&["rust"]),
        500,
        context(2_000, 3),
    );
    let reading = read_all(&mut source).await;

    assert_eq!(reading.prepare, "Apify actor acme/posts is available");
    assert_eq!(reading.start, "Started Apify run run-1 (READY)");
    assert_eq!(reading.analyze, "Apify run run-1 SUCCEEDED");
    assert_eq!(fake.polls(), 4);
    assert_eq!(
        fake.inputs(),
        vec![json!({"keywords": ["rust"], "maxItems": 500})]
    );

    let results = reading.results();
    assert_eq!(results.len(), 248);
    assert_eq!(
        results[0],
        FoundResult {
            url: "https://social.example/posts/1".into(),
            title: Some("Item 1".into()),
            author: Some("@user1".into()),
            text: Some("Text of item 1".into()),
            keyword: Some("rust".into()),
        }
    );
    assert_eq!(
        reading.notes(),
        vec![
            "Dataset items 1–100: 98 results (2 without a usable “url” skipped)".to_owned(),
            "Dataset items 101–200: 100 results".to_owned(),
            "Dataset items 201–250: 50 results".to_owned(),
        ]
    );

    let requests = fake.requests();
    assert!(
        requests
            .iter()
            .all(|r| r.authorization.as_deref() == Some("Bearer apify-secret"))
    );
    let pages: Vec<&str> = requests
        .iter()
        .filter(|r| r.path.contains("/items"))
        .map(|r| r.path.as_str())
        .collect();
    // The first page failed once and was retried; an empty page ends the reading.
    assert_eq!(pages.len(), 5);
    assert_eq!(
        pages[0],
        "/v2/datasets/dataset-1/items?clean=true&format=json&offset=0&limit=100"
    );
    assert_eq!(pages[0], pages[1]);
    assert!(pages[4].contains("offset=250"));
    assert_eq!(requests[0].path, "/v2/acts/acme~posts");
    assert_eq!(requests[1].method, "POST");
}

#[tokio::test]
async fn a_failed_apify_run_fails_the_source_with_its_message() {
    let fake = FakeApify::start(FakeApifyConfig {
        final_status: "FAILED".into(),
        status_message: Some("The actor crashed: out of memory".into()),
        ..FakeApifyConfig::default()
    })
    .await;
    let mut source = ApifySource::new(
        apify_spec(&fake, ""),
        keywords(&["rust"]),
        10,
        context(2_000, 3),
    );
    source.prepare().await.unwrap();
    source.start().await.unwrap();
    let error = source.analyze().await.unwrap_err();
    assert_eq!(
        error.0.english(),
        "the Apify run run-1 ended FAILED: The actor crashed: out of memory"
    );
    assert!(fake.requests().iter().all(|r| r.authorization.is_none()));
}

#[tokio::test]
async fn a_refused_apify_token_or_a_missing_actor_stops_the_source_at_once() {
    let fake = FakeApify::start(FakeApifyConfig {
        token: Some("apify-secret".into()),
        ..FakeApifyConfig::default()
    })
    .await;
    let mut source = ApifySource::new(
        apify_spec(&fake, "wrong"),
        keywords(&["rust"]),
        10,
        context(2_000, 3),
    );
    let error = source.prepare().await.unwrap_err();
    assert!(
        error
            .0
            .english()
            .starts_with("the Apify token was refused (HTTP 401 Unauthorized"),
        "{error}"
    );
    assert_eq!(fake.requests().len(), 1, "a refused token is not retried");

    let spec = ApifySourceSpec {
        actor: "acme~missing".into(),
        ..apify_spec(&fake, "apify-secret")
    };
    let mut source = ApifySource::new(spec, keywords(&["rust"]), 10, context(2_000, 3));
    let error = source.prepare().await.unwrap_err();
    assert!(
        error
            .0
            .english()
            .starts_with("actor “acme~missing” not found at http://"),
        "{error}"
    );
}

#[tokio::test]
async fn demo_site_is_public_paginated_and_deterministic() {
    let app = crate::helpers::spawn_app().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let answer = client
        .get(format!("{}/demo/search?q=rustlang", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "the demo site needs no login");
    let html = answer.text().await.unwrap();
    assert!(html.contains("jobpulse demo site"));
    assert!(html.contains("nothing here is real"));
    assert_eq!(html.matches("<article class=\"post\">").count(), 20);
    assert!(html.contains("rel=\"next\""));
    let robots = client
        .get(format!("{}/robots.txt", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(robots.status(), 200);
    assert!(robots.text().await.unwrap().contains("Allow: /demo/"));

    // Read as campaigns read it: private addresses refused, the demo site on 127.0.0.1 exempt.
    let context = guarded_context(&app.address);
    let read = || async {
        let mut source = sources::open(
            &SourceSpec::Sandbox,
            &keywords(&["rustlang"]),
            100,
            &context,
        );
        read_all(source.as_mut()).await
    };
    let first = read().await;
    let promised = demo_site::post_count("rustlang") as usize;
    assert!(html.contains(&format!("{promised} posts")));
    let results = first.results();
    assert_eq!(results.len(), promised);
    assert_eq!(
        results.iter().map(|r| &r.url).collect::<HashSet<_>>().len(),
        promised
    );
    assert!(
        results
            .iter()
            .all(|r| r.title.is_some() && r.author.is_some())
    );
    assert!(
        results[0]
            .url
            .starts_with(&format!("{}/demo/posts/", app.address))
    );
    assert!(first.failed().is_empty());
    assert_eq!(first.results(), read().await.results());

    // The exemption is the built-in source's, not the address's: an http source naming the
    // same site is refused.
    let spec = SourceSpec::Http(demo_site::source_spec(&app.address));
    let mut source = sources::open(&spec, &keywords(&["rustlang"]), 100, &context);
    let error = source.prepare().await.unwrap_err();
    assert_eq!(
        error.0.english(),
        format!("the search URL points at a loopback address (127.0.0.1), {MAY_NOT_READ}")
    );
}

#[tokio::test]
async fn private_address_literals_are_refused_before_anything_is_sent() {
    let site = FixtureSite::start(FixtureConfig::default()).await;
    let port = site.addr.port();
    for (search_url, address) in [
        (
            site.spec().search_url,
            "a loopback address (127.0.0.1)".to_owned(),
        ),
        (
            "http://10.0.0.5/search?q={keyword}".into(),
            "a private address (10.0.0.5)".into(),
        ),
        (
            "http://169.254.169.254/latest/meta-data/{keyword}".into(),
            "a link-local address (169.254.169.254)".into(),
        ),
        (
            format!("http://[::ffff:127.0.0.1]:{port}/search?q={{keyword}}"),
            "a loopback address (::ffff:127.0.0.1)".into(),
        ),
        (
            format!("http://0x7f000001:{port}/search?q={{keyword}}"),
            "a loopback address (127.0.0.1)".into(),
        ),
    ] {
        let spec = HttpSourceSpec {
            search_url: search_url.clone(),
            ..site.spec()
        };
        let mut source = HttpSource::new(
            spec.clone(),
            keywords(&["rust"]),
            guarded_context("http://127.0.0.1:9"),
        );
        let error = source.prepare().await.unwrap_err();
        assert_eq!(
            error.0.english(),
            format!("the search URL points at {address}, {MAY_NOT_READ}"),
            "{search_url}"
        );
        // Campaigns naming it are refused when they are created already.
        let error = sources::validate_with(&SourceSpec::Http(spec), &ScrapeSettings::default())
            .unwrap_err()
            .english();
        assert_eq!(
            error,
            format!("search_url “{search_url}” points at {address}, {MAY_NOT_READ}")
        );
    }
    assert!(site.requests().is_empty(), "{:?}", site.requests());

    let fake = FakeApify::start(FakeApifyConfig::default()).await;
    let mut source = ApifySource::new(
        apify_spec(&fake, ""),
        keywords(&["rust"]),
        10,
        guarded_context("http://127.0.0.1:9"),
    );
    let error = source.prepare().await.unwrap_err();
    assert_eq!(
        error.0.english(),
        format!(
            "the Apify base_url ({}) points at a loopback address (127.0.0.1), {MAY_NOT_READ}",
            fake.url()
        )
    );
    assert!(fake.requests().is_empty());
}

#[tokio::test]
async fn a_name_that_resolves_to_a_private_address_is_refused_at_once() {
    let site = FixtureSite::start(FixtureConfig::default()).await;
    let spec = HttpSourceSpec {
        search_url: format!("http://localhost:{}/search?q={{keyword}}", site.addr.port()),
        ..site.spec()
    };
    let mut source = HttpSource::new(
        spec.clone(),
        keywords(&["rust"]),
        guarded_context("http://127.0.0.1:9"),
    );
    let error = tokio::time::timeout(Duration::from_secs(3), source.prepare())
        .await
        .expect("a refusal is not retried")
        .unwrap_err();
    assert!(
        error
            .0
            .english()
            .starts_with("localhost resolves only to private addresses ("),
        "{error}"
    );
    assert!(
        error.0.english().ends_with(
            "which searches may not read; an admin can allow them with \
             scrape.allow_private_addresses"
        ),
        "{error}"
    );
    assert!(site.requests().is_empty());

    // With private addresses allowed, the same name is read.
    let reading = read_with(spec, &["rust"]).await;
    assert_eq!(reading.urls_for("rust").len(), 45);
}

/// An address of this machine outside every forbidden range, to stand for a public site; `None`
/// where the machine has none (a laptop on 192.168.x, most CI runners).
fn public_local_address() -> Option<Ipv4Addr> {
    let socket = UdpSocket::bind("0.0.0.0:0").ok()?;
    // Connecting a UDP socket sends nothing: it only picks the interface of the default route.
    socket.connect("192.0.2.1:9").ok()?;
    let IpAddr::V4(ip) = socket.local_addr().ok()?.ip() else {
        return None;
    };
    let [a, b, ..] = ip.octets();
    let private = ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || a == 0
        || (a == 100 && (64..128).contains(&b));
    (!private).then_some(ip)
}

#[derive(serde::Deserialize)]
struct RedirectTo {
    to: String,
}

/// A site on `ip` whose search redirects to the `to` its URL names; no robots.txt.
async fn redirecting_site(ip: Ipv4Addr) -> SocketAddr {
    let app = axum::Router::new().route(
        "/search",
        axum::routing::get(|Query(RedirectTo { to }): Query<RedirectTo>| async move {
            (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
        }),
    );
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[tokio::test]
async fn a_redirect_to_a_private_address_is_refused() {
    let Some(ip) = public_local_address() else {
        eprintln!(
            "skipped: this machine has no public address to serve the redirecting site from \
             (the redirect policy's own test in src/server/sources/guard.rs still runs)"
        );
        return;
    };
    let redirecting = redirecting_site(ip).await;
    // Where the redirects lead really answers: only the guard stands between.
    let site = FixtureSite::start(FixtureConfig::default()).await;
    let port = site.addr.port();
    for (target, refusal) in [
        (
            format!("http://127.0.0.1:{port}/search?q=rust"),
            format!(
                "a redirect to http://127.0.0.1:{port}/search?q=rust points at a loopback \
                 address (127.0.0.1), {MAY_NOT_READ}"
            ),
        ),
        (
            format!("http://[::ffff:7f00:1]:{port}/search?q=rust"),
            format!(
                "a redirect to http://[::ffff:7f00:1]:{port}/search?q=rust points at a loopback \
                 address (::ffff:127.0.0.1), {MAY_NOT_READ}"
            ),
        ),
        (
            format!("http://localhost:{port}/search?q=rust"),
            "localhost resolves only to private addresses (".to_owned(),
        ),
    ] {
        let to: String = form_urlencoded::byte_serialize(target.as_bytes()).collect();
        let spec = HttpSourceSpec {
            search_url: format!("http://{redirecting}/search?to={to}&q={{keyword}}"),
            ..site.spec()
        };
        let mut source = HttpSource::new(
            spec,
            keywords(&["rust"]),
            guarded_context("http://127.0.0.1:9"),
        );
        // The site itself is public: its (missing) robots.txt is read.
        let prepared = source.prepare().await.unwrap().english();
        assert!(prepared.contains("has no robots.txt"), "{prepared}");
        let error = tokio::time::timeout(Duration::from_secs(3), source.start())
            .await
            .expect("a refusal is not retried")
            .unwrap_err();
        assert!(
            error.0.english().starts_with(&refusal),
            "{error}\nexpected {refusal}"
        );
    }
    assert!(site.requests().is_empty(), "{:?}", site.requests());
}

#[tokio::test]
async fn a_stopped_apify_search_aborts_its_run() {
    let fake = FakeApify::start(FakeApifyConfig {
        token: Some("apify-secret".into()),
        polls_to_finish: u32::MAX,
        ..FakeApifyConfig::default()
    })
    .await;
    let mut source = ApifySource::new(
        apify_spec(&fake, "apify-secret"),
        keywords(&["rust"]),
        10,
        context(2_000, 3),
    );
    // Before a run is started there is nothing to abort.
    source.prepare().await.unwrap();
    source.abort().await;
    assert!(fake.aborted().is_empty());

    source.start().await.unwrap();
    // The runner drops the wait for the run when the job is cancelled.
    let waited = tokio::time::timeout(Duration::from_millis(200), source.analyze()).await;
    assert!(waited.is_err(), "the run never finishes");
    assert!(fake.polls() > 0);
    source.abort().await;
    assert_eq!(fake.aborted(), vec!["run-1".to_owned()]);
    let abort = fake.requests().last().cloned().unwrap();
    assert_eq!(
        (abort.method.as_str(), abort.path.as_str()),
        ("POST", "/v2/actor-runs/run-1/abort")
    );
    assert_eq!(abort.authorization.as_deref(), Some("Bearer apify-secret"));

    // The run is ABORTED now: a second stop sends nothing.
    source.abort().await;
    assert_eq!(fake.aborted().len(), 1);
}

#[tokio::test]
async fn a_finished_apify_run_is_not_aborted() {
    let fake = FakeApify::start(FakeApifyConfig {
        items: sample_items(3),
        ..FakeApifyConfig::default()
    })
    .await;
    let mut source = ApifySource::new(
        apify_spec(&fake, ""),
        keywords(&["rust"]),
        10,
        context(2_000, 3),
    );
    let reading = read_all(&mut source).await;
    assert_eq!(reading.results().len(), 3);
    source.abort().await;
    assert!(fake.aborted().is_empty());
    assert!(!fake.requests().iter().any(|r| r.path.ends_with("/abort")));
}

#[tokio::test]
async fn an_apify_abort_that_gets_no_answer_is_tried_once_and_given_up() {
    let fake = FakeApify::start(FakeApifyConfig {
        polls_to_finish: u32::MAX,
        abort_hangs: true,
        ..FakeApifyConfig::default()
    })
    .await;
    let mut source = ApifySource::new(
        apify_spec(&fake, ""),
        keywords(&["rust"]),
        10,
        context(300, 3),
    );
    source.prepare().await.unwrap();
    source.start().await.unwrap();
    let started = tokio::time::Instant::now();
    source.abort().await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let aborts = fake
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/abort"))
        .count();
    assert_eq!(aborts, 1, "an abort is not retried");
    assert!(fake.aborted().is_empty());
}

#[tokio::test]
async fn apify_items_whose_url_is_not_a_web_page_are_skipped() {
    let fake = FakeApify::start(FakeApifyConfig {
        items: vec![
            json!({"url": "javascript:alert(document.cookie)", "title": "a script"}),
            json!({"url": "data:text/html,<script>alert(1)</script>"}),
            json!({"url": "https://social.example/posts/1", "title": "kept"}),
            json!({"url": "mailto:ana@example.com"}),
            json!({"url": "ftp://files.example/x"}),
            json!({"url": "not a url"}),
            json!({"url": "http://social.example/posts/2"}),
        ],
        ..FakeApifyConfig::default()
    })
    .await;
    let mut source = ApifySource::new(
        apify_spec(&fake, ""),
        keywords(&["rust"]),
        10,
        context(2_000, 3),
    );
    let reading = read_all(&mut source).await;
    let urls: Vec<String> = reading.results().into_iter().map(|r| r.url).collect();
    assert_eq!(
        urls,
        vec![
            "https://social.example/posts/1".to_owned(),
            "http://social.example/posts/2".to_owned(),
        ]
    );
    assert_eq!(
        reading.notes(),
        vec!["Dataset items 1–7: 2 results (5 without a usable “url” skipped)".to_owned()]
    );
}
