//! The inbox: messages recipients send to a tenant's senders, once for both backends.

use async_trait::async_trait;
use chrono::Utc;

use super::sql::{Sql, args};
use super::{Announcement, Backend, Cols, WriteTx};
use crate::protocol::{InboundMessage, JobId, ReplyEvent, ServerMsg};
use crate::server::store::{
    InboxStore, InboxWindow, IncomingMessage, StoreResult, StoredEvent, TenantId,
};

const COLUMNS: &str = "id, sender_id, from_phone, body, at, job_id";

fn message(row: &impl Cols) -> StoreResult<InboundMessage> {
    Ok(InboundMessage {
        id: row.big("id"),
        sender_id: row.uuid("sender_id")?,
        from: row.text("from_phone"),
        text: row.text("body"),
        at: row.time("at"),
        job_id: row.opt_uuid("job_id")?.map(JobId),
    })
}

#[async_trait]
impl<B: Backend> InboxStore for B {
    async fn record_inbound(
        &self,
        tenant: TenantId,
        sender: uuid::Uuid,
        messages: &[IncomingMessage],
    ) -> StoreResult<Vec<(InboundMessage, Option<StoredEvent>)>> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let now = Utc::now();
        let mut tx = self.write().await?;
        let mut recorded = Vec::with_capacity(messages.len());
        for incoming in messages {
            // The newest of the tenant's jobs that sent to this number.
            let job = tx
                .row(
                    "SELECT j.id FROM items i JOIN jobs j ON j.id = i.job_id \
                     WHERE i.recipient = $1 AND j.tenant_id = $2 AND i.status = 'sent' \
                     ORDER BY j.created_at DESC LIMIT 1",
                    args![&incoming.from, tenant],
                )
                .await?
                .map(|row| row.uuid("id"))
                .transpose()?
                .map(JobId);
            let sql = format!(
                "INSERT INTO inbound_messages (tenant_id, sender_id, provider_message_id, \
                 from_phone, body, at, received_at, job_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                 ON CONFLICT DO NOTHING RETURNING {COLUMNS}"
            );
            let Some(row) = tx
                .row(
                    &sql,
                    args![
                        tenant,
                        sender,
                        incoming.message_id.as_deref(),
                        &incoming.from,
                        &incoming.text,
                        incoming.at,
                        now,
                        job.map(|j| j.0),
                    ],
                )
                .await?
            else {
                // Delivered twice by the provider: kept once.
                continue;
            };
            let stored = message(&row)?;
            tx.announce(Announcement::Inbound(tenant, stored.id))
                .await?;
            let event = match job {
                Some(job) => {
                    let row = tx
                        .one(
                            "UPDATE jobs SET replies = replies + 1, last_seq = last_seq + 1 \
                             WHERE id = $1 RETURNING last_seq, replies",
                            args![job],
                        )
                        .await?;
                    let event = StoredEvent::from_msg(&ServerMsg::Reply(ReplyEvent {
                        job_id: job,
                        seq: row.big("last_seq") as u64,
                        at: now,
                        phone: stored.from.clone(),
                        sender_id: sender,
                        text: stored.text.clone(),
                        replies: row.big("replies") as u64,
                    }));
                    tx.insert_events(std::slice::from_ref(&event), now).await?;
                    Some(event)
                }
                None => None,
            };
            recorded.push((stored, event));
        }
        tx.commit().await?;
        Ok(recorded)
    }

    async fn inbox(
        &self,
        tenant: TenantId,
        window: InboxWindow,
    ) -> StoreResult<Vec<InboundMessage>> {
        let limit = i64::from(window.limit.clamp(1, 500));
        // One statement shape with or without a job, so both backends bind the same four values.
        let job_filter = if window.job.is_some() {
            "job_id = $4"
        } else {
            "$4 IS NULL"
        };
        let (sql, cursor) = match window.after {
            Some(after) => (
                format!(
                    "SELECT {COLUMNS} FROM inbound_messages WHERE tenant_id = $1 AND id > $2 \
                     AND {job_filter} ORDER BY id LIMIT $3"
                ),
                after,
            ),
            // The page before `before` (or the newest), read newest first, turned around below.
            None => (
                format!(
                    "SELECT {COLUMNS} FROM inbound_messages WHERE tenant_id = $1 AND id < $2 \
                     AND {job_filter} ORDER BY id DESC LIMIT $3"
                ),
                window.before.unwrap_or(i64::MAX),
            ),
        };
        let job = window.job.map(|j| j.0);
        let rows = self
            .reads()
            .rows(&sql, args![tenant, cursor, limit, job])
            .await?;
        let mut messages = rows.iter().map(message).collect::<StoreResult<Vec<_>>>()?;
        messages.sort_by_key(|m| m.id);
        Ok(messages)
    }

    async fn inbound_message(
        &self,
        tenant: TenantId,
        id: i64,
    ) -> StoreResult<Option<InboundMessage>> {
        let sql =
            format!("SELECT {COLUMNS} FROM inbound_messages WHERE tenant_id = $1 AND id = $2");
        self.reads()
            .row(&sql, args![tenant, id])
            .await?
            .as_ref()
            .map(message)
            .transpose()
    }
}
