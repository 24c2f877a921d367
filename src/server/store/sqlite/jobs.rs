//! Creating and reading jobs, and the requests people make of them, in SQLite: the SQL under
//! `shared::jobs` and `shared::run_command`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};
use uuid::Uuid;

use super::{INSERT_CHUNK, SqliteStore, SqliteTx, millis};
use crate::protocol::lifecycle::Control;
use crate::protocol::{InstanceView, ItemStatus, JobId};
use crate::server::store::shared::jobs::{
    BulkTx, JobSql, Seqs, events_sql, items_query, jobs_query,
};
use crate::server::store::shared::rows::{self, JOB_COLUMNS};
use crate::server::store::shared::{Backend, CommandTx, RUNNING_FENCE, WriteTx};
use crate::server::store::{
    JobFilter, NewBulkJob, StoreError, StoreResult, TenantId, item_key, sql_int,
};

#[async_trait]
impl BulkTx for SqliteTx<'_> {
    async fn insert_bulk_job(
        &mut self,
        id: JobId,
        new: &NewBulkJob,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<SqliteRow>> {
        Ok(sqlx::query(&format!(
            "INSERT INTO jobs (id, tenant_id, kind, status, idempotency_key, message, devices_limit, \
             total, skipped, last_seq, created_at, updated_at) \
             VALUES (?1, ?2, 'bulk_send', 'pending', ?3, ?4, ?5, ?6, ?7, 1, ?8, ?8) \
             ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING \
             RETURNING {JOB_COLUMNS}"
        ))
        .bind(id.to_string())
        .bind(new.tenant_id.to_string())
        .bind(new.idempotency_key.as_deref())
        .bind(&new.message)
        .bind(new.devices_limit as i64)
        .bind(new.recipients.len() as i64)
        .bind(new.skipped as i64)
        .bind(millis(now))
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    async fn job_by_key(&mut self, tenant: TenantId, key: Option<&str>) -> StoreResult<SqliteRow> {
        Ok(sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = ? AND idempotency_key = ?"
        ))
        .bind(tenant.to_string())
        .bind(key)
        .fetch_one(&mut *self.tx)
        .await?)
    }

    async fn insert_recipients(
        &mut self,
        job: JobId,
        recipients: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let job_id = job.to_string();
        for (chunk_no, chunk) in recipients.chunks(INSERT_CHUNK).enumerate() {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO items (job_id, idx, recipient, status, idempotency_key, updated_at) ",
            );
            let first = chunk_no * INSERT_CHUNK;
            insert.push_values(chunk.iter().enumerate(), |mut row, (i, recipient)| {
                let idx = (first + i) as u64;
                row.push_bind(job_id.clone())
                    .push_bind(idx as i64)
                    .push_bind(recipient.clone())
                    .push_bind("pending")
                    .push_bind(item_key(job, idx))
                    .push_bind(millis(now));
            });
            insert.build().execute(&mut *self.tx).await?;
        }
        Ok(())
    }
}

