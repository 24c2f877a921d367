//! Why a message was not sent and what a search is doing, as codes with parameters: events carry
//! them beside their English sentence, so each page words them in its reader's language
//! (`i18n::faults`) and scripts can tell cases apart without parsing text.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Why the provider did not take a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum SendFault {
    /// The built-in demo provider's refusal (numbers ending in 13).
    NotOnWhatsapp,
    /// No answer within the provider timeout.
    ProviderTimeout,
    /// No connection to the provider.
    ProviderUnreachable,
    /// The request broke off for another reason (the details are in the server's log).
    ProviderRequestFailed,
    /// An HTTP status without an explanation in the body.
    ProviderStatus { status: u16 },
    /// The provider's own words, shown as they came.
    ProviderSaid { text: String },
    /// Transient failures until the attempts ran out; `last` is the last one.
    GaveUp { attempts: u32, last: Box<SendFault> },
    /// In flight when its runner stopped, with a provider that cannot de-duplicate.
    InFlightWhenStopped,
    /// A gateway's own error code; `said` is the gateway's words (shown for codes without ours).
    GatewayCode {
        gateway: Gateway,
        error_code: i64,
        said: String,
    },
    /// A job's sender that cannot send: turned off or deleted since, or its secrets do not open
    /// with this server's `secret_key`.
    SenderUnusable { name: String },
    /// What the gateway itself says of the sender (`state` and `quality` in the gateway's own
    /// words, such as Cloud API `RESTRICTED` and `RED`, or Twilio `suspended`).
    ProviderState {
        gateway: Gateway,
        state: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        quality: Option<String>,
    },
}

/// The messaging gateways jobpulse speaks to with their own APIs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gateway {
    WhatsappCloud,
    Twilio,
    Wablas,
}

/// Wablas answers refusals in words, never numbers: the conditions jobpulse recognises in them,
/// numbered here so they travel as `GatewayCode`s like other gateways' codes. The numbers are
/// stored with items, so they never change meaning.
pub mod wablas_code {
    /// Words jobpulse does not recognise (the fault's `said` keeps them).
    pub const UNRECOGNISED: i64 = 0;
    pub const DEVICE_DISCONNECTED: i64 = 1;
    pub const QUOTA_USED_UP: i64 = 2;
    pub const RATE_LIMITED: i64 = 3;
    pub const TOKEN_REFUSED: i64 = 4;
    pub const DEVICE_EXPIRED: i64 = 5;
    pub const INVALID_PHONE: i64 = 6;
    pub const NOT_ON_WHATSAPP: i64 = 7;
}

