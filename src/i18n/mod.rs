//! Every string a person sees, per locale: the pages' words and the server's messages (errors,
//! refusals), so an answer reads in the reader's language. Add a language by adding one `Text` table.

use crate::protocol::{JobKind, JobStatus};

mod audit;
mod campaign;
mod cockpit;
mod en;
mod es;
mod failures;
mod faults;
mod forms;
mod hooks;
mod inbox;
mod jobs_list;
mod lanes;
mod problems;
pub mod requests;
mod senders;

pub use audit::AuditText;
pub use campaign::CampaignText;
pub use cockpit::CockpitText;
pub use forms::FormsText;
pub use hooks::HooksText;
pub use inbox::InboxText;
pub use jobs_list::JobsListText;
pub use lanes::LanesText;
pub use senders::SenderText;

pub use en::EN;
pub use es::ES;

/// The languages the UI speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Locale {
    #[default]
    En,
    Es,
}

impl Locale {
    /// The table of strings.
    pub fn text(self) -> &'static Text {
        match self {
            Locale::En => &EN,
            Locale::Es => &ES,
        }
    }

    /// The `lang` attribute value.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Es => "es",
        }
    }

    /// Picks a locale from a language tag or an `Accept-Language` header: the supported
    /// language with the highest `q` (the first of equals), English if none is supported.
    pub fn negotiate(header: &str) -> Locale {
        let mut best: Option<(f32, Locale)> = None;
        for part in header.split(',') {
            let mut fields = part.split(';');
            let tag = fields.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = fields
                .find_map(|f| f.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let locale = match tag.split('-').next() {
                Some("es") => Locale::Es,
                Some("en") => Locale::En,
                _ => continue,
            };
            if q > 0.0 && best.is_none_or(|(top, _)| q > top) {
                best = Some((q, locale));
            }
        }
        best.map(|(_, locale)| locale).unwrap_or_default()
    }
}

/// One language's strings.
pub struct Text {
    pub app_name: &'static str,
    pub skip_to_content: &'static str,
    pub nav_jobs: &'static str,
    pub nav_new_bulk: &'static str,
    pub nav_settings: &'static str,
    pub role: fn(&str) -> &'static str,
    pub viewer_cannot_start: &'static str,
    pub log_out: &'static str,
    pub sandbox_banner: &'static str,
    pub loading: &'static str,
    pub error_prefix: &'static str,
    pub not_found_title: &'static str,
    pub not_found_body: &'static str,
    pub back_to_jobs: &'static str,
    pub session_expired: &'static str,
    /// An error answer, worded.
    pub problem: fn(&crate::protocol::problem::Problem) -> String,
    /// Why a phone entry is not a number to send to, worded.
    pub phone_issue: fn(&crate::protocol::problem::PhoneIssue) -> String,
    // A code comes with its English sentence (the event's `error` or `message`), so English
    // words it by taking that sentence as is and the browser carries only the other language's
    // words for it.
    /// Why a message was not sent, worded; the `&str` is the event's `error`.
    pub send_fault: fn(&crate::protocol::fault::SendFault, &str) -> String,
    /// What a search is doing, worded; the `&str` is the event's `message`.
    pub stage_note: fn(&crate::protocol::fault::StageNote, &str) -> String,
    /// Why a page could not be read, worded; the `&str` is the event's `error`.
    pub fetch_fault: fn(&crate::protocol::fault::FetchFault, &str) -> String,
    /// Why a job failed and what to do, worded, from the event's `error` and `message`.
    pub job_fault: fn(&crate::protocol::failure::JobFault, &str, &str) -> String,

    pub conn_label: &'static str,
    pub conn_connecting: &'static str,
    pub conn_connected: &'static str,
    pub conn_reconnecting: fn(u32) -> String,
    pub conn_polling: &'static str,
    pub conn_offline: &'static str,
    pub conn_session_ended: &'static str,

    pub status: fn(JobStatus) -> &'static str,
    pub kind: fn(JobKind) -> &'static str,

    pub jobs_title: &'static str,
    pub jobs_empty: &'static str,
    pub jobs_empty_hint: &'static str,
    pub col_job: &'static str,
    pub col_status: &'static str,
    pub col_progress: &'static str,
    pub col_created: &'static str,
    pub instances_title: &'static str,
    pub col_instance: &'static str,
    pub col_last_seen: &'static str,
    pub col_running: &'static str,
    pub col_your_jobs: &'static str,

    pub bulk_title: &'static str,
    pub bulk_intro: &'static str,
    pub message_label: &'static str,
    pub message_count: fn(usize, usize) -> String,
    pub recipients_label: &'static str,
    pub recipients_hint: &'static str,
    pub recipients_count: fn(usize) -> String,
    pub devices_label: &'static str,
    pub devices_hint: &'static str,
    pub start_sending: &'static str,
    pub starting: &'static str,
    pub invalid_entries: fn(usize) -> String,
    pub nothing_created: &'static str,
    pub line_error: fn(usize, &str, &str) -> String,

