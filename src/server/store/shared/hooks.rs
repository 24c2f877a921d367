//! Outgoing webhooks and their deliveries, once for both backends.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::json;
use uuid::Uuid;

use super::sql::{Args, Dialect, Sql, args};
use super::{Backend, Cols, WriteTx};
use crate::protocol::hooks::{DeliveryStatus, DeliveryView, HookEvent, HookView};
use crate::protocol::{JobId, JobStatus};
use crate::server::store::{
    DeliveryAttempt, DueDelivery, HookStore, NewHook, StoreError, StoreResult, StoredEvent,
    TenantId, sql_int,
};

const DELIVERY_COLUMNS: &str = "id, hook_id, event, job_id, status, attempts, response_status, \
     error, created_at, last_attempt_at, next_attempt_at, delivered_at";

fn events_of(row: &impl Cols) -> StoreResult<Vec<HookEvent>> {
    let names: Vec<String> = row
        .json("events")
        .map_err(|e| StoreError::Corrupt(format!("a hook's events: {e}")))?
        .unwrap_or_default();
    Ok(names.iter().filter_map(|n| HookEvent::parse(n)).collect())
}

fn event_of(row: &impl Cols) -> StoreResult<HookEvent> {
    let name = row.text("event");
    HookEvent::parse(&name).ok_or_else(|| StoreError::Corrupt(format!("hook event {name:?}")))
}

fn delivery_view(row: &impl Cols) -> StoreResult<DeliveryView> {
    let status = row.text("status");
    Ok(DeliveryView {
        id: row.uuid("id")?,
        hook_id: row.uuid("hook_id")?,
        event: event_of(row)?,
        job_id: row.opt_uuid("job_id")?.map(JobId),
        status: DeliveryStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("delivery status {status:?}")))?,
        attempts: row.int("attempts") as u32,
        response_status: row.opt_int("response_status").map(|s| s as u16),
        error: row.opt_text("error"),
        created_at: row.time("created_at"),
        last_attempt_at: row.opt_time("last_attempt_at"),
        next_attempt_at: row.opt_time("next_attempt_at"),
        delivered_at: row.opt_time("delivered_at"),
    })
}

/// The body a hook receives: the same on every try, so receivers de-duplicate by `id`.
fn body(id: Uuid, event: HookEvent, at: DateTime<Utc>, data: serde_json::Value) -> String {
    json!({"id": id, "type": event.as_str(), "created_at": at, "data": data}).to_string()
}

/// Inserts one pending delivery.
#[allow(clippy::too_many_arguments)]
async fn insert_delivery<T: Sql>(
    tx: &mut T,
    hook: Uuid,
    tenant: TenantId,
    event: HookEvent,
    job: Option<JobId>,
    body: String,
    id: Uuid,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    tx.run(
        "INSERT INTO hook_deliveries (id, hook_id, tenant_id, event, job_id, body, status, \
         attempts, created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7, $7)",
        args![id, hook, tenant, event.as_str(), job.map(|j| j.0), body, now],
    )
    .await?;
    Ok(())
}

/// Queues, in the transaction that ends a job, a delivery for each of its tenant's hooks that
/// hears about `status`: an end the database has is an end its hooks are told of.
pub(crate) async fn queue_job_end(
    tx: &mut impl WriteTx,
    job: JobId,
    status: JobStatus,
    event: &StoredEvent,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let Some(hook_event) = HookEvent::of_status(status) else {
        return Ok(());
    };
    let hooks = tx
        .rows(
            "SELECT h.id, h.events FROM hooks h JOIN jobs j ON j.tenant_id = h.tenant_id \
             WHERE j.id = $1 ORDER BY h.id",
            args![job],
        )
        .await?;
    let mut listening = Vec::new();
    for row in &hooks {
        if events_of(row)?.contains(&hook_event) {
            listening.push(row.uuid("id")?);
        }
    }
    if listening.is_empty() {
        return Ok(());
    }
    let row = tx
        .one(
            "SELECT tenant_id, kind, name, tags FROM jobs WHERE id = $1",
            args![job],
        )
        .await?;
    let tenant = TenantId(row.uuid("tenant_id")?);
    let tags: Vec<String> = row.json("tags").ok().flatten().unwrap_or_default();
    let wire: serde_json::Value = serde_json::from_str(&event.json)
        .map_err(|e| StoreError::Corrupt(format!("a stored event: {e}")))?;
    let data = json!({
        "job": {
            "id": job,
            "kind": row.text("kind"),
            "name": row.opt_text("name"),
            "tags": tags,
            "status": status,
        },
        "event": wire,
    });
    for hook in listening {
        let id = Uuid::now_v7();
        let body = body(id, hook_event, now, data.clone());
        insert_delivery(tx, hook, tenant, hook_event, Some(job), body, id, now).await?;
    }
    Ok(())
}

