//! Campaigns through the whole app: `POST /api/campaigns` against a local fixture site (not the
//! demo site), stages, targets, de-duplication, faults, exports, auto mode and the live channel.

use std::collections::HashSet;

use jobpulse::protocol::fault::StageNote;
use jobpulse::protocol::{
    ApifySourceSpec, CampaignView, HttpSourceSpec, JobStatus, JobView, ResultsPage,
};
use serde_json::{Value, json};

use crate::fake_apify::{FakeApify, FakeApifyConfig, sample_items};
use crate::fixture_site::{FixtureConfig, FixtureSite};
use crate::helpers::{TestApp, collect_until_terminal, next_msg, send_json, spawn_app_with};

/// An app whose scraper gives up on a page quickly, so fault tests stay short.
async fn app() -> TestApp {
    spawn_app_with(|settings| {
        settings.scrape.request_timeout_ms = 500;
        settings.scrape.retry_base_delay_ms = 10;
        settings.scrape.max_attempts = 3;
    })
    .await
}

fn campaign_body(spec: &HttpSourceSpec, keywords: &[&str], target: u32) -> Value {
    let mut source = serde_json::to_value(spec).unwrap();
    source["kind"] = json!("http");
    json!({
        "name": "Creators on #rust",
        "platform": "fixture",
        "keywords": keywords,
        "target_results": target,
        "source": source,
    })
}

