//! When to try a failed send again.

use std::time::Duration;

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
        let exponent = attempt.saturating_sub(1).min(20);
        let bound = self
            .base_delay
            .saturating_mul(1 << exponent)
            .min(self.max_delay);
        let jittered = bound.mul_f64(jitter.clamp(0.0, 1.0));
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
