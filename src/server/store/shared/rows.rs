//! Row mapping written once: each backend reads its own column types (SQLite's TEXT uuids,
//! INTEGER millis and TEXT JSON; PostgreSQL's native ones) behind `Cols`.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use sqlx::Row;
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use super::{result_view, stages_of, with_percentage};
use crate::protocol::{
    CampaignView, InstanceView, ItemStatus, ItemView, JobId, JobKind, JobResults, JobStatus,
    JobView, Progress, ResultView, TokenView, UserView,
};
use crate::server::store::{
    ItemToSend, Role, Session, StoreError, StoreResult, StoredEvent, Tenant, TenantId, User,
    progress_of,
};

/// A result row's columns, read as its backend stores them.
pub(crate) trait Cols {
    fn uuid(&self, col: &str) -> StoreResult<Uuid>;
    fn opt_uuid(&self, col: &str) -> StoreResult<Option<Uuid>>;
    fn time(&self, col: &str) -> DateTime<Utc>;
    fn opt_time(&self, col: &str) -> Option<DateTime<Utc>>;
    /// A bigint column.
    fn big(&self, col: &str) -> i64;
    fn opt_big(&self, col: &str) -> Option<i64>;
    /// An integer column (int4 in PostgreSQL).
    fn int(&self, col: &str) -> i64;
    fn opt_int(&self, col: &str) -> Option<i64>;
    fn text(&self, col: &str) -> String;
    fn opt_text(&self, col: &str) -> Option<String>;
    fn float(&self, col: &str) -> f64;
    fn opt_float(&self, col: &str) -> Option<f64>;
    fn json<T: DeserializeOwned>(&self, col: &str) -> Result<Option<T>, serde_json::Error>;
}

/// An id stored as text.
pub(crate) fn parse_uuid(s: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(s).map_err(|e| StoreError::Corrupt(format!("bad id {s:?}: {e}")))
}

impl Cols for SqliteRow {
    fn uuid(&self, col: &str) -> StoreResult<Uuid> {
        parse_uuid(self.get(col))
    }
    fn opt_uuid(&self, col: &str) -> StoreResult<Option<Uuid>> {
        self.get::<Option<&str>, _>(col).map(parse_uuid).transpose()
    }
    fn time(&self, col: &str) -> DateTime<Utc> {
        from_millis(self.get(col))
    }
    fn opt_time(&self, col: &str) -> Option<DateTime<Utc>> {
        self.get::<Option<i64>, _>(col).map(from_millis)
    }
    fn big(&self, col: &str) -> i64 {
        self.get(col)
    }
    fn opt_big(&self, col: &str) -> Option<i64> {
        self.get(col)
    }
    fn int(&self, col: &str) -> i64 {
        self.get(col)
    }
    fn opt_int(&self, col: &str) -> Option<i64> {
        self.get(col)
    }
    fn text(&self, col: &str) -> String {
        self.get(col)
    }
    fn opt_text(&self, col: &str) -> Option<String> {
        self.get(col)
    }
    fn float(&self, col: &str) -> f64 {
        self.get(col)
    }
    fn opt_float(&self, col: &str) -> Option<f64> {
        self.get(col)
    }
    fn json<T: DeserializeOwned>(&self, col: &str) -> Result<Option<T>, serde_json::Error> {
        self.get::<Option<&str>, _>(col)
            .map(serde_json::from_str)
            .transpose()
    }
}