impl TestApp {
    /// `POST /api/campaigns`, with this app's token.
    async fn post_campaign(&self, body: &Value) -> reqwest::Response {
        self.client
            .post(format!("{}/api/campaigns", self.address))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Creates a campaign that must be accepted: (campaign id, first job id).
    async fn start_campaign(&self, body: &Value) -> (String, String) {
        let response = self.post_campaign(body).await;
        assert!(
            response.status() == 202 || response.status() == 200,
            "{}",
            response.text().await.unwrap()
        );
        let body: Value = response.json().await.unwrap();
        (
            body["campaignId"].as_str().unwrap().to_owned(),
            body["jobId"].as_str().unwrap().to_owned(),
        )
    }

    async fn campaign(&self, id: &str) -> CampaignView {
        let response = self.get(&format!("/api/campaigns/{id}")).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    async fn results(&self, id: &str) -> ResultsPage {
        let response = self.get(&format!("/api/campaigns/{id}/results")).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// The job's events of one type.
    async fn events_of(&self, job: &str, kind: &str) -> Vec<Value> {
        self.events(job)
            .await
            .into_iter()
            .filter(|e| e["type"] == kind)
            .collect()
    }
}

fn seqs(events: &[Value]) -> Vec<u64> {
    events.iter().map(|e| e["seq"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn a_campaign_stops_at_its_target_with_its_stages_in_order() {
    let app = app().await;
    let site = FixtureSite::start(FixtureConfig::default()).await;
    let (campaign, job) = app
        .start_campaign(&campaign_body(&site.spec(), &["rust", "leptos"], 30))
        .await;
    let job: JobView = app.wait_until_finished(job.as_str()).await;
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(job.progress.sent, 30, "exactly the target, not a page more");
    assert_eq!(job.progress.percentage, 100.0);
    assert_eq!(job.stage.as_deref(), Some("completed"));
    assert_eq!(
        job.stage_message.as_deref(),
        Some("Target reached: 30 results")
    );
    assert_eq!(job.stage_note, Some(StageNote::TargetReached { found: 30 }));

    let events = app.events(job.id).await;
    assert_eq!(seqs(&events), (1..=job.last_seq).collect::<Vec<_>>());
    let mut stages: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "stage")
        .map(|e| e["stage"].as_str().unwrap())
        .collect();
    stages.dedup();
    assert_eq!(
        stages,
        [
            "initializing",
            "fetching",
            "analyzing",
            "searching",
            "processing"
        ]
    );
    let percentages: Vec<f64> = events
        .iter()
        .filter_map(|e| e["progress"]["percentage"].as_f64())
        .collect();
    assert!(
        percentages.windows(2).all(|w| w[0] <= w[1]),
        "progress never goes back: {percentages:?}"
    );
    let done = events.last().unwrap();
    assert_eq!(done["type"], "job_completed");
    assert_eq!(done["results"]["sent"], 30);
    assert!(done["message"].as_str().unwrap().contains("Target reached"));
    assert_eq!(done["note"], json!({"code": "target_reached", "found": 30}));
    let checking = events
        .iter()
        .find(|e| e["stage"] == "initializing")
        .unwrap();
    assert_eq!(checking["note"]["code"], "checking_source");

    // The first keyword had enough: the second was never searched.
    assert_eq!(site.count(&FixtureSite::page_path("leptos", 1)), 0);
    let results = app.results(&campaign).await;
    assert_eq!(results.total, 30);
    assert!(
        results
            .results
            .iter()
            .all(|r| r.keyword.as_deref() == Some("rust"))
    );
    assert_eq!(app.campaign(&campaign).await.results, 30);
}

#[tokio::test]
async fn a_source_that_runs_out_completes_with_fewer_results_and_says_so() {
    let app = app().await;
    let mut config = FixtureConfig::default();
    config.posts_for.insert("tiny".into(), 7);
    config.repeat_on_page_2 = true;
    let site = FixtureSite::start(config).await;
    let (campaign, job) = app
        .start_campaign(&campaign_body(&site.spec(), &["rust", "tiny"], 500))
        .await;
    let job = app.wait_until_finished(job.as_str()).await;
    assert_eq!(job.status, JobStatus::Completed);
    // 45 + 7 distinct posts; page 2's repeat of post 1 is not counted twice.
    assert_eq!(job.progress.sent, 52);
    assert_eq!(job.progress.total, 500);
    let done = app.events_of(&job.id.to_string(), "job_completed").await;
    assert!(
        done[0]["message"]
            .as_str()
            .unwrap()
            .contains("ran out after 52 of the 500")
    );
    assert_eq!(
        done[0]["note"],
        json!({"code": "ran_out", "found": 52, "target": 500})
    );
    let results = app.results(&campaign).await;
    let urls: HashSet<&str> = results.results.iter().map(|r| r.url.as_str()).collect();
    assert_eq!(urls.len(), 52);
    assert!(urls.contains(site.post_url("tiny", 7).as_str()));
    let items = app.items(job.id, "sent").await;
    assert_eq!(items.len(), 52, "every result is an item of the job");
}

#[tokio::test]
async fn a_second_search_counts_only_results_new_to_the_campaign() {
    let app = app().await;
    let site = FixtureSite::start(FixtureConfig::default()).await;
    let (campaign, first) = app
        .start_campaign(&campaign_body(&site.spec(), &["rust"], 1_000))
        .await;
    let first = app.wait_until_finished(first.as_str()).await;
    assert_eq!(first.progress.sent, 45);

    let response = app
        .client
        .post(format!("{}/api/campaigns/{campaign}/jobs", app.address))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let second: JobView = response.json().await.unwrap();
    let second = app.wait_until_finished(second.id).await;
    assert_eq!(second.status, JobStatus::Completed);
    assert_eq!(second.progress.sent, 0, "everything it found was known");
    assert_eq!(app.events_of(&second.id.to_string(), "item").await.len(), 0);

    let view = app.campaign(&campaign).await;
    assert_eq!(view.jobs.len(), 2);
    assert_eq!(view.jobs[0].id, second.id, "newest first");
    assert_eq!(view.results, 45);
    assert_eq!(app.results(&campaign).await.total, 45);
}

#[tokio::test]
async fn failing_pages_are_retried_then_recorded_and_the_search_goes_on() {
    let app = app().await;
    let mut config = FixtureConfig::default();
    // Page 2 of "rust" fails twice, then answers; page 2 of "axum" never answers.
    config.failing.insert(FixtureSite::page_path("rust", 2), 2);
    config.hanging.insert(FixtureSite::page_path("axum", 2));
    let site = FixtureSite::start(config).await;
    let (_, job) = app
        .start_campaign(&campaign_body(
            &site.spec(),
            &["rust", "axum", "tokio"],
            1_000,
        ))
        .await;
    let job = app.wait_until_finished(job.as_str()).await;
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(site.count(&FixtureSite::page_path("rust", 2)), 3);
    // rust: 45, axum: its first page only, tokio: 45.
    assert_eq!(job.progress.sent, 45 + 20 + 45);
    assert_eq!(job.progress.failed, 1);
    let failed = app.items(job.id, "failed").await;
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0]
            .recipient
            .ends_with(&FixtureSite::page_path("axum", 2))
    );
    let reason = failed[0].error.as_deref().unwrap();
    assert!(reason.contains("no answer"), "{reason}");
    let errors = app.events_of(&job.id.to_string(), "item").await;
    assert_eq!(
        errors.iter().filter(|e| e["status"] == "failed").count(),
        1,
        "the failed page is in the log"
    );
    let lost = errors.iter().find(|e| e["status"] == "failed").unwrap();
    assert_eq!(lost["error"], reason);
    assert_eq!(lost["fault"]["code"], "timeout");
    assert!(lost["fault"]["attempts"].as_u64().unwrap() > 1);
}

#[tokio::test]
async fn robots_txt_that_forbids_the_search_fails_the_job_with_a_reason() {
    let app = app().await;
    let site = FixtureSite::start(FixtureConfig {
        robots_txt: Some("User-agent: *\nDisallow: /search\n".into()),
        ..FixtureConfig::default()
    })
    .await;
    let (_, job) = app
        .start_campaign(&campaign_body(&site.spec(), &["rust"], 10))
        .await;
    let job = app.wait_until_finished(job.as_str()).await;
    assert_eq!(job.status, JobStatus::Failed);
    let error = job.last_error.unwrap();
    assert!(error.contains("robots.txt"), "{error}");
    assert_eq!(site.count(&FixtureSite::page_path("rust", 1)), 0);
    // The reason travels as a code with its parameters, for pages to word in their language.
    let failed = app.events(job.id).await.pop().unwrap();
    assert_eq!(failed["type"], "job_failed");
    assert_eq!(failed["error"], error.as_str());
    let fault = &failed["fault"];
    assert_eq!(fault["code"], "source");
    assert_eq!(fault["fault"]["code"], "robots_disallow");
    assert_eq!(fault["fault"]["path"], "/search?q=rust");
    assert_eq!(fault["fault"]["agent"], "jobpulse");
}

#[tokio::test]
async fn small_campaigns_answer_with_their_results_and_large_ones_at_once() {
    let app = app().await;
    let site = FixtureSite::start(FixtureConfig::default()).await;
    let response = app
        .post_campaign(&campaign_body(&site.spec(), &["rust"], 12))
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["useWebSocket"], false);
    assert_eq!(body["results"].as_array().unwrap().len(), 12);
    assert_eq!(body["job"]["status"], "completed");
    assert!(
        body["results"][0]["url"]
            .as_str()
            .unwrap()
            .starts_with(&site.url())
    );

    let response = app
        .post_campaign(&campaign_body(&site.spec(), &["rust"], 51))
        .await;
    assert_eq!(response.status(), 202);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["useWebSocket"], true);
    assert!(body.get("results").is_none());
    assert!(body["campaignId"].is_string() && body["jobId"].is_string());
}

#[tokio::test]
async fn results_export_as_csv_that_parses_back_to_the_json() {
    let app = app().await;
    let site = FixtureSite::start(FixtureConfig::default()).await;
    let (campaign, job) = app
        .start_campaign(&campaign_body(&site.spec(), &["rust", "axum"], 60))
        .await;
    app.wait_until_finished(job.as_str()).await;
    let json = app.results(&campaign).await;
    assert_eq!(json.total, 60);

    let response = app
        .get(&format!("/api/campaigns/{campaign}/results?format=csv"))
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let body = response.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "url", "title", "author", "text", "keyword", "job_id", "found_at"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 60);
    for (row, result) in rows.iter().zip(&json.results) {
        assert_eq!(&row[0], result.url);
        assert_eq!(Some(&row[1]), result.title.as_deref());
        assert_eq!(Some(&row[2]), result.author.as_deref());
        assert_eq!(Some(&row[3]), result.text.as_deref());
        assert_eq!(&row[5], result.job_id.to_string());
    }

