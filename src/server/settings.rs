//! Typed runtime settings: `Leptos.toml`, then `JOBPULSE_*` environment overrides.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Format, Toml};
use serde::{Deserialize, Deserializer};

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
    #[serde(deserialize_with = "list")]
    pub allowed_origins: Vec<String>,
    /// Proxies (addresses or networks) whose `X-Forwarded-For` and `X-Forwarded-Proto` are
    /// believed; everyone else's are ignored.
    #[serde(deserialize_with = "list")]
    pub trusted_proxies: Vec<TrustedProxy>,
    /// Region for numbers written without `+country` (ISO 3166 code such as "ES"); empty: none.
    pub default_region: String,
    pub engine: EngineSettings,
    pub provider: ProviderSettings,
    pub demo: DemoSettings,
    pub live: LiveSettings,
    pub scrape: ScrapeSettings,
    pub limits: crate::server::http::limits::LimitSettings,
    pub http: HttpSettings,
    pub postgres: crate::server::store::PostgresSettings,
    /// 64 hex characters sealing senders' secrets; empty: kept in `{data_dir}/secret.key`,
    /// generated on first start. Every instance sharing a database needs the same one.
    pub secret_key: String,
    /// Where the server keeps files of its own; empty: the SQLite database's folder, or `data`.
    pub data_dir: String,
    /// The address providers reach this server at (`https://jobs.example.com`), for webhook
    /// URLs; empty: the address it listens on.
    pub public_url: String,
    pub senders: SenderSettings,
    pub hooks: HookSettings,
    /// A bearer token `GET /metrics` asks for; empty: the metrics are open to whoever reaches
    /// the server (keep it on a private network then).
    pub metrics_token: String,
}

/// Per-tenant senders.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SenderSettings {
    /// Lets a sender's address be on the server's own network (tests and private gateways).
    pub allow_private_addresses: bool,
    /// How long after a bulk send ends its page keeps following its receipts (a send keeps the
    /// window it was created with).
    pub receipts_window_hours: u32,
    /// A reply whose whole text is one of these (any case) puts its number on the opt-out list.
    #[serde(deserialize_with = "list")]
    pub opt_out_words: Vec<String>,
    /// How often each sender's gateway is asked how the sender is (Wablas device, Cloud API
    /// number, Twilio account), in seconds; 0 never asks.
    pub health_check_seconds: u32,
}

/// The longest wait between two questions to a sender's gateway.
pub const MAX_HEALTH_CHECK_SECONDS: u32 = 86_400;

/// The opt-out words unless the settings say otherwise.
pub const OPT_OUT_WORDS: [&str; 5] = ["STOP", "BAJA", "ALTO", "CANCELAR", "UNSUBSCRIBE"];

impl Default for SenderSettings {
    fn default() -> Self {
        SenderSettings {
            allow_private_addresses: false,
            receipts_window_hours: crate::protocol::RECEIPTS_WINDOW_HOURS as u32,
            opt_out_words: OPT_OUT_WORDS.map(str::to_owned).to_vec(),
            health_check_seconds: 60,
        }
    }
}

/// A proxy whose forwarding headers are believed: one address, or a network in CIDR notation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrustedProxy(pub ipnet::IpNet);

impl std::str::FromStr for TrustedProxy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        text.parse::<ipnet::IpNet>()
            .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
            .map(TrustedProxy)
            .map_err(|_| format!("{text:?} is not an address or a network such as 10.0.0.0/8"))
    }
}

impl TrustedProxy {
    /// True if `ip` is this proxy (or in its network).
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        self.0.contains(&ip)
    }
}

/// A list written as TOML array or, in an environment variable, comma-separated.
fn list<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        One(String),
        Many(Vec<String>),
    }
    let items = match Written::deserialize(deserializer)? {
        Written::One(text) => text.split(',').map(str::to_owned).collect(),
        Written::Many(items) => items,
    };
    items
        .iter()
        .map(|item| item.trim())
        .filter(|item| !item.is_empty())
        .map(|item| item.parse().map_err(serde::de::Error::custom))
        .collect()
}

