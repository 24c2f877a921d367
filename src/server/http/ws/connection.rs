//! One live connection: its session loop, subscriptions, replay from the log and delivery.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use tokio::sync::broadcast;
use tokio::time::Instant;
use tokio_stream::StreamMap;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use uuid::Uuid;

use super::{
    AUTH_TIMEOUT, FirstSubscription, Limiter, MAX_PROTOCOL_ERRORS, MAX_SUBSCRIPTIONS,
    MAX_THROTTLED, REPLAY_PAGE, close,
};
use crate::protocol::senders::SenderHealthView;
use crate::protocol::{
    CampaignSnapshot, ClientMsg, ErrorEvent, InboundMessage, JobId, ServerMsg, SnapshotMsg,
};
use crate::server::AppState;
use crate::server::http::auth::{self, Principal};
use crate::server::live::hub::{CredentialSlot, SharedBatch};
use crate::server::store::{InboxWindow, StoredEvent};

/// The next piece of tenant news (an inbox message, a sender's health), when the connection
/// follows it.
async fn next_news<T: Send + Sync + 'static>(
    news: &mut Option<BroadcastStream<std::sync::Arc<T>>>,
) -> Option<Result<std::sync::Arc<T>, BroadcastStreamRecvError>> {
    match news {
        Some(stream) => stream.next().await,
        None => None,
    }
}

