//! The Store conformance suite: every backend must pass the same tests.

#[path = "../support/postgres.rs"]
mod postgres_db;

mod accounts;
mod campaigns;
mod lifecycle;
mod messaging;

use std::sync::Arc;

use chrono::{Duration, Utc};
use jobpulse::protocol::lifecycle::{Command, Refusal};
use jobpulse::protocol::{ItemStatus, JobStatus, ServerMsg};
use jobpulse::server::store::{
    self, Control, Created, InFlightPolicy, ItemOutcome, JobEnd, JobFilter, NewBulkJob, Store,
    StoreError, TenantId, Transition,
};

/// A store on a fresh database, and whatever keeps that database alive.
struct Backend {
    store: Arc<dyn Store>,
    _guard: Box<dyn std::any::Any + Send>,
}

async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("conformance.db").display());
    let store = store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    Backend {
        store,
        _guard: Box::new(dir),
    }
}

async fn postgres() -> Backend {
    let db = postgres_db::TestDatabase::create().await;
    let store = store::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    Backend {
        store,
        _guard: Box::new(db),
    }
}

fn numbers(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("+3460000{:04}", i)).collect()
}

async fn tenant(store: &dyn Store, name: &str) -> TenantId {
    store.create_tenant(name).await.unwrap().id
}

async fn new_job(store: &dyn Store, tenant: TenantId, n: usize, key: Option<&str>) -> Created {
    store
        .create_bulk_job(NewBulkJob {
            tenant_id: tenant,
            message: "Hola".into(),
            devices_limit: 2,
            recipients: numbers(n),
            skipped: 0,
            skipped_opted_out: 0,
            idempotency_key: key.map(str::to_owned),
            senders: vec![],
            receipts_window_hours: 72,
            name: None,
            tags: Vec::new(),
        })
        .await
        .unwrap()
}

/// Claims the next job as `owner`, which must find one.
async fn claim(store: &dyn Store, owner: &str) -> jobpulse::server::store::ClaimedJob {
    store
        .claim_job(owner, lease(), InFlightPolicy::Retry)
        .await
        .unwrap()
        .expect("a job to claim")
}

fn lease() -> chrono::DateTime<Utc> {
    Utc::now() + Duration::seconds(30)
}

fn outcome(idx: u64, status: ItemStatus) -> ItemOutcome {
    ItemOutcome {
        idx,
        recipient: format!("+3460000{idx:04}"),
        device_id: 1,
        status,
        attempts: 1,
        error: (status != ItemStatus::Sent).then(|| "refused".to_owned()),
        fault: None,
        attempt_errors: if status == ItemStatus::Sent {
            vec![]
        } else {
            vec!["refused".to_owned()]
        },
        provider_message_id: None,
        sender_id: None,
    }
}

