//! Jobs as people and scripts see them, written once over each backend's primitives
//! (`BulkTx`) and queries (`JobSql`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::lanes::{LaneSql, LaneTx};
use super::rows::{self, Cols, JOB_COLUMNS};
use super::sql::{Args, D, Dialect, Sql, args};
use super::{Backend, WriteTx, created_event, run_command};
use crate::protocol::lifecycle::Command;
use std::str::FromStr;

use crate::protocol::{
    FailureGroup, InstanceView, ItemStatus, ItemView, JobId, JobStatus, JobView, RecipientItem,
    failure_groups,
};
use crate::server::store::{
    Created, JobFilter, JobStore, NewBulkJob, StoreError, StoreResult, StoredEvent, TenantId,
    Transition, sql_int,
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
    ) -> StoreResult<Option<Self::Row>> {
        let sql = format!(
            "INSERT INTO jobs (id, tenant_id, kind, status, idempotency_key, message, \
             devices_limit, total, skipped, last_seq, created_at, updated_at, senders, \
             skipped_opted_out, params, name, tags, search_text) \
             VALUES ($1, $2, 'bulk_send', 'pending', $3, $4, $5, $6, $7, 1, $8, $8, $9, $10, $11, \
             $12, $13, $14) \
             ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL \
             DO NOTHING RETURNING {JOB_COLUMNS}"
        );
        let args = args![
            id,
            new.tenant_id,
            new.idempotency_key.as_deref(),
            &new.message,
            i64::from(new.devices_limit),
            new.recipients.len() as i64,
            sql_int(new.skipped),
            now,
            (!new.senders.is_empty()).then(|| serde_json::json!(new.senders)),
            sql_int(new.skipped_opted_out),
            serde_json::json!({"receipts_window_hours": new.receipts_window_hours}),
            new.name.as_deref(),
            (!new.tags.is_empty()).then(|| serde_json::json!(new.tags)),
            job_search_text(new.name.as_deref(), Some(&new.message), &new.tags),
        ];
        self.row(&sql, args).await
    }
    /// The tenant's job (`JOB_COLUMNS`) with this idempotency key.
    async fn job_by_key(&mut self, tenant: TenantId, key: Option<&str>) -> StoreResult<Self::Row> {
        let sql =
            format!("SELECT {JOB_COLUMNS} FROM jobs WHERE tenant_id = $1 AND idempotency_key = $2");
        self.one(&sql, args![tenant, key]).await
    }
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

/// The `WHERE` of the tenant's jobs a filter matches; with `paged`, also its status and cursor
/// (counts per status leave both out).
fn jobs_where(tenant: TenantId, filter: &JobFilter, paged: bool) -> (String, Args) {
    let mut sql = " WHERE tenant_id = $1".to_owned();
    let mut args = args![tenant];
    if paged && let Some(status) = filter.status {
        args.push(status.as_str().into());
        sql += &format!(" AND status = ${}", args.len());
    }
    if let Some(kind) = filter.kind {
        args.push(kind.as_str().into());
        sql += &format!(" AND kind = ${}", args.len());
    }
    if let Some(pattern) = super::search_pattern(filter.q.as_deref()) {
        args.push(pattern.into());
        sql += &format!(" AND search_text LIKE ${} ESCAPE '\\'", args.len());
    }
    if let Some(after) = filter.created_after {
        args.push(after.into());
        sql += &format!(" AND created_at >= ${}", args.len());
    }
    if let Some(before) = filter.created_before {
        args.push(before.into());
        sql += &format!(" AND created_at < ${}", args.len());
    }
    if paged && let Some(cursor) = filter.before {
        args.push(cursor.into());
        sql += &format!(" AND id < ${}", args.len());
    }
    (sql, args)
}

/// The listing of the tenant's jobs (`JOB_COLUMNS`).
fn jobs_query(tenant: TenantId, filter: &JobFilter) -> (String, Args) {
    let (filter_sql, mut args) = jobs_where(tenant, filter, true);
    // UUID v7 ids sort by creation time.
    args.push(i64::from(filter.limit).into());
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM jobs{filter_sql} ORDER BY id DESC LIMIT ${}",
        args.len()
    );
    (sql, args)
}