impl Gateway {
    /// The gateway's name, as its users know it.
    pub fn name(self) -> &'static str {
        match self {
            Gateway::WhatsappCloud => "WhatsApp Cloud API",
            Gateway::Twilio => "Twilio",
            Gateway::Wablas => "Wablas",
        }
    }

    /// Whether `error_code` is the gateway's own number, worth showing to look it up; Wablas's
    /// are jobpulse's (`wablas_code`), so its own words are shown instead.
    pub fn numbers_its_errors(self) -> bool {
        !matches!(self, Gateway::Wablas)
    }

    /// What a known error code means, in English.
    pub fn english(self, code: i64) -> Option<&'static str> {
        Some(match (self, code) {
            (Gateway::WhatsappCloud, 130429) => "the Cloud API's throughput limit was reached",
            (Gateway::WhatsappCloud, 131056) => {
                "too many messages to this number in a short time (pair rate limit)"
            }
            (Gateway::WhatsappCloud, 131048) => {
                "spam rate limit: too many recent messages were blocked or reported"
            }
            (Gateway::WhatsappCloud, 4 | 80007) => "the business account's rate limit was reached",
            (Gateway::WhatsappCloud, 131026) => {
                "WhatsApp could not deliver it (the number may not use WhatsApp, or its app is \
                 out of date)"
            }
            (Gateway::WhatsappCloud, 131047) => {
                "more than 24 hours since the recipient last wrote: only a template message may \
                 be sent"
            }
            (Gateway::WhatsappCloud, 131051) => "this kind of message is not supported",
            (Gateway::WhatsappCloud, 131057) => "the business account is in maintenance mode",
            (Gateway::WhatsappCloud, 131021) => "the recipient is the sender's own number",
            (Gateway::WhatsappCloud, 190) => "the access token has expired or is not valid",
            (Gateway::WhatsappCloud, 133010) => {
                "the sender's phone number is not registered on the Cloud API"
            }
            (Gateway::WhatsappCloud, 368) => {
                "the sender is temporarily blocked for breaking WhatsApp's policies"
            }
            (Gateway::WhatsappCloud, 1 | 2 | 131000 | 131016) => "WhatsApp had a temporary problem",
            (Gateway::Twilio, 20003) => "Twilio refused the account SID or auth token",
            (Gateway::Twilio, 20429) => "too many requests to Twilio at once",
            (Gateway::Twilio, 30001) => {
                "the sender's queue overflowed: messages came faster than it can send them"
            }
            (Gateway::Twilio, 63018) => "the WhatsApp sender's rate limit was reached",
            (Gateway::Twilio, 21610) => "the recipient has unsubscribed (replied STOP)",
            (Gateway::Twilio, 21211) => "the number is not a valid phone number",
            (Gateway::Twilio, 21614) => "the number is not a mobile number",
            (Gateway::Twilio, 21408) => {
                "the Twilio account may not send to this number's country or region"
            }
            (Gateway::Twilio, 30003) => {
                "the recipient's phone is unreachable (switched off or without signal)"
            }
            (Gateway::Twilio, 30005) => "the number is unknown or no longer in service",
            (Gateway::Twilio, 30006) => {
                "the number is a landline or its carrier cannot receive messages"
            }
            (Gateway::Twilio, 30007) => {
                "the carrier or Twilio filtered the message (spam or fraud filter)"
            }
            (Gateway::Twilio, 63016) => {
                "more than 24 hours since the recipient last wrote on WhatsApp: only a template \
                 message may be sent"
            }
            (Gateway::Wablas, wablas_code::DEVICE_DISCONNECTED) => {
                "the Wablas device is not connected to WhatsApp (its QR code must be scanned again)"
            }
            (Gateway::Wablas, wablas_code::QUOTA_USED_UP) => {
                "the Wablas device's message quota is used up"
            }
            (Gateway::Wablas, wablas_code::RATE_LIMITED) => "Wablas's sending limit was reached",
            (Gateway::Wablas, wablas_code::TOKEN_REFUSED) => {
                "Wablas refused the token or secret key"
            }
            (Gateway::Wablas, wablas_code::DEVICE_EXPIRED) => {
                "the Wablas device's subscription has expired"
            }
            (Gateway::Wablas, wablas_code::INVALID_PHONE) => {
                "the number is not a valid phone number"
            }
            (Gateway::Wablas, wablas_code::NOT_ON_WHATSAPP) => {
                "the number is not registered on WhatsApp"
            }
            _ => return None,
        })
    }
}

impl SendFault {
    /// The failure's class (`GET /jobs/{id}/failures`, `retry-failed {"errors"}`): what went
    /// wrong without what differs from one recipient to the next, so one reason is one group. A
    /// retried-until-given-up failure is of its last attempt's class.
    pub fn class(&self) -> String {
        let gateway = |g: &Gateway| match g {
            Gateway::WhatsappCloud => "whatsapp_cloud",
            Gateway::Twilio => "twilio",
            Gateway::Wablas => "wablas",
        };
        match self {
            SendFault::NotOnWhatsapp => "not_on_whatsapp".into(),
            SendFault::ProviderTimeout => "provider_timeout".into(),
            SendFault::ProviderUnreachable => "provider_unreachable".into(),
            SendFault::ProviderRequestFailed => "provider_request_failed".into(),
            SendFault::ProviderStatus { status } => format!("provider_status_{status}"),
            SendFault::ProviderSaid { .. } => "provider_said".into(),
            SendFault::GaveUp { last, .. } => last.class(),
            SendFault::InFlightWhenStopped => "in_flight_when_stopped".into(),
            SendFault::GatewayCode {
                gateway: g,
                error_code,
                ..
            } => format!("{}_{error_code}", gateway(g)),
            SendFault::SenderUnusable { .. } => "sender_unusable".into(),
            SendFault::ProviderState {
                gateway: g, state, ..
            } => {
                format!("{}_state_{}", gateway(g), state.to_ascii_lowercase())
            }
        }
    }

