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
    Sender,
    /// A device number a bulk send does not have.
    Device,
    /// A number that is not on the opt-out list.
    OptOut,
    /// An outgoing webhook.
    Hook,
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
    /// The number asked not to be written to (it replied STOP, or an admin listed it).
    OptedOut {
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
    /// `senders` names an id that is not one of the tenant's senders.
    UnknownSender {
        id: String,
    },
    /// `senders` names a sender that is turned off.
    SenderOff {
        name: String,
    },
    NameTooLong {
        chars: u64,
        max: u64,
    },
    Tags {
        problem: TagRule,
    },
}

/// Why the tags of a send or a campaign cannot be kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "tag_rule", rename_all = "snake_case")]
pub enum TagRule {
    TooMany {
        count: u64,
        max: u64,
    },
    /// `tags[index]` is too long.
    TooLong {
        index: usize,
        max: u64,
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

/// What kind of address a search may not read (without `scrape.allow_private_addresses`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressKind {
    Loopback,
    Private,
    LinkLocal,
    Unspecified,
    Broadcast,
    CarrierGradeNat,
}

impl AddressKind {
    /// "a loopback", as the English sentences say it before "address".
    pub fn english(self) -> &'static str {
        match self {
            AddressKind::Loopback => "a loopback",
            AddressKind::Private => "a private",
            AddressKind::LinkLocal => "a link-local",
            AddressKind::Unspecified => "an unspecified",
            AddressKind::Broadcast => "a broadcast",
            AddressKind::CarrierGradeNat => "a carrier-grade NAT",
        }
    }
}

/// What is wrong with a CSS selector of a source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum SelectorIssue {
    EndsEarly,
    UnexpectedToken,
    Empty,
    DanglingCombinator,
    UnsupportedPseudo,
    /// The parser's own words.
    Other {
        text: String,
    },
}

/// Why a source's settings cannot be used; `field` names the setting (`search_url`,
/// `item_selector`, `base_url`, `url_field`…) as the API spells it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source_rule", rename_all = "snake_case")]
pub enum SourceRule {
    /// The search URL has no `{keyword}`.
    NoPlaceholder {
        value: String,
    },
    /// `error` is the URL parser's own (technical) words.
    NotAUrl {
        field: String,
        value: String,
        error: String,
    },
    NotHttp {
        field: String,
        value: String,
    },
    NoHost {
        field: String,
        value: String,
    },
    BadSelector {
        field: String,
        css: String,
        issue: SelectorIssue,
    },
    DelayTooLong {
        got: u64,
        max: u64,
    },
    MaxPagesOutOfRange {
        got: u32,
        max: u32,
    },
    /// The Apify actor is not `id` or `username~name`.
    BadActor {
        actor: String,
    },
    /// The dataset field that holds each result's URL is empty.
    UrlFieldEmpty,
    /// An optional dataset field was given empty.
    FieldEmpty {
        field: String,
    },
    InputNotObject,
    /// The setting points at an address searches may not read.
    PrivateAddress {
        field: String,
        value: String,
        kind: AddressKind,
        ip: String,
    },
}

impl SelectorIssue {
    /// What is wrong, in English, as "it ends too early…".
    pub fn english(&self) -> &str {
        match self {
            SelectorIssue::EndsEarly => {
                "it ends too early (is a bracket or a parenthesis left open?)"
            }
            SelectorIssue::UnexpectedToken => "it has a character where none fits",
            SelectorIssue::Empty => "it is empty",
            SelectorIssue::DanglingCombinator => "it ends with a combinator (>, + or ~)",
            SelectorIssue::UnsupportedPseudo => {
                "it uses a pseudo-class or pseudo-element that is unknown or cannot match a \
                 fetched page (such as :hover)"
            }
            SelectorIssue::Other { text } => text,
        }
    }
}

impl SourceRule {
    /// The rule in English: REST's `detail`, and a search's failure when the settings broke later.
    pub fn english(&self) -> String {
        match self {
            SourceRule::NoPlaceholder { value } => format!(
                "search_url “{value}” has no {{keyword}}: put it where the search term goes, \
                 as in https://example.com/search?q={{keyword}}"
            ),
            SourceRule::NotAUrl {
                field,
                value,
                error,
            } => format!("{field} “{value}” is not a valid URL: {error}"),
            SourceRule::NotHttp { field, value } => {
                format!("{field} “{value}” must start with http:// or https://")
            }
            SourceRule::NoHost { field, value } => format!("{field} “{value}” has no host"),
            SourceRule::BadSelector { field, css, issue } => format!(
                "{field} “{css}” is not a valid CSS selector: {}",
                issue.english()
            ),
            SourceRule::DelayTooLong { got, max } => {
                format!("delay_ms is {got}, but at most {max} (one minute) is allowed")
            }
            SourceRule::MaxPagesOutOfRange { got, max } => {
                format!("max_pages is {got}, but it must be between 1 and {max}")
            }
            SourceRule::BadActor { actor } => format!(
                "actor “{actor}” should be an actor id or username~actor-name (as in apify~web-scraper)"
            ),
            SourceRule::UrlFieldEmpty => {
                "url_field is empty: name the dataset field that holds each result's URL".into()
            }
            SourceRule::FieldEmpty { field } => {
                format!("{field} is empty: leave it out or name a dataset field")
            }
            SourceRule::InputNotObject => {
                "input must be a JSON object: the actor's input, as in {\"keywords\": [\"rust\"]}"
                    .into()
            }
            SourceRule::PrivateAddress {
                field,
                value,
                kind,
                ip,
            } => format!(
                "{field} “{value}” points at {} address ({ip}), which searches may not read; an \
                 admin can allow it with scrape.allow_private_addresses",
                kind.english()
            ),
        }
    }
}

