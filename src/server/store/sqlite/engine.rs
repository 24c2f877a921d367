//! What runners do that SQLite writes its own way: taking items (the write gate orders takers),
//! a batch of outcomes as one JSON-driven upsert, and items marked in chunks.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Sqlite};

use super::{INSERT_CHUNK, SqliteStore, SqliteTx, millis};
use crate::protocol::JobId;
use crate::server::store::shared::engine::EngineSql;
use crate::server::store::shared::sql::{Sql, args};
use crate::server::store::shared::{Backend, EngineTx, WriteTx};
use crate::server::store::{ItemOutcome, StoreError, StoreResult};

#[async_trait]
impl EngineTx for SqliteTx<'_> {
    async fn take_items(&mut self, job: JobId, limit: u32) -> StoreResult<Vec<SqliteRow>> {
        let sql = "UPDATE items SET status = 'sending', handed = 0, updated_at = $1 \
             WHERE job_id = $2 AND idx IN (SELECT idx FROM items \
               WHERE job_id = $2 AND status = 'pending' ORDER BY idx LIMIT $3) \
             RETURNING idx, recipient, idempotency_key, attempts";
        self.rows(sql, args![Utc::now(), job, i64::from(limit)])
            .await
    }

    async fn write_outcomes<'o>(
        &mut self,
        job: JobId,
        outcomes: &'o [ItemOutcome],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<&'o ItemOutcome>> {
        // One statement for the whole batch (the outcomes as one JSON array): a statement per
        // row costs a round trip to SQLite's thread each.
        let batch: Vec<serde_json::Value> = outcomes
            .iter()
            .map(|o| {
                serde_json::json!({
                    "idx": o.idx,
                    "to": o.recipient,
                    "status": o.status.as_str(),
                    "device": o.device_id,
                    "attempts": o.attempts,
                    "error": o.error,
                    "fault": o.fault,
                    // Each run's attempt errors are appended to those of earlier runs.
                    "errors": (!o.attempt_errors.is_empty()).then_some(&o.attempt_errors),
                    "pmid": o.provider_message_id,
                    "sender": o.sender_id.map(|id| id.to_string()),
                })
            })
            .collect();
        // An upsert driven by the batch: each outcome finds its item by primary key (an
        // UPDATE … FROM the batch would have the planner scan the job's items instead). The
        // EXISTS keeps it from ever inserting; DO UPDATE … WHERE skips items no longer sending.
        let updated: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO items (job_id, idx, recipient, status, device_id, attempts, error, fault, \
               errors, provider_message_id, sender_id, idempotency_key, updated_at) \
             SELECT ?3, json_extract(value, '$.idx'), json_extract(value, '$.to'), \
               json_extract(value, '$.status'), json_extract(value, '$.device'), \
               json_extract(value, '$.attempts'), json_extract(value, '$.error'), \
               json_extract(value, '$.fault'), json_extract(value, '$.errors'), json_extract(value, '$.pmid'), \
               json_extract(value, '$.sender'), '', ?1 \
             FROM json_each(?2) AS v WHERE EXISTS (SELECT 1 FROM items i \
               WHERE i.job_id = ?3 AND i.idx = json_extract(v.value, '$.idx')) \
             ON CONFLICT (job_id, idx) DO UPDATE SET status = excluded.status, \
               device_id = excluded.device_id, attempts = excluded.attempts, error = excluded.error, \
               fault = excluded.fault, errors = CASE WHEN excluded.errors IS NULL THEN items.errors \
                 WHEN items.errors IS NULL THEN excluded.errors ELSE \
                 (SELECT json_group_array(value) FROM (SELECT value FROM json_each(items.errors) \
                   UNION ALL SELECT value FROM json_each(excluded.errors))) END, \
               provider_message_id = excluded.provider_message_id, sender_id = excluded.sender_id, \
               updated_at = excluded.updated_at \
             WHERE items.status = 'sending' \
             RETURNING idx",
        )
        .bind(millis(now))
        .bind(serde_json::Value::Array(batch).to_string())
        .bind(job.to_string())
        .fetch_all(&mut *self.tx)
        .await?;
        // In the batch's order (its events are numbered that way), each item once.
        let mut updated: std::collections::HashSet<u64> =
            updated.into_iter().map(|idx| idx as u64).collect();
        Ok(outcomes.iter().filter(|o| updated.remove(&o.idx)).collect())
    }
}

#[async_trait]
impl EngineSql for SqliteStore {
    async fn update_sending(
        &self,
        job: JobId,
        owner: &str,
        idxs: &[u64],
        assignment: &'static str,
    ) -> StoreResult<()> {
        if idxs.is_empty() {
            return Ok(());
        }
        let mut tx = self.write().await?;
        if !tx.holds_lease(job, owner).await? {
            return Err(StoreError::LeaseLost(job));
        }
        for chunk in idxs.chunks(INSERT_CHUNK) {
            let mut update = QueryBuilder::<Sqlite>::new(format!(
                "UPDATE items SET {assignment} WHERE status = 'sending' AND job_id = "
            ));
            update.push_bind(job.to_string()).push(" AND idx IN (");
            let mut list = update.separated(", ");
            for idx in chunk {
                list.push_bind(*idx as i64);
            }
            update.push(")");
            update.build().execute(&mut *tx.tx).await?;
        }
        tx.commit().await
    }
}