    // Search and paging on the JSON side.
    let page: ResultsPage = app
        .get(&format!(
            "/api/campaigns/{campaign}/results?q=author-3&limit=5"
        ))
        .await
        .json()
        .await
        .unwrap();
    assert!(page.total >= 1);
    assert!(
        page.results
            .iter()
            .all(|r| r.author.as_deref().unwrap().contains("author-3"))
    );
}

#[tokio::test]
async fn bad_campaigns_get_a_clear_answer_and_create_nothing() {
    let app = app().await;
    let site = FixtureSite::start(FixtureConfig::default()).await;
    let good = campaign_body(&site.spec(), &["rust"], 10);
    let with = |change: &dyn Fn(&mut Value)| {
        let mut body = good.clone();
        change(&mut body);
        body
    };
    let cases = [
        (with(&|b| b["name"] = json!("  ")), "name"),
        (with(&|b| b["keywords"] = json!([])), "keywords"),
        (with(&|b| b["keywords"] = json!(["ok", ""])), "keywords[1]"),
        (with(&|b| b["target_results"] = json!(0)), "target_results"),
        (with(&|b| b["target_results"] = json!(100_001)), "100000"),
        (
            with(&|b| b["source"]["search_url"] = json!("https://example.com/search")),
            "{keyword}",
        ),
        (
            with(&|b| b["source"]["item_selector"] = json!("div[")),
            "item_selector",
        ),
        (with(&|b| b["source"] = json!({"kind": "ftp"})), "source"),
        (
            with(&|b| b["source"] = json!({"kind": "apify", "actor": "", "base_url": "http://x"})),
            "actor",
        ),
    ];
    for (body, mention) in cases {
        let response = app.post_campaign(&body).await;
        let status = response.status();
        let detail: Value = response.json().await.unwrap();
        assert_eq!(status, 422, "{body} → {detail}");
        // The source's own settings too are a campaign rule now, worded from a code; an
        // unknown kind of source is JSON that does not describe a campaign at all.
        let code = if mention == "source" {
            "invalid"
        } else {
            "invalid_campaign"
        };
        assert_eq!(detail["code"], code, "{detail}");
        let detail = detail["detail"].as_str().unwrap();
        assert!(detail.contains(mention), "{mention:?} not in {detail:?}");
    }
    let broken = app
        .client
        .post(format!("{}/api/campaigns", app.address))
        .bearer_auth(&app.token)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(broken.status(), 400);
    let list: Vec<Value> = app.get("/api/campaigns").await.json().await.unwrap();
    assert!(list.is_empty(), "nothing was created: {list:?}");
    let jobs: Vec<Value> = app.get("/api/jobs").await.json().await.unwrap();
    assert!(jobs.is_empty());
}

