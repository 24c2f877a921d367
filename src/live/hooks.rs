//! What components call: hooks that follow jobs and campaigns for as long as the component
//! lives, and stop following them when it goes. No page counts followers by hand.

use leptos::prelude::*;
use uuid::Uuid;

use super::{JobFeed, Live, use_live};
use crate::protocol::{JobId, JobView, ServerMsg};

/// The jobs one component follows; all of them are unfollowed when the component goes.
#[derive(Clone, Copy)]
pub struct Followed {
    live: Live,
    ids: StoredValue<Vec<JobId>>,
}

impl Followed {
    /// Follows one more job (from its snapshot and the log lines rendered with it).
    pub fn follow(&self, job: JobView, log: &[ServerMsg]) -> JobFeed {
        let feed = self.live.follow(job, log);
        self.ids.update_value(|ids| ids.push(feed.id));
        feed
    }

    /// Stops following one job before the component goes (a row that left a list).
    pub fn unfollow(&self, id: JobId) {
        let mine = self
            .ids
            .try_update_value(|ids| match ids.iter().position(|i| *i == id) {
                Some(at) => {
                    ids.swap_remove(at);
                    true
                }
                None => false,
            })
            .unwrap_or(false);
        if mine {
            self.live.unfollow(id);
        }
    }
}

/// A set of followed jobs tied to the calling component's life.
pub fn use_followed() -> Followed {
    let followed = Followed {
        live: use_live(),
        ids: StoredValue::new(Vec::new()),
    };
    on_cleanup(move || {
        if let Some(ids) = followed.ids.try_update_value(std::mem::take) {
            for id in ids {
                followed.live.unfollow(id);
            }
        }
    });
    followed
}

/// One job, followed while the calling component lives.
pub fn use_job_feed(job: JobView, log: &[ServerMsg]) -> JobFeed {
    use_followed().follow(job, log)
}

/// A campaign's jobs, newest first: those the page rendered and those added later (another
/// tab, a script, a re-run), each followed while the calling component lives.
pub fn use_campaign_feed(id: Uuid, jobs: Vec<(JobView, Vec<ServerMsg>)>) -> RwSignal<Vec<JobFeed>> {
    let live = use_live();
    let followed = use_followed();
    let feeds = RwSignal::new(
        jobs.into_iter()
            .map(|(job, log)| followed.follow(job, &log))
            .collect::<Vec<_>>(),
    );
    live.follow_campaign(id);
    Effect::new(move |_| {
        let added = live.campaign_jobs.get();
        // Only a real addition notifies: panels keyed on the newest job stay put otherwise.
        feeds.maybe_update(|feeds| {
            let before = feeds.len();
            for feed in added {
                let mine = feed.job.with_untracked(|j| j.campaign_id == Some(id));
                if mine && !feeds.iter().any(|f| f.id == feed.id) {
                    feeds.insert(0, feed);
                }
            }
            feeds.len() != before
        });
    });
    on_cleanup(move || {
        live.unfollow_campaign(id);
        live.release_campaign_jobs(id);
    });
    feeds
}
