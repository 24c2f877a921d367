//! How long to wait before trying again: one exponential backoff for every retry loop in
//! jobpulse (provider calls, store writes, the PostgreSQL listener, the CLI's watch and the
//! browser's socket), compiled for the server and the browser alike; and the retry policy of
//! provider calls and source fetches built on it.

use std::time::Duration;

/// Exponential backoff: `base` after the first failure, doubling, never above `max`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub max: Duration,
}

impl Backoff {
    /// A backoff from `base` doubling up to `max`.
    pub const fn new(base: Duration, max: Duration) -> Backoff {
        Backoff { base, max }
    }

    /// The bound after `failures` failures in a row (1 is the first).
    pub fn delay(&self, failures: u32) -> Duration {
        let exponent = failures.saturating_sub(1).min(20);
        self.base.saturating_mul(1 << exponent).min(self.max)
    }

    /// Full jitter: a random share (`random` in 0..=1) of the bound, so many clients retrying
    /// at once spread out instead of arriving in waves.
    pub fn full_jitter(&self, failures: u32, random: f64) -> Duration {
        self.delay(failures).mul_f64(random.clamp(0.0, 1.0))
    }

    /// Equal jitter: between half the bound and the bound, for a client that should not come
    /// back too soon (a page reconnecting to a restarted server).
    pub fn equal_jitter(&self, failures: u32, random: f64) -> Duration {
        self.delay(failures)
            .mul_f64(0.5 + random.clamp(0.0, 1.0) * 0.5)
    }
}

/// Exponential backoff with full jitter, honouring a provider's `Retry-After`.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Provider calls per item, counting the first.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl RetryPolicy {
    /// The wait before attempt `attempt + 1`, after `attempt` failed calls (1-based).
    ///
    /// Full jitter (a random delay up to the exponential bound) spreads retries from many devices
    /// so they do not hit a recovering provider in waves. A `Retry-After` is a floor, never shortened.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
        let jittered = Backoff::new(self.base_delay, self.max_delay).full_jitter(attempt, jitter);
        match retry_after {
            Some(wait) => wait.max(jittered),
            None => jittered,
        }
    }

    /// True if another attempt is allowed after `attempts` calls.
    pub fn may_retry(&self, attempts: u32) -> bool {
        attempts < self.max_attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));

    #[test]
    fn doubles_up_to_the_cap() {
        assert_eq!(B.delay(1), Duration::from_millis(100));
        assert_eq!(B.delay(2), Duration::from_millis(200));
        assert_eq!(B.delay(4), Duration::from_millis(800));
        assert_eq!(B.delay(5), Duration::from_secs(1));
        assert_eq!(B.delay(u32::MAX), Duration::from_secs(1));
        // Before any failure there is nothing to wait out beyond the base.
        assert_eq!(B.delay(0), Duration::from_millis(100));
    }

    #[test]
    fn jitter_stays_within_its_band() {
        assert_eq!(B.full_jitter(2, 0.0), Duration::ZERO);
        assert_eq!(B.full_jitter(2, 0.5), Duration::from_millis(100));
        assert_eq!(B.full_jitter(2, 7.0), Duration::from_millis(200));
        assert_eq!(B.equal_jitter(2, 0.0), Duration::from_millis(100));
        assert_eq!(B.equal_jitter(2, 1.0), Duration::from_millis(200));
    }
}

#[cfg(test)]
mod retry_tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(1),
        }
    }

    #[test]
    fn delay_doubles_up_to_the_cap() {
        let p = policy();
        assert_eq!(p.delay(1, None, 1.0), Duration::from_millis(100));
        assert_eq!(p.delay(2, None, 1.0), Duration::from_millis(200));
        assert_eq!(p.delay(3, None, 1.0), Duration::from_millis(400));
        assert_eq!(p.delay(10, None, 1.0), Duration::from_secs(1));
        assert_eq!(p.delay(3, None, 0.5), Duration::from_millis(200));
    }

    #[test]
    fn retry_after_is_a_floor() {
        let p = policy();
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(3)), 1.0),
            Duration::from_secs(3)
        );
        assert_eq!(
            p.delay(4, Some(Duration::from_millis(10)), 1.0),
            Duration::from_millis(800)
        );
    }

    #[test]
    fn attempts_are_bounded() {
        let p = policy();
        assert!(p.may_retry(3));
        assert!(!p.may_retry(4));
    }
}
