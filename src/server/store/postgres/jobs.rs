//! Creating and reading jobs, and the requests people make of them, in PostgreSQL: the SQL
//! under `shared::jobs` and `shared::run_command`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use uuid::Uuid;

use super::{PgTx, PostgresStore};
use crate::protocol::{InstanceView, ItemStatus, JobId};
use crate::server::store::shared::CommandTx;
use crate::server::store::shared::jobs::{BulkTx, JobSql};
use crate::server::store::shared::rows;
use crate::server::store::{StoreResult, TenantId, item_key};

#[async_trait]
impl BulkTx for PgTx {
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
}

#[async_trait]
impl CommandTx for PgTx {
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
}
