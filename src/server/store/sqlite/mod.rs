//! The embedded SQLite store: WAL, a busy timeout, and every write in a `BEGIN IMMEDIATE`
//! transaction behind one in-process gate, so writers queue instead of spinning on the lock.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::DateTime;
use chrono::Utc;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use tokio::sync::Mutex;
use uuid::Uuid;

use super::shared::{end_event, end_status, stages_of, summarise, with_percentage};
use super::{JobEnd, Store, StoreError, StoreResult, StoredEvent, TenantId, progress_of};
use crate::protocol::{JobId, JobKind, JobResults, JobStatus, JobView};

mod campaigns;
mod engine;
mod jobs;
mod tenants;

/// Rows per multi-row INSERT: 6 binds each stays under SQLite's 32,766 variable limit.
pub(super) const INSERT_CHUNK: usize = 4_000;

pub(super) const JOB_COLUMNS: &str = "id, kind, status, created_at, started_at, finished_at, sent, failed, \
     unknown, total, stage, last_error, last_seq, skipped, devices_limit, message, results, \
     campaign_id, name, params, percentage, stage_message, stage_note";

/// jobpulse's state in one SQLite file.
pub struct SqliteStore {
    pool: SqlitePool,
    /// Write transactions committed or attempted, for benchmarks and metrics.
    writes: std::sync::atomic::AtomicU64,
    /// One writer at a time in this process; other processes wait on SQLite's busy timeout.
    write_gate: Mutex<()>,
}

pub(super) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(super) fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

pub(super) fn parse_uuid(s: &str) -> StoreResult<Uuid> {
    Uuid::parse_str(s).map_err(|e| StoreError::Corrupt(format!("bad id {s:?}: {e}")))
}

#[derive(sqlx::FromRow)]
pub(super) struct JobRow {
    id: String,
    kind: String,
    status: String,
    created_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    sent: i64,
    failed: i64,
    unknown: i64,
    total: i64,
    stage: Option<String>,
    last_error: Option<String>,
    last_seq: i64,
    skipped: i64,
    devices_limit: i64,
    message: Option<String>,
    results: Option<String>,
    campaign_id: Option<String>,
    name: Option<String>,
    pub(super) params: Option<String>,
    percentage: Option<f64>,
    stage_message: Option<String>,
    stage_note: Option<String>,
}

impl JobRow {
    pub(super) fn into_view(self) -> StoreResult<JobView> {
        let corrupt = |e: crate::protocol::UnknownValue| StoreError::Corrupt(e.to_string());
        Ok(JobView {
            id: JobId(parse_uuid(&self.id)?),
            kind: JobKind::from_str(&self.kind).map_err(corrupt)?,
            status: JobStatus::from_str(&self.status).map_err(corrupt)?,
            created_at: from_millis(self.created_at),
            started_at: self.started_at.map(from_millis),
            finished_at: self.finished_at.map(from_millis),
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
            results: match self.results {
                Some(json) => Some(
                    serde_json::from_str::<JobResults>(&json)
                        .map_err(|e| StoreError::Corrupt(format!("job results: {e}")))?,
                ),
                None => None,
            },
            campaign_id: self.campaign_id.as_deref().map(parse_uuid).transpose()?,
            name: self.name,
            stages: stages_of(
                self.params
                    .as_deref()
                    .map(serde_json::from_str)
                    .transpose()
                    .ok()
                    .flatten(),
            ),
            stage_message: self.stage_message,
            // A note this version cannot read falls back to the sentence beside it.
            stage_note: self
                .stage_note
                .and_then(|note| serde_json::from_str(&note).ok()),
        })
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url`, e.g. `sqlite://data/jobpulse.db`.
    pub async fn connect(url: &str) -> StoreResult<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true)
            .pragma("temp_store", "memory");
        if let Some(dir) = options.get_filename().parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Conflict(format!("cannot create the folder {}: {e}", dir.display()))
            })?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            .connect_with(options)
            .await?;
        Ok(SqliteStore {
            pool,
            writes: std::sync::atomic::AtomicU64::new(0),
            write_gate: Mutex::new(()),
        })
    }

    /// Write transactions begun since the store was opened.
    pub fn write_count(&self) -> u64 {
        self.writes.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Waits for this process's turn to write (one writer at a time), counting the write.
    pub(super) async fn write_turn(&self) -> tokio::sync::MutexGuard<'_, ()> {
        let gate = self.write_gate.lock().await;
        self.writes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        gate
    }

    pub(super) async fn write_tx(
        &self,
    ) -> StoreResult<(
        tokio::sync::MutexGuard<'_, ()>,
        Transaction<'static, Sqlite>,
    )> {
        let gate = self.write_turn().await;
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok((gate, tx))
    }

    pub(super) async fn job_in_tenant(&self, tenant: TenantId, job: JobId) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 FROM jobs WHERE id = ? AND tenant_id = ?")
            .bind(job.to_string())
            .bind(tenant.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }
}

