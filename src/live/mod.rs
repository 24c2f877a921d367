//! The browser side of the live channel: ONE WebSocket for the whole app, provided as context.
//!
//! Components never touch the socket: they `follow` a job and read its signals (the job's
//! snapshot, a bounded log ring, the connection state). The socket reconnects with backoff and
//! jitter, re-subscribes every followed job from the last seq it applied, detects dead
//! connections with its own heartbeat, and falls back to polling the events endpoint when
//! WebSockets keep failing. Every event is applied once, by seq, whichever path brought it.

use std::collections::{HashMap, HashSet, VecDeque};

use leptos::prelude::*;

#[cfg(feature = "hydrate")]
use crate::protocol::ClientMsg;
use crate::protocol::senders::SenderHealthView;
use crate::protocol::{InboundMessage, ItemStatus, JobId, JobView, ServerMsg};
use uuid::Uuid;

mod feed;
mod hooks;
mod log;

#[cfg(feature = "hydrate")]
mod driver;

pub use feed::JobFeed;
pub use hooks::{Followed, use_campaign_feed, use_followed, use_job_feed};
pub use log::{LogEntry, LogLine};

/// Inbox messages that arrived after the page loaded that `inbox` keeps: the newest ones.
pub const INBOX_CAPACITY: usize = 200;
/// Jobs created after the page loaded that `new_jobs` keeps: the newest ones.
pub const NEW_JOBS_CAPACITY: usize = 100;
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
    /// The server closed the channel because the session ended (logged out, revoked,
    /// expired): nothing more arrives until the reader logs in again.
    SessionEnded,
}

impl Connection {
    /// Nothing reaches the page now: what it shows may be behind.
    pub fn is_stale(self) -> bool {
        matches!(
            self,
            Connection::Offline | Connection::Reconnecting(_) | Connection::SessionEnded
        )
    }
}

/// The app's live channel. Copy: every field is an arena handle.
#[derive(Clone, Copy)]
pub struct Live {
    pub connection: RwSignal<Connection>,
    /// When the server was last heard (milliseconds since the epoch, browser clock): a message
    /// on the socket or an answered poll. `None` on the server and before the first one.
    pub heard_at: RwSignal<Option<f64>>,
    /// Jobs created after the page loaded, newest last, for pages that asked with
    /// `follow_new_jobs`: at most `NEW_JOBS_CAPACITY`, so a page left open for days stays small.
    pub new_jobs: RwSignal<Vec<JobView>>,
    /// Jobs of followed campaigns that the page did not render (added later, or while away),
    /// already followed: the page that follows the campaign unfollows them when it goes.
    pub campaign_jobs: RwSignal<Vec<JobFeed>>,
    /// Inbox messages that arrived after the page loaded, oldest first, for a page that asked
    /// with `follow_inbox`: at most `INBOX_CAPACITY`.
    pub inbox: RwSignal<Vec<InboundMessage>>,
    /// The newest inbox message the page has (`None`: not following the inbox); a reconnect
    /// resumes after it.
    inbox_seen: StoredValue<Option<Option<i64>>>,
    /// The tenant's senders' health as the live channel last told it, for pages that asked
    /// with `follow_senders` (empty until then).
    pub senders: RwSignal<HashMap<Uuid, SenderHealthView>>,
    wants_senders: StoredValue<bool>,
    feeds: StoredValue<HashMap<JobId, (JobFeed, usize)>>,
    wants_new_jobs: StoredValue<bool>,
    campaigns: StoredValue<HashSet<Uuid>>,
    /// The app's owner: feeds are created under it, so they outlive the components that
    /// follow them (a page re-rendering must not dispose a feed another component still reads).
    owner: StoredValue<Owner>,
    /// The one socket, its timers and the polling fallback, owned by the context like the rest.
    #[cfg(feature = "hydrate")]
    driver: StoredValue<driver::Driver, LocalStorage>,
}

