//! Why work stopped, as codes with parameters: a source that cannot go on (`SourceFault`) and a
//! job that failed (`JobFault`); a request without a usable answer is `fault::FetchFault`. Events carry them beside their English sentence, which `english()` writes, so
//! pages word them in their reader's language (`i18n::failures`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use super::fault::FetchFault;
use super::fault::{SendFault, human_duration};
use super::problem::{AddressKind, SourceRule};

/// What a refused request was for, as its refusal names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "target", rename_all = "snake_case")]
pub enum Target {
    SearchUrl,
    ApifyBaseUrl { url: String },
    Url { url: String },
    RedirectTo { url: String },
}

impl Target {
    fn english(&self) -> String {
        match self {
            Target::SearchUrl => "the search URL".into(),
            Target::ApifyBaseUrl { url } => format!("the Apify base_url ({url})"),
            Target::Url { url } => url.clone(),
            Target::RedirectTo { url } => format!("a redirect to {url}"),
        }
    }
}

/// A request searches may not send: the address is private, or the demo reader's only site is
/// elsewhere.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "blocked", rename_all = "snake_case")]
pub enum Blocked {
    Address {
        what: Target,
        kind: AddressKind,
        ip: String,
    },
    /// Every address `host` resolves to is private.
    Resolves {
        host: String,
        addresses: Vec<String>,
    },
    NotDemoSite {
        what: Target,
        demo: Option<String>,
    },
}

/// What an admin changes to let searches read private addresses.
pub const PRIVATE_ADDRESSES_SETTING: &str = "scrape.allow_private_addresses";

impl Blocked {
    /// The refusal in English.
    pub fn english(&self) -> String {
        match self {
            Blocked::Address { what, kind, ip } => format!(
                "{} points at {} address ({ip}), which searches may not read; an admin can \
                 allow it with {PRIVATE_ADDRESSES_SETTING}",
                what.english(),
                kind.english()
            ),
            Blocked::Resolves { host, addresses } => format!(
                "{host} resolves only to private addresses ({}), which searches may not read; \
                 an admin can allow them with {PRIVATE_ADDRESSES_SETTING}",
                addresses.join(", ")
            ),
            Blocked::NotDemoSite { what, demo } => format!(
                "{} is not on the demo site ({}), the only place its reader goes",
                what.english(),
                demo.as_deref().unwrap_or("unknown")
            ),
        }
    }
}

/// Which call to Apify went wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum ApifyStep {
    LookUpActor { actor: String },
    StartActor { actor: String },
    CheckRun { run: String },
    ReadDataset { dataset: String },
    AbortRun { run: String },
}

impl ApifyStep {
    fn english(&self) -> String {
        match self {
            ApifyStep::LookUpActor { actor } => format!("look up actor “{actor}”"),
            ApifyStep::StartActor { actor } => format!("start actor “{actor}”"),
            ApifyStep::CheckRun { run } => format!("check run {run}"),
            ApifyStep::ReadDataset { dataset } => format!("read dataset {dataset}"),
            ApifyStep::AbortRun { run } => format!("abort run {run}"),
        }
    }
}

/// Why a source cannot go on at all: the search fails with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum SourceFault {
    /// The job's stored search settings do not parse (written by an older version, say).
    SettingsUnreadable,
    NoKeywords,
    /// The settings broke a rule (checked again when the search starts).
    Settings {
        rule: SourceRule,
    },
    Blocked {
        blocked: Blocked,
    },
    RobotsWhere {
        host: String,
    },
    /// robots.txt failed in a way that, as for Google, closes the site to crawlers.
    RobotsUnread {
        host: String,
        why: FetchFault,
    },
    RobotsNotUnderstood {
        host: String,
        detail: String,
    },
    RobotsDisallow {
        host: String,
        path: String,
        agent: String,
    },
    ApifyUnreachable {
        base_url: String,
        step: ApifyStep,
        why: FetchFault,
    },
    /// `detail` is Apify's own message, when it gave one.
    ApifyTokenRefused {
        answer: FetchFault,
        detail: Option<String>,
    },
    ApifyAnswered {
        step: ApifyStep,
        answer: FetchFault,
        detail: Option<String>,
    },
    ApifyNotUnderstood {
        step: ApifyStep,
        detail: String,
    },
    ActorNotFound {
        actor: String,
        base_url: String,
    },
    RunNotStarted,
    /// The run ended in `status` (FAILED, ABORTED, TIMED-OUT), with Apify's message.
    RunEnded {
        run: String,
        status: String,
        detail: Option<String>,
    },
    BaseUrlNoPath,
}

/// ": detail", or nothing.
fn colon(detail: &Option<String>) -> String {
    detail
        .as_deref()
        .map(|d| format!(": {d}"))
        .unwrap_or_default()
}

