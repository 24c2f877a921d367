//! How fast a job moves, from the counters the page sees: a rate over a rolling window, the time
//! left at that rate, when it last moved, and per-second throughput for the chart. Pure, so the
//! page and the tests share it.

use std::collections::VecDeque;

/// Seconds of history the chart draws (and the samples kept).
pub const CHART_SECONDS: u32 = 120;
/// The rolling window of the rate.
pub const RATE_WINDOW_MS: i64 = 10_000;
/// Nothing moved for this long while running: the page warns.
pub const STALL_AFTER_MS: i64 = 30_000;

/// The job's counters at one moment (milliseconds since the epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sample {
    pub at_ms: i64,
    pub sent: u64,
    pub failed: u64,
}

impl Sample {
    fn done(&self) -> u64 {
        self.sent + self.failed
    }
}

/// The counters seen over the last [`CHART_SECONDS`] (and one sample older, so the oldest second
/// has a start), and when they last changed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Pace {
    samples: VecDeque<Sample>,
    moved_at_ms: Option<i64>,
}

impl Pace {
    /// Records the counters at `sample.at_ms` (the page calls it on every change and every second).
    pub fn record(&mut self, sample: Sample) {
        match self.samples.back() {
            Some(last) if sample.at_ms < last.at_ms => return,
            Some(last) if last.done() != sample.done() => self.moved_at_ms = Some(sample.at_ms),
            None => self.moved_at_ms = Some(sample.at_ms),
            _ => {}
        }
        self.samples.push_back(sample);
        let horizon = sample.at_ms - i64::from(CHART_SECONDS) * 1000;
        // Keep one sample at or before the horizon: it is the start of the oldest second.
        while self.samples.len() > 2 && self.samples[1].at_ms <= horizon {
            self.samples.pop_front();
        }
    }

    /// When the counters last changed (or were first seen).
    pub fn moved_at_ms(&self) -> Option<i64> {
        self.moved_at_ms
    }

    /// Items per second over the last [`RATE_WINDOW_MS`] before `now_ms`; `None` until the page
    /// has watched for a second.
    pub fn rate(&self, now_ms: i64) -> Option<f64> {
        let last = self.at(now_ms)?;
        let from = now_ms - RATE_WINDOW_MS;
        let first = self.at(from).or_else(|| self.samples.front().copied())?;
        let span_ms = now_ms - first.at_ms.max(from);
        // A retry can lower the counters: it is no negative rate.
        (span_ms >= 1000)
            .then(|| last.done().saturating_sub(first.done()) as f64 * 1000.0 / span_ms as f64)
    }

    /// Milliseconds left for `remaining` items at `rate`; `None` when nothing moves.
    pub fn eta_ms(remaining: u64, rate: Option<f64>) -> Option<i64> {
        match rate {
            _ if remaining == 0 => Some(0),
            Some(rate) if rate > 0.0 => Some((remaining as f64 / rate * 1000.0).round() as i64),
            _ => None,
        }
    }

    /// Sent and failed in each of the last `seconds` whole seconds before `now_ms`, oldest first;
    /// a second the page did not watch counts nothing.
    pub fn per_second(&self, now_ms: i64, seconds: u32) -> Vec<(u64, u64)> {
        (0..seconds)
            .map(|i| {
                let end = now_ms - i64::from(seconds - 1 - i) * 1000;
                let start = end - 1000;
                match (self.at(start), self.at(end)) {
                    (Some(a), Some(b)) => (
                        b.sent.saturating_sub(a.sent),
                        b.failed.saturating_sub(a.failed),
                    ),
                    _ => (0, 0),
                }
            })
            .collect()
    }

    /// The counters as they were at `at_ms`: the last sample at or before it.
    fn at(&self, at_ms: i64) -> Option<Sample> {
        let after = self.samples.partition_point(|s| s.at_ms <= at_ms);
        after.checked_sub(1).map(|i| self.samples[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at_s: f64, sent: u64, failed: u64) -> Sample {
        Sample {
            at_ms: (at_s * 1000.0) as i64,
            sent,
            failed,
        }
    }

    #[test]
    fn the_rate_is_over_the_last_ten_seconds_not_since_the_start() {
        let mut pace = Pace::default();
        // 100/s for 20 s, then 10/s.
        for s in 0..=20 {
            pace.record(sample(f64::from(s), 100 * s as u64, 0));
        }
        for s in 21..=40 {
            pace.record(sample(f64::from(s), 2_000 + 10 * (s as u64 - 20), 0));
        }
        assert_eq!(pace.rate(40_000), Some(10.0));
        assert_eq!(pace.rate(15_000), Some(100.0));
    }

    #[test]
    fn no_rate_before_a_second_was_watched() {
        let mut pace = Pace::default();
        assert_eq!(pace.rate(0), None);
        pace.record(sample(5.0, 10, 0));
        assert_eq!(pace.rate(5_500), None);
        pace.record(sample(6.0, 30, 2));
        assert_eq!(pace.rate(6_000), Some(22.0));
    }

    #[test]
    fn time_left_follows_the_rate_and_is_unknown_when_nothing_moves() {
        assert_eq!(Pace::eta_ms(1_000, Some(50.0)), Some(20_000));
        assert_eq!(Pace::eta_ms(1_000, Some(0.0)), None);
        assert_eq!(Pace::eta_ms(1_000, None), None);
        assert_eq!(Pace::eta_ms(0, None), Some(0));
    }

    #[test]
    fn each_second_counts_what_moved_in_it() {
        let mut pace = Pace::default();
        pace.record(sample(10.0, 0, 0));
        pace.record(sample(10.5, 5, 1));
        pace.record(sample(11.0, 8, 1));
        pace.record(sample(12.0, 8, 1));
        pace.record(sample(12.2, 20, 4));
        pace.record(sample(13.0, 20, 4));
        // Seconds ending at 11, 12 and 13; the one ending at 10 was not watched.
        assert_eq!(
            pace.per_second(13_000, 4),
            vec![(0, 0), (8, 1), (0, 0), (12, 3)]
        );
    }

    #[test]
    fn it_knows_when_the_counters_last_moved() {
        let mut pace = Pace::default();
        pace.record(sample(1.0, 5, 0));
        assert_eq!(pace.moved_at_ms(), Some(1_000));
        pace.record(sample(2.0, 5, 0));
        pace.record(sample(3.0, 5, 0));
        assert_eq!(pace.moved_at_ms(), Some(1_000));
        pace.record(sample(4.0, 5, 1));
        assert_eq!(pace.moved_at_ms(), Some(4_000));
        // A sample from the past (a late tick) changes nothing.
        pace.record(sample(3.5, 9, 9));
        assert_eq!(pace.moved_at_ms(), Some(4_000));
    }

    #[test]
    fn it_keeps_two_minutes_and_no_more() {
        let mut pace = Pace::default();
        for s in 0..1_000 {
            pace.record(sample(f64::from(s), s as u64, 0));
        }
        assert!(pace.samples.len() <= CHART_SECONDS as usize + 2);
        let seconds = pace.per_second(999_000, CHART_SECONDS);
        assert_eq!(seconds.len(), CHART_SECONDS as usize);
        assert!(seconds.iter().all(|&(sent, _)| sent == 1), "{seconds:?}");
    }
}
