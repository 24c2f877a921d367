//! Campaigns, scraping results and outside workers' jobs in PostgreSQL: the SQL under
//! `shared::campaigns`, with row locks where SQLite has its write gate.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;
use uuid::Uuid;

use super::{PgTx, PostgresStore};
use crate::protocol::JobView;
use crate::server::store::shared::CampaignTx;
use crate::server::store::shared::campaigns::CampaignSql;
use crate::server::store::shared::rows::{JOB_COLUMNS, job_view};
use crate::server::store::{StoreResult, TenantId};

#[async_trait]
impl CampaignTx for PgTx {
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
}
