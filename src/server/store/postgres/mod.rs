//! The PostgreSQL store: several instances, one database. Native types (uuid, timestamptz,
//! jsonb), claims with `FOR UPDATE SKIP LOCKED`, lease times from the database's clock (so clock
//! skew between machines cannot expire a live lease), and one `NOTIFY` per committed batch.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Row, Transaction};
use uuid::Uuid;

use super::shared::{end_event, end_status, stages_of, summarise, with_percentage};
use super::{JobEnd, Store, StoreError, StoreResult, StoredEvent, TenantId, progress_of};
use crate::protocol::{JobId, JobKind, JobResults, JobStatus, JobView};

mod campaigns;
mod engine;
mod jobs;
mod tenants;

/// The channel committed batches are announced on: `job_id:last_seq`, a wake-up, never the data.
pub const EVENTS_CHANNEL: &str = "jobpulse_events";
/// The channel of the naive design (one NOTIFY per event, the event as payload), kept only so
/// the benchmark can compare the two.
pub const ROW_EVENTS_CHANNEL: &str = "jobpulse_event_rows";

/// How committed events are announced to other instances.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyMode {
    /// One `NOTIFY` per batch with `(job_id, last_seq)`; listeners read the rows.
    Batch,
    /// One `NOTIFY` per event carrying the event itself (for comparison only).
    PerRow,
}

const JOB_COLUMNS: &str = "id, kind, status, created_at, started_at, finished_at, sent, failed, \
     unknown, total, stage, last_error, last_seq, skipped, devices_limit, message, results, \
     campaign_id, name, params, percentage, stage_message, stage_note";

/// jobpulse's state in a PostgreSQL database.
pub struct PostgresStore {
    pool: PgPool,
    notify: NotifyMode,
    writes: AtomicU64,
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: Uuid,
    kind: String,
    status: String,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    sent: i64,
    failed: i64,
    unknown: i64,
    total: i64,
    stage: Option<String>,
    last_error: Option<String>,
    last_seq: i64,
    skipped: i64,
    devices_limit: i32,
    message: Option<String>,
    results: Option<serde_json::Value>,
    campaign_id: Option<Uuid>,
    name: Option<String>,
    pub(super) params: Option<serde_json::Value>,
    percentage: Option<f64>,
    stage_message: Option<String>,
    stage_note: Option<serde_json::Value>,
}

impl JobRow {
    fn into_view(self) -> StoreResult<JobView> {
        let corrupt = |e: crate::protocol::UnknownValue| StoreError::Corrupt(e.to_string());
        Ok(JobView {
            id: JobId(self.id),
            kind: JobKind::from_str(&self.kind).map_err(corrupt)?,
            status: JobStatus::from_str(&self.status).map_err(corrupt)?,
            created_at: self.created_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
            progress: with_percentage(
                progress_of(self.sent, self.failed, self.unknown, self.total),
                self.percentage,
            ),
            stage: self.stage,
            last_error: self.last_error,
            last_seq: self.last_seq as u64,
            total_numbers: self.total as u64,
            skipped: self.skipped as u64,
            devices_limit: self.devices_limit as u32,
            message: self.message,
            results: self
                .results
                .map(serde_json::from_value::<JobResults>)
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("job results: {e}")))?,
            campaign_id: self.campaign_id,
            name: self.name,
            stages: stages_of(self.params),
            stage_message: self.stage_message,
            // A note this version cannot read falls back to the sentence beside it.
            stage_note: self
                .stage_note
                .and_then(|note| serde_json::from_value(note).ok()),
        })
    }
}

fn event_rows(rows: Vec<PgRow>, job: JobId) -> Vec<StoredEvent> {
    rows.into_iter()
        .map(|row| StoredEvent {
            job_id: job,
            seq: row.get::<i64, _>("seq") as u64,
            kind: row.get("type"),
            json: row.get::<String, _>("payload").into(),
        })
        .collect()
}

/// Who may end a job: its runner (checked by lease), or anyone while no runner holds it.
enum Holder<'a> {
    Runner(&'a str),
    Nobody,
    /// An outside worker (by its job's token, checked before): its job has no lease.
    Worker,
}