    /// The fault in English: the `error` text of events, items and REST answers.
    pub fn english(&self) -> String {
        match self {
            SendFault::NotOnWhatsapp => "recipient not on WhatsApp".into(),
            SendFault::ProviderTimeout => "provider timed out".into(),
            SendFault::ProviderUnreachable => "cannot connect to the provider".into(),
            SendFault::ProviderRequestFailed => "provider request failed".into(),
            SendFault::ProviderStatus { status } => format!("provider answered {status}"),
            SendFault::ProviderSaid { text } => text.clone(),
            SendFault::GaveUp { attempts, last } => {
                format!("{} (gave up after {attempts} attempts)", last.english())
            }
            SendFault::InFlightWhenStopped => {
                "in flight when its runner stopped; not re-sent automatically".into()
            }
            SendFault::GatewayCode {
                gateway,
                error_code,
                said,
            } => match (gateway.english(*error_code), gateway.numbers_its_errors()) {
                (Some(words), true) => format!("{words} ({} error {error_code})", gateway.name()),
                (None, true) => {
                    format!("{} refused it (error {error_code}): {said}", gateway.name())
                }
                (Some(words), false) => format!("{words} ({}: “{said}”)", gateway.name()),
                (None, false) => format!("{} refused it: “{said}”", gateway.name()),
            },
            SendFault::SenderUnusable { name } => format!(
                "the sender \"{name}\" cannot send: it was turned off or deleted, or its secrets do not open with this server's secret_key"
            ),
            SendFault::ProviderState {
                gateway,
                state,
                quality,
            } => match quality {
                Some(quality) => format!(
                    "{} reports the sender as {state} (quality rating {quality})",
                    gateway.name()
                ),
                None => format!("{} reports the sender as {state}", gateway.name()),
            },
        }
    }
}

/// Why a request got no usable answer: the technical part of a page that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum FetchFault {
    /// The answer's status; `reason` is HTTP's own phrase for it ("Service Unavailable").
    Status {
        status: u16,
        reason: String,
        attempts: u32,
    },
    Timeout {
        after_ms: u64,
        attempts: u32,
    },
    /// `site` is the host the connection was for; `cause` is the system's words.
    CouldNotConnect {
        site: Option<String>,
        cause: String,
        attempts: u32,
    },
    ConnectionFailed {
        cause: String,
        attempts: u32,
    },
    TooManyRedirects,
    TooLarge {
        max_bytes: u64,
    },
    RequestNotMade {
        cause: String,
    },
    /// A dataset page that is not a JSON array of items.
    NotItems {
        detail: String,
    },
}

/// " after 3 attempts", or nothing for one.
fn after_attempts(attempts: u32) -> String {
    if attempts > 1 {
        format!(" after {attempts} attempts")
    } else {
        String::new()
    }
}

impl FetchFault {
    /// The same fault, counted as the last of `attempts` requests.
    pub fn after(self, attempts: u32) -> FetchFault {
        match self {
            FetchFault::Status { status, reason, .. } => FetchFault::Status {
                status,
                reason,
                attempts,
            },
            FetchFault::Timeout { after_ms, .. } => FetchFault::Timeout { after_ms, attempts },
            FetchFault::CouldNotConnect { site, cause, .. } => FetchFault::CouldNotConnect {
                site,
                cause,
                attempts,
            },
            FetchFault::ConnectionFailed { cause, .. } => {
                FetchFault::ConnectionFailed { cause, attempts }
            }
            other => other,
        }
    }

    /// How many requests were made (1 where retrying could not help).
    pub fn attempts(&self) -> u32 {
        match self {
            FetchFault::Status { attempts, .. }
            | FetchFault::Timeout { attempts, .. }
            | FetchFault::CouldNotConnect { attempts, .. }
            | FetchFault::ConnectionFailed { attempts, .. } => *attempts,
            _ => 1,
        }
    }

    /// "HTTP 503 Service Unavailable after 3 attempts", "no answer within 10 s".
    pub fn english(&self) -> String {
        let base = match self {
            FetchFault::Status { status, reason, .. } => {
                format!("HTTP {status} {reason}").trim_end().to_owned()
            }
            FetchFault::Timeout { after_ms, .. } => format!(
                "no answer within {}",
                human_duration(Duration::from_millis(*after_ms))
            ),
            FetchFault::CouldNotConnect { site, cause, .. } => format!(
                "could not connect to {} ({cause})",
                site.as_deref().unwrap_or("the site")
            ),
            FetchFault::ConnectionFailed { cause, .. } => {
                format!("the connection failed ({cause})")
            }
            FetchFault::TooManyRedirects => "too many redirects".into(),
            FetchFault::TooLarge { max_bytes } => format!(
                "the answer is larger than {}, more than jobpulse reads",
                human_size(*max_bytes as usize)
            ),
            FetchFault::RequestNotMade { cause } => {
                format!("the request could not be made: {cause}")
            }
            FetchFault::NotItems { detail } => {
                format!("the dataset page was not a JSON array of items ({detail})")
            }
        };
        format!("{base}{}", after_attempts(self.attempts()))
    }
}