#[async_trait]
impl JobSql for SqliteStore {
    async fn job_in_tenant(&self, tenant: TenantId, job: JobId) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 FROM jobs WHERE id = ? AND tenant_id = ?")
            .bind(job.to_string())
            .bind(tenant.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    async fn job_row(&self, tenant: TenantId, job: JobId) -> StoreResult<Option<SqliteRow>> {
        Ok(sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE id = ? AND tenant_id = ?"
        ))
        .bind(job.to_string())
        .bind(tenant.to_string())
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn job_rows(&self, tenant: TenantId, filter: &JobFilter) -> StoreResult<Vec<SqliteRow>> {
        let mut query = jobs_query::<Sqlite>(tenant.to_string(), filter);
        Ok(query.build().fetch_all(&self.pool).await?)
    }

    async fn event_rows(&self, job: JobId, seqs: Seqs, limit: u32) -> StoreResult<Vec<SqliteRow>> {
        let (sql, seq) = events_sql(seqs);
        Ok(sqlx::query(sql)
            .bind(job.to_string())
            .bind(sql_int(seq))
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await?)
    }

    async fn item_rows(
        &self,
        job: JobId,
        status: Option<ItemStatus>,
        after: Option<u64>,
        limit: u32,
    ) -> StoreResult<Vec<SqliteRow>> {
        let mut query = items_query::<Sqlite>(job.to_string(), status, after, limit);
        Ok(query.build().fetch_all(&self.pool).await?)
    }

    async fn instances(&self, tenant: TenantId) -> StoreResult<Vec<InstanceView>> {
        let cutoff = millis(Utc::now() - chrono::Duration::days(1));
        let rows = sqlx::query(
            "SELECT i.id, i.hostname, i.started_at, i.last_seen_at, \
             (SELECT group_concat(j.id) FROM jobs j WHERE j.lease_owner = i.id \
                AND j.status = 'processing' AND j.tenant_id = ?) AS tenant_jobs \
             FROM instances i WHERE i.last_seen_at > ? ORDER BY i.started_at",
        )
        .bind(tenant.to_string())
        .bind(cutoff)
        .fetch_all(&self.pool)
        .await?;
        rows::all(&rows, |row| {
            let tenant_jobs = row
                .get::<Option<String>, _>("tenant_jobs")
                .unwrap_or_default()
                .split(',')
                .filter(|id| !id.is_empty())
                .map(|id| {
                    Uuid::parse_str(id)
                        .map(JobId)
                        .map_err(|e| StoreError::Corrupt(format!("bad id {id:?}: {e}")))
                })
                .collect::<StoreResult<Vec<_>>>()?;
            Ok(rows::instance(row, tenant_jobs))
        })
    }

    async fn delete_old_events(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        let mut tx = self.write().await?;
        let deleted = sqlx::query(
            "DELETE FROM events WHERE job_id IN \
             (SELECT id FROM jobs WHERE finished_at IS NOT NULL AND finished_at < ?)",
        )
        .bind(millis(cutoff))
        .execute(&mut *tx.tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(deleted)
    }
}

#[async_trait]
impl CommandTx for SqliteTx<'_> {
    async fn locked_job(&mut self, tenant: TenantId, job: JobId) -> StoreResult<Option<SqliteRow>> {
        // Read inside the write transaction, so nothing changes it before we do.
        Ok(sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE id = ? AND tenant_id = ?"
        ))
        .bind(job.to_string())
        .bind(tenant.to_string())
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    async fn job_row(&mut self, job: JobId) -> StoreResult<SqliteRow> {
        Ok(
            sqlx::query(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?"))
                .bind(job.to_string())
                .fetch_one(&mut *self.tx)
                .await?,
        )
    }

    async fn ask(&mut self, job: JobId, control: Control) -> StoreResult<bool> {
        let asked = sqlx::query(&format!(
            "UPDATE jobs SET control = ?1, updated_at = ?2 WHERE id = ?3 AND {RUNNING_FENCE} \
             RETURNING id"
        ))
        .bind(control.column())
        .bind(millis(Utc::now()))
        .bind(job.to_string())
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(asked.is_some())
    }

    async fn requeue_items(
        &mut self,
        job: JobId,
        statuses: &[ItemStatus],
    ) -> StoreResult<(i64, i64)> {
        let (mut failed, mut unknown) = (0_i64, 0_i64);
        for status in statuses {
            let requeued = sqlx::query(
                "UPDATE items SET status = 'pending', error = NULL, fault = NULL, updated_at = ? \
                 WHERE job_id = ? AND status = ?",
            )
            .bind(millis(Utc::now()))
            .bind(job.to_string())
            .bind(status.as_str())
            .execute(&mut *self.tx)
            .await?
            .rows_affected() as i64;
            match status {
                ItemStatus::Unknown => unknown += requeued,
                _ => failed += requeued,
            }
        }
        Ok((failed, unknown))
    }

    async fn requeue_job(
        &mut self,
        job: JobId,
        failed: i64,
        unknown: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<SqliteRow> {
        Ok(sqlx::query(&format!(
            "UPDATE jobs SET status = 'pending', control = NULL, finished_at = NULL, results = NULL, \
             failed = failed - ?, unknown = unknown - ?, last_seq = last_seq + 1, updated_at = ? \
             WHERE id = ? RETURNING {JOB_COLUMNS}"
        ))
        .bind(failed)
        .bind(unknown)
        .bind(millis(now))
        .bind(job.to_string())
        .fetch_one(&mut *self.tx)
        .await?)
    }
}
