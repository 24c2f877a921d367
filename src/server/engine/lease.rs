//! Holding a running job's lease: renewed often, and the way a runner hears it should stop.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::Engine;
use crate::protocol::JobId;
use crate::protocol::fault::SendFault;
use crate::server::store::{Control, StoreError};

/// Why a runner stops early; `Run` while it should go on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Stop {
    Run,
    Cancel,
    Pause,
    /// The provider kept failing for too long; the reason is its last error.
    ProviderDown(SendFault),
    /// Another runner holds the job now: write nothing more.
    LeaseLost,
}

impl From<Control> for Stop {
    fn from(control: Control) -> Stop {
        match control {
            Control::Run => Stop::Run,
            Control::Cancel => Stop::Cancel,
            Control::Pause => Stop::Pause,
        }
    }
}

/// Raises the stop reason; a lost lease overrides everything, otherwise the first reason stays.
pub(super) fn raise(stop: &watch::Sender<Stop>, reason: Stop) {
    stop.send_if_modified(|current| {
        let change = *current == Stop::Run || (reason == Stop::LeaseLost && *current != reason);
        if change {
            *current = reason;
        }
        change
    });
}

/// Renews the lease until it is lost, raising cancel / pause requests (often enough to stop
/// within a second); `each_tick` runs first on every tick (a runner's own checks).
pub(super) async fn keep(
    engine: Arc<Engine>,
    job_id: JobId,
    stop: watch::Sender<Stop>,
    mut each_tick: impl FnMut(&watch::Sender<Stop>) + Send,
) {
    let every = (engine.lease() / 3).min(Duration::from_millis(500));
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        each_tick(&stop);
        let lease_until = chrono::Utc::now() + engine.lease();
        match engine
            .store
            .renew_lease(job_id, &engine.instance_id, lease_until)
            .await
        {
            Ok(Control::Run) => {}
            Ok(control) => raise(&stop, control.into()),
            Err(StoreError::LeaseLost(_)) => {
                raise(&stop, Stop::LeaseLost);
                return;
            }
            Err(error) => tracing::warn!(%error, "could not renew the lease; retrying"),
        }
    }
}
