//! Campaigns, scraping results and outside workers' jobs, written once over each backend's
//! fenced primitives (`CampaignTx`) and queries (`CampaignSql`).

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::rows::{self, CAMPAIGN_COLUMNS, Cols, JOB_COLUMNS};
use super::sql::{D, Dialect, Sql, args};
use super::{
    Backend, Holder, ItemNote, PACE_CHECKPOINT, WriteTx, campaign_job_params, created_event,
    end_job, external_params, item_events, pace_columns, search_pattern, stage_event,
    started_by_worker,
};
use crate::protocol::failure::JobFault;
use crate::protocol::fault::StageNote;
use crate::protocol::{CampaignView, JobId, JobView, ResultView, WorkerItem};
use crate::server::store::{
    CampaignStore, FailedPage, FoundResult, JobEnd, NewCampaign, StoreError, StoreResult,
    StoredEvent, TenantId, item_key, sql_int,
};

/// A job row to insert: a campaign's scraping job or an outside worker's job.
pub(crate) struct NewJob<'a> {
    pub tenant: TenantId,
    pub kind: &'a str,
    pub total: u64,
    pub campaign: Option<Uuid>,
    pub name: Option<&'a str>,
    pub tags: &'a [String],
    pub params: serde_json::Value,
    pub worker_token_hash: Option<&'a str>,
}

