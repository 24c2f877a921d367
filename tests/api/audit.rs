//! The audit log: what a tenant's callers did, by whom and from where, newest first; refused
//! requests leave nothing, and another tenant sees nothing.

use serde_json::{Value, json};

use crate::helpers::{TestApp, phones, spawn_app};

async fn add_opt_out(app: &TestApp) -> reqwest::Response {
    app.client
        .post(format!("{}/api/opt-outs", app.address))
        .bearer_auth(&app.token)
        .json(&json!({"phone": "+34600000777"}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn what_callers_did_is_logged_with_who_and_where_newest_first() {
    let app = spawn_app().await;
    let job = app.create_job(&phones(5), 1).await;
    app.wait_until_finished(job.id).await;
    // Refused (the job has ended): not something that was done.
    assert_eq!(app.job_action(job.id, "pause", None).await.status(), 409);
    let response = add_opt_out(&app).await;
    assert_eq!(response.status(), 201);
    // Listed already: nothing changed, nothing logged.
    let again = add_opt_out(&app).await;
    assert_eq!(again.status(), 200);
    let hook: Value = app
        .client
        .post(format!("{}/api/hooks", app.address))
        .bearer_auth(&app.token)
        .json(&json!({"url": "https://hooks.example.com/x", "events": ["job.failed"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hook_id = hook["hook"]["id"].as_str().unwrap();
    let deleted = app
        .client
        .delete(format!("{}/api/hooks/{hook_id}", app.address))
        .bearer_auth(&app.token)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 204);

    let response = app.get("/api/audit").await;
    assert_eq!(response.status(), 200);
    let entries: Vec<Value> = response.json().await.unwrap();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["hook.delete", "hook.create", "opt_out.add", "job.create"]
    );
    for entry in &entries {
        assert_eq!(entry["actor_kind"], "token", "{entry}");
        // The token's name, never its secret or hash.
        assert_eq!(entry["actor"], "created with the tenant", "{entry}");
        assert_eq!(entry["ip"], "127.0.0.1", "{entry}");
    }
    assert_eq!(entries[3]["target_kind"], "job");
    assert_eq!(entries[3]["target_id"], job.id.to_string());
    assert_eq!(entries[2]["target_id"], "+34600000777");
    assert_eq!(entries[1]["detail"], "https://hooks.example.com/x");
    assert_eq!(entries[0]["target_id"], hook_id);

    // Keyset paging by id.
    let first: Vec<Value> = app.get("/api/audit?limit=2").await.json().await.unwrap();
    assert_eq!(first.len(), 2);
    let last = first[1]["id"].as_str().unwrap();
    let next: Vec<Value> = app
        .get(&format!("/api/audit?limit=2&before={last}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(next, entries[2..4].to_vec());
    let bad = app.get("/api/audit?before=yesterday").await;
    assert_eq!(bad.status(), 400);
    let problem: Value = bad.json().await.unwrap();
    assert_eq!(problem["request_rule"], "entry_cursor");

    let other = app.other_tenant_token("globex").await;
    let theirs: Vec<Value> = app.get_as(&other, "/api/audit").await.json().await.unwrap();
    assert!(theirs.is_empty(), "{theirs:?}");
}
