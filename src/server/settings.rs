//! Typed runtime settings: `Leptos.toml`, then `JOBPULSE_*` environment overrides.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Everything the server needs to run; see `Leptos.toml` for the documented defaults.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// `host:port` to listen on; port 0 picks a free one.
    pub addr: String,
    /// `sqlite://path` (created if missing) or `postgres://…`.
    pub database_url: String,
    /// Where cargo-leptos put the compiled site (`pkg/`, favicon).
    pub site_root: String,
    /// Origins allowed to open WebSockets and call mutating endpoints; empty means the site's own.
    pub allowed_origins: Vec<String>,
    /// Region for numbers written without `+country` (ISO 3166 code such as "ES"); empty: none.
    pub default_region: String,
    pub engine: EngineSettings,
    pub provider: ProviderSettings,
    pub demo: DemoSettings,
    pub live: LiveSettings,
    pub scrape: ScrapeSettings,
    pub limits: crate::server::limits::LimitSettings,
    pub postgres: crate::server::store::PostgresSettings,
}

/// How jobs are claimed and run.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineSettings {
    /// Run jobs in this process (turn off for an API-only instance).
    pub enabled: bool,
    /// Jobs one instance runs at once.
    pub max_concurrent_jobs: usize,
    /// How often idle instances look for claimable jobs (new local jobs wake them at once).
    pub poll_interval_ms: u64,
    /// A runner's lease; another instance rescues the job once it has expired.
    pub lease_ms: u64,
    /// Outcomes written per group commit at most.
    pub commit_max_rows: usize,
    /// How long a group commit waits to fill up.
    pub commit_max_delay_ms: u64,
    /// Provider calls per item, counting the first.
    pub max_attempts: u32,
    /// First retry delay; doubled per attempt, with jitter, capped by `retry_max_delay_ms`.
    pub retry_base_delay_ms: u64,
    pub retry_max_delay_ms: u64,
    /// A provider that has not accepted a message for this long, while failing transiently,
    /// fails the job (untried items stay pending, so it can be resumed).
    pub provider_down_after_ms: u64,
}

/// Which messaging provider sends bulk messages.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProviderSettings {
    /// `sandbox` (built in, for demos: nothing is delivered) or `http` (CONTRACT.md's generic provider).
    pub kind: ProviderKind,
    pub url: String,
    pub token: String,
    /// Per-request timeout of the http provider.
    pub timeout_ms: u64,
    /// Whether the provider de-duplicates by `Idempotency-Key`; if not, items in flight at a crash become `unknown`.
    pub deduplicates: bool,
    /// Latency of each sandbox send.
    pub sandbox_latency_ms: u64,
}

/// The provider implementations.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    Sandbox,
    Http,
}

/// The demo tenant created on first start.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DemoSettings {
    pub enabled: bool,
    pub tenant: String,
    pub username: String,
    pub password: String,
}

/// WebSocket tuning.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LiveSettings {
    /// Server pings each connection this often.
    pub ping_interval_ms: u64,
    /// A connection silent for this long (no pong, no message) is dropped.
    pub idle_timeout_ms: u64,
    /// Job batches buffered per job for live subscribers before slow ones fall back to the log.
    pub channel_capacity: usize,
    /// A client that cannot take one frame for this long is too slow: it is closed (and resumes by seq).
    pub send_timeout_ms: u64,
    /// Messages a client may send per second (bursts of twice that); beyond, they are refused,
    /// and a client that keeps flooding is closed.
    pub max_client_messages_per_sec: u32,
    /// Events of a job are kept this many days after it ends, then pruned (its row and items stay).
    pub event_retention_days: u32,
    /// How often old events are pruned.
    pub prune_every_minutes: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            addr: "127.0.0.1:3000".into(),
            database_url: "sqlite://data/jobpulse.db".into(),
            site_root: "target/site".into(),
            allowed_origins: Vec::new(),
            default_region: String::new(),
            engine: EngineSettings::default(),
            provider: ProviderSettings::default(),
            demo: DemoSettings::default(),
            live: LiveSettings::default(),
            scrape: ScrapeSettings::default(),
            limits: Default::default(),
            postgres: Default::default(),
        }
    }
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings {
            enabled: true,
            max_concurrent_jobs: 8,
            poll_interval_ms: 500,
            lease_ms: 15_000,
            commit_max_rows: 512,
            commit_max_delay_ms: 5,
            max_attempts: 5,
            retry_base_delay_ms: 250,
            retry_max_delay_ms: 30_000,
            provider_down_after_ms: 120_000,
        }
    }
}

impl Default for ProviderSettings {
    fn default() -> Self {
        ProviderSettings {
            kind: ProviderKind::Sandbox,
            url: String::new(),
            token: String::new(),
            timeout_ms: 10_000,
            deduplicates: true,
            sandbox_latency_ms: 40,
        }
    }
}