/// The fenced primitives of campaigns and outside workers, inside one write transaction.
#[async_trait]
pub(crate) trait CampaignTx: WriteTx {
    /// Inserts a pending job with `last_seq` 1 (its `job_created`); the job (`JOB_COLUMNS`).
    async fn insert_job(
        &mut self,
        id: JobId,
        new: &NewJob<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<Self::Row> {
        let sql = format!(
            "INSERT INTO jobs (id, tenant_id, kind, status, devices_limit, total, last_seq, \
             campaign_id, name, params, worker_token_hash, created_at, updated_at, tags, \
             search_text) \
             VALUES ($1, $2, $3, 'pending', 1, $4, 1, $5, $6, $7, $8, $9, $9, $10, $11) \
             RETURNING {JOB_COLUMNS}"
        );
        let args = args![
            id,
            new.tenant,
            new.kind,
            new.total as i64,
            new.campaign,
            new.name,
            new.params.clone(),
            new.worker_token_hash,
            now,
            (!new.tags.is_empty()).then(|| serde_json::json!(new.tags)),
            super::jobs::job_search_text(new.name, None, new.tags),
        ];
        self.one(&sql, args).await
    }
    async fn insert_campaign(
        &mut self,
        tenant: TenantId,
        campaign: &CampaignView,
    ) -> StoreResult<()> {
        let keywords = serde_json::to_value(&campaign.keywords).expect("strings serialise");
        let source = serde_json::to_value(&campaign.source).expect("sources serialise");
        self.run(
            "INSERT INTO campaigns (id, tenant_id, name, platform, keywords, target_results, \
             source, created_at, tags) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            args![
                campaign.id,
                tenant,
                &campaign.name,
                &campaign.platform,
                keywords,
                i64::from(campaign.target_results),
                source,
                campaign.created_at,
                (!campaign.tags.is_empty()).then(|| serde_json::json!(campaign.tags)),
            ],
        )
        .await?;
        Ok(())
    }
    /// The status of a search of the campaign that has not ended, ordering concurrent requests
    /// (by the campaign's row lock where there is no write gate): only one starts a search.
    async fn search_not_ended(&mut self, campaign: Uuid) -> StoreResult<Option<String>> {
        let lock = D::<Self>::FOR_UPDATE;
        if !lock.is_empty() {
            let sql = format!("SELECT id FROM campaigns WHERE id = $1{lock}");
            self.run(&sql, args![campaign]).await?;
        }
        let sql = "SELECT status FROM jobs WHERE campaign_id = $1 \
             AND status NOT IN ('completed', 'failed', 'cancelled') LIMIT 1";
        let row = self.row(sql, args![campaign]).await?;
        Ok(row.map(|row| row.text("status")))
    }
    /// The job's campaign and its next item index, ordering concurrent reports for the job (two
    /// worker posts at once) so their item numbers and seqs never collide; `None` if there is no
    /// such job.
    async fn items_start(&mut self, job: JobId) -> StoreResult<Option<(Option<Uuid>, i64)>> {
        // Two statements: the next index is read only once the lock is held.
        let sql = format!(
            "SELECT campaign_id FROM jobs WHERE id = $1{}",
            D::<Self>::FOR_UPDATE
        );
        let Some(row) = self.row(&sql, args![job]).await? else {
            return Ok(None);
        };
        let sql = "SELECT COALESCE(MAX(idx), -1) + 1 AS next FROM items WHERE job_id = $1";
        let next = self.row(sql, args![job]).await?;
        Ok(Some((
            row.opt_uuid("campaign_id")?,
            next.map_or(0, |n| n.big("next")),
        )))
    }
    /// Inserts an item unless its key is in the job, or its result in the campaign, already.
    async fn insert_item(
        &mut self,
        job: JobId,
        idx: i64,
        campaign: Option<Uuid>,
        note: &ItemNote,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        // No conflict target: either unique index (key in the job, result in the campaign) skips it.
        let inserted = self
            .run(
                "INSERT INTO items (job_id, idx, recipient, key, campaign_id, status, attempts, \
                 error, idempotency_key, data, search_text, updated_at) \
                 VALUES ($1, $2, $3, $3, $4, $5, 1, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
                args![
                    job,
                    idx,
                    &note.key,
                    campaign,
                    if note.ok { "sent" } else { "failed" },
                    note.error.clone(),
                    item_key(job, idx as u64),
                    note.data.clone(),
                    note.search.clone(),
                    now,
                ],
            )
            .await?;
        Ok(inserted == 1)
    }
    /// Counts `(ok, failed)` new items and their events, if `holder` may report them; the job's
    /// `sent, failed, unknown, total, last_seq, percentage`.
    async fn count_items(
        &mut self,
        job: JobId,
        holder: Holder<'_>,
        (ok, failed): (i64, i64),
        percentage: Option<f64>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Self::Row>> {
        let (checkpoint, checkpoint_arg) = D::<Self>::before("$8", PACE_CHECKPOINT, now);
        let sql = format!(
            "UPDATE jobs SET sent = sent + $1, failed = failed + $2, last_seq = last_seq + $3, \
             percentage = COALESCE($4, percentage), updated_at = {now}, {pace} \
             WHERE id = $6 AND {fence} \
             RETURNING sent, failed, unknown, total, last_seq, percentage",
            now = D::<Self>::not_before("$5"),
            pace = pace_columns(&D::<Self>::not_before("$5"), &checkpoint, "$1 + $2"),
            fence = holder.report_fence("$7")
        );
        let mut args = args![
            ok,
            failed,
            ok + failed,
            percentage,
            now,
            job,
            holder.owner()
        ];
        args.push(checkpoint_arg);
        self.row(&sql, args).await
    }
    /// Starts an outside worker's job if it is pending, counting `job_started`; its counters.
    async fn start_external(
        &mut self,
        job: JobId,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Self::Row>> {
        let sql = format!(
            "UPDATE jobs SET status = 'processing', started_at = $1, last_seq = last_seq + 1, \
             updated_at = {} WHERE id = $2 AND kind = 'external' AND status = 'pending' \
             RETURNING sent, failed, unknown, total, last_seq",
            D::<Self>::now("$1")
        );
        self.row(&sql, args![now, job]).await
    }
    /// Records a stage and its percentage (and its note, in words and as a code) if `owner`
    /// holds the job's lease; its counters.
    async fn set_stage(
        &mut self,
        job: JobId,
        owner: &str,
        (stage, percentage): (&str, f64),
        note: Option<(&str, &StageNote)>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Self::Row>> {
        let code = note.map(|(_, n)| serde_json::to_value(n).expect("notes serialise"));
        self.row(
            "UPDATE jobs SET stage = $1, percentage = $2, \
             stage_message = COALESCE($3, stage_message), \
             stage_note = CASE WHEN $3 IS NULL THEN stage_note ELSE $7 END, \
             last_seq = last_seq + 1, updated_at = $4 \
             WHERE id = $5 AND lease_owner = $6 RETURNING sent, failed, unknown, total, last_seq",
            args![
                stage,
                percentage,
                note.map(|(m, _)| m),
                now,
                job,
                owner,
                code
            ],
        )
        .await
    }
    /// Records a running outside worker's progress; its counters, `stage` and `percentage`.
    async fn set_worker_progress(
        &mut self,
        job: JobId,
        processed: u64,
        stage: Option<&str>,
        message: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<Self::Row>> {
        let sql = format!(
            "UPDATE jobs SET stage = COALESCE($1, stage), \
             stage_message = COALESCE($2, stage_message), \
             stage_note = CASE WHEN $2 IS NULL THEN stage_note END, \
             percentage = {}(100.0, CAST($3 AS DOUBLE PRECISION) * 100.0 / {}(total, 1)), \
             last_seq = last_seq + 1, updated_at = {now}, moved_at = {now} \
             WHERE id = $5 AND kind = 'external' AND status = 'processing' \
             RETURNING sent, failed, unknown, total, last_seq, stage, percentage",
            D::<Self>::LEAST,
            D::<Self>::GREATEST,
            now = D::<Self>::not_before("$4")
        );
        let args = args![stage, message, sql_int(processed), now, job];
        self.row(&sql, args).await
    }
    /// The `id, tenant_id` of outside workers' jobs with no report for `silent_for` before
    /// `now` (or by the database's clock, where it keeps one).
    async fn silent_workers(
        &mut self,
        silent_for: std::time::Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<Self::Row>> {
        let (cutoff, arg) = D::<Self>::before("$1", silent_for, now);
        let sql = format!(
            "SELECT id, tenant_id FROM jobs WHERE kind = 'external' \
             AND status IN ('pending', 'processing') AND updated_at < {cutoff}{}",
            D::<Self>::SKIP_LOCKED
        );
        self.rows(&sql, vec![arg]).await
    }
}

impl<T: WriteTx> CampaignTx for T {}

/// The queries of campaigns, outside the write path.
#[async_trait]
pub(crate) trait CampaignSql: Backend {
    /// One of the tenant's campaigns (`CAMPAIGN_COLUMNS`).
    async fn campaign_row(&self, tenant: TenantId, id: Uuid) -> StoreResult<Option<Self::Row>> {
        let sql = format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM campaigns c WHERE c.id = $1 AND c.tenant_id = $2"
        );
        self.reads().row(&sql, args![id, tenant]).await
    }
    /// The jobs (`JOB_COLUMNS`) of one of the tenant's campaigns, newest first.
    async fn campaign_jobs(&self, tenant: TenantId, id: Uuid) -> StoreResult<Vec<Self::Row>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE campaign_id = $1 AND tenant_id = $2 \
             ORDER BY id DESC"
        );
        self.reads().rows(&sql, args![id, tenant]).await
    }
    /// The tenant's campaigns (`CAMPAIGN_COLUMNS`), newest first.
    async fn campaign_rows(&self, tenant: TenantId, limit: u32) -> StoreResult<Vec<Self::Row>> {
        let sql = format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM campaigns c WHERE c.tenant_id = $1 \
             ORDER BY c.id DESC LIMIT $2"
        );
        self.reads()
            .rows(&sql, args![tenant, i64::from(limit)])
            .await
    }
    /// The newest job of each of these campaigns of the tenant.
    async fn newest_jobs(
        &self,
        tenant: TenantId,
        campaigns: &[Uuid],
    ) -> StoreResult<HashMap<Uuid, JobView>>;
    async fn owns_campaign(&self, tenant: TenantId, campaign: Uuid) -> StoreResult<bool> {
        let sql = "SELECT 1 AS one FROM campaigns WHERE id = $1 AND tenant_id = $2";
        Ok(self
            .reads()
            .row(sql, args![campaign, tenant])
            .await?
            .is_some())
    }
    /// A page of the campaign's results (`key, data, job_id, updated_at`) matching `pattern`,
    /// and how many match.
    async fn result_rows(
        &self,
        campaign: Uuid,
        pattern: Option<&str>,
        offset: u64,
        limit: u32,
    ) -> StoreResult<(Vec<Self::Row>, i64)> {
        const MATCHING: &str = "FROM items WHERE campaign_id = $1 AND status = 'sent' \
             AND ($2 IS NULL OR search_text LIKE $2 ESCAPE '\\')";
        let count = format!("SELECT COUNT(*) AS n {MATCHING}");
        let total = self.reads().row(&count, args![campaign, pattern]).await?;
        let sql = format!(
            "SELECT key, data, job_id, updated_at {MATCHING} \
             ORDER BY updated_at, job_id, idx LIMIT $3 OFFSET $4"
        );
        let args = args![campaign, pattern, i64::from(limit), sql_int(offset)];
        let rows = self.reads().rows(&sql, args).await?;
        Ok((rows, total.map_or(0, |row| row.big("n"))))
    }
    /// The external job (`tenant_id` and `JOB_COLUMNS`) the token hash belongs to.
    async fn worker_job_row(&self, job: JobId, token_hash: &str) -> StoreResult<Option<Self::Row>> {
        let sql = format!(
            "SELECT tenant_id, {JOB_COLUMNS} FROM jobs \
             WHERE id = $1 AND kind = 'external' AND worker_token_hash = $2"
        );
        self.reads().row(&sql, args![job, token_hash]).await
    }
}

/// Creates a job row and its `job_created` event.
async fn insert_job(
    tx: &mut impl CampaignTx,
    new: NewJob<'_>,
) -> StoreResult<(JobView, StoredEvent)> {
    let id = JobId(Uuid::now_v7());
    let now = Utc::now();
    let job = rows::job_view(&tx.insert_job(id, &new, now).await?)?;
    let event = created_event(&job, now);
    tx.insert_events(std::slice::from_ref(&event), now).await?;
    Ok((job, event))
}

/// A campaign's next scraping job.
fn scrape_job(tenant: TenantId, campaign: &CampaignView) -> NewJob<'_> {
    NewJob {
        tenant,
        kind: "scrape",
        total: campaign.target_results.into(),
        campaign: Some(campaign.id),
        name: Some(&campaign.name),
        tags: &campaign.tags,
        params: campaign_job_params(campaign),
        worker_token_hash: None,
    }
}

