//! What runners do that PostgreSQL writes its own way: taking items with `FOR UPDATE SKIP
//! LOCKED`, and outcomes and marks written set-wise (`UNNEST`, `ANY`).

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;

use super::{PgTx, PostgresStore};
use crate::protocol::JobId;
use crate::server::store::shared::engine::{EngineSql, EngineTx};
use crate::server::store::shared::sql::{Sql, args};
use crate::server::store::{ItemOutcome, StoreError, StoreResult};

#[async_trait]
impl EngineTx for PgTx {
    async fn take_items(&mut self, job: JobId, limit: u32) -> StoreResult<Vec<PgRow>> {
        // The locking CTE is evaluated once; as an `IN (subquery)` the planner may rescan it and
        // claim more than `limit` items.
        let sql = "WITH picked AS (SELECT idx FROM items WHERE job_id = $1 AND status = 'pending' \
               ORDER BY idx LIMIT $2 FOR UPDATE SKIP LOCKED) \
             UPDATE items SET status = 'sending', handed = false, updated_at = now() FROM picked \
             WHERE items.job_id = $1 AND items.idx = picked.idx \
             RETURNING items.idx, items.recipient, items.idempotency_key, items.attempts";
        self.rows(sql, args![job, i64::from(limit)]).await
    }

    async fn write_outcomes<'o>(
        &mut self,
        job: JobId,
        outcomes: &'o [ItemOutcome],
        _now: DateTime<Utc>,
    ) -> StoreResult<Vec<&'o ItemOutcome>> {
        let idxs: Vec<i64> = outcomes.iter().map(|o| o.idx as i64).collect();
        let statuses: Vec<&str> = outcomes.iter().map(|o| o.status.as_str()).collect();
        let devices: Vec<i32> = outcomes.iter().map(|o| o.device_id as i32).collect();
        let attempts: Vec<i32> = outcomes.iter().map(|o| o.attempts as i32).collect();
        let errors: Vec<Option<&str>> = outcomes.iter().map(|o| o.error.as_deref()).collect();
        let faults: Vec<Option<String>> = outcomes
            .iter()
            .map(|o| {
                o.fault
                    .as_ref()
                    .map(|f| serde_json::to_string(f).expect("faults serialise"))
            })
            .collect();
        let attempt_errors: Vec<Option<String>> = outcomes
            .iter()
            .map(|o| {
                (!o.attempt_errors.is_empty())
                    .then(|| serde_json::to_string(&o.attempt_errors).expect("strings serialise"))
            })
            .collect();
        let message_ids: Vec<Option<&str>> = outcomes
            .iter()
            .map(|o| o.provider_message_id.as_deref())
            .collect();
        let senders: Vec<Option<uuid::Uuid>> = outcomes.iter().map(|o| o.sender_id).collect();
        let updated: Vec<i64> = sqlx::query_scalar(
            "UPDATE items AS i SET status = o.status, device_id = o.device, attempts = o.attempts, \
             error = o.error, fault = o.fault::jsonb, provider_message_id = o.message_id, \
             sender_id = o.sender, \
             updated_at = now(), \
             errors = CASE WHEN o.errors IS NULL THEN i.errors \
                           WHEN i.errors IS NULL THEN o.errors::jsonb \
                           ELSE i.errors || o.errors::jsonb END \
             FROM UNNEST($2::bigint[], $3::text[], $4::int[], $5::int[], $6::text[], $7::text[], \
               $8::text[], $9::text[], $10::uuid[]) \
               AS o(idx, status, device, attempts, error, errors, message_id, fault, sender) \
             WHERE i.job_id = $1 AND i.idx = o.idx AND i.status = 'sending' RETURNING i.idx",
        )
        .bind(job.0)
        .bind(&idxs)
        .bind(&statuses)
        .bind(&devices)
        .bind(&attempts)
        .bind(&errors)
        .bind(&attempt_errors)
        .bind(&message_ids)
        .bind(&faults)
        .bind(&senders)
        .fetch_all(&mut *self.tx)
        .await?;
        let updated: HashSet<u64> = updated.into_iter().map(|i| i as u64).collect();
        Ok(outcomes
            .iter()
            .filter(|o| updated.contains(&o.idx))
            .collect())
    }
}

#[async_trait]
impl EngineSql for PostgresStore {
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
        let idxs: Vec<i64> = idxs.iter().map(|&i| i as i64).collect();
        let updated = sqlx::query(&format!(
            "UPDATE items SET {assignment} WHERE job_id = $1 AND status = 'sending' \
             AND idx = ANY($2) AND EXISTS (SELECT 1 FROM jobs WHERE id = $1 AND lease_owner = $3)"
        ))
        .bind(job.0)
        .bind(&idxs)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        if updated.rows_affected() == 0 {
            let holds = sqlx::query("SELECT 1 FROM jobs WHERE id = $1 AND lease_owner = $2")
                .bind(job.0)
                .bind(owner)
                .fetch_optional(&self.pool)
                .await?;
            if holds.is_none() {
                return Err(StoreError::LeaseLost(job));
            }
        }
        Ok(())
    }
}
