//! The one WebSocket, its timers and the polling fallback. Browser only.

use std::time::Duration;

use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use super::{Connection, Live};
use crate::protocol::backoff::Backoff;
use crate::protocol::{ClientMsg, EventsPage, JobId, ServerMsg};

/// Failed connection attempts before following jobs by polling too.
const POLL_AFTER_FAILURES: u32 = 3;
/// Failed polls in a row, or failed connection attempts in a row, after which the page says it
/// is offline: the figures it shows may be old and commands cannot reach the server.
const OFFLINE_AFTER_POLLS: u32 = 3;
const OFFLINE_AFTER_ATTEMPTS: u32 = 6;
const POLL_EVERY: Duration = Duration::from_secs(2);
const PING_EVERY: Duration = Duration::from_secs(15);
/// Without a single message for this long, the connection is dead even if the browser thinks not.
const DEAD_AFTER_MS: f64 = 40_000.0;
const FLUSH_EVERY: Duration = Duration::from_millis(50);
const RECONNECT: Backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
/// Close codes that mean the credential is gone (4401) or was never allowed (4403): trying
/// again cannot help, logging in can.
const SESSION_OVER: [u16; 2] = [4401, 4403];

type Handlers = (
    Closure<dyn FnMut()>,
    Closure<dyn FnMut(MessageEvent)>,
    Closure<dyn FnMut(CloseEvent)>,
);

/// The socket and its bookkeeping: lives in `Live` (the context), one per app.
#[derive(Default)]
pub(super) struct Driver {
    started: bool,
    socket: Option<WebSocket>,
    handlers: Option<Handlers>,
    open: bool,
    /// The server has spoken on this connection: it is really live (a proxy may accept an
    /// upgrade and drop it at once).
    confirmed: bool,
    failures: u32,
    reconnect_scheduled: bool,
    queue: Vec<ServerMsg>,
    flush_scheduled: bool,
    last_heard_ms: f64,
    polling: bool,
    polls_in_flight: usize,
    /// Polls that failed in a row (the server did not answer, or answered with an error).
    poll_failures: u32,
    /// Connection attempts that failed since the server was last heard on any path (`failures`
    /// paces the reconnects; this one only says whether anything gets through).
    unanswered_attempts: u32,
    /// The server ended the session (logged out, revoked, expired): nothing reconnects or polls
    /// until the reader logs in again.
    ended: bool,
}

impl Driver {
    /// Nothing gets through to the server: neither the socket nor the polls.
    fn unreachable(&self) -> bool {
        self.poll_failures >= OFFLINE_AFTER_POLLS
            || self.unanswered_attempts >= OFFLINE_AFTER_ATTEMPTS
    }
}

/// A poll got its answer: the server is reachable, and the page up to date as of now.
fn poll_answered(live: Live) {
    with(live, |d| {
        d.poll_failures = 0;
        d.unanswered_attempts = 0;
    });
    live.heard_at.set(Some(now_ms()));
    if live.connection.get_untracked() == Connection::Offline && online() {
        set_state(live, Connection::Polling);
    }
}

/// A poll got no answer (or an error): after a few in a row, the page says it is offline.
fn poll_failed(live: Live) {
    if with(live, |d| {
        d.poll_failures += 1;
        d.unreachable()
    }) {
        set_state(live, Connection::Offline);
    }
}