pub(super) async fn insert_events(
    tx: &mut Transaction<'static, Sqlite>,
    events: &[StoredEvent],
    now: i64,
) -> StoreResult<()> {
    for chunk in events.chunks(INSERT_CHUNK) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO events (job_id, seq, type, payload, created_at) ",
        );
        insert.push_values(chunk, |mut row, event| {
            row.push_bind(event.job_id.to_string())
                .push_bind(event.seq as i64)
                .push_bind(event.kind.clone())
                .push_bind(event.json.to_string())
                .push_bind(now);
        });
        insert.build().execute(&mut **tx).await?;
    }
    Ok(())
}

pub(super) fn event_rows(rows: Vec<sqlx::sqlite::SqliteRow>, job: JobId) -> Vec<StoredEvent> {
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
pub(super) enum Holder<'a> {
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

/// Writes a job's end (or pause) and its event in `tx`; `None` if `holder` does not hold the job.
/// What completing sets on a multi-stage job: the whole way through, and a search's last stage.
const COMPLETED_STAGE: &str = "percentage = CASE WHEN kind = 'bulk_send' THEN percentage ELSE 100.0 END, \
     stage = CASE WHEN kind = 'scrape' THEN 'completed' ELSE stage END,";

pub(super) async fn end_job(
    tx: &mut Transaction<'static, Sqlite>,
    job: JobId,
    holder: Holder<'_>,
    end: JobEnd,
) -> StoreResult<Option<StoredEvent>> {
    let now = Utc::now();
    let now_ms = millis(now);
    let status = end_status(&end);
    let finished = (status != JobStatus::Paused).then_some(now_ms);
    let last_error = match &end {
        JobEnd::Failed { error, .. } => Some(error.clone()),
        _ => None,
    };
    let fence = match holder {
        Holder::Runner(_) => "lease_owner = ?",
        Holder::Nobody => "lease_owner IS NULL AND status IN ('pending', 'paused')",
        Holder::Worker => "kind = 'external' AND status IN ('pending', 'processing')",
    };
    let completed = if status == JobStatus::Completed {
        COMPLETED_STAGE
    } else {
        ""
    };
    let sql = format!(
        "UPDATE jobs SET status = ?, lease_owner = NULL, lease_expires_at = NULL, control = NULL, \
         finished_at = ?, last_error = COALESCE(?, last_error), {completed} \
         last_seq = last_seq + 1, updated_at = ? WHERE id = ? AND {fence} \
         RETURNING sent, failed, unknown, total, last_seq, started_at, percentage"
    );
    let mut update = sqlx::query(&sql)
        .bind(status.as_str())
        .bind(finished)
        .bind(last_error)
        .bind(now_ms)
        .bind(job.to_string());
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
                "SELECT COUNT(DISTINCT device_id) FROM items WHERE job_id = ? AND device_id IS NOT NULL",
            )
            .bind(job.to_string())
            .fetch_one(&mut **tx)
            .await?;
            let started = row.get::<Option<i64>, _>("started_at").unwrap_or(now_ms);
            let results = summarise(
                progress,
                devices_used as u32,
                *parallel_workers,
                now_ms - started,
            );
            sqlx::query("UPDATE jobs SET results = ? WHERE id = ?")
                .bind(serde_json::to_string(&results).expect("results serialise"))
                .bind(job.to_string())
                .execute(&mut **tx)
                .await?;
            Some(results)
        }
        _ => None,
    };
    let msg = end_event(job, seq, now, end, progress, results);
    let event = StoredEvent::from_msg(&msg);
    insert_events(tx, std::slice::from_ref(&event), now_ms).await?;
    Ok(Some(event))
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("./migrations/sqlite")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
