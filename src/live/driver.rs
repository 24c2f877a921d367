//! The one WebSocket, its timers and the polling fallback. Browser only.

use std::cell::RefCell;
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

#[derive(Default)]
struct Driver {
    live: Option<Live>,
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
    /// The server ended the session (logged out, revoked, expired): nothing reconnects or polls
    /// until the reader logs in again.
    ended: bool,
}

thread_local! {
    static DRIVER: RefCell<Driver> = RefCell::new(Driver::default());
}

fn with<R>(f: impl FnOnce(&mut Driver) -> R) -> R {
    DRIVER.with(|d| f(&mut d.borrow_mut()))
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

fn online() -> bool {
    window().navigator().on_line()
}

fn set_state(state: Connection) {
    if let Some(live) = with(|d| d.live)
        && live.connection.get_untracked() != state
    {
        live.connection.set(state);
    }
}

/// Starts the driver on first use: timers, online/offline listeners, the first connection.
pub fn ensure_started(live: Live) {
    if with(|d| d.live.is_some()) {
        return;
    }
    with(|d| d.live = Some(live));
    set_interval(heartbeat, PING_EVERY);
    set_interval(poll_tick, POLL_EVERY);
    let on_online = Closure::<dyn FnMut()>::new(|| {
        with(|d| d.failures = 0);
        if !with(|d| d.open || d.ended) {
            connect();
        }
    });
    let on_offline = Closure::<dyn FnMut()>::new(|| {
        if with(|d| d.ended) {
            return;
        }
        set_state(Connection::Offline);
        // The socket may linger half-open; drop it so the online event reconnects cleanly.
        if let Some(socket) = with(|d| d.socket.clone()) {
            let _ = socket.close();
        }
    });
    let _ = window().add_event_listener_with_callback("online", on_online.as_ref().unchecked_ref());
    let _ =
        window().add_event_listener_with_callback("offline", on_offline.as_ref().unchecked_ref());
    // They live as long as the page.
    on_online.forget();
    on_offline.forget();
    connect();
}

/// Subscribes to a job now if connected (otherwise the next open does it).
pub fn subscribe(live: Live, job_id: JobId, after_seq: u64) {
    ensure_started(live);
    send(&ClientMsg::SubscribeJob {
        job_id,
        after_seq: Some(after_seq),
    });
}

/// Sends a message if the socket is open; subscriptions are re-sent on every open anyway.
pub fn send(msg: &ClientMsg) {
    let socket = with(|d| d.open.then(|| d.socket.clone()).flatten());
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

fn connect() {
    with(|d| d.reconnect_scheduled = false);
    if with(|d| d.ended) {
        return;
    }
    if !online() {
        set_state(Connection::Offline);
        return;
    }
    let Some(url) = socket_url() else { return };
    let socket = match WebSocket::new(&url) {
        Ok(socket) => socket,
        // No WebSocket at all (blocked by policy): polling is all there is.
        Err(_) => {
            on_closed();
            return;
        }
    };
    let on_open = Closure::<dyn FnMut()>::new(on_open);
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(|event: MessageEvent| {
        if let Some(text) = event.data().as_string() {
            on_text(&text);
        }
    });
    let on_close = Closure::<dyn FnMut(CloseEvent)>::new(|event: CloseEvent| {
        if SESSION_OVER.contains(&event.code()) {
            session_ended();
        } else {
            on_closed();
        }
    });
    socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    let old = with(|d| {
        d.handlers = Some((on_open, on_message, on_close));
        d.socket.replace(socket)
    });
    if let Some(old) = old {
        old.set_onclose(None);
        let _ = old.close();
    }
}

fn on_open() {
    let live = with(|d| {
        d.open = true;
        d.confirmed = false;
        d.last_heard_ms = now_ms();
        d.live
    });
    let Some(live) = live else { return };
    for (job_id, seen, done) in live.followed() {
        if !done {
            send(&ClientMsg::SubscribeJob {
                job_id,
                after_seq: Some(seen),
            });
        }
    }
    for campaign in live.followed_campaigns() {
        send(&live.subscribe_campaign(campaign));
    }
    if live.wants_new_jobs.get_value() {
        send(&ClientMsg::SubscribeJobs);
    }
}

fn on_text(text: &str) {
    let first = with(|d| {
        d.last_heard_ms = now_ms();
        !std::mem::replace(&mut d.confirmed, true)
    });
    if first {
        with(|d| {
            d.failures = 0;
            d.polling = false;
        });
        set_state(Connection::Connected);
    }
    match serde_json::from_str::<ServerMsg>(text) {
        Ok(msg) => enqueue(vec![msg]),
        Err(error) => leptos::logging::warn!("live channel: unreadable message: {error}"),
    }
}

/// Queues messages and applies them together a moment later: one render for many events.
fn enqueue(messages: Vec<ServerMsg>) {
    let schedule = with(|d| {
        d.queue.extend(messages);
        !std::mem::replace(&mut d.flush_scheduled, true)
    });
    if schedule {
        set_timeout(flush, FLUSH_EVERY);
    }
}

fn flush() {
    let (live, messages) = with(|d| {
        d.flush_scheduled = false;
        (d.live, std::mem::take(&mut d.queue))
    });
    if let Some(live) = live {
        live.apply_all(messages);
    }
}

fn on_closed() {
    if with(|d| d.ended) {
        return;
    }
    let failures = with(|d| {
        d.open = false;
        d.confirmed = false;
        d.socket = None;
        d.failures += 1;
        d.failures
    });
    if !online() {
        set_state(Connection::Offline);
        return;
    }
    if failures >= POLL_AFTER_FAILURES {
        with(|d| d.polling = true);
        set_state(Connection::Polling);
    } else {
        set_state(Connection::Reconnecting(failures));
    }
    schedule_reconnect(failures);
}

/// The session is over: stop the socket, its reconnects and the polling, and say so.
fn session_ended() {
    with(|d| {
        d.ended = true;
        d.open = false;
        d.confirmed = false;
        d.polling = false;
        d.socket = None;
    });
    set_state(Connection::SessionEnded);
}

fn schedule_reconnect(failures: u32) {
    if with(|d| std::mem::replace(&mut d.reconnect_scheduled, true)) {
        return;
    }
    // Exponential backoff with jitter, so a restarted server is not hit by every tab at once.
    set_timeout(
        connect,
        RECONNECT.equal_jitter(failures, js_sys::Math::random()),
    );
}

fn heartbeat() {
    let (open, last_heard, socket) = with(|d| (d.open, d.last_heard_ms, d.socket.clone()));
    if !open {
        return;
    }
    if now_ms() - last_heard > DEAD_AFTER_MS {
        // Silent for too long: the connection is dead even if the browser has not noticed.
        if let Some(socket) = socket {
            socket.set_onclose(None);
            let _ = socket.close();
        }
        on_closed();
        return;
    }
    send(&ClientMsg::Ping {
        timestamp: now_ms() as i64,
    });
}

fn poll_tick() {
    let (polling, live, busy) = with(|d| {
        (
            d.polling && !d.open && !d.ended,
            d.live,
            d.polls_in_flight > 0,
        )
    });
    let Some(live) = live.filter(|_| polling && !busy) else {
        return;
    };
    // Jobs added to a followed campaign meanwhile are found by reading the campaign.
    for campaign in live.followed_campaigns() {
        with(|d| d.polls_in_flight += 1);
        leptos::task::spawn_local(async move {
            let url = format!("/api/campaigns/{campaign}");
            let view = async {
                let response = gloo_net::http::Request::get(&url).send().await.ok()?;
                if response.status() == 401 {
                    session_ended();
                    return None;
                }
                response.json::<crate::protocol::CampaignView>().await.ok()
            }
            .await;
            with(|d| d.polls_in_flight -= 1);
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
        with(|d| d.polls_in_flight += 1);
        leptos::task::spawn_local(async move {
            let url = format!("/api/jobs/{job_id}/events?after_seq={seen}&limit=1000");
            let page = async {
                let response = gloo_net::http::Request::get(&url).send().await.ok()?;
                if response.status() == 401 {
                    session_ended();
                    return None;
                }
                response.json::<EventsPage>().await.ok()
            }
            .await;
            with(|d| d.polls_in_flight -= 1);
            if let Some(page) = page {
                enqueue(page.events);
            }
        });
    }
}
