//! Runs one scraping job: stages with weights, results recorded as they are found (a URL counts
//! once per campaign), the target ending the search early, and the lease renewed throughout.
//!
//! A scrape holds no item in flight: a rescued, resumed or re-run job searches again from the
//! start, and what it finds again is simply not counted twice.

use std::sync::Arc;

use serde::Deserialize;
use tokio::sync::watch;

use super::Engine;
use super::lease::{Stop, raise};
use super::recorder::store_backoff;
use crate::protocol::failure::JobFault;
use crate::protocol::fault::StageNote;
use crate::protocol::lifecycle::Note;
use crate::protocol::{JobId, JobStatus, SourceSpec};
use crate::server::adapters::sources::{
    self, Batch, FoundResult, Source, SourceError, SourceFault,
};
use crate::server::live::hub::EventBatch;
use crate::server::store::{ClaimedJob, JobEnd, StoreError, StoredEvent, TenantId};

/// A stage, and where the overall percentage stands when it begins.
struct Stage {
    name: &'static str,
    starts_at: f64,
}

const INITIALIZING: Stage = Stage {
    name: "initializing",
    starts_at: 0.0,
};
const FETCHING: Stage = Stage {
    name: "fetching",
    starts_at: 5.0,
};
const ANALYZING: Stage = Stage {
    name: "analyzing",
    starts_at: 15.0,
};
/// The counting stage: from 20 % to 90 %, in proportion to `found / target`.
const SEARCHING: Stage = Stage {
    name: "searching",
    starts_at: 20.0,
};
const SEARCHING_WEIGHT: f64 = 70.0;
const PROCESSING: Stage = Stage {
    name: "processing",
    starts_at: 90.0,
};

/// What a scraping job was created with (its `params`).
#[derive(Debug, Deserialize)]
struct ScrapeParams {
    keywords: Vec<String>,
    source: SourceSpec,
    target: u32,
}

/// Why the search ended early.
enum Halt {
    Stopped,
    Failed(SourceError),
}

#[tracing::instrument(skip_all, fields(job_id = %claimed.job.id))]
pub(super) async fn run(engine: Arc<Engine>, claimed: ClaimedJob) {
    let job = Job {
        engine: engine.clone(),
        id: claimed.job.id,
        tenant: claimed.tenant_id,
        owner: engine.instance_id.clone(),
        // A resumed or rescued search keeps what it found: it counts on from there, and its
        // bar does not step back while it reads its first pages again.
        found_before: claimed.job.progress.sent,
        floor: claimed.job.progress.percentage.min(PROCESSING.starts_at),
    };
    let (stop_tx, stop_rx) = watch::channel(Stop::from(claimed.control));
    let lease = tokio::spawn(super::lease::keep(
        engine.clone(),
        job.id,
        stop_tx.clone(),
        |_| {},
    ));
    let outcome = match claimed
        .params
        .and_then(|p| serde_json::from_value::<ScrapeParams>(p).ok())
    {
        Some(params) => {
            let mut source = sources::open(
                &params.source,
                &params.keywords,
                params.target,
                &engine.sources,
            );
            let outcome = job
                .search(source.as_mut(), params.target, &stop_tx, stop_rx.clone())
                .await;
            if matches!(outcome, Err(Halt::Stopped)) {
                // Paid work at the source (an actor run) stops with the job.
                source.abort().await;
            }
            outcome
        }
        None => Err(Halt::Failed(SourceError(SourceFault::SettingsUnreadable))),
    };
    let stop = stop_rx.borrow().clone();
    let end = match outcome {
        _ if stop == Stop::LeaseLost => {
            lease.abort();
            tracing::warn!("lost the lease; the job's new runner carries on");
            return;
        }
        // Finished on its own: that is the truth even if a stop arrived meanwhile.
        Ok(note) => JobEnd::Completed {
            parallel_workers: 1,
            note,
        },
        Err(Halt::Failed(SourceError(fault))) => JobEnd::failed(JobFault::Source { fault }),
        Err(Halt::Stopped) => match stop {
            Stop::Cancel => JobEnd::stopped(JobStatus::Cancelled, Note::CancelledOnRequest),
            Stop::Pause => JobEnd::stopped(JobStatus::Paused, Note::PausedOnRequest),
            _ => {
                lease.abort();
                return;
            }
        },
    };
    // The lease stays renewed until the end is written: a database hiccup here must not hand
    // a finished search to another instance to run again.
    let written = job
        .write(&stop_tx, |store, owner| {
            let end = end.clone();
            async move { store.finish_job(job.id, &owner, end).await }
        })
        .await;
    lease.abort();
    if let Ok(event) = written {
        job.publish(vec![event]);
    }
}

/// One running scrape and where its events go.
struct Job {
    engine: Arc<Engine>,
    id: JobId,
    tenant: TenantId,
    owner: String,
    /// Results the job had when this run claimed it.
    found_before: u64,
    /// The overall percentage it had then: stages begin no lower.
    floor: f64,
}

impl Job {
    fn publish(&self, events: Vec<StoredEvent>) {
        self.engine.hub.publish(EventBatch {
            job_id: self.id,
            tenant_id: self.tenant,
            events,
        });
    }