#[async_trait]
impl<B: Backend> HookStore for B {
    async fn create_hook(&self, hook: NewHook) -> StoreResult<()> {
        let events: Vec<&str> = hook.events.iter().map(|e| e.as_str()).collect();
        self.write_one(
            "INSERT INTO hooks (id, tenant_id, url, events, secret, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            args![
                hook.id,
                hook.tenant_id,
                hook.url,
                json!(events),
                hook.sealed_secret,
                Utc::now()
            ],
        )
        .await?;
        Ok(())
    }

    async fn hooks(&self, tenant: TenantId) -> StoreResult<Vec<HookView>> {
        let rows = self
            .reads()
            .rows(
                "SELECT h.id, h.url, h.events, h.created_at, (SELECT d.status FROM hook_deliveries d \
                 WHERE d.hook_id = h.id ORDER BY d.id DESC LIMIT 1) AS last_status \
                 FROM hooks h WHERE h.tenant_id = $1 ORDER BY h.id",
                args![tenant],
            )
            .await?;
        rows.iter()
            .map(|row| {
                Ok(HookView {
                    id: row.uuid("id")?,
                    url: row.text("url"),
                    events: events_of(row)?,
                    created_at: row.time("created_at"),
                    last_delivery: row
                        .opt_text("last_status")
                        .and_then(|s| DeliveryStatus::parse(&s)),
                })
            })
            .collect()
    }

    async fn delete_hook(&self, tenant: TenantId, id: Uuid) -> StoreResult<bool> {
        let mut tx = self.write().await?;
        // Deliveries first: PostgreSQL would cascade, but SQLite only with its foreign keys on.
        tx.run(
            "DELETE FROM hook_deliveries WHERE hook_id = $1 AND tenant_id = $2",
            args![id, tenant],
        )
        .await?;
        let deleted = tx
            .run(
                "DELETE FROM hooks WHERE id = $1 AND tenant_id = $2",
                args![id, tenant],
            )
            .await?;
        tx.commit().await?;
        Ok(deleted == 1)
    }

    async fn hook_deliveries(
        &self,
        tenant: TenantId,
        hook: Uuid,
        before: Option<Uuid>,
        limit: u32,
    ) -> StoreResult<Vec<DeliveryView>> {
        let (sql, args): (String, Args) = match before {
            Some(before) => (
                format!(
                    "SELECT {DELIVERY_COLUMNS} FROM hook_deliveries WHERE hook_id = $1 \
                     AND tenant_id = $2 AND id < $3 ORDER BY id DESC LIMIT $4"
                ),
                args![hook, tenant, before, sql_int(limit.into())],
            ),
            None => (
                format!(
                    "SELECT {DELIVERY_COLUMNS} FROM hook_deliveries WHERE hook_id = $1 \
                     AND tenant_id = $2 ORDER BY id DESC LIMIT $3"
                ),
                args![hook, tenant, sql_int(limit.into())],
            ),
        };
        let rows = self.reads().rows(&sql, args).await?;
        rows.iter().map(delivery_view).collect()
    }

    async fn queue_ping(&self, tenant: TenantId, hook: Uuid) -> StoreResult<Option<DeliveryView>> {
        let now = Utc::now();
        let mut tx = self.write().await?;
        let found = tx
            .row(
                "SELECT id FROM hooks WHERE id = $1 AND tenant_id = $2",
                args![hook, tenant],
            )
            .await?;
        if found.is_none() {
            return Ok(None);
        }
        let id = Uuid::now_v7();
        let body = body(id, HookEvent::Ping, now, json!({"hook_id": hook}));
        insert_delivery(&mut tx, hook, tenant, HookEvent::Ping, None, body, id, now).await?;
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM hook_deliveries WHERE id = $1");
        let row = tx.one(&sql, args![id]).await?;
        tx.commit().await?;
        delivery_view(&row).map(Some)
    }

    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
        hold_until: DateTime<Utc>,
        limit: u32,
    ) -> StoreResult<Vec<DueDelivery>> {
        let sql = format!(
            "UPDATE hook_deliveries SET lease_until = $1 WHERE id IN (SELECT id FROM hook_deliveries \
             WHERE status = 'pending' AND next_attempt_at <= $2 \
             AND (lease_until IS NULL OR lease_until <= $2) ORDER BY next_attempt_at LIMIT $3{}) \
             RETURNING id, hook_id, event, body, attempts",
            B::Dialect::skip_locked_of("hook_deliveries")
        );
        let mut tx = self.write().await?;
        let claimed = tx
            .rows(&sql, args![hold_until, now, i64::from(limit)])
            .await?;
        let mut due = Vec::with_capacity(claimed.len());
        for row in &claimed {
            let hook_id = row.uuid("hook_id")?;
            let Some(hook) = tx
                .row(
                    "SELECT url, secret FROM hooks WHERE id = $1",
                    args![hook_id],
                )
                .await?
            else {
                continue;
            };
            due.push(DueDelivery {
                id: row.uuid("id")?,
                hook_id,
                url: hook.text("url"),
                sealed_secret: hook.text("secret"),
                event: event_of(row)?,
                body: row.text("body"),
                attempts: row.int("attempts") as u32,
            });
        }
        tx.commit().await?;
        Ok(due)
    }

    async fn record_attempt(&self, delivery: Uuid, attempt: DeliveryAttempt) -> StoreResult<()> {
        let status = match (attempt.delivered, attempt.retry_at) {
            (true, _) => DeliveryStatus::Delivered,
            (false, Some(_)) => DeliveryStatus::Pending,
            (false, None) => DeliveryStatus::Failed,
        };
        let delivered_at = attempt.delivered.then_some(attempt.at);
        self.write_one(
            "UPDATE hook_deliveries SET status = $1, attempts = attempts + 1, \
             response_status = $2, error = $3, last_attempt_at = $4, next_attempt_at = $5, \
             lease_until = NULL, delivered_at = $6 WHERE id = $7",
            args![
                status.as_str(),
                attempt.response_status.map(i64::from),
                attempt.error,
                attempt.at,
                if attempt.delivered {
                    None
                } else {
                    attempt.retry_at
                },
                delivered_at,
                delivery
            ],
        )
        .await?;
        Ok(())
    }
}