impl Cols for PgRow {
    fn uuid(&self, col: &str) -> StoreResult<Uuid> {
        Ok(self.get(col))
    }
    fn opt_uuid(&self, col: &str) -> StoreResult<Option<Uuid>> {
        Ok(self.get(col))
    }
    fn time(&self, col: &str) -> DateTime<Utc> {
        self.get(col)
    }
    fn opt_time(&self, col: &str) -> Option<DateTime<Utc>> {
        self.get(col)
    }
    fn big(&self, col: &str) -> i64 {
        self.get(col)
    }
    fn opt_big(&self, col: &str) -> Option<i64> {
        self.get(col)
    }
    fn int(&self, col: &str) -> i64 {
        self.get::<i32, _>(col).into()
    }
    fn opt_int(&self, col: &str) -> Option<i64> {
        self.get::<Option<i32>, _>(col).map(i64::from)
    }
    fn text(&self, col: &str) -> String {
        self.get(col)
    }
    fn opt_text(&self, col: &str) -> Option<String> {
        self.get(col)
    }
    fn float(&self, col: &str) -> f64 {
        self.get(col)
    }
    fn opt_float(&self, col: &str) -> Option<f64> {
        self.get(col)
    }
    fn json<T: DeserializeOwned>(&self, col: &str) -> Result<Option<T>, serde_json::Error> {
        self.get::<Option<serde_json::Value>, _>(col)
            .map(serde_json::from_value)
            .transpose()
    }
}

/// SQLite's INTEGER millis as a time.
pub(crate) fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// The counters a job row returns (`sent, failed, unknown, total`).
pub(crate) fn progress(row: &impl Cols) -> Progress {
    progress_of(
        row.big("sent"),
        row.big("failed"),
        row.big("unknown"),
        row.big("total"),
    )
}

/// The columns `job_view` reads.
pub(crate) const JOB_COLUMNS: &str = "id, kind, status, created_at, started_at, finished_at, sent, \
     failed, unknown, total, stage, last_error, last_seq, skipped, devices_limit, message, results, \
     campaign_id, name, params, percentage, stage_message, stage_note, senders, delivered, read_count, \
     undelivered, skipped_opted_out, replies, moved_at, pace_a_at, pace_a_done, pace_b_at, \
     pace_b_done, tags";

/// A job as people see it, from its `JOB_COLUMNS`.
pub(crate) fn job_view(row: &impl Cols) -> StoreResult<JobView> {
    let corrupt = |e: crate::protocol::UnknownValue| StoreError::Corrupt(e.to_string());
    // Only sends through senders get receipts.
    let senders: Vec<uuid::Uuid> = row
        .json("senders")
        .map_err(|e| StoreError::Corrupt(format!("job senders: {e}")))?
        .unwrap_or_default();
    let status = JobStatus::from_str(&row.text("status")).map_err(corrupt)?;
    let counters = progress(row);
    let checkpoint = |at: &str, done: &str| {
        row.opt_time(at)
            .zip(row.opt_big(done).map(|d| d.max(0) as u64))
    };
    let pace = crate::protocol::PaceView::read(
        status,
        (counters.done(), counters.total),
        row.opt_time("started_at"),
        row.opt_time("finished_at"),
        row.opt_time("moved_at"),
        checkpoint("pace_a_at", "pace_a_done").or_else(|| checkpoint("pace_b_at", "pace_b_done")),
        chrono::Utc::now(),
    );
    Ok(JobView {
        rate_per_sec: pace.rate_per_sec,
        eta_seconds: pace.eta_seconds,
        elapsed_ms: pace.elapsed_ms,
        stalled_since: pace.stalled_since,
        // Unreadable tags read as none: they only help find the job.
        tags: row.json("tags").ok().flatten().unwrap_or_default(),
        id: JobId(row.uuid("id")?),
        kind: JobKind::from_str(&row.text("kind")).map_err(corrupt)?,
        status,
        created_at: row.time("created_at"),
        started_at: row.opt_time("started_at"),
        finished_at: row.opt_time("finished_at"),
        progress: with_percentage(counters, row.opt_float("percentage")),
        stage: row.opt_text("stage"),
        last_error: row.opt_text("last_error"),
        last_seq: row.big("last_seq") as u64,
        total_numbers: row.big("total") as u64,
        skipped: row.big("skipped") as u64,
        skipped_opted_out: row.big("skipped_opted_out") as u64,
        devices_limit: row.int("devices_limit") as u32,
        message: row.opt_text("message"),
        results: row
            .json::<JobResults>("results")
            .map_err(|e| StoreError::Corrupt(format!("job results: {e}")))?,
        campaign_id: row.opt_uuid("campaign_id")?,
        name: row.opt_text("name"),
        stages: stages_of(job_params(row)),
        stage_message: row.opt_text("stage_message"),
        // A note this version cannot read falls back to the sentence beside it.
        stage_note: row.json("stage_note").ok().flatten(),
        receipts_window_hours: (row.text("kind") == JobKind::BulkSend.as_str()
            && !senders.is_empty())
        .then(|| receipts_window_hours(row) as u32),
        // The lanes' figures come from `job_devices` where a read needs them (`with_lanes`).
        senders: senders
            .iter()
            .enumerate()
            .map(|(place, id)| crate::protocol::lanes::SenderLane::new(place as u32 + 1, Some(*id)))
            .collect(),
        receipts: (row.text("kind") == JobKind::BulkSend.as_str()).then(|| receipts(row)),
        receipts_open_until: (row.text("kind") == JobKind::BulkSend.as_str())
            .then(|| row.opt_time("finished_at"))
            .flatten()
            .map(|at| at + chrono::Duration::hours(receipts_window_hours(row))),
        replies: (row.text("kind") == JobKind::BulkSend.as_str())
            .then(|| row.big("replies").max(0) as u64),
    })
}