/// What a search is doing, for its `stage` events (and how it ended, for `job_completed`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum StageNote {
    CheckingSource,
    /// The source's account of a step.
    Source {
        note: SourceNote,
    },
    /// A batch was read: `said` is the source's account of it.
    Searched {
        said: SourceNote,
        new: u64,
        found: u64,
        target: u64,
    },
    /// The source had nothing more before the target.
    RanOut {
        found: u64,
        target: u64,
    },
    TargetReached {
        found: u64,
    },
}

impl StageNote {
    /// The note in English: the event's `message`.
    pub fn english(&self) -> String {
        match self {
            StageNote::CheckingSource => "Checking the source".into(),
            StageNote::Source { note } => note.english(),
            StageNote::Searched {
                said,
                new,
                found,
                target,
            } => format!("{}: {new} new, {found} of {target} so far", said.english()),
            StageNote::RanOut { found, target } => {
                format!("The source ran out after {found} of the {target} results asked for")
            }
            StageNote::TargetReached { found } => format!("Target reached: {found} results"),
        }
    }
}

/// What a source says of a step of its search. `answer` and `error` fields are the technical
/// part (an HTTP status, a timeout) as the reader of the page would look it up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum SourceNote {
    /// The site's robots.txt allows the search for `agent`.
    RobotsAllow {
        host: String,
        agent: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        crawl_delay_ms: Option<u64>,
    },
    /// The site has no robots.txt (a 4xx answer): no rules.
    NoRobots {
        host: String,
        answer: String,
    },
    FirstPage {
        keyword: String,
        answer: String,
        bytes: u64,
    },
    FirstPageUnread {
        keyword: String,
        error: String,
        /// `error` as a code, so a page words it in its reader's language.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fault: Option<FetchFault>,
    },
    /// A results page was read; `next` says whether the keyword goes on.
    Page {
        page: u32,
        keyword: String,
        results: u64,
        /// Items without a link, left out.
        skipped: u64,
        next: NextPage,
    },
    PageUnread {
        page: u32,
        keyword: String,
        error: String,
        more_keywords: bool,
        /// `error` as a code, so a page words it in its reader's language.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fault: Option<FetchFault>,
    },
    /// A keyword was not searched at all.
    Skipped {
        keyword: String,
        why: SkipReason,
    },
    NothingToRead,
    NothingToAnalyze,
    ActorAvailable {
        name: String,
    },
    RunStarted {
        run: String,
        status: String,
    },
    RunSucceeded {
        run: String,
    },
    /// Dataset items `first` to `last` (counting from 1) were read.
    DatasetItems {
        first: u64,
        last: u64,
        results: u64,
        skipped: u64,
        url_field: String,
    },
    DatasetUnread {
        first: u64,
        error: String,
        /// `error` as a code, so a page words it in its reader's language.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fault: Option<FetchFault>,
    },
}

/// Whether a keyword's search goes on to another page after this one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum NextPage {
    /// The page has no next link.
    None,
    Follows,
    LoopsBack,
    MaxPages {
        max: u32,
    },
    OtherSite {
        site: String,
    },
    RobotsDisallow {
        path: String,
    },
}

/// Why a keyword was not searched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum SkipReason {
    BadUrl {
        error: String,
    },
    RobotsDisallow {
        site: String,
        path: String,
        agent: String,
    },
    OtherSite {
        site: String,
    },
}

/// "1 result", "20 results".
fn results_count(count: u64) -> String {
    match count {
        1 => "1 result".into(),
        n => format!("{n} results"),
    }
}