impl SourceFault {
    /// The fault in English: the failed job's `error`.
    pub fn english(&self) -> String {
        match self {
            SourceFault::SettingsUnreadable => {
                "The job's search settings could not be read; create the campaign again.".into()
            }
            SourceFault::NoKeywords => "the campaign has no keywords to search for".into(),
            SourceFault::Settings { rule } => rule.english(),
            SourceFault::Blocked { blocked } => blocked.english(),
            SourceFault::RobotsWhere { host } => {
                format!("cannot tell where robots.txt of {host} is")
            }
            SourceFault::RobotsUnread { host, why } => format!(
                "robots.txt of {host} could not be read ({}); like Google, jobpulse treats a \
                 site whose robots.txt fails this way as closed to crawlers. Try again once the \
                 site answers",
                why.english()
            ),
            SourceFault::RobotsNotUnderstood { host, detail } => format!(
                "robots.txt of {host} could not be understood ({detail}), so jobpulse stays out"
            ),
            SourceFault::RobotsDisallow { host, path, agent } => {
                format!("robots.txt of {host} does not allow {path} for user agent {agent}")
            }
            SourceFault::ApifyUnreachable {
                base_url,
                step,
                why,
            } => format!(
                "could not reach Apify at {base_url} to {}: {}",
                step.english(),
                why.english()
            ),
            SourceFault::ApifyTokenRefused { answer, detail } => format!(
                "the Apify token was refused ({}{}); check the campaign's API token",
                answer.english(),
                colon(detail)
            ),
            SourceFault::ApifyAnswered {
                step,
                answer,
                detail,
            } => format!(
                "Apify answered {} when asked to {}{}",
                answer.english(),
                step.english(),
                colon(detail)
            ),
            SourceFault::ApifyNotUnderstood { step, detail } => format!(
                "Apify's answer when asked to {} was not understood ({detail})",
                step.english()
            ),
            SourceFault::ActorNotFound { actor, base_url } => {
                format!("actor “{actor}” not found at {base_url}: check its id or username~name")
            }
            SourceFault::RunNotStarted => "the Apify run was not started".into(),
            SourceFault::RunEnded {
                run,
                status,
                detail,
            } => format!("the Apify run {run} ended {status}{}", colon(detail)),
            SourceFault::BaseUrlNoPath => "base_url cannot hold a path".into(),
        }
    }
}

/// Why a job failed, for `job_failed`'s `fault`: its `error` and `message` in words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum JobFault {
    /// No message was accepted for `after_ms`; `last` is the provider's last refusal.
    ProviderDown { after_ms: u64, last: SendFault },
    /// The search's source could not go on.
    Source { fault: SourceFault },
    /// The outside worker sent nothing for `after_ms`.
    WorkerSilent { after_ms: u64 },
    /// The outside worker ended the job with its own error (in `error`, as it wrote it).
    WorkerReported,
}

impl JobFault {
    /// The `error` sentence in English (an outside worker's own words are its `error`).
    pub fn english(&self) -> Option<String> {
        match self {
            JobFault::ProviderDown { after_ms, last } => Some(format!(
                "The provider has not accepted a message for {}: {}",
                human_duration(Duration::from_millis(*after_ms)),
                last.english()
            )),
            JobFault::Source { fault } => Some(fault.english()),
            JobFault::WorkerSilent { after_ms } => Some(format!(
                "Its worker sent no report for {}: the job was given up. Start a new job to try \
                 again.",
                human_duration(Duration::from_millis(*after_ms))
            )),
            JobFault::WorkerReported => None,
        }
    }

    /// What to do about it, in English: the event's `message`.
    pub fn advice(&self) -> &'static str {
        match self {
            JobFault::ProviderDown { .. } => {
                "Items that were not attempted stay pending: resume the job once the provider is back."
            }
            JobFault::Source { .. } => {
                "The search stopped: fix the source settings and run the campaign again."
            }
            JobFault::WorkerSilent { .. } => "Its worker may report again only on a new job.",
            JobFault::WorkerReported => "Reported by its outside worker",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_keep_the_sentences_scripts_have_read() {
        let status = FetchFault::Status {
            status: 503,
            reason: "Service Unavailable".into(),
            attempts: 1,
        };
        assert_eq!(status.clone().english(), "HTTP 503 Service Unavailable");
        assert_eq!(
            status.after(3).english(),
            "HTTP 503 Service Unavailable after 3 attempts"
        );
        let timeout = FetchFault::Timeout {
            after_ms: 10_000,
            attempts: 1,
        };
        assert_eq!(timeout.english(), "no answer within 10 s");
        let fault = SourceFault::RobotsUnread {
            host: "example.com".into(),
            why: timeout.after(2),
        };
        assert!(
            fault
                .english()
                .starts_with("robots.txt of example.com could not be read (no answer within 10 s after 2 attempts); like Google")
        );
        let json = serde_json::to_value(JobFault::Source { fault }).unwrap();
        assert_eq!(json["code"], "source");
        assert_eq!(json["fault"]["code"], "robots_unread");
        assert_eq!(json["fault"]["why"]["code"], "timeout");
        let blocked = Blocked::Address {
            what: Target::RedirectTo {
                url: "http://10.0.0.5/".into(),
            },
            kind: AddressKind::Private,
            ip: "10.0.0.5".into(),
        };
        assert_eq!(
            blocked.english(),
            "a redirect to http://10.0.0.5/ points at a private address (10.0.0.5), which \
             searches may not read; an admin can allow it with scrape.allow_private_addresses"
        );
    }
}
