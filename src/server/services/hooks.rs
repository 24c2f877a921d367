//! Outgoing webhooks: adding and listing them (REST and the hooks page), and calling them.
//!
//! A delivery is written in the commit that ends its job, so nothing the database knows is
//! left untold. Each instance takes due deliveries (held for a while, so a crashed caller's are
//! taken again), calls them, and records the answer: `2xx` delivers, anything else is tried
//! again after a growing pause, until `hooks.max_attempts` calls. Receivers may hear of one
//! event twice (a call answered after its hold ran out): its `id` says so.

use crate::protocol::audit::AuditAction;
use crate::server::audit;
use std::time::Duration;

use chrono::Utc;
use futures::future::join_all;
use hmac::{Hmac, Mac};
use uuid::Uuid;

use crate::protocol::backoff::Backoff;
use crate::protocol::hooks::{
    CallFailure, CreateHookRequest, DeliveryView, HookCreated, HookEvent, HookView,
};
use crate::protocol::problem::{HookRule, Thing};
use crate::server::AppState;
use crate::server::http::error::AppError;
use crate::server::settings::Settings;
use crate::server::store::{DeliveryAttempt, DueDelivery, NewHook, StoreError, TenantId};

/// The longest hook address.
pub const MAX_URL_LEN: u32 = 2_048;
/// Deliveries one instance calls at once.
const CALLS_AT_ONCE: u32 = 16;

/// Why a hook request was not done.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("{0:?}")]
    Invalid(HookRule),
    #[error("hook not found")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<HookError> for AppError {
    fn from(error: HookError) -> Self {
        match error {
            HookError::Invalid(rule) => AppError::Hook(rule),
            HookError::NotFound => AppError::NotFound(Thing::Hook),
            HookError::Store(e) => AppError::Store(e),
        }
    }
}

/// The address and events of a request, checked: the rule it breaks otherwise.
pub fn check(
    request: &CreateHookRequest,
    settings: &Settings,
) -> Result<(String, Vec<HookEvent>), HookRule> {
    let url = request.url.trim();
    if url.is_empty() {
        return Err(HookRule::UrlEmpty);
    }
    if url.chars().count() > MAX_URL_LEN as usize {
        return Err(HookRule::UrlTooLong { max: MAX_URL_LEN });
    }
    let not_url = || HookRule::NotUrl { value: url.into() };
    let parsed = reqwest::Url::parse(url).map_err(|_| not_url())?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(not_url());
    }
    if !settings.scrape.allow_private_addresses
        && crate::server::adapters::sources::names_private_host(&parsed)
    {
        return Err(HookRule::PrivateAddress { value: url.into() });
    }
    let mut events = Vec::new();
    for name in &request.events {
        match HookEvent::parse(name.trim()) {
            Some(event) if HookEvent::SUBSCRIBABLE.contains(&event) => {
                if !events.contains(&event) {
                    events.push(event);
                }
            }
            _ => return Err(HookRule::UnknownEvent { got: name.clone() }),
        }
    }
    if events.is_empty() {
        return Err(HookRule::NoEvents);
    }
    events.sort();
    Ok((parsed.to_string(), events))
}

/// What a hook's secret is sealed to: its own id, so a sealed secret cannot be moved.
fn bound_to(hook: Uuid) -> String {
    format!("hook:{hook}")
}

/// Adds a hook for `tenant`; its secret is in the answer, and nowhere readable after.
pub async fn create(
    state: &AppState,
    tenant: TenantId,
    request: CreateHookRequest,
) -> Result<HookCreated, HookError> {
    let (url, events) = check(&request, &state.settings).map_err(HookError::Invalid)?;
    let max = state.settings.hooks.max_per_tenant;
    if state.store.hooks(tenant).await?.len() >= max as usize {
        return Err(HookError::Invalid(HookRule::TooMany { max }));
    }
    let id = Uuid::now_v7();
    let secret = crate::server::secrets::new_secret("whsec_");
    state
        .store
        .create_hook(NewHook {
            id,
            tenant_id: tenant,
            url,
            events,
            sealed_secret: state.vault.seal(&bound_to(id), &secret),
        })
        .await?;
    let hook = state
        .store
        .hooks(tenant)
        .await?
        .into_iter()
        .find(|h| h.id == id)
        .ok_or(HookError::NotFound)?;
    audit::note(AuditAction::HookCreate, id, Some(hook.url.clone()));
    Ok(HookCreated { hook, secret })
}