macro_rules! conformance {
    ($backend:ident) => {
        mod $backend {
            use super::*;

            #[tokio::test]
            async fn tenants_have_unique_names_and_tokens_resolve() {
                let b = super::$backend().await;
                let id = tenant(b.store.as_ref(), "acme").await;
                assert!(matches!(
                    b.store.create_tenant("acme").await,
                    Err(StoreError::Conflict(_))
                ));
                b.store.create_api_token(id, "ci", "hash-1").await.unwrap();
                assert_eq!(b.store.tenant_for_token("hash-1").await.unwrap(), Some(id));
                assert_eq!(b.store.tenant_for_token("hash-2").await.unwrap(), None);
            }

            #[tokio::test]
            async fn a_job_is_created_with_its_items_and_first_event() {
                let b = super::$backend().await;
                let t = tenant(b.store.as_ref(), "acme").await;
                let Created::New { job, event } = new_job(b.store.as_ref(), t, 7, None).await
                else {
                    panic!("a new job");
                };
                assert_eq!(
                    (job.status, job.total_numbers, job.last_seq),
                    (JobStatus::Pending, 7, 1)
                );
                assert_eq!((event.seq, event.kind.as_str()), (1, "job_created"));
                let items = b
                    .store
                    .items(t, job.id, None, None, 100)
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(items.len(), 7);
                assert!(items.iter().all(|i| i.status == ItemStatus::Pending));
                let events = b
                    .store
                    .events_after(t, job.id, 0, 10)
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(events, vec![event]);
            }

            #[tokio::test]
            async fn an_idempotency_key_makes_one_job_per_tenant() {
                let b = super::$backend().await;
                let (t1, t2) = (
                    tenant(b.store.as_ref(), "a").await,
                    tenant(b.store.as_ref(), "b").await,
                );
                let first = new_job(b.store.as_ref(), t1, 2, Some("k")).await;
                let again = new_job(b.store.as_ref(), t1, 2, Some("k")).await;
                let other = new_job(b.store.as_ref(), t2, 2, Some("k")).await;
                assert!(matches!(first, Created::New { .. }));
                assert!(matches!(again, Created::Existing(_)));
                assert_eq!(first.job().id, again.job().id);
                assert!(matches!(other, Created::New { .. }));
            }

            #[tokio::test]
            async fn tenants_see_only_their_own_jobs() {
                let b = super::$backend().await;
                let (t1, t2) = (
                    tenant(b.store.as_ref(), "a").await,
                    tenant(b.store.as_ref(), "b").await,
                );
                let job = new_job(b.store.as_ref(), t1, 2, None).await.job().clone();
                assert!(b.store.job(t2, job.id).await.unwrap().is_none());
                assert!(
                    b.store
                        .events_after(t2, job.id, 0, 10)
                        .await
                        .unwrap()
                        .is_none()
                );
                assert!(
                    b.store
                        .items(t2, job.id, None, None, 10)
                        .await
                        .unwrap()
                        .is_none()
                );
                let filter = JobFilter {
                    limit: 10,
                    ..JobFilter::default()
                };
                assert!(b.store.list_jobs(t2, &filter).await.unwrap().is_empty());
                assert_eq!(b.store.list_jobs(t1, &filter).await.unwrap().len(), 1);
            }

            #[tokio::test]
            async fn only_one_of_many_racing_runners_claims_a_job() {
                let b = super::$backend().await;
                let t = tenant(b.store.as_ref(), "acme").await;
                new_job(b.store.as_ref(), t, 3, None).await;
                let claims = (0..8).map(|i| {
                    let store = b.store.clone();
                    tokio::spawn(async move {
                        store
                            .claim_job(&format!("runner-{i}"), lease(), InFlightPolicy::Retry)
                            .await
                            .unwrap()
                    })
                });
                let won: Vec<_> = futures::future::join_all(claims)
                    .await
                    .into_iter()
                    .filter_map(|r| r.unwrap())
                    .collect();
                assert_eq!(won.len(), 1);
                assert_eq!(won[0].job.status, JobStatus::Processing);
                assert_eq!(
                    (won[0].started.seq, won[0].started.kind.as_str()),
                    (2, "job_started")
                );
                assert!(!won[0].rescued);
            }

            #[tokio::test]
            async fn items_are_claimed_once_and_outcomes_get_consecutive_seqs() {
                let b = super::$backend().await;
                let t = tenant(b.store.as_ref(), "acme").await;
                let job = new_job(b.store.as_ref(), t, 5, None).await.job().clone();
                claim(b.store.as_ref(), "me").await;
                let first = b.store.claim_items(job.id, "me", 3).await.unwrap();
                let second = b.store.claim_items(job.id, "me", 3).await.unwrap();
                assert_eq!(first.iter().map(|i| i.idx).collect::<Vec<_>>(), [0, 1, 2]);
                assert_eq!(second.iter().map(|i| i.idx).collect::<Vec<_>>(), [3, 4]);
                assert!(
                    b.store
                        .claim_items(job.id, "me", 3)
                        .await
                        .unwrap()
                        .is_empty()
                );
                assert_ne!(first[0].idempotency_key, first[1].idempotency_key);

                let events = b
                    .store
                    .record_outcomes(
                        job.id,
                        "me",
                        &[outcome(0, ItemStatus::Sent), outcome(1, ItemStatus::Failed)],
                    )
                    .await
                    .unwrap();
                assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4]);
                let ServerMsg::Error(failed) = events[1].msg().unwrap() else {
                    panic!("an error event")
                };
                assert_eq!(failed.progress.unwrap().sent, 1);
                assert_eq!(failed.progress.unwrap().failed, 1);
                // The same outcome again counts nothing and writes no event.
                let again = b
                    .store
                    .record_outcomes(job.id, "me", &[outcome(0, ItemStatus::Sent)])
                    .await
                    .unwrap();
                assert!(again.is_empty());
                let job = b.store.job(t, job.id).await.unwrap().unwrap();
                assert_eq!(
                    (job.progress.sent, job.progress.failed, job.last_seq),
                    (1, 1, 4)
                );
            }

            #[tokio::test]
            async fn a_runner_without_the_lease_can_write_nothing() {
                let b = super::$backend().await;
                let t = tenant(b.store.as_ref(), "acme").await;
                let job = new_job(b.store.as_ref(), t, 2, None).await.job().clone();
                claim(b.store.as_ref(), "me").await;
                b.store.claim_items(job.id, "me", 2).await.unwrap();
                assert!(matches!(
                    b.store.renew_lease(job.id, "other", lease()).await,
                    Err(StoreError::LeaseLost(_))
                ));
                assert!(matches!(
                    b.store
                        .record_outcomes(job.id, "other", &[outcome(0, ItemStatus::Sent)])
                        .await,
                    Err(StoreError::LeaseLost(_))
                ));
                assert!(matches!(
                    b.store.claim_items(job.id, "other", 2).await,
                    Err(StoreError::LeaseLost(_))
                ));
                assert!(matches!(
                    b.store
                        .finish_job(
                            job.id,
                            "other",
                            JobEnd::Completed {
                                parallel_workers: 1,
                                note: None
                            }
                        )
                        .await,
                    Err(StoreError::LeaseLost(_))
                ));
                assert_eq!(
                    b.store.renew_lease(job.id, "me", lease()).await.unwrap(),
                    Control::Run
                );
                let job = b.store.job(t, job.id).await.unwrap().unwrap();
                assert_eq!((job.progress.sent, job.last_seq), (0, 2));
            }

            #[tokio::test]
            async fn an_expired_lease_is_rescued_and_in_flight_items_retried() {
                let b = super::$backend().await;
                let t = tenant(b.store.as_ref(), "acme").await;
                let job = new_job(b.store.as_ref(), t, 3, None).await.job().clone();
                let expired = Utc::now() - Duration::seconds(1);
                b.store
                    .claim_job("dead", expired, InFlightPolicy::Retry)
                    .await
                    .unwrap()
                    .unwrap();
                let in_flight = b.store.claim_items(job.id, "dead", 2).await.unwrap();
                let rescued = b
                    .store
                    .claim_job("alive", lease(), InFlightPolicy::Retry)
                    .await
                    .unwrap()
                    .unwrap();
                assert!(rescued.rescued);
                let again = b.store.claim_items(job.id, "alive", 10).await.unwrap();
                assert_eq!(again.len(), 3);
                assert_eq!(
                    again[0].idempotency_key, in_flight[0].idempotency_key,
                    "same key on retry"
                );
            }

            #[tokio::test]
            async fn without_deduplication_only_items_handed_to_the_provider_become_unknown() {
                let b = super::$backend().await;
                let t = tenant(b.store.as_ref(), "acme").await;
                let job = new_job(b.store.as_ref(), t, 3, None).await.job().clone();
                let expired = Utc::now() - Duration::seconds(1);
                b.store
                    .claim_job("dead", expired, InFlightPolicy::MarkUnknown)
                    .await
                    .unwrap()
                    .unwrap();
                let claimed = b.store.claim_items(job.id, "dead", 2).await.unwrap();
                // One of the two reached the provider (maybe); the other was still queued.
                b.store
                    .mark_handed(job.id, "dead", &[claimed[0].idx])
                    .await
                    .unwrap();
                let rescued = b
                    .store
                    .claim_job("alive", lease(), InFlightPolicy::MarkUnknown)
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(rescued.job.progress.unknown, 1);
                // The queued one and the untouched one are still to do.
                let again = b.store.claim_items(job.id, "alive", 10).await.unwrap();
                assert_eq!(again.len(), 2);
                assert!(again.iter().all(|item| item.idx != claimed[0].idx));
                let unknown = b
                    .store
                    .items(t, job.id, Some(ItemStatus::Unknown), None, 10)
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(unknown.len(), 1);
                assert_eq!(unknown[0].index, claimed[0].idx);
                // A runner that lost the lease cannot mark anything.
                assert!(matches!(
                    b.store.mark_handed(job.id, "dead", &[again[0].idx]).await,
                    Err(StoreError::LeaseLost(_))
                ));
                // Claiming again clears the mark: a released item is not "handed" any more.
                b.store
                    .mark_handed(job.id, "alive", &[again[0].idx])
                    .await
                    .unwrap();
                b.store
                    .release_items(job.id, "alive", &[again[0].idx])
                    .await
                    .unwrap();
                let reclaimed = b.store.claim_items(job.id, "alive", 10).await.unwrap();
                assert_eq!(reclaimed.len(), 1);
                b.store
                    .renew_lease(job.id, "alive", Utc::now() - Duration::seconds(1))
                    .await
                    .unwrap();
                let rescued = b
                    .store
                    .claim_job("third", lease(), InFlightPolicy::MarkUnknown)
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(
                    rescued.job.progress.unknown, 1,
                    "nothing new became unknown"
                );
            }

            #[tokio::test]
            async fn usernames_are_unique_within_a_tenant_only() {
                let b = super::$backend().await;
                let acme = tenant(b.store.as_ref(), "acme").await;
                let globex = tenant(b.store.as_ref(), "globex").await;
                let role = jobpulse::server::store::Role::Operator;
                b.store.create_user(acme, "ana", "h1", role).await.unwrap();
                b.store
                    .create_user(globex, "ana", "h2", role)
                    .await
                    .unwrap();
                assert!(matches!(
                    b.store.create_user(acme, "ana", "h3", role).await,
                    Err(StoreError::Conflict(_))
                ));
                let found = b
                    .store
                    .user_by_username(globex, "ana")
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(
                    (found.tenant_id, found.password_hash.as_str()),
                    (globex, "h2")
                );
                assert!(
                    b.store
                        .user_by_username(acme, "bob")
                        .await
                        .unwrap()
                        .is_none()
                );
            }

            #[tokio::test]
            async fn instances_count_only_the_viewers_jobs() {
                let b = super::$backend().await;
                let acme = tenant(b.store.as_ref(), "acme").await;
                let globex = tenant(b.store.as_ref(), "globex").await;
                new_job(b.store.as_ref(), acme, 2, None).await;
                let claimed = claim(b.store.as_ref(), "instance-1").await;
                b.store
                    .heartbeat_instance("instance-1", "host", Utc::now())
                    .await
                    .unwrap();
                let seen = |instances: Vec<jobpulse::protocol::InstanceView>| {
                    let one = instances
                        .into_iter()
                        .find(|i| i.id == "instance-1")
                        .unwrap();
                    (one.running_jobs, one.tenant_jobs)
                };
                assert_eq!(
                    seen(b.store.list_instances(acme).await.unwrap()),
                    (1, vec![claimed.job.id])
                );
                assert_eq!(
                    seen(b.store.list_instances(globex).await.unwrap()),
                    (0, vec![])
                );
            }

            #[tokio::test]
            async fn a_live_lease_is_never_rescued() {
                let b = super::$backend().await;
                let t = tenant(b.store.as_ref(), "acme").await;
                new_job(b.store.as_ref(), t, 1, None).await;
                claim(b.store.as_ref(), "me").await;
                assert!(
                    b.store
                        .claim_job("other", lease(), InFlightPolicy::Retry)
                        .await
                        .unwrap()
                        .is_none()
                );
            }

            #[tokio::test]
            async fn finishing_writes_the_summary_and_releases_the_lease() {
                let b = super::$backend().await;
                let t = tenant(b.store.as_ref(), "acme").await;
                let job = new_job(b.store.as_ref(), t, 2, None).await.job().clone();
                claim(b.store.as_ref(), "me").await;
                b.store.claim_items(job.id, "me", 2).await.unwrap();
                b.store
                    .record_outcomes(
                        job.id,
                        "me",
                        &[outcome(0, ItemStatus::Sent), outcome(1, ItemStatus::Failed)],
                    )
                    .await
                    .unwrap();
                let end = b
                    .store
                    .finish_job(
                        job.id,
                        "me",
                        JobEnd::Completed {
                            parallel_workers: 2,
                            note: None,
                        },
                    )
                    .await
                    .unwrap();
                let ServerMsg::JobCompleted(done) = end.msg().unwrap() else {
                    panic!("job_completed")
                };
                assert_eq!(
                    (done.results.sent, done.results.failed, done.results.total),
                    (1, 1, 2)
                );
                assert_eq!(
                    (done.results.devices_used, done.results.parallel_workers),
                    (1, 2)
                );
                assert_eq!(done.seq, 5);
                let job = b.store.job(t, job.id).await.unwrap().unwrap();
                assert_eq!(job.status, JobStatus::Completed);
                assert!(job.finished_at.is_some());
                assert_eq!(job.results.unwrap().sent, 1);
                assert!(
                    b.store
                        .claim_job("other", lease(), InFlightPolicy::Retry)
                        .await
                        .unwrap()
                        .is_none()
                );
            }

            #[tokio::test]
            async fn released_items_go_back_to_pending() {
                let b = super::$backend().await;
                let t = tenant(b.store.as_ref(), "acme").await;
                let job = new_job(b.store.as_ref(), t, 4, None).await.job().clone();
                claim(b.store.as_ref(), "me").await;
                b.store.claim_items(job.id, "me", 4).await.unwrap();
                b.store.release_items(job.id, "me", &[1, 3]).await.unwrap();
                let pending = b
                    .store
                    .items(t, job.id, Some(ItemStatus::Pending), None, 10)
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(pending.iter().map(|i| i.index).collect::<Vec<_>>(), [1, 3]);
            }

            #[tokio::test]
            async fn events_page_forwards_and_backwards() {
                let b = super::$backend().await;
                let t = tenant(b.store.as_ref(), "acme").await;
                let job = new_job(b.store.as_ref(), t, 10, None).await.job().clone();
                claim(b.store.as_ref(), "me").await;
                b.store.claim_items(job.id, "me", 10).await.unwrap();
                let outcomes: Vec<_> = (0..10).map(|i| outcome(i, ItemStatus::Sent)).collect();
                b.store
                    .record_outcomes(job.id, "me", &outcomes)
                    .await
                    .unwrap();
                let after = b
                    .store
                    .events_after(t, job.id, 4, 3)
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(after.iter().map(|e| e.seq).collect::<Vec<_>>(), [5, 6, 7]);
                let before = b
                    .store
                    .events_before(t, job.id, 12, 3)
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(
                    before.iter().map(|e| e.seq).collect::<Vec<_>>(),
                    [9, 10, 11]
                );
            }
        }
    };
}

