//! Senders, once for both backends.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::sql::{Dialect, Sql, args};
use super::{Announcement, Backend, Cols, WriteTx};
use crate::protocol::fault::SendFault;
use crate::protocol::senders::{SenderHealth, SenderProvider, SenderStats};
use crate::server::store::{
    HealthSource, NewSender, SenderChange, SenderRecord, SenderStore, StoreError, StoreResult,
    TenantId,
};

const COLUMNS: &str = "id, tenant_id, name, provider, config, secrets, secret_names, \
     rate_per_minute, active, health, health_detail, health_fault, health_source, created_at";

fn record(row: &impl Cols) -> StoreResult<SenderRecord> {
    let provider = row.text("provider");
    let corrupt = |what: &str| StoreError::Corrupt(format!("sender {what}"));
    Ok(SenderRecord {
        id: row.uuid("id")?,
        tenant_id: TenantId(row.uuid("tenant_id")?),
        name: row.text("name"),
        provider: SenderProvider::parse(&provider).ok_or_else(|| corrupt("provider"))?,
        config: row
            .json("config")
            .map_err(|_| corrupt("config"))?
            .unwrap_or_default(),
        sealed_secrets: row.opt_text("secrets"),
        secret_names: row
            .json("secret_names")
            .map_err(|_| corrupt("secret names"))?
            .unwrap_or_default(),
        rate_per_minute: row.int("rate_per_minute").clamp(1, u32::MAX.into()) as u32,
        active: row.int("active") != 0,
        health: SenderHealth::parse(&row.text("health")),
        health_detail: row.opt_text("health_detail"),
        // An unreadable fault only loses the words in other languages: the detail stays.
        health_fault: row.json("health_fault").ok().flatten(),
        health_source: row
            .opt_text("health_source")
            .as_deref()
            .and_then(HealthSource::parse),
        created_at: row.time("created_at"),
    })
}

fn records(rows: &[impl Cols]) -> StoreResult<Vec<SenderRecord>> {
    rows.iter().map(record).collect()
}

#[async_trait]
impl<B: Backend> SenderStore for B {
    async fn create_sender(&self, sender: NewSender) -> StoreResult<bool> {
        let NewSender {
            id,
            tenant_id,
            name,
            provider,
            config,
            sealed_secrets,
            secret_names,
            rate_per_minute,
            active,
        } = sender;
        let inserted = self
            .write_one(
                "INSERT INTO senders (id, tenant_id, name, provider, config, secrets, \
                 secret_names, rate_per_minute, active, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
                args![
                    id,
                    tenant_id,
                    name,
                    provider.as_str(),
                    serde_json::Value::Object(config),
                    sealed_secrets,
                    serde_json::json!(secret_names),
                    i64::from(rate_per_minute),
                    i64::from(active),
                    Utc::now(),
                ],
            )
            .await?;
        Ok(inserted == 1)
    }

