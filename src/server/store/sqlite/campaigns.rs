//! The campaigns' queries SQLite writes its own way: the newest job of each, one query a campaign.

use std::collections::HashMap;

use async_trait::async_trait;
use uuid::Uuid;

use super::SqliteStore;
use crate::protocol::JobView;
use crate::server::store::shared::campaigns::CampaignSql;
use crate::server::store::shared::rows::{JOB_COLUMNS, job_view};
use crate::server::store::{StoreResult, TenantId};

#[async_trait]
impl CampaignSql for SqliteStore {
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
}
