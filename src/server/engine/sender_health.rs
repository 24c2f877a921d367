//! Senders' health as their gateways report it. Every instance looks often for senders nobody
//! asked about for `health_check_seconds`, claims them in the database (so several instances
//! ask each gateway once between them) and asks; what the gateway says is recorded and pushed
//! live like the health the engine's own sends find.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use futures::StreamExt;

use super::Engine;
use crate::server::services::senders::provider_for;
use crate::server::store::{HealthSource, SenderRecord};

/// Senders claimed per look.
const CLAIM: u32 = 50;
/// Gateways asked at once.
const AT_ONCE: usize = 8;

/// Asks gateways about their senders until the process ends; does nothing if the settings say
/// never.
pub(super) async fn watch(engine: Arc<Engine>) {
    let every = engine.senders.settings.senders.health_check_seconds;
    if every == 0 {
        return;
    }
    let every = Duration::from_secs(every.into());
    // Look more often than each sender is due, so a new sender is asked soon.
    let look = (every / 4).clamp(Duration::from_secs(1), Duration::from_secs(15));
    while !engine.is_stopped() {
        let now = Utc::now();
        let due_before = now - chrono::Duration::from_std(every).unwrap_or_default();
        match engine
            .store
            .claim_health_checks(now, due_before, CLAIM)
            .await
        {
            Ok(senders) => {
                let full = senders.len() as u32 == CLAIM;
                futures::stream::iter(senders)
                    .for_each_concurrent(AT_ONCE, |sender| ask(&engine, sender))
                    .await;
                if full {
                    continue;
                }
            }
            Err(error) => tracing::warn!(%error, "could not claim senders to ask about"),
        }
        tokio::time::sleep(look).await;
    }
}

/// Asks one sender's gateway how it is, and records what it says.
async fn ask(engine: &Arc<Engine>, sender: SenderRecord) {
    let provider = match provider_for(&sender, &engine.senders) {
        Ok(provider) => provider,
        Err(error) => {
            tracing::warn!(sender = %sender.id, %error, "a sender's secrets do not open");
            return;
        }
    };
    let Some(reported) = provider.check_health().await else {
        return;
    };
    engine
        .record_sender_health(
            sender.id,
            reported.health,
            reported.fault.as_ref(),
            HealthSource::Provider,
        )
        .await;
}