impl Live {
    /// Creates the live channel and provides it to every component below.
    pub fn provide() -> Live {
        let live = Live {
            connection: RwSignal::new(Connection::Connecting),
            heard_at: RwSignal::new(None),
            new_jobs: RwSignal::new(Vec::new()),
            campaign_jobs: RwSignal::new(Vec::new()),
            inbox: RwSignal::new(Vec::new()),
            inbox_seen: StoredValue::new(None),
            senders: RwSignal::new(HashMap::new()),
            wants_senders: StoredValue::new(false),
            feeds: StoredValue::new(HashMap::new()),
            wants_new_jobs: StoredValue::new(false),
            campaigns: StoredValue::new(HashSet::new()),
            owner: StoredValue::new(Owner::current().expect("Live is provided inside the app")),
            #[cfg(feature = "hydrate")]
            driver: StoredValue::new_local(driver::Driver::default()),
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
        let (feed, new) = self.track(job, log);
        if new
            && feed
                .job
                .with_untracked(|j| j.expects_events(crate::app::format::now()))
        {
            #[cfg(feature = "hydrate")]
            driver::subscribe(*self, feed.id, feed.seen());
        }
        feed
    }

    /// Follows a job again after a command moved it (retry, resume): the page rendered it
    /// finished and stopped listening, so without this a retry would look like nothing happened.
    /// `job` is the command's answer; the socket replays what came after the feed's last seq.
    pub fn refollow(&self, job: JobView) {
        let Some(feed) = self.feed(job.id) else {
            return;
        };
        // The answer's state, so the page (and the polling fallback) knows the job moves again;
        // its events are still applied once each, by seq, when they arrive.
        feed.job.update(|current| {
            if job.last_seq > current.last_seq {
                *current = job;
            }
        });
        #[cfg(feature = "hydrate")]
        driver::subscribe(*self, feed.id, feed.seen());
    }

    /// The feed of a job, created from the snapshot if there is none yet (counting one more
    /// follower either way); true if it is new.
    fn track(&self, job: JobView, log: &[ServerMsg]) -> (JobFeed, bool) {
        let id = job.id;
        let existing = self.feeds.try_update_value(|feeds| {
            feeds.get_mut(&id).map(|(feed, refs)| {
                *refs += 1;
                *feed
            })
        });
        if let Some(Some(feed)) = existing {
            return (feed, false);
        }
        let feed = self
            .owner
            .with_value(|owner| owner.with(|| JobFeed::new(job, log)));
        self.feeds.update_value(|feeds| {
            feeds.insert(id, (feed, 1));
        });
        (feed, true)
    }

    /// Follows every job of a campaign, and those added to it later (they arrive in
    /// `campaign_jobs`), through one `subscribe_campaign`.
    pub fn follow_campaign(&self, id: Uuid) {
        self.campaigns.update_value(|campaigns| {
            campaigns.insert(id);
        });
        #[cfg(feature = "hydrate")]
        {
            driver::ensure_started(*self);
            driver::send(*self, &self.subscribe_campaign(id));
        }
    }

    /// Stops following a campaign's new jobs (its jobs' feeds are unfollowed one by one).
    pub fn unfollow_campaign(&self, id: Uuid) {
        self.campaigns.update_value(|campaigns| {
            campaigns.remove(&id);
        });
        #[cfg(feature = "hydrate")]
        driver::send(*self, &ClientMsg::UnsubscribeCampaign { campaign_id: id });
    }

    /// The subscription of a campaign, resuming each known job from the seq it has applied.
    #[cfg(feature = "hydrate")]
    fn subscribe_campaign(&self, id: Uuid) -> ClientMsg {
        let after_seqs = self
            .feeds
            .try_with_value(|feeds| {
                feeds
                    .values()
                    .filter(|(feed, _)| feed.job.with_untracked(|j| j.campaign_id == Some(id)))
                    .map(|(feed, _)| (feed.id, feed.seen()))
                    .collect()
            })
            .unwrap_or_default();
        ClientMsg::SubscribeCampaign {
            campaign_id: id,
            after_seq: None,
            after_seqs,
        }
    }

    /// The campaigns being followed.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn followed_campaigns(&self) -> Vec<Uuid> {
        self.campaigns
            .try_with_value(|c| c.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Takes in a job of a followed campaign that no page rendered; the server already
    /// subscribed it from this snapshot's seq.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn adopt(&self, job: JobView, log: &[ServerMsg]) {
        let followed = job
            .campaign_id
            .is_some_and(|c| self.campaigns.with_value(|set| set.contains(&c)));
        if !followed || self.feed(job.id).is_some() {
            return;
        }
        let (feed, _) = self.track(job, log);
        self.campaign_jobs.update(|jobs| jobs.push(feed));
    }

    /// Unfollows the jobs of a campaign that were adopted for it (added after its page
    /// rendered), once the page that followed the campaign is gone.
    pub fn release_campaign_jobs(&self, id: Uuid) {
        let mut adopted = Vec::new();
        self.campaign_jobs.try_update(|added| {
            added.retain(|feed| {
                let of_this = feed.job.with_untracked(|j| j.campaign_id == Some(id));
                if of_this {
                    adopted.push(feed.id);
                }
                !of_this
            })
        });
        for job in adopted {
            self.unfollow(job);
        }
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
            driver::send(*self, &ClientMsg::UnsubscribeJob { job_id: id });
        }
    }