impl Holder<'static> {
    /// Who may write a change decided with `fence` (stops of jobs no runner holds).
    fn of(fence: crate::protocol::lifecycle::Fence) -> Self {
        match fence {
            crate::protocol::lifecycle::Fence::Worker => Holder::Worker,
            _ => Holder::Nobody,
        }
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host/db`).
    pub async fn connect(url: &str, max_connections: u32, notify: NotifyMode) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)?.application_name("jobpulse");
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(2))
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await?;
        Ok(PostgresStore {
            pool,
            notify,
            writes: AtomicU64::new(0),
        })
    }

    /// Write transactions begun since the store was opened.
    pub fn write_count(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    async fn write_tx(&self) -> StoreResult<Transaction<'static, Postgres>> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        Ok(self.pool.begin().await?)
    }

    async fn job_in_tenant(&self, tenant: TenantId, job: JobId) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 FROM jobs WHERE id = $1 AND tenant_id = $2")
            .bind(job.0)
            .bind(tenant.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }
}

/// Inserts events and announces them (both take effect at commit, or not at all).
async fn insert_events(
    tx: &mut Transaction<'static, Postgres>,
    events: &[StoredEvent],
    notify: NotifyMode,
) -> StoreResult<()> {
    let Some(last) = events.last() else {
        return Ok(());
    };
    let seqs: Vec<i64> = events.iter().map(|e| e.seq as i64).collect();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    let payloads: Vec<&str> = events.iter().map(|e| &*e.json).collect();
    sqlx::query(
        "INSERT INTO events (job_id, seq, type, payload, created_at) \
         SELECT $1, e.seq, e.type, e.payload, now() FROM UNNEST($2::bigint[], $3::text[], $4::text[]) \
         AS e(seq, type, payload)",
    )
    .bind(last.job_id.0)
    .bind(&seqs)
    .bind(&kinds)
    .bind(&payloads)
    .execute(&mut **tx)
    .await?;
    match notify {
        NotifyMode::Batch => {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(EVENTS_CHANNEL)
                .bind(format!("{}:{}", last.job_id, last.seq))
                .execute(&mut **tx)
                .await?;
        }
        NotifyMode::PerRow => {
            for event in events {
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(ROW_EVENTS_CHANNEL)
                    .bind(&*event.json)
                    .execute(&mut **tx)
                    .await?;
            }
        }
    }
    Ok(())
}

/// Writes a job's end (or pause) and its event in `tx`; `None` if `holder` does not hold the job.
/// What completing sets on a multi-stage job: the whole way through, and a search's last stage.
const COMPLETED_STAGE: &str = "percentage = CASE WHEN kind = 'bulk_send' THEN percentage ELSE 100.0 END, \
     stage = CASE WHEN kind = 'scrape' THEN 'completed' ELSE stage END,";

async fn end_job(
    tx: &mut Transaction<'static, Postgres>,
    job: JobId,
    holder: Holder<'_>,
    end: JobEnd,
    notify: NotifyMode,
) -> StoreResult<Option<StoredEvent>> {
    let now = Utc::now();
    let status = end_status(&end);
    let last_error = match &end {
        JobEnd::Failed { error, .. } => Some(error.clone()),
        _ => None,
    };
    let fence = match holder {
        Holder::Runner(_) => "lease_owner = $4",
        Holder::Nobody => "lease_owner IS NULL AND status IN ('pending', 'paused')",
        Holder::Worker => "kind = 'external' AND status IN ('pending', 'processing')",
    };
    let completed = if status == JobStatus::Completed {
        COMPLETED_STAGE
    } else {
        ""
    };
    let sql = format!(
        "UPDATE jobs SET status = $1, lease_owner = NULL, lease_expires_at = NULL, control = NULL, \
         finished_at = CASE WHEN $1 = 'paused' THEN NULL ELSE now() END, \
         last_error = COALESCE($2, last_error), {completed} \
         last_seq = last_seq + 1, updated_at = now() \
         WHERE id = $3 AND {fence} \
         RETURNING sent, failed, unknown, total, last_seq, started_at, percentage"
    );
    let mut update = sqlx::query(&sql)
        .bind(status.as_str())
        .bind(last_error)
        .bind(job.0);
    if let Holder::Runner(owner) = holder {
        update = update.bind(owner);
    }
    let Some(row) = update.fetch_optional(&mut **tx).await? else {
        return Ok(None);
    };
    let seq = row.get::<i64, _>("last_seq") as u64;
    let progress = with_percentage(
        progress_of(
            row.get("sent"),
            row.get("failed"),
            row.get("unknown"),
            row.get("total"),
        ),
        row.get("percentage"),
    );
    let results = match &end {
        JobEnd::Completed {
            parallel_workers, ..
        } => {
            let devices_used: i64 = sqlx::query_scalar(
                "SELECT COUNT(DISTINCT device_id) FROM items WHERE job_id = $1 AND device_id IS NOT NULL",
            )
            .bind(job.0)
            .fetch_one(&mut **tx)
            .await?;
            let started = row
                .get::<Option<DateTime<Utc>>, _>("started_at")
                .unwrap_or(now);
            let duration = (now - started).num_milliseconds();
            let results = summarise(progress, devices_used as u32, *parallel_workers, duration);
            sqlx::query("UPDATE jobs SET results = $1 WHERE id = $2")
                .bind(serde_json::to_value(&results).expect("results serialise"))
                .bind(job.0)
                .execute(&mut **tx)
                .await?;
            Some(results)
        }
        _ => None,
    };
    let event = StoredEvent::from_msg(&end_event(job, seq, now, end, progress, results));
    insert_events(tx, std::slice::from_ref(&event), notify).await?;
    Ok(Some(event))
}

#[async_trait]
impl Store for PostgresStore {
    async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("./migrations/postgres")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