/// Inserts items by key (a key already in the job, or a result URL already in the campaign,
/// is skipped), then counts them and writes their events, fenced by `holder`.
async fn insert_items(
    tx: &mut impl CampaignTx,
    job: JobId,
    holder: Holder<'_>,
    notes: Vec<ItemNote>,
    percentage: Option<f64>,
) -> StoreResult<Vec<StoredEvent>> {
    let now = Utc::now();
    let (campaign, next) = tx
        .items_start(job)
        .await?
        .ok_or(StoreError::LeaseLost(job))?;
    let mut recorded = Vec::with_capacity(notes.len());
    for note in notes {
        let idx = next + recorded.len() as i64;
        if tx.insert_item(job, idx, campaign, &note, now).await? {
            recorded.push(note);
        }
    }
    let ok = recorded.iter().filter(|n| n.ok).count() as i64;
    let failed = recorded.len() as i64 - ok;
    let row = tx
        .count_items(job, holder, (ok, failed), percentage, now)
        .await?
        .ok_or(StoreError::LeaseLost(job))?;
    let events = item_events(
        job,
        now,
        recorded,
        (row.big("sent") - ok, row.big("failed") - failed),
        row.big("total"),
        row.big("last_seq") as u64,
        row.opt_float("percentage"),
    );
    tx.insert_events(&events, now).await?;
    Ok(events)
}

