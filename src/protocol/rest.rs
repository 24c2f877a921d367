//! REST bodies of CONTRACT.md (and its additions).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{ItemStatus, JobId, JobView, ServerMsg};

/// `POST /api/messages/send-bulk` body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SendBulkRequest {
    pub message: String,
    pub phones: Vec<String>,
    #[serde(default = "default_devices_limit")]
    pub devices_limit: u32,
    #[serde(default)]
    pub idempotency_key: Option<String>,
    #[serde(default)]
    pub skip_invalid: bool,
    /// Added: the senders to spread over; none named: the tenant's active senders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub senders: Option<Vec<Uuid>>,
    /// Added: what people call the send in lists (at most 200 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Added: tags to find it by (`GET /jobs?q=`); see [`clean_tags`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// Longest name of a send, in characters.
pub const MAX_JOB_NAME_CHARS: usize = 200;
/// Most recipients in one bulk send.
pub const MAX_PHONES: usize = 100_000;
/// Longest message of a bulk send, in characters.
pub const MAX_MESSAGE_CHARS: usize = 4_096;
/// Most sender devices per job.
pub const MAX_DEVICES: u32 = 50;
/// Most tags on a send or a campaign.
pub const MAX_TAGS: usize = 20;
/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 50;

/// Tags as kept: trimmed, blanks dropped, repeats (ignoring case) dropped, within the limits.
pub fn clean_tags(tags: &[String]) -> Result<Vec<String>, super::problem::TagRule> {
    use super::problem::TagRule;
    let mut seen = std::collections::HashSet::new();
    let mut kept = Vec::new();
    for (index, tag) in tags.iter().enumerate() {
        let tag = tag.trim();
        if tag.chars().count() > MAX_TAG_CHARS {
            return Err(TagRule::TooLong {
                index,
                max: MAX_TAG_CHARS as u64,
            });
        }
        if !tag.is_empty() && seen.insert(tag.to_lowercase()) {
            kept.push(tag.to_owned());
        }
    }
    if kept.len() > MAX_TAGS {
        return Err(TagRule::TooMany {
            count: kept.len() as u64,
            max: MAX_TAGS as u64,
        });
    }
    Ok(kept)
}

/// The number of sender devices when a request names none.
pub fn default_devices_limit() -> u32 {
    5
}

/// One rejected phone entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvalidPhone {
    /// Position in the submitted list, from 0.
    pub index: usize,
    pub phone: String,
    /// The issue in English words.
    pub reason: String,
    /// The issue as a code (`issue`) and its parameters, for clients that word it themselves.
    #[serde(flatten)]
    pub issue: super::problem::PhoneIssue,
}

/// `202` answer to a bulk send.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SendBulkResponse {
    pub status: String,
    pub message: String,
    pub job: JobView,
}

/// `GET /api/jobs/{id}/events` answer; events stay raw JSON so they are replayed byte for byte.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EventsPage {
    pub events: Vec<ServerMsg>,
    pub last_seq: u64,
}

/// A row of `GET /api/jobs/{id}/items`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemView {
    pub index: u64,
    pub recipient: String,
    pub status: ItemStatus,
    pub device_id: Option<u32>,
    pub attempts: u32,
    pub error: Option<String>,
    /// Added: `error` as a code with parameters, for wording it in the reader's language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<super::fault::SendFault>,
    /// Every failed attempt's error, oldest first.
    #[serde(default)]
    pub errors: Vec<String>,
    /// Added: the provider's id of the message (a WhatsApp Cloud API `wamid`), once accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_message_id: Option<String>,
    /// Added: the sender that sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_id: Option<Uuid>,
    /// What the provider last reported of it (`null` until a receipt arrives).
    #[serde(default)]
    pub delivery: Option<super::Delivery>,
    #[serde(default)]
    pub delivered_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub read_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl ItemView {
    /// Its error in the reader's words: the code worded by `word` when it has one, else the
    /// error as recorded (an outside worker's words).
    pub fn error_words(&self, word: fn(&super::fault::SendFault, &str) -> String) -> String {
        let error = self.error.as_deref().unwrap_or_default();
        self.fault
            .as_ref()
            .map_or_else(|| error.to_owned(), |fault| word(fault, error))
    }
}