/// How connections are taken and how long a client may take to send a request.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// Open connections at once (capped below the process's file limit).
    pub max_connections: usize,
    /// Open connections from one client address (trusted proxies are exempt).
    pub max_connections_per_address: usize,
    /// A client must send a request's whole header within this time.
    pub header_read_timeout_ms: u64,
    /// A client that sends nothing of a request body for this long is cut off (408).
    pub body_read_timeout_ms: u64,
    /// Largest request body, except for bulk sends.
    pub max_body_bytes: usize,
    /// Largest bulk send (`POST /api/messages/send-bulk` and the bulk send form).
    pub max_bulk_body_bytes: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            max_connections: 10_000,
            max_connections_per_address: 256,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 10_000,
            max_body_bytes: 64 * 1024,
            max_bulk_body_bytes: 8 * 1024 * 1024,
        }
    }
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
    /// `sandbox` (built in, for demos: nothing is delivered), `http` (CONTRACT.md's generic
    /// provider) or `whatsapp_cloud` (Meta's WhatsApp Cloud API).
    pub kind: ProviderKind,
    /// The http provider's URL; for whatsapp_cloud, the Graph API root (default
    /// `https://graph.facebook.com/v21.0`).
    pub url: String,
    /// The http provider's bearer token; for whatsapp_cloud, the access token.
    pub token: String,
    /// The WhatsApp Business phone number id that sends (whatsapp_cloud).
    pub phone_number_id: String,
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
    WhatsappCloud,
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
    /// Live connections one session or API token may hold open at once.
    pub max_connections_per_credential: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            addr: "127.0.0.1:3000".into(),
            database_url: "sqlite://data/jobpulse.db".into(),
            site_root: "target/site".into(),
            allowed_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            default_region: String::new(),
            engine: EngineSettings::default(),
            provider: ProviderSettings::default(),
            demo: DemoSettings::default(),
            live: LiveSettings::default(),
            scrape: ScrapeSettings::default(),
            limits: Default::default(),
            http: Default::default(),
            postgres: Default::default(),
            secret_key: String::new(),
            data_dir: String::new(),
            public_url: String::new(),
            metrics_token: String::new(),
            senders: SenderSettings::default(),
            hooks: HookSettings::default(),
        }
    }
}

/// Outgoing webhooks (`[hooks]`). Their addresses obey `scrape.allow_private_addresses`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HookSettings {
    /// Calls per delivery before it is given up as failed.
    pub max_attempts: u32,
    /// The pause after the first failed call; doubled per call (with jitter) up to `retry_max_ms`.
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    /// How long a call may take before it counts as failed.
    pub timeout_ms: u64,
    /// How often each instance looks for deliveries that are due.
    pub poll_ms: u64,
    /// Hooks per tenant.
    pub max_per_tenant: u32,
}

