use futures::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{collect_until_terminal, next_msg, phones, send_json, spawn_app};

fn seqs(events: &[Value]) -> Vec<u64> {
    events.iter().map(|e| e["seq"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn the_job_socket_delivers_every_seq_once_in_order() {
    let app = spawn_app().await;
    let job = app.create_job(&phones(600), 5).await;
    let mut socket = app
        .ws(
            &format!("/api/ws/job/{}?token={}&after_seq=0", job.id, app.token),
            None,
        )
        .await;
    assert_eq!(next_msg(&mut socket).await["type"], "connected");
    let subscribed = next_msg(&mut socket).await;
    assert_eq!(subscribed["type"], "subscribed");
    assert_eq!(subscribed["job_id"], job.id.to_string());
    assert_eq!(subscribed["job"]["id"], job.id.to_string());

    let events = collect_until_terminal(&mut socket).await;
    let finished = app.job(job.id).await;
    assert_eq!(seqs(&events), (1..=finished.last_seq).collect::<Vec<_>>());
    assert_eq!(events[0]["type"], "job_created");
    assert_eq!(events.last().unwrap()["type"], "job_completed");
    assert_eq!(
        events.last().unwrap()["results"]["sent"],
        finished.progress.sent
    );
    let progress = events.iter().filter(|e| e["type"] == "progress").count() as u64;
    let errors = events.iter().filter(|e| e["type"] == "error").count() as u64;
    assert_eq!(progress, finished.progress.sent);
    assert_eq!(errors, finished.progress.failed);
    // Counters in events never go backwards.
    let mut done = 0;
    for event in events.iter().filter(|e| e.get("progress").is_some()) {
        let p = &event["progress"];
        let now = p["sent"].as_u64().unwrap() + p["failed"].as_u64().unwrap();
        assert!(now >= done);
        done = now;
    }
}

#[tokio::test]
async fn subscribing_by_message_streams_from_the_snapshot() {
    let app = spawn_app().await;
    let job = app.create_job(&phones(400), 4).await;
    let mut socket = app.ws("/api/ws", Some(&app.token)).await;
    assert_eq!(next_msg(&mut socket).await["type"], "connected");
    send_json(
        &mut socket,
        &json!({"type": "subscribe_job", "job_id": job.id}),
    )
    .await;
    let subscribed = next_msg(&mut socket).await;
    assert_eq!(subscribed["type"], "subscribed");
    let from = subscribed["last_seq"].as_u64().unwrap();
    assert_eq!(subscribed["job"]["last_seq"], from);
    let events = if subscribed["job"]["status"] == "completed" {
        Vec::new()
    } else {
        collect_until_terminal(&mut socket).await
    };
    let finished = app.job(job.id).await;
    assert_eq!(
        seqs(&events),
        (from + 1..=finished.last_seq).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_resubscription_with_after_seq_replays_exactly_the_rest() {
    let app = spawn_app().await;
    let job = app.create_job(&phones(120), 3).await;
    let finished = app.wait_until_finished(job.id).await;
    let mut socket = app.ws("/api/ws", Some(&app.token)).await;
    next_msg(&mut socket).await;
    for after in [0, 57, finished.last_seq - 1] {
        send_json(
            &mut socket,
            &json!({"type": "subscribe_job", "job_id": job.id, "after_seq": after}),
        )
        .await;
        assert_eq!(next_msg(&mut socket).await["type"], "subscribed");
        let events = collect_until_terminal(&mut socket).await;
        assert_eq!(
            seqs(&events),
            (after + 1..=finished.last_seq).collect::<Vec<_>>()
        );
    }
}

#[tokio::test]
async fn ping_gets_pong_and_bad_messages_get_protocol_errors() {
    let app = spawn_app().await;
    let mut socket = app.ws(&format!("/api/ws?token={}", app.token), None).await;
    next_msg(&mut socket).await;
    send_json(
        &mut socket,
        &json!({"type": "ping", "timestamp": 1_700_000_000_000_i64}),
    )
    .await;
    assert_eq!(
        next_msg(&mut socket).await,
        json!({"type": "pong", "timestamp": 1_700_000_000_000_i64})
    );

    socket
        .send(Message::Text("{not json".into()))
        .await
        .unwrap();
    let error = next_msg(&mut socket).await;
    assert_eq!(error["type"], "error");
    assert!(error.get("job_id").is_none());

    send_json(&mut socket, &json!({"type": "launch_rockets"})).await;
    let error = next_msg(&mut socket).await;
    assert_eq!(error["type"], "error");
    assert!(error["error"].as_str().unwrap().contains("unknown"));

    socket
        .send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    let error = next_msg(&mut socket).await;
    assert!(error["error"].as_str().unwrap().contains("binary"));

    // Still open after all that.
    send_json(&mut socket, &json!({"type": "ping", "timestamp": 7})).await;
    assert_eq!(next_msg(&mut socket).await["type"], "pong");
}

#[tokio::test]
async fn a_socket_can_authenticate_with_its_first_message() {
    let app = spawn_app().await;
    let job = app.create_job(&phones(5), 1).await;
    let mut socket = app.ws(&format!("/api/ws/job/{}", job.id), None).await;
    assert_eq!(next_msg(&mut socket).await["type"], "connected");
    send_json(&mut socket, &json!({"type": "auth", "token": app.token})).await;
    let subscribed = next_msg(&mut socket).await;
    assert_eq!(subscribed["type"], "subscribed");
    assert_eq!(subscribed["job_id"], job.id.to_string());
}

#[tokio::test]
async fn a_socket_with_a_wrong_token_is_refused() {
    let app = spawn_app().await;
    let url = format!("ws://127.0.0.1:{}/api/ws?token=jp_wrong", app.port);
    let error = tokio_tungstenite::connect_async(url).await.unwrap_err();
    match error {
        tokio_tungstenite::tungstenite::Error::Http(response) => assert_eq!(response.status(), 401),
        other => panic!("expected a 401, got {other:?}"),
    }
}

#[tokio::test]
async fn a_socket_from_a_foreign_origin_is_refused() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let app = spawn_app().await;
    for origin in ["https://evil.example", "http://127.0.0.1.evil.net"] {
        let mut request = format!("ws://127.0.0.1:{}/api/ws?token={}", app.port, app.token)
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
        let error = tokio_tungstenite::connect_async(request).await.unwrap_err();
        match error {
            tokio_tungstenite::tungstenite::Error::Http(response) => {
                assert_eq!(response.status(), 403)
            }
            other => panic!("expected a 403 for {origin}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn new_jobs_reach_sockets_that_follow_the_tenant() {
    let app = spawn_app().await;
    let other = app.other_tenant_token("globex").await;
    let mut socket = app.ws("/api/ws", Some(&app.token)).await;
    next_msg(&mut socket).await;
    send_json(&mut socket, &json!({"type": "subscribe_jobs"})).await;
    // Another tenant's job must not show up; ours must.
    let response = app
        .send_bulk_as(&other, &json!({"message": "x", "phones": phones(1)}))
        .await;
    assert_eq!(response.status(), 202);
    let job = app.create_job(&phones(2), 1).await;
    let created = next_msg(&mut socket).await;
    assert_eq!(created["type"], "job_created");
    assert_eq!(created["job_id"], job.id.to_string());
    assert_eq!(created["seq"], 1);
}