    /// Runs the stages; `Ok` with a closing note when the search ended by itself.
    async fn search(
        &self,
        source: &mut dyn Source,
        target: u32,
        stop_tx: &watch::Sender<Stop>,
        mut stop: watch::Receiver<Stop>,
    ) -> Result<Option<StageNote>, Halt> {
        let target = target.max(1) as u64;
        let said = |note| StageNote::Source { note };
        self.stage(&INITIALIZING, 0.0, StageNote::CheckingSource, stop_tx)
            .await?;
        let note = until_stopped(&mut stop, source.prepare()).await??;
        self.stage(&FETCHING, 0.0, said(note), stop_tx).await?;
        let note = until_stopped(&mut stop, source.start()).await??;
        self.stage(&ANALYZING, 0.0, said(note), stop_tx).await?;
        let note = until_stopped(&mut stop, source.analyze()).await??;
        self.stage(&SEARCHING, 0.0, said(note), stop_tx).await?;

        let mut found = self.found_before;
        let mut exhausted = false;
        while found < target {
            let Some(batch) = until_stopped(&mut stop, source.next_batch()).await?? else {
                exhausted = true;
                break;
            };
            let new = self
                .record(batch.clone(), &mut found, target, stop_tx)
                .await?;
            if let Some(said) = batch.note {
                let counting = counting_share(found, target);
                let note = StageNote::Searched {
                    said,
                    new,
                    found,
                    target,
                };
                self.stage(&SEARCHING, counting, note, stop_tx).await?;
            }
        }
        let summary = if exhausted && found < target {
            StageNote::RanOut { found, target }
        } else {
            StageNote::TargetReached { found }
        };
        self.stage(&PROCESSING, 0.0, summary.clone(), stop_tx)
            .await?;
        Ok(Some(summary))
    }

    /// Records a batch, offering the store no more candidates than the target still needs
    /// (duplicates are skipped there, so it may take a few rounds); the new results' count.
    async fn record(
        &self,
        batch: Batch,
        found: &mut u64,
        target: u64,
        stop_tx: &watch::Sender<Stop>,
    ) -> Result<u64, Halt> {
        let mut candidates: &[FoundResult] = &batch.results;
        let mut failed = batch.failed.as_slice();
        let mut new = 0;
        while (!candidates.is_empty() && *found < target) || !failed.is_empty() {
            let wanted = (target - (*found).min(target)) as usize;
            let (offered, rest) = candidates.split_at(wanted.min(candidates.len()));
            let percentage =
                SEARCHING.starts_at + SEARCHING_WEIGHT * counting_share(*found, target);
            let events = self
                .write(stop_tx, |store, owner| async move {
                    store
                        .record_results(self.id, &owner, offered, failed, percentage)
                        .await
                })
                .await?;
            let added = events.iter().filter(|e| is_new_result(e)).count() as u64;
            *found += added;
            new += added;
            candidates = rest;
            failed = &[];
            if !events.is_empty() {
                self.publish(events);
            }
        }
        Ok(new)
    }

    /// Records that the job is in `stage`, `within` of the way through its counting share.
    async fn stage(
        &self,
        stage: &Stage,
        within: f64,
        note: StageNote,
        stop_tx: &watch::Sender<Stop>,
    ) -> Result<(), Halt> {
        let percentage = if stage.name == SEARCHING.name {
            SEARCHING.starts_at + SEARCHING_WEIGHT * within
        } else {
            stage.starts_at
        }
        .max(self.floor);
        let event = self
            .write(stop_tx, |store, owner| {
                let note = note.clone();
                async move {
                    store
                        .record_stage(self.id, &owner, stage.name, percentage, Some(&note))
                        .await
                }
            })
            .await?;
        self.publish(vec![event]);
        Ok(())
    }

    /// A store write, retried with backoff on database errors; a lost lease stops the job.
    async fn write<T, F, Fut>(&self, stop_tx: &watch::Sender<Stop>, write: F) -> Result<T, Halt>
    where
        F: Fn(Arc<dyn crate::server::store::Store>, String) -> Fut,
        Fut: Future<Output = Result<T, StoreError>>,
    {
        let mut failures = 0;
        loop {
            match write(self.engine.store.clone(), self.owner.clone()).await {
                Ok(value) => return Ok(value),
                Err(StoreError::LeaseLost(_)) => {
                    raise(stop_tx, Stop::LeaseLost);
                    return Err(Halt::Stopped);
                }
                Err(error) => {
                    failures += 1;
                    tracing::warn!(%error, failures, "could not record the search; retrying");
                    tokio::time::sleep(store_backoff(failures)).await;
                }
            }
        }
    }
}

/// True for the `item` event of a result (not of a page that failed).
fn is_new_result(event: &StoredEvent) -> bool {
    matches!(event.msg(), Ok(crate::protocol::ServerMsg::Item(item)) if item.status == "ok")
}

/// How far through the counting stage `found` of `target` is, from 0 to 1.
fn counting_share(found: u64, target: u64) -> f64 {
    (found as f64 / target.max(1) as f64).min(1.0)
}

/// Runs a source call unless the job is asked to stop first (a read can be dropped safely).
async fn until_stopped<T>(
    stop: &mut watch::Receiver<Stop>,
    call: impl Future<Output = Result<T, SourceError>>,
) -> Result<Result<T, Halt>, Halt> {
    if *stop.borrow() != Stop::Run {
        return Err(Halt::Stopped);
    }
    tokio::select! {
        result = call => Ok(result.map_err(Halt::Failed)),
        _ = stop.wait_for(|s| *s != Stop::Run) => Err(Halt::Stopped),
    }
}