    pub sent: &'static str,
    pub failed: &'static str,
    pub unknown: &'static str,
    pub total: &'static str,
    pub remaining: &'static str,
    pub progress_label: &'static str,
    pub devices: &'static str,
    pub started: &'static str,
    pub finished: &'static str,
    pub duration: &'static str,
    pub throughput: &'static str,
    pub per_second: fn(f64) -> String,
    pub summary_title: &'static str,
    pub devices_used: fn(u32, u32) -> String,
    pub skipped_entries: fn(u64) -> String,

    pub log_title: &'static str,
    pub log_all: &'static str,
    pub log_failures: &'static str,
    pub log_empty: &'static str,
    pub log_jump: &'static str,
    pub log_created: fn(u64) -> String,
    pub log_started: &'static str,
    pub log_resumed: &'static str,
    pub log_sent: fn(u32, &str) -> String,
    pub log_item_failed: fn(u32, &str, &str) -> String,
    pub log_completed: fn(u64, u64) -> String,
    pub log_job_failed: fn(&str) -> String,
    pub log_cancelled: &'static str,
    pub log_paused: &'static str,
    pub log_resync: &'static str,
    pub log_older_hidden: fn(u64) -> String,
    pub log_load_older: &'static str,

    pub pause: &'static str,
    pub resume: &'static str,
    pub cancel: &'static str,
    pub cancel_question: &'static str,
    pub cancel_confirm: &'static str,
    pub keep_sending: &'static str,
    pub retry_failed: &'static str,
    pub include_unknown: &'static str,
    pub working: &'static str,
    pub stopping_note: &'static str,

    pub recipients_title: &'static str,
    pub tab_sent: &'static str,
    pub tab_failed: &'static str,
    pub tab_unknown: &'static str,
    pub tab_pending: &'static str,
    pub load_more: &'static str,
    pub no_items: &'static str,
    pub col_recipient: &'static str,
    pub col_device: &'static str,
    pub col_attempts: &'static str,
    pub col_error: &'static str,
    pub log_retrying: &'static str,

    pub settings_title: &'static str,
    pub tokens_title: &'static str,
    pub tokens_intro: &'static str,
    pub token_name: &'static str,
    pub create_token: &'static str,
    pub token_created: &'static str,
    pub revoke: &'static str,
    pub revoked: &'static str,
    pub never: &'static str,
    pub col_name: &'static str,
    pub col_last_used: &'static str,
    pub users_title: &'static str,
    pub add_user: &'static str,
    pub col_role: &'static str,
    pub remove: &'static str,
    pub saved: &'static str,

    pub login_title: &'static str,
    pub workspace: &'static str,
    pub workspace_hint: &'static str,
    pub username: &'static str,
    pub password: &'static str,
    pub log_in: &'static str,
    pub logging_in: &'static str,

    /// Campaigns, searches and outside workers' jobs.
    pub campaign: &'static CampaignText,
    pub senders: &'static SenderText,
    pub inbox: &'static InboxText,
    pub cockpit: &'static CockpitText,
    /// The jobs list's filters and bulk actions.
    pub list: &'static JobsListText,
    pub lanes: &'static LanesText,
    pub hooks: &'static HooksText,
    pub audit: &'static AuditText,
    pub forms: &'static FormsText,

    /// Digit grouping separator.
    pub thousands: char,
}

/// `10000` → `10,000` (or `10.000`): digits grouped by threes with `separator`.
pub fn group_thousands(n: u64, separator: char) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(c);
    }
    out
}

impl Text {
    /// Formats a count with this locale's digit grouping.
    pub fn number(&self, n: u64) -> String {
        group_thousands(n, self.thousands)
    }

    /// Formats a percentage with one decimal, as people read it.
    pub fn percent(&self, value: f64) -> String {
        self.decimals(format!("{value:.1} %"))
    }

    /// `text`'s decimal points as this locale writes them (a comma where `.` groups thousands).
    pub fn decimals(&self, text: String) -> String {
        if self.thousands == '.' {
            text.replace('.', ",")
        } else {
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_group_digits_per_locale() {
        assert_eq!(EN.number(10_000), "10,000");
        assert_eq!(ES.number(10_000), "10.000");
        assert_eq!(EN.number(999), "999");
        assert_eq!(ES.percent(12.5), "12,5 %");
        assert_eq!(ES.decimals("4.2 s".into()), "4,2 s");
        assert_eq!((ES.per_second)(119.66), "119,7 por segundo");
    }

    #[test]
    fn accept_language_picks_spanish_when_preferred() {
        assert_eq!(Locale::negotiate("es-ES,es;q=0.9,en;q=0.8"), Locale::Es);
        assert_eq!(Locale::negotiate("en-US,en;q=0.9"), Locale::En);
        assert_eq!(Locale::negotiate("de-DE"), Locale::En);
        // Order is not preference: q is.
        assert_eq!(Locale::negotiate("en;q=0.3, es;q=0.9"), Locale::Es);
        assert_eq!(Locale::negotiate("de, es;q=0.5, en;q=0.7"), Locale::En);
        assert_eq!(Locale::negotiate("es;q=0, en;q=0.1"), Locale::En);
        assert_eq!(Locale::negotiate("es"), Locale::Es);
    }
}