impl Default for DemoSettings {
    fn default() -> Self {
        DemoSettings {
            enabled: true,
            tenant: "demo".into(),
            username: "demo".into(),
            password: "demo-password".into(),
        }
    }
}

impl Default for LiveSettings {
    fn default() -> Self {
        LiveSettings {
            ping_interval_ms: 20_000,
            idle_timeout_ms: 60_000,
            channel_capacity: 1024,
            send_timeout_ms: 10_000,
            max_client_messages_per_sec: 50,
            event_retention_days: 7,
            prune_every_minutes: 60,
        }
    }
}

/// Scraping campaigns and outside workers.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScrapeSettings {
    /// The scraper's `User-Agent`; robots.txt rules are read for it.
    pub user_agent: String,
    /// Per-request timeout of the scraping sources.
    pub request_timeout_ms: u64,
    /// Requests per page, counting the first; 5xx, 429 and timeouts are retried.
    pub max_attempts: u32,
    /// First retry delay; doubled per attempt, with jitter.
    pub retry_base_delay_ms: u64,
    /// How often the apify source asks whether its actor run has finished.
    pub apify_poll_ms: u64,
    /// Each page of the built-in demo site takes this long, so a demo campaign can be watched.
    pub demo_latency_ms: u64,
    /// How long `POST /api/campaigns` waits for a small campaign (target_results <= 50).
    pub small_campaign_wait_ms: u64,
    /// An outside worker's job that has not reported for this long fails.
    pub worker_timeout_ms: u64,
    /// Let searches read loopback, private and link-local addresses (an intranet site). Off by
    /// default: an operator could otherwise make the server read its own network.
    pub allow_private_addresses: bool,
}

impl Default for ScrapeSettings {
    fn default() -> Self {
        ScrapeSettings {
            user_agent: concat!("jobpulse/", env!("CARGO_PKG_VERSION")).into(),
            request_timeout_ms: 10_000,
            max_attempts: 3,
            retry_base_delay_ms: 500,
            apify_poll_ms: 2_000,
            demo_latency_ms: 150,
            small_campaign_wait_ms: 60_000,
            worker_timeout_ms: 600_000,
            allow_private_addresses: false,
        }
    }
}

/// A setting that could not be read or makes no sense.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{name}={value:?} is not valid: {reason}")]
    Env {
        name: &'static str,
        value: String,
        reason: String,
    },
}

/// The environment variables that override `Leptos.toml`, with what each sets.
pub const ENV_OVERRIDES: &[(&str, &str)] = &[
    ("JOBPULSE_ADDR", "addr"),
    ("JOBPULSE_DATABASE_URL", "database_url"),
    ("JOBPULSE_SITE_ROOT", "site_root"),
    (
        "JOBPULSE_ALLOWED_ORIGINS",
        "allowed_origins (comma-separated)",
    ),
    ("JOBPULSE_DEFAULT_REGION", "default_region"),
    ("JOBPULSE_PROVIDER", "provider.kind"),
    ("JOBPULSE_PROVIDER_URL", "provider.url"),
    ("JOBPULSE_PROVIDER_TOKEN", "provider.token"),
    ("JOBPULSE_PROVIDER_TIMEOUT_MS", "provider.timeout_ms"),
    ("JOBPULSE_PROVIDER_DEDUPLICATES", "provider.deduplicates"),
    ("JOBPULSE_SANDBOX_LATENCY_MS", "provider.sandbox_latency_ms"),
    ("JOBPULSE_ENGINE", "engine.enabled"),
    ("JOBPULSE_LEASE_MS", "engine.lease_ms"),
    ("JOBPULSE_MAX_ATTEMPTS", "engine.max_attempts"),
    ("JOBPULSE_RETRY_BASE_DELAY_MS", "engine.retry_base_delay_ms"),
    (
        "JOBPULSE_PROVIDER_DOWN_AFTER_MS",
        "engine.provider_down_after_ms",
    ),
    ("JOBPULSE_EVENT_RETENTION_DAYS", "live.event_retention_days"),
    (
        "JOBPULSE_LOGINS_PER_MINUTE",
        "limits.logins_per_account_per_minute",
    ),
    (
        "JOBPULSE_API_REQUESTS_PER_SECOND",
        "limits.api_requests_per_second",
    ),
    (
        "JOBPULSE_POSTGRES_NOTIFY",
        "postgres.notify (batch | per_row)",
    ),
    (
        "JOBPULSE_POSTGRES_MAX_CONNECTIONS",
        "postgres.max_connections",
    ),
    ("JOBPULSE_DEMO", "demo.enabled"),
    ("JOBPULSE_DEMO_PASSWORD", "demo.password"),
    ("JOBPULSE_SCRAPE_USER_AGENT", "scrape.user_agent"),
    ("JOBPULSE_DEMO_LATENCY_MS", "scrape.demo_latency_ms"),
    ("JOBPULSE_WORKER_TIMEOUT_MS", "scrape.worker_timeout_ms"),
    (
        "JOBPULSE_SCRAPE_ALLOW_PRIVATE_ADDRESSES",
        "scrape.allow_private_addresses",
    ),
];

