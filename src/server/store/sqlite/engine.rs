//! What runners do: claim jobs and items under a lease, record outcomes, finish.

use crate::server::store::sql_int;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{QueryBuilder, Row, Sqlite};

use uuid::Uuid;

use super::{INSERT_CHUNK, SqliteStore, millis};
use crate::protocol::{ItemStatus, JobId};
use crate::server::store::shared::rows::{self, Cols, JOB_COLUMNS, job_params, job_view};
use crate::server::store::shared::{
    Backend, Holder, UNKNOWN_ERROR, WriteTx, end_job, outcome_events, started_event,
};
use crate::server::store::{
    ClaimedJob, Control, EngineStore, InFlightPolicy, ItemOutcome, ItemToSend, JobEnd, StoreError,
    StoreResult, StoredEvent, TenantId,
};

/// Fails with `LeaseLost` unless `owner` holds the job's lease.
async fn holds_lease(
    tx: &mut sqlx::Transaction<'static, Sqlite>,
    job: JobId,
    owner: &str,
) -> StoreResult<()> {
    sqlx::query("SELECT 1 FROM jobs WHERE id = ? AND lease_owner = ?")
        .bind(job.to_string())
        .bind(owner)
        .fetch_optional(&mut **tx)
        .await?
        .map(|_| ())
        .ok_or(StoreError::LeaseLost(job))
}

impl SqliteStore {
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
        let mut write = self.write().await?;
        let tx = &mut write.tx;
        holds_lease(tx, job, owner).await?;
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
            update.build().execute(&mut **tx).await?;
        }
        write.commit().await?;
        Ok(())
    }
}

