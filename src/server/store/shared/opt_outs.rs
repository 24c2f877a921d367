//! Opt-outs, once for both backends.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::Utc;

use super::sql::{Sql, args};
use super::{Backend, Cols};
use crate::protocol::OptOutView;
use crate::server::store::{OptOutStore, StoreResult, TenantId};

#[async_trait]
impl<B: Backend> OptOutStore for B {
    async fn opt_outs(&self, tenant: TenantId) -> StoreResult<Vec<OptOutView>> {
        let sql = "SELECT phone, source, created_at FROM opt_outs WHERE tenant_id = $1 \
             ORDER BY created_at DESC, phone";
        Ok(self
            .reads()
            .rows(sql, args![tenant])
            .await?
            .iter()
            .map(|row| OptOutView {
                phone: row.text("phone"),
                source: row.text("source"),
                created_at: row.time("created_at"),
            })
            .collect())
    }

    async fn add_opt_out(&self, tenant: TenantId, phone: &str, source: &str) -> StoreResult<bool> {
        let added = self
            .write_one(
                "INSERT INTO opt_outs (tenant_id, phone, source, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                args![tenant, phone, source, Utc::now()],
            )
            .await?;
        Ok(added == 1)
    }

    async fn remove_opt_out(&self, tenant: TenantId, phone: &str) -> StoreResult<bool> {
        let removed = self
            .write_one(
                "DELETE FROM opt_outs WHERE tenant_id = $1 AND phone = $2",
                args![tenant, phone],
            )
            .await?;
        Ok(removed == 1)
    }

    async fn opted_out(&self, tenant: TenantId, phones: &[String]) -> StoreResult<HashSet<String>> {
        // The tenant's list is small next to a send of 100,000: read it whole.
        let listed: HashSet<String> = self
            .reads()
            .rows(
                "SELECT phone FROM opt_outs WHERE tenant_id = $1",
                args![tenant],
            )
            .await?
            .iter()
            .map(|row| row.text("phone"))
            .collect();
        Ok(phones
            .iter()
            .filter(|phone| listed.contains(*phone))
            .cloned()
            .collect())
    }
}