/// A bulk send's receipts window, as it was created (the default for sends from before).
fn receipts_window_hours(row: &impl Cols) -> i64 {
    job_params(row)
        .and_then(|p| p["receipts_window_hours"].as_i64())
        .unwrap_or(crate::protocol::RECEIPTS_WINDOW_HOURS)
}

/// A bulk send's funnel from its counters (`sent, delivered, read_count, undelivered`).
pub(crate) fn receipts(row: &impl Cols) -> crate::protocol::Receipts {
    let count = |col| row.big(col).max(0) as u64;
    crate::protocol::Receipts::new(
        count("sent"),
        count("delivered"),
        count("read_count"),
        count("undelivered"),
    )
}

/// What a job needs to run, as stored at creation (unreadable params read as none).
pub(crate) fn job_params(row: &impl Cols) -> Option<serde_json::Value> {
    row.json("params").ok().flatten()
}

/// Events of `job` from `seq, type, payload` rows.
pub(crate) fn events<R: Cols>(rows: &[R], job: JobId) -> Vec<StoredEvent> {
    rows.iter()
        .map(|row| StoredEvent {
            job_id: job,
            seq: row.big("seq") as u64,
            kind: row.text("type"),
            json: row.text("payload").into(),
        })
        .collect()
}

/// An item of a job as people see it.
pub(crate) fn item_view(row: &impl Cols) -> StoreResult<ItemView> {
    Ok(ItemView {
        index: row.big("idx") as u64,
        recipient: row.text("recipient"),
        status: ItemStatus::from_str(&row.text("status"))
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        device_id: row.opt_int("device_id").map(|d| d as u32),
        attempts: row.int("attempts") as u32,
        error: row.opt_text("error"),
        // A fault this version cannot read falls back to the sentence beside it.
        fault: row.json("fault").ok().flatten(),
        errors: row
            .json("errors")
            .map_err(|e| StoreError::Corrupt(format!("item errors: {e}")))?
            .unwrap_or_default(),
        provider_message_id: row.opt_text("provider_message_id"),
        sender_id: row.opt_uuid("sender_id")?,
        delivery: row
            .opt_text("delivery")
            .as_deref()
            .and_then(crate::protocol::Delivery::parse),
        delivered_at: row.opt_time("delivered_at"),
        read_at: row.opt_time("read_at"),
        updated_at: row.time("updated_at"),
    })
}

/// An instance, with the ids of the tenant's jobs it runs.
pub(crate) fn instance(row: &impl Cols, tenant_jobs: Vec<JobId>) -> InstanceView {
    InstanceView {
        id: row.text("id"),
        hostname: row.text("hostname"),
        started_at: row.time("started_at"),
        last_seen_at: row.time("last_seen_at"),
        running_jobs: tenant_jobs.len() as u64,
        tenant_jobs,
    }
}

