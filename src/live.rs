//! The browser side of the live channel: ONE WebSocket for the whole app, provided as context.
//!
//! Components never touch the socket: they `follow` a job and read its signals (the job's
//! snapshot, a bounded log ring, the connection state). The socket reconnects with backoff and
//! jitter, re-subscribes every followed job from the last seq it applied, detects dead
//! connections with its own heartbeat, and falls back to polling the events endpoint when
//! WebSockets keep failing. Every event is applied once, by seq, whichever path brought it.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, Utc};
use leptos::prelude::*;

#[cfg(feature = "hydrate")]
use crate::protocol::ClientMsg;
use crate::protocol::{ItemStatus, JobId, JobView, ServerMsg};

/// Log lines kept in memory per job; older ones are counted, not kept.
pub const LOG_CAPACITY: usize = 500;
/// Most lines a reader can pull back into memory by scrolling up.
pub const LOG_MAX_LOADED: usize = 10_000;
/// Older lines loaded per request.
pub const LOG_PAGE: u32 = 200;

/// The state of the live connection, as the indicator shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Connected,
    /// Trying again after `attempt` failures.
    Reconnecting(u32),
    /// WebSockets keep failing: following jobs by polling the events endpoint.
    Polling,
    Offline,
}

/// What one log line says, independent of language.
#[derive(Clone, Debug, PartialEq)]
pub enum LogEntry {
    Created {
        total: u64,
    },
    Started {
        resumed: bool,
    },
    Sent {
        device: u32,
        phone: String,
    },
    ItemFailed {
        device: u32,
        phone: String,
        error: String,
    },
    Completed {
        sent: u64,
        failed: u64,
    },
    JobFailed {
        error: String,
    },
    Cancelled,
    Paused,
    Resync,
}

/// One line of a job's activity log.
#[derive(Clone, Debug, PartialEq)]
pub struct LogLine {
    /// The event's seq (the key of the line).
    pub seq: u64,
    pub at: Option<DateTime<Utc>>,
    pub entry: LogEntry,
}

impl LogLine {
    /// The log line for an event, if it makes one.
    pub fn from_msg(msg: &ServerMsg) -> Option<LogLine> {
        let (seq, at, entry) = match msg {
            ServerMsg::JobCreated(e) => (
                e.seq,
                e.at,
                LogEntry::Created {
                    total: e.job.total_numbers,
                },
            ),
            ServerMsg::JobStarted(e) | ServerMsg::JobResumed(e) => (
                e.seq,
                e.at,
                LogEntry::Started {
                    resumed: e.message != "Started",
                },
            ),
            ServerMsg::Progress(e) => (
                e.seq,
                e.at,
                LogEntry::Sent {
                    device: e.device_id,
                    phone: e.phone.clone(),
                },
            ),
            ServerMsg::Error(e) => (
                e.seq?,
                e.at?,
                LogEntry::ItemFailed {
                    device: e.device_id.unwrap_or_default(),
                    phone: e.phone.clone().unwrap_or_default(),
                    error: e.error.clone(),
                },
            ),
            ServerMsg::JobCompleted(e) => (
                e.seq,
                e.at,
                LogEntry::Completed {
                    sent: e.results.sent,
                    failed: e.results.failed,
                },
            ),
            ServerMsg::JobFailed(e) => (
                e.seq,
                e.at,
                LogEntry::JobFailed {
                    error: e.error.clone(),
                },
            ),
            ServerMsg::JobCancelled(e) => (e.seq, e.at, LogEntry::Cancelled),
            ServerMsg::JobPaused(e) => (e.seq, e.at, LogEntry::Paused),
            _ => return None,
        };
        Some(LogLine {
            seq,
            at: Some(at),
            entry,
        })
    }

    /// True for lines that report a failure (marked, and kept by the failures filter).
    pub fn is_failure(&self) -> bool {
        matches!(
            self.entry,
            LogEntry::ItemFailed { .. } | LogEntry::JobFailed { .. }
        )
    }
}

/// Everything live about one job. Copy: it is a bundle of signal handles.
#[derive(Clone, Copy)]
pub struct JobFeed {
    pub id: JobId,
    pub job: RwSignal<JobView>,
    pub log: RwSignal<VecDeque<LogLine>>,
    /// Lines that fell out of the ring.
    pub dropped: RwSignal<u64>,
    /// The server says there is no such job (for this tenant).
    pub not_found: RwSignal<bool>,
    /// Older lines are being fetched.
    pub loading_older: RwSignal<bool>,
    /// Highest seq applied: the de-duplication mark, and the `after_seq` to resume from.
    seen: StoredValue<u64>,
    /// Lines kept: grows while a reader looks at older activity, back to `LOG_CAPACITY` after.
    capacity: StoredValue<usize>,
}