/// A number on the tenant's opt-out list (`GET /api/opt-outs`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptOutView {
    pub phone: String,
    /// `reply` (it wrote an opt-out word) or `manual`.
    pub source: String,
    pub created_at: DateTime<Utc>,
}

/// A message a recipient sent to one of the tenant's senders (`GET /api/inbox`, `message_new`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboundMessage {
    /// Added: the message's place in the tenant's inbox (`GET /inbox?after=`), increasing.
    pub id: i64,
    pub sender_id: Uuid,
    /// The recipient's number (E.164).
    pub from: String,
    pub text: String,
    /// When the provider says it was written.
    pub at: DateTime<Utc>,
    /// The newest job that sent to this number, when one did.
    pub job_id: Option<JobId>,
}

/// `GET /api/inbox`: messages in `id` order, and where the next page starts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxPage {
    pub messages: Vec<InboundMessage>,
    /// Pass as `after` to read what came later (the newest `id` here, or `after` as given).
    pub next_after: Option<i64>,
}

/// `POST /api/opt-outs` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddOptOutRequest {
    pub phone: String,
}

/// `POST /api/jobs/{id}/retry-failed` body.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RetryFailedRequest {
    /// Also re-send items whose fate is unknown (the provider may have delivered them already).
    #[serde(default)]
    pub include_unknown: bool,
    /// Added: retry only failed items of these classes (`GET /jobs/{id}/failures`); the
    /// unknown ones are not failures, so `include_unknown` does not apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<String>>,
}

/// Added: one reason a job's items failed and how many did (`GET /api/jobs/{id}/failures`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FailureGroup {
    /// What `retry-failed {"errors": […]}` takes to retry only these.
    pub class: String,
    /// The reason in English (of the most common failure of the class).
    pub error: String,
    pub count: u64,
    /// `error` as a code with parameters, for wording it in the reader's language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<super::fault::SendFault>,
}

/// Failure classes of items without a code (an outside worker's words, or older rows).
pub const OTHER_FAILURE: &str = "other";

/// Groups `(fault, error, count)` rows into failure classes, the biggest first; each class says
/// its reason with its most common failure.
pub fn failure_groups(
    rows: impl IntoIterator<Item = (Option<super::fault::SendFault>, Option<String>, u64)>,
) -> Vec<FailureGroup> {
    let mut groups: Vec<(FailureGroup, u64)> = Vec::new();
    for (fault, error, count) in rows {
        let class = fault
            .as_ref()
            .map_or_else(|| OTHER_FAILURE.to_owned(), super::fault::SendFault::class);
        let error = error
            .or_else(|| fault.as_ref().map(super::fault::SendFault::english))
            .unwrap_or_default();
        // Words without a code (an outside worker's) are each their own group.
        let same = |g: &FailureGroup| g.class == class && (fault.is_some() || g.error == error);
        match groups.iter_mut().find(|(g, _)| same(g)) {
            Some((group, top)) => {
                group.count += count;
                if count > *top {
                    *top = count;
                    group.error = error;
                    group.fault = fault;
                }
            }
            None => groups.push((
                FailureGroup {
                    class,
                    error,
                    count,
                    fault,
                },
                count,
            )),
        }
    }
    let mut groups: Vec<FailureGroup> = groups.into_iter().map(|(g, _)| g).collect();
    groups.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.class.cmp(&b.class)));
    groups
}

/// An API token as its tenant's admins see it (the secret itself is shown once, at creation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TokenView {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A user as their tenant's admins see them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserView {
    pub id: Uuid,
    pub username: String,
    /// `admin`, `operator` or `viewer`.
    pub role: String,
    pub created_at: DateTime<Utc>,
}

/// An instance of the app sharing the database, as an admin's dashboard shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InstanceView {
    pub id: String,
    pub hostname: String,
    pub started_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    /// Jobs of the viewer's tenant it runs now (other tenants' work is not theirs to see).
    pub running_jobs: u64,
    /// Those of them that belong to the viewer's tenant.
    pub tenant_jobs: Vec<JobId>,
}

/// `GET /api/jobs/{id}/items` answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ItemsPage {
    pub items: Vec<ItemView>,
    /// Pass as `after` to get the next page; absent on the last page.
    pub next_after: Option<u64>,
}

