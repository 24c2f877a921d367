//! The start forms' server functions: every rule a submission breaks comes back at once (each
//! one is shown under its field), nothing is created, and a pasted list is checked before it
//! is sent.

use jobpulse::server::store::Role;
use serde_json::{Value, json};

use crate::helpers::{TestApp, spawn_app_with};
use crate::security::user;

/// The rule names of a refused form, in the order the server gives them.
fn rules(outcome: &Value) -> Vec<String> {
    outcome["Rejected"]["rules"]
        .as_array()
        .unwrap_or_else(|| panic!("not refused: {outcome}"))
        .iter()
        .map(|rule| rule["rule"].as_str().unwrap().to_owned())
        .collect()
}

async fn jobs(app: &TestApp) -> usize {
    let jobs: Vec<Value> = app.get("/api/jobs").await.json().await.unwrap();
    jobs.len()
}

#[tokio::test]
async fn a_bulk_form_with_several_mistakes_hears_of_all_of_them_at_once() {
    let app = spawn_app_with(|s| s.engine.enabled = false).await;
    let ana = user(&app, "acme", "ana", Role::Operator).await;
    let response = ana
        .call(
            &app,
            "start_bulk_send",
            &[
                ("message", "   "),
                ("recipients", "+34600000001\nnot a number\n+34 600 000 001"),
                ("devices_limit", "many"),
                ("name", &"n".repeat(201)),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let outcome: Value = response.json().await.unwrap();
    assert_eq!(
        rules(&outcome),
        [
            "message_empty",
            "name_too_long",
            "devices_out_of_range",
            "some_phones_invalid"
        ]
    );
    let devices = &outcome["Rejected"]["rules"][2];
    assert_eq!(devices["got"], "many", "{devices}");
    // The recipients were checked too: by line, with why.
    let lines = outcome["Rejected"]["lines"].as_array().unwrap();
    let issues: Vec<(u64, &str)> = lines
        .iter()
        .map(|l| {
            (
                l["line"].as_u64().unwrap(),
                l["issue"]["issue"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(issues, [(2, "not_a_number"), (3, "duplicate")]);
    assert_eq!(jobs(&app).await, 0, "nothing is created");

    // Fixed, it is taken.
    let response = ana
        .call(
            &app,
            "start_bulk_send",
            &[
                ("message", "Hola"),
                ("recipients", "+34600000001\n+34600000002"),
                ("devices_limit", "2"),
            ],
        )
        .await;
    let outcome: Value = response.json().await.unwrap();
    assert!(outcome["Created"]["job_id"].is_string(), "{outcome}");
    assert_eq!(jobs(&app).await, 1);
}

#[tokio::test]
async fn a_campaign_form_with_several_mistakes_hears_of_all_of_them_at_once() {
    let app = spawn_app_with(|s| s.engine.enabled = false).await;
    let ana = user(&app, "acme", "ana", Role::Operator).await;
    let response = ana
        .call(
            &app,
            "start_campaign",
            &[
                ("name", ""),
                ("platform", "Web"),
                ("keywords", ""),
                ("target_results", "lots"),
                ("source", "http"),
                ("search_url", "https://example.com/search"),
                ("item_selector", "div.result["),
                ("link_selector", "a"),
                ("delay_ms", "soon"),
                ("max_pages", "0"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let outcome: Value = response.json().await.unwrap();
    assert_eq!(
        rules(&outcome),
        [
            "target_out_of_range",
            "not_a_number",
            "empty",
            "no_keywords",
            "source",
            "source",
            "source"
        ],
        "{outcome}"
    );
    let source_rules: Vec<&str> = outcome["Rejected"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|rule| rule["source_rule"].as_str())
        .collect();
    assert_eq!(
        source_rules,
        ["no_placeholder", "bad_selector", "max_pages_out_of_range"]
    );
    let campaigns: Vec<Value> = app.get("/api/campaigns").await.json().await.unwrap();
    assert!(campaigns.is_empty(), "nothing is created");
}

#[tokio::test]
async fn a_pasted_list_is_counted_as_a_send_would_count_it() {
    let app = spawn_app_with(|s| s.engine.enabled = false).await;
    let listed = app
        .client
        .post(format!("{}/api/opt-outs", app.address))
        .bearer_auth(&app.token)
        .json(&json!({"phone": "+34600000009"}))
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 201);
    let ana = user(&app, "acme", "ana", Role::Operator).await;
    let list = "+34600000001, +34600000002\nnope\n+34 600 000 001\n+34600000009\n+34600000003";
    let response = ana
        .call(&app, "check_recipients", &[("recipients", list)])
        .await;
    assert_eq!(response.status(), 200);
    let check: Value = response.json().await.unwrap();
    assert_eq!(
        check,
        json!({
            "entries": 6,
            "valid": 3,
            "invalid": [2],
            "duplicates": [3],
            "opted_out": [4],
            "too_many": false
        })
    );
    // Past the limit of one send, the list is counted but not parsed.
    let huge = "+34600000001\n".repeat(100_001);
    let check: Value = ana
        .call(&app, "check_recipients", &[("recipients", &huge)])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(check["entries"], 100_001);
    assert_eq!(check["too_many"], true);
    assert_eq!(jobs(&app).await, 0, "checking sends nothing");
    // Viewers cannot start sends, so they have nothing to check.
    let vera = user(&app, "acme", "vera", Role::Viewer).await;
    let refused = vera
        .call(&app, "check_recipients", &[("recipients", list)])
        .await;
    assert_eq!(refused.status(), 403);
}
