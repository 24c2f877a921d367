//! Finding jobs (text, status, kind, dates, keyset pages, counts per status) and acting on every
//! job a filter matches (`POST /jobs/bulk-action`).

use std::collections::HashSet;

use jobpulse::protocol::{JobStatus, JobView};
use serde_json::{Value, json};

use crate::helpers::{TestApp, phones, spawn_app_with};

/// Creates a send that must be accepted, with a name and tags.
async fn send(app: &TestApp, message: &str, name: Option<&str>, tags: &[&str]) -> JobView {
    let response = app
        .send_bulk(
            &json!({"message": message, "phones": phones(2), "devices_limit": 1,
                           "name": name, "tags": tags}),
        )
        .await;
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    let body: Value = response.json().await.unwrap();
    serde_json::from_value(body["job"].clone()).unwrap()
}

/// `GET /api/jobs?{query}`: the jobs and the next page's cursor.
async fn list(app: &TestApp, query: &str) -> (Vec<JobView>, Option<String>) {
    let response = app.get(&format!("/api/jobs?{query}")).await;
    assert_eq!(response.status(), 200, "{query}");
    let next = response
        .headers()
        .get("x-next-before")
        .map(|v| v.to_str().unwrap().to_owned());
    (response.json().await.unwrap(), next)
}

async fn bulk(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(format!("{}/api/jobs/bulk-action", app.address))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn jobs_are_found_by_text_status_kind_and_date_a_page_at_a_time() {
    // No engine: every job stays pending, so the counts below are exact.
    let app = spawn_app_with(|s| s.engine.enabled = false).await;
    let mut created = Vec::new();
    for n in 0..5 {
        created.push(
            send(
                &app,
                "Weekly digest",
                Some(&format!("Digest {n}")),
                &["weekly"],
            )
            .await,
        );
    }
    let friday = send(
        &app,
        "Black Friday: 30 % off",
        None,
        &[" VIP ", "vip", "november"],
    )
    .await;
    created.push(friday.clone());
    created.push(send(&app, "Hola", Some("Reminder 100%"), &[]).await);
    assert_eq!(friday.tags, ["VIP", "november"], "trimmed, repeats dropped");
    assert_eq!(created[0].name.as_deref(), Some("Digest 0"));

    // Keyset pages: every job once, newest first, the last page without a cursor.
    let mut seen = Vec::new();
    let mut query = "limit=3".to_owned();
    loop {
        let (page, next) = list(&app, &query).await;
        assert!(page.len() <= 3);
        seen.extend(page.iter().map(|job| job.id));
        match next {
            Some(before) => query = format!("limit=3&before={before}"),
            None => break,
        }
    }
    let mut newest_first: Vec<_> = created.iter().map(|job| job.id).collect();
    newest_first.reverse();
    assert_eq!(seen, newest_first);

    // Text: name, message or tag, ignoring case; LIKE's wildcards are plain characters.
    let ids = |jobs: Vec<JobView>| jobs.into_iter().map(|j| j.id).collect::<HashSet<_>>();
    assert_eq!(
        ids(list(&app, "q=black%20FRIDAY").await.0),
        HashSet::from([friday.id])
    );
    assert_eq!(ids(list(&app, "q=vip").await.0), HashSet::from([friday.id]));
    assert_eq!(list(&app, "q=digest").await.0.len(), 5);
    assert_eq!(list(&app, "q=100%25").await.0.len(), 1);
    assert_eq!(list(&app, "q=%25").await.0.len(), 2, "30 % and 100%");
    assert!(list(&app, "q=_").await.0.is_empty());

    // Status, kind and dates.
    assert_eq!(list(&app, "status=pending&kind=bulk_send").await.0.len(), 7);
    assert!(list(&app, "status=completed").await.0.is_empty());
    assert!(list(&app, "kind=scrape").await.0.is_empty());
    let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).date_naive();
    assert!(
        list(&app, &format!("created_after={tomorrow}"))
            .await
            .0
            .is_empty()
    );
    assert_eq!(
        list(&app, &format!("created_before={tomorrow}"))
            .await
            .0
            .len(),
        7
    );
    let first = created[0]
        .created_at
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let after_first = list(
        &app,
        &format!("created_after={}", first.replace('+', "%2B")),
    )
    .await
    .0;
    assert!(
        after_first.iter().any(|j| j.id == created[0].id),
        "created_after includes its time"
    );

    // Counts per status, for whatever else the filter says.
    let counts: Value = app
        .get("/api/jobs/counts?q=weekly")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(counts["pending"], 5);
    assert_eq!(counts["completed"], 0);
    assert_eq!(
        counts.as_object().unwrap().len(),
        6,
        "every status named: {counts}"
    );

    // Bad filters are named, with what would do.
    for (query, names) in [
        ("created_after=yesterday", "created_after"),
        ("before=not-a-job", "X-Next-Before"),
        ("status=done", "completed"),
        ("limit=0", "limit"),
    ] {
        let response = app.get(&format!("/api/jobs?{query}")).await;
        assert_eq!(response.status(), 400, "{query}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["detail"].as_str().unwrap().contains(names),
            "{query}: {body}"
        );
    }

    // Names and tags out of bounds create nothing.
    let too_many: Vec<String> = (0..21).map(|n| format!("t{n}")).collect();
    for body in [
        json!({"message": "x", "phones": phones(1), "tags": too_many}),
        json!({"message": "x", "phones": phones(1), "tags": ["t".repeat(51)]}),
        json!({"message": "x", "phones": phones(1), "name": "n".repeat(201)}),
    ] {
        let response = app.send_bulk(&body).await;
        assert_eq!(response.status(), 422);
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["code"], "invalid_bulk_send", "{problem}");
    }
    assert_eq!(list(&app, "").await.0.len(), 7);
}