    async fn senders(&self, tenant: TenantId) -> StoreResult<Vec<SenderRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM senders WHERE tenant_id = $1 AND deleted_at IS NULL \
             ORDER BY created_at, id"
        );
        records(&self.reads().rows(&sql, args![tenant]).await?)
    }

    async fn sender(&self, tenant: TenantId, id: Uuid) -> StoreResult<Option<SenderRecord>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM senders WHERE tenant_id = $1 AND id = $2 \
             AND deleted_at IS NULL"
        );
        let row = self.reads().row(&sql, args![tenant, id]).await?;
        row.as_ref().map(record).transpose()
    }

    async fn senders_by_id(&self, ids: &[Uuid]) -> StoreResult<Vec<SenderRecord>> {
        let mut found = Vec::with_capacity(ids.len());
        let sql = format!("SELECT {COLUMNS} FROM senders WHERE id = $1");
        let mut reads = self.reads();
        for id in ids {
            if let Some(row) = reads.row(&sql, args![*id]).await? {
                found.push(record(&row)?);
            }
        }
        Ok(found)
    }

    async fn update_sender(
        &self,
        tenant: TenantId,
        id: Uuid,
        change: SenderChange,
    ) -> StoreResult<Option<SenderRecord>> {
        let mut tx = self.write().await?;
        let live = "tenant_id = $1 AND id = $2 AND deleted_at IS NULL";
        let exists = format!("SELECT id FROM senders WHERE {live}");
        if tx.row(&exists, args![tenant, id]).await?.is_none() {
            return Ok(None);
        }
        if let Some(name) = &change.name {
            let taken = "SELECT id FROM senders WHERE tenant_id = $1 AND name = $2 \
                 AND deleted_at IS NULL AND id <> $3";
            if tx.row(taken, args![tenant, name, id]).await?.is_some() {
                return Err(StoreError::Conflict(name.clone()));
            }
            let sql = format!("UPDATE senders SET name = $3 WHERE {live}");
            tx.run(&sql, args![tenant, id, name]).await?;
        }
        if let Some(rate) = change.rate_per_minute {
            let sql = format!("UPDATE senders SET rate_per_minute = $3 WHERE {live}");
            tx.run(&sql, args![tenant, id, i64::from(rate)]).await?;
        }
        if let Some(active) = change.active {
            let sql = format!("UPDATE senders SET active = $3 WHERE {live}");
            tx.run(&sql, args![tenant, id, i64::from(active)]).await?;
        }
        let sql = format!("SELECT {COLUMNS} FROM senders WHERE {live}");
        let row = tx.one(&sql, args![tenant, id]).await?;
        tx.commit().await?;
        record(&row).map(Some)
    }

    async fn delete_sender(&self, tenant: TenantId, id: Uuid) -> StoreResult<bool> {
        // The secrets go; the row stays for the items that name it.
        let deleted = self
            .write_one(
                "UPDATE senders SET deleted_at = $3, secrets = NULL, active = 0 \
                 WHERE tenant_id = $1 AND id = $2 AND deleted_at IS NULL",
                args![tenant, id, Utc::now()],
            )
            .await?;
        Ok(deleted == 1)
    }

    async fn sender_stats(&self, ids: &[Uuid]) -> StoreResult<HashMap<Uuid, SenderStats>> {
        let mut stats = HashMap::new();
        let sql = "SELECT status, COUNT(*) AS n FROM items WHERE sender_id = $1 GROUP BY status";
        let mut reads = self.reads();
        for id in ids {
            let mut counted = SenderStats::default();
            for row in reads.rows(sql, args![*id]).await? {
                let n = row.big("n").max(0) as u64;
                match row.text("status").as_str() {
                    "sent" => counted.sent += n,
                    "failed" => counted.failed += n,
                    _ => {}
                }
            }
            stats.insert(*id, counted);
        }
        Ok(stats)
    }

    async fn set_sender_health(
        &self,
        id: Uuid,
        health: SenderHealth,
        fault: Option<&SendFault>,
        source: HealthSource,
    ) -> StoreResult<Option<SenderRecord>> {
        let detail = fault.map(SendFault::english);
        let fault = fault.map(|fault| serde_json::json!(fault));
        let sql = format!(
            "UPDATE senders SET health = $2, health_detail = $3, health_fault = $4, \
             health_source = $5 WHERE id = $1 AND deleted_at IS NULL \
             AND (health <> $2 OR health_detail IS DISTINCT FROM $3) \
             AND NOT ($5 = 'provider' AND $2 = 'ok' AND health_source IS NOT NULL \
             AND health_source = 'sends') RETURNING {COLUMNS}"
        );
        let mut tx = self.write().await?;
        let Some(row) = tx
            .rows(
                &sql,
                args![id, health.as_str(), detail, fault, source.as_str()],
            )
            .await?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let changed = record(&row)?;
        tx.announce(Announcement::SenderHealth(changed.tenant_id, changed.id))
            .await?;
        tx.commit().await?;
        Ok(Some(changed))
    }

    async fn claim_health_checks(
        &self,
        now: DateTime<Utc>,
        due_before: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<SenderRecord>> {
        let reporting = [
            SenderProvider::WhatsappCloud,
            SenderProvider::Twilio,
            SenderProvider::Wablas,
        ]
        .map(|p| format!("'{}'", p.as_str()))
        .join(", ");
        let sql = format!(
            "UPDATE senders SET health_checked_at = $1 WHERE id IN (SELECT id FROM senders \
             WHERE active = 1 AND deleted_at IS NULL AND provider IN ({reporting}) \
             AND (health_checked_at IS NULL OR health_checked_at <= $2) \
             ORDER BY id LIMIT $3{}) RETURNING {COLUMNS}",
            B::Dialect::skip_locked_of("senders")
        );
        let mut tx = self.write().await?;
        let rows = tx
            .rows(&sql, args![now, due_before, i64::from(limit)])
            .await?;
        tx.commit().await?;
        records(&rows)
    }
}
