//! Rate limits (governor): login attempts per account and per address, API requests per token.
//! A limited caller gets a 429 with `Retry-After`.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Deserialize;

/// Rate limit settings (`[limits]` in Leptos.toml).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitSettings {
    /// Login attempts per account per minute (the next one is refused until a slot frees up).
    pub logins_per_account_per_minute: u32,
    /// Login attempts per client address per minute, whatever the account.
    pub logins_per_address_per_minute: u32,
    /// API requests per token per second (bursts of twice that).
    pub api_requests_per_second: u32,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            logins_per_account_per_minute: 5,
            logins_per_address_per_minute: 30,
            api_requests_per_second: 100,
        }
    }
}

/// How long to wait before trying again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("too many requests: try again in {}", self.wait())]
pub struct Limited(pub Duration);

impl Limited {
    /// Whole seconds to wait (at least one), as `Retry-After` says it.
    pub fn seconds(&self) -> u64 {
        self.0.as_secs_f64().ceil().max(1.0) as u64
    }

    /// "1 second", "12 seconds".
    pub fn wait(&self) -> String {
        match self.seconds() {
            1 => "1 second".to_owned(),
            n => format!("{n} seconds"),
        }
    }
}

/// The limiters of one process.
pub struct Limits {
    login_account: DefaultKeyedRateLimiter<String>,
    login_address: DefaultKeyedRateLimiter<String>,
    api_token: DefaultKeyedRateLimiter<String>,
}

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).expect("at least one")
}

fn per_minute(n: u32) -> Quota {
    Quota::with_period(Duration::from_secs(60) / n.max(1))
        .expect("a positive period")
        .allow_burst(nonzero(n))
}

fn check(limiter: &DefaultKeyedRateLimiter<String>, key: &str) -> Result<(), Limited> {
    limiter
        .check_key(&key.to_owned())
        .map_err(|not_until| Limited(not_until.wait_time_from(DefaultClock::default().now())))
}

impl Limits {
    /// Limiters with the given settings.
    pub fn new(settings: &LimitSettings) -> Limits {
        let api = settings.api_requests_per_second;
        Limits {
            login_account: RateLimiter::keyed(per_minute(settings.logins_per_account_per_minute)),
            login_address: RateLimiter::keyed(per_minute(settings.logins_per_address_per_minute)),
            api_token: RateLimiter::keyed(
                Quota::per_second(nonzero(api)).allow_burst(nonzero(api.saturating_mul(2))),
            ),
        }
    }

    /// Counts a login attempt for an account from an address.
    pub fn login(&self, username: &str, address: &str) -> Result<(), Limited> {
        check(&self.login_address, address)?;
        check(&self.login_account, &username.trim().to_lowercase())
    }

    /// Counts an API request made with a token (by its hash).
    pub fn api(&self, token_hash: &str) -> Result<(), Limited> {
        check(&self.api_token, token_hash)
    }

    /// Forgets keys that have not been limited lately, so memory does not grow with them.
    pub fn sweep(&self) {
        self.login_account.retain_recent();
        self.login_address.retain_recent();
        self.api_token.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_requests_beyond_the_burst_are_refused() {
        let limits = Limits::new(&LimitSettings {
            api_requests_per_second: 5,
            ..LimitSettings::default()
        });
        let allowed = (0..15).filter(|_| limits.api("token").is_ok()).count();
        assert_eq!(allowed, 10);
    }

    #[test]
    fn the_sixth_login_attempt_in_a_minute_is_refused() {
        let limits = Limits::new(&LimitSettings::default());
        for _ in 0..5 {
            limits.login("ana", "10.0.0.1").unwrap();
        }
        let Limited(wait) = limits.login("Ana ", "10.0.0.2").unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(12));
        // Another account is not affected.
        limits.login("luis", "10.0.0.1").unwrap();
    }
}