impl Default for HookSettings {
    fn default() -> Self {
        HookSettings {
            max_attempts: 10,
            retry_base_ms: 10_000,
            retry_max_ms: 3_600_000,
            timeout_ms: 10_000,
            poll_ms: 1_000,
            max_per_tenant: 20,
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
            phone_number_id: String::new(),
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
            max_connections_per_credential: 32,
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

/// The longest receipts window (30 days).
pub const MAX_RECEIPTS_WINDOW_HOURS: u32 = 720;

/// A setting that could not be read or makes no sense.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file or an environment variable does not fit the settings (figment names which).
    #[error("{0}")]
    Load(Box<figment::Error>),
    #[error("{name}={value:?} is not valid: {reason}")]
    Env {
        name: &'static str,
        value: String,
        reason: String,
    },
}

impl From<figment::Error> for SettingsError {
    fn from(error: figment::Error) -> Self {
        SettingsError::Load(Box::new(error))
    }
}

/// The environment variables that override `Leptos.toml`, with the setting each sets.
pub const ENV_OVERRIDES: &[(&str, &str)] = &[
    ("JOBPULSE_ADDR", "addr"),
    ("JOBPULSE_DATABASE_URL", "database_url"),
    ("JOBPULSE_SITE_ROOT", "site_root"),
    ("JOBPULSE_ALLOWED_ORIGINS", "allowed_origins"),
    ("JOBPULSE_SECRET_KEY", "secret_key"),
    ("JOBPULSE_DATA_DIR", "data_dir"),
    ("JOBPULSE_PUBLIC_URL", "public_url"),
    ("JOBPULSE_METRICS_TOKEN", "metrics_token"),
    (
        "JOBPULSE_SENDERS_ALLOW_PRIVATE_ADDRESSES",
        "senders.allow_private_addresses",
    ),
    (
        "JOBPULSE_RECEIPTS_WINDOW_HOURS",
        "senders.receipts_window_hours",
    ),
    ("JOBPULSE_OPT_OUT_WORDS", "senders.opt_out_words"),
    (
        "JOBPULSE_SENDERS_HEALTH_CHECK_SECONDS",
        "senders.health_check_seconds",
    ),
    ("JOBPULSE_TRUSTED_PROXIES", "trusted_proxies"),
    ("JOBPULSE_DEFAULT_REGION", "default_region"),
    ("JOBPULSE_PROVIDER", "provider.kind"),
    ("JOBPULSE_PROVIDER_URL", "provider.url"),
    ("JOBPULSE_PROVIDER_TOKEN", "provider.token"),
    (
        "JOBPULSE_PROVIDER_PHONE_NUMBER_ID",
        "provider.phone_number_id",
    ),
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
        "JOBPULSE_LIVE_CONNECTIONS_PER_CREDENTIAL",
        "live.max_connections_per_credential",
    ),
    (
        "JOBPULSE_LOGINS_PER_MINUTE",
        "limits.logins_per_account_per_minute",
    ),
    (
        "JOBPULSE_LOGINS_PER_ADDRESS_PER_MINUTE",
        "limits.logins_per_address_per_minute",
    ),
    (
        "JOBPULSE_API_REQUESTS_PER_SECOND",
        "limits.api_requests_per_second",
    ),
    (
        "JOBPULSE_PASSWORD_CHECKS_AT_ONCE",
        "limits.password_checks_at_once",
    ),
    ("JOBPULSE_MAX_CONNECTIONS", "http.max_connections"),
    (
        "JOBPULSE_MAX_CONNECTIONS_PER_ADDRESS",
        "http.max_connections_per_address",
    ),
    (
        "JOBPULSE_HEADER_READ_TIMEOUT_MS",
        "http.header_read_timeout_ms",
    ),
    ("JOBPULSE_BODY_READ_TIMEOUT_MS", "http.body_read_timeout_ms"),
    ("JOBPULSE_POSTGRES_NOTIFY", "postgres.notify"),
    (
        "JOBPULSE_POSTGRES_MAX_CONNECTIONS",
        "postgres.max_connections",
    ),
    ("JOBPULSE_DEMO", "demo.enabled"),
    ("JOBPULSE_DEMO_PASSWORD", "demo.password"),
    ("JOBPULSE_SCRAPE_USER_AGENT", "scrape.user_agent"),
    ("JOBPULSE_HOOKS_MAX_ATTEMPTS", "hooks.max_attempts"),
    ("JOBPULSE_HOOKS_RETRY_BASE_MS", "hooks.retry_base_ms"),
    ("JOBPULSE_DEMO_LATENCY_MS", "scrape.demo_latency_ms"),
    ("JOBPULSE_WORKER_TIMEOUT_MS", "scrape.worker_timeout_ms"),
    (
        "JOBPULSE_SCRAPE_ALLOW_PRIVATE_ADDRESSES",
        "scrape.allow_private_addresses",
    ),
];

/// One environment variable as a figment provider, so an error names the variable.
struct EnvVar {
    name: &'static str,
    key: &'static str,
    value: String,
}

impl figment::Provider for EnvVar {
    fn metadata(&self) -> figment::Metadata {
        figment::Metadata::named(format!("environment variable {}", self.name))
    }

    fn data(
        &self,
    ) -> Result<figment::value::Map<figment::Profile, figment::value::Dict>, figment::Error> {
        // Always text: lossy extraction turns "8080" or "true" into numbers and flags where the
        // setting wants one, and a password of digits stays a password.
        let value = figment::value::Value::from(self.value.clone());
        let dict = figment::util::nest(self.key, value)
            .into_dict()
            .expect("a dotted key nests into a dict");
        Ok(figment::Profile::Default.collect(dict))
    }
}

impl Settings {
    /// Reads `path` if it exists (defaults otherwise), then applies the environment.
    pub fn load(path: &Path) -> Result<Settings, SettingsError> {
        Settings::load_with(path, |name| std::env::var(name).ok())
    }