// Applying events is the browser driver's job; the server only renders snapshots.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
impl JobFeed {
    fn new(job: JobView, log: &[ServerMsg]) -> JobFeed {
        let lines: VecDeque<LogLine> = log
            .iter()
            .filter_map(LogLine::from_msg)
            .rev()
            .take(LOG_CAPACITY)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let first_seq = lines.front().map_or(job.last_seq + 1, |l| l.seq);
        JobFeed {
            id: job.id,
            seen: StoredValue::new(job.last_seq),
            dropped: RwSignal::new(first_seq.saturating_sub(1)),
            job: RwSignal::new(job),
            log: RwSignal::new(lines),
            not_found: RwSignal::new(false),
            loading_older: RwSignal::new(false),
            capacity: StoredValue::new(LOG_CAPACITY),
        }
    }

    /// Puts older lines (oldest first, all before the ring's first) in front of the ring.
    pub fn prepend(&self, messages: &[ServerMsg]) {
        let lines: Vec<LogLine> = messages.iter().filter_map(LogLine::from_msg).collect();
        if lines.is_empty() {
            self.dropped.set(0);
            return;
        }
        self.log.update(|ring| {
            let first = ring.front().map_or(u64::MAX, |l| l.seq);
            for line in lines.into_iter().rev().filter(|l| l.seq < first) {
                ring.push_front(line);
            }
        });
        let first = self
            .log
            .with_untracked(|ring| ring.front().map_or(0, |l| l.seq));
        let kept = self.log.with_untracked(VecDeque::len);
        self.capacity
            .set_value(kept.clamp(LOG_CAPACITY, LOG_MAX_LOADED));
        self.dropped.set(first.saturating_sub(1));
    }

    /// Forgets the older lines a reader loaded, back to the newest `LOG_CAPACITY`.
    pub fn release_older(&self) {
        self.capacity.set_value(LOG_CAPACITY);
        let mut trimmed = 0;
        self.log.update(|ring| {
            while ring.len() > LOG_CAPACITY {
                ring.pop_front();
                trimmed += 1;
            }
        });
        if trimmed > 0 {
            self.dropped.update(|d| *d += trimmed);
        }
    }

    /// Fetches the page of lines before the oldest kept one.
    pub fn load_older(&self) {
        let wanted = !self.loading_older.get_untracked() && self.dropped.get_untracked() > 0;
        // Pages rendered on the server never fetch: there is nothing to scroll there.
        #[cfg(not(feature = "hydrate"))]
        let _ = wanted;
        #[cfg(feature = "hydrate")]
        if wanted {
            let feed = *self;
            let before = self
                .log
                .with_untracked(|ring| ring.front().map_or(0, |l| l.seq));
            feed.loading_older.set(true);
            leptos::task::spawn_local(async move {
                let url = format!(
                    "/api/jobs/{}/events?before_seq={before}&limit={LOG_PAGE}",
                    feed.id
                );
                let page = async {
                    gloo_net::http::Request::get(&url)
                        .send()
                        .await
                        .ok()?
                        .json::<crate::protocol::EventsPage>()
                        .await
                        .ok()
                }
                .await;
                if let Some(page) = page {
                    feed.prepend(&page.events);
                }
                feed.loading_older.set(false);
            });
        }
    }

    /// The seq this feed has applied up to.
    pub fn seen(&self) -> u64 {
        self.seen.get_value()
    }

    /// Applies one event of this job; events at or below the applied seq are ignored.
    fn apply(&self, msg: &ServerMsg) {
        match msg {
            ServerMsg::Resync(snapshot) => {
                self.seen.set_value(snapshot.last_seq);
                self.job.set(snapshot.job.clone());
                self.push_line(LogLine {
                    seq: snapshot.last_seq,
                    at: None,
                    entry: LogEntry::Resync,
                });
            }
            ServerMsg::Error(e) if e.seq.is_none() => {
                if e.error == "job not found" {
                    self.not_found.set(true);
                }
            }
            _ => {
                let Some(seq) = msg.seq() else { return };
                if seq <= self.seen.get_value() {
                    return;
                }
                self.seen.set_value(seq);
                self.job.update(|job| job.apply(msg));
                if let Some(line) = LogLine::from_msg(msg) {
                    self.push_line(line);
                }
            }
        }
    }

