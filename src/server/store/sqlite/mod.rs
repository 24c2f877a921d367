//! The embedded SQLite store: WAL, a busy timeout, and every write in a `BEGIN IMMEDIATE`
//! transaction behind one in-process gate, so writers queue instead of spinning on the lock.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::DateTime;
use chrono::Utc;
use sqlx::sqlite::SqliteRow;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Sqlite, Transaction};
use tokio::sync::Mutex;

use super::shared::{Backend, COMPLETED_STAGE, Holder, WriteTx};
use super::{Store, StoreError, StoreResult, StoredEvent};
use crate::protocol::{JobId, JobResults, JobStatus};

mod campaigns;
mod engine;
mod jobs;
mod tenants;

/// Rows per multi-row INSERT: 6 binds each stays under SQLite's 32,766 variable limit.
pub(super) const INSERT_CHUNK: usize = 4_000;

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
}

/// A write transaction, behind the in-process write gate.
pub(crate) struct SqliteTx<'a> {
    _gate: tokio::sync::MutexGuard<'a, ()>,
    pub(super) tx: Transaction<'static, Sqlite>,
}

#[async_trait]
impl Backend for SqliteStore {
    type Row = SqliteRow;
    type Tx<'a> = SqliteTx<'a>;

    async fn write(&self) -> StoreResult<SqliteTx<'_>> {
        let gate = self.write_turn().await;
        let tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        Ok(SqliteTx { _gate: gate, tx })
    }
}

#[async_trait]
impl WriteTx for SqliteTx<'_> {
    type Row = SqliteRow;

    async fn insert_events(
        &mut self,
        events: &[StoredEvent],
        now: DateTime<Utc>,
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
                    .push_bind(millis(now));
            });
            insert.build().execute(&mut *self.tx).await?;
        }
        Ok(())
    }

    async fn end_row(
        &mut self,
        job: JobId,
        holder: Holder<'_>,
        status: JobStatus,
        last_error: Option<String>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<SqliteRow>> {
        let finished = (status != JobStatus::Paused).then_some(millis(now));
        let completed = if status == JobStatus::Completed {
            COMPLETED_STAGE
        } else {
            ""
        };
        let sql = format!(
            "UPDATE jobs SET status = ?, lease_owner = NULL, lease_expires_at = NULL, control = NULL, \
             finished_at = ?, last_error = COALESCE(?, last_error), {completed} \
             last_seq = last_seq + 1, updated_at = ? WHERE id = ? AND {} \
             RETURNING sent, failed, unknown, total, last_seq, started_at, percentage",
            holder.end_fence("?")
        );
        let mut update = sqlx::query(&sql)
            .bind(status.as_str())
            .bind(finished)
            .bind(last_error)
            .bind(millis(now))
            .bind(job.to_string());
        if let Some(owner) = holder.owner() {
            update = update.bind(owner);
        }
        Ok(update.fetch_optional(&mut *self.tx).await?)
    }

    async fn devices_used(&mut self, job: JobId) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(DISTINCT device_id) FROM items WHERE job_id = ? AND device_id IS NOT NULL",
        )
        .bind(job.to_string())
        .fetch_one(&mut *self.tx)
        .await?)
    }

    async fn set_results(&mut self, job: JobId, results: &JobResults) -> StoreResult<()> {
        sqlx::query("UPDATE jobs SET results = ? WHERE id = ?")
            .bind(serde_json::to_string(results).expect("results serialise"))
            .bind(job.to_string())
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn commit(self) -> StoreResult<()> {
        Ok(self.tx.commit().await?)
    }
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
