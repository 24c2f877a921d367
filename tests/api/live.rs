use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{
    collect_until_terminal, next_msg, phones, send_json, spawn_app, spawn_app_with,
};

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
    // Each failure carries its reason as a code beside the sentence (the fake provider explains
    // its refusals in the answer's body).
    for error in events.iter().filter(|e| e["type"] == "error") {
        assert_eq!(error["error"], "recipient not on WhatsApp");
        assert_eq!(
            error["fault"],
            json!({"code": "provider_said", "text": "recipient not on WhatsApp"})
        );
    }
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

/// Another instance's next announcement must make the bridge read only what came after the
/// snapshot; before this, the first one after a subscribe read the job's whole log.
#[tokio::test]
async fn a_snapshot_tells_the_hub_what_this_instance_has_seen() {
    let app = spawn_app().await;
    let job = app.create_job(&phones(300), 3).await;
    let finished = app.wait_until_finished(job.id).await;
    assert_eq!(app.state.hub.followed_seq(job.id), None);
    let mut socket = app.ws("/api/ws", Some(&app.token)).await;
    next_msg(&mut socket).await;
    send_json(
        &mut socket,
        &json!({"type": "subscribe_job", "job_id": job.id}),
    )
    .await;
    let subscribed = next_msg(&mut socket).await;
    assert_eq!(subscribed["last_seq"], finished.last_seq);
    assert_eq!(app.state.hub.followed_seq(job.id), Some(finished.last_seq));
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

/// Reads events until seq `until` (or the job's end), returning their seqs.
async fn read_until(socket: &mut crate::helpers::Socket, until: u64) -> Vec<u64> {
    let mut seqs = Vec::new();
    loop {
        let msg = next_msg(socket).await;
        let terminal = matches!(
            msg["type"].as_str(),
            Some("job_completed" | "job_failed" | "job_cancelled")
        );
        if let Some(seq) = msg["seq"].as_u64() {
            seqs.push(seq);
            if seq >= until || terminal {
                return seqs;
            }
        }
    }
}

#[tokio::test]
async fn a_client_that_drops_mid_job_resumes_without_gap_or_duplicate() {
    let app = spawn_app().await;
    app.provider
        .set(|b| b.latency = std::time::Duration::from_millis(4));
    let job = app.create_job(&phones(600), 3).await;
    let path = |after: u64| {
        format!(
            "/api/ws/job/{}?token={}&after_seq={after}",
            job.id, app.token
        )
    };
    let mut seen = Vec::new();

    // A short drop: reconnect at once.
    let mut socket = app.ws(&path(0), None).await;
    seen.extend(read_until(&mut socket, 60).await);
    drop(socket);
    let mut socket = app.ws(&path(*seen.last().unwrap()), None).await;
    seen.extend(read_until(&mut socket, 200).await);
    drop(socket);

    // A long drop: come back only after the job has ended.
    let finished = app.wait_until_finished(job.id).await;
    let mut socket = app.ws(&path(*seen.last().unwrap()), None).await;
    seen.extend(read_until(&mut socket, finished.last_seq).await);
    assert_eq!(seen, (1..=finished.last_seq).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_client_asking_for_pruned_events_gets_a_resync() {
    let app = spawn_app().await;
    let job = app.create_job(&phones(20), 2).await;
    let finished = app.wait_until_finished(job.id).await;
    // As if the retention window had passed.
    let pruned = app
        .state
        .store
        .prune_events(chrono::Utc::now() + chrono::Duration::days(1))
        .await
        .unwrap();
    assert_eq!(pruned, finished.last_seq);
    let page: Value = app
        .get(&format!("/api/jobs/{}/events", job.id))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["events"], json!([]));
    assert_eq!(page["last_seq"], finished.last_seq);

    let mut socket = app
        .ws(
            &format!("/api/ws/job/{}?token={}&after_seq=3", job.id, app.token),
            None,
        )
        .await;
    assert_eq!(next_msg(&mut socket).await["type"], "connected");
    assert_eq!(next_msg(&mut socket).await["type"], "subscribed");
    let resync = next_msg(&mut socket).await;
    assert_eq!(resync["type"], "resync");
    assert_eq!(resync["job"]["status"], "completed");
    assert_eq!(resync["job"]["last_seq"], finished.last_seq);
}

#[tokio::test]
async fn a_client_that_stops_reading_is_closed_without_slowing_the_others() {
    let app = spawn_app_with(|s| {
        s.live.send_timeout_ms = 300;
        s.live.channel_capacity = 16;
    })
    .await;
    let job = app.create_job(&phones(20_000), 50).await;
    // The slow client: a tiny receive buffer, and it never reads.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket
        .connect(([127, 0, 0, 1], app.port).into())
        .await
        .unwrap();
    let url = format!(
        "ws://127.0.0.1:{}/api/ws/job/{}?token={}&after_seq=0",
        app.port, job.id, app.token
    );
    let (slow, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();

    let mut fast = app
        .ws(
            &format!("/api/ws/job/{}?token={}&after_seq=0", job.id, app.token),
            None,
        )
        .await;
    let events = collect_until_terminal(&mut fast).await;
    let finished = app.job(job.id).await;
    assert_eq!(seqs(&events), (1..=finished.last_seq).collect::<Vec<_>>());

    // The slow one is gone (its task and buffers freed); the fast one is still connected.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    while app.state.hub.live_connections() > 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slow client was not closed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    drop(slow);
}

#[tokio::test]
async fn a_client_that_never_answers_pings_is_dropped() {
    let app = spawn_app_with(|s| {
        s.live.ping_interval_ms = 100;
        s.live.idle_timeout_ms = 300;
    })
    .await;
    // Connected, and then silent: it reads nothing, so it never answers a ping.
    let silent = app.ws(&format!("/api/ws?token={}", app.token), None).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let open = app.state.hub.live_connections();
        if open == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{open} connections still open"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    drop(silent);
}

#[tokio::test]
async fn an_oversized_message_closes_with_1009() {
    let app = spawn_app().await;
    let mut socket = app.ws(&format!("/api/ws?token={}", app.token), None).await;
    next_msg(&mut socket).await;
    let big = format!(
        "{{\"type\":\"ping\",\"pad\":\"{}\"}}",
        "x".repeat(70 * 1024)
    );
    socket.send(Message::Text(big.into())).await.unwrap();
    let code = close_code(&mut socket).await;
    assert_eq!(code, Some(1009));
}

#[tokio::test]
async fn a_flooding_client_is_throttled_then_closed() {
    let app = spawn_app().await;
    let mut socket = app.ws(&format!("/api/ws?token={}", app.token), None).await;
    next_msg(&mut socket).await;
    for i in 0..600 {
        // The server may close the connection before all are sent.
        if socket
            .send(Message::Text(
                json!({"type": "ping", "timestamp": i}).to_string().into(),
            ))
            .await
            .is_err()
        {
            break;
        }
    }
    let mut warned = false;
    let code = loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                let msg: Value = serde_json::from_str(text.as_str()).unwrap();
                if msg["type"] == "error" {
                    assert!(msg["error"].as_str().unwrap().contains("too many messages"));
                    warned = true;
                }
            }
            Some(Ok(Message::Close(frame))) => break frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => break None,
        }
    };
    assert!(warned, "the client was told to slow down first");
    assert_eq!(code, Some(1008));
}

/// Reads until the server closes; the close code, if it sent one.
async fn close_code(socket: &mut crate::helpers::Socket) -> Option<u16> {
    loop {
        match tokio::time::timeout(std::time::Duration::from_secs(10), socket.next())
            .await
            .expect("closed in time")
        {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return None,
        }
    }
}
