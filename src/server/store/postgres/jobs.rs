//! Creating a bulk send's items in PostgreSQL: one insert from `UNNEST`ed arrays.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PgTx;
use crate::protocol::JobId;
use crate::server::store::shared::jobs::BulkTx;
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
