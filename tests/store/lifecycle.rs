//! The lifecycle, checked against every backend: random sequences of commands and runner steps.
//! Folded through the event log with `JobView::apply`, they give the store's own snapshot, and the
//! store takes a command exactly when `lifecycle::decide` on its snapshot says it fits.

use jobpulse::protocol::failure::JobFault;
use jobpulse::protocol::fault::SendFault;
use jobpulse::protocol::lifecycle::{self, Change, Command, Refusal};
use jobpulse::protocol::{ItemStatus, JobStatus, JobView};
use jobpulse::server::store::{Control, InFlightPolicy, JobEnd, Store, TenantId, Transition};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{lease, new_job, outcome, tenant};

const OWNER: &str = "runner-1";
const ITEMS: usize = 6;
const STEPS: usize = 60;

/// One random life of one job on `store`; panics on the first disagreement, naming the seed.
/// Returns what happened, step by step.
pub async fn random_life(store: &dyn Store, seed: u64) -> Vec<String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let t: TenantId = tenant(store, "acme").await;
    let created = new_job(store, t, ITEMS, None).await;
    let mut folded: JobView = created.job().clone();
    let id = folded.id;
    let mut held = false;
    let mut steps = Vec::new();
    for _ in 0..STEPS {
        match rng.random_range(0..6) {
            // People give a command.
            0 | 1 => {
                // Cancelling ends most lives at once: give it a small share.
                let command = if rng.random_bool(0.05) {
                    Command::Cancel
                } else {
                    [
                        Command::Pause,
                        Command::Resume,
                        Command::Retry {
                            include_unknown: false,
                        },
                        Command::Retry {
                            include_unknown: true,
                        },
                    ][rng.random_range(0..4)]
                };
                steps.push(format!("{command:?}"));
                // The client's folded copy decides as the store does on its own row.
                let decided = lifecycle::decide(&folded, command);
                let taken = store.command(t, id, command).await.unwrap().unwrap();
                steps.push(match &taken {
                    Transition::Done { job, .. } => format!("  -> {:?}", job.status),
                    Transition::Requested(_) => "  -> asked the runner".into(),
                    Transition::Refused { refusal, .. } => {
                        format!("  -> refused: {}", refusal.code())
                    }
                });
                match (&decided, &taken) {
                    (Err(expected), Transition::Refused { refusal, .. }) => {
                        assert_eq!(expected, refusal, "seed {seed}: {steps:?}")
                    }
                    (Ok(Change::Ask { .. }), Transition::Requested(_)) => {}
                    // A pause asked while a cancel is pending: the fence keeps the cancel.
                    (
                        Ok(Change::Ask {
                            control: Control::Pause,
                            ..
                        }),
                        Transition::Refused {
                            refusal: Refusal::BeingCancelled,
                            ..
                        },
                    ) => {}
                    (Ok(Change::Stop { to, .. }), Transition::Done { job, .. }) => {
                        assert_eq!(job.status, *to, "seed {seed}: {steps:?}")
                    }
                    (Ok(Change::Requeue { .. }), Transition::Done { job, .. }) => {
                        assert_eq!(job.status, JobStatus::Pending, "seed {seed}: {steps:?}")
                    }
                    (decided, taken) => {
                        panic!("seed {seed}: decided {decided:?}, store did {taken:?}; {steps:?}")
                    }
                }
            }
            // A runner claims the job.
            2 if !held => {
                steps.push("claim".into());
                held = store
                    .claim_job(OWNER, lease(), InFlightPolicy::Retry)
                    .await
                    .unwrap()
                    .is_some();
            }
            // The runner sends a few items.
            2 | 3 if held => {
                let items = store
                    .claim_items(id, OWNER, rng.random_range(1..=3))
                    .await
                    .unwrap();
                steps.push(format!("send {}", items.len()));
                let outcomes: Vec<_> = items
                    .iter()
                    .map(|item| {
                        let status = if rng.random_bool(0.7) {
                            ItemStatus::Sent
                        } else {
                            ItemStatus::Failed
                        };
                        outcome(item.idx, status)
                    })
                    .collect();
                store.record_outcomes(id, OWNER, &outcomes).await.unwrap();
            }
            // The runner renews its lease and ends the job as people asked, or when it is done.
            4 | 5 if held => {
                let control = store.renew_lease(id, OWNER, lease()).await.unwrap();
                let job = store.job(t, id).await.unwrap().unwrap();
                let end = match control {
                    Control::Cancel => Some(JobEnd::stopped(
                        JobStatus::Cancelled,
                        lifecycle::Note::CancelledOnRequest,
                    )),
                    Control::Pause => Some(JobEnd::stopped(
                        JobStatus::Paused,
                        lifecycle::Note::PausedOnRequest,
                    )),
                    Control::Run if lifecycle::remaining(&job) == 0 => Some(JobEnd::Completed {
                        parallel_workers: 1,
                        note: None,
                    }),
                    Control::Run if rng.random_bool(0.2) => {
                        Some(JobEnd::failed(JobFault::ProviderDown {
                            after_ms: 30_000,
                            last: SendFault::ProviderTimeout,
                        }))
                    }
                    Control::Run => None,
                };
                if let Some(end) = end {
                    steps.push(format!("finish {end:?}"));
                    store.finish_job(id, OWNER, end).await.unwrap();
                    held = false;
                }
            }
            _ => {}
        }
        // Fold what the step wrote, as a client following the job would, and compare.
        let events = store
            .events_after(t, id, folded.last_seq, 10_000)
            .await
            .unwrap()
            .unwrap();
        for (i, event) in events.iter().enumerate() {
            assert_eq!(event.seq, folded.last_seq + 1, "seed {seed}: a gap at {i}");
            folded.apply(&event.msg().unwrap());
        }
        let snapshot = store.job(t, id).await.unwrap().unwrap();
        assert_eq!(
            shape(&folded),
            shape(&snapshot),
            "seed {seed}: the folded log and the snapshot differ after {steps:?}"
        );
    }
    steps
}

/// What a client's folded copy must agree on with the store's row.
fn shape(j: &JobView) -> impl PartialEq + std::fmt::Debug {
    (
        j.status,
        j.progress,
        j.last_seq,
        j.finished_at.is_some(),
        j.results.clone(),
        j.last_error.clone(),
    )
}

macro_rules! lifecycle_conformance {
    ($name:ident, $backend:ident) => {
        mod $name {
            #[tokio::test]
            async fn folding_the_log_of_any_life_gives_the_snapshot() {
                let mut seen = Vec::new();
                for seed in 0..16 {
                    let b = super::super::$backend().await;
                    seen.extend(super::random_life(b.store.as_ref(), seed).await);
                }
                // Lives that never reached these prove little: every kind of change happened.
                for wanted in [
                    "finish Completed",
                    "finish Failed",
                    "finish Paused",
                    "finish Cancelled",
                    "  -> Paused",
                    "  -> Pending",
                    "  -> asked the runner",
                    "  -> refused: nothing_to_retry",
                    "  -> refused: already_paused",
                ] {
                    assert!(
                        seen.iter().any(|s| s.starts_with(wanted)),
                        "no life reached {wanted:?}"
                    );
                }
            }
        }
    };
}

lifecycle_conformance!(sqlite, sqlite);
lifecycle_conformance!(postgres, postgres);