#[async_trait]
impl EngineStore for SqliteStore {
    async fn heartbeat_instance(
        &self,
        id: &str,
        hostname: &str,
        started_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let _gate = self.write_turn().await;
        sqlx::query(
            "INSERT INTO instances (id, hostname, started_at, last_seen_at) VALUES (?, ?, ?, ?) \
             ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at",
        )
        .bind(id)
        .bind(hostname)
        .bind(millis(started_at))
        .bind(millis(Utc::now()))
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
            "SELECT seq, type, payload FROM events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(job.to_string())
        .bind(sql_int(after_seq))
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows::events(&rows, job))
    }

    async fn job_tenant(&self, job: JobId) -> StoreResult<Option<TenantId>> {
        let tenant: Option<String> = sqlx::query_scalar("SELECT tenant_id FROM jobs WHERE id = ?")
            .bind(job.to_string())
            .fetch_optional(&self.pool)
            .await?;
        tenant
            .map(|t| {
                Uuid::parse_str(&t)
                    .map(TenantId)
                    .map_err(|e| StoreError::Corrupt(format!("bad id {t:?}: {e}")))
            })
            .transpose()
    }

    #[tracing::instrument(skip_all, fields(owner))]
    async fn claim_job(
        &self,
        owner: &str,
        lease_until: DateTime<Utc>,
        in_flight: InFlightPolicy,
    ) -> StoreResult<Option<ClaimedJob>> {
        let now = Utc::now();
        let now_ms = millis(now);
        let mut write = self.write().await?;
        let tx = &mut write.tx;
        let candidate = sqlx::query(
            "SELECT id, tenant_id, status, control FROM jobs \
             WHERE kind <> 'external' \
             AND (status = 'pending' OR (status = 'processing' AND lease_expires_at < ?)) \
             ORDER BY id LIMIT 1",
        )
        .bind(now_ms)
        .fetch_optional(&mut **tx)
        .await?;
        let Some(candidate) = candidate else {
            return Ok(None);
        };
        let id: String = candidate.get("id");
        let job_id = JobId(candidate.uuid("id")?);
        let tenant_id = TenantId(candidate.uuid("tenant_id")?);
        let rescued = candidate.get::<String, _>("status") == "processing";
        let control =
            Control::from_column(candidate.get::<Option<String>, _>("control").as_deref());
        let mut newly_unknown = 0_i64;
        if rescued {
            let reset = match in_flight {
                InFlightPolicy::Retry => sqlx::query(
                    "UPDATE items SET status = 'pending', updated_at = ? WHERE job_id = ? AND status = 'sending'",
                )
                .bind(now_ms)
                .bind(&id),
                InFlightPolicy::MarkUnknown => sqlx::query(
                    "UPDATE items SET status = 'unknown', updated_at = ?, error = ? \
                     WHERE job_id = ? AND status = 'sending' AND handed = 1",
                )
                .bind(now_ms)
                .bind(UNKNOWN_ERROR)
                .bind(&id),
            }
            .execute(&mut **tx)
            .await?;
            // Claimed but never handed to the provider: nobody sent them, so they are simply
            // still to do.
            sqlx::query(
                "UPDATE items SET status = 'pending', updated_at = ? WHERE job_id = ? AND status = 'sending'",
            )
            .bind(now_ms)
            .bind(&id)
            .execute(&mut **tx)
            .await?;
            if in_flight == InFlightPolicy::MarkUnknown {
                newly_unknown = reset.rows_affected() as i64;
            }
        }
        let row = sqlx::query(&format!(
            "UPDATE jobs SET status = 'processing', lease_owner = ?, lease_expires_at = ?, \
             started_at = COALESCE(started_at, ?), unknown = unknown + ?, last_seq = last_seq + 1, \
             updated_at = ? WHERE id = ? RETURNING {JOB_COLUMNS}"
        ))
        .bind(owner)
        .bind(millis(lease_until))
        .bind(now_ms)
        .bind(newly_unknown)
        .bind(now_ms)
        .bind(&id)
        .fetch_one(&mut **tx)
        .await?;
        let params = job_params(&row);
        let job = job_view(&row)?;
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
        let _gate = self.write_turn().await;
        let row = sqlx::query(
            "UPDATE jobs SET lease_expires_at = ? WHERE id = ? AND lease_owner = ? \
             AND status = 'processing' RETURNING control",
        )
        .bind(millis(lease_until))
        .bind(job.to_string())
        .bind(owner)
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Err(StoreError::LeaseLost(job)),
            Some(row) => Ok(Control::from_column(
                row.get::<Option<String>, _>("control").as_deref(),
            )),
        }
    }

    async fn claim_items(
        &self,
        job: JobId,
        owner: &str,
        limit: u32,
    ) -> StoreResult<Vec<ItemToSend>> {
        let mut write = self.write().await?;
        holds_lease(&mut write.tx, job, owner).await?;
        let rows = sqlx::query(
            "UPDATE items SET status = 'sending', handed = 0, updated_at = ? WHERE job_id = ? AND idx IN \
             (SELECT idx FROM items WHERE job_id = ? AND status = 'pending' ORDER BY idx LIMIT ?) \
             RETURNING idx, recipient, idempotency_key, attempts",
        )
        .bind(millis(Utc::now()))
        .bind(job.to_string())
        .bind(job.to_string())
        .bind(limit as i64)
        .fetch_all(&mut *write.tx)
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
        let now_ms = millis(now);
        let job_key = job.to_string();
        let mut write = self.write().await?;
        let tx = &mut write.tx;
        // Items first: only outcomes for items still `sending` count, so a repeated outcome
        // can never count twice. One statement for the whole batch (the outcomes as one JSON
        // array): a statement per row costs a round trip to SQLite's thread each.
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
                    // Each run's attempt errors are appended to those of earlier runs.
                    "errors": (!o.attempt_errors.is_empty()).then_some(&o.attempt_errors),
                    "pmid": o.provider_message_id,
                })
            })
            .collect();
        // An upsert driven by the batch: each outcome finds its item by primary key (an
        // UPDATE … FROM the batch would have the planner scan the job's items instead). The
        // EXISTS keeps it from ever inserting; DO UPDATE … WHERE skips items no longer sending.
        let updated: Vec<i64> = sqlx::query_scalar(
            "INSERT INTO items (job_id, idx, recipient, status, device_id, attempts, error, errors, \
               provider_message_id, idempotency_key, updated_at) \
             SELECT ?3, json_extract(value, '$.idx'), json_extract(value, '$.to'), \
               json_extract(value, '$.status'), json_extract(value, '$.device'), \
               json_extract(value, '$.attempts'), json_extract(value, '$.error'), \
               json_extract(value, '$.errors'), json_extract(value, '$.pmid'), '', ?1 \
             FROM json_each(?2) AS v WHERE EXISTS (SELECT 1 FROM items i \
               WHERE i.job_id = ?3 AND i.idx = json_extract(v.value, '$.idx')) \
             ON CONFLICT (job_id, idx) DO UPDATE SET status = excluded.status, \
               device_id = excluded.device_id, attempts = excluded.attempts, error = excluded.error, \
               errors = CASE WHEN excluded.errors IS NULL THEN items.errors \
                 WHEN items.errors IS NULL THEN excluded.errors ELSE \
                 (SELECT json_group_array(value) FROM (SELECT value FROM json_each(items.errors) \
                   UNION ALL SELECT value FROM json_each(excluded.errors))) END, \
               provider_message_id = excluded.provider_message_id, updated_at = excluded.updated_at \
             WHERE items.status = 'sending' \
             RETURNING idx",
        )
        .bind(now_ms)
        .bind(serde_json::Value::Array(batch).to_string())
        .bind(&job_key)
        .fetch_all(&mut **tx)
        .await?;
        // In the batch's order (its events are numbered that way), each item once.
        let mut updated: std::collections::HashSet<u64> =
            updated.into_iter().map(|idx| idx as u64).collect();
        let recorded: Vec<&ItemOutcome> =
            outcomes.iter().filter(|o| updated.remove(&o.idx)).collect();
        let count =
            |status: ItemStatus| recorded.iter().filter(|o| o.status == status).count() as i64;
        let (sent, failed, unknown) = (
            count(ItemStatus::Sent),
            count(ItemStatus::Failed),
            count(ItemStatus::Unknown),
        );
        let row = sqlx::query(
            "UPDATE jobs SET sent = sent + ?, failed = failed + ?, unknown = unknown + ?, \
             last_seq = last_seq + ?, updated_at = ? WHERE id = ? AND lease_owner = ? \
             RETURNING sent, failed, unknown, total, last_seq",
        )
        .bind(sent)
        .bind(failed)
        .bind(unknown)
        .bind(recorded.len() as i64)
        .bind(now_ms)
        .bind(&job_key)
        .bind(owner)
        .fetch_optional(&mut **tx)
        .await?;
        let Some(row) = row else {
            return Err(StoreError::LeaseLost(job));
        };
        let last_seq = row.get::<i64, _>("last_seq") as u64;
        let total: i64 = row.get("total");
        // Counters before this batch, then advanced one outcome at a time so each event
        // carries the counters as of that event.
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

    async fn release_items(&self, job: JobId, owner: &str, idxs: &[u64]) -> StoreResult<()> {
        self.update_sending(job, owner, idxs, "status = 'pending'")
            .await
    }

    async fn mark_handed(&self, job: JobId, owner: &str, idxs: &[u64]) -> StoreResult<()> {
        self.update_sending(job, owner, idxs, "handed = 1").await
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
