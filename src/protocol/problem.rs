//! What can go wrong, as a closed set of codes with their parameters: the error of every server
//! function and the `code` of every REST error body. People read it worded by the i18n tables in
//! their language; scripts match on the code.

use serde::{Deserialize, Serialize};

use super::lifecycle::Refusal;

/// Something of the tenant's that a request named.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Thing {
    Job,
    Campaign,
    User,
    Token,
    /// An API route that does not exist.
    Endpoint,
}

/// Why a known caller may not do something.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Denial {
    /// A viewer tried to start or change work.
    WatchOnly,
    /// Someone other than an admin tried to manage users or tokens.
    AdminsOnly,
    /// A session cookie came with a request from another site.
    CrossSite,
    /// A page's form came without the session's CSRF token.
    NoCsrfToken,
}

/// Why one phone entry is not a number to send to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "issue", rename_all = "snake_case")]
pub enum PhoneIssue {
    Empty,
    NotANumber,
    /// No `+country` and no default region is set.
    NeedsCountryCode,
    NotValidForCountry,
    /// The same number as an earlier entry (`entry` counts from 1).
    Duplicate {
        entry: usize,
        e164: String,
    },
}

/// Why a bulk send cannot be taken as it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum BulkRule {
    MessageEmpty,
    MessageTooLong {
        chars: u64,
        max: u64,
    },
    /// `got` as typed (the form's field may not even be a number).
    DevicesOutOfRange {
        got: String,
        max: u32,
    },
    NoPhones,
    TooManyPhones {
        count: u64,
        max: u64,
    },
    IdempotencyKeyLength {
        max: u64,
    },
    SomePhonesInvalid {
        invalid: u64,
        total: u64,
    },
    NoValidPhones {
        total: u64,
    },
}

/// Why an account change (a user, an API token) cannot be made as asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum AccountRule {
    TokenName { max: u32 },
    Username { max: u32 },
    PasswordTooShort { min: u32 },
    UnknownRole,
    UsernameTaken { username: String },
    OwnAdminRole,
    RemoveYourself,
}

/// A field of a campaign (or an outside worker's job) that people fill in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignField {
    Name,
    Platform,
    /// `stages[index]` of an outside worker's job.
    Stage {
        index: usize,
    },
    /// The campaign form's pause between pages.
    DelayMs,
    /// The campaign form's pages per keyword.
    MaxPages,
    /// The error an outside worker ends its job with.
    Error,
}

/// Why a campaign cannot be taken as it is (the source's own settings aside).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum CampaignRule {
    Empty {
        field: CampaignField,
    },
    TooLong {
        field: CampaignField,
        chars: u64,
        max: u64,
    },
    /// `keywords[index]` is blank.
    KeywordEmpty {
        index: usize,
    },
    KeywordTooLong {
        index: usize,
        max: u64,
    },
    NoKeywords,
    TooManyKeywords {
        count: u64,
        max: u64,
    },
    /// `got` as typed (the form's field may not even be a number).
    TargetOutOfRange {
        got: String,
        max: u64,
    },
    NotANumber {
        field: CampaignField,
        got: String,
    },
    UnknownSource {
        got: String,
    },
    /// A search of the campaign has not ended yet (a 409): wait, resume or cancel it first.
    StillSearching {
        paused: bool,
    },
}

/// An error answer: a code and its parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Problem {
    /// A page's session has ended (or never began): log in again.
    SessionEnded,
    /// A REST call without a session or a usable API token.
    Unauthorized,
    WrongPassword,
    /// A worker report without its job's worker token.
    WrongWorker,
    NotFound {
        thing: Thing,
    },
    Forbidden {
        denial: Denial,
    },
    /// A command that does not fit the job's state.
    Refused {
        refusal: Refusal,
    },
    /// Input a person has to fix; `detail` says what.
    Invalid {
        detail: String,
    },
    /// A bulk send that breaks one of its rules.
    InvalidBulkSend {
        #[serde(flatten)]
        rule: BulkRule,
    },
    /// A campaign that breaks one of its rules.
    InvalidCampaign {
        #[serde(flatten)]
        rule: CampaignRule,
    },
    /// A user or token that cannot be created or changed as asked.
    InvalidAccount {
        #[serde(flatten)]
        rule: AccountRule,
    },
    /// A request the state of things does not allow; `detail` says why.
    Conflict {
        detail: String,
    },
    TooManyRequests {
        seconds: u64,
    },
    TooManyLogins {
        seconds: u64,
    },
    /// Every password check is taken.
    Busy,
    TooLarge {
        kib: u64,
    },
    SlowBody,
    /// The database is not answering.
    Unavailable,
    /// The browser could not reach the server.
    Network,
    /// The framework's own failure on the way (a broken request or answer).
    Other {
        detail: String,
    },
}

impl Problem {
    /// The stable code scripts match on (`code` in REST error bodies).
    pub fn code(&self) -> &'static str {
        match self {
            Problem::SessionEnded => "session_ended",
            Problem::Unauthorized => "unauthorized",
            Problem::WrongPassword => "wrong_password",
            Problem::WrongWorker => "wrong_worker",
            Problem::NotFound { .. } => "not_found",
            Problem::Forbidden { .. } => "forbidden",
            Problem::Refused { refusal } => refusal.code(),
            Problem::Invalid { .. } => "invalid",
            Problem::InvalidBulkSend { .. } => "invalid_bulk_send",
            Problem::InvalidAccount { .. } => "invalid_account",
            Problem::InvalidCampaign { .. } => "invalid_campaign",
            Problem::Conflict { .. } => "conflict",
            Problem::TooManyRequests { .. } => "too_many_requests",
            Problem::TooManyLogins { .. } => "too_many_logins",
            Problem::Busy => "busy",
            Problem::TooLarge { .. } => "too_large",
            Problem::SlowBody => "slow_body",
            Problem::Unavailable => "unavailable",
            Problem::Network => "network",
            Problem::Other { .. } => "other",
        }
    }

    /// True when the reader has to log in (again) to go on.
    pub fn needs_login(&self) -> bool {
        matches!(self, Problem::SessionEnded | Problem::Unauthorized)
    }
}

impl From<Refusal> for Problem {
    fn from(refusal: Refusal) -> Problem {
        Problem::Refused { refusal }
    }
}

impl leptos::server_fn::error::FromServerFnError for Problem {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        use leptos::server_fn::error::ServerFnErrorErr;
        match value {
            ServerFnErrorErr::Request(_) => Problem::Network,
            other => Problem::Other {
                detail: other.to_string(),
            },
        }
    }
}
