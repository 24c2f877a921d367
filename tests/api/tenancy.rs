use serde_json::Value;

use crate::helpers::{next_msg, phones, send_json, spawn_app};

#[tokio::test]
async fn another_tenants_job_answers_like_a_missing_one() {
    let app = spawn_app().await;
    let job = app.create_job(&phones(3), 1).await;
    let other = app.other_tenant_token("globex").await;
    let missing = uuid::Uuid::now_v7();

    for path in [
        format!("/api/jobs/{}", job.id),
        format!("/api/jobs/{}/events", job.id),
        format!("/api/jobs/{}/items", job.id),
    ] {
        let theirs = app.get_as(&other, &path).await;
        let status = theirs.status();
        let theirs: Value = theirs.json().await.unwrap();
        let nobody = app
            .get_as(
                &other,
                &path.replace(&job.id.to_string(), &missing.to_string()),
            )
            .await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(nobody.status(), 404, "{path}");
        assert_eq!(theirs, nobody.json::<Value>().await.unwrap(), "{path}");
    }
    let listed: Vec<Value> = app.get_as(&other, "/api/jobs").await.json().await.unwrap();
    assert!(listed.is_empty());

    let mut socket = app.ws(&format!("/api/ws?token={other}"), None).await;
    assert_eq!(next_msg(&mut socket).await["type"], "connected");
    for id in [job.id.to_string(), missing.to_string()] {
        send_json(
            &mut socket,
            &serde_json::json!({"type": "subscribe_job", "job_id": id}),
        )
        .await;
        let answer = next_msg(&mut socket).await;
        assert_eq!(answer["type"], "error");
        assert_eq!(answer["error"], "job not found");
        assert_eq!(answer["job_id"], id);
        assert!(answer.get("seq").is_none());
    }
}

#[tokio::test]
async fn the_suite_runs_on_the_database_it_was_asked_for() {
    let app = crate::helpers::spawn_app().await;
    assert_eq!(
        app.settings.database_url.starts_with("postgres://"),
        crate::helpers::postgres_pass(),
        "{}",
        app.settings.database_url
    );
    // And the app really answers from it.
    assert_eq!(app.get("/api/jobs").await.status(), 200);
}
