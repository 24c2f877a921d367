//! Campaigns, scraping results and outside workers' jobs in SQLite.

use crate::server::store::sql_int;
use async_trait::async_trait;
use chrono::Utc;
use sqlx::{Row, Sqlite, Transaction};
use uuid::Uuid;

use super::{
    Holder, JOB_COLUMNS, JobRow, SqliteStore, end_job, from_millis, insert_events, millis,
    parse_uuid,
};
use crate::protocol::fault::StageNote;
use crate::protocol::{
    CampaignView, JobCreatedEvent, JobId, JobView, ResultView, ServerMsg, SourceSpec, WorkerItem,
};
use crate::server::store::shared::{
    ItemNote, campaign_job_params, external_params, item_events, result_view, search_pattern,
    stage_event, started_by_worker,
};
use crate::server::store::{
    CampaignStore, FailedPage, FoundResult, JobEnd, NewCampaign, StoreError, StoreResult,
    StoredEvent, TenantId, item_key, progress_of,
};

/// Creates a job row and its `job_created` event.
#[allow(clippy::too_many_arguments)]
async fn insert_job(
    tx: &mut Transaction<'static, Sqlite>,
    tenant: TenantId,
    kind: &str,
    total: u64,
    campaign: Option<Uuid>,
    name: Option<&str>,
    params: &serde_json::Value,
    worker_token_hash: Option<&str>,
) -> StoreResult<(JobView, StoredEvent)> {
    let id = JobId(Uuid::now_v7());
    let now = Utc::now();
    let row: JobRow = sqlx::query_as(&format!(
        "INSERT INTO jobs (id, tenant_id, kind, status, devices_limit, total, last_seq, campaign_id, \
         name, params, worker_token_hash, created_at, updated_at) \
         VALUES (?, ?, ?, 'pending', 1, ?, 1, ?, ?, ?, ?, ?, ?) RETURNING {JOB_COLUMNS}"
    ))
    .bind(id.to_string())
    .bind(tenant.to_string())
    .bind(kind)
    .bind(total as i64)
    .bind(campaign.map(|c| c.to_string()))
    .bind(name)
    .bind(params.to_string())
    .bind(worker_token_hash)
    .bind(millis(now))
    .bind(millis(now))
    .fetch_one(&mut **tx)
    .await?;
    let job = row.into_view()?;
    let event = StoredEvent::from_msg(&ServerMsg::JobCreated(JobCreatedEvent {
        job_id: id,
        seq: 1,
        at: now,
        job: job.clone(),
    }));
    insert_events(tx, std::slice::from_ref(&event), millis(now)).await?;
    Ok((job, event))
}

fn campaign_row(row: &sqlx::sqlite::SqliteRow) -> StoreResult<CampaignView> {
    let corrupt = |e: serde_json::Error| StoreError::Corrupt(format!("campaign: {e}"));
    Ok(CampaignView {
        id: parse_uuid(row.get("id"))?,
        name: row.get("name"),
        platform: row.get("platform"),
        keywords: serde_json::from_str(row.get("keywords")).map_err(corrupt)?,
        target_results: row.get::<i64, _>("target_results") as u32,
        source: serde_json::from_str::<SourceSpec>(row.get("source")).map_err(corrupt)?,
        created_at: from_millis(row.get("created_at")),
        results: row.get::<i64, _>("results") as u64,
        jobs: Vec::new(),
    })
}

const CAMPAIGN_COLUMNS: &str = "c.id, c.name, c.platform, c.keywords, c.target_results, c.source, \
     c.created_at, (SELECT COUNT(*) FROM items i WHERE i.campaign_id = c.id AND i.status = 'sent') \
     AS results";

