//! What runners do, in PostgreSQL: the SQL under `shared::engine`, with claims by
//! `FOR UPDATE SKIP LOCKED`, leases on the database's clock, and outcomes written set-wise
//! (`UNNEST`).

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;

use super::{PgTx, PostgresStore};
use crate::protocol::JobId;
use crate::server::store::shared::engine::{EngineSql, EngineTx};
use crate::server::store::shared::rows::JOB_COLUMNS;
use crate::server::store::shared::{UNKNOWN_ERROR, unknown_fault};
use crate::server::store::{InFlightPolicy, ItemOutcome, StoreError, StoreResult};

/// A lease's length, from the deadline a runner asks for (applied to the database's clock).
fn lease_seconds(lease_until: DateTime<Utc>) -> f64 {
    ((lease_until - Utc::now()).num_milliseconds() as f64 / 1000.0).max(0.0)
}

#[async_trait]
impl EngineTx for PgTx {
    async fn claimable(&mut self, _now: DateTime<Utc>) -> StoreResult<Option<PgRow>> {
        // Another instance claiming at the same moment skips the row we lock, and vice versa.
        Ok(sqlx::query(
            "SELECT id, tenant_id, status, control FROM jobs \
             WHERE kind <> 'external' \
             AND (status = 'pending' OR (status = 'processing' AND lease_expires_at < now())) \
             ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
        )
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    async fn reset_in_flight(
        &mut self,
        job: JobId,
        in_flight: InFlightPolicy,
        _now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let reset = match in_flight {
            InFlightPolicy::Retry => sqlx::query(
                "UPDATE items SET status = 'pending', updated_at = now() WHERE job_id = $1 AND status = 'sending'",
            )
            .bind(job.0),
            InFlightPolicy::MarkUnknown => sqlx::query(
                "UPDATE items SET status = 'unknown', updated_at = now(), error = $2, fault = $3 \
                 WHERE job_id = $1 AND status = 'sending' AND handed",
            )
            .bind(job.0)
            .bind(UNKNOWN_ERROR)
            .bind(unknown_fault()),
        };
        Ok(reset.execute(&mut *self.tx).await?.rows_affected())
    }

    async fn requeue_sending(&mut self, job: JobId, _now: DateTime<Utc>) -> StoreResult<()> {
        sqlx::query(
            "UPDATE items SET status = 'pending', updated_at = now() WHERE job_id = $1 AND status = 'sending'",
        )
        .bind(job.0)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn take_lease(
        &mut self,
        job: JobId,
        owner: &str,
        lease_until: DateTime<Utc>,
        newly_unknown: i64,
        _now: DateTime<Utc>,
    ) -> StoreResult<PgRow> {
        Ok(sqlx::query(&format!(
            "UPDATE jobs SET status = 'processing', lease_owner = $1, \
             lease_expires_at = now() + make_interval(secs => $2), \
             started_at = COALESCE(started_at, now()), unknown = unknown + $3, last_seq = last_seq + 1, \
             updated_at = now() WHERE id = $4 RETURNING {JOB_COLUMNS}"
        ))
        .bind(owner)
        .bind(lease_seconds(lease_until))
        .bind(newly_unknown)
        .bind(job.0)
        .fetch_one(&mut *self.tx)
        .await?)
    }

    async fn holds_lease(&mut self, job: JobId, owner: &str) -> StoreResult<bool> {
        let holds = sqlx::query("SELECT 1 FROM jobs WHERE id = $1 AND lease_owner = $2")
            .bind(job.0)
            .bind(owner)
            .fetch_optional(&mut *self.tx)
            .await?;
        Ok(holds.is_some())
    }

    async fn take_items(&mut self, job: JobId, limit: u32) -> StoreResult<Vec<PgRow>> {
        // The locking CTE is evaluated once; as an `IN (subquery)` the planner may rescan it and
        // claim more than `limit` items.
        Ok(sqlx::query(
            "WITH picked AS (SELECT idx FROM items WHERE job_id = $1 AND status = 'pending' \
               ORDER BY idx LIMIT $2 FOR UPDATE SKIP LOCKED) \
             UPDATE items SET status = 'sending', handed = false, updated_at = now() FROM picked \
             WHERE items.job_id = $1 AND items.idx = picked.idx \
             RETURNING items.idx, items.recipient, items.idempotency_key, items.attempts",
        )
        .bind(job.0)
        .bind(limit as i64)
        .fetch_all(&mut *self.tx)
        .await?)
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
        let updated: Vec<i64> = sqlx::query_scalar(
            "UPDATE items AS i SET status = o.status, device_id = o.device, attempts = o.attempts, \
             error = o.error, fault = o.fault::jsonb, provider_message_id = o.message_id, \
             updated_at = now(), \
             errors = CASE WHEN o.errors IS NULL THEN i.errors \
                           WHEN i.errors IS NULL THEN o.errors::jsonb \
                           ELSE i.errors || o.errors::jsonb END \
             FROM UNNEST($2::bigint[], $3::text[], $4::int[], $5::int[], $6::text[], $7::text[], \
               $8::text[], $9::text[]) AS o(idx, status, device, attempts, error, errors, message_id, fault) \
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
        .fetch_all(&mut *self.tx)
        .await?;
        let updated: HashSet<u64> = updated.into_iter().map(|i| i as u64).collect();
        Ok(outcomes
            .iter()
            .filter(|o| updated.contains(&o.idx))
            .collect())
    }

    async fn count_outcomes(
        &mut self,
        job: JobId,
        owner: &str,
        (sent, failed, unknown): (i64, i64, i64),
        events: i64,
        _now: DateTime<Utc>,
    ) -> StoreResult<Option<PgRow>> {
        Ok(sqlx::query(
            "UPDATE jobs SET sent = sent + $1, failed = failed + $2, unknown = unknown + $3, \
             last_seq = last_seq + $4, updated_at = now() WHERE id = $5 AND lease_owner = $6 \
             RETURNING sent, failed, unknown, total, last_seq",
        )
        .bind(sent)
        .bind(failed)
        .bind(unknown)
        .bind(events)
        .bind(job.0)
        .bind(owner)
        .fetch_optional(&mut *self.tx)
        .await?)
    }
}

#[async_trait]
impl EngineSql for PostgresStore {
    const HANDED: &'static str = "handed = true";

    async fn heartbeat(
        &self,
        id: &str,
        hostname: &str,
        started_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO instances (id, hostname, started_at, last_seen_at) VALUES ($1, $2, $3, now()) \
             ON CONFLICT (id) DO UPDATE SET last_seen_at = now()",
        )
        .bind(id)
        .bind(hostname)
        .bind(started_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn tenant_row(&self, job: JobId) -> StoreResult<Option<PgRow>> {
        Ok(sqlx::query("SELECT tenant_id FROM jobs WHERE id = $1")
            .bind(job.0)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn extend_lease(
        &self,
        job: JobId,
        owner: &str,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Option<PgRow>> {
        Ok(sqlx::query(
            "UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $1) \
             WHERE id = $2 AND lease_owner = $3 AND status = 'processing' RETURNING control",
        )
        .bind(lease_seconds(lease_until))
        .bind(job.0)
        .bind(owner)
        .fetch_optional(&self.pool)
        .await?)
    }

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
