//! Campaigns, scraping results and outside workers' jobs in PostgreSQL: the SQL under
//! `shared::campaigns`, with row locks where SQLite has its write gate.

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::Row;
use uuid::Uuid;

use super::{PgTx, PostgresStore};
use crate::protocol::JobView;
use crate::server::store::shared::CampaignTx;
use crate::server::store::shared::campaigns::CampaignSql;
use crate::server::store::shared::rows::{JOB_COLUMNS, job_view};
use crate::server::store::{StoreResult, TenantId};

#[async_trait]
impl CampaignTx for PgTx {}

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