/// Where a campaign finds its results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceSpec {
    /// The demo site jobpulse serves itself (`/demo`), read with the http source.
    Sandbox,
    /// Any site: a search URL and CSS selectors.
    Http(HttpSourceSpec),
    /// An Apify-style actor API: start a run, poll it, page through its dataset.
    Apify(ApifySourceSpec),
}

/// A website to scrape: where to search and what to read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HttpSourceSpec {
    /// The search page, with `{keyword}` where the (URL-encoded) keyword goes.
    pub search_url: String,
    /// One match per result.
    pub item_selector: String,
    /// Within a result: its link (the `href` is the result's URL).
    pub link_selector: String,
    /// Within a result: its title (the link's text when absent).
    #[serde(default)]
    pub title_selector: Option<String>,
    /// Within a result: its author.
    #[serde(default)]
    pub author_selector: Option<String>,
    /// Within a result: its text.
    #[serde(default)]
    pub text_selector: Option<String>,
    /// The link to the next page of results.
    #[serde(default)]
    pub next_selector: Option<String>,
    /// Pause between two pages of the same site.
    #[serde(default = "default_delay_ms")]
    pub delay_ms: u64,
    /// Pages read per keyword at most.
    #[serde(default = "default_max_pages")]
    pub max_pages: u32,
}

/// An Apify-style actor to run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApifySourceSpec {
    /// The API's base URL (`https://api.apify.com` for Apify itself).
    #[serde(default = "default_apify_url")]
    pub base_url: String,
    /// The actor's id or `username~actor-name`.
    pub actor: String,
    /// The API token; never shown back (views carry it empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token: String,
    /// The run's input; `{"keywords": [...], "maxItems": target}` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<serde_json::Value>,
    /// The dataset field holding each result's URL.
    #[serde(default = "default_url_field")]
    pub url_field: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_field: Option<String>,
}

fn default_apify_url() -> String {
    "https://api.apify.com".into()
}

fn default_url_field() -> String {
    "url".into()
}

fn default_delay_ms() -> u64 {
    500
}

fn default_max_pages() -> u32 {
    20
}

/// `POST /api/campaigns` body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreateCampaignRequest {
    pub name: String,
    pub platform: String,
    pub keywords: Vec<String>,
    pub target_results: u32,
    pub source: SourceSpec,
    /// Added: tags its searches carry (see [`clean_tags`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// A campaign: a named goal, its source, and its jobs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CampaignView {
    pub id: Uuid,
    pub name: String,
    pub platform: String,
    pub keywords: Vec<String>,
    pub target_results: u32,
    pub source: SourceSpec,
    pub created_at: DateTime<Utc>,
    /// Distinct results found by all its jobs.
    pub results: u64,
    /// Its jobs, newest first (in `GET /api/campaigns/{id}`; lists carry only the newest).
    #[serde(default)]
    pub jobs: Vec<JobView>,
    /// Added: tags its searches carry, to find them by in `GET /jobs?q=`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// One result of a campaign.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultView {
    pub url: String,
    pub title: Option<String>,
    pub author: Option<String>,
    pub text: Option<String>,
    pub keyword: Option<String>,
    pub job_id: JobId,
    pub found_at: DateTime<Utc>,
}

/// `POST /api/jobs` body: a job an outside worker runs and reports on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreateExternalJobRequest {
    pub kind: String,
    pub name: String,
    pub total: u64,
    #[serde(default)]
    pub stages: Vec<String>,
}

/// `POST /api/jobs/{id}/progress` body (worker token).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkerProgress {
    pub processed: u64,
    #[serde(default)]
    pub stage: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

/// One item an outside worker reports.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkerItem {
    pub key: String,
    /// `ok` or `failed`.
    pub status: String,
    #[serde(default)]
    pub data: Option<serde_json::Value>,
    #[serde(default)]
    pub error: Option<String>,
}

/// `POST /api/jobs/{id}/items` body (worker token).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkerItems {
    pub items: Vec<WorkerItem>,
}

/// `POST /api/jobs/{id}/fail` body (worker token).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkerFail {
    pub error: String,
}