    fn push_line(&self, line: LogLine) {
        let mut overflow = 0;
        let capacity = self.capacity.get_value();
        self.log.update(|ring| {
            ring.push_back(line);
            while ring.len() > capacity {
                ring.pop_front();
                overflow += 1;
            }
        });
        if overflow > 0 {
            self.dropped.update(|d| *d += overflow);
        }
    }
}

/// The app's live channel. Copy: every field is an arena handle.
#[derive(Clone, Copy)]
pub struct Live {
    pub connection: RwSignal<Connection>,
    /// Jobs created after the page loaded, for pages that asked with `follow_new_jobs`.
    pub new_jobs: RwSignal<Vec<JobView>>,
    feeds: StoredValue<HashMap<JobId, (JobFeed, usize)>>,
    wants_new_jobs: StoredValue<bool>,
    /// The app's owner: feeds are created under it, so they outlive the components that
    /// follow them (a page re-rendering must not dispose a feed another component still reads).
    owner: StoredValue<Owner>,
}

impl Live {
    /// Creates the live channel and provides it to every component below.
    pub fn provide() -> Live {
        let live = Live {
            connection: RwSignal::new(Connection::Connecting),
            new_jobs: RwSignal::new(Vec::new()),
            feeds: StoredValue::new(HashMap::new()),
            wants_new_jobs: StoredValue::new(false),
            owner: StoredValue::new(Owner::current().expect("Live is provided inside the app")),
        };
        provide_context(live);
        live
    }

    /// Opens the live connection now (a logged-in page shows its state even before it follows
    /// anything). Does nothing on the server.
    pub fn start(&self) {
        #[cfg(feature = "hydrate")]
        driver::ensure_started(*self);
    }

    /// Follows a job from a snapshot (and the log lines rendered with it); the socket
    /// subscribes from the snapshot's seq, so nothing is missed or applied twice.
    pub fn follow(&self, job: JobView, log: &[ServerMsg]) -> JobFeed {
        let id = job.id;
        let existing = self.feeds.try_update_value(|feeds| {
            feeds.get_mut(&id).map(|(feed, refs)| {
                *refs += 1;
                *feed
            })
        });
        if let Some(Some(feed)) = existing {
            return feed;
        }
        let feed = self
            .owner
            .with_value(|owner| owner.with(|| JobFeed::new(job, log)));
        self.feeds.update_value(|feeds| {
            feeds.insert(id, (feed, 1));
        });
        if !feed.job.with_untracked(|j| j.status.is_terminal()) {
            #[cfg(feature = "hydrate")]
            driver::subscribe(*self, id, feed.seen());
        }
        feed
    }

    /// Stops following a job once the last component that followed it is gone.
    pub fn unfollow(&self, id: JobId) {
        let gone = self
            .feeds
            .try_update_value(|feeds| match feeds.get_mut(&id) {
                Some((_, refs)) if *refs > 1 => {
                    *refs -= 1;
                    false
                }
                Some(_) => {
                    if let Some((feed, _)) = feeds.remove(&id) {
                        // Its signals live as long as the app; its lines need not.
                        feed.log.try_set(VecDeque::new());
                    }
                    true
                }
                None => false,
            })
            .unwrap_or(false);
        if gone {
            #[cfg(feature = "hydrate")]
            driver::send(&ClientMsg::UnsubscribeJob { job_id: id });
        }
    }

    /// Asks for the tenant's new jobs; they arrive in `new_jobs`.
    pub fn follow_new_jobs(&self) {
        self.wants_new_jobs.set_value(true);
        #[cfg(feature = "hydrate")]
        driver::ensure_started(*self);
        #[cfg(feature = "hydrate")]
        driver::send(&ClientMsg::SubscribeJobs);
    }

    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn feed(&self, id: JobId) -> Option<JobFeed> {
        self.feeds
            .try_with_value(|feeds| feeds.get(&id).map(|(feed, _)| *feed))
            .flatten()
    }