/// The tenant's hooks.
pub async fn list(state: &AppState, tenant: TenantId) -> Result<Vec<HookView>, HookError> {
    Ok(state.store.hooks(tenant).await?)
}

/// Deletes a hook and its deliveries.
pub async fn delete(state: &AppState, tenant: TenantId, id: Uuid) -> Result<(), HookError> {
    if state.store.delete_hook(tenant, id).await? {
        audit::note(AuditAction::HookDelete, id, None);
        Ok(())
    } else {
        Err(HookError::NotFound)
    }
}

/// Most deliveries in one page of `GET /hooks/{id}/deliveries`.
pub const MAX_DELIVERIES_PAGE: u32 = 200;

/// A hook's deliveries, newest first.
pub async fn deliveries(
    state: &AppState,
    tenant: TenantId,
    hook: Uuid,
    before: Option<Uuid>,
    limit: u32,
) -> Result<Vec<DeliveryView>, HookError> {
    if !state
        .store
        .hooks(tenant)
        .await?
        .iter()
        .any(|h| h.id == hook)
    {
        return Err(HookError::NotFound);
    }
    let limit = limit.clamp(1, MAX_DELIVERIES_PAGE);
    Ok(state
        .store
        .hook_deliveries(tenant, hook, before, limit)
        .await?)
}

/// Queues a `ping` to the hook, to try it.
pub async fn ping(
    state: &AppState,
    tenant: TenantId,
    hook: Uuid,
) -> Result<DeliveryView, HookError> {
    let queued = state.store.queue_ping(tenant, hook).await?;
    state.hook_calls.notify_one();
    queued.ok_or(HookError::NotFound)
}

/// `X-Jobpulse-Signature` of `body` sent at unix time `t`: `t=<t>,v1=<hex HMAC-SHA256(secret,
/// "<t>.<body>")>`. Receivers compute the same and compare in constant time, and refuse an old
/// `t` so a captured call cannot be replayed later.
pub fn signature(secret: &str, t: i64, body: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// The client hooks are called with: no redirects (a moved hook is a failed call, not a call
/// somewhere else), and public addresses only unless `scrape.allow_private_addresses`.
fn client(settings: &Settings) -> reqwest::Client {
    let timeout = Duration::from_millis(settings.hooks.timeout_ms.max(100));
    let builder = reqwest::Client::builder()
        .user_agent(concat!("jobpulse-hooks/", env!("CARGO_PKG_VERSION")))
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none());
    let builder = if settings.scrape.allow_private_addresses {
        builder
    } else {
        crate::server::adapters::sources::public_only(builder)
    };
    builder.build().expect("the hooks' HTTP client builds")
}

/// Calls due deliveries until `stop` turns true: every `hooks.poll_ms`, or at once when woken.
/// A call under way when it stops is recorded by the next instance to take it (its hold ends).
pub async fn deliver_forever(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let client = client(&state.settings);
    let poll = Duration::from_millis(state.settings.hooks.poll_ms.max(10));
    while !*stop.borrow() {
        match deliver_due(&state, &client).await {
            // A full batch: there may be more waiting.
            Ok(n) if n >= CALLS_AT_ONCE as usize => continue,
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "could not take due webhook deliveries"),
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = state.hook_calls.notified() => {}
            _ = state.hub.job_ends().notified() => {}
            // The server is gone (its stop sender with it): so is this loop.
            gone = stop.changed() => if gone.is_err() { return },
        }
    }
}

