//! Creating and reading jobs, and the requests people make of them, in SQLite: the SQL under
//! `shared::jobs` and `shared::run_command`.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Sqlite};

use super::{INSERT_CHUNK, SqliteStore, SqliteTx, millis};
use crate::protocol::JobId;
use crate::server::store::shared::CommandTx;
use crate::server::store::shared::jobs::{BulkTx, JobSql};
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

#[async_trait]
impl JobSql for SqliteStore {}

#[async_trait]
impl CommandTx for SqliteTx<'_> {}
