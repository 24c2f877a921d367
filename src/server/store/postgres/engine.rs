//! What runners do, in PostgreSQL: claims with `FOR UPDATE SKIP LOCKED`, leases on the database's
//! clock, outcomes written set-wise (`UNNEST`) in one transaction per batch.

use crate::server::store::sql_int;
use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::PostgresStore;
use crate::protocol::{ItemStatus, JobId};
use crate::server::store::shared::rows::{self, JOB_COLUMNS, job_params, job_view};
use crate::server::store::shared::{
    Backend, Holder, UNKNOWN_ERROR, WriteTx, end_job, outcome_events, started_event,
};
use crate::server::store::{
    ClaimedJob, Control, EngineStore, InFlightPolicy, ItemOutcome, ItemToSend, JobEnd, StoreError,
    StoreResult, StoredEvent, TenantId,
};

/// A lease's length, from the deadline a runner asks for (applied to the database's clock).
fn lease_seconds(lease_until: DateTime<Utc>) -> f64 {
    ((lease_until - Utc::now()).num_milliseconds() as f64 / 1000.0).max(0.0)
}

fn control_of(value: Option<String>) -> Control {
    Control::from_column(value.as_deref())
}

impl PostgresStore {
    /// Sets `assignment` on those of `idxs` still `sending`, fenced by the runner's lease.
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

#[async_trait]
impl EngineStore for PostgresStore {
    async fn heartbeat_instance(
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

    async fn events_since(
        &self,
        job: JobId,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<StoredEvent>> {
        let rows = sqlx::query(
            "SELECT seq, type, payload FROM events WHERE job_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(job.0)
        .bind(sql_int(after_seq))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows::events(&rows, job))
    }

    async fn job_tenant(&self, job: JobId) -> StoreResult<Option<TenantId>> {
        let tenant: Option<uuid::Uuid> =
            sqlx::query_scalar("SELECT tenant_id FROM jobs WHERE id = $1")
                .bind(job.0)
                .fetch_optional(&self.pool)
                .await?;
        Ok(tenant.map(TenantId))
    }

    #[tracing::instrument(skip_all, fields(owner))]
    async fn claim_job(
        &self,
        owner: &str,
        lease_until: DateTime<Utc>,
        in_flight: InFlightPolicy,
    ) -> StoreResult<Option<ClaimedJob>> {
        let mut write = self.write().await?;
        let tx = &mut write.tx;
        // Another instance claiming at the same moment skips the row we lock, and vice versa.
        let candidate = sqlx::query(
            "SELECT id, tenant_id, status, control FROM jobs \
             WHERE kind <> 'external' \
             AND (status = 'pending' OR (status = 'processing' AND lease_expires_at < now())) \
             ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED",
        )
        .fetch_optional(&mut **tx)
        .await?;
        let Some(candidate) = candidate else {
            return Ok(None);
        };
        let job_id = JobId(candidate.get("id"));
        let tenant_id = TenantId(candidate.get("tenant_id"));
        let rescued = candidate.get::<String, _>("status") == "processing";
        let control = control_of(candidate.get("control"));
        let mut newly_unknown = 0_i64;
        if rescued {
            let reset = match in_flight {
                InFlightPolicy::Retry => sqlx::query(
                    "UPDATE items SET status = 'pending', updated_at = now() WHERE job_id = $1 AND status = 'sending'",
                )
                .bind(job_id.0),
                InFlightPolicy::MarkUnknown => sqlx::query(
                    "UPDATE items SET status = 'unknown', updated_at = now(), error = $2 \
                     WHERE job_id = $1 AND status = 'sending' AND handed",
                )
                .bind(job_id.0)
                .bind(UNKNOWN_ERROR),
            }
            .execute(&mut **tx)
            .await?;
            // Claimed but never handed to the provider: nobody sent them, so they are simply
            // still to do.
            sqlx::query(
                "UPDATE items SET status = 'pending', updated_at = now() WHERE job_id = $1 AND status = 'sending'",
            )
            .bind(job_id.0)
            .execute(&mut **tx)
            .await?;
            if in_flight == InFlightPolicy::MarkUnknown {
                newly_unknown = reset.rows_affected() as i64;
            }
        }
        let row = sqlx::query(&format!(
            "UPDATE jobs SET status = 'processing', lease_owner = $1, \
             lease_expires_at = now() + make_interval(secs => $2), \
             started_at = COALESCE(started_at, now()), unknown = unknown + $3, last_seq = last_seq + 1, \
             updated_at = now() WHERE id = $4 RETURNING {JOB_COLUMNS}"
        ))
        .bind(owner)
        .bind(lease_seconds(lease_until))
        .bind(newly_unknown)
        .bind(job_id.0)
        .fetch_one(&mut **tx)
        .await?;
        let params = job_params(&row);
        let job = job_view(&row)?;
        let now = Utc::now();
        let started = StoredEvent::from_msg(&started_event(
            job_id,
            job.last_seq,
            now,
            rescued,
            newly_unknown,
            job.progress,
            owner,
        ));
        write
            .insert_events(std::slice::from_ref(&started), now)
            .await?;
        write.commit().await?;
        Ok(Some(ClaimedJob {
            job,
            tenant_id,
            started,
            rescued,
            control,
            params,
        }))
    }

    async fn renew_lease(
        &self,
        job: JobId,
        owner: &str,
        lease_until: DateTime<Utc>,
    ) -> StoreResult<Control> {
        let row = sqlx::query(
            "UPDATE jobs SET lease_expires_at = now() + make_interval(secs => $1) \
             WHERE id = $2 AND lease_owner = $3 AND status = 'processing' RETURNING control",
        )
        .bind(lease_seconds(lease_until))
        .bind(job.0)
        .bind(owner)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Err(StoreError::LeaseLost(job)),
            Some(row) => Ok(control_of(row.get("control"))),
        }
    }

    async fn claim_items(
        &self,
        job: JobId,
        owner: &str,
        limit: u32,
    ) -> StoreResult<Vec<ItemToSend>> {
        let mut write = self.write().await?;
        let tx = &mut write.tx;
        let holds = sqlx::query("SELECT 1 FROM jobs WHERE id = $1 AND lease_owner = $2")
            .bind(job.0)
            .bind(owner)
            .fetch_optional(&mut **tx)
            .await?;
        if holds.is_none() {
            return Err(StoreError::LeaseLost(job));
        }
        // The locking CTE is evaluated once; as an `IN (subquery)` the planner may rescan it and
        // claim more than `limit` items.
        let rows = sqlx::query(
            "WITH picked AS (SELECT idx FROM items WHERE job_id = $1 AND status = 'pending' \
               ORDER BY idx LIMIT $2 FOR UPDATE SKIP LOCKED) \
             UPDATE items SET status = 'sending', handed = false, updated_at = now() FROM picked \
             WHERE items.job_id = $1 AND items.idx = picked.idx \
             RETURNING items.idx, items.recipient, items.idempotency_key, items.attempts",
        )
        .bind(job.0)
        .bind(limit as i64)
        .fetch_all(&mut **tx)
        .await?;
        write.commit().await?;
        Ok(rows::items_to_send(&rows))
    }

    #[tracing::instrument(skip_all, fields(job_id = %job, outcomes = outcomes.len()))]
    async fn record_outcomes(
        &self,
        job: JobId,
        owner: &str,
        outcomes: &[ItemOutcome],
    ) -> StoreResult<Vec<StoredEvent>> {
        if outcomes.is_empty() {
            return Ok(Vec::new());
        }
        let now = Utc::now();
        let mut write = self.write().await?;
        let tx = &mut write.tx;
        // Items first, set-wise: only those still `sending` count, so a repeated outcome can
        // never count twice.
        let idxs: Vec<i64> = outcomes.iter().map(|o| o.idx as i64).collect();
        let statuses: Vec<&str> = outcomes.iter().map(|o| o.status.as_str()).collect();
        let devices: Vec<i32> = outcomes.iter().map(|o| o.device_id as i32).collect();
        let attempts: Vec<i32> = outcomes.iter().map(|o| o.attempts as i32).collect();
        let errors: Vec<Option<&str>> = outcomes.iter().map(|o| o.error.as_deref()).collect();
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
             error = o.error, provider_message_id = o.message_id, updated_at = now(), \
             errors = CASE WHEN o.errors IS NULL THEN i.errors \
                           WHEN i.errors IS NULL THEN o.errors::jsonb \
                           ELSE i.errors || o.errors::jsonb END \
             FROM UNNEST($2::bigint[], $3::text[], $4::int[], $5::int[], $6::text[], $7::text[], $8::text[]) \
               AS o(idx, status, device, attempts, error, errors, message_id) \
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
        .fetch_all(&mut **tx)
        .await?;
        let updated: HashSet<u64> = updated.into_iter().map(|i| i as u64).collect();
        let recorded: Vec<&ItemOutcome> = outcomes
            .iter()
            .filter(|o| updated.contains(&o.idx))
            .collect();
        let count =
            |status: ItemStatus| recorded.iter().filter(|o| o.status == status).count() as i64;
        let (sent, failed, unknown) = (
            count(ItemStatus::Sent),
            count(ItemStatus::Failed),
            count(ItemStatus::Unknown),
        );
        let row = sqlx::query(
            "UPDATE jobs SET sent = sent + $1, failed = failed + $2, unknown = unknown + $3, \
             last_seq = last_seq + $4, updated_at = now() WHERE id = $5 AND lease_owner = $6 \
             RETURNING sent, failed, unknown, total, last_seq",
        )
        .bind(sent)
        .bind(failed)
        .bind(unknown)
        .bind(recorded.len() as i64)
        .bind(job.0)
        .bind(owner)
        .fetch_optional(&mut **tx)
        .await?;
        let Some(row) = row else {
            return Err(StoreError::LeaseLost(job));
        };
        if recorded.is_empty() {
            write.commit().await?;
            return Ok(Vec::new());
        }
        let last_seq = row.get::<i64, _>("last_seq") as u64;
        let total: i64 = row.get("total");
        let before = (
            row.get::<i64, _>("sent") - sent,
            row.get::<i64, _>("failed") - failed,
            row.get::<i64, _>("unknown") - unknown,
        );
        let first_seq = last_seq + 1 - recorded.len() as u64;
        let events = outcome_events(job, first_seq, now, &recorded, before, total);
        write.insert_events(&events, now).await?;
        write.commit().await?;
        Ok(events)
    }

    async fn mark_handed(&self, job: JobId, owner: &str, idxs: &[u64]) -> StoreResult<()> {
        self.update_sending(job, owner, idxs, "handed = true").await
    }

    async fn release_items(&self, job: JobId, owner: &str, idxs: &[u64]) -> StoreResult<()> {
        self.update_sending(job, owner, idxs, "status = 'pending'")
            .await
    }

    #[tracing::instrument(skip_all, fields(job_id = %job))]
    async fn finish_job(&self, job: JobId, owner: &str, end: JobEnd) -> StoreResult<StoredEvent> {
        let mut tx = self.write().await?;
        let event = end_job(&mut tx, job, Holder::Runner(owner), end)
            .await?
            .ok_or(StoreError::LeaseLost(job))?;
        tx.commit().await?;
        Ok(event)
    }
}