/// Why a campaign cannot be taken as it is (the source's own settings aside).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum CampaignRule {
    Tags {
        problem: TagRule,
    },
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
    /// The source's own settings.
    Source {
        #[serde(flatten)]
        source: SourceRule,
    },
}

/// What a request's JSON body was meant to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyKind {
    ExternalJob,
    ProgressReport,
    ItemBatch,
    FailureReport,
    Sender,
    SenderChange,
    OptOut,
    Campaign,
    BulkSend,
    BulkAction,
    Hook,
}

/// Why a REST request cannot be read or taken as it is (code `invalid`). `detail` fields are a
/// parser's own technical words. Pages never receive these (their forms are checked by their own
/// rules), so they are not `Problem`s: the browser does not carry their decoding or words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "request_rule", rename_all = "snake_case")]
pub enum RequestRule {
    ContentType,
    BodyUnreadable,
    NotJson {
        detail: String,
    },
    BodyShape {
        body: BodyKind,
        detail: String,
    },
    /// retry-failed's optional body.
    RetryBody {
        detail: String,
    },
    Query {
        detail: String,
    },
    Limit {
        got: u32,
        max: u32,
    },
    /// A query parameter that is not one of `choices`.
    Choice {
        name: String,
        value: String,
        choices: String,
    },
    Format {
        got: String,
    },
    OffsetTooFar {
        offset: u64,
    },
    BothSeqs,
    /// A time filter that is neither RFC 3339 nor a day.
    Timestamp {
        name: String,
        value: String,
    },
    /// `before` is not the id of a job.
    Cursor {
        value: String,
    },
    /// `before` is not the id of an entry of the list (a hook's delivery, an audit entry).
    EntryCursor {
        value: String,
    },
    /// `POST /jobs/bulk-action` names no filter: acting on every job takes `"filter": {}`.
    NoFilter,
    /// `field` holds a NUL character.
    Nul {
        field: String,
    },
    Csv {
        detail: String,
    },
    /// An outside worker's job request whose `kind` is not `external`.
    NotExternal {
        kind: String,
    },
    TotalTooLarge {
        got: u64,
        max: u64,
    },
    TooManyStages {
        got: u64,
        max: u64,
    },
    StageTwice {
        stage: String,
    },
    UnknownStage {
        stage: String,
        stages: Vec<String>,
    },
    MessageTooLong {
        max: u64,
    },
    ProcessedOverTotal {
        processed: u64,
        total: u64,
    },
    NoItems,
    TooManyItems {
        got: u64,
        max: u64,
    },
    /// `items[index].key` is empty or longer than 2,048 characters.
    ItemKey {
        index: usize,
    },
    ItemStatus {
        index: usize,
        got: String,
    },
    ItemData {
        index: usize,
    },
    /// A number given to the opt-out list that is not one.
    OptOutPhone {
        phone: String,
        issue: PhoneIssue,
    },
    /// A number looked up (`GET /recipients/{phone}`) that is not one.
    Phone {
        phone: String,
        issue: PhoneIssue,
    },
}

/// Why a sender cannot be created or changed as asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "sender_rule", rename_all = "snake_case")]
pub enum SenderRule {
    NameEmpty,
    NameTooLong {
        max: u32,
    },
    NameTaken {
        name: String,
    },
    UnknownProvider {
        got: String,
    },
    RateOutOfRange {
        got: u64,
        max: u32,
    },
    /// The rate typed in the form is not a whole number.
    RateNotANumber {
        got: String,
    },
    /// `config` is not a JSON object.
    ConfigNotObject,
    /// A setting this provider does not take.
    UnknownField {
        field: String,
    },
    MissingField {
        field: String,
    },
    /// A setting that is not text.
    NotText {
        field: String,
    },
    /// A setting that should be an http(s) address.
    NotUrl {
        field: String,
        value: String,
    },
    /// An address on the server's own network, which senders may not reach.
    PrivateAddress {
        field: String,
        value: String,
    },
    /// Twilio needs exactly one of `from` and `messaging_service_sid`.
    TwilioFrom,
}

/// Why an outgoing webhook cannot be added as asked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "hook_rule", rename_all = "snake_case")]
pub enum HookRule {
    UrlEmpty,
    UrlTooLong {
        max: u32,
    },
    /// Not an http(s) address.
    NotUrl {
        value: String,
    },
    /// An address on the server's own network, which hooks may not call.
    PrivateAddress {
        value: String,
    },
    NoEvents,
    UnknownEvent {
        got: String,
    },
    /// The tenant has as many hooks as it may.
    TooMany {
        max: u32,
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
    /// A form field holds a NUL character, which cannot be stored.
    NulCharacter {
        field: String,
    },
    /// The request's body broke off before it was read.
    BodyUnreadable,
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
    /// A sender that cannot be created or changed as asked.
    InvalidSender {
        #[serde(flatten)]
        rule: SenderRule,
    },
    /// An outgoing webhook that cannot be added as asked.
    InvalidHook {
        #[serde(flatten)]
        rule: HookRule,
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
            Problem::NulCharacter { .. } | Problem::BodyUnreadable => "invalid",
            Problem::InvalidBulkSend { .. } => "invalid_bulk_send",
            Problem::InvalidAccount { .. } => "invalid_account",
            Problem::InvalidCampaign { .. } => "invalid_campaign",
            Problem::InvalidSender { .. } => "invalid_sender",
            Problem::InvalidHook { .. } => "invalid_hook",
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
