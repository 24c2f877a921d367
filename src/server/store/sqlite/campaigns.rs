//! Campaigns, scraping results and outside workers' jobs in SQLite: the SQL under
//! `shared::campaigns`.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqliteRow;
use uuid::Uuid;

use super::{SqliteStore, SqliteTx, millis};
use crate::protocol::fault::StageNote;
use crate::protocol::{CampaignView, JobId, JobView};
use crate::server::store::shared::campaigns::{CampaignSql, NewJob};
use crate::server::store::shared::rows::{CAMPAIGN_COLUMNS, JOB_COLUMNS, job_view};
use crate::server::store::shared::{CampaignTx, Cols, Holder, ItemNote};
use crate::server::store::{StoreResult, TenantId, item_key, sql_int};

#[async_trait]
impl CampaignTx for SqliteTx<'_> {
    async fn insert_job(
        &mut self,
        id: JobId,
        new: &NewJob<'_>,
        now: DateTime<Utc>,
    ) -> StoreResult<SqliteRow> {
        Ok(sqlx::query(&format!(
            "INSERT INTO jobs (id, tenant_id, kind, status, devices_limit, total, last_seq, \
             campaign_id, name, params, worker_token_hash, created_at, updated_at) \
             VALUES (?1, ?2, ?3, 'pending', 1, ?4, 1, ?5, ?6, ?7, ?8, ?9, ?9) RETURNING {JOB_COLUMNS}"
        ))
        .bind(id.to_string())
        .bind(new.tenant.to_string())
        .bind(new.kind)
        .bind(new.total as i64)
        .bind(new.campaign.map(|c| c.to_string()))
        .bind(new.name)
        .bind(new.params.to_string())
        .bind(new.worker_token_hash)
        .bind(millis(now))
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
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(campaign.id.to_string())
        .bind(tenant.to_string())
        .bind(&campaign.name)
        .bind(&campaign.platform)
        .bind(serde_json::to_string(&campaign.keywords).expect("strings serialise"))
        .bind(campaign.target_results as i64)
        .bind(serde_json::to_string(&campaign.source).expect("sources serialise"))
        .bind(millis(campaign.created_at))
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    async fn search_not_ended(&mut self, campaign: Uuid) -> StoreResult<Option<String>> {
        // The write gate orders two requests at once.
        Ok(sqlx::query_scalar(
            "SELECT status FROM jobs WHERE campaign_id = ? \
             AND status NOT IN ('completed', 'failed', 'cancelled') LIMIT 1",
        )
        .bind(campaign.to_string())
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    async fn items_start(&mut self, job: JobId) -> StoreResult<Option<(Option<Uuid>, i64)>> {
        let row = sqlx::query(
            "SELECT campaign_id, \
             (SELECT COALESCE(MAX(idx), -1) + 1 FROM items WHERE job_id = ?1) AS next \
             FROM jobs WHERE id = ?1",
        )
        .bind(job.to_string())
        .fetch_optional(&mut *self.tx)
        .await?;
        row.map(|row| Ok((row.opt_uuid("campaign_id")?, row.big("next"))))
            .transpose()
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
             VALUES (?1, ?2, ?3, ?3, ?4, ?5, 1, ?6, ?7, ?8, ?9, ?10) ON CONFLICT DO NOTHING",
        )
        .bind(job.to_string())
        .bind(idx)
        .bind(&note.key)
        .bind(campaign.map(|c| c.to_string()))
        .bind(if note.ok { "sent" } else { "failed" })
        .bind(note.error.as_deref())
        .bind(item_key(job, idx as u64))
        .bind(note.data.as_ref().map(|d| d.to_string()))
        .bind(note.search.as_deref())
        .bind(millis(now))
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
    ) -> StoreResult<Option<SqliteRow>> {
        let sql = format!(
            "UPDATE jobs SET sent = sent + ?, failed = failed + ?, last_seq = last_seq + ?, \
             percentage = COALESCE(?, percentage), updated_at = ? WHERE id = ? AND {} \
             RETURNING sent, failed, unknown, total, last_seq, percentage",
            holder.report_fence("?")
        );
        let mut update = sqlx::query(&sql)
            .bind(ok)
            .bind(failed)
            .bind(ok + failed)
            .bind(percentage)
            .bind(millis(now))
            .bind(job.to_string());
        if let Some(owner) = holder.owner() {
            update = update.bind(owner);
        }
        Ok(update.fetch_optional(&mut *self.tx).await?)
    }

    async fn start_external(
        &mut self,
        job: JobId,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<SqliteRow>> {
        Ok(sqlx::query(
            "UPDATE jobs SET status = 'processing', started_at = ?1, last_seq = last_seq + 1, \
             updated_at = ?1 WHERE id = ?2 AND kind = 'external' AND status = 'pending' \
             RETURNING sent, failed, unknown, total, last_seq",
        )
        .bind(millis(now))
        .bind(job.to_string())
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
    ) -> StoreResult<Option<SqliteRow>> {
        Ok(sqlx::query(
            "UPDATE jobs SET stage = ?1, percentage = ?2, stage_message = COALESCE(?3, stage_message), \
             stage_note = CASE WHEN ?3 IS NULL THEN stage_note ELSE ?7 END, \
             last_seq = last_seq + 1, updated_at = ?4 \
             WHERE id = ?5 AND lease_owner = ?6 RETURNING sent, failed, unknown, total, last_seq",
        )
        .bind(stage)
        .bind(percentage)
        .bind(note.map(|(message, _)| message))
        .bind(millis(now))
        .bind(job.to_string())
        .bind(owner)
        .bind(note.map(|(_, n)| serde_json::to_string(n).expect("notes serialise")))
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
    ) -> StoreResult<Option<SqliteRow>> {
        Ok(sqlx::query(
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
        .fetch_optional(&mut *self.tx)
        .await?)
    }

    async fn silent_workers(
        &mut self,
        silent_for: std::time::Duration,
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<SqliteRow>> {
        // One file, one machine: its clock is the only one.
        Ok(sqlx::query(
            "SELECT id, tenant_id FROM jobs WHERE kind = 'external' \
             AND status IN ('pending', 'processing') AND updated_at < ?",
        )
        .bind(millis(now - silent_for))
        .fetch_all(&mut *self.tx)
        .await?)
    }
}

#[async_trait]
impl CampaignSql for SqliteStore {
    async fn campaign_row(&self, tenant: TenantId, id: Uuid) -> StoreResult<Option<SqliteRow>> {
        Ok(sqlx::query(&format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM campaigns c WHERE c.id = ? AND c.tenant_id = ?"
        ))
        .bind(id.to_string())
        .bind(tenant.to_string())
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn campaign_jobs(&self, tenant: TenantId, id: Uuid) -> StoreResult<Vec<SqliteRow>> {
        Ok(sqlx::query(&format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE campaign_id = ? AND tenant_id = ? ORDER BY id DESC"
        ))
        .bind(id.to_string())
        .bind(tenant.to_string())
        .fetch_all(&self.pool)
        .await?)
    }

    async fn campaign_rows(&self, tenant: TenantId, limit: u32) -> StoreResult<Vec<SqliteRow>> {
        Ok(sqlx::query(&format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM campaigns c WHERE c.tenant_id = ? ORDER BY c.id DESC LIMIT ?"
        ))
        .bind(tenant.to_string())
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?)
    }

    async fn newest_jobs(
        &self,
        tenant: TenantId,
        campaigns: &[Uuid],
    ) -> StoreResult<HashMap<Uuid, JobView>> {
        let mut newest = HashMap::new();
        for campaign in campaigns {
            let row = sqlx::query(&format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE campaign_id = ? AND tenant_id = ? \
                 ORDER BY id DESC LIMIT 1"
            ))
            .bind(campaign.to_string())
            .bind(tenant.to_string())
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = row {
                newest.insert(*campaign, job_view(&row)?);
            }
        }
        Ok(newest)
    }

    async fn owns_campaign(&self, tenant: TenantId, campaign: Uuid) -> StoreResult<bool> {
        let owned = sqlx::query("SELECT 1 FROM campaigns WHERE id = ? AND tenant_id = ?")
            .bind(campaign.to_string())
            .bind(tenant.to_string())
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
    ) -> StoreResult<(Vec<SqliteRow>, i64)> {
        const MATCHING: &str = "FROM items WHERE campaign_id = ?1 AND status = 'sent' \
             AND (?2 IS NULL OR search_text LIKE ?2 ESCAPE '\\')";
        let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) {MATCHING}"))
            .bind(campaign.to_string())
            .bind(pattern)
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query(&format!(
            "SELECT key, data, job_id, updated_at {MATCHING} \
             ORDER BY updated_at, job_id, idx LIMIT ?3 OFFSET ?4"
        ))
        .bind(campaign.to_string())
        .bind(pattern)
        .bind(limit as i64)
        .bind(sql_int(offset))
        .fetch_all(&self.pool)
        .await?;
        Ok((rows, total))
    }

    async fn worker_job_row(&self, job: JobId, token_hash: &str) -> StoreResult<Option<SqliteRow>> {
        Ok(sqlx::query(&format!(
            "SELECT tenant_id, {JOB_COLUMNS} FROM jobs \
             WHERE id = ? AND kind = 'external' AND worker_token_hash = ?"
        ))
        .bind(job.to_string())
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?)
    }
}