/// Runs `f` on the app's driver. Never nested: callers take what they need and let go.
fn with<R: Default>(live: Live, f: impl FnOnce(&mut Driver) -> R) -> R {
    live.driver.try_update_value(f).unwrap_or_default()
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

fn online() -> bool {
    window().navigator().on_line()
}

fn set_state(live: Live, state: Connection) {
    if live.connection.get_untracked() != state {
        live.connection.set(state);
    }
}

/// Starts the driver on first use: timers, online/offline listeners, the first connection.
pub fn ensure_started(live: Live) {
    if with(live, |d| std::mem::replace(&mut d.started, true)) {
        return;
    }
    set_interval(move || heartbeat(live), PING_EVERY);
    set_interval(move || poll_tick(live), POLL_EVERY);
    let on_online = Closure::<dyn FnMut()>::new(move || {
        with(live, |d| d.failures = 0);
        if !with(live, |d| d.open || d.ended) {
            connect(live);
        }
    });
    let on_offline = Closure::<dyn FnMut()>::new(move || {
        if with(live, |d| d.ended) {
            return;
        }
        set_state(live, Connection::Offline);
        // The socket may linger half-open; drop it so the online event reconnects cleanly.
        if let Some(socket) = with(live, |d| d.socket.clone()) {
            let _ = socket.close();
        }
    });
    let _ = window().add_event_listener_with_callback("online", on_online.as_ref().unchecked_ref());
    let _ =
        window().add_event_listener_with_callback("offline", on_offline.as_ref().unchecked_ref());
    // They live as long as the page.
    on_online.forget();
    on_offline.forget();
    connect(live);
}

/// Subscribes to a job now if connected (otherwise the next open does it).
pub fn subscribe(live: Live, job_id: JobId, after_seq: u64) {
    ensure_started(live);
    send(
        live,
        &ClientMsg::SubscribeJob {
            job_id,
            after_seq: Some(after_seq),
        },
    );
}

/// Sends a message if the socket is open; subscriptions are re-sent on every open anyway.
pub fn send(live: Live, msg: &ClientMsg) {
    let socket = with(live, |d| d.open.then(|| d.socket.clone()).flatten());
    if let Some(socket) = socket {
        let _ = socket.send_with_str(&msg.to_json());
    }
}

fn socket_url() -> Option<String> {
    let location = window().location();
    let scheme = if location.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    Some(format!("{scheme}://{}/api/ws", location.host().ok()?))
}

fn connect(live: Live) {
    with(live, |d| d.reconnect_scheduled = false);
    if with(live, |d| d.ended) {
        return;
    }
    if !online() {
        set_state(live, Connection::Offline);
        return;
    }
    let Some(url) = socket_url() else { return };
    let socket = match WebSocket::new(&url) {
        Ok(socket) => socket,
        // No WebSocket at all (blocked by policy): polling is all there is.
        Err(_) => {
            on_closed(live);
            return;
        }
    };
    let on_open = Closure::<dyn FnMut()>::new(move || on_open(live));
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        if let Some(text) = event.data().as_string() {
            on_text(live, &text);
        }
    });
    let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
        if SESSION_OVER.contains(&event.code()) {
            session_ended(live);
        } else {
            on_closed(live);
        }
    });
    socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    let old = with(live, |d| {
        d.handlers = Some((on_open, on_message, on_close));
        d.socket.replace(socket)
    });
    if let Some(old) = old {
        old.set_onclose(None);
        let _ = old.close();
    }
}

fn on_open(live: Live) {
    with(live, |d| {
        d.open = true;
        d.confirmed = false;
        d.last_heard_ms = now_ms();
    });
    for (job_id, seen, done) in live.followed() {
        if !done {
            send(
                live,
                &ClientMsg::SubscribeJob {
                    job_id,
                    after_seq: Some(seen),
                },
            );
        }
    }
    for campaign in live.followed_campaigns() {
        send(live, &live.subscribe_campaign(campaign));
    }
    if live.wants_new_jobs.get_value() {
        send(live, &ClientMsg::SubscribeJobs);
    }
    if live.inbox_seen.get_value().is_some() {
        send(live, &live.subscribe_inbox());
    }
    if live.wants_senders.get_value() {
        send(live, &ClientMsg::SubscribeSenders);
    }
}

fn on_text(live: Live, text: &str) {
    let first = with(live, |d| {
        d.last_heard_ms = now_ms();
        !std::mem::replace(&mut d.confirmed, true)
    });
    if first {
        with(live, |d| {
            d.failures = 0;
            d.unanswered_attempts = 0;
            d.poll_failures = 0;
            d.polling = false;
        });
        set_state(live, Connection::Connected);
    }
    match serde_json::from_str::<ServerMsg>(text) {
        Ok(msg) => enqueue(live, vec![msg]),
        Err(error) => leptos::logging::warn!("live channel: unreadable message: {error}"),
    }
}

/// Queues messages and applies them together a moment later: one render for many events.
fn enqueue(live: Live, messages: Vec<ServerMsg>) {
    let schedule = with(live, |d| {
        d.queue.extend(messages);
        !std::mem::replace(&mut d.flush_scheduled, true)
    });
    if schedule {
        set_timeout(move || flush(live), FLUSH_EVERY);
    }
}