#[tokio::test]
async fn subscribe_campaign_streams_every_job_including_later_ones() {
    let app = app().await;
    let site = FixtureSite::start(FixtureConfig::default()).await;
    let (campaign, job) = app
        .start_campaign(&campaign_body(&site.spec(), &["rust", "axum"], 1_000))
        .await;
    let mut socket = app.ws(&format!("/api/ws?token={}", app.token), None).await;
    assert_eq!(next_msg(&mut socket).await["type"], "connected");
    send_json(
        &mut socket,
        &json!({"type": "subscribe_campaign", "campaign_id": campaign, "after_seq": 0}),
    )
    .await;
    let snapshot = next_msg(&mut socket).await;
    assert_eq!(snapshot["type"], "campaign_subscribed");
    assert_eq!(snapshot["campaign"]["jobs"][0]["id"], job.as_str());
    assert_eq!(next_msg(&mut socket).await["type"], "subscribed");
    let events = collect_until_terminal(&mut socket).await;
    let finished = app.job(job.as_str()).await;
    assert_eq!(seqs(&events), (1..=finished.last_seq).collect::<Vec<_>>());
    assert_eq!(
        events.iter().filter(|e| e["type"] == "item").count() as u64,
        finished.progress.sent
    );

    // A search added later is followed without asking.
    let again: JobView = app
        .client
        .post(format!("{}/api/campaigns/{campaign}/jobs", app.address))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let subscribed = next_msg(&mut socket).await;
    assert_eq!(subscribed["type"], "subscribed");
    assert_eq!(subscribed["job_id"], again.id.to_string());
    let events = collect_until_terminal(&mut socket).await;
    assert_eq!(events[0]["type"], "job_created");
    let finished = app.job(again.id).await;
    assert_eq!(seqs(&events), (1..=finished.last_seq).collect::<Vec<_>>());
}