/// Takes and calls the deliveries due now; how many.
async fn deliver_due(state: &AppState, client: &reqwest::Client) -> Result<usize, StoreError> {
    let settings = &state.settings.hooks;
    let now = Utc::now();
    // Held past the call's timeout, so no other instance calls it meanwhile.
    let hold = chrono::Duration::milliseconds((settings.timeout_ms.max(100) * 3) as i64);
    let due = state
        .store
        .claim_deliveries(now, now + hold, CALLS_AT_ONCE)
        .await?;
    let count = due.len();
    let calls = due.into_iter().map(|delivery| async move {
        let attempt = call(state, client, &delivery).await;
        let id = delivery.id;
        if let Err(error) = state.store.record_attempt(id, attempt).await {
            // Held, not lost: it is taken again when its hold runs out.
            tracing::warn!(%error, delivery = %id, "could not record a webhook call");
        }
    });
    join_all(calls).await;
    Ok(count)
}

/// Calls one delivery: how it went, and when to call again.
async fn call(
    state: &AppState,
    client: &reqwest::Client,
    delivery: &DueDelivery,
) -> DeliveryAttempt {
    let settings = &state.settings.hooks;
    let tries = delivery.attempts + 1;
    let retry_at = || {
        (tries < settings.max_attempts.max(1)).then(|| {
            let backoff = Backoff::new(
                Duration::from_millis(settings.retry_base_ms),
                Duration::from_millis(settings.retry_max_ms.max(settings.retry_base_ms)),
            );
            let pause = backoff.equal_jitter(tries, rand::random::<f64>());
            Utc::now() + chrono::Duration::from_std(pause).unwrap_or(chrono::Duration::MAX)
        })
    };
    let failed = |response_status: Option<u16>, error: Option<String>| {
        let retry_at = retry_at();
        crate::server::metrics::hook_call(if retry_at.is_some() {
            "retry"
        } else {
            "failed"
        });
        DeliveryAttempt {
            at: Utc::now(),
            response_status,
            error,
            delivered: false,
            retry_at,
        }
    };
    let secret = match state
        .vault
        .open(&bound_to(delivery.hook_id), &delivery.sealed_secret)
    {
        Ok(secret) => secret,
        Err(error) => {
            tracing::error!(%error, hook = %delivery.hook_id, "a hook's secret cannot be opened");
            let error = CallFailure::SecretLost.with(&error.to_string());
            return failed(None, Some(error));
        }
    };
    let t = Utc::now().timestamp();
    let answer = client
        .post(&delivery.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(
            "X-Jobpulse-Signature",
            signature(&secret, t, &delivery.body),
        )
        .header("X-Jobpulse-Event", delivery.event.as_str())
        .header("X-Jobpulse-Delivery", delivery.id.to_string())
        .body(delivery.body.clone())
        .send()
        .await;
    match answer {
        Ok(response) if response.status().is_success() => {
            crate::server::metrics::hook_call("delivered");
            DeliveryAttempt {
                at: Utc::now(),
                response_status: Some(response.status().as_u16()),
                error: None,
                delivered: true,
                retry_at: None,
            }
        }
        Ok(response) => failed(Some(response.status().as_u16()), None),
        Err(error) => failed(None, Some(failure(&error))),
    }
}

/// A failed call's `error`: what kind of failure, then reqwest's words and their causes.
fn failure(error: &reqwest::Error) -> String {
    let kind = if crate::server::adapters::sources::is_blocked(error) {
        CallFailure::Blocked
    } else if error.is_timeout() {
        CallFailure::Timeout
    } else {
        CallFailure::Unreachable
    };
    let mut words = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(current) = cause {
        words.push_str(": ");
        words.push_str(&current.to_string());
        cause = current.source();
    }
    kind.with(&words)
}