fn flush(live: Live) {
    let messages = with(live, |d| {
        d.flush_scheduled = false;
        std::mem::take(&mut d.queue)
    });
    if !messages.is_empty() {
        live.heard_at.set(Some(now_ms()));
    }
    live.apply_all(messages);
}

fn on_closed(live: Live) {
    if with(live, |d| d.ended) {
        return;
    }
    let failures = with(live, |d| {
        d.open = false;
        d.confirmed = false;
        d.socket = None;
        d.failures += 1;
        d.unanswered_attempts += 1;
        d.failures
    });
    if !online() {
        set_state(live, Connection::Offline);
        return;
    }
    if with(live, |d| d.unreachable()) {
        with(live, |d| d.polling = true);
        set_state(live, Connection::Offline);
    } else if failures >= POLL_AFTER_FAILURES {
        with(live, |d| d.polling = true);
        set_state(live, Connection::Polling);
    } else {
        set_state(live, Connection::Reconnecting(failures));
    }
    schedule_reconnect(live, failures);
}

/// The session is over: stop the socket, its reconnects and the polling, and say so.
fn session_ended(live: Live) {
    with(live, |d| {
        d.ended = true;
        d.open = false;
        d.confirmed = false;
        d.polling = false;
        d.socket = None;
    });
    set_state(live, Connection::SessionEnded);
}

fn schedule_reconnect(live: Live, failures: u32) {
    if with(live, |d| {
        std::mem::replace(&mut d.reconnect_scheduled, true)
    }) {
        return;
    }
    // Exponential backoff with jitter, so a restarted server is not hit by every tab at once.
    set_timeout(
        move || connect(live),
        RECONNECT.equal_jitter(failures, js_sys::Math::random()),
    );
}

fn heartbeat(live: Live) {
    let (open, last_heard, socket) = with(live, |d| (d.open, d.last_heard_ms, d.socket.clone()));
    if !open {
        return;
    }
    if now_ms() - last_heard > DEAD_AFTER_MS {
        // Silent for too long: the connection is dead even if the browser has not noticed.
        if let Some(socket) = socket {
            socket.set_onclose(None);
            let _ = socket.close();
        }
        on_closed(live);
        return;
    }
    send(
        live,
        &ClientMsg::Ping {
            timestamp: now_ms() as i64,
        },
    );
}

fn poll_tick(live: Live) {
    let (polling, busy) = with(live, |d| {
        (d.polling && !d.open && !d.ended, d.polls_in_flight > 0)
    });
    if !polling || busy {
        return;
    }
    // Jobs added to a followed campaign meanwhile are found by reading the campaign.
    for campaign in live.followed_campaigns() {
        with(live, |d| d.polls_in_flight += 1);
        leptos::task::spawn_local(async move {
            let url = format!("/api/campaigns/{campaign}");
            let view = async {
                let response = gloo_net::http::Request::get(&url).send().await.ok()?;
                if response.status() == 401 {
                    session_ended(live);
                    return None;
                }
                response.json::<crate::protocol::CampaignView>().await.ok()
            }
            .await;
            with(live, |d| d.polls_in_flight -= 1);
            if !with(live, |d| d.ended) {
                if view.is_some() {
                    poll_answered(live);
                } else {
                    poll_failed(live);
                }
            }
            if let Some(view) = view {
                for job in view.jobs.into_iter().rev() {
                    live.adopt(job, &[]);
                }
            }
        });
    }
    for (job_id, seen, done) in live.followed() {
        if done {
            continue;
        }
        with(live, |d| d.polls_in_flight += 1);
        leptos::task::spawn_local(async move {
            let url = format!("/api/jobs/{job_id}/events?after_seq={seen}&limit=1000");
            let page = async {
                let response = gloo_net::http::Request::get(&url).send().await.ok()?;
                if response.status() == 401 {
                    session_ended(live);
                    return None;
                }
                response.json::<EventsPage>().await.ok()
            }
            .await;
            with(live, |d| d.polls_in_flight -= 1);
            if !with(live, |d| d.ended) {
                if page.is_some() {
                    poll_answered(live);
                } else {
                    poll_failed(live);
                }
            }
            if let Some(page) = page {
                enqueue(live, page.events);
            }
        });
    }
}
