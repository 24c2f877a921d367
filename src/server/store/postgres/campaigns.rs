//! The campaigns' queries PostgreSQL writes its own way: the newest job of each, in one
//! `DISTINCT ON` query.

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::Row;
use uuid::Uuid;

use super::PostgresStore;
use crate::protocol::JobView;
use crate::server::store::shared::campaigns::CampaignSql;
use crate::server::store::shared::rows::{JOB_COLUMNS, job_view};
use crate::server::store::{StoreResult, TenantId};

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
