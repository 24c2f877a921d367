//! Delivery receipts, once for both backends.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::Utc;
use uuid::Uuid;

use super::sql::{Dialect, Sql, args};
use super::{Backend, Cols, WriteTx};
use crate::protocol::{Delivery, JobId, ReceiptEvent, ServerMsg};
use crate::server::store::{
    IncomingReceipt, ReceiptStore, StoreResult, StoredEvent, TenantId, sql_int,
};

#[async_trait]
impl<B: Backend> ReceiptStore for B {
    async fn record_receipts(&self, sender: Uuid, receipts: &[IncomingReceipt]) -> StoreResult<()> {
        if receipts.is_empty() {
            return Ok(());
        }
        let now = Utc::now();
        let mut tx = self.write().await?;
        for receipt in receipts {
            tx.run(
                "INSERT INTO receipts (sender_id, message_id, status, error, at, received_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
                args![
                    sender,
                    &receipt.message_id,
                    receipt.status.as_str(),
                    receipt.error.as_deref(),
                    receipt.at,
                    now,
                ],
            )
            .await?;
        }
        tx.commit().await
    }

    async fn apply_receipts(&self, limit: u32) -> StoreResult<Vec<(TenantId, StoredEvent)>> {
        let now = Utc::now();
        let mut tx = self.write().await?;
        // Only receipts whose message is recorded: the others wait for it.
        let sql = format!(
            "SELECT r.id, r.status, r.error, r.at, i.job_id, i.idx, i.recipient, i.delivery, \
             i.sender_id FROM receipts r JOIN items i ON i.provider_message_id = r.message_id \
             AND i.sender_id = r.sender_id WHERE r.applied_at IS NULL ORDER BY r.id LIMIT $1{}",
            B::Dialect::skip_locked_of("r")
        );
        let found = tx.rows(&sql, args![i64::from(limit)]).await?;
        if found.is_empty() {
            return Ok(Vec::new());
        }
        // Each item's delivery as this batch moves it, so two receipts of one message in one
        // batch are judged in order.
        let mut current: HashMap<(JobId, u64), Option<Delivery>> = HashMap::new();
        let mut moves = Vec::new();
        let mut ids = Vec::with_capacity(found.len());
        for row in &found {
            ids.push(row.big("id"));
            let key = (JobId(row.uuid("job_id")?), row.big("idx") as u64);
            let now_at = current.entry(key).or_insert_with(|| {
                row.opt_text("delivery")
                    .as_deref()
                    .and_then(Delivery::parse)
            });
            let Some(receipt) = Delivery::parse(&row.text("status")) else {
                continue;
            };
            if let Some(next) = Delivery::after(*now_at, receipt) {
                moves.push(Move {
                    job: key.0,
                    idx: key.1,
                    from: *now_at,
                    to: next,
                    phone: row.text("recipient"),
                    sender: row.opt_uuid("sender_id")?,
                    error: row.opt_text("error"),
                    at: row.time("at"),
                });
                *now_at = Some(next);
            }
        }
        // Jobs in one order, so two instances applying at once never wait on each other in a
        // circle.
        moves.sort_by_key(|m| m.job);
        let mut events = Vec::with_capacity(moves.len());
        for m in moves {
            let (delivered_at, read_at) = match m.to {
                Delivery::Delivered => (Some(m.at), None),
                Delivery::Read => (Some(m.at), Some(m.at)),
                Delivery::Undelivered => (None, None),
            };
            tx.run(
                "UPDATE items SET delivery = $3, delivered_at = COALESCE(delivered_at, $4), \
                 read_at = COALESCE(read_at, $5) WHERE job_id = $1 AND idx = $2",
                args![m.job, sql_int(m.idx), m.to.as_str(), delivered_at, read_at],
            )
            .await?;
            let counted =
                |d: Option<Delivery>, of: &[Delivery]| d.is_some_and(|d| of.contains(&d)) as i64;
            let delivered = counted(Some(m.to), &[Delivery::Delivered, Delivery::Read])
                - counted(m.from, &[Delivery::Delivered, Delivery::Read]);
            let read = counted(Some(m.to), &[Delivery::Read]);
            let undelivered = counted(Some(m.to), &[Delivery::Undelivered]);
            let row = tx
                .one(
                    "UPDATE jobs SET delivered = delivered + $2, read_count = read_count + $3, \
                     undelivered = undelivered + $4, last_seq = last_seq + 1 WHERE id = $1 \
                     RETURNING tenant_id, last_seq, sent, delivered, read_count, undelivered",
                    args![m.job, delivered, read, undelivered],
                )
                .await?;
            let event = ServerMsg::Receipt(ReceiptEvent {
                job_id: m.job,
                seq: row.big("last_seq") as u64,
                at: now,
                phone: m.phone,
                sender_id: m.sender,
                status: m.to,
                error: m.error.filter(|_| m.to == Delivery::Undelivered),
                receipts: super::rows::receipts(&row),
            });
            events.push((
                TenantId(row.uuid("tenant_id")?),
                StoredEvent::from_msg(&event),
            ));
        }
        let stored: Vec<StoredEvent> = events.iter().map(|(_, e)| e.clone()).collect();
        tx.insert_events(&stored, now).await?;
        let sql = format!(
            "UPDATE receipts SET applied_at = $1 WHERE id IN ({})",
            ids.iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
        tx.run(&sql, args![now]).await?;
        tx.commit().await?;
        Ok(events)
    }
}

/// One item's move on one receipt.
struct Move {
    job: JobId,
    idx: u64,
    from: Option<Delivery>,
    to: Delivery,
    phone: String,
    sender: Option<Uuid>,
    error: Option<String>,
    at: chrono::DateTime<Utc>,
}
