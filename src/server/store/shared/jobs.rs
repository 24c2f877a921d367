//! Jobs as people and scripts see them, written once over each backend's primitives
//! (`BulkTx`) and queries (`JobSql`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, QueryBuilder, Type};
use uuid::Uuid;

use super::rows::{self, Cols, JOB_COLUMNS};
use super::{Backend, WriteTx, created_event, run_command};
use crate::protocol::lifecycle::Command;
use crate::protocol::{InstanceView, ItemStatus, ItemView, JobId, JobView};
use crate::server::store::{
    Created, JobFilter, JobStore, NewBulkJob, StoreResult, StoredEvent, TenantId, Transition,
    sql_int,
};

/// The primitives of creating a bulk send, inside one write transaction.
#[async_trait]
pub(crate) trait BulkTx: WriteTx {
    /// Inserts the job with `last_seq` 1 (its `job_created`); the job (`JOB_COLUMNS`), or `None`
    /// if the tenant already has a job with its idempotency key.
    async fn insert_bulk_job(
        &mut self,
        id: JobId,
        new: &NewBulkJob,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Self::Row>>;
    /// The tenant's job (`JOB_COLUMNS`) with this idempotency key.
    async fn job_by_key(&mut self, tenant: TenantId, key: Option<&str>) -> StoreResult<Self::Row>;
    /// Inserts the job's items, pending, numbered from 0.
    async fn insert_recipients(
        &mut self,
        job: JobId,
        recipients: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
}

/// Which events of a job to read.
#[derive(Clone, Copy)]
pub(crate) enum Seqs {
    /// After this seq, oldest first.
    After(u64),
    /// Before this seq, newest first.
    Before(u64),
}

/// The events `event_rows` reads, in `?N` placeholders.
pub(crate) fn events_sql(seqs: Seqs) -> (&'static str, u64) {
    match seqs {
        Seqs::After(seq) => (
            "SELECT seq, type, payload FROM events WHERE job_id = ?1 AND seq > ?2 \
             ORDER BY seq LIMIT ?3",
            seq,
        ),
        Seqs::Before(seq) => (
            "SELECT seq, type, payload FROM events WHERE job_id = ?1 AND seq < ?2 \
             ORDER BY seq DESC LIMIT ?3",
            seq,
        ),
    }
}

/// The listing of the tenant's jobs (`JOB_COLUMNS`), its tenant bound as the backend stores it.
pub(crate) fn jobs_query<'a, DB: Database>(
    tenant: impl 'a + Encode<'a, DB> + Type<DB>,
    filter: &JobFilter,
) -> QueryBuilder<'a, DB>
where
    DB::Arguments<'a>: Default,
    &'a str: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    let mut query = QueryBuilder::new(format!("SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = "));
    query.push_bind(tenant);
    if let Some(status) = filter.status {
        query.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(kind) = filter.kind {
        query.push(" AND kind = ").push_bind(kind.as_str());
    }
    // UUID v7 ids sort by creation time.
    query
        .push(" ORDER BY id DESC LIMIT ")
        .push_bind(filter.limit as i64);
    query
}

/// A page of a job's items (what `rows::item_view` reads), its job bound as the backend stores it.
pub(crate) fn items_query<'a, DB: Database>(
    job: impl 'a + Encode<'a, DB> + Type<DB>,
    status: Option<ItemStatus>,
    after: Option<u64>,
    limit: u32,
) -> QueryBuilder<'a, DB>
where
    DB::Arguments<'a>: Default,
    &'a str: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
{
    let mut query = QueryBuilder::new(
        "SELECT idx, recipient, status, device_id, attempts, error, fault, errors, updated_at \
         FROM items WHERE job_id = ",
    );
    query.push_bind(job);
    if let Some(status) = status {
        query.push(" AND status = ").push_bind(status.as_str());
    }
    if let Some(after) = after {
        query.push(" AND idx > ").push_bind(sql_int(after));
    }
    query.push(" ORDER BY idx LIMIT ").push_bind(limit as i64);
    query
}