/// `POST /api/campaigns` answer: `202` for a large campaign (follow it live), `200` with the
/// results for a small one (`target_results <= 50`) that ended while the request waited.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateCampaignResponse {
    pub campaign_id: Uuid,
    pub job_id: JobId,
    pub use_web_socket: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<Vec<ResultView>>,
    /// Added to the contract: the job as it was when the answer was sent.
    pub job: JobView,
}

/// `POST /api/jobs` answer: the outside worker's job and its worker token (shown once).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CreateExternalJobResponse {
    pub job: JobView,
    pub worker_token: String,
}

/// `GET /api/campaigns/{id}/results?format=json`: a page of results.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultsPage {
    pub campaign_id: Uuid,
    /// Results matching the search (all pages).
    pub total: u64,
    pub offset: u64,
    pub results: Vec<ResultView>,
    /// Pass as `offset` for the next page; absent on the last one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<u64>,
}

/// One result a scraping job found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FoundResult {
    pub url: String,
    pub title: Option<String>,
    pub author: Option<String>,
    pub text: Option<String>,
    pub keyword: Option<String>,
}

/// A page (or dataset page) a scraping job could not read, after its retries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedPage {
    pub url: String,
    /// A sentence for people: "HTTP 500 Internal Server Error after 3 attempts".
    pub error: String,
    /// `error` as a code.
    pub fault: Option<super::failure::FetchFault>,
}

/// Which of the tenant's jobs a list or a bulk action is about (`GET /jobs`' filters, read).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JobSearch {
    /// Text the name, message or tags contain, ignoring case.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<super::JobStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<super::JobKind>,
    /// Created at or after this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_after: Option<DateTime<Utc>>,
    /// Created before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_before: Option<DateTime<Utc>>,
}

impl JobSearch {
    /// True when it narrows nothing down.
    pub fn is_empty(&self) -> bool {
        self == &JobSearch::default()
    }
}

/// What `POST /jobs/bulk-action` does to every job its filter matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BulkAction {
    Cancel,
    Pause,
    Resume,
    RetryFailed,
}

impl BulkAction {
    /// Every action, in the order forms offer them.
    pub const ALL: [BulkAction; 4] = [
        BulkAction::Pause,
        BulkAction::Resume,
        BulkAction::RetryFailed,
        BulkAction::Cancel,
    ];

    /// The command it gives each job.
    pub fn command(self) -> super::lifecycle::Command {
        use super::lifecycle::Command;
        match self {
            BulkAction::Cancel => Command::Cancel,
            BulkAction::Pause => Command::Pause,
            BulkAction::Resume => Command::Resume,
            BulkAction::RetryFailed => Command::Retry {
                include_unknown: false,
            },
        }
    }

    /// Its name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            BulkAction::Cancel => "cancel",
            BulkAction::Pause => "pause",
            BulkAction::Resume => "resume",
            BulkAction::RetryFailed => "retry-failed",
        }
    }
}

/// A job a bulk action left as it was, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BulkRefused {
    pub id: JobId,
    /// Why, in English (`refusal` is the code a client words itself).
    pub detail: String,
    pub refusal: super::lifecycle::Refusal,
}

/// `POST /jobs/bulk-action` answer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BulkActionResult {
    /// Jobs the filter matched.
    pub matched: u64,
    /// Jobs the action changed (or asked to stop, for running ones).
    pub changed: u64,
    pub refused: Vec<BulkRefused>,
}

/// A page of the jobs list: the jobs, the cursor of the next page, and counts per status of
/// everything the search matches (on the first page).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct JobsPage {
    pub jobs: Vec<JobView>,
    pub next_before: Option<JobId>,
    pub counts: Vec<(super::JobStatus, u64)>,
}

/// An item a number was in (`GET /recipients/{phone}`), with the send it belongs to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecipientItem {
    pub job_id: JobId,
    pub job_name: Option<String>,
    pub job_message: Option<String>,
    pub job_status: super::JobStatus,
    pub job_created_at: DateTime<Utc>,
    #[serde(flatten)]
    pub item: ItemView,
}

/// What the recipient search found for what was typed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum RecipientLookup {
    /// The number in E.164, and every item it was in, newest send first.
    Found {
        phone: String,
        items: Vec<RecipientItem>,
    },
    /// What was typed is not a phone number.
    Invalid { issue: super::problem::PhoneIssue },
}