    /// Like `load`, with environment variables read through `get`.
    pub fn load_with(
        path: &Path,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, SettingsError> {
        let mut figment = Figment::new().merge(Toml::file(path));
        for &(name, key) in ENV_OVERRIDES {
            if let Some(value) = get(name) {
                figment = figment.merge(EnvVar { name, key, value });
            }
        }
        let settings: Settings = figment.extract_lossy()?;
        settings.validate()?;
        Ok(settings)
    }

    /// Parses the text of a `Leptos.toml`.
    pub fn from_toml(text: &str) -> Result<Settings, String> {
        Figment::new()
            .merge(Toml::string(text))
            .extract_lossy()
            .map_err(|e: figment::Error| e.to_string())
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
        if self.provider.kind == ProviderKind::WhatsappCloud {
            if self.provider.phone_number_id.trim().is_empty() {
                return Err(bad(
                    "JOBPULSE_PROVIDER_PHONE_NUMBER_ID",
                    "",
                    "the WhatsApp Cloud API sends from a phone number id (WhatsApp Manager → \
                     API Setup)",
                ));
            }
            if self.provider.token.trim().is_empty() {
                return Err(bad(
                    "JOBPULSE_PROVIDER_TOKEN",
                    "",
                    "the WhatsApp Cloud API needs an access token (a system user's token)",
                ));
            }
        }
        let window = self.senders.receipts_window_hours;
        if !(1..=MAX_RECEIPTS_WINDOW_HOURS).contains(&window) {
            return Err(bad(
                "JOBPULSE_RECEIPTS_WINDOW_HOURS",
                &window.to_string(),
                "expected 1 to 720 hours (providers stop reporting within days)",
            ));
        }
        let every = self.senders.health_check_seconds;
        if every > MAX_HEALTH_CHECK_SECONDS {
            return Err(bad(
                "JOBPULSE_SENDERS_HEALTH_CHECK_SECONDS",
                &every.to_string(),
                "expected 0 (never) to 86400 seconds (a day)",
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

    /// Where the server keeps its own files (the generated `secret.key`).
    pub fn data_dir(&self) -> std::path::PathBuf {
        if !self.data_dir.trim().is_empty() {
            return self.data_dir.trim().into();
        }
        self.database_url
            .strip_prefix("sqlite://")
            .map(|path| path.split('?').next().unwrap_or(path))
            .and_then(|path| Path::new(path).parent())
            .filter(|dir| !dir.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| "data".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(file: &str, env: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Leptos.toml");
        std::fs::write(&path, file).unwrap();
        Settings::load_with(&path, |name| {
            env.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn env_overrides_the_file() {
        let file = "addr = \"0.0.0.0:8080\"\n[provider]\nkind = \"sandbox\"\n";
        assert_eq!(load(file, &[]).unwrap().addr, "0.0.0.0:8080");
        let settings = load(
            file,
            &[
                ("JOBPULSE_ADDR", "127.0.0.1:0"),
                ("JOBPULSE_PROVIDER", "http"),
                ("JOBPULSE_PROVIDER_URL", "http://127.0.0.1:9/send"),
                (
                    "JOBPULSE_ALLOWED_ORIGINS",
                    "https://a.example, https://b.example",
                ),
                ("JOBPULSE_DEMO_PASSWORD", "1234567890"),
                ("JOBPULSE_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7"),
            ],
        )
        .unwrap();
        assert_eq!(settings.addr, "127.0.0.1:0");
        assert_eq!(settings.provider.kind, ProviderKind::Http);
        assert_eq!(settings.allowed_origins.len(), 2);
        // Digits stay text where the setting is text.
        assert_eq!(settings.demo.password, "1234567890");
        assert!(settings.trusted_proxies[0].contains("10.1.2.3".parse().unwrap()));
        assert!(settings.trusted_proxies[1].contains("192.168.1.7".parse().unwrap()));
        assert!(!settings.trusted_proxies[1].contains("192.168.1.8".parse().unwrap()));
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = load("", &[("JOBPULSE_PROVIDER", "smoke-signals")]).unwrap_err();
        assert!(err.to_string().contains("JOBPULSE_PROVIDER"), "{err}");
        let err = load("", &[("JOBPULSE_LEASE_MS", "soon")]).unwrap_err();
        assert!(err.to_string().contains("JOBPULSE_LEASE_MS"), "{err}");
        let err = load("", &[("JOBPULSE_TRUSTED_PROXIES", "nginx")]).unwrap_err();
        assert!(
            err.to_string().contains("JOBPULSE_TRUSTED_PROXIES"),
            "{err}"
        );
        let err = load("", &[("JOBPULSE_PROVIDER", "http")]).unwrap_err();
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

    /// A value for each variable that differs from its default (and is valid).
    fn sample(name: &str) -> &'static str {
        match name {
            "JOBPULSE_ADDR" => "127.0.0.1:4000",
            "JOBPULSE_DATABASE_URL" => "postgres://db.internal/jobpulse",
            "JOBPULSE_SITE_ROOT" => "/srv/site",
            "JOBPULSE_ALLOWED_ORIGINS" => "https://ops.example.com",
            "JOBPULSE_TRUSTED_PROXIES" => "10.0.0.1",
            "JOBPULSE_DEFAULT_REGION" => "MX",
            "JOBPULSE_PROVIDER" => "http",
            "JOBPULSE_PROVIDER_URL" => "https://other.example/send",
            "JOBPULSE_PROVIDER_TOKEN" => "secret",
            "JOBPULSE_PROVIDER_PHONE_NUMBER_ID" => "106540352242922",
            "JOBPULSE_POSTGRES_NOTIFY" => "per_row",
            "JOBPULSE_DEMO_PASSWORD" => "another-password",
            "JOBPULSE_SCRAPE_USER_AGENT" => "acmebot/2.0",
            "JOBPULSE_OPT_OUT_WORDS" => "STOP, PARAR",
            // Flags: every default is the other value.
            "JOBPULSE_PROVIDER_DEDUPLICATES" | "JOBPULSE_ENGINE" | "JOBPULSE_DEMO" => "false",
            "JOBPULSE_SCRAPE_ALLOW_PRIVATE_ADDRESSES"
            | "JOBPULSE_SENDERS_ALLOW_PRIVATE_ADDRESSES" => "true",
            // Numbers: no documented default is 3.
            _ => "3",
        }
    }

    #[test]
    fn the_cloud_api_needs_its_number_and_token() {
        let cloud = ("JOBPULSE_PROVIDER", "whatsapp_cloud");
        let error = load("", &[cloud]).unwrap_err().to_string();
        assert!(
            error.contains("JOBPULSE_PROVIDER_PHONE_NUMBER_ID"),
            "{error}"
        );
        let number = ("JOBPULSE_PROVIDER_PHONE_NUMBER_ID", "106540352242922");
        let error = load("", &[cloud, number]).unwrap_err().to_string();
        assert!(error.contains("JOBPULSE_PROVIDER_TOKEN"), "{error}");
        let token = ("JOBPULSE_PROVIDER_TOKEN", "EAAG…");
        let settings = load("", &[cloud, number, token]).unwrap();
        assert_eq!(settings.provider.kind, ProviderKind::WhatsappCloud);
    }

    /// Every variable the README documents overrides its setting, and none can crash a command.
    #[test]
    fn every_documented_variable_takes_effect() {
        let readme = include_str!("../../README.md");
        let section = readme
            .split("## Configuration")
            .nth(1)
            .and_then(|rest| rest.split("\n## ").next())
            .expect("the README has a Configuration section");
        let documented: Vec<&str> = section
            .lines()
            .filter(|line| line.starts_with("| `JOBPULSE_"))
            .flat_map(|line| line.split('|').nth(1).unwrap_or("").split(','))
            .map(|name| name.trim().trim_matches('`'))
            .collect();
        assert!(documented.len() > 20, "found {documented:?}");
        // Read by `main`, not settings.
        let outside = ["JOBPULSE_LOG", "JOBPULSE_CONFIG"];
        for &(name, _) in ENV_OVERRIDES {
            assert!(documented.contains(&name), "{name} is not in the README");
        }
        // The http provider needs a URL: every load has one, so JOBPULSE_PROVIDER can say http.
        let url = ("JOBPULSE_PROVIDER_URL", "https://provider.example/send");
        let defaults = format!("{:?}", load("", &[url]).unwrap());
        for name in documented {
            if outside.contains(&name) {
                continue;
            }
            assert!(
                ENV_OVERRIDES.iter().any(|(n, _)| *n == name),
                "{name} is documented but nothing reads it"
            );
            let changed = load("", &[(name, sample(name)), url])
                .unwrap_or_else(|e| panic!("{name}={}: {e}", sample(name)));
            assert_ne!(format!("{changed:?}"), defaults, "{name} changed nothing");
        }
    }
}