    /// Asks for the tenant's new jobs; they arrive in `new_jobs`.
    pub fn follow_new_jobs(&self) {
        self.wants_new_jobs.set_value(true);
        #[cfg(feature = "hydrate")]
        driver::ensure_started(*self);
        #[cfg(feature = "hydrate")]
        driver::send(*self, &ClientMsg::SubscribeJobs);
    }

    /// Follows the tenant's inbox from `newest`, the newest message the page rendered; new
    /// messages arrive in `inbox`.
    /// A message the page rendered itself may come again (sent while the page loaded): pages
    /// leave out of `inbox` what they show already.
    pub fn follow_inbox(&self, newest: Option<i64>) {
        self.inbox_seen.set_value(Some(newest));
        self.inbox.set(Vec::new());
        #[cfg(feature = "hydrate")]
        {
            driver::ensure_started(*self);
            driver::send(*self, &self.subscribe_inbox());
        }
    }

    /// Follows the health of the tenant's senders; it arrives in `senders`, and again after
    /// every reconnection (so a change made meanwhile is not missed).
    pub fn follow_senders(&self) {
        if self.wants_senders.get_value() {
            return;
        }
        self.wants_senders.set_value(true);
        #[cfg(feature = "hydrate")]
        {
            driver::ensure_started(*self);
            driver::send(*self, &ClientMsg::SubscribeSenders);
        }
    }

    /// A sender's health as the live channel last told it, if it did.
    pub fn sender_health(&self, id: Uuid) -> Option<SenderHealthView> {
        self.senders.with(|senders| senders.get(&id).cloned())
    }

    /// Stops collecting inbox messages (the page that showed them is gone).
    pub fn unfollow_inbox(&self) {
        self.inbox_seen.set_value(None);
        self.inbox.try_set(Vec::new());
    }

    /// The inbox subscription, resuming after the newest message the page has; `None` when
    /// no page follows the inbox.
    #[cfg(feature = "hydrate")]
    fn subscribe_inbox(&self) -> ClientMsg {
        ClientMsg::SubscribeInbox {
            after: self.inbox_seen.get_value().flatten(),
        }
    }

    /// Takes in an inbox message, once, if a page follows the inbox.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn take_inbound(&self, message: &InboundMessage) {
        let Some(seen) = self.inbox_seen.get_value() else {
            return;
        };
        // Ids arrive out of order only across instances; the newest one is where to resume.
        self.inbox_seen
            .set_value(Some(Some(seen.map_or(message.id, |s| s.max(message.id)))));
        let message = message.clone();
        self.inbox.update(|messages| {
            if !messages.iter().any(|m| m.id == message.id) {
                messages.push(message);
                if messages.len() > INBOX_CAPACITY {
                    messages.remove(0);
                }
            }
        });
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
                        let now = crate::app::format::now();
                        let done = feed.job.with_untracked(|j| !j.expects_events(now));
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
                ServerMsg::Connected { .. }
                | ServerMsg::Pong { .. }
                | ServerMsg::InboxSubscribed { .. } => {}
                ServerMsg::MessageNew(message) => self.take_inbound(message),
                ServerMsg::SendersSubscribed { senders } => {
                    let senders = senders.iter().map(|s| (s.sender_id, s.clone())).collect();
                    self.senders.set(senders);
                }
                ServerMsg::SenderHealth(view) => {
                    let view = view.clone();
                    self.senders.update(|senders| {
                        senders.insert(view.sender_id, view);
                    });
                }
                // The page's own snapshot is at least as new as the one a (re)subscription
                // carries, and the replay that follows brings it up to date event by event,
                // so counters never step backwards.
                ServerMsg::Subscribed(_) | ServerMsg::Unsubscribed { .. } => {}
                ServerMsg::CampaignSubscribed(snapshot) => {
                    for job in snapshot.campaign.jobs.iter().rev() {
                        self.adopt(job.clone(), &[]);
                    }
                }
                ServerMsg::JobCreated(created) if self.feed(created.job_id).is_none() => {
                    self.adopt(created.job.clone(), std::slice::from_ref(&msg));
                    if self.wants_new_jobs.get_value() {
                        let job = created.job.clone();
                        self.new_jobs.update(|jobs| {
                            if !jobs.iter().any(|j| j.id == job.id) {
                                jobs.push(job);
                                if jobs.len() > NEW_JOBS_CAPACITY {
                                    jobs.remove(0);
                                }
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
