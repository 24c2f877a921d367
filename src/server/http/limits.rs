//! Rate limits (governor): login attempts per account and per address, API requests per token;
//! and a gate that bounds how many passwords are checked at once. A limited caller gets a 429
//! (or, when the server is busy checking passwords, a 503) with `Retry-After`.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Deserialize;
use tokio::sync::Semaphore;

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
    /// Passwords checked (argon2: ~19 MiB and a core for tens of ms each) at once; 0 means one
    /// per core. Logins beyond these and a short queue are answered 503 with `Retry-After`.
    pub password_checks_at_once: usize,
    /// Logins that may wait for a password check; beyond them, 503.
    pub password_checks_waiting: usize,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            logins_per_account_per_minute: 5,
            logins_per_address_per_minute: 30,
            api_requests_per_second: 100,
            password_checks_at_once: 0,
            password_checks_waiting: 16,
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
    passwords: PasswordGate,
}

/// The server is checking as many passwords as it may: try again shortly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the server is busy checking other logins")]
pub struct Busy;

impl Busy {
    /// Seconds a client should wait (`Retry-After`).
    pub const RETRY_AFTER_SECONDS: u64 = 1;
}

/// Password hashing on a few threads of its own, with a short queue and no more. Without it a
/// login flood makes memory grow by ~19 MiB per concurrent attempt and starves every other request
/// of CPU. (That the memory is given back afterwards is `startup::tune_allocator`'s part.)
pub struct PasswordGate {
    /// One permit per check running or waiting.
    admitted: Arc<Semaphore>,
    jobs: std::sync::mpsc::SyncSender<Job>,
    at_once: usize,
    busiest: Arc<AtomicUsize>,
}

type Job = Box<dyn FnOnce() + Send>;

impl PasswordGate {
    /// A gate for `at_once` checks (0: one per core) and `waiting` queued ones.
    pub fn new(at_once: usize, waiting: usize) -> PasswordGate {
        let at_once = if at_once == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            at_once
        };
        let (jobs, queue) = std::sync::mpsc::sync_channel::<Job>(at_once + waiting);
        let queue = Arc::new(std::sync::Mutex::new(queue));
        let busiest = Arc::new(AtomicUsize::new(0));
        let running = Arc::new(AtomicUsize::new(0));
        for n in 0..at_once {
            let (queue, busiest, running) = (queue.clone(), busiest.clone(), running.clone());
            std::thread::Builder::new()
                .name(format!("password-{n}"))
                .spawn(move || {
                    loop {
                        let job = queue.lock().expect("password queue").recv();
                        let Ok(job) = job else { return };
                        let now = running.fetch_add(1, Ordering::Relaxed) + 1;
                        busiest.fetch_max(now, Ordering::Relaxed);
                        job();
                        running.fetch_sub(1, Ordering::Relaxed);
                    }
                })
                .expect("a password thread starts");
        }
        PasswordGate {
            admitted: Arc::new(Semaphore::new(at_once + waiting)),
            jobs,
            at_once,
            busiest,
        }
    }

    /// Runs `work` (a password hash or check) on the password threads, or refuses at once when
    /// they are busy and the queue is full.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let permit = self
            .admitted
            .clone()
            .try_acquire_owned()
            .map_err(|_| Busy)?;
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
            drop(permit);
        });
        self.jobs.send(job).map_err(|_| Busy)?;
        result.await.map_err(|_| Busy)
    }

    /// Checks allowed at once.
    pub fn at_once(&self) -> usize {
        self.at_once
    }

    /// The most checks that ever ran at once in this process.
    pub fn busiest(&self) -> usize {
        self.busiest.load(Ordering::Relaxed)
    }
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
            passwords: PasswordGate::new(
                settings.password_checks_at_once,
                settings.password_checks_waiting,
            ),
        }
    }

    /// The gate every password check goes through.
    pub fn passwords(&self) -> &PasswordGate {
        &self.passwords
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

    #[tokio::test]
    async fn password_checks_beyond_the_gate_and_its_queue_are_refused() {
        let gate = Arc::new(PasswordGate::new(1, 1));
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let hold = Arc::new(std::sync::Mutex::new(hold));
        // One runs (held until released), one waits; a third is refused at once.
        let spawn =
            |gate: Arc<PasswordGate>,
             hold: Arc<std::sync::Mutex<std::sync::mpsc::Receiver<()>>>| {
                tokio::spawn(async move {
                    gate.run(move || {
                        let _ = hold.lock().unwrap().recv();
                    })
                    .await
                })
            };
        let running = spawn(gate.clone(), hold.clone());
        let waiting = spawn(gate.clone(), hold.clone());
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while gate.admitted.available_permits() > 0 {
            assert!(std::time::Instant::now() < deadline, "both admitted");
            tokio::task::yield_now().await;
        }
        assert_eq!(gate.run(|| ()).await, Err(Busy));
        release.send(()).unwrap();
        release.send(()).unwrap();
        assert_eq!(running.await.unwrap(), Ok(()));
        assert_eq!(waiting.await.unwrap(), Ok(()));
        assert_eq!(gate.busiest(), 1);
        assert_eq!(gate.run(|| 7).await, Ok(7));
    }
}