#[tokio::test]
async fn a_search_is_listed_under_its_campaigns_name_and_tags() {
    // No engine, and a target above the size a request waits for: the search stays pending.
    let app = spawn_app_with(|s| s.engine.enabled = false).await;
    let response = app
        .client
        .post(format!("{}/api/campaigns", app.address))
        .bearer_auth(&app.token)
        .json(
            &json!({"name": "Coffee shops", "platform": "demo", "keywords": ["espresso"],
                      "target_results": 100, "source": {"kind": "sandbox"},
                      "tags": ["lisbon", "Q4"]}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202, "{}", response.text().await.unwrap());
    let (jobs, _) = list(&app, "kind=scrape&q=lisbon").await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].name.as_deref(), Some("Coffee shops"));
    assert_eq!(jobs[0].tags, ["lisbon", "Q4"]);
    assert_eq!(list(&app, "q=coffee").await.0.len(), 1);
}

#[tokio::test]
async fn a_bulk_action_acts_on_every_job_a_filter_matches_and_says_why_it_left_others() {
    let app = spawn_app_with(|s| s.engine.enabled = false).await;
    let mut tagged = Vec::new();
    for _ in 0..4 {
        tagged.push(send(&app, "Tagged", None, &["pause-me"]).await.id);
    }
    let other = send(&app, "Other", None, &[]).await.id;
    let stranger_token = app.other_tenant_token("globex").await;
    let stranger = app
        .send_bulk_as(
            &stranger_token,
            &json!({"message": "Theirs", "phones": phones(1)}),
        )
        .await;
    assert_eq!(stranger.status(), 202);
    let stranger: Value = stranger.json().await.unwrap();
    let stranger = stranger["job"]["id"].as_str().unwrap().to_owned();

    let response = bulk(
        &app,
        &app.token,
        &json!({"action": "pause", "filter": {"q": "pause-me"}}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let result: Value = response.json().await.unwrap();
    assert_eq!(
        (result["matched"].as_u64(), result["changed"].as_u64()),
        (Some(4), Some(4)),
        "{result}"
    );
    for id in &tagged {
        assert_eq!(app.job(id).await.status, JobStatus::Paused);
    }
    assert_eq!(app.job(other).await.status, JobStatus::Pending);

    // Every job, asked for in so many words: the paused ones resume, the pending one is refused
    // with its reason, and the other tenant's job is not even seen.
    let result: Value = bulk(&app, &app.token, &json!({"action": "resume", "filter": {}}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(result["matched"], 5, "{result}");
    assert_eq!(result["changed"], 4, "{result}");
    let refused = result["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0]["id"], json!(other));
    assert_eq!(refused[0]["refusal"]["code"], "already_running", "{result}");
    assert!(!refused[0]["detail"].as_str().unwrap().is_empty());

    let result: Value = bulk(
        &app,
        &app.token,
        &json!({"action": "cancel", "filter": {"status": "pending"}}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        (result["matched"].as_u64(), result["changed"].as_u64()),
        (Some(5), Some(5)),
        "{result}"
    );
    let counts: Value = app.get("/api/jobs/counts").await.json().await.unwrap();
    assert_eq!(counts["cancelled"], 5);
    let theirs: Value = app
        .get_as(&stranger_token, &format!("/api/jobs/{stranger}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        theirs["status"], "pending",
        "another tenant's job is untouched"
    );

    // No filter at all is refused (acting on everything takes "filter": {}), as is a bad one.
    for body in [
        json!({"action": "cancel"}),
        json!({"action": "cancel", "filter": {"created_after": "soon"}}),
        json!({"action": "explode", "filter": {}}),
    ] {
        let response = bulk(&app, &app.token, &body).await;
        assert_eq!(response.status(), 422, "{body}");
        let problem: Value = response.json().await.unwrap();
        assert!(!problem["detail"].as_str().unwrap().is_empty());
    }
}

#[tokio::test]
async fn a_number_is_found_in_every_send_of_the_tenant_with_its_outcome() {
    let app = crate::helpers::spawn_app().await;
    // The fake provider refuses numbers ending in 13: the 4th of `phones`.
    let list = phones(4);
    let (ok, refused) = (list[0].clone(), list[3].clone());
    let first = app.create_job(&list, 2).await;
    app.wait_until_finished(first.id).await;
    let second = send(&app, "Second round", Some("Round two"), &[]).await;
    app.wait_until_finished(second.id).await;
    let stranger = app.other_tenant_token("globex").await;
    let theirs = app
        .send_bulk_as(&stranger, &json!({"message": "Theirs", "phones": [ok]}))
        .await;
    assert_eq!(theirs.status(), 202);

    let found: Vec<Value> = app
        .get(&format!("/api/recipients/{}", ok.replace('+', "%2B")))
        .await
        .json()
        .await
        .unwrap();
    let jobs: Vec<&str> = found
        .iter()
        .map(|i| i["job_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        jobs,
        [second.id.to_string(), first.id.to_string()],
        "newest send first, the tenant's only"
    );
    assert_eq!(found[0]["job_name"], "Round two");
    assert_eq!(found[0]["status"], "sent");
    assert_eq!(found[0]["recipient"], json!(ok));
    assert_eq!(found[1]["job_message"], "Hola!");

    let failed: Vec<Value> = app
        .get(&format!("/api/recipients/{}", refused.replace('+', "%2B")))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["status"], "failed");
    assert!(
        !failed[0]["error"].as_str().unwrap_or_default().is_empty(),
        "{failed:?}"
    );
    assert!(failed[0]["attempts"].as_u64().unwrap() >= 1);

    // Spaces and dashes as people type them; a number in no send; something that is no number.
    let spaced = format!("{} {} {}", &ok[..3], &ok[3..6], &ok[6..])
        .replace('+', "%2B")
        .replace(' ', "%20");
    let again: Vec<Value> = app
        .get(&format!("/api/recipients/{spaced}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again.len(), 2);
    let none: Vec<Value> = app
        .get("/api/recipients/%2B34699999999")
        .await
        .json()
        .await
        .unwrap();
    assert!(none.is_empty());
    let response = app.get("/api/recipients/hello").await;
    assert_eq!(response.status(), 400);
    let problem: Value = response.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("not a phone number"),
        "{problem}"
    );
}
