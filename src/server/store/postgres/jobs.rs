//! Creating and reading jobs, and the requests people make of them, in PostgreSQL: the SQL
//! under `shared::jobs` and `shared::run_command`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{PgTx, PostgresStore};
use crate::protocol::JobId;
use crate::server::store::shared::CommandTx;
use crate::server::store::shared::jobs::{BulkTx, JobSql};
use crate::server::store::{StoreResult, item_key};

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
impl JobSql for PostgresStore {}

#[async_trait]
impl CommandTx for PgTx {}
