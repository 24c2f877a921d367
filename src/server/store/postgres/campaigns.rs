//! Campaigns, scraping results and outside workers' jobs in PostgreSQL: the SQL under
//! `shared::campaigns`, with row locks where SQLite has its write gate.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::{PgTx, PostgresStore};
use crate::protocol::fault::StageNote;
use crate::protocol::{CampaignView, JobId, JobView};
use crate::server::store::shared::campaigns::{CampaignSql, NewJob};
use crate::server::store::shared::rows::{CAMPAIGN_COLUMNS, JOB_COLUMNS, job_view};
use crate::server::store::shared::{CampaignTx, Cols, Holder, ItemNote};
use crate::server::store::{StoreResult, TenantId, item_key, sql_int};

#[async_trait]
impl CampaignTx for PgTx {
    async fn insert_job(
        &mut self,
        id: JobId,
        new: &NewJob<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<PgRow> {
        Ok(sqlx::query(&format!(
            "INSERT INTO jobs (id, tenant_id, kind, status, devices_limit, total, last_seq, \
             campaign_id, name, params, worker_token_hash, created_at, updated_at) \
             VALUES ($1, $2, $3, 'pending', 1, $4, 1, $5, $6, $7, $8, $9, $9) RETURNING {JOB_COLUMNS}"
        ))
        .bind(id.0)
        .bind(new.tenant.0)
        .bind(new.kind)
        .bind(new.total as i64)
        .bind(new.campaign)
        .bind(new.name)
        .bind(&new.params)
        .bind(new.worker_token_hash)
        .bind(now)
        .fetch_one(&mut *self.tx)
        .await?)
    }

    async fn insert_campaign(
        &mut self,
        tenant: TenantId,
        campaign: &CampaignView,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO campaigns (id, tenant_id, name, platform, keywords, target_results, source, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(campaign.id)
        .bind(tenant.0)
        .bind(&campaign.name)
        .bind(&campaign.platform)
        .bind(serde_json::to_value(&campaign.keywords).expect("strings serialise"))
        .bind(campaign.target_results as i32)
        .bind(serde_json::to_value(&campaign.source).expect("sources serialise"))
        .bind(campaign.created_at)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn search_not_ended(&mut self, campaign: Uuid) -> StoreResult<Option<String>> {
        // The campaign's row lock orders two requests at once: only one starts a search.
        sqlx::query("SELECT id FROM campaigns WHERE id = $1 FOR UPDATE")
            .bind(campaign)
            .execute(&mut *self.tx)
            .await?;
        Ok(sqlx::query_scalar(
            "SELECT status FROM jobs WHERE campaign_id = $1 \
             AND status NOT IN ('completed', 'failed', 'cancelled') LIMIT 1",
        )
        .bind(campaign)
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    async fn items_start(&mut self, job: JobId) -> StoreResult<Option<(Option<Uuid>, i64)>> {
        // The row lock orders concurrent reports for one job (two worker posts at once), so
        // their item numbers and seqs never collide.
        let row = sqlx::query("SELECT campaign_id FROM jobs WHERE id = $1 FOR UPDATE")
            .bind(job.0)
            .fetch_optional(&mut *self.tx)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let next: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(idx), -1) + 1 FROM items WHERE job_id = $1")
                .bind(job.0)
                .fetch_one(&mut *self.tx)
                .await?;
        Ok(Some((row.opt_uuid("campaign_id")?, next)))
    }

    async fn insert_item(
        &mut self,
        job: JobId,
        idx: i64,
        campaign: Option<Uuid>,
        note: &ItemNote,
        now: DateTime<Utc>,
    ) -> StoreResult<bool> {
        // No conflict target: either unique index (key in the job, result in the campaign) skips it.
        let inserted = sqlx::query(
            "INSERT INTO items (job_id, idx, recipient, key, campaign_id, status, attempts, error, \
             idempotency_key, data, search_text, updated_at) \
             VALUES ($1, $2, $3, $3, $4, $5, 1, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
        )
        .bind(job.0)
        .bind(idx)
        .bind(&note.key)
        .bind(campaign)
        .bind(if note.ok { "sent" } else { "failed" })
        .bind(note.error.as_deref())
        .bind(item_key(job, idx as u64))
        .bind(note.data.as_ref())
        .bind(note.search.as_deref())
        .bind(now)
        .execute(&mut *self.tx)
        .await?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn count_items(
        &mut self,
        job: JobId,
        holder: Holder<'_>,
        (ok, failed): (i64, i64),
        percentage: Option<f64>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<PgRow>> {
        let sql = format!(
            "UPDATE jobs SET sent = sent + $1, failed = failed + $2, last_seq = last_seq + $3, \
             percentage = COALESCE($4, percentage), updated_at = greatest($5, now()) \
             WHERE id = $6 AND {} \
             RETURNING sent, failed, unknown, total, last_seq, percentage",
            holder.report_fence("$7")
        );
        let mut update = sqlx::query(&sql)
            .bind(ok)
            .bind(failed)
            .bind(ok + failed)
            .bind(percentage)
            .bind(now)
            .bind(job.0);
        if let Some(owner) = holder.owner() {
            update = update.bind(owner);
        }
        Ok(update.fetch_optional(&mut *self.tx).await?)
    }

    async fn start_external(
        &mut self,
        job: JobId,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<PgRow>> {
        Ok(sqlx::query(
            "UPDATE jobs SET status = 'processing', started_at = $2, last_seq = last_seq + 1, \
             updated_at = now() WHERE id = $1 AND kind = 'external' AND status = 'pending' \
             RETURNING sent, failed, unknown, total, last_seq",
        )
        .bind(job.0)
        .bind(now)
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    async fn set_stage(
        &mut self,
        job: JobId,
        owner: &str,
        (stage, percentage): (&str, f64),
        note: Option<(&str, &StageNote)>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<PgRow>> {
        Ok(sqlx::query(
            "UPDATE jobs SET stage = $1, percentage = $2, stage_message = COALESCE($6, stage_message), \
             stage_note = CASE WHEN $6 IS NULL THEN stage_note ELSE $7 END, \
             last_seq = last_seq + 1, updated_at = $5 \
             WHERE id = $3 AND lease_owner = $4 RETURNING sent, failed, unknown, total, last_seq",
        )
        .bind(stage)
        .bind(percentage)
        .bind(job.0)
        .bind(owner)
        .bind(now)
        .bind(note.map(|(message, _)| message))
        .bind(note.map(|(_, n)| serde_json::to_value(n).expect("notes serialise")))
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    async fn set_worker_progress(
        &mut self,
        job: JobId,
        processed: u64,
        stage: Option<&str>,
        message: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<PgRow>> {
        Ok(sqlx::query(
            "UPDATE jobs SET stage = COALESCE($1, stage), stage_message = COALESCE($5, stage_message), \
             stage_note = CASE WHEN $5 IS NULL THEN stage_note END, \
             percentage = LEAST(100.0, $2::double precision * 100.0 / GREATEST(total, 1)), \
             last_seq = last_seq + 1, updated_at = greatest($4, now()) \
             WHERE id = $3 AND kind = 'external' AND status = 'processing' \
             RETURNING sent, failed, unknown, total, last_seq, stage, percentage",
        )
        .bind(stage)
        .bind(processed as i64)
        .bind(job.0)
        .bind(now)
        .bind(message)
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    async fn silent_workers(
        &mut self,
        silent_for: std::time::Duration,
        _now: DateTime<Utc>,
    ) -> StoreResult<Vec<PgRow>> {
        // By the database's clock, so instances with skewed clocks agree.
        Ok(sqlx::query(
            "SELECT id, tenant_id FROM jobs WHERE kind = 'external' \
             AND status IN ('pending', 'processing') \
             AND updated_at < now() - make_interval(secs => $1) FOR UPDATE SKIP LOCKED",
        )
        .bind(silent_for.as_secs_f64())
        .fetch_all(&mut *self.tx)
        .await?)
    }
}

#[async_trait]
impl CampaignSql for PostgresStore {
    async fn campaign_row(&self, tenant: TenantId, id: Uuid) -> StoreResult<Option<PgRow>> {
        Ok(sqlx::query(&format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM campaigns c WHERE c.id = $1 AND c.tenant_id = $2"
        ))
        .bind(id)
        .bind(tenant.0)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn campaign_jobs(&self, tenant: TenantId, id: Uuid) -> StoreResult<Vec<PgRow>> {
        Ok(sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE campaign_id = $1 AND tenant_id = $2 ORDER BY id DESC"
        ))
        .bind(id)
        .bind(tenant.0)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn campaign_rows(&self, tenant: TenantId, limit: u32) -> StoreResult<Vec<PgRow>> {
        Ok(sqlx::query(&format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM campaigns c WHERE c.tenant_id = $1 ORDER BY c.id DESC LIMIT $2"
        ))
        .bind(tenant.0)
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn newest_jobs(
        &self,
        tenant: TenantId,
        campaigns: &[Uuid],
    ) -> StoreResult<HashMap<Uuid, JobView>> {
        let rows = sqlx::query(&format!(
            "SELECT DISTINCT ON (campaign_id) campaign_id AS of_campaign, {JOB_COLUMNS} FROM jobs \
             WHERE tenant_id = $1 AND campaign_id = ANY($2) ORDER BY campaign_id, id DESC"
        ))
        .bind(tenant.0)
        .bind(campaigns)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.get("of_campaign"), job_view(row)?)))
            .collect()
    }

    async fn owns_campaign(&self, tenant: TenantId, campaign: Uuid) -> StoreResult<bool> {
        let owned = sqlx::query("SELECT 1 FROM campaigns WHERE id = $1 AND tenant_id = $2")
            .bind(campaign)
            .bind(tenant.0)
            .fetch_optional(&self.pool)
            .await?;
        Ok(owned.is_some())
    }

    async fn result_rows(
        &self,
        campaign: Uuid,
        pattern: Option<&str>,
        offset: u64,
        limit: u32,
    ) -> StoreResult<(Vec<PgRow>, i64)> {
        const MATCHING: &str = "FROM items WHERE campaign_id = $1 AND status = 'sent' \
             AND ($2::text IS NULL OR search_text LIKE $2 ESCAPE '\\')";
        let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) {MATCHING}"))
            .bind(campaign)
            .bind(pattern)
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query(&format!(
            "SELECT key, data, job_id, updated_at {MATCHING} \
             ORDER BY updated_at, job_id, idx LIMIT $3 OFFSET $4"
        ))
        .bind(campaign)
        .bind(pattern)
        .bind(limit as i64)
        .bind(sql_int(offset))
        .fetch_all(&self.pool)
        .await?;
        Ok((rows, total))
    }

    async fn worker_job_row(&self, job: JobId, token_hash: &str) -> StoreResult<Option<PgRow>> {
        Ok(sqlx::query(&format!(
            "SELECT tenant_id, {JOB_COLUMNS} FROM jobs \
             WHERE id = $1 AND kind = 'external' AND worker_token_hash = $2"
        ))
        .bind(job.0)
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?)
    }
}
