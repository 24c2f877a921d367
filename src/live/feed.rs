//! One job's live state: its snapshot, its log ring, and the seq applied so far.

use std::collections::VecDeque;

use leptos::prelude::*;

#[cfg(feature = "hydrate")]
use super::LOG_PAGE;
use super::log::{LogEntry, LogLine};
use super::{LOG_CAPACITY, LOG_MAX_LOADED};
use crate::protocol::{JobId, JobView, ServerMsg};

/// Everything live about one job. Copy: it is a bundle of signal handles.
#[derive(Clone, Copy)]
pub struct JobFeed {
    pub id: JobId,
    pub job: RwSignal<JobView>,
    pub log: RwSignal<VecDeque<LogLine>>,
    /// Lines that fell out of the ring.
    pub dropped: RwSignal<u64>,
    /// The server says there is no such job (for this tenant).
    pub not_found: RwSignal<bool>,
    /// Older lines are being fetched.
    pub loading_older: RwSignal<bool>,
    /// Highest seq applied: the de-duplication mark, and the `after_seq` to resume from.
    seen: StoredValue<u64>,
    /// Lines kept: grows while a reader looks at older activity, back to `LOG_CAPACITY` after.
    capacity: StoredValue<usize>,
}

// Applying events is the browser driver's job; the server only renders snapshots.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
impl JobFeed {
    pub(super) fn new(job: JobView, log: &[ServerMsg]) -> JobFeed {
        let lines: VecDeque<LogLine> = log
            .iter()
            .filter_map(LogLine::from_msg)
            .rev()
            .take(LOG_CAPACITY)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let first_seq = lines.front().map_or(job.last_seq + 1, |l| l.seq);
        JobFeed {
            id: job.id,
            seen: StoredValue::new(job.last_seq),
            dropped: RwSignal::new(first_seq.saturating_sub(1)),
            job: RwSignal::new(job),
            log: RwSignal::new(lines),
            not_found: RwSignal::new(false),
            loading_older: RwSignal::new(false),
            capacity: StoredValue::new(LOG_CAPACITY),
        }
    }

    /// Puts older lines (oldest first, all before the ring's first) in front of the ring.
    pub fn prepend(&self, messages: &[ServerMsg]) {
        let lines: Vec<LogLine> = messages.iter().filter_map(LogLine::from_msg).collect();
        if lines.is_empty() {
            self.dropped.set(0);
            return;
        }
        self.log.update(|ring| {
            let first = ring.front().map_or(u64::MAX, |l| l.seq);
            for line in lines.into_iter().rev().filter(|l| l.seq < first) {
                ring.push_front(line);
            }
        });
        let first = self
            .log
            .with_untracked(|ring| ring.front().map_or(0, |l| l.seq));
        let kept = self.log.with_untracked(VecDeque::len);
        self.capacity
            .set_value(kept.clamp(LOG_CAPACITY, LOG_MAX_LOADED));
        self.dropped.set(first.saturating_sub(1));
    }

    /// Forgets the older lines a reader loaded, back to the newest `LOG_CAPACITY`.
    pub fn release_older(&self) {
        self.capacity.set_value(LOG_CAPACITY);
        let mut trimmed = 0;
        self.log.update(|ring| {
            while ring.len() > LOG_CAPACITY {
                ring.pop_front();
                trimmed += 1;
            }
        });
        if trimmed > 0 {
            self.dropped.update(|d| *d += trimmed);
        }
    }

    /// Fetches the page of lines before the oldest kept one.
    pub fn load_older(&self) {
        let wanted = !self.loading_older.get_untracked() && self.dropped.get_untracked() > 0;
        // Pages rendered on the server never fetch: there is nothing to scroll there.
        #[cfg(not(feature = "hydrate"))]
        let _ = wanted;
        #[cfg(feature = "hydrate")]
        if wanted {
            let feed = *self;
            let before = self
                .log
                .with_untracked(|ring| ring.front().map_or(0, |l| l.seq));
            feed.loading_older.set(true);
            leptos::task::spawn_local(async move {
                let url = format!(
                    "/api/jobs/{}/events?before_seq={before}&limit={LOG_PAGE}",
                    feed.id
                );
                let page = async {
                    gloo_net::http::Request::get(&url)
                        .send()
                        .await
                        .ok()?
                        .json::<crate::protocol::EventsPage>()
                        .await
                        .ok()
                }
                .await;
                if let Some(page) = page {
                    feed.prepend(&page.events);
                }
                feed.loading_older.set(false);
            });
        }
    }

    /// The seq this feed has applied up to.
    pub fn seen(&self) -> u64 {
        self.seen.get_value()
    }

    /// Applies one event of this job; events at or below the applied seq are ignored.
    pub(super) fn apply(&self, msg: &ServerMsg) {
        match msg {
            ServerMsg::Resync(snapshot) => {
                self.seen.set_value(snapshot.last_seq);
                self.job.set(snapshot.job.clone());
                self.push_line(LogLine {
                    seq: snapshot.last_seq,
                    at: None,
                    entry: LogEntry::Resync,
                });
            }
            ServerMsg::Error(e) if e.seq.is_none() => {
                if e.error == "job not found" {
                    self.not_found.set(true);
                }
            }
            _ => {
                let Some(seq) = msg.seq() else { return };
                if seq <= self.seen.get_value() {
                    return;
                }
                self.seen.set_value(seq);
                self.job.update(|job| job.apply(msg));
                if let Some(line) = LogLine::from_msg(msg) {
                    self.push_line(line);
                }
            }
        }
    }

    pub(super) fn push_line(&self, line: LogLine) {
        let mut overflow = 0;
        let capacity = self.capacity.get_value();
        self.log.update(|ring| {
            ring.push_back(line);
            while ring.len() > capacity {
                ring.pop_front();
                overflow += 1;
            }
        });
        if overflow > 0 {
            self.dropped.update(|d| *d += overflow);
        }
    }
}
