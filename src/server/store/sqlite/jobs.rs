//! Creating a bulk send's items in SQLite: multi-row inserts, chunked under its variable limit.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Sqlite};

use super::{INSERT_CHUNK, SqliteTx, millis};
use crate::protocol::JobId;
use crate::server::store::shared::jobs::BulkTx;
use crate::server::store::{StoreResult, item_key};

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
