use serde_json::{Value, json};

use crate::helpers::{TestApp, phones, spawn_app};

async fn assert_rejected(app: &TestApp, body: Value, status: u16, detail_contains: &str) -> Value {
    let response = app.send_bulk(&body).await;
    assert_eq!(response.status(), status, "body: {body:.200}");
    let answer: Value = response.json().await.unwrap();
    let detail = answer["detail"].as_str().expect("every error has a detail");
    assert!(
        answer["code"].is_string(),
        "every error has a code: {answer}"
    );
    assert!(
        detail.contains(detail_contains),
        "{detail:?} should mention {detail_contains:?}"
    );
    answer
}

async fn assert_nothing_created(app: &TestApp) {
    let jobs: Vec<Value> = app.get("/api/jobs").await.json().await.unwrap();
    assert!(
        jobs.is_empty(),
        "no job may be created by bad input: {jobs:?}"
    );
    assert!(app.provider.requests().is_empty());
}

#[tokio::test]
async fn bad_bulk_sends_get_a_clear_4xx_and_create_nothing() {
    let app = spawn_app().await;
    let ok = phones(3);
    assert_rejected(&app, json!({"message": "Hola", "phones": []}), 422, "empty").await;
    let too_many = vec!["+34600000001"; 100_001];
    assert_rejected(
        &app,
        json!({"message": "Hola", "phones": too_many}),
        422,
        "100,000",
    )
    .await;
    assert_rejected(
        &app,
        json!({"message": "Hola", "phones": ok, "devices_limit": 0}),
        422,
        "between 1 and 50",
    )
    .await;
    assert_rejected(
        &app,
        json!({"message": "Hola", "phones": ok, "devices_limit": 51}),
        422,
        "got 51",
    )
    .await;
    assert_rejected(&app, json!({"message": "", "phones": ok}), 422, "empty").await;
    assert_rejected(
        &app,
        json!({"message": "   \n", "phones": ok}),
        422,
        "empty",
    )
    .await;
    assert_rejected(
        &app,
        json!({"message": "x".repeat(4_097), "phones": ok}),
        422,
        "4,096",
    )
    .await;
    assert_rejected(
        &app,
        json!({"message": "Hola", "phones": ok, "devices_limit": "five"}),
        422,
        "devices_limit",
    )
    .await;
    assert_rejected(&app, json!({"phones": ok}), 422, "message").await;

    let response = app
        .client
        .post(format!("{}/api/messages/send-bulk", app.address))
        .bearer_auth(&app.token)
        .header("content-type", "application/json")
        .body("{\"message\": \"Hola\", \"phones\": [")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let answer: Value = response.json().await.unwrap();
    assert!(
        answer["detail"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );

    let response = app
        .client
        .post(format!("{}/api/messages/send-bulk", app.address))
        .bearer_auth(&app.token)
        .body("message=Hola")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let answer: Value = response.json().await.unwrap();
    assert!(answer["detail"].as_str().unwrap().contains("Content-Type"));

    assert_nothing_created(&app).await;
}

#[tokio::test]
async fn invalid_and_duplicate_phones_are_reported_per_entry() {
    let app = spawn_app().await;
    let answer = assert_rejected(
        &app,
        json!({"message": "Hola", "phones": ["+34600000001", "abc", "+34 600 000 001", "+34 123", "600000002"]}),
        422,
        "not valid",
    )
    .await;
    let invalid = answer["invalid"].as_array().unwrap();
    let indexes: Vec<u64> = invalid
        .iter()
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    // Test settings set no default region, so a number without +country is refused.
    assert_eq!(indexes, [1, 2, 3, 4]);
    assert_eq!(invalid[0]["phone"], "abc");
    assert_eq!(invalid[0]["reason"], "not a phone number");
    // The same issue as a code, for clients that word it themselves.
    assert_eq!(invalid[0]["issue"], "not_a_number");
    assert!(
        invalid[1]["reason"]
            .as_str()
            .unwrap()
            .contains("duplicate of entry 1")
    );
    assert!(
        invalid[3]["reason"]
            .as_str()
            .unwrap()
            .contains("country code")
    );
    assert_nothing_created(&app).await;
}

#[tokio::test]
async fn requests_without_a_valid_token_are_refused() {
    let app = spawn_app().await;
    let body = json!({"message": "Hola", "phones": phones(2)});
    let response = app
        .client
        .post(format!("{}/api/messages/send-bulk", app.address))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let answer: Value = response.json().await.unwrap();
    assert!(answer["detail"].as_str().unwrap().contains("Bearer"));
    let response = app.send_bulk_as("jp_not-a-real-token", &body).await;
    assert_eq!(response.status(), 401);
    assert_eq!(app.get_as("nope", "/api/jobs").await.status(), 401);
    assert_nothing_created(&app).await;
}

#[tokio::test]
async fn unknown_api_paths_answer_json_not_html() {
    let app = spawn_app().await;
    let response = app.get("/api/nothing/here").await;
    assert_eq!(response.status(), 404);
    let answer: Value = response.json().await.unwrap();
    assert!(answer["detail"].is_string());
    assert_eq!(answer["code"], "not_found");
    let response = app.get("/api/jobs/not-a-uuid").await;
    assert_eq!(response.status(), 404);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["detail"], "Job not found.");
    assert_eq!(answer["code"], "not_found");
}
