//! The PostgreSQL store: several instances, one database. Native types (uuid, timestamptz,
//! jsonb), claims with `FOR UPDATE SKIP LOCKED`, lease times from the database's clock (so clock
//! skew between machines cannot expire a live lease), and one `NOTIFY` per committed batch.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Transaction};

use super::shared::{Backend, COMPLETED_STAGE, Holder, WriteTx};
use super::{Store, StoreResult, StoredEvent};
use crate::protocol::{JobId, JobResults, JobStatus};

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

/// jobpulse's state in a PostgreSQL database.
pub struct PostgresStore {
    pool: PgPool,
    notify: NotifyMode,
    writes: AtomicU64,
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
}

/// A write transaction; its events are announced at commit.
pub(crate) struct PgTx {
    notify: NotifyMode,
    pub(super) tx: Transaction<'static, Postgres>,
}

#[async_trait]
impl Backend for PostgresStore {
    type Row = PgRow;
    type Tx<'a> = PgTx;

    async fn write(&self) -> StoreResult<PgTx> {
        self.writes.fetch_add(1, Ordering::Relaxed);
        Ok(PgTx {
            notify: self.notify,
            tx: self.pool.begin().await?,
        })
    }
}

#[async_trait]
impl WriteTx for PgTx {
    type Row = PgRow;

    /// Inserts events and announces them (both take effect at commit, or not at all).
    async fn insert_events(
        &mut self,
        events: &[StoredEvent],
        _now: DateTime<Utc>,
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
        .execute(&mut *self.tx)
        .await?;
        match self.notify {
            NotifyMode::Batch => {
                sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(EVENTS_CHANNEL)
                    .bind(format!("{}:{}", last.job_id, last.seq))
                    .execute(&mut *self.tx)
                    .await?;
            }
            NotifyMode::PerRow => {
                for event in events {
                    sqlx::query("SELECT pg_notify($1, $2)")
                        .bind(ROW_EVENTS_CHANNEL)
                        .bind(&*event.json)
                        .execute(&mut *self.tx)
                        .await?;
                }
            }
        }
        Ok(())
    }

    async fn end_row(
        &mut self,
        job: JobId,
        holder: Holder<'_>,
        status: JobStatus,
        last_error: Option<String>,
        _now: DateTime<Utc>,
    ) -> StoreResult<Option<PgRow>> {
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
             WHERE id = $3 AND {} \
             RETURNING sent, failed, unknown, total, last_seq, started_at, percentage",
            holder.end_fence("$4")
        );
        let mut update = sqlx::query(&sql)
            .bind(status.as_str())
            .bind(last_error)
            .bind(job.0);
        if let Some(owner) = holder.owner() {
            update = update.bind(owner);
        }
        Ok(update.fetch_optional(&mut *self.tx).await?)
    }

    async fn devices_used(&mut self, job: JobId) -> StoreResult<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(DISTINCT device_id) FROM items WHERE job_id = $1 AND device_id IS NOT NULL",
        )
        .bind(job.0)
        .fetch_one(&mut *self.tx)
        .await?)
    }

    async fn set_results(&mut self, job: JobId, results: &JobResults) -> StoreResult<()> {
        sqlx::query("UPDATE jobs SET results = $1 WHERE id = $2")
            .bind(serde_json::to_value(results).expect("results serialise"))
            .bind(job.0)
            .execute(&mut *self.tx)
            .await?;
        Ok(())
    }

    async fn commit(self) -> StoreResult<()> {
        Ok(self.tx.commit().await?)
    }
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
