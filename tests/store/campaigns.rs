//! The conformance suite for campaigns, results and outside workers' jobs.

use chrono::{Duration, Utc};
use jobpulse::protocol::fault::StageNote;
use jobpulse::protocol::{JobKind, JobStatus, ServerMsg, SourceSpec, WorkerItem};
use jobpulse::server::store::{
    FailedPage, FoundResult, InFlightPolicy, JobEnd, NewCampaign, Store, StoreError, TenantId,
};

fn new_campaign(tenant: TenantId, target: u32) -> NewCampaign {
    NewCampaign {
        tenant_id: tenant,
        name: "Creators".into(),
        platform: "demo".into(),
        keywords: vec!["rust".into(), "axum".into()],
        target_results: target,
        source: SourceSpec::Sandbox,
        tags: Vec::new(),
    }
}

fn found(n: usize) -> FoundResult {
    FoundResult {
        url: format!("https://example.com/posts/{n}"),
        title: Some(format!("Post {n}")),
        author: Some(format!("@author{n}")),
        text: Some(format!("About #rust, part {n}")),
        keyword: Some("rust".into()),
    }
}

async fn claim_scrape(store: &dyn Store, owner: &str) -> jobpulse::server::store::ClaimedJob {
    let claimed = store
        .claim_job(
            owner,
            Utc::now() + Duration::seconds(30),
            InFlightPolicy::Retry,
        )
        .await
        .unwrap()
        .expect("a job to claim");
    assert_eq!(claimed.job.kind, JobKind::Scrape);
    claimed
}

fn item_statuses(events: &[jobpulse::server::store::StoredEvent]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e.msg().unwrap() {
            ServerMsg::Item(item) => item.status,
            other => panic!("an item event, not {other:?}"),
        })
        .collect()
}

