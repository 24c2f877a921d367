//! Creating and reading jobs, and the requests people make of them (cancel, pause, resume, retry).

use crate::server::store::sql_int;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};
use uuid::Uuid;

use super::{INSERT_CHUNK, SqliteStore, SqliteTx, millis};
use crate::protocol::lifecycle::{Command, Control};
use crate::protocol::{InstanceView, ItemStatus, ItemView, JobId, JobView};
use crate::server::store::shared::rows::{self, Cols, JOB_COLUMNS, job_view};
use crate::server::store::shared::{
    Backend, CommandTx, RUNNING_FENCE, WriteTx, created_event, run_command,
};
use crate::server::store::{
    Created, JobFilter, JobStore, NewBulkJob, StoreError, StoreResult, StoredEvent, TenantId,
    Transition, item_key,
};

#[async_trait]
impl JobStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(tenant = %new.tenant_id, recipients = new.recipients.len()))]
    async fn create_bulk_job(&self, new: NewBulkJob) -> StoreResult<Created> {
        let id = JobId(Uuid::now_v7());
        let now = Utc::now();
        let now_ms = millis(now);
        let total = new.recipients.len() as i64;
        let mut write = self.write().await?;
        let tx = &mut write.tx;
        // The unique index decides a race between two requests with one key, not a prior SELECT.
        let inserted = sqlx::query(
            "INSERT INTO jobs (id, tenant_id, kind, status, idempotency_key, message, devices_limit, \
             total, skipped, last_seq, created_at, updated_at) \
             VALUES (?, ?, 'bulk_send', 'pending', ?, ?, ?, ?, ?, 1, ?, ?) \
             ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING",
        )
        .bind(id.to_string())
        .bind(new.tenant_id.to_string())
        .bind(new.idempotency_key.as_deref())
        .bind(&new.message)
        .bind(new.devices_limit as i64)
        .bind(total)
        .bind(new.skipped as i64)
        .bind(now_ms)
        .bind(now_ms)
        .execute(&mut **tx)
        .await?;
        if inserted.rows_affected() == 0 {
            let row = sqlx::query(&format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = ? AND idempotency_key = ?"
            ))
            .bind(new.tenant_id.to_string())
            .bind(new.idempotency_key.as_deref())
            .fetch_one(&mut **tx)
            .await?;
            return Ok(Created::Existing(job_view(&row)?));
        }

        let job_id = id.to_string();
        for (chunk_no, chunk) in new.recipients.chunks(INSERT_CHUNK).enumerate() {
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
                    .push_bind(item_key(id, idx))
                    .push_bind(now_ms);
            });
            insert.build().execute(&mut **tx).await?;
        }

        let row = sqlx::query(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?"))
            .bind(&job_id)
            .fetch_one(&mut **tx)
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
            "SELECT {JOB_COLUMNS} FROM jobs WHERE id = ? AND tenant_id = ?"
        ))
        .bind(id.to_string())
        .bind(tenant.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(job_view).transpose()
    }

    async fn list_jobs(&self, tenant: TenantId, filter: &JobFilter) -> StoreResult<Vec<JobView>> {
        let mut query = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = "
        ));
        query.push_bind(tenant.to_string());
        if let Some(status) = filter.status {
            query.push(" AND status = ").push_bind(status.as_str());
        }
        if let Some(kind) = filter.kind {
            query.push(" AND kind = ").push_bind(kind.as_str());
        }
        // UUID v7 ids sort by creation time.
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
            "SELECT seq, type, payload FROM events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(job.to_string())
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
            "SELECT seq, type, payload FROM events WHERE job_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
        )
        .bind(job.to_string())
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
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT idx, recipient, status, device_id, attempts, error, errors, updated_at FROM items WHERE job_id = ",
        );
        query.push_bind(job.to_string());
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
        rows.into_iter()
            .map(|row| {
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
                Ok(InstanceView {
                    id: row.get("id"),
                    hostname: row.get("hostname"),
                    started_at: row.time("started_at"),
                    last_seen_at: row.time("last_seen_at"),
                    running_jobs: tenant_jobs.len() as u64,
                    tenant_jobs,
                })
            })
            .collect()
    }

    async fn prune_events(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
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
                "UPDATE items SET status = 'pending', error = NULL, updated_at = ? \
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
