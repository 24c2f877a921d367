//! Creating and reading jobs in PostgreSQL, and the requests people make of them.

use crate::server::store::sql_int;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};
use uuid::Uuid;

use super::{PgTx, PostgresStore};
use crate::protocol::lifecycle::{Command, Control};
use crate::protocol::{InstanceView, ItemStatus, ItemView, JobId, JobView};
use crate::server::store::shared::rows::{self, JOB_COLUMNS, job_view};
use crate::server::store::shared::{
    Backend, CommandTx, RUNNING_FENCE, WriteTx, created_event, run_command,
};
use crate::server::store::{
    Created, JobFilter, JobStore, NewBulkJob, StoreResult, StoredEvent, TenantId, Transition,
    item_key,
};

#[async_trait]
impl JobStore for PostgresStore {
    #[tracing::instrument(skip_all, fields(tenant = %new.tenant_id, recipients = new.recipients.len()))]
    async fn create_bulk_job(&self, new: NewBulkJob) -> StoreResult<Created> {
        let id = JobId(Uuid::now_v7());
        let now = Utc::now();
        let mut write = self.write().await?;
        let tx = &mut write.tx;
        // The unique index decides a race between two requests with one key, not a prior SELECT.
        let inserted = sqlx::query(&format!(
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
        .fetch_optional(&mut **tx)
        .await?;
        let Some(row) = inserted else {
            let existing = sqlx::query(&format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = $1 AND idempotency_key = $2"
            ))
            .bind(new.tenant_id.0)
            .bind(new.idempotency_key.as_deref())
            .fetch_one(&mut **tx)
            .await?;
            return Ok(Created::Existing(job_view(&existing)?));
        };
        let keys: Vec<String> = (0..new.recipients.len() as u64)
            .map(|i| item_key(id, i))
            .collect();
        sqlx::query(
            "INSERT INTO items (job_id, idx, recipient, status, idempotency_key, updated_at) \
             SELECT $1, i.ord - 1, i.recipient, 'pending', i.key, $4 \
             FROM UNNEST($2::text[], $3::text[]) WITH ORDINALITY AS i(recipient, key, ord)",
        )
        .bind(id.0)
        .bind(&new.recipients)
        .bind(&keys)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        let job = job_view(&row)?;
        let event = created_event(&job, now);
        write
            .insert_events(std::slice::from_ref(&event), now)
            .await?;
        write.commit().await?;
        Ok(Created::New { job, event })
    }

    async fn job(&self, tenant: TenantId, id: JobId) -> StoreResult<Option<JobView>> {
        let row = sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND tenant_id = $2"
        ))
        .bind(id.0)
        .bind(tenant.0)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(job_view).transpose()
    }

    async fn list_jobs(&self, tenant: TenantId, filter: &JobFilter) -> StoreResult<Vec<JobView>> {
        let mut query = QueryBuilder::<Postgres>::new(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = "
        ));
        query.push_bind(tenant.0);
        if let Some(status) = filter.status {
            query.push(" AND status = ").push_bind(status.as_str());
        }
        if let Some(kind) = filter.kind {
            query.push(" AND kind = ").push_bind(kind.as_str());
        }
        query
            .push(" ORDER BY id DESC LIMIT ")
            .push_bind(filter.limit as i64);
        let rows = query.build().fetch_all(&self.pool).await?;
        rows::all(&rows, job_view)
    }

    async fn events_after(
        &self,
        tenant: TenantId,
        job: JobId,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Option<Vec<StoredEvent>>> {
        if !self.job_in_tenant(tenant, job).await? {
            return Ok(None);
        }
        let rows = sqlx::query(
            "SELECT seq, type, payload FROM events WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(job.0)
        .bind(sql_int(after_seq))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(Some(rows::events(&rows, job)))
    }

    async fn events_before(
        &self,
        tenant: TenantId,
        job: JobId,
        before_seq: u64,
        limit: u32,
    ) -> StoreResult<Option<Vec<StoredEvent>>> {
        if !self.job_in_tenant(tenant, job).await? {
            return Ok(None);
        }
        let rows = sqlx::query(
            "SELECT seq, type, payload FROM events WHERE job_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3",
        )
        .bind(job.0)
        .bind(sql_int(before_seq))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        let mut events = rows::events(&rows, job);
        events.reverse();
        Ok(Some(events))
    }

    async fn items(
        &self,
        tenant: TenantId,
        job: JobId,
        status: Option<ItemStatus>,
        after: Option<u64>,
        limit: u32,
    ) -> StoreResult<Option<Vec<ItemView>>> {
        if !self.job_in_tenant(tenant, job).await? {
            return Ok(None);
        }
        let mut query = QueryBuilder::<Postgres>::new(
            "SELECT idx, recipient, status, device_id, attempts, error, errors, updated_at FROM items WHERE job_id = ",
        );
        query.push_bind(job.0);
        if let Some(status) = status {
            query.push(" AND status = ").push_bind(status.as_str());
        }
        if let Some(after) = after {
            query.push(" AND idx > ").push_bind(sql_int(after));
        }
        query.push(" ORDER BY idx LIMIT ").push_bind(limit as i64);
        let rows = query.build().fetch_all(&self.pool).await?;
        rows::all(&rows, rows::item_view).map(Some)
    }

    async fn list_instances(&self, tenant: TenantId) -> StoreResult<Vec<InstanceView>> {
        let rows = sqlx::query(
            "SELECT i.id, i.hostname, i.started_at, i.last_seen_at, \
             (SELECT coalesce(array_agg(j.id ORDER BY j.id), '{}') FROM jobs j WHERE j.lease_owner = i.id \
                AND j.status = 'processing' AND j.tenant_id = $1) AS tenant_jobs \
             FROM instances i WHERE i.last_seen_at > now() - interval '1 day' ORDER BY i.started_at",
        )
        .bind(tenant.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let tenant_jobs: Vec<JobId> = row
                    .get::<Vec<Uuid>, _>("tenant_jobs")
                    .into_iter()
                    .map(JobId)
                    .collect();
                InstanceView {
                    id: row.get("id"),
                    hostname: row.get("hostname"),
                    started_at: row.get("started_at"),
                    last_seen_at: row.get("last_seen_at"),
                    running_jobs: tenant_jobs.len() as u64,
                    tenant_jobs,
                }
            })
            .collect())
    }

    async fn prune_events(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        Ok(sqlx::query(
            "DELETE FROM events WHERE job_id IN \
             (SELECT id FROM jobs WHERE finished_at IS NOT NULL AND finished_at < $1)",
        )
        .bind(cutoff)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    #[tracing::instrument(skip_all, fields(job_id = %job, ?command))]
    async fn command(
        &self,
        tenant: TenantId,
        job: JobId,
        command: Command,
    ) -> StoreResult<Option<Transition>> {
        run_command(self.write().await?, tenant, job, command).await
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
            RUNNING_FENCE.replace("?1", "$1")
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
            "WITH requeued AS (UPDATE items AS i SET status = 'pending', error = NULL, updated_at = now() \
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