/// Serves one upgraded connection until it ends.
pub(super) async fn serve(
    socket: WebSocket,
    state: AppState,
    principal: Option<(Principal, CredentialSlot)>,
    first: Option<FirstSubscription>,
) {
    let (principal, slot) = principal.unzip();
    let _counted = state.hub.connection_opened();
    let (sink, mut stream) = socket.split();
    let live = &state.settings.live;
    let rate =
        std::num::NonZeroU32::new(live.max_client_messages_per_sec.max(1)).expect("at least one");
    let burst = rate.saturating_mul(std::num::NonZeroU32::new(2).expect("two"));
    let mut connection = Connection {
        send_timeout: Duration::from_millis(live.send_timeout_ms),
        limiter: governor::RateLimiter::direct(
            governor::Quota::per_second(rate).allow_burst(burst),
        ),
        throttled: 0,
        state,
        principal,
        _slot: slot,
        sink,
        subscriptions: HashMap::new(),
        campaigns: HashSet::new(),
        streams: StreamMap::new(),
        protocol_errors: 0,
        pending_first: first,
        inbox: None,
        inbox_sent: std::collections::BTreeSet::new(),
        senders: None,
    };
    let reason = connection.run(&mut stream).await;
    tracing::debug!(?reason, "live connection closed");
    connection.close(reason, stream).await;
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Feed {
    Job(JobId),
    TenantJobs,
    /// The tenant's new jobs, watched for those of the campaigns this connection follows.
    CampaignJobs,
}

/// Why a connection ended.
#[derive(Debug)]
enum Ended {
    ClientLeft,
    Idle,
    TooSlow,
    Unauthorised,
    Revoked,
    Misbehaving,
    Flooding,
    TooBig,
    TooManyConnections,
}

struct Subscription {
    last_sent: u64,
}

/// Sending failed or timed out: the connection is over.
#[derive(Debug)]
struct Gone(Ended);

struct Connection {
    send_timeout: Duration,
    limiter: Limiter,
    throttled: u32,
    state: AppState,
    principal: Option<Principal>,
    /// Counts this connection against its credential's limit.
    _slot: Option<CredentialSlot>,
    sink: SplitSink<WebSocket, Message>,
    subscriptions: HashMap<JobId, Subscription>,
    campaigns: HashSet<Uuid>,
    streams: StreamMap<Feed, BroadcastStream<SharedBatch>>,
    protocol_errors: u32,
    pending_first: Option<FirstSubscription>,
    /// The tenant's new inbox messages, once the client sent `subscribe_inbox`.
    inbox: Option<BroadcastStream<std::sync::Arc<InboundMessage>>>,
    /// The newest inbox ids sent, so a message that arrives twice is sent once.
    inbox_sent: std::collections::BTreeSet<i64>,
    /// Changes to the tenant's senders' health, once the client sent `subscribe_senders`.
    senders: Option<BroadcastStream<std::sync::Arc<SenderHealthView>>>,
}

/// Inbox messages read per query while replaying (the store's most).
const INBOX_PAGE: u32 = 500;

/// Inbox ids a connection remembers having sent.
const INBOX_REMEMBERED: usize = 1_024;

impl Connection {
    async fn run(&mut self, stream: &mut SplitStream<WebSocket>) -> Option<Ended> {
        let live = &self.state.settings.live;
        let idle_timeout = Duration::from_millis(live.idle_timeout_ms);
        let mut pings = tokio::time::interval(Duration::from_millis(live.ping_interval_ms));
        pings.tick().await;
        let mut last_heard = Instant::now();
        let auth_deadline = tokio::time::sleep(AUTH_TIMEOUT);
        tokio::pin!(auth_deadline);
        let mut revocations = self.state.hub.subscribe_revocations();

        let hello = ServerMsg::Connected {
            message: "jobpulse live channel: send subscribe_job to follow a job".into(),
        };
        if let Err(Gone(reason)) = self.send_msg(&hello).await {
            return Some(reason);
        }
        if self.principal.is_some()
            && let Err(Gone(reason)) = self.start_first_subscription().await
        {
            return Some(reason);
        }

        loop {
            let outcome = tokio::select! {
                incoming = stream.next() => {
                    last_heard = Instant::now();
                    match incoming {
                        None => return Some(Ended::ClientLeft),
                        Some(Err(error)) => {
                            let too_big = error.to_string().to_ascii_lowercase().contains("too long")
                                || error.to_string().to_ascii_lowercase().contains("size");
                            return Some(if too_big { Ended::TooBig } else { Ended::ClientLeft });
                        }
                        Some(Ok(Message::Text(_) | Message::Binary(_))) if self.flooding() => {
                            self.throttle().await
                        }
                        Some(Ok(Message::Text(text))) => self.on_text(text.as_str()).await,
                        Some(Ok(Message::Binary(_))) => {
                            self.protocol_error("binary frames are not supported: send JSON text").await
                        }
                        Some(Ok(Message::Close(_))) => return None,
                        // Pongs only prove liveness; axum answers pings itself.
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(()),
                    }
                }
                Some((feed, delivery)) = self.streams.next(), if !self.streams.is_empty() => {
                    self.on_delivery(feed, delivery).await
                }
                Some(delivery) = next_news(&mut self.inbox), if self.inbox.is_some() => {
                    self.on_inbound(delivery).await
                }
                Some(change) = next_news(&mut self.senders), if self.senders.is_some() => {
                    self.on_sender_health(change).await
                }
                _ = pings.tick() => {
                    if last_heard.elapsed() > idle_timeout {
                        return Some(Ended::Idle);
                    }
                    // Revocations made by other instances reach us here, at the next ping.
                    if !self.credential_still_valid().await {
                        return Some(Ended::Revoked);
                    }
                    self.send(Message::Ping(Default::default())).await
                }
                revoked = revocations.recv() => {
                    let mine = self.principal.as_ref().map(|p| &p.credential);
                    match revoked {
                        Ok(credential) if Some(&credential) == mine => return Some(Ended::Revoked),
                        // Missed some: check ours against the database.
                        Err(broadcast::error::RecvError::Lagged(_)) if !self.credential_still_valid().await => {
                            return Some(Ended::Revoked);
                        }
                        _ => Ok(()),
                    }
                }
                _ = &mut auth_deadline, if self.principal.is_none() => {
                    return Some(Ended::Unauthorised);
                }
            };
            if let Err(Gone(reason)) = outcome {
                return Some(reason);
            }
        }
    }

    /// Closes with a code and reason, then waits briefly for the client's close, reading (and
    /// dropping) what it still sends: closing with unread data would reset the connection and
    /// lose the close frame.
    async fn close(&mut self, reason: Option<Ended>, mut stream: SplitStream<WebSocket>) {
        let Some(reason) = reason else {
            return;
        };
        let (code, text) = match reason {
            Ended::ClientLeft => return,
            Ended::Idle => (close::POLICY, "no answer to pings"),
            Ended::TooSlow => (
                close::TOO_SLOW,
                "too slow: reconnect with after_seq to resume",
            ),
            Ended::Unauthorised => (close::UNAUTHORISED, "authenticate within 5 seconds"),
            Ended::Revoked => (close::UNAUTHORISED, "logged out, or the token was revoked"),
            Ended::Misbehaving => (close::POLICY, "too many protocol errors"),
            Ended::Flooding => (close::POLICY, "too many messages"),
            Ended::TooBig => (close::TOO_BIG, "message too big: the limit is 64 KiB"),
            Ended::TooManyConnections => (
                close::TOO_MANY,
                "this token has too many live connections open: close some first",
            ),
        };
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from_static(text),
        };
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            self.sink.send(Message::Close(Some(frame))),
        )
        .await;
        let drain = async {
            while let Some(Ok(message)) = stream.next().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
    }

    async fn send(&mut self, message: Message) -> Result<(), Gone> {
        match tokio::time::timeout(self.send_timeout, self.sink.send(message)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Gone(Ended::ClientLeft)),
            Err(_) => Err(Gone(Ended::TooSlow)),
        }
    }

    async fn send_msg(&mut self, msg: &ServerMsg) -> Result<(), Gone> {
        self.send(Message::Text(msg.to_json().into())).await
    }

    async fn send_event(&mut self, event: &StoredEvent) -> Result<(), Gone> {
        self.send(Message::Text(Utf8Bytes::from(&*event.json)))
            .await
    }

    async fn credential_still_valid(&self) -> bool {
        let Some(principal) = &self.principal else {
            return true;
        };
        // A database hiccup is not a revocation.
        auth::still_valid(self.state.store.as_ref(), &principal.credential)
            .await
            .unwrap_or(true)
    }

    /// True when this message is over the client's rate.
    fn flooding(&self) -> bool {
        self.limiter.check().is_err()
    }

    /// Refuses a message sent too fast: a warning the first time in a while, then silence, and
    /// the door for a client that keeps at it.
    async fn throttle(&mut self) -> Result<(), Gone> {
        self.throttled += 1;
        if self.throttled > MAX_THROTTLED {
            return Err(Gone(Ended::Flooding));
        }
        if self.throttled % 50 == 1 {
            self.send_msg(&ServerMsg::Error(ErrorEvent::protocol(
                "too many messages: slow down (messages over the limit are ignored)",
            )))
            .await?;
        }
        Ok(())
    }

    async fn protocol_error(&mut self, error: &str) -> Result<(), Gone> {
        self.protocol_errors += 1;
        if self.protocol_errors > MAX_PROTOCOL_ERRORS {
            return Err(Gone(Ended::Misbehaving));
        }
        self.send_msg(&ServerMsg::Error(ErrorEvent::protocol(error)))
            .await
    }

    async fn start_first_subscription(&mut self) -> Result<(), Gone> {
        match self.pending_first.take() {
            Some(FirstSubscription::Job { job_id, after_seq }) => {
                self.subscribe(job_id, after_seq).await
            }
            Some(FirstSubscription::Unknown) => {
                self.send_msg(&ServerMsg::Error(ErrorEvent::protocol("job not found")))
                    .await
            }
            None => Ok(()),
        }
    }

    async fn on_text(&mut self, text: &str) -> Result<(), Gone> {
        let msg: ClientMsg = match serde_json::from_str(text) {
            Ok(msg) => msg,
            Err(error) => {
                let detail = if serde_json::from_str::<serde_json::Value>(text).is_ok() {
                    format!("unknown or malformed message: {error}")
                } else {
                    "messages must be JSON objects with a \"type\"".to_owned()
                };
                return self.protocol_error(&detail).await;
            }
        };
        if let ClientMsg::Ping { timestamp } = msg {
            return self.send_msg(&ServerMsg::Pong { timestamp }).await;
        }
        if let ClientMsg::Auth { token } = &msg {
            if self.principal.is_some() {
                return Ok(());
            }
            match auth::principal_for_token(self.state.store.as_ref(), token).await {
                Ok(Some(principal)) => {
                    let most = self.state.settings.live.max_connections_per_credential;
                    let Some(slot) = self.state.hub.credential_slot(&principal.credential, most)
                    else {
                        return Err(Gone(Ended::TooManyConnections));
                    };
                    self.principal = Some(principal);
                    self._slot = Some(slot);
                    return self.start_first_subscription().await;
                }
                _ => return Err(Gone(Ended::Unauthorised)),
            }
        }
        if self.principal.is_none() {
            return self
                .protocol_error("authenticate first: send {\"type\":\"auth\",\"token\":\"…\"}")
                .await;
        }
        match msg {
            ClientMsg::SubscribeJob { job_id, after_seq } => {
                self.subscribe(job_id, after_seq).await
            }
            ClientMsg::UnsubscribeJob { job_id } => {
                self.subscriptions.remove(&job_id);
                self.streams.remove(&Feed::Job(job_id));
                self.send_msg(&ServerMsg::Unsubscribed { job_id }).await
            }
            ClientMsg::UnsubscribeCampaign { campaign_id } => {
                self.campaigns.remove(&campaign_id);
                Ok(())
            }
            ClientMsg::SubscribeJobs => {
                let tenant = self.tenant();
                let rx = self.state.hub.subscribe_tenant(tenant);
                self.streams
                    .insert(Feed::TenantJobs, BroadcastStream::new(rx));
                Ok(())
            }
            ClientMsg::SubscribeInbox { after } => self.subscribe_inbox(after).await,
            ClientMsg::SubscribeSenders => self.subscribe_senders().await,
            ClientMsg::SubscribeCampaign {
                campaign_id,
                after_seq,
                after_seqs,
            } => {
                self.subscribe_campaign(campaign_id, after_seq, &after_seqs)
                    .await
            }
            ClientMsg::Ping { .. } | ClientMsg::Auth { .. } => Ok(()),
        }
    }

    /// Follows the tenant's inbox: `inbox_subscribed`, then the messages after `after` (when
    /// given) from the database, then new ones as they come.
    async fn subscribe_inbox(&mut self, after: Option<i64>) -> Result<(), Gone> {
        // Listen before reading, as for jobs: a message stored in between comes both ways and
        // is sent once.
        let rx = self.state.hub.subscribe_inbox(self.tenant());
        let newest = InboxWindow {
            limit: 1,
            ..Default::default()
        };
        let last_id = match self.state.store.inbox(self.tenant(), newest).await {
            Ok(messages) => messages.last().map(|m| m.id),
            Err(error) => {
                tracing::warn!(%error, "could not read the inbox to subscribe");
                return self
                    .send_msg(&ServerMsg::Error(ErrorEvent::protocol(
                        "try again: the database is busy",
                    )))
                    .await;
            }
        };
        self.inbox = Some(BroadcastStream::new(rx));
        self.send_msg(&ServerMsg::InboxSubscribed { last_id })
            .await?;
        if let Some(after) = after {
            self.replay_inbox(after).await?;
        }
        Ok(())
    }

    /// Sends the inbox messages stored after `after`, page by page.
    async fn replay_inbox(&mut self, mut after: i64) -> Result<(), Gone> {
        loop {
            let window = InboxWindow {
                after: Some(after),
                limit: INBOX_PAGE,
                ..Default::default()
            };
            let page = match self.state.store.inbox(self.tenant(), window).await {
                Ok(page) => page,
                Err(error) => {
                    tracing::warn!(%error, "could not replay the inbox");
                    return Ok(());
                }
            };
            let Some(last) = page.last().map(|m| m.id) else {
                return Ok(());
            };
            let full = page.len() as u32 == INBOX_PAGE;
            for message in page {
                self.send_inbound(message).await?;
            }
            after = last;
            if !full {
                return Ok(());
            }
        }
    }

    async fn on_inbound(
        &mut self,
        delivery: Result<std::sync::Arc<InboundMessage>, BroadcastStreamRecvError>,
    ) -> Result<(), Gone> {
        match delivery {
            Ok(message) => self.send_inbound((*message).clone()).await,
            // Fell behind: what it missed is in the database.
            Err(BroadcastStreamRecvError::Lagged(_)) => {
                let after = self.inbox_sent.last().copied().unwrap_or(0);
                self.replay_inbox(after).await
            }
        }
    }

    /// Follows the health of the tenant's senders: every sender as it is now, then each change.
    async fn subscribe_senders(&mut self) -> Result<(), Gone> {
        // Listen before reading: a change in between comes both ways, and the newer wins.
        let rx = self.state.hub.subscribe_senders(self.tenant());
        self.senders = Some(BroadcastStream::new(rx));
        self.send_senders().await
    }

    /// `senders_subscribed`: every sender of the tenant as it is now.
    async fn send_senders(&mut self) -> Result<(), Gone> {
        match self.state.store.senders(self.tenant()).await {
            Ok(senders) => {
                let senders = senders.iter().map(|s| s.health_view()).collect();
                self.send_msg(&ServerMsg::SendersSubscribed { senders })
                    .await
            }
            Err(error) => {
                tracing::warn!(%error, "could not read the senders to subscribe");
                self.senders = None;
                self.send_msg(&ServerMsg::Error(ErrorEvent::protocol(
                    "try again: the database is busy",
                )))
                .await
            }
        }
    }

    async fn on_sender_health(
        &mut self,
        change: Result<std::sync::Arc<SenderHealthView>, BroadcastStreamRecvError>,
    ) -> Result<(), Gone> {
        match change {
            Ok(view) => {
                self.send_msg(&ServerMsg::SenderHealth((*view).clone()))
                    .await
            }
            // Fell behind: the whole list again says where each one is.
            Err(BroadcastStreamRecvError::Lagged(_)) => self.send_senders().await,
        }
    }

    async fn send_inbound(&mut self, message: InboundMessage) -> Result<(), Gone> {
        if !self.inbox_sent.insert(message.id) {
            return Ok(());
        }
        if self.inbox_sent.len() > INBOX_REMEMBERED {
            self.inbox_sent.pop_first();
        }
        self.send_msg(&ServerMsg::MessageNew(message)).await
    }

    fn tenant(&self) -> crate::server::store::TenantId {
        self.principal
            .as_ref()
            .expect("only called once authenticated")
            .tenant_id
    }

    /// Follows every job of a campaign now, and each job added to it from now on.
    #[tracing::instrument(skip(self, after_seqs))]
    async fn subscribe_campaign(
        &mut self,
        campaign_id: Uuid,
        after_seq: Option<u64>,
        after_seqs: &HashMap<JobId, u64>,
    ) -> Result<(), Gone> {
        // Listen for new jobs before reading the campaign: one created in between is seen
        // by both, and `subscribe` skips it the second time.
        if !self.streams.contains_key(&Feed::CampaignJobs) {
            let rx = self.state.hub.subscribe_tenant(self.tenant());
            self.streams
                .insert(Feed::CampaignJobs, BroadcastStream::new(rx));
        }
        let campaign = match self.state.store.campaign(self.tenant(), campaign_id).await {
            Ok(Some(campaign)) => crate::server::services::campaigns::redacted(campaign),
            Ok(None) => return self.protocol_error("campaign not found").await,
            Err(error) => {
                tracing::warn!(%error, "could not load a campaign to subscribe");
                return self
                    .send_msg(&ServerMsg::Error(ErrorEvent::protocol(
                        "try again: the database is busy",
                    )))
                    .await;
            }
        };
        self.campaigns.insert(campaign_id);
        // Oldest first; a job the client does not know resumes from the snapshot's seq, which
        // is where a client that takes the snapshot in stands. A finished job with nothing left
        // to replay needs no subscription: the snapshot says all there is.
        let jobs: Vec<(JobId, u64, bool)> = campaign
            .jobs
            .iter()
            .rev()
            .map(|j| (j.id, j.last_seq, j.status.is_terminal()))
            .collect();
        self.send_msg(&ServerMsg::CampaignSubscribed(CampaignSnapshot {
            campaign_id,
            campaign,
        }))
        .await?;
        for (job, last_seq, finished) in jobs {
            if self.subscriptions.contains_key(&job) {
                continue;
            }
            let after = after_seqs
                .get(&job)
                .copied()
                .or(after_seq)
                .unwrap_or(last_seq);
            if finished && after >= last_seq {
                continue;
            }
            self.subscribe(job, Some(after)).await?;
        }
        Ok(())
    }

    /// Subscribes a job that was just added to a followed campaign, from its first event.
    async fn on_campaign_job(&mut self, event: &StoredEvent) -> Result<(), Gone> {
        let Ok(ServerMsg::JobCreated(created)) = event.msg() else {
            return Ok(());
        };
        let followed = created
            .job
            .campaign_id
            .is_some_and(|c| self.campaigns.contains(&c));
        if followed && !self.subscriptions.contains_key(&created.job_id) {
            self.subscribe(created.job_id, Some(0)).await?;
        }
        Ok(())
    }

    #[tracing::instrument(skip(self))]
    async fn subscribe(&mut self, job_id: JobId, after_seq: Option<u64>) -> Result<(), Gone> {
        if !self.subscriptions.contains_key(&job_id)
            && self.subscriptions.len() >= MAX_SUBSCRIPTIONS
        {
            return self
                .protocol_error(
                    "this connection follows too many jobs: unsubscribe from some first",
                )
                .await;
        }
        let tenant = self.tenant();
        // Look the job up before making it a channel: ids that do not exist (or are another
        // tenant's) must cost nothing, however many a client sends.
        let error = |text| ServerMsg::Error(ErrorEvent::for_job(job_id, text));
        match self.state.store.job_tenant(job_id).await {
            Ok(Some(owner)) if owner == tenant => {}
            Ok(_) => return self.send_msg(&error("job not found")).await,
            Err(store_error) => {
                tracing::warn!(error = %store_error, "could not look up a job to subscribe");
                return self
                    .send_msg(&error("try again: the database is busy"))
                    .await;
            }
        }
        // Listen before reading the snapshot: whatever is committed in between arrives on the
        // channel too, and the seq check drops what the replay already sent.
        let rx = self.state.hub.subscribe_job(job_id);
        let job = match self.state.store.job(tenant, job_id).await {
            Ok(Some(job)) => job,
            Ok(None) => return self.send_msg(&error("job not found")).await,
            Err(store_error) => {
                tracing::warn!(error = %store_error, "could not load a job to subscribe");
                return self
                    .send_msg(&error("try again: the database is busy"))
                    .await;
            }
        };
        let last_seq = job.last_seq;
        // Without this, the first announcement from another instance would make the bridge
        // read the job's whole log for a subscriber that only wants what follows its snapshot.
        self.state.hub.note_snapshot(job_id, last_seq);
        self.send_msg(&ServerMsg::Subscribed(SnapshotMsg {
            job_id,
            last_seq,
            job: job.clone(),
        }))
        .await?;
        let start = match after_seq {
            Some(after) if after < last_seq => after,
            _ => last_seq,
        };
        self.subscriptions
            .insert(job_id, Subscription { last_sent: start });
        self.streams
            .insert(Feed::Job(job_id), BroadcastStream::new(rx));
        if start < last_seq {
            let replayed = self.replay(job_id, Some(last_seq), false).await?;
            if !replayed {
                // The log no longer holds what the client asked for: it starts over from a snapshot.
                self.subscriptions.insert(
                    job_id,
                    Subscription {
                        last_sent: last_seq,
                    },
                );
                self.send_msg(&ServerMsg::Resync(SnapshotMsg {
                    job_id,
                    last_seq,
                    job,
                }))
                .await?;
            }
        }
        Ok(())
    }

    /// Sends events from the log after the subscription's last seq, up to `until` (or the end).
    /// With `coalesce`, progress events followed by newer counters in the same page are skipped.
    /// Returns false if the log has a hole where the client needed events (they were pruned).
    async fn replay(
        &mut self,
        job_id: JobId,
        until: Option<u64>,
        coalesce: bool,
    ) -> Result<bool, Gone> {
        let tenant = self.tenant();
        loop {
            let Some(last_sent) = self.subscriptions.get(&job_id).map(|s| s.last_sent) else {
                return Ok(true);
            };
            if until.is_some_and(|u| last_sent >= u) {
                return Ok(true);
            }
            let page = match self
                .state
                .store
                .events_after(tenant, job_id, last_sent, REPLAY_PAGE)
                .await
            {
                Ok(Some(page)) => page,
                Ok(None) => return Ok(true),
                Err(error) => {
                    tracing::warn!(%error, "could not read events to replay");
                    return Ok(true);
                }
            };
            let Some(first) = page.first() else {
                // Nothing after what was sent, though the snapshot says there is: pruned.
                return Ok(until.is_none_or(|u| last_sent >= u));
            };
            if first.seq != last_sent + 1 {
                return Ok(false);
            }
            let last_progress = page.iter().rposition(StoredEvent::is_coalescable);
            let full = page.len() as u32 == REPLAY_PAGE;
            for (i, event) in page.iter().enumerate() {
                if until.is_some_and(|u| event.seq > u) {
                    break;
                }
                let skip = coalesce && event.is_coalescable() && Some(i) != last_progress;
                if !skip {
                    self.send_event(event).await?;
                }
                if let Some(sub) = self.subscriptions.get_mut(&job_id) {
                    sub.last_sent = event.seq;
                }
            }
            if !full {
                return Ok(true);
            }
        }
    }

    async fn on_delivery(
        &mut self,
        feed: Feed,
        delivery: Result<SharedBatch, BroadcastStreamRecvError>,
    ) -> Result<(), Gone> {
        match (feed, delivery) {
            (Feed::Job(job_id), Ok(batch)) => {
                for event in &batch.events {
                    let Some(last_sent) = self.subscriptions.get(&job_id).map(|s| s.last_sent)
                    else {
                        return Ok(());
                    };
                    if event.seq <= last_sent {
                        continue;
                    }
                    if event.seq > last_sent + 1 {
                        // Committed by another path (or published out of order): fill the gap from the log.
                        self.replay(job_id, Some(event.seq - 1), false).await?;
                    }
                    self.send_event(event).await?;
                    if let Some(sub) = self.subscriptions.get_mut(&job_id) {
                        sub.last_sent = event.seq;
                    }
                }
                Ok(())
            }
            (Feed::Job(job_id), Err(BroadcastStreamRecvError::Lagged(missed))) => {
                // This client fell behind the hub's buffer: read what it missed from the log,
                // coalescing progress so it can catch up.
                tracing::debug!(%job_id, missed, "subscriber lagged; catching up from the log");
                self.replay(job_id, None, true).await.map(|_| ())
            }
            (Feed::TenantJobs, Ok(batch)) => {
                for event in batch.events.iter().filter(|e| e.kind == "job_created") {
                    self.send_event(event).await?;
                }
                Ok(())
            }
            // New-job notices are hints for dashboards; a dashboard reloads its list on reconnect.
            (Feed::TenantJobs, Err(BroadcastStreamRecvError::Lagged(_))) => Ok(()),
            (Feed::CampaignJobs, Ok(batch)) => {
                for event in batch.events.iter().filter(|e| e.kind == "job_created") {
                    self.on_campaign_job(event).await?;
                }
                Ok(())
            }
            // Missed some: look at the followed campaigns' jobs again.
            (Feed::CampaignJobs, Err(BroadcastStreamRecvError::Lagged(_))) => {
                let campaigns: Vec<Uuid> = self.campaigns.iter().copied().collect();
                for campaign in campaigns {
                    let jobs = match self.state.store.campaign(self.tenant(), campaign).await {
                        Ok(Some(campaign)) => campaign.jobs,
                        _ => continue,
                    };
                    for job in jobs.iter().rev() {
                        if !self.subscriptions.contains_key(&job.id) {
                            self.subscribe(job.id, Some(0)).await?;
                        }
                    }
                }
                Ok(())
            }
        }
    }
}
