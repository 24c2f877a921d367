//! Creating and reading jobs, and the requests people make of them, in PostgreSQL: the SQL
//! under `shared::jobs` and `shared::run_command`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, Row};
use uuid::Uuid;

use super::{PgTx, PostgresStore};
use crate::protocol::lifecycle::Control;
use crate::protocol::{InstanceView, ItemStatus, JobId};
use crate::server::store::shared::jobs::{
    BulkTx, JobSql, Seqs, events_sql, items_query, jobs_query,
};
use crate::server::store::shared::rows::{self, JOB_COLUMNS};
use crate::server::store::shared::{CommandTx, RUNNING_FENCE, dollars};
use crate::server::store::{JobFilter, NewBulkJob, StoreResult, TenantId, item_key, sql_int};

#[async_trait]
impl BulkTx for PgTx {
    async fn insert_bulk_job(
        &mut self,
        id: JobId,
        new: &NewBulkJob,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<PgRow>> {
        Ok(sqlx::query(&format!(
            "INSERT INTO jobs (id, tenant_id, kind, status, idempotency_key, message, devices_limit, \
             total, skipped, last_seq, created_at, updated_at) \
             VALUES ($1, $2, 'bulk_send', 'pending', $3, $4, $5, $6, $7, 1, $8, $8) \
             ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING \
             RETURNING {JOB_COLUMNS}"
        ))
        .bind(id.0)
        .bind(new.tenant_id.0)
        .bind(new.idempotency_key.as_deref())
        .bind(&new.message)
        .bind(new.devices_limit as i32)
        .bind(new.recipients.len() as i64)
        .bind(new.skipped as i64)
        .bind(now)
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    async fn job_by_key(&mut self, tenant: TenantId, key: Option<&str>) -> StoreResult<PgRow> {
        Ok(sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = $1 AND idempotency_key = $2"
        ))
        .bind(tenant.0)
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
        let keys: Vec<String> = (0..recipients.len() as u64)
            .map(|i| item_key(job, i))
            .collect();
        sqlx::query(
            "INSERT INTO items (job_id, idx, recipient, status, idempotency_key, updated_at) \
             SELECT $1, i.ord - 1, i.recipient, 'pending', i.key, $4 \
             FROM UNNEST($2::text[], $3::text[]) WITH ORDINALITY AS i(recipient, key, ord)",
        )
        .bind(job.0)
        .bind(recipients)
        .bind(&keys)
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }
}

#[async_trait]
impl JobSql for PostgresStore {
    async fn job_in_tenant(&self, tenant: TenantId, job: JobId) -> StoreResult<bool> {
        let row = sqlx::query("SELECT 1 FROM jobs WHERE id = $1 AND tenant_id = $2")
            .bind(job.0)
            .bind(tenant.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    async fn job_row(&self, tenant: TenantId, job: JobId) -> StoreResult<Option<PgRow>> {
        Ok(sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND tenant_id = $2"
        ))
        .bind(job.0)
        .bind(tenant.0)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn job_rows(&self, tenant: TenantId, filter: &JobFilter) -> StoreResult<Vec<PgRow>> {
        let mut query = jobs_query::<Postgres>(tenant.0, filter);
        Ok(query.build().fetch_all(&self.pool).await?)
    }

    async fn event_rows(&self, job: JobId, seqs: Seqs, limit: u32) -> StoreResult<Vec<PgRow>> {
        let (sql, seq) = events_sql(seqs);
        let sql = dollars(sql);
        Ok(sqlx::query(&sql)
            .bind(job.0)
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
    ) -> StoreResult<Vec<PgRow>> {
        let mut query = items_query::<Postgres>(job.0, status, after, limit);
        Ok(query.build().fetch_all(&self.pool).await?)
    }

    async fn instances(&self, tenant: TenantId) -> StoreResult<Vec<InstanceView>> {
        let rows = sqlx::query(
            "SELECT i.id, i.hostname, i.started_at, i.last_seen_at, \
             (SELECT coalesce(array_agg(j.id ORDER BY j.id), '{}') FROM jobs j WHERE j.lease_owner = i.id \
                AND j.status = 'processing' AND j.tenant_id = $1) AS tenant_jobs \
             FROM instances i WHERE i.last_seen_at > now() - interval '1 day' ORDER BY i.started_at",
        )
        .bind(tenant.0)
        .fetch_all(&self.pool)
        .await?;
        rows::all(&rows, |row| {
            let tenant_jobs = row.get::<Vec<Uuid>, _>("tenant_jobs");
            Ok(rows::instance(
                row,
                tenant_jobs.into_iter().map(JobId).collect(),
            ))
        })
    }

    async fn delete_old_events(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        Ok(sqlx::query(
            "DELETE FROM events WHERE job_id IN \
             (SELECT id FROM jobs WHERE finished_at IS NOT NULL AND finished_at < $1)",
        )
        .bind(cutoff)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }
}

#[async_trait]
impl CommandTx for PgTx {
    async fn locked_job(&mut self, tenant: TenantId, job: JobId) -> StoreResult<Option<PgRow>> {
        Ok(sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND tenant_id = $2 FOR UPDATE"
        ))
        .bind(job.0)
        .bind(tenant.0)
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    async fn job_row(&mut self, job: JobId) -> StoreResult<PgRow> {
        Ok(
            sqlx::query(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1"))
                .bind(job.0)
                .fetch_one(&mut *self.tx)
                .await?,
        )
    }

    async fn ask(&mut self, job: JobId, control: Control) -> StoreResult<bool> {
        let asked = sqlx::query(&format!(
            "UPDATE jobs SET control = $1, updated_at = now() WHERE id = $2 AND {} RETURNING id",
            dollars(RUNNING_FENCE)
        ))
        .bind(control.column())
        .bind(job.0)
        .fetch_optional(&mut *self.tx)
        .await?;
        Ok(asked.is_some())
    }

    async fn requeue_items(
        &mut self,
        job: JobId,
        statuses: &[ItemStatus],
    ) -> StoreResult<(i64, i64)> {
        let names: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
        // The self-join exposes each row's status from before the update.
        let counts = sqlx::query(
            "WITH requeued AS (UPDATE items AS i SET status = 'pending', error = NULL, fault = NULL, updated_at = now() \
               FROM items AS before \
               WHERE i.job_id = $1 AND before.job_id = i.job_id AND before.idx = i.idx \
               AND i.status = ANY($2) \
               RETURNING before.status AS was) \
             SELECT count(*) FILTER (WHERE was = 'failed') AS failed, \
                    count(*) FILTER (WHERE was = 'unknown') AS unknown FROM requeued",
        )
        .bind(job.0)
        .bind(&names)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok((counts.get("failed"), counts.get("unknown")))
    }

    async fn requeue_job(
        &mut self,
        job: JobId,
        failed: i64,
        unknown: i64,
        _now: DateTime<Utc>,
    ) -> StoreResult<PgRow> {
        Ok(sqlx::query(&format!(
            "UPDATE jobs SET status = 'pending', control = NULL, finished_at = NULL, results = NULL, \
             failed = failed - $1, unknown = unknown - $2, last_seq = last_seq + 1, updated_at = now() \
             WHERE id = $3 RETURNING {JOB_COLUMNS}"
        ))
        .bind(failed)
        .bind(unknown)
        .bind(job.0)
        .fetch_one(&mut *self.tx)
        .await?)
    }
}
