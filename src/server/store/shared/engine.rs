//! What runners do, written once over each backend's fenced primitives (`EngineTx`) and
//! queries (`EngineSql`): every write is fenced by the runner's lease.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::jobs::{JobSql, Seqs, tenant_of};
use super::lanes::{LaneSql, LaneTx};
use super::rows::{self, Cols, JOB_COLUMNS};
use super::sql::{D, Dialect, Sql, args};
use super::{
    Backend, Holder, PACE_CHECKPOINT, UNKNOWN_ERROR, WriteTx, end_job, outcome_events,
    pace_columns, started_event, unknown_fault,
};
use crate::protocol::{ItemStatus, JobId};
use crate::server::store::{
    ClaimedJob, Control, EngineStore, InFlightPolicy, ItemOutcome, ItemToSend, JobEnd, StoreError,
    StoreResult, StoredEvent, TenantId,
};

/// The fenced primitives of runners, inside one write transaction.
#[async_trait]
pub(crate) trait EngineTx: WriteTx {
    /// The oldest pending job, or a running one whose lease expired before `now`, taken from
    /// other claimers: its `id, tenant_id, status, control`.
    async fn claimable(&mut self, now: DateTime<Utc>) -> StoreResult<Option<Self::Row>> {
        let sql = format!(
            "SELECT id, tenant_id, status, control FROM jobs WHERE kind <> 'external' \
             AND (status = 'pending' OR (status = 'processing' AND lease_expires_at < {})) \
             ORDER BY id LIMIT 1{}",
            D::<Self>::now("$1"),
            D::<Self>::SKIP_LOCKED
        );
        self.row(&sql, args![now]).await
    }
    /// Resets the items a dead runner left `sending` as `in_flight` says: how many it changed.
    async fn reset_in_flight(
        &mut self,
        job: JobId,
        in_flight: InFlightPolicy,
        now: DateTime<Utc>,
    ) -> StoreResult<u64> {
        if in_flight == InFlightPolicy::Retry {
            return self.requeue_sending(job, now).await;
        }
        let sql = format!(
            "UPDATE items SET status = 'unknown', updated_at = {}, error = $2, fault = $4 \
             WHERE job_id = $3 AND status = 'sending' AND handed = true",
            D::<Self>::now("$1")
        );
        self.run(&sql, args![now, UNKNOWN_ERROR, job, unknown_fault()])
            .await
    }
    /// Puts the job's items still `sending` back to `pending`: how many it changed.
    async fn requeue_sending(&mut self, job: JobId, now: DateTime<Utc>) -> StoreResult<u64> {
        let sql = format!(
            "UPDATE items SET status = 'pending', updated_at = {} \
             WHERE job_id = $2 AND status = 'sending'",
            D::<Self>::now("$1")
        );
        self.run(&sql, args![now, job]).await
    }
    /// Gives `owner` the job's lease until `lease_until`, counting `job_started` and items that
    /// became unknown; the job (`JOB_COLUMNS`).
    async fn take_lease(
        &mut self,
        job: JobId,
        owner: &str,
        lease_until: DateTime<Utc>,
        newly_unknown: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Self::Row> {
        let (until, until_arg) = D::<Self>::deadline("$2", lease_until);
        let now_sql = D::<Self>::now("$3");
        let sql = format!(
            "UPDATE jobs SET status = 'processing', lease_owner = $1, lease_expires_at = {until}, \
             started_at = COALESCE(started_at, {now_sql}), unknown = unknown + $4, \
             last_seq = last_seq + 1, updated_at = {now_sql}, moved_at = {now_sql}, \
             pace_a_at = NULL, pace_a_done = NULL, pace_b_at = NULL, pace_b_done = NULL \
             WHERE id = $5 RETURNING {JOB_COLUMNS}"
        );
        let mut args = args![owner];
        args.push(until_arg);
        args.extend(args![now, newly_unknown, job]);
        self.one(&sql, args).await
    }
    async fn holds_lease(&mut self, job: JobId, owner: &str) -> StoreResult<bool> {
        let sql = "SELECT 1 AS one FROM jobs WHERE id = $1 AND lease_owner = $2";
        Ok(self.row(sql, args![job, owner]).await?.is_some())
    }
    /// Moves up to `limit` pending items to `sending`, counting the attempt: `idx, recipient,
    /// idempotency_key, attempts`.
    async fn take_items(&mut self, job: JobId, limit: u32) -> StoreResult<Vec<Self::Row>>;
    /// Writes outcomes on items still `sending`: those it wrote, in the batch's order.
    async fn write_outcomes<'o>(
        &mut self,
        job: JobId,
        outcomes: &'o [ItemOutcome],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<&'o ItemOutcome>>;
    /// Counts `(sent, failed, unknown)` outcomes and `events` events, if `owner` holds the
    /// lease; the job's `sent, failed, unknown, total, last_seq`.
    async fn count_outcomes(
        &mut self,
        job: JobId,
        owner: &str,
        (sent, failed, unknown): (i64, i64, i64),
        events: i64,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Self::Row>> {
        let (checkpoint, checkpoint_arg) = D::<Self>::before("$8", PACE_CHECKPOINT, now);
        let sql = format!(
            "UPDATE jobs SET sent = sent + $1, failed = failed + $2, unknown = unknown + $3, \
             last_seq = last_seq + $4, updated_at = {now}, {pace} \
             WHERE id = $6 AND lease_owner = $7 \
             RETURNING sent, failed, unknown, total, last_seq",
            now = D::<Self>::now("$5"),
            pace = pace_columns(&D::<Self>::now("$5"), &checkpoint, "$1 + $2 + $3")
        );
        let mut args = args![sent, failed, unknown, events, now, job, owner];
        args.push(checkpoint_arg);
        self.row(&sql, args).await
    }
}

/// The primitives of runners outside a write transaction.
#[async_trait]
pub(crate) trait EngineSql: JobSql {
    /// Sets `assignment` on those of `idxs` still `sending`, fenced by the runner's lease.
    async fn update_sending(
        &self,
        job: JobId,
        owner: &str,
        idxs: &[u64],
        assignment: &'static str,
    ) -> StoreResult<()>;
}

#[async_trait]
impl<B: EngineSql> EngineStore for B {
    async fn heartbeat_instance(
        &self,
        id: &str,
        hostname: &str,
        started_at: DateTime<Utc>,
    ) -> StoreResult<()> {
        let sql = format!(
            "INSERT INTO instances (id, hostname, started_at, last_seen_at) \
             VALUES ($1, $2, $3, {}) \
             ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at",
            <Self as Backend>::Dialect::now("$4")
        );
        let args = args![id, hostname, started_at, Utc::now()];
        self.write_unlocked(&sql, args).await?;
        Ok(())
    }

    async fn events_since(
        &self,
        job: JobId,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<StoredEvent>> {
        let rows = self.event_rows(job, Seqs::After(after_seq), limit).await?;
        Ok(rows::events(&rows, job))
    }

    async fn job_tenant(&self, job: JobId) -> StoreResult<Option<TenantId>> {
        let sql = "SELECT tenant_id FROM jobs WHERE id = $1";
        tenant_of(self.reads().row(sql, args![job]).await?)
    }

    #[tracing::instrument(skip_all, fields(owner))]
    async fn claim_job(
        &self,
        owner: &str,
        lease_until: DateTime<Utc>,
        in_flight: InFlightPolicy,
    ) -> StoreResult<Option<ClaimedJob>> {
        let now = Utc::now();
        let mut tx = self.write().await?;
        let Some(candidate) = tx.claimable(now).await? else {
            return Ok(None);
        };
        let job_id = JobId(candidate.uuid("id")?);
        let tenant_id = TenantId(candidate.uuid("tenant_id")?);
        let rescued = candidate.text("status") == "processing";
        let control = Control::from_column(candidate.opt_text("control").as_deref());
        let mut newly_unknown = 0_i64;
        if rescued {
            let reset = tx.reset_in_flight(job_id, in_flight, now).await?;
            // Claimed but never handed to the provider: nobody sent them, so they are simply
            // still to do.
            tx.requeue_sending(job_id, now).await?;
            if in_flight == InFlightPolicy::MarkUnknown {
                newly_unknown = reset as i64;
            }
        }
        let row = tx
            .take_lease(job_id, owner, lease_until, newly_unknown, now)
            .await?;
        let params = rows::job_params(&row);
        let job = rows::job_view(&row)?;
        let started = StoredEvent::from_msg(&started_event(
            job_id,
            job.last_seq,
            now,
            rescued,
            newly_unknown,
            job.progress,
            owner,
        ));
        tx.insert_events(std::slice::from_ref(&started), now)
            .await?;
        tx.commit().await?;
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
        let (until, until_arg) = <Self as Backend>::Dialect::deadline("$1", lease_until);
        let sql = format!(
            "UPDATE jobs SET lease_expires_at = {until} WHERE id = $2 AND lease_owner = $3 \
             AND status = 'processing' RETURNING control"
        );
        let mut args = vec![until_arg];
        args.extend(args![job, owner]);
        match self.write_unlocked(&sql, args).await?.into_iter().next() {
            None => Err(StoreError::LeaseLost(job)),
            Some(row) => Ok(Control::from_column(row.opt_text("control").as_deref())),
        }
    }

    async fn claim_items(
        &self,
        job: JobId,
        owner: &str,
        limit: u32,
    ) -> StoreResult<Vec<ItemToSend>> {
        let mut tx = self.write().await?;
        if !tx.holds_lease(job, owner).await? {
            return Err(StoreError::LeaseLost(job));
        }
        let rows = tx.take_items(job, limit).await?;
        tx.commit().await?;
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
        let mut tx = self.write().await?;
        // Items first: only outcomes for items still `sending` count, so a repeated outcome
        // can never count twice.
        let recorded = tx.write_outcomes(job, outcomes, now).await?;
        tx.count_lanes(job, &recorded, now).await?;
        let count =
            |status: ItemStatus| recorded.iter().filter(|o| o.status == status).count() as i64;
        let (sent, failed, unknown) = (
            count(ItemStatus::Sent),
            count(ItemStatus::Failed),
            count(ItemStatus::Unknown),
        );
        let row = tx
            .count_outcomes(
                job,
                owner,
                (sent, failed, unknown),
                recorded.len() as i64,
                now,
            )
            .await?
            .ok_or(StoreError::LeaseLost(job))?;
        // Counters before this batch, then advanced one outcome at a time so each event
        // carries the counters as of that event.
        let before = (
            row.big("sent") - sent,
            row.big("failed") - failed,
            row.big("unknown") - unknown,
        );
        let first_seq = row.big("last_seq") as u64 + 1 - recorded.len() as u64;
        let total = row.big("total");
        let events = outcome_events(job, first_seq, now, &recorded, before, total);
        tx.insert_events(&events, now).await?;
        tx.commit().await?;
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

    async fn device_tick(
        &self,
        job: JobId,
        owner: &str,
        in_flight: &[(u32, u32)],
    ) -> StoreResult<Vec<u32>> {
        self.lane_tick(job, owner, in_flight).await
    }
}