/// What a job is found by: its name, message and tags, lowercased like search patterns.
pub(crate) fn job_search_text(
    name: Option<&str>,
    message: Option<&str>,
    tags: &[String],
) -> String {
    [name, message]
        .into_iter()
        .flatten()
        .chain(tags.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("\n")
        .to_lowercase()
}

/// A page of a job's items (what `rows::item_view` reads).
fn items_query(
    job: JobId,
    status: Option<ItemStatus>,
    after: Option<u64>,
    limit: u32,
) -> (String, Args) {
    let mut sql = "SELECT idx, recipient, status, device_id, attempts, error, fault, errors, \
         provider_message_id, sender_id, delivery, delivered_at, read_at, updated_at \
         FROM items WHERE job_id = $1"
        .to_owned();
    let mut args = args![job];
    if let Some(status) = status {
        args.push(status.as_str().into());
        sql += &format!(" AND status = ${}", args.len());
    }
    if let Some(after) = after {
        args.push(sql_int(after).into());
        sql += &format!(" AND idx > ${}", args.len());
    }
    args.push(i64::from(limit).into());
    sql += &format!(" ORDER BY idx LIMIT ${}", args.len());
    (sql, args)
}

/// The queries of jobs, outside the write path.
#[async_trait]
pub(crate) trait JobSql: Backend {
    async fn job_in_tenant(&self, tenant: TenantId, job: JobId) -> StoreResult<bool> {
        let sql = "SELECT 1 AS one FROM jobs WHERE id = $1 AND tenant_id = $2";
        Ok(self.reads().row(sql, args![job, tenant]).await?.is_some())
    }
    /// Up to `limit` of the job's events (`seq, type, payload`).
    async fn event_rows(&self, job: JobId, seqs: Seqs, limit: u32) -> StoreResult<Vec<Self::Row>> {
        let (sql, seq) = match seqs {
            Seqs::After(seq) => (
                "SELECT seq, type, payload FROM events WHERE job_id = $1 AND seq > $2 \
                 ORDER BY seq LIMIT $3",
                seq,
            ),
            Seqs::Before(seq) => (
                "SELECT seq, type, payload FROM events WHERE job_id = $1 AND seq < $2 \
                 ORDER BY seq DESC LIMIT $3",
                seq,
            ),
        };
        let args = args![job, sql_int(seq), i64::from(limit)];
        self.reads().rows(sql, args).await
    }
    /// The instances seen in the last day, with the jobs each runs (ids of this tenant's only).
    async fn instances(&self, tenant: TenantId) -> StoreResult<Vec<InstanceView>> {
        let day = std::time::Duration::from_secs(24 * 60 * 60);
        let (cutoff, arg) = D::<Self::Reads<'_>>::before("$2", day, Utc::now());
        let sql = format!(
            "SELECT i.id, i.hostname, i.started_at, i.last_seen_at, \
             (SELECT {} FROM jobs j WHERE j.lease_owner = i.id \
                AND j.status = 'processing' AND j.tenant_id = $1) AS tenant_jobs \
             FROM instances i WHERE i.last_seen_at > {cutoff} ORDER BY i.started_at",
            D::<Self::Reads<'_>>::id_list("j.id")
        );
        let mut args = args![tenant];
        args.push(arg);
        let rows = self.reads().rows(&sql, args).await?;
        rows::all(&rows, |row| {
            let tenant_jobs = row.opt_text("tenant_jobs").unwrap_or_default();
            let tenant_jobs = tenant_jobs.split(',').filter(|id| !id.is_empty());
            let tenant_jobs = tenant_jobs.map(|id| rows::parse_uuid(id).map(JobId));
            Ok(rows::instance(
                row,
                tenant_jobs.collect::<StoreResult<_>>()?,
            ))
        })
    }
}

impl<B: Backend> JobSql for B {}

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
        let mut job = rows::job_view(&row)?;
        job.senders = tx.insert_lanes(id, &new.senders, new.devices_limit).await?;
        let event = created_event(&job, now);
        tx.insert_events(std::slice::from_ref(&event), now).await?;
        tx.commit().await?;
        Ok(Created::New { job, event })
    }

    async fn job(&self, tenant: TenantId, id: JobId) -> StoreResult<Option<JobView>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND tenant_id = $2");
        let row = self.reads().row(&sql, args![id, tenant]).await?;
        let Some(mut job) = row.as_ref().map(rows::job_view).transpose()? else {
            return Ok(None);
        };
        self.with_lanes(std::slice::from_mut(&mut job)).await?;
        Ok(Some(job))
    }

    async fn list_jobs(&self, tenant: TenantId, filter: &JobFilter) -> StoreResult<Vec<JobView>> {
        let (sql, args) = jobs_query(tenant, filter);
        let mut jobs = rows::all(&self.reads().rows(&sql, args).await?, rows::job_view)?;
        self.with_lanes(&mut jobs).await?;
        Ok(jobs)
    }

    async fn recipient_items(
        &self,
        tenant: TenantId,
        phone: &str,
        limit: u32,
    ) -> StoreResult<Vec<RecipientItem>> {
        // The items_by_recipient index finds the number's items; the join keeps the tenant's.
        let sql = "SELECT i.idx, i.recipient, i.status, i.device_id, i.attempts, i.error, \
             i.fault, i.errors, i.provider_message_id, i.sender_id, i.delivery, i.delivered_at, \
             i.read_at, i.updated_at, j.id AS job_id, j.name AS job_name, \
             j.message AS job_message, j.status AS job_status, j.created_at AS job_created_at \
             FROM items i JOIN jobs j ON j.id = i.job_id \
             WHERE i.recipient = $1 AND j.tenant_id = $2 AND j.kind = 'bulk_send' \
             ORDER BY j.id DESC, i.idx LIMIT $3";
        let rows = self
            .reads()
            .rows(sql, args![phone, tenant, i64::from(limit)])
            .await?;
        rows::all(&rows, |row| {
            Ok(RecipientItem {
                job_id: JobId(row.uuid("job_id")?),
                job_name: row.opt_text("job_name"),
                job_message: row.opt_text("job_message"),
                job_status: JobStatus::from_str(&row.text("job_status"))
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?,
                job_created_at: row.time("job_created_at"),
                item: rows::item_view(row)?,
            })
        })
    }

    async fn count_jobs(
        &self,
        tenant: TenantId,
        filter: &JobFilter,
    ) -> StoreResult<Vec<(JobStatus, u64)>> {
        let (filter_sql, args) = jobs_where(tenant, filter, false);
        let sql = format!("SELECT status, COUNT(*) AS n FROM jobs{filter_sql} GROUP BY status");
        let rows = self.reads().rows(&sql, args).await?;
        let mut counts = rows
            .iter()
            .map(|row| {
                let status = JobStatus::from_str(&row.text("status"))
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                Ok((status, row.big("n").max(0) as u64))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        counts.sort_by_key(|(status, _)| JobStatus::ALL.iter().position(|s| s == status));
        Ok(counts)
    }

    async fn job_ids(
        &self,
        tenant: TenantId,
        filter: &JobFilter,
        cap: u32,
    ) -> StoreResult<Vec<JobId>> {
        let (filter_sql, mut args) = jobs_where(tenant, filter, true);
        args.push(i64::from(cap).into());
        let sql = format!(
            "SELECT id FROM jobs{filter_sql} ORDER BY id DESC LIMIT ${}",
            args.len()
        );
        let rows = self.reads().rows(&sql, args).await?;
        rows.iter().map(|row| Ok(JobId(row.uuid("id")?))).collect()
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
        let (sql, args) = items_query(job, status, after, limit);
        let rows = self.reads().rows(&sql, args).await?;
        rows::all(&rows, rows::item_view).map(Some)
    }

    async fn list_instances(&self, tenant: TenantId) -> StoreResult<Vec<InstanceView>> {
        self.instances(tenant).await
    }

    async fn prune_events(&self, cutoff: DateTime<Utc>) -> StoreResult<u64> {
        self.write_one(
            "DELETE FROM events WHERE job_id IN \
             (SELECT id FROM jobs WHERE finished_at IS NOT NULL AND finished_at < $1)",
            args![cutoff],
        )
        .await
    }

    #[tracing::instrument(skip_all, fields(job_id = %job, ?command))]
    async fn command(
        &self,
        tenant: TenantId,
        job: JobId,
        command: Command,
    ) -> StoreResult<Option<Transition>> {
        run_command(self.write().await?, tenant, job, command, None).await
    }

    #[tracing::instrument(skip_all, fields(job_id = %job, classes = classes.len()))]
    async fn retry_classes(
        &self,
        tenant: TenantId,
        job: JobId,
        classes: &[String],
    ) -> StoreResult<Option<Transition>> {
        let retry = Command::Retry {
            include_unknown: false,
        };
        run_command(self.write().await?, tenant, job, retry, Some(classes)).await
    }

    async fn jobs_by_status(&self) -> StoreResult<Vec<(String, u64)>> {
        let rows = self
            .reads()
            .rows(
                "SELECT status, COUNT(*) AS n FROM jobs GROUP BY status",
                Args::new(),
            )
            .await?;
        Ok(rows
            .iter()
            .map(|row| (row.text("status"), row.big("n").max(0) as u64))
            .collect())
    }

    async fn failures(
        &self,
        tenant: TenantId,
        job: JobId,
    ) -> StoreResult<Option<Vec<FailureGroup>>> {
        if !self.job_in_tenant(tenant, job).await? {
            return Ok(None);
        }
        let rows = self
            .reads()
            .rows(
                "SELECT fault, error, COUNT(*) AS n FROM items \
                 WHERE job_id = $1 AND status = 'failed' GROUP BY fault, error",
                args![job],
            )
            .await?;
        Ok(Some(failure_groups(rows.iter().map(|row| {
            (
                // A fault this version cannot read is grouped by its sentence.
                row.json("fault").ok().flatten(),
                row.opt_text("error"),
                row.big("n").max(0) as u64,
            )
        }))))
    }

    async fn set_device_paused(
        &self,
        tenant: TenantId,
        job: JobId,
        device: u32,
        paused: bool,
    ) -> StoreResult<Option<crate::server::store::LaneChange>> {
        self.set_lane_paused(tenant, job, device, paused).await
    }
}

/// Reads a job's tenant from a `tenant_id` row.
pub(crate) fn tenant_of(row: Option<impl Cols>) -> StoreResult<Option<TenantId>> {
    row.map(|row| row.uuid("tenant_id").map(TenantId))
        .transpose()
}
