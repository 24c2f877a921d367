//! `GET /metrics`: Prometheus text, behind the metrics token when one is set.

use crate::helpers::{phones, spawn_app, spawn_app_with};

/// The value of the sample whose line starts with `series` (name and labels as rendered).
fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

#[tokio::test]
async fn metrics_count_jobs_items_events_and_requests_by_route() {
    let app = spawn_app_with(|s| s.metrics_token = "scrape-me".into()).await;
    let list = phones(30);
    let refused = list.iter().filter(|p| p.ends_with("13")).count() as f64;
    let job = app.create_job(&list, 3).await;
    app.wait_until_finished(job.id).await;
    assert_eq!(
        app.get(&format!("/api/jobs/{}", job.id)).await.status(),
        200
    );

    let url = format!("{}/metrics", app.address);
    let anonymous = app.client.get(&url).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let wrong = app
        .client
        .get(&url)
        .bearer_auth("guess")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let scraped = app
        .client
        .get(&url)
        .bearer_auth("scrape-me")
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status(), 200);
    assert!(
        scraped.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let body = scraped.text().await.unwrap();

    // Jobs are read from this server's database at the scrape.
    assert_eq!(
        sample(&body, "jobpulse_jobs{status=\"completed\"}"),
        Some(1.0),
        "{body}"
    );
    assert_eq!(
        sample(&body, "jobpulse_jobs{status=\"processing\"}"),
        Some(0.0)
    );
    // Counters are the process's (other tests' servers share it): at least this job's.
    let sent = sample(&body, "jobpulse_items_total{status=\"sent\"}").unwrap();
    let failed = sample(&body, "jobpulse_items_total{status=\"failed\"}").unwrap();
    assert!(sent >= 30.0 - refused && failed >= refused, "{body}");
    assert!(sample(&body, "jobpulse_events_published_total").unwrap() >= 30.0);
    assert!(sample(&body, "jobpulse_ws_connections").is_some());
    // Requests are timed by route pattern: no job id ever becomes a label.
    assert!(
        body.lines().any(
            |l| l.starts_with("jobpulse_http_request_duration_seconds_bucket")
                && l.contains("route=\"/api/jobs/{id}\"")
                && l.contains("status=\"200\"")
        ),
        "{body}"
    );
    assert!(!body.contains(&job.id.to_string()), "a job id in a label");
}

#[tokio::test]
async fn without_a_token_the_metrics_are_open() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(format!("{}/metrics", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("jobpulse_jobs{status=\"pending\"} 0")
    );
}