/// Starts an outside worker's job on its first report: `job_started`, if it was pending.
async fn start_if_pending(
    tx: &mut impl CampaignTx,
    job: JobId,
) -> StoreResult<Option<StoredEvent>> {
    let now = Utc::now();
    let started = tx.start_external(job, now).await?;
    Ok(started
        .map(|row| started_by_worker(job, row.big("last_seq") as u64, now, rows::progress(&row))))
}

#[async_trait]
impl<B: CampaignSql> CampaignStore for B {
    async fn create_campaign(
        &self,
        new: NewCampaign,
    ) -> StoreResult<(CampaignView, JobView, StoredEvent)> {
        let campaign = CampaignView {
            id: Uuid::now_v7(),
            name: new.name,
            platform: new.platform,
            keywords: new.keywords,
            target_results: new.target_results,
            source: new.source,
            created_at: Utc::now(),
            results: 0,
            jobs: Vec::new(),
            tags: new.tags,
        };
        let mut tx = self.write().await?;
        tx.insert_campaign(new.tenant_id, &campaign).await?;
        let (job, event) = insert_job(&mut tx, scrape_job(new.tenant_id, &campaign)).await?;
        tx.commit().await?;
        Ok((campaign, job, event))
    }

    async fn add_campaign_job(
        &self,
        tenant: TenantId,
        campaign: Uuid,
    ) -> StoreResult<Option<(JobView, StoredEvent)>> {
        let Some(view) = self.campaign(tenant, campaign).await? else {
            return Ok(None);
        };
        let mut tx = self.write().await?;
        // Checked inside the write: two requests at once cannot both start a search.
        if let Some(status) = tx.search_not_ended(campaign).await? {
            return Err(StoreError::StillSearching {
                paused: status == "paused",
            });
        }
        let created = insert_job(&mut tx, scrape_job(tenant, &view)).await?;
        tx.commit().await?;
        Ok(Some(created))
    }

