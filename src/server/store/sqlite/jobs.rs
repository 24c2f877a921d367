//! Creating and reading jobs, and the requests people make of them, in SQLite: the SQL under
//! `shared::jobs` and `shared::run_command`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Row, Sqlite};
use uuid::Uuid;

use super::{INSERT_CHUNK, SqliteStore, SqliteTx, millis};
use crate::protocol::{InstanceView, ItemStatus, JobId};
use crate::server::store::shared::CommandTx;
use crate::server::store::shared::jobs::{BulkTx, JobSql};
use crate::server::store::shared::rows;
use crate::server::store::{StoreError, StoreResult, TenantId, item_key};

#[async_trait]
impl BulkTx for SqliteTx<'_> {
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
}

#[async_trait]
impl CommandTx for SqliteTx<'_> {
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
}