/// Claimed items, in index order.
pub(crate) fn items_to_send<R: Cols>(rows: &[R]) -> Vec<ItemToSend> {
    let mut items: Vec<ItemToSend> = rows
        .iter()
        .map(|row| ItemToSend {
            idx: row.big("idx") as u64,
            recipient: row.text("recipient"),
            idempotency_key: row.text("idempotency_key"),
            attempts: row.int("attempts") as u32,
            handed_on: 0,
        })
        .collect();
    items.sort_by_key(|item| item.idx);
    items
}

/// The columns `campaign_view` reads, for `campaigns c`.
pub(crate) const CAMPAIGN_COLUMNS: &str = "c.id, c.name, c.platform, c.keywords, c.target_results, \
     c.source, c.created_at, c.tags, \
     (SELECT COUNT(*) FROM items i WHERE i.campaign_id = c.id AND i.status = 'sent') AS results";

/// A campaign without its jobs, from its `CAMPAIGN_COLUMNS`.
pub(crate) fn campaign_view(row: &impl Cols) -> StoreResult<CampaignView> {
    let corrupt = |e: serde_json::Error| StoreError::Corrupt(format!("campaign: {e}"));
    let missing = || StoreError::Corrupt("campaign: missing keywords or source".into());
    Ok(CampaignView {
        id: row.uuid("id")?,
        name: row.text("name"),
        platform: row.text("platform"),
        keywords: row.json("keywords").map_err(corrupt)?.ok_or_else(missing)?,
        target_results: row.int("target_results") as u32,
        source: row.json("source").map_err(corrupt)?.ok_or_else(missing)?,
        created_at: row.time("created_at"),
        results: row.big("results") as u64,
        jobs: Vec::new(),
        tags: row.json("tags").map_err(corrupt)?.unwrap_or_default(),
    })
}

/// A result from its `key, data, job_id, updated_at` row (unreadable data reads as none).
pub(crate) fn result(row: &impl Cols) -> StoreResult<ResultView> {
    Ok(result_view(
        row.text("key"),
        row.json("data").ok().flatten(),
        JobId(row.uuid("job_id")?),
        row.time("updated_at"),
    ))
}

/// A tenant from its `id, name, created_at` row.
pub(crate) fn tenant(row: &impl Cols) -> StoreResult<Tenant> {
    Ok(Tenant {
        id: TenantId(row.uuid("id")?),
        name: row.text("name"),
        created_at: row.time("created_at"),
    })
}

/// An API token as people see it.
pub(crate) fn token(row: &impl Cols) -> StoreResult<TokenView> {
    Ok(TokenView {
        id: row.uuid("id")?,
        name: row.text("name"),
        created_at: row.time("created_at"),
        last_used_at: row.opt_time("last_used_at"),
        revoked_at: row.opt_time("revoked_at"),
    })
}

/// A user as the users page shows them.
pub(crate) fn user_view(row: &impl Cols) -> StoreResult<UserView> {
    Ok(UserView {
        id: row.uuid("id")?,
        username: row.text("username"),
        role: row.text("role"),
        created_at: row.time("created_at"),
    })
}

/// A user as login sees them.
pub(crate) fn user(row: &impl Cols) -> StoreResult<User> {
    Ok(User {
        id: row.uuid("id")?,
        tenant_id: TenantId(row.uuid("tenant_id")?),
        username: row.text("username"),
        password_hash: row.text("password_hash"),
        role: Role::parse(&row.text("role"))?,
    })
}

/// A live session, from its joined session and user row.
pub(crate) fn session(row: &impl Cols, id_hash: &str) -> StoreResult<Session> {
    Ok(Session {
        id_hash: id_hash.to_owned(),
        user_id: row.uuid("user_id")?,
        tenant_id: TenantId(row.uuid("tenant_id")?),
        username: row.text("username"),
        role: Role::parse(&row.text("role"))?,
        expires_at: row.time("expires_at"),
    })
}

/// Maps every row, failing on the first that does not read.
pub(crate) fn all<R, T>(rows: &[R], map: impl Fn(&R) -> StoreResult<T>) -> StoreResult<Vec<T>> {
    rows.iter().map(map).collect()
}
