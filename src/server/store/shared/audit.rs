//! The audit log, once for both backends.

use async_trait::async_trait;
use uuid::Uuid;

use super::sql::{Args, Sql, args};
use super::{Backend, Cols, WriteTx};
use crate::protocol::audit::{ActorKind, AuditAction, AuditEntry};
use crate::server::store::{AuditStore, NewAuditEntry, StoreError, StoreResult, TenantId, sql_int};

#[async_trait]
impl<B: Backend> AuditStore for B {
    async fn record_audit(&self, entries: &[NewAuditEntry]) -> StoreResult<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut tx = self.write().await?;
        for entry in entries {
            let actor = match entry.actor_kind {
                ActorKind::User => entry.actor.clone(),
                // Named now, so the log keeps the name if the token is renamed or revoked.
                ActorKind::Token => tx
                    .row(
                        "SELECT name FROM api_tokens WHERE token_hash = $1",
                        args![&entry.actor],
                    )
                    .await?
                    .map_or_else(|| "?".to_owned(), |row| row.text("name")),
            };
            let kind = match entry.actor_kind {
                ActorKind::User => "user",
                ActorKind::Token => "token",
            };
            let target_kind = serde_json::to_value(entry.action.target_kind())
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            tx.run(
                "INSERT INTO audit_log (id, tenant_id, at, actor_kind, actor, action, target_kind, \
                 target_id, detail, ip) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                args![
                    Uuid::now_v7(),
                    entry.tenant_id,
                    entry.at,
                    kind,
                    actor,
                    entry.action.as_str(),
                    target_kind,
                    &entry.target_id,
                    entry.detail.clone(),
                    entry.ip.clone()
                ],
            )
            .await?;
        }
        tx.commit().await
    }

    async fn audit(
        &self,
        tenant: TenantId,
        before: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<AuditEntry>> {
        const COLUMNS: &str =
            "id, at, actor_kind, actor, action, target_kind, target_id, detail, ip";
        let (sql, args): (String, Args) = match before {
            Some(before) => (
                format!(
                    "SELECT {COLUMNS} FROM audit_log WHERE tenant_id = $1 AND id < $2 \
                     ORDER BY id DESC LIMIT $3"
                ),
                args![tenant, before, sql_int(limit.into())],
            ),
            None => (
                format!(
                    "SELECT {COLUMNS} FROM audit_log WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2"
                ),
                args![tenant, sql_int(limit.into())],
            ),
        };
        let rows = self.reads().rows(&sql, args).await?;
        rows.iter()
            .map(|row| {
                let action = row.text("action");
                let action = AuditAction::parse(&action)
                    .ok_or_else(|| StoreError::Corrupt(format!("audit action {action:?}")))?;
                Ok(AuditEntry {
                    id: row.uuid("id")?,
                    at: row.time("at"),
                    actor_kind: if row.text("actor_kind") == "token" {
                        ActorKind::Token
                    } else {
                        ActorKind::User
                    },
                    actor: row.text("actor"),
                    action,
                    target_kind: action.target_kind(),
                    target_id: row.text("target_id"),
                    detail: row.opt_text("detail"),
                    ip: row.opt_text("ip"),
                })
            })
            .collect()
    }
}