#[tokio::test]
async fn another_tenants_campaign_is_not_found_anywhere() {
    let app = app().await;
    let site = FixtureSite::start(FixtureConfig::default()).await;
    let (campaign, job) = app
        .start_campaign(&campaign_body(&site.spec(), &["rust"], 5))
        .await;
    let other = app.other_tenant_token("globex").await;
    for path in [
        format!("/api/campaigns/{campaign}"),
        format!("/api/campaigns/{campaign}/results"),
        format!("/api/campaigns/{campaign}/results?format=csv"),
        format!("/api/jobs/{job}"),
    ] {
        let response = app.get_as(&other, &path).await;
        assert_eq!(response.status(), 404, "{path}");
    }
    let list: Vec<Value> = app
        .get_as(&other, "/api/campaigns")
        .await
        .json()
        .await
        .unwrap();
    assert!(list.is_empty());
    let rerun = app
        .client
        .post(format!("{}/api/campaigns/{campaign}/jobs", app.address))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(rerun.status(), 404);
    let mut socket = app.ws(&format!("/api/ws?token={other}"), None).await;
    next_msg(&mut socket).await;
    send_json(
        &mut socket,
        &json!({"type": "subscribe_campaign", "campaign_id": campaign}),
    )
    .await;
    let answer = next_msg(&mut socket).await;
    assert_eq!(
        answer,
        json!({"type": "error", "error": "campaign not found"})
    );
}

#[tokio::test]
async fn a_campaign_job_can_be_cancelled_while_a_page_hangs() {
    let app = app().await;
    let mut config = FixtureConfig::default();
    config.hanging.insert(FixtureSite::page_path("rust", 2));
    let site = FixtureSite::start(config).await;
    let mut spec = site.spec();
    spec.delay_ms = 0;
    let (_, job) = app
        .start_campaign(&campaign_body(&spec, &["rust"], 1_000))
        .await;
    // Wait until it is stuck on page 2.
    app.wait_for(job.as_str(), |j| j.progress.sent == 20).await;
    // One search at a time per campaign.
    let campaign = app.job(job.as_str()).await.campaign_id.unwrap();
    let again = app
        .client
        .post(format!("{}/api/campaigns/{campaign}/jobs", app.address))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    let detail: Value = again.json().await.unwrap();
    assert!(detail["detail"].as_str().unwrap().contains("still running"));
    assert_eq!(detail["code"], "invalid_campaign");
    let response = app.job_action(&job, "cancel", None).await;
    assert_eq!(response.status(), 200);
    let job = app.wait_until_finished(job.as_str()).await;
    assert_eq!(job.status, JobStatus::Cancelled);
    assert_eq!(
        job.progress.sent, 20,
        "what was found before the stop stays"
    );
    // Retrying items does not apply to searches.
    let retry = app.job_action(job.id, "retry-failed", None).await;
    assert_eq!(retry.status(), 409);
}

#[tokio::test]
async fn an_apify_campaign_runs_the_actor_and_reads_its_dataset() {
    let app = app().await;
    let apify = FakeApify::start(FakeApifyConfig {
        token: Some("apify-secret".into()),
        items: sample_items(130),
        polls_to_finish: 2,
        ..FakeApifyConfig::default()
    })
    .await;
    let spec = ApifySourceSpec {
        base_url: apify.url(),
        actor: "acme~posts".into(),
        token: "apify-secret".into(),
        input: None,
        url_field: "url".into(),
        title_field: Some("title".into()),
        author_field: Some("author.name".into()),
        text_field: Some("text".into()),
    };
    let mut source = serde_json::to_value(&spec).unwrap();
    source["kind"] = json!("apify");
    let (campaign, job) = app
        .start_campaign(&json!({
            "name": "Hashtag #rust",
            "platform": "instagram",
            "keywords": ["rust"],
            "target_results": 100,
            "source": source,
        }))
        .await;
    let job = app.wait_until_finished(job.as_str()).await;
    assert_eq!(job.status, JobStatus::Completed);
    assert_eq!(job.progress.sent, 100);
    assert_eq!(apify.inputs()[0]["maxItems"], 100);
    assert!(apify.polls() >= 2);
    let results = app.results(&campaign).await;
    assert_eq!(results.results[0].author.as_deref(), Some("@user1"));
    // The token is used, never shown back.
    let view: Value = app
        .get(&format!("/api/campaigns/{campaign}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(view["source"].get("token").is_none(), "{view}");
    assert!(!view.to_string().contains("apify-secret"));
}