/// The queries of jobs, outside the write path.
#[async_trait]
pub(crate) trait JobSql: Backend {
    async fn job_in_tenant(&self, tenant: TenantId, job: JobId) -> StoreResult<bool>;
    /// One of the tenant's jobs (`JOB_COLUMNS`).
    async fn job_row(&self, tenant: TenantId, job: JobId) -> StoreResult<Option<Self::Row>>;
    /// The tenant's jobs (`JOB_COLUMNS`), newest first.
    async fn job_rows(&self, tenant: TenantId, filter: &JobFilter) -> StoreResult<Vec<Self::Row>>;
    /// Up to `limit` of the job's events (`seq, type, payload`).
    async fn event_rows(&self, job: JobId, seqs: Seqs, limit: u32) -> StoreResult<Vec<Self::Row>>;
    /// The job's items by index, after `after`.
    async fn item_rows(
        &self,
        job: JobId,
        status: Option<ItemStatus>,
        after: Option<u64>,
        limit: u32,
    ) -> StoreResult<Vec<Self::Row>>;
    /// The instances seen in the last day, with the jobs each runs (ids of this tenant's only).
    async fn instances(&self, tenant: TenantId) -> StoreResult<Vec<InstanceView>>;
    /// Deletes the events of jobs that ended before `cutoff`.
    async fn delete_old_events(&self, cutoff: DateTime<Utc>) -> StoreResult<u64>;
}

#[async_trait]
impl<B: JobSql> JobStore for B {
    #[tracing::instrument(skip_all, fields(tenant = %new.tenant_id, recipients = new.recipients.len()))]
    async fn create_bulk_job(&self, new: NewBulkJob) -> StoreResult<Created> {
        let id = JobId(Uuid::now_v7());
        let now = Utc::now();
        let mut tx = self.write().await?;
        // The unique index decides a race between two requests with one key, not a prior SELECT.
        let Some(row) = tx.insert_bulk_job(id, &new, now).await? else {
            let key = new.idempotency_key.as_deref();
            let existing = tx.job_by_key(new.tenant_id, key).await?;
            return Ok(Created::Existing(rows::job_view(&existing)?));
        };
        tx.insert_recipients(id, &new.recipients, now).await?;
        let job = rows::job_view(&row)?;
        let event = created_event(&job, now);
        tx.insert_events(std::slice::from_ref(&event), now).await?;
        tx.commit().await?;
        Ok(Created::New { job, event })
    }

    async fn job(&self, tenant: TenantId, id: JobId) -> StoreResult<Option<JobView>> {
        let row = self.job_row(tenant, id).await?;
        row.as_ref().map(rows::job_view).transpose()
    }

    async fn list_jobs(&self, tenant: TenantId, filter: &JobFilter) -> StoreResult<Vec<JobView>> {
        rows::all(&self.job_rows(tenant, filter).await?, rows::job_view)
    }

    async fn events_after(
        &self,
        tenant: TenantId,
        job: JobId,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Option<Vec<StoredEvent>>> {
        if !self.job_in_tenant(tenant, job).await? {
            return Ok(None);
        }
        let rows = self.event_rows(job, Seqs::After(after_seq), limit).await?;
        Ok(Some(rows::events(&rows, job)))
    }

    async fn events_before(
        &self,
        tenant: TenantId,
        job: JobId,
        before_seq: u64,
        limit: u32,
    ) -> StoreResult<Option<Vec<StoredEvent>>> {
        if !self.job_in_tenant(tenant, job).await? {
            return Ok(None);
        }
        let rows = self
            .event_rows(job, Seqs::Before(before_seq), limit)
            .await?;
        let mut events = rows::events(&rows, job);
        events.reverse();
        Ok(Some(events))
    }

    async fn items(
        &self,
        tenant: TenantId,
        job: JobId,
        status: Option<ItemStatus>,
        after: Option<u64>,
        limit: u32,
    ) -> StoreResult<Option<Vec<ItemView>>> {
        if !self.job_in_tenant(tenant, job).await? {
            return Ok(None);
        }
        let rows = self.item_rows(job, status, after, limit).await?;
        rows::all(&rows, rows::item_view).map(Some)
    }

    async fn list_instances(&self, tenant: TenantId) -> StoreResult<Vec<InstanceView>> {
        self.instances(tenant).await
    }

    async fn prune_events(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        self.delete_old_events(cutoff).await
    }

    #[tracing::instrument(skip_all, fields(job_id = %job, ?command))]
    async fn command(
        &self,
        tenant: TenantId,
        job: JobId,
        command: Command,
    ) -> StoreResult<Option<Transition>> {
        run_command(self.write().await?, tenant, job, command).await
    }
}

/// Reads a job's tenant from a `tenant_id` row.
pub(crate) fn tenant_of(row: Option<impl Cols>) -> StoreResult<Option<TenantId>> {
    row.map(|row| row.uuid("tenant_id").map(TenantId))
        .transpose()
}