    async fn campaign(&self, tenant: TenantId, id: Uuid) -> StoreResult<Option<CampaignView>> {
        let Some(row) = self.campaign_row(tenant, id).await? else {
            return Ok(None);
        };
        let mut campaign = rows::campaign_view(&row)?;
        campaign.jobs = rows::all(&self.campaign_jobs(tenant, id).await?, rows::job_view)?;
        Ok(Some(campaign))
    }

    async fn list_campaigns(&self, tenant: TenantId, limit: u32) -> StoreResult<Vec<CampaignView>> {
        let rows = self.campaign_rows(tenant, limit).await?;
        let mut campaigns = rows::all(&rows, rows::campaign_view)?;
        let ids: Vec<Uuid> = campaigns.iter().map(|c| c.id).collect();
        let mut newest = self.newest_jobs(tenant, &ids).await?;
        for campaign in &mut campaigns {
            campaign.jobs = newest.remove(&campaign.id).into_iter().collect();
        }
        Ok(campaigns)
    }

    async fn campaign_results(
        &self,
        tenant: TenantId,
        campaign: Uuid,
        search: Option<&str>,
        offset: u64,
        limit: u32,
    ) -> StoreResult<Option<(Vec<ResultView>, u64)>> {
        if !self.owns_campaign(tenant, campaign).await? {
            return Ok(None);
        }
        let pattern = search_pattern(search);
        let (rows, total) = self
            .result_rows(campaign, pattern.as_deref(), offset, limit)
            .await?;
        Ok(Some((rows::all(&rows, rows::result)?, total as u64)))
    }

    async fn record_results(
        &self,
        job: JobId,
        owner: &str,
        results: &[FoundResult],
        failed: &[FailedPage],
        percentage: f64,
    ) -> StoreResult<Vec<StoredEvent>> {
        let mut tx = self.write().await?;
        let notes = results
            .iter()
            .map(ItemNote::found)
            .chain(failed.iter().map(ItemNote::failed_page))
            .collect();
        let runner = Holder::Runner(owner);
        let events = insert_items(&mut tx, job, runner, notes, Some(percentage)).await?;
        tx.commit().await?;
        Ok(events)
    }

