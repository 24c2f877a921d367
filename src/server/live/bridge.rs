//! Events between instances sharing one PostgreSQL database.
//!
//! Every instance LISTENs on a dedicated connection. A committing instance sends one NOTIFY per
//! batch carrying only `job_id:last_seq`, a wake-up: the listener reads the rows after the newest
//! seq its hub has for that job, and only for jobs its own clients follow. A notification missed
//! while the connection was down costs latency, never data: on every (re)connect the listener
//! re-reads every followed job, and WebSocket sessions fill any gap from the log themselves.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;

use crate::protocol::JobId;
use crate::protocol::backoff::Backoff;
use crate::server::live::hub::{EventBatch, Hub};
use crate::server::store::postgres::{
    EVENTS_CHANNEL, INBOX_CHANNEL, ROW_EVENTS_CHANNEL, SENDERS_CHANNEL,
};
use crate::server::store::{Store, StoreResult, StoredEvent};

/// Events read per query while relaying.
const PAGE: u32 = 1_000;

/// How soon the listener reconnects: at once-ish after a clean end, slower while it keeps failing.
const RECONNECT: Backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));

/// Relays other instances' events into this instance's hub, for as long as the process lives.
pub fn spawn(url: String, store: Arc<dyn Store>, hub: Arc<Hub>) {
    tokio::spawn(async move {
        let mut failures = 0_u32;
        loop {
            match listen(&url, &store, &hub).await {
                Ok(()) => failures = 0,
                Err(error) => {
                    failures += 1;
                    tracing::warn!(%error, failures, "event listener lost its connection; reconnecting");
                }
            }
            tokio::time::sleep(RECONNECT.delay(failures + 1)).await;
        }
    });
}

/// How the listener's connection shows in `pg_stat_activity`.
pub const LISTENER_NAME: &str = "jobpulse-listener";

async fn listen(url: &str, store: &Arc<dyn Store>, hub: &Arc<Hub>) -> Result<(), sqlx::Error> {
    let separator = if url.contains('?') { '&' } else { '?' };
    let url = format!("{url}{separator}application_name={LISTENER_NAME}");
    let mut listener = PgListener::connect(&url).await?;
    listener.ignore_pool_close_event(true);
    listener
        .listen_all([
            EVENTS_CHANNEL,
            ROW_EVENTS_CHANNEL,
            INBOX_CHANNEL,
            SENDERS_CHANNEL,
        ])
        .await?;
    tracing::debug!("listening for other instances' events");
    // Whatever was announced while we were not listening is gone: read it.
    catch_up_all(store, hub).await;
    loop {
        // `None`: the connection dropped and sqlx reconnected it; notifications in between are lost.
        match listener.try_recv().await? {
            Some(notification) => {
                let payload = notification.payload();
                let relayed = match notification.channel() {
                    ROW_EVENTS_CHANNEL => relay_row(store, hub, payload).await,
                    INBOX_CHANNEL => relay_inbound(store, hub, payload).await,
                    SENDERS_CHANNEL => relay_sender_health(store, hub, payload).await,
                    _ => relay_batch(store, hub, payload).await,
                };
                if let Err(error) = relayed {
                    tracing::warn!(%error, "could not relay events");
                }
            }
            None => {
                tracing::info!("event listener reconnected; catching up");
                catch_up_all(store, hub).await;
            }
        }
    }
}

/// A batch announcement: read what this instance's followers have not seen.
async fn relay_batch(store: &Arc<dyn Store>, hub: &Hub, payload: &str) -> StoreResult<()> {
    let Some((job, seq)) = payload
        .split_once(':')
        .and_then(|(job, seq)| Some((job.parse::<JobId>().ok()?, seq.parse::<u64>().ok()?)))
    else {
        return Ok(());
    };
    match hub.followed_seq(job) {
        Some(last) if last < seq => catch_up(store, hub, job, last).await,
        Some(_) => Ok(()),
        // Nobody here follows the job; a dashboard may want to hear that it exists.
        None if seq == 1 && hub.follows_new_jobs() => catch_up(store, hub, job, 0).await,
        None => Ok(()),
    }
}

/// A tenant's news announced as `tenant_id:id`.
fn tenant_and<T: std::str::FromStr>(payload: &str) -> Option<(crate::server::store::TenantId, T)> {
    let (tenant, id) = payload.split_once(':')?;
    Some((
        crate::server::store::TenantId(tenant.parse().ok()?),
        id.parse().ok()?,
    ))
}

/// A sender's health changed on another instance: its followers here hear it, and this
/// instance's devices learn whether its gateway reports it down (so it is read even when nobody
/// here follows the tenant's senders).
async fn relay_sender_health(store: &Arc<dyn Store>, hub: &Hub, payload: &str) -> StoreResult<()> {
    let Some((tenant, id)) = tenant_and::<uuid::Uuid>(payload) else {
        return Ok(());
    };
    if let Some(sender) = store.sender(tenant, id).await? {
        hub.publish_sender_health(tenant, sender.health_view(), sender.health_source);
    }
    Ok(())
}

/// A new inbox message (`tenant_id:id`): read it for this instance's inbox followers. One
/// missed while the connection was down is read by the client itself when it resubscribes.
async fn relay_inbound(store: &Arc<dyn Store>, hub: &Hub, payload: &str) -> StoreResult<()> {
    let Some((tenant, id)) = tenant_and::<i64>(payload) else {
        return Ok(());
    };
    if !hub.follows_inbox(tenant) {
        return Ok(());
    }
    if let Some(message) = store.inbound_message(tenant, id).await? {
        hub.publish_inbox(tenant, message);
    }
    Ok(())
}

/// A per-row announcement (the naive design, kept for the benchmark): the event is the payload.
async fn relay_row(store: &Arc<dyn Store>, hub: &Hub, payload: &str) -> StoreResult<()> {
    let Ok(msg) = serde_json::from_str::<crate::protocol::ServerMsg>(payload) else {
        return Ok(());
    };
    let (Some(job), Some(seq)) = (msg.job_id(), msg.seq()) else {
        return Ok(());
    };
    if hub.followed_seq(job).is_none_or(|last| last >= seq) {
        return Ok(());
    }
    let Some(tenant_id) = store.job_tenant(job).await? else {
        return Ok(());
    };
    hub.publish(EventBatch {
        job_id: job,
        tenant_id,
        events: vec![StoredEvent {
            job_id: job,
            seq,
            kind: msg.type_name().to_owned(),
            json: payload.into(),
        }],
    });
    Ok(())
}

/// Publishes a job's events after `after` from the log, page by page.
async fn catch_up(
    store: &Arc<dyn Store>,
    hub: &Hub,
    job: JobId,
    mut after: u64,
) -> StoreResult<()> {
    let Some(tenant_id) = store.job_tenant(job).await? else {
        return Ok(());
    };
    loop {
        let events = store.events_since(job, after, PAGE).await?;
        let Some(last) = events.last().map(|e| e.seq) else {
            return Ok(());
        };
        let full = events.len() as u32 == PAGE;
        hub.publish(EventBatch {
            job_id: job,
            tenant_id,
            events,
        });
        after = last;
        if !full {
            return Ok(());
        }
    }
}

async fn catch_up_all(store: &Arc<dyn Store>, hub: &Hub) {
    for (job, last) in hub.followed() {
        if let Err(error) = catch_up(store, hub, job, last).await {
            tracing::warn!(%error, %job, "could not catch up on a followed job");
        }
    }
}