macro_rules! campaign_conformance {
    ($name:ident, $backend:ident) => {
        mod $name {
            use super::*;

            #[tokio::test]
            async fn a_campaign_starts_with_a_pending_search_and_its_params() {
                let b = crate::$backend().await;
                let t = crate::tenant(b.store.as_ref(), "acme").await;
                let (campaign, job, event) =
                    b.store.create_campaign(new_campaign(t, 100)).await.unwrap();
                assert_eq!(job.kind, JobKind::Scrape);
                assert_eq!(job.status, JobStatus::Pending);
                assert_eq!(job.campaign_id, Some(campaign.id));
                assert_eq!(job.progress.total, 100);
                assert_eq!(job.stages.first().map(String::as_str), Some("initializing"));
                assert_eq!((event.seq, event.kind.as_str()), (1, "job_created"));
                let claimed = claim_scrape(b.store.as_ref(), "me").await;
                let params = claimed.params.unwrap();
                assert_eq!(params["keywords"], serde_json::json!(["rust", "axum"]));
                assert_eq!(params["target"], 100);
                let view = b.store.campaign(t, campaign.id).await.unwrap().unwrap();
                assert_eq!(view.jobs.len(), 1);
                assert_eq!(view.jobs[0].status, JobStatus::Processing);
            }

            #[tokio::test]
            async fn a_url_counts_once_per_campaign_whichever_job_finds_it() {
                let b = crate::$backend().await;
                let t = crate::tenant(b.store.as_ref(), "acme").await;
                let (campaign, first, _) =
                    b.store.create_campaign(new_campaign(t, 10)).await.unwrap();
                claim_scrape(b.store.as_ref(), "me").await;
                let failed = [FailedPage {
                    url: "https://example.com/search?page=3".into(),
                    error: "HTTP 500 after 3 attempts".into(),
                    fault: None,
                }];
                let events = b
                    .store
                    .record_results(
                        first.id,
                        "me",
                        &[found(1), found(2), found(1)],
                        &failed,
                        40.0,
                    )
                    .await
                    .unwrap();
                assert_eq!(item_statuses(&events), ["ok", "ok", "failed"]);
                assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4, 5]);
                let ServerMsg::Item(last) = events[2].msg().unwrap() else {
                    unreachable!()
                };
                assert_eq!((last.progress.sent, last.progress.failed), (2, 1));
                assert_eq!(last.progress.percentage, 40.0);

                // One search at a time per campaign.
                assert!(matches!(
                    b.store.add_campaign_job(t, campaign.id).await,
                    Err(StoreError::StillSearching { paused: false })
                ));
                b.store
                    .finish_job(
                        first.id,
                        "me",
                        JobEnd::Completed {
                            parallel_workers: 1,
                            note: None,
                        },
                    )
                    .await
                    .unwrap();
                let (second, _) = b
                    .store
                    .add_campaign_job(t, campaign.id)
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(second.campaign_id, Some(campaign.id));
                let claimed = claim_scrape(b.store.as_ref(), "other").await;
                assert_eq!(claimed.job.id, second.id);
                let events = b
                    .store
                    .record_results(second.id, "other", &[found(2), found(3)], &[], 30.0)
                    .await
                    .unwrap();
                assert_eq!(item_statuses(&events), ["ok"], "post 2 was found before");
                let view = b.store.campaign(t, campaign.id).await.unwrap().unwrap();
                assert_eq!(view.results, 3);
                assert_eq!(view.jobs[0].id, second.id, "newest first");
                assert_eq!(view.jobs[0].progress.sent, 1);
                assert_eq!(view.jobs[1].progress.sent, 2);
                assert_eq!(
                    view.jobs[1].progress.percentage, 100.0,
                    "a finished search is 100 %"
                );
                assert_eq!(view.jobs[1].stage.as_deref(), Some("completed"));
                let list = b.store.list_campaigns(t, 10).await.unwrap();
                assert_eq!(list.len(), 1);
                assert_eq!(list[0].jobs.len(), 1, "lists carry the newest job only");
                assert_eq!(list[0].jobs[0].id, second.id);
            }

            #[tokio::test]
            async fn results_page_and_search_in_the_order_they_were_found() {
                let b = crate::$backend().await;
                let t = crate::tenant(b.store.as_ref(), "acme").await;
                let (campaign, job, _) =
                    b.store.create_campaign(new_campaign(t, 50)).await.unwrap();
                claim_scrape(b.store.as_ref(), "me").await;
                let batch: Vec<FoundResult> = (1..=12).map(found).collect();
                b.store
                    .record_results(job.id, "me", &batch, &[], 50.0)
                    .await
                    .unwrap();
                let (page, total) = b
                    .store
                    .campaign_results(t, campaign.id, None, 5, 5)
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(total, 12);
                assert_eq!(
                    page.iter().map(|r| r.url.clone()).collect::<Vec<_>>(),
                    (6..=10).map(|n| found(n).url).collect::<Vec<_>>()
                );
                assert_eq!(page[0].author.as_deref(), Some("@author6"));
                let (hits, total) = b
                    .store
                    .campaign_results(t, campaign.id, Some("AUTHOR1"), 0, 50)
                    .await
                    .unwrap()
                    .unwrap();
                // @author1, @author10, @author11, @author12
                assert_eq!((hits.len(), total), (4, 4));
                for literal in ["100%_", "title", "null", "\"url\""] {
                    let (none, _) = b
                        .store
                        .campaign_results(t, campaign.id, Some(literal), 0, 50)
                        .await
                        .unwrap()
                        .unwrap();
                    assert!(
                        none.is_empty(),
                        "{literal:?} is looked for in the result, literally"
                    );
                }
                let other = crate::tenant(b.store.as_ref(), "globex").await;
                assert!(
                    b.store
                        .campaign(other, campaign.id)
                        .await
                        .unwrap()
                        .is_none()
                );
                assert!(
                    b.store
                        .campaign_results(other, campaign.id, None, 0, 10)
                        .await
                        .unwrap()
                        .is_none()
                );
                assert!(b.store.list_campaigns(other, 10).await.unwrap().is_empty());
            }

            #[tokio::test]
            async fn stages_and_results_are_fenced_by_the_lease() {
                let b = crate::$backend().await;
                let t = crate::tenant(b.store.as_ref(), "acme").await;
                let (_, job, _) = b.store.create_campaign(new_campaign(t, 5)).await.unwrap();
                claim_scrape(b.store.as_ref(), "me").await;
                let stage = b
                    .store
                    .record_stage(
                        job.id,
                        "me",
                        "fetching",
                        5.0,
                        Some(&StageNote::RanOut {
                            found: 2,
                            target: 5,
                        }),
                    )
                    .await
                    .unwrap();
                let ServerMsg::Stage(stage) = stage.msg().unwrap() else {
                    unreachable!()
                };
                assert_eq!((stage.seq, stage.stage.as_str()), (3, "fetching"));
                let said = "The source ran out after 2 of the 5 results asked for";
                assert_eq!(stage.message.as_deref(), Some(said));
                assert_eq!(
                    stage.note,
                    Some(StageNote::RanOut {
                        found: 2,
                        target: 5
                    })
                );
                // The job keeps both, so a page loaded later words the same note.
                let view = b.store.job(t, job.id).await.unwrap().unwrap();
                assert_eq!(view.stage_message.as_deref(), Some(said));
                assert_eq!(view.stage_note, stage.note);
                assert!(matches!(
                    b.store
                        .record_stage(job.id, "intruder", "searching", 20.0, None)
                        .await,
                    Err(StoreError::LeaseLost(_))
                ));
                assert!(matches!(
                    b.store
                        .record_results(job.id, "intruder", &[found(1)], &[], 20.0)
                        .await,
                    Err(StoreError::LeaseLost(_))
                ));
                let view = b.store.job(t, job.id).await.unwrap().unwrap();
                assert_eq!(view.stage.as_deref(), Some("fetching"));
                assert_eq!(view.progress.sent, 0, "nothing of the intruder's was kept");
                let end = b
                    .store
                    .finish_job(
                        job.id,
                        "me",
                        JobEnd::Completed {
                            parallel_workers: 1,
                            note: Some(StageNote::RanOut {
                                found: 0,
                                target: 5,
                            }),
                        },
                    )
                    .await
                    .unwrap();
                let ServerMsg::JobCompleted(done) = end.msg().unwrap() else {
                    unreachable!()
                };
                assert_eq!(
                    done.message.as_deref(),
                    Some("The source ran out after 0 of the 5 results asked for")
                );
                assert_eq!(
                    done.note,
                    Some(StageNote::RanOut {
                        found: 0,
                        target: 5
                    })
                );
            }

            #[tokio::test]
            async fn an_outside_workers_job_counts_each_key_once_and_ends_once() {
                let b = crate::$backend().await;
                let t = crate::tenant(b.store.as_ref(), "acme").await;
                let stages = vec!["load".to_owned(), "save".to_owned()];
                let (job, _) = b
                    .store
                    .create_external_job(t, "import", 4, &stages, "worker-hash")
                    .await
                    .unwrap();
                assert_eq!(job.stages, stages);
                assert!(
                    b.store
                        .worker_job(job.id, "other-hash")
                        .await
                        .unwrap()
                        .is_none()
                );
                let (tenant, _) = b
                    .store
                    .worker_job(job.id, "worker-hash")
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(tenant, t);
                // Never claimed by an engine.
                assert!(
                    b.store
                        .claim_job(
                            "engine",
                            Utc::now() + Duration::seconds(30),
                            InFlightPolicy::Retry
                        )
                        .await
                        .unwrap()
                        .is_none()
                );
                let item = |key: &str, ok: bool| WorkerItem {
                    key: key.into(),
                    status: if ok { "ok" } else { "failed" }.into(),
                    data: None,
                    error: (!ok).then(|| "broken".into()),
                };
                let events = b
                    .store
                    .worker_items(
                        job.id,
                        &[item("a", true), item("b", false), item("a", true)],
                    )
                    .await
                    .unwrap();
                let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
                assert_eq!(kinds, ["job_started", "item", "item"]);
                let events = b
                    .store
                    .worker_progress(job.id, 2, Some("save"), None)
                    .await
                    .unwrap();
                let ServerMsg::Stage(stage) = events[0].msg().unwrap() else {
                    unreachable!()
                };
                assert_eq!((stage.stage.as_str(), stage.percentage), ("save", 50.0));
                let end = b
                    .store
                    .worker_finish(
                        job.id,
                        JobEnd::Completed {
                            parallel_workers: 1,
                            note: None,
                        },
                    )
                    .await
                    .unwrap();
                assert!(end.is_some());
                let again = b
                    .store
                    .worker_finish(
                        job.id,
                        JobEnd::Completed {
                            parallel_workers: 1,
                            note: None,
                        },
                    )
                    .await
                    .unwrap();
                assert!(again.is_none(), "a job ends once");
                assert!(matches!(
                    b.store.worker_progress(job.id, 3, None, None).await,
                    Err(StoreError::Conflict(_))
                ));
                let view = b.store.job(t, job.id).await.unwrap().unwrap();
                assert_eq!(view.status, JobStatus::Completed);
                assert_eq!((view.progress.sent, view.progress.failed), (1, 1));
                assert_eq!(view.last_seq, 6);
            }

            #[tokio::test]
            async fn silent_workers_jobs_fail_and_active_ones_do_not() {
                let b = crate::$backend().await;
                let t = crate::tenant(b.store.as_ref(), "acme").await;
                let (silent, _) = b
                    .store
                    .create_external_job(t, "a", 1, &[], "h1")
                    .await
                    .unwrap();
                let (done, _) = b
                    .store
                    .create_external_job(t, "b", 1, &[], "h2")
                    .await
                    .unwrap();
                b.store
                    .worker_finish(
                        done.id,
                        JobEnd::Completed {
                            parallel_workers: 1,
                            note: None,
                        },
                    )
                    .await
                    .unwrap();
                let none = b
                    .store
                    .fail_silent_workers(std::time::Duration::from_secs(300))
                    .await
                    .unwrap();
                assert!(none.is_empty(), "nobody has been silent for five minutes");
                // Silent for no time at all: every job still waiting for its worker.
                let ended = b
                    .store
                    .fail_silent_workers(std::time::Duration::ZERO)
                    .await
                    .unwrap();
                assert_eq!(ended.len(), 1);
                assert_eq!((ended[0].0, ended[0].1.job_id), (t, silent.id));
                let view = b.store.job(t, silent.id).await.unwrap().unwrap();
                assert_eq!(view.status, JobStatus::Failed);
                assert_eq!(
                    view.last_error.as_deref(),
                    Some(
                        "Its worker sent no report for 0 ms: the job was given up. Start a new \
                         job to try again."
                    )
                );
                let done = b.store.job(t, done.id).await.unwrap().unwrap();
                assert_eq!(done.status, JobStatus::Completed);
            }
        }
    };
}

campaign_conformance!(sqlite_campaigns, sqlite);
campaign_conformance!(postgres_campaigns, postgres);