    async fn record_stage(
        &self,
        job: JobId,
        owner: &str,
        stage: &str,
        percentage: f64,
        note: Option<&StageNote>,
    ) -> StoreResult<StoredEvent> {
        let now = Utc::now();
        let message = note.map(StageNote::english);
        let mut tx = self.write().await?;
        let noted = message.as_deref().zip(note);
        let row = tx
            .set_stage(job, owner, (stage, percentage), noted, now)
            .await?
            .ok_or(StoreError::LeaseLost(job))?;
        let seq = row.big("last_seq") as u64;
        let progress = rows::progress(&row);
        let message = message.as_deref();
        let event = stage_event(job, seq, now, stage, percentage, progress, message, note);
        tx.insert_events(std::slice::from_ref(&event), now).await?;
        tx.commit().await?;
        Ok(event)
    }

    async fn create_external_job(
        &self,
        tenant: TenantId,
        name: &str,
        total: u64,
        stages: &[String],
        worker_token_hash: &str,
    ) -> StoreResult<(JobView, StoredEvent)> {
        let mut tx = self.write().await?;
        let new = NewJob {
            tenant,
            kind: "external",
            total,
            campaign: None,
            name: Some(name),
            tags: &[],
            params: external_params(stages),
            worker_token_hash: Some(worker_token_hash),
        };
        let created = insert_job(&mut tx, new).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn worker_job(
        &self,
        job: JobId,
        token_hash: &str,
    ) -> StoreResult<Option<(TenantId, JobView)>> {
        let Some(row) = self.worker_job_row(job, token_hash).await? else {
            return Ok(None);
        };
        Ok(Some((
            TenantId(row.uuid("tenant_id")?),
            rows::job_view(&row)?,
        )))
    }

    async fn worker_progress(
        &self,
        job: JobId,
        processed: u64,
        stage: Option<&str>,
        message: Option<&str>,
    ) -> StoreResult<Vec<StoredEvent>> {
        let now = Utc::now();
        let mut tx = self.write().await?;
        let mut events: Vec<StoredEvent> =
            start_if_pending(&mut tx, job).await?.into_iter().collect();
        let row = tx
            .set_worker_progress(job, processed, stage, message, now)
            .await?
            .ok_or_else(|| {
                StoreError::Conflict("The job has ended: it takes no more reports.".into())
            })?;
        events.push(stage_event(
            job,
            row.big("last_seq") as u64,
            now,
            row.opt_text("stage").as_deref().unwrap_or("processing"),
            row.float("percentage"),
            rows::progress(&row),
            message,
            None,
        ));
        tx.insert_events(&events, now).await?;
        tx.commit().await?;
        Ok(events)
    }

    async fn worker_items(
        &self,
        job: JobId,
        items: &[WorkerItem],
    ) -> StoreResult<Vec<StoredEvent>> {
        let mut tx = self.write().await?;
        let started = start_if_pending(&mut tx, job).await?;
        let notes = items.iter().map(ItemNote::reported).collect();
        let events = insert_items(&mut tx, job, Holder::Worker, notes, None).await;
        let events = events.map(|items| started.into_iter().chain(items).collect::<Vec<_>>());
        let events = events.map_err(|e| match e {
            StoreError::LeaseLost(_) => {
                StoreError::Conflict("The job has ended: it takes no more items.".into())
            }
            other => other,
        })?;
        tx.commit().await?;
        Ok(events)
    }

    async fn worker_finish(&self, job: JobId, end: JobEnd) -> StoreResult<Option<StoredEvent>> {
        let mut tx = self.write().await?;
        let event = end_job(&mut tx, job, Holder::Worker, end).await?;
        tx.commit().await?;
        Ok(event)
    }

    async fn fail_silent_workers(
        &self,
        silent_for: std::time::Duration,
    ) -> StoreResult<Vec<(TenantId, StoredEvent)>> {
        let now = Utc::now();
        let mut tx = self.write().await?;
        let silent = tx.silent_workers(silent_for, now).await?;
        let mut ended = Vec::with_capacity(silent.len());
        for row in silent {
            let job = JobId(row.uuid("id")?);
            let tenant = TenantId(row.uuid("tenant_id")?);
            let end = JobEnd::failed(JobFault::WorkerSilent {
                after_ms: silent_for.as_millis() as u64,
            });
            if let Some(event) = end_job(&mut tx, job, Holder::Worker, end).await? {
                ended.push((tenant, event));
            }
        }
        tx.commit().await?;
        Ok(ended)
    }
}