    /// The jobs being followed, with the seq to resume each from.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn followed(&self) -> Vec<(JobId, u64, bool)> {
        self.feeds
            .try_with_value(|feeds| {
                feeds
                    .values()
                    .map(|(feed, _)| {
                        let done = feed.job.with_untracked(|j| j.status.is_terminal());
                        (feed.id, feed.seen(), done)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Applies a batch of server messages to the feeds they concern.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn apply_all(&self, messages: Vec<ServerMsg>) {
        for msg in messages {
            match &msg {
                ServerMsg::Connected { .. } | ServerMsg::Pong { .. } => {}
                // The page's own snapshot is at least as new as the one a (re)subscription
                // carries, and the replay that follows brings it up to date event by event,
                // so counters never step backwards.
                ServerMsg::Subscribed(_) | ServerMsg::Unsubscribed { .. } => {}
                ServerMsg::JobCreated(created) if self.feed(created.job_id).is_none() => {
                    if self.wants_new_jobs.get_value() {
                        let job = created.job.clone();
                        self.new_jobs.update(|jobs| {
                            if !jobs.iter().any(|j| j.id == job.id) {
                                jobs.push(job);
                            }
                        });
                    }
                }
                other => {
                    if let Some(feed) = other.job_id().and_then(|id| self.feed(id)) {
                        feed.apply(other);
                    } else if other.job_id().is_none()
                        && let ServerMsg::Error(e) = other
                    {
                        leptos::logging::warn!("live channel: {}", e.error);
                    }
                }
            }
        }
    }
}

/// The live channel provided by the app shell.
pub fn use_live() -> Live {
    expect_context::<Live>()
}

/// Whether an item status counts as a failure in the log.
pub fn is_failed_status(status: ItemStatus) -> bool {
    matches!(status, ItemStatus::Failed | ItemStatus::Unknown)
}

#[cfg(feature = "hydrate")]
mod driver {
    //! The one WebSocket, its timers and the polling fallback. Browser only.

    use std::cell::RefCell;
    use std::time::Duration;

    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::closure::Closure;
    use web_sys::{CloseEvent, MessageEvent, WebSocket};

    use super::{Connection, Live};
    use crate::protocol::{ClientMsg, EventsPage, JobId, ServerMsg};

    /// Failed connection attempts before following jobs by polling too.
    const POLL_AFTER_FAILURES: u32 = 3;
    const POLL_EVERY: Duration = Duration::from_secs(2);
    const PING_EVERY: Duration = Duration::from_secs(15);
    /// Without a single message for this long, the connection is dead even if the browser thinks not.
    const DEAD_AFTER_MS: f64 = 40_000.0;
    const FLUSH_EVERY: Duration = Duration::from_millis(50);
    const MAX_BACKOFF_MS: f64 = 30_000.0;

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
            if !with(|d| d.open) {
                connect();
            }
        });
        let on_offline = Closure::<dyn FnMut()>::new(|| {
            set_state(Connection::Offline);
            // The socket may linger half-open; drop it so the online event reconnects cleanly.
            if let Some(socket) = with(|d| d.socket.clone()) {
                let _ = socket.close();
            }
        });
        let _ =
            window().add_event_listener_with_callback("online", on_online.as_ref().unchecked_ref());
        let _ = window()
            .add_event_listener_with_callback("offline", on_offline.as_ref().unchecked_ref());
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
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(|_event: CloseEvent| on_closed());
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

    fn schedule_reconnect(failures: u32) {
        if with(|d| std::mem::replace(&mut d.reconnect_scheduled, true)) {
            return;
        }
        // Exponential backoff with jitter, so a restarted server is not hit by every tab at once.
        let base =
            (500.0 * 2_f64.powi(failures.saturating_sub(1).min(10) as i32)).min(MAX_BACKOFF_MS);
        let delay = base * (0.5 + js_sys::Math::random() * 0.5);
        set_timeout(connect, Duration::from_millis(delay as u64));
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
        let (polling, live, busy) = with(|d| (d.polling && !d.open, d.live, d.polls_in_flight > 0));
        let Some(live) = live.filter(|_| polling && !busy) else {
            return;
        };
        for (job_id, seen, done) in live.followed() {
            if done {
                continue;
            }
            with(|d| d.polls_in_flight += 1);
            leptos::task::spawn_local(async move {
                let url = format!("/api/jobs/{job_id}/events?after_seq={seen}&limit=1000");
                let page = async {
                    gloo_net::http::Request::get(&url)
                        .send()
                        .await
                        .ok()?
                        .json::<EventsPage>()
                        .await
                        .ok()
                }
                .await;
                with(|d| d.polls_in_flight -= 1);
                if let Some(page) = page {
                    enqueue(page.events);
                }
            });
        }
    }
}