macro_rules! control_conformance {
    ($name:ident, $backend:ident) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn a_job_nobody_runs_is_cancelled_or_paused_at_once() {
                let b = super::$backend().await;
                let t = tenant(b.store.as_ref(), "acme").await;
                let job = new_job(b.store.as_ref(), t, 3, None).await.job().clone();
                let Some(Transition::Done { job: paused, event }) =
                    b.store.command(t, job.id, Command::Pause).await.unwrap()
                else {
                    panic!("paused at once")
                };
                assert_eq!(
                    (paused.status, event.kind.as_str(), event.seq),
                    (JobStatus::Paused, "job_paused", 2)
                );
                // A paused job is not claimed.
                assert!(
                    b.store
                        .claim_job("me", lease(), InFlightPolicy::Retry)
                        .await
                        .unwrap()
                        .is_none()
                );
                let Some(Transition::Done {
                    job: cancelled,
                    event,
                }) = b.store.command(t, job.id, Command::Cancel).await.unwrap()
                else {
                    panic!("cancelled at once")
                };
                assert_eq!(cancelled.status, JobStatus::Cancelled);
                assert!(cancelled.finished_at.is_some());
                assert_eq!((event.kind.as_str(), event.seq), ("job_cancelled", 3));
                let Some(Transition::Refused { refusal, .. }) =
                    b.store.command(t, job.id, Command::Cancel).await.unwrap()
                else {
                    panic!("refused")
                };
                assert_eq!(
                    refusal,
                    Refusal::Ended {
                        status: JobStatus::Cancelled,
                        command: Command::Cancel
                    }
                );
                assert!(
                    b.store
                        .command(TenantId(uuid::Uuid::now_v7()), job.id, Command::Cancel)
                        .await
                        .unwrap()
                        .is_none()
                );
            }

            #[tokio::test]
            async fn a_running_job_is_asked_through_its_lease() {
                let b = super::$backend().await;
                let t = tenant(b.store.as_ref(), "acme").await;
                let job = new_job(b.store.as_ref(), t, 3, None).await.job().clone();
                claim(b.store.as_ref(), "me").await;
                let requested = b.store.command(t, job.id, Command::Pause).await.unwrap();
                assert!(matches!(requested, Some(Transition::Requested(_))));
                assert_eq!(
                    b.store.renew_lease(job.id, "me", lease()).await.unwrap(),
                    Control::Pause
                );
                // Cancel overrides a pending pause; a pause does not override a cancel.
                b.store.command(t, job.id, Command::Cancel).await.unwrap();
                assert_eq!(
                    b.store.renew_lease(job.id, "me", lease()).await.unwrap(),
                    Control::Cancel
                );
                let refused = b.store.command(t, job.id, Command::Pause).await.unwrap();
                assert!(matches!(refused, Some(Transition::Refused { .. })));
                let end = b
                    .store
                    .finish_job(
                        job.id,
                        "me",
                        JobEnd::Cancelled {
                            message: "x".into(),
                        },
                    )
                    .await
                    .unwrap();
                assert_eq!(end.kind, "job_cancelled");
            }

            #[tokio::test]
            async fn resume_puts_a_paused_job_back_in_the_queue() {
                let b = super::$backend().await;
                let t = tenant(b.store.as_ref(), "acme").await;
                let job = new_job(b.store.as_ref(), t, 2, None).await.job().clone();
                assert!(matches!(
                    b.store.command(t, job.id, Command::Resume).await.unwrap(),
                    Some(Transition::Refused { .. })
                ));
                b.store.command(t, job.id, Command::Pause).await.unwrap();
                let Some(Transition::Done {
                    job: resumed,
                    event,
                }) = b.store.command(t, job.id, Command::Resume).await.unwrap()
                else {
                    panic!("resumed")
                };
                assert_eq!(
                    (resumed.status, event.kind.as_str(), event.seq),
                    (JobStatus::Pending, "job_resumed", 3)
                );
                assert!(
                    b.store
                        .claim_job("me", lease(), InFlightPolicy::Retry)
                        .await
                        .unwrap()
                        .is_some()
                );
            }

            #[tokio::test]
            async fn retry_requeues_failed_items_in_the_same_job() {
                let b = super::$backend().await;
                let t = tenant(b.store.as_ref(), "acme").await;
                let job = new_job(b.store.as_ref(), t, 3, None).await.job().clone();
                claim(b.store.as_ref(), "me").await;
                b.store.claim_items(job.id, "me", 3).await.unwrap();
                b.store
                    .record_outcomes(
                        job.id,
                        "me",
                        &[
                            outcome(0, ItemStatus::Sent),
                            outcome(1, ItemStatus::Failed),
                            outcome(2, ItemStatus::Unknown),
                        ],
                    )
                    .await
                    .unwrap();
                b.store
                    .finish_job(
                        job.id,
                        "me",
                        JobEnd::Completed {
                            parallel_workers: 1,
                            note: None,
                        },
                    )
                    .await
                    .unwrap();

                let Some(Transition::Done { job: again, event }) = b
                    .store
                    .command(
                        t,
                        job.id,
                        Command::Retry {
                            include_unknown: false,
                        },
                    )
                    .await
                    .unwrap()
                else {
                    panic!("retried")
                };
                assert_eq!(again.status, JobStatus::Pending);
                assert_eq!(
                    (
                        again.progress.sent,
                        again.progress.failed,
                        again.progress.unknown
                    ),
                    (1, 0, 1)
                );
                assert_eq!((event.kind.as_str(), event.seq), ("job_resumed", 7));
                assert!(again.results.is_none() && again.finished_at.is_none());

                // The retried item keeps its key and its history.
                claim(b.store.as_ref(), "me").await;
                let items = b.store.claim_items(job.id, "me", 10).await.unwrap();
                assert_eq!(items.iter().map(|i| i.idx).collect::<Vec<_>>(), [1]);
                assert_eq!(items[0].attempts, 1);
                let mut second = outcome(1, ItemStatus::Sent);
                second.attempts = 2;
                b.store
                    .record_outcomes(job.id, "me", &[second])
                    .await
                    .unwrap();
                let item = &b
                    .store
                    .items(t, job.id, Some(ItemStatus::Sent), None, 10)
                    .await
                    .unwrap()
                    .unwrap()[1];
                assert_eq!((item.index, item.attempts), (1, 2));
                assert_eq!(item.errors, ["refused"]);
                b.store
                    .finish_job(
                        job.id,
                        "me",
                        JobEnd::Completed {
                            parallel_workers: 1,
                            note: None,
                        },
                    )
                    .await
                    .unwrap();

                // Unknown items only when asked; then nothing is left to retry.
                let Some(Transition::Done { job: third, .. }) = b
                    .store
                    .command(
                        t,
                        job.id,
                        Command::Retry {
                            include_unknown: true,
                        },
                    )
                    .await
                    .unwrap()
                else {
                    panic!("retried with unknown")
                };
                assert_eq!(third.progress.unknown, 0);
            }

            #[tokio::test]
            async fn a_cancelled_job_is_not_retried() {
                let b = super::$backend().await;
                let t = tenant(b.store.as_ref(), "acme").await;
                let job = new_job(b.store.as_ref(), t, 2, None).await.job().clone();
                b.store.command(t, job.id, Command::Cancel).await.unwrap();
                let Some(Transition::Refused { refusal, .. }) = b
                    .store
                    .command(
                        t,
                        job.id,
                        Command::Retry {
                            include_unknown: true,
                        },
                    )
                    .await
                    .unwrap()
                else {
                    panic!("refused")
                };
                assert_eq!(refusal, Refusal::CancelledIsNotRetried);
            }
        }
    };
}

conformance!(sqlite);
control_conformance!(sqlite_control, sqlite);
conformance!(postgres);
control_conformance!(postgres_control, postgres);