impl Settings {
    /// Reads `path` if it exists (defaults otherwise), then applies the environment.
    pub fn load(path: &Path) -> Result<Settings, SettingsError> {
        let mut settings = match std::fs::read_to_string(path) {
            Ok(text) => Settings::from_toml(&text).map_err(|message| SettingsError::Parse {
                path: path.to_owned(),
                message,
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Settings::default(),
            Err(source) => {
                return Err(SettingsError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        settings.apply_env(|name| std::env::var(name).ok())?;
        Ok(settings)
    }

    /// Parses the text of a `Leptos.toml`.
    pub fn from_toml(text: &str) -> Result<Settings, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// Applies `JOBPULSE_*` overrides read through `get`.
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), SettingsError> {
        fn parse<T: std::str::FromStr>(
            name: &'static str,
            value: String,
        ) -> Result<T, SettingsError>
        where
            T::Err: std::fmt::Display,
        {
            value
                .trim()
                .parse()
                .map_err(|e: T::Err| SettingsError::Env {
                    name,
                    reason: e.to_string(),
                    value,
                })
        }
        fn flag(name: &'static str, value: String) -> Result<bool, SettingsError> {
            match value.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Ok(true),
                "0" | "false" | "no" | "off" => Ok(false),
                _ => Err(SettingsError::Env {
                    name,
                    value,
                    reason: "expected true or false".into(),
                }),
            }
        }
        for &(name, _) in ENV_OVERRIDES {
            let Some(value) = get(name) else { continue };
            match name {
                "JOBPULSE_ADDR" => self.addr = value,
                "JOBPULSE_DATABASE_URL" => self.database_url = value,
                "JOBPULSE_SITE_ROOT" => self.site_root = value,
                "JOBPULSE_ALLOWED_ORIGINS" => {
                    self.allowed_origins = value
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                }
                "JOBPULSE_DEFAULT_REGION" => self.default_region = value,
                "JOBPULSE_PROVIDER" => {
                    self.provider.kind = match value.trim() {
                        "sandbox" => ProviderKind::Sandbox,
                        "http" => ProviderKind::Http,
                        _ => {
                            return Err(SettingsError::Env {
                                name,
                                value,
                                reason: "expected sandbox or http".into(),
                            });
                        }
                    }
                }
                "JOBPULSE_PROVIDER_URL" => self.provider.url = value,
                "JOBPULSE_PROVIDER_TOKEN" => self.provider.token = value,
                "JOBPULSE_PROVIDER_TIMEOUT_MS" => self.provider.timeout_ms = parse(name, value)?,
                "JOBPULSE_PROVIDER_DEDUPLICATES" => self.provider.deduplicates = flag(name, value)?,
                "JOBPULSE_SANDBOX_LATENCY_MS" => {
                    self.provider.sandbox_latency_ms = parse(name, value)?
                }
                "JOBPULSE_ENGINE" => self.engine.enabled = flag(name, value)?,
                "JOBPULSE_LEASE_MS" => self.engine.lease_ms = parse(name, value)?,
                "JOBPULSE_MAX_ATTEMPTS" => self.engine.max_attempts = parse(name, value)?,
                "JOBPULSE_RETRY_BASE_DELAY_MS" => {
                    self.engine.retry_base_delay_ms = parse(name, value)?
                }
                "JOBPULSE_PROVIDER_DOWN_AFTER_MS" => {
                    self.engine.provider_down_after_ms = parse(name, value)?
                }
                "JOBPULSE_EVENT_RETENTION_DAYS" => {
                    self.live.event_retention_days = parse(name, value)?
                }
                "JOBPULSE_LOGINS_PER_MINUTE" => {
                    self.limits.logins_per_account_per_minute = parse(name, value)?
                }
                "JOBPULSE_API_REQUESTS_PER_SECOND" => {
                    self.limits.api_requests_per_second = parse(name, value)?
                }
                "JOBPULSE_POSTGRES_NOTIFY" => {
                    self.postgres.notify = match value.trim() {
                        "batch" => crate::server::store::NotifyMode::Batch,
                        "per_row" => crate::server::store::NotifyMode::PerRow,
                        _ => {
                            return Err(SettingsError::Env {
                                name,
                                value,
                                reason: "expected batch or per_row".into(),
                            });
                        }
                    }
                }
                "JOBPULSE_POSTGRES_MAX_CONNECTIONS" => {
                    self.postgres.max_connections = parse(name, value)?
                }
                "JOBPULSE_DEMO" => self.demo.enabled = flag(name, value)?,
                "JOBPULSE_DEMO_PASSWORD" => self.demo.password = value,
                "JOBPULSE_SCRAPE_USER_AGENT" => self.scrape.user_agent = value,
                "JOBPULSE_DEMO_LATENCY_MS" => self.scrape.demo_latency_ms = parse(name, value)?,
                "JOBPULSE_WORKER_TIMEOUT_MS" => self.scrape.worker_timeout_ms = parse(name, value)?,
                _ => unreachable!("every name in ENV_OVERRIDES is handled"),
            }
        }
        self.validate()
    }

    /// Rejects combinations that cannot work, with the setting to fix.
    pub fn validate(&self) -> Result<(), SettingsError> {
        let bad = |name: &'static str, value: &str, reason: &str| SettingsError::Env {
            name,
            value: value.to_owned(),
            reason: reason.to_owned(),
        };
        if self.socket_addr().is_err() {
            return Err(bad(
                "JOBPULSE_ADDR",
                &self.addr,
                "expected host:port such as 127.0.0.1:3000",
            ));
        }
        if !(self.database_url.starts_with("sqlite:") || self.database_url.starts_with("postgres"))
        {
            return Err(bad(
                "JOBPULSE_DATABASE_URL",
                &self.database_url,
                "expected sqlite://… or postgres://…",
            ));
        }
        if self.provider.kind == ProviderKind::Http && self.provider.url.is_empty() {
            return Err(bad(
                "JOBPULSE_PROVIDER_URL",
                "",
                "the http provider needs a URL to POST messages to",
            ));
        }
        let agent = &self.scrape.user_agent;
        if agent.trim().is_empty() || !agent.chars().all(|c| c.is_ascii_graphic() || c == ' ') {
            return Err(bad(
                "JOBPULSE_SCRAPE_USER_AGENT",
                agent,
                "expected a product token such as \"jobpulse/1.0 (+https://example.com/bot)\"",
            ));
        }
        if self.engine.max_attempts == 0 {
            return Err(bad(
                "JOBPULSE_MAX_ATTEMPTS",
                "0",
                "at least one attempt is needed",
            ));
        }
        if !self.default_region.is_empty()
            && self
                .default_region
                .parse::<phonenumber::country::Id>()
                .is_err()
        {
            return Err(bad(
                "JOBPULSE_DEFAULT_REGION",
                &self.default_region,
                "expected a two-letter country code such as ES or US",
            ));
        }
        Ok(())
    }

    /// The listening address.
    pub fn socket_addr(&self) -> Result<SocketAddr, std::net::AddrParseError> {
        self.addr.parse()
    }

    /// The provider's request timeout.
    pub fn provider_timeout(&self) -> Duration {
        Duration::from_millis(self.provider.timeout_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_the_file() {
        let mut settings =
            Settings::from_toml("addr = \"0.0.0.0:8080\"\n[provider]\nkind = \"sandbox\"\n")
                .unwrap();
        assert_eq!(settings.addr, "0.0.0.0:8080");
        settings
            .apply_env(|name| match name {
                "JOBPULSE_ADDR" => Some("127.0.0.1:0".into()),
                "JOBPULSE_PROVIDER" => Some("http".into()),
                "JOBPULSE_PROVIDER_URL" => Some("http://127.0.0.1:9/send".into()),
                "JOBPULSE_ALLOWED_ORIGINS" => Some("https://a.example, https://b.example".into()),
                _ => None,
            })
            .unwrap();
        assert_eq!(settings.addr, "127.0.0.1:0");
        assert_eq!(settings.provider.kind, ProviderKind::Http);
        assert_eq!(settings.allowed_origins.len(), 2);
    }

    #[test]
    fn bad_values_name_the_variable() {
        let mut settings = Settings::default();
        let err = settings
            .apply_env(|name| (name == "JOBPULSE_PROVIDER").then(|| "smoke-signals".into()))
            .unwrap_err();
        assert!(err.to_string().contains("JOBPULSE_PROVIDER"), "{err}");
        let err = Settings::default()
            .apply_env(|name| (name == "JOBPULSE_PROVIDER").then(|| "http".into()))
            .unwrap_err();
        assert!(err.to_string().contains("JOBPULSE_PROVIDER_URL"), "{err}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = Settings::from_toml("adress = \"x\"\n").unwrap_err();
        assert!(err.contains("adress"), "{err}");
    }

    #[test]
    fn the_shipped_file_parses() {
        let text = include_str!("../../Leptos.toml");
        let settings = Settings::from_toml(text).unwrap();
        settings.validate().unwrap();
    }
}