impl SqliteStore {
    /// Inserts items by key (a key already in the job, or a result URL already in the campaign,
    /// is skipped), then counts them and writes their events, fenced by `holder`.
    async fn insert_items(
        &self,
        tx: &mut Transaction<'static, Sqlite>,
        job: JobId,
        holder: Holder<'_>,
        notes: Vec<ItemNote>,
        percentage: Option<f64>,
    ) -> StoreResult<Vec<StoredEvent>> {
        let now = Utc::now();
        let row = sqlx::query(
            "SELECT campaign_id, (SELECT COALESCE(MAX(idx), -1) + 1 FROM items WHERE job_id = ?) AS next \
             FROM jobs WHERE id = ?",
        )
        .bind(job.to_string())
        .bind(job.to_string())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(StoreError::LeaseLost(job))?;
        let campaign: Option<String> = row.get("campaign_id");
        let next: i64 = row.get("next");
        let mut recorded = Vec::with_capacity(notes.len());
        for note in notes {
            // No conflict target: either unique index (key in the job, result in the campaign) skips it.
            let inserted = sqlx::query(
                "INSERT INTO items (job_id, idx, recipient, key, campaign_id, status, attempts, error, \
                 idempotency_key, data, search_text, updated_at) \
                 VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            )
            .bind(job.to_string())
            .bind(next + recorded.len() as i64)
            .bind(&note.key)
            .bind(&note.key)
            .bind(campaign.as_deref())
            .bind(if note.ok { "sent" } else { "failed" })
            .bind(note.error.as_deref())
            .bind(item_key(job, (next as u64) + recorded.len() as u64))
            .bind(note.data.as_ref().map(|d| d.to_string()))
            .bind(note.search.as_deref())
            .bind(millis(now))
            .execute(&mut **tx)
            .await?;
            if inserted.rows_affected() == 1 {
                recorded.push(note);
            }
        }
        let ok = recorded.iter().filter(|n| n.ok).count() as i64;
        let failed = recorded.len() as i64 - ok;
        let fence = match holder {
            Holder::Runner(_) => "lease_owner = ?",
            _ => "kind = 'external' AND status IN ('pending', 'processing')",
        };
        let sql = format!(
            "UPDATE jobs SET sent = sent + ?, failed = failed + ?, last_seq = last_seq + ?, \
             percentage = COALESCE(?, percentage), updated_at = ? WHERE id = ? AND {fence} \
             RETURNING sent, failed, unknown, total, last_seq, percentage"
        );
        let mut update = sqlx::query(&sql)
            .bind(ok)
            .bind(failed)
            .bind(recorded.len() as i64)
            .bind(percentage)
            .bind(millis(now))
            .bind(job.to_string());
        if let Holder::Runner(owner) = holder {
            update = update.bind(owner);
        }
        let Some(row) = update.fetch_optional(&mut **tx).await? else {
            return Err(StoreError::LeaseLost(job));
        };
        let events = item_events(
            job,
            now,
            recorded,
            (
                row.get::<i64, _>("sent") - ok,
                row.get::<i64, _>("failed") - failed,
            ),
            row.get("total"),
            row.get::<i64, _>("last_seq") as u64,
            row.get("percentage"),
        );
        insert_events(tx, &events, millis(now)).await?;
        Ok(events)
    }
}

/// Starts an outside worker's job on its first report: `job_started`, if it was pending.
async fn start_if_pending(
    tx: &mut Transaction<'static, Sqlite>,
    job: JobId,
) -> StoreResult<Option<StoredEvent>> {
    let now = Utc::now();
    let started = sqlx::query(
        "UPDATE jobs SET status = 'processing', started_at = ?, last_seq = last_seq + 1, updated_at = ? \
         WHERE id = ? AND kind = 'external' AND status = 'pending' \
         RETURNING sent, failed, unknown, total, last_seq",
    )
    .bind(millis(now))
    .bind(millis(now))
    .bind(job.to_string())
    .fetch_optional(&mut **tx)
    .await?;
    Ok(started.map(|row| {
        let progress = progress_of(
            row.get("sent"),
            row.get("failed"),
            row.get("unknown"),
            row.get("total"),
        );
        started_by_worker(job, row.get::<i64, _>("last_seq") as u64, now, progress)
    }))
}

#[async_trait]
impl CampaignStore for SqliteStore {
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
        };
        let (_gate, mut tx) = self.write_tx().await?;
        sqlx::query(
            "INSERT INTO campaigns (id, tenant_id, name, platform, keywords, target_results, source, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(campaign.id.to_string())
        .bind(new.tenant_id.to_string())
        .bind(&campaign.name)
        .bind(&campaign.platform)
        .bind(serde_json::to_string(&campaign.keywords).expect("strings serialise"))
        .bind(campaign.target_results as i64)
        .bind(serde_json::to_string(&campaign.source).expect("sources serialise"))
        .bind(millis(campaign.created_at))
        .execute(&mut *tx)
        .await?;
        let params = campaign_job_params(&campaign);
        let (job, event) = insert_job(
            &mut tx,
            new.tenant_id,
            "scrape",
            campaign.target_results.into(),
            Some(campaign.id),
            None,
            &params,
            None,
        )
        .await?;
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
        let (_gate, mut tx) = self.write_tx().await?;
        // Checked inside the write: two requests at once cannot both start a search.
        let running: Option<String> = sqlx::query_scalar(
            "SELECT status FROM jobs WHERE campaign_id = ? \
             AND status NOT IN ('completed', 'failed', 'cancelled') LIMIT 1",
        )
        .bind(campaign.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(status) = running {
            return Err(StoreError::StillSearching {
                paused: status == "paused",
            });
        }
        let params = campaign_job_params(&view);
        let created = insert_job(
            &mut tx,
            tenant,
            "scrape",
            view.target_results.into(),
            Some(campaign),
            None,
            &params,
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(created))
    }

    async fn campaign(&self, tenant: TenantId, id: Uuid) -> StoreResult<Option<CampaignView>> {
        let row = sqlx::query(&format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM campaigns c WHERE c.id = ? AND c.tenant_id = ?"
        ))
        .bind(id.to_string())
        .bind(tenant.to_string())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let mut campaign = campaign_row(&row)?;
        let jobs: Vec<JobRow> = sqlx::query_as(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE campaign_id = ? AND tenant_id = ? ORDER BY id DESC"
        ))
        .bind(id.to_string())
        .bind(tenant.to_string())
        .fetch_all(&self.pool)
        .await?;
        campaign.jobs = jobs
            .into_iter()
            .map(JobRow::into_view)
            .collect::<StoreResult<_>>()?;
        Ok(Some(campaign))
    }

    async fn list_campaigns(&self, tenant: TenantId, limit: u32) -> StoreResult<Vec<CampaignView>> {
        let rows = sqlx::query(&format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM campaigns c WHERE c.tenant_id = ? ORDER BY c.id DESC LIMIT ?"
        ))
        .bind(tenant.to_string())
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        let mut campaigns = rows
            .iter()
            .map(campaign_row)
            .collect::<StoreResult<Vec<_>>>()?;
        for campaign in &mut campaigns {
            let newest: Option<JobRow> = sqlx::query_as(&format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE campaign_id = ? AND tenant_id = ? \
                 ORDER BY id DESC LIMIT 1"
            ))
            .bind(campaign.id.to_string())
            .bind(tenant.to_string())
            .fetch_optional(&self.pool)
            .await?;
            campaign.jobs = newest
                .map(JobRow::into_view)
                .transpose()?
                .into_iter()
                .collect();
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
        let owned = sqlx::query("SELECT 1 FROM campaigns WHERE id = ? AND tenant_id = ?")
            .bind(campaign.to_string())
            .bind(tenant.to_string())
            .fetch_optional(&self.pool)
            .await?;
        if owned.is_none() {
            return Ok(None);
        }
        let pattern = search_pattern(search);
        const MATCHING: &str = "FROM items WHERE campaign_id = ? AND status = 'sent' \
             AND (? IS NULL OR search_text LIKE ? ESCAPE '\\')";
        let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) {MATCHING}"))
            .bind(campaign.to_string())
            .bind(pattern.as_deref())
            .bind(pattern.as_deref())
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query(&format!(
            "SELECT key, data, job_id, updated_at {MATCHING} ORDER BY updated_at, job_id, idx LIMIT ? OFFSET ?"
        ))
        .bind(campaign.to_string())
        .bind(pattern.as_deref())
        .bind(pattern.as_deref())
        .bind(limit as i64)
        .bind(sql_int(offset))
        .fetch_all(&self.pool)
        .await?;
        let results = rows
            .into_iter()
            .map(|row| {
                let data: Option<String> = row.get("data");
                Ok(result_view(
                    row.get("key"),
                    data.as_deref().and_then(|d| serde_json::from_str(d).ok()),
                    JobId(parse_uuid(row.get("job_id"))?),
                    from_millis(row.get("updated_at")),
                ))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Some((results, total as u64)))
    }

    async fn record_results(
        &self,
        job: JobId,
        owner: &str,
        results: &[FoundResult],
        failed: &[FailedPage],
        percentage: f64,
    ) -> StoreResult<Vec<StoredEvent>> {
        let (_gate, mut tx) = self.write_tx().await?;
        let notes = results
            .iter()
            .map(ItemNote::found)
            .chain(failed.iter().map(ItemNote::failed_page))
            .collect();
        let events = self
            .insert_items(&mut tx, job, Holder::Runner(owner), notes, Some(percentage))
            .await?;
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
        let (_gate, mut tx) = self.write_tx().await?;
        let row = sqlx::query(
            "UPDATE jobs SET stage = ?1, percentage = ?2, stage_message = COALESCE(?3, stage_message), \
             stage_note = CASE WHEN ?3 IS NULL THEN stage_note ELSE ?7 END, \
             last_seq = last_seq + 1, updated_at = ?4 \
             WHERE id = ?5 AND lease_owner = ?6 RETURNING sent, failed, unknown, total, last_seq",
        )
        .bind(stage)
        .bind(percentage)
        .bind(message.as_deref())
        .bind(millis(now))
        .bind(job.to_string())
        .bind(owner)
        .bind(note.map(|n| serde_json::to_string(n).expect("notes serialise")))
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::LeaseLost(job))?;
        let progress = progress_of(
            row.get("sent"),
            row.get("failed"),
            row.get("unknown"),
            row.get("total"),
        );
        let seq = row.get::<i64, _>("last_seq") as u64;
        let event = stage_event(
            job,
            seq,
            now,
            stage,
            percentage,
            progress,
            message.as_deref(),
            note,
        );
        insert_events(&mut tx, std::slice::from_ref(&event), millis(now)).await?;
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
        let (_gate, mut tx) = self.write_tx().await?;
        let created = insert_job(
            &mut tx,
            tenant,
            "external",
            total,
            None,
            Some(name),
            &external_params(stages),
            Some(worker_token_hash),
        )
        .await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn worker_job(
        &self,
        job: JobId,
        token_hash: &str,
    ) -> StoreResult<Option<(TenantId, JobView)>> {
        let row = sqlx::query(&format!(
            "SELECT tenant_id, {JOB_COLUMNS} FROM jobs WHERE id = ? AND kind = 'external' AND worker_token_hash = ?"
        ))
        .bind(job.to_string())
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let tenant = TenantId(parse_uuid(row.get("tenant_id"))?);
        let view = <JobRow as sqlx::FromRow<_>>::from_row(&row)?.into_view()?;
        Ok(Some((tenant, view)))
    }

    async fn worker_progress(
        &self,
        job: JobId,
        processed: u64,
        stage: Option<&str>,
        message: Option<&str>,
    ) -> StoreResult<Vec<StoredEvent>> {
        let now = Utc::now();
        let (_gate, mut tx) = self.write_tx().await?;
        let mut events: Vec<StoredEvent> =
            start_if_pending(&mut tx, job).await?.into_iter().collect();
        let row = sqlx::query(
            "UPDATE jobs SET stage = COALESCE(?1, stage), stage_message = COALESCE(?2, stage_message), \
             stage_note = CASE WHEN ?2 IS NULL THEN stage_note END, \
             percentage = MIN(100.0, CAST(?3 AS REAL) * 100.0 / MAX(total, 1)), \
             last_seq = last_seq + 1, updated_at = ?4 \
             WHERE id = ?5 AND kind = 'external' AND status = 'processing' \
             RETURNING sent, failed, unknown, total, last_seq, stage, percentage",
        )
        .bind(stage)
        .bind(message)
        .bind(processed as i64)
        .bind(millis(now))
        .bind(job.to_string())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| {
            StoreError::Conflict("The job has ended: it takes no more reports.".into())
        })?;
        let progress = progress_of(
            row.get("sent"),
            row.get("failed"),
            row.get("unknown"),
            row.get("total"),
        );
        let stage: Option<String> = row.get("stage");
        events.push(stage_event(
            job,
            row.get::<i64, _>("last_seq") as u64,
            now,
            stage.as_deref().unwrap_or("processing"),
            row.get("percentage"),
            progress,
            message,
            None,
        ));
        insert_events(&mut tx, &events, millis(now)).await?;
        tx.commit().await?;
        Ok(events)
    }

    async fn worker_items(
        &self,
        job: JobId,
        items: &[WorkerItem],
    ) -> StoreResult<Vec<StoredEvent>> {
        let (_gate, mut tx) = self.write_tx().await?;
        let started = start_if_pending(&mut tx, job).await?;
        let notes = items.iter().map(ItemNote::reported).collect();
        let events = self
            .insert_items(&mut tx, job, Holder::Worker, notes, None)
            .await;
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
        let (_gate, mut tx) = self.write_tx().await?;
        let event = end_job(&mut tx, job, Holder::Worker, end).await?;
        tx.commit().await?;
        Ok(event)
    }

    async fn fail_silent_workers(
        &self,
        silent_for: std::time::Duration,
        error: &str,
    ) -> StoreResult<Vec<(TenantId, StoredEvent)>> {
        // One file, one machine: its clock is the only one.
        let cutoff = Utc::now() - silent_for;
        let (_gate, mut tx) = self.write_tx().await?;
        let silent = sqlx::query(
            "SELECT id, tenant_id FROM jobs WHERE kind = 'external' \
             AND status IN ('pending', 'processing') AND updated_at < ?",
        )
        .bind(millis(cutoff))
        .fetch_all(&mut *tx)
        .await?;
        let mut ended = Vec::with_capacity(silent.len());
        for row in silent {
            let job = JobId(parse_uuid(row.get("id"))?);
            let tenant = TenantId(parse_uuid(row.get("tenant_id"))?);
            let end = JobEnd::Failed {
                error: error.to_owned(),
                message: "Its worker may report again only on a new job.".to_owned(),
            };
            if let Some(event) = end_job(&mut tx, job, Holder::Worker, end).await? {
                ended.push((tenant, event));
            }
        }
        tx.commit().await?;
        Ok(ended)
    }
}