impl SourceNote {
    /// The note in English, as the job's log has always said it.
    pub fn english(&self) -> String {
        match self {
            SourceNote::RobotsAllow {
                host,
                agent,
                crawl_delay_ms,
            } => {
                let mut note = format!("robots.txt of {host} allows the search for {agent}");
                if let Some(ms) = crawl_delay_ms {
                    note.push_str(&format!(
                        "; its Crawl-delay keeps {} between requests",
                        human_duration(Duration::from_millis(*ms))
                    ));
                }
                note
            }
            SourceNote::NoRobots { host, answer } => {
                format!("{host} has no robots.txt ({answer}): no crawl rules")
            }
            SourceNote::FirstPage {
                keyword,
                answer,
                bytes,
            } => format!(
                "Read the first page for “{keyword}” ({answer}, {})",
                human_size(*bytes as usize)
            ),
            SourceNote::FirstPageUnread { keyword, error, .. } => {
                format!("Could not read the first page for “{keyword}”: {error}")
            }
            SourceNote::Page {
                page,
                keyword,
                results,
                skipped,
                next,
            } => {
                let mut note = format!("Page {page} for “{keyword}”: {}", results_count(*results));
                match skipped {
                    0 => {}
                    1 => note.push_str(" (1 item without a link skipped)"),
                    n => note.push_str(&format!(" ({n} items without a link skipped)")),
                }
                note.push_str(&match next {
                    NextPage::None => String::new(),
                    NextPage::Follows => ", a next page".into(),
                    NextPage::LoopsBack => format!(
                        "; its next link leads back to a page already read, so “{keyword}” ends here"
                    ),
                    NextPage::MaxPages { max } => {
                        format!("; “{keyword}” stops at max_pages ({max})")
                    }
                    NextPage::OtherSite { site } => format!(
                        "; the next page is on another site ({site}), so “{keyword}” ends here"
                    ),
                    NextPage::RobotsDisallow { path } => format!(
                        "; robots.txt does not allow the next page ({path}), so “{keyword}” ends here"
                    ),
                });
                note
            }
            SourceNote::PageUnread {
                page,
                keyword,
                error,
                more_keywords,
                ..
            } => format!(
                "Page {page} for “{keyword}” could not be read: {error}; {}",
                if *more_keywords {
                    "going on with the next keyword"
                } else {
                    "no keywords left"
                }
            ),
            SourceNote::Skipped { keyword, why } => match why {
                SkipReason::BadUrl { error } => format!("Skipped “{keyword}”: {error}"),
                SkipReason::RobotsDisallow { site, path, agent } => format!(
                    "Skipped “{keyword}”: robots.txt of {site} does not allow {path} for user agent {agent}"
                ),
                SkipReason::OtherSite { site } => {
                    format!("Skipped “{keyword}”: its search is on another site ({site})")
                }
            },
            SourceNote::NothingToRead => "Nothing to read".into(),
            SourceNote::NothingToAnalyze => "Nothing to analyze".into(),
            SourceNote::ActorAvailable { name } => format!("Apify actor {name} is available"),
            SourceNote::RunStarted { run, status } => {
                format!("Started Apify run {run} ({status})")
            }
            SourceNote::RunSucceeded { run } => format!("Apify run {run} SUCCEEDED"),
            SourceNote::DatasetItems {
                first,
                last,
                results,
                skipped,
                url_field,
            } => {
                let mut note = format!("Dataset items {first}–{last}: {}", results_count(*results));
                if *skipped > 0 {
                    note.push_str(&format!(
                        " ({skipped} without a usable “{url_field}” skipped)"
                    ));
                }
                note
            }
            SourceNote::DatasetUnread { first, error, .. } => {
                format!("Dataset items from {first} could not be read: {error}; stopping there")
            }
        }
    }
}

/// "300 ms", "10 s", "1.5 s".
pub fn human_duration(duration: Duration) -> String {
    let ms = duration.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms.is_multiple_of(1000) {
        format!("{} s", ms / 1000)
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

/// "812 B", "14 KB", "2 MB".
pub fn human_size(bytes: usize) -> String {
    if bytes < 1024 {
        format!("{bytes} B")
    } else if bytes < 1024 * 1024 {
        format!("{} KB", bytes.div_ceil(1024))
    } else {
        format!("{} MB", bytes.div_ceil(1024 * 1024))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_travel_with_their_parameters() {
        let fault = SendFault::GaveUp {
            attempts: 3,
            last: Box::new(SendFault::ProviderStatus { status: 503 }),
        };
        let json = serde_json::to_value(&fault).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": "gave_up", "attempts": 3, "last": {"code": "provider_status", "status": 503}})
        );
        assert_eq!(serde_json::from_value::<SendFault>(json).unwrap(), fault);
        assert_eq!(
            fault.english(),
            "provider answered 503 (gave up after 3 attempts)"
        );
    }
}
