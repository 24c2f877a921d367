//! Delivery receipts, once for both backends.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::sql::{Args, D, Dialect, Sql, args};
use super::{Backend, Cols, WriteTx};
use crate::protocol::{Delivery, JobId, ReceiptEvent, Receipts, ServerMsg};
use crate::server::store::{
    AppliedReceipts, IncomingReceipt, ReceiptStore, StoreResult, StoredEvent, TenantId, sql_int,
};

/// Rows per multi-row statement: 6 binds each stays far under SQLite's 32,766 variables and
/// PostgreSQL's 65,535 parameters.
const ROWS_PER_STATEMENT: usize = 1_000;

#[async_trait]
impl<B: Backend> ReceiptStore for B {
    async fn record_receipt_batches(
        &self,
        batches: &[(Uuid, &[IncomingReceipt])],
    ) -> StoreResult<()> {
        let rows: Vec<(Uuid, &IncomingReceipt)> = batches
            .iter()
            .flat_map(|(sender, receipts)| receipts.iter().map(move |r| (*sender, r)))
            .collect();
        if rows.is_empty() {
            return Ok(());
        }
        let now = Utc::now();
        let mut tx = self.write().await?;
        // One statement per chunk, not one per receipt: the statement round trips were most of
        // a webhook's write.
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let mut args = Args::with_capacity(chunk.len() * 6);
            for (sender, receipt) in chunk {
                args.extend(args![
                    *sender,
                    &receipt.message_id,
                    receipt.status.as_str(),
                    receipt.error.as_deref(),
                    receipt.at,
                    now,
                ]);
            }
            let sql = format!(
                "INSERT INTO receipts (sender_id, message_id, status, error, at, received_at) \
                 VALUES {}",
                placeholders::<B::Dialect>(chunk.len(), 6)
            );
            tx.run(&sql, args).await?;
        }
        tx.commit().await
    }

    async fn apply_receipts(&self, limit: u32) -> StoreResult<AppliedReceipts> {
        let now = Utc::now();
        let mut tx = self.write().await?;
        // Only receipts whose message is recorded: the others wait for it. The items are locked
        // with the receipts, so two instances never judge one item's move from the same state
        // (one passes over the other's items and applies their receipts on its next round).
        let sql = format!(
            "SELECT r.id, r.status, r.error, r.at, i.job_id, i.idx, i.recipient, i.delivery, \
             i.sender_id FROM receipts r JOIN items i ON i.provider_message_id = r.message_id \
             AND i.sender_id = r.sender_id WHERE r.applied_at IS NULL ORDER BY r.id LIMIT $1{}",
            B::Dialect::skip_locked_of("r, i")
        );
        let found = tx.rows(&sql, args![i64::from(limit)]).await?;
        if found.is_empty() {
            return Ok(AppliedReceipts::default());
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
        // circle; within a job, receipts stay in arrival order (the sort is stable).
        moves.sort_by_key(|m| m.job);
        update_items(&mut tx, &moves).await?;
        let mut events = Vec::with_capacity(moves.len());
        for job_moves in moves.chunk_by(|a, b| a.job == b.job) {
            events.extend(count_moves(&mut tx, job_moves, now).await?);
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
        Ok(AppliedReceipts {
            events,
            receipts: found.len(),
        })
    }
}

/// `($1, $2, …), (…)` in `L`'s placeholders: `rows` rows of `width` values.
fn placeholders<L: Dialect>(rows: usize, width: usize) -> String {
    (0..rows)
        .map(|row| {
            let cols: Vec<String> = (1..=width)
                .map(|c| L::placeholder(row * width + c))
                .collect();
            format!("({})", cols.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Moves each item to where its last move takes it, in one statement per chunk of items rather
/// than one per receipt.
async fn update_items<T: Sql>(tx: &mut T, moves: &[Move]) -> StoreResult<()> {
    // Item → (its last delivery, when first delivered, when first read) in this batch.
    type Final = (Delivery, Option<DateTime<Utc>>, Option<DateTime<Utc>>);
    let mut order = Vec::new();
    let mut items: HashMap<(JobId, u64), Final> = HashMap::new();
    for m in moves {
        let (delivered_at, read_at) = match m.to {
            Delivery::Delivered => (Some(m.at), None),
            Delivery::Read => (Some(m.at), Some(m.at)),
            Delivery::Undelivered => (None, None),
        };
        let item = items.entry((m.job, m.idx)).or_insert_with(|| {
            order.push((m.job, m.idx));
            (m.to, None, None)
        });
        item.0 = m.to;
        item.1 = item.1.or(delivered_at);
        item.2 = item.2.or(read_at);
    }
    for chunk in order.chunks(ROWS_PER_STATEMENT) {
        let mut args = Args::with_capacity(chunk.len() * 5);
        for key in chunk {
            let (to, delivered_at, read_at) = items[key];
            args.extend(args![
                key.0,
                sql_int(key.1),
                to.as_str(),
                delivered_at,
                read_at
            ]);
        }
        let sql = format!(
            "WITH v (job_id, idx, delivery, delivered_at, read_at) AS (VALUES {}) \
             UPDATE items SET delivery = v.delivery, \
             delivered_at = COALESCE(items.delivered_at, v.delivered_at), \
             read_at = COALESCE(items.read_at, v.read_at) \
             FROM v WHERE items.job_id = v.job_id AND items.idx = v.idx",
            placeholders::<D<T>>(chunk.len(), 5)
        );
        tx.run(&sql, args).await?;
    }
    Ok(())
}

/// Counts one job's moves in one statement; their `receipt` events, numbered in order, each with
/// the job's counters as of that move.
async fn count_moves<T: Sql>(
    tx: &mut T,
    moves: &[Move],
    now: DateTime<Utc>,
) -> StoreResult<Vec<(TenantId, StoredEvent)>> {
    let Some(first) = moves.first() else {
        return Ok(Vec::new());
    };
    let deltas: Vec<(i64, i64, i64)> = moves.iter().map(Move::deltas).collect();
    let sum = deltas
        .iter()
        .fold((0, 0, 0), |acc, d| (acc.0 + d.0, acc.1 + d.1, acc.2 + d.2));
    let row = tx
        .one(
            "UPDATE jobs SET delivered = delivered + $2, read_count = read_count + $3, \
             undelivered = undelivered + $4, last_seq = last_seq + $5 WHERE id = $1 \
             RETURNING tenant_id, last_seq, sent, delivered, read_count, undelivered",
            args![first.job, sum.0, sum.1, sum.2, moves.len() as i64],
        )
        .await?;
    let tenant = TenantId(row.uuid("tenant_id")?);
    let sent = row.big("sent").max(0) as u64;
    let first_seq = row.big("last_seq") as u64 + 1 - moves.len() as u64;
    // The counters before this batch, then move by move.
    let (mut delivered, mut read, mut undelivered) = (
        row.big("delivered") - sum.0,
        row.big("read_count") - sum.1,
        row.big("undelivered") - sum.2,
    );
    let events = moves
        .iter()
        .zip(deltas)
        .enumerate()
        .map(|(i, (m, d))| {
            delivered += d.0;
            read += d.1;
            undelivered += d.2;
            let event = ServerMsg::Receipt(ReceiptEvent {
                job_id: m.job,
                seq: first_seq + i as u64,
                at: now,
                phone: m.phone.clone(),
                sender_id: m.sender,
                status: m.to,
                error: m.error.clone().filter(|_| m.to == Delivery::Undelivered),
                receipts: Receipts::new(
                    sent,
                    delivered.max(0) as u64,
                    read.max(0) as u64,
                    undelivered.max(0) as u64,
                ),
            });
            (tenant, StoredEvent::from_msg(&event))
        })
        .collect();
    Ok(events)
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

impl Move {
    /// What the move adds to the job's (delivered, read, undelivered) counters.
    fn deltas(&self) -> (i64, i64, i64) {
        let counted =
            |d: Option<Delivery>, of: &[Delivery]| d.is_some_and(|d| of.contains(&d)) as i64;
        let reached = [Delivery::Delivered, Delivery::Read];
        (
            counted(Some(self.to), &reached) - counted(self.from, &reached),
            counted(Some(self.to), &[Delivery::Read]),
            counted(Some(self.to), &[Delivery::Undelivered]),
        )
    }
}
