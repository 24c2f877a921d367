//! A bulk send's devices (sender lanes), written once for both backends: created with the job,
//! counted with the outcomes they record (in the same commit), snapshotted by the runner and
//! paused by operators.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::rows::Cols;
use super::sql::{Args, D, Dialect, Sql, args};
use super::{Backend, PACE_CHECKPOINT, WriteTx};
use crate::protocol::lanes::{LaneState, SenderLane};
use crate::protocol::senders::SenderHealth;
use crate::protocol::{ItemStatus, JobId, JobStatus, JobView, PaceView};
use crate::server::store::{ItemOutcome, StoreError, StoreResult, TenantId};

/// What a lane row is read from (`lane_view`).
const LANE_COLUMNS: &str = "d.job_id, d.device_id, d.sender_id, d.sent, d.failed, d.in_flight, \
     CASE WHEN d.paused THEN 1 ELSE 0 END AS paused_n, d.last_error, d.last_fault, d.moved_at, \
     d.pace_a_at, d.pace_a_done, d.pace_b_at, d.pace_b_done, s.health";

/// A lane as people see it, of a job in `status`, at `now`.
fn lane_view(row: &impl Cols, status: JobStatus, now: DateTime<Utc>) -> StoreResult<SenderLane> {
    let (sent, failed) = (
        row.big("sent").max(0) as u64,
        row.big("failed").max(0) as u64,
    );
    let in_flight = row.int("in_flight").max(0) as u32;
    let paused = row.int("paused_n") != 0;
    let moved_at = row.opt_time("moved_at");
    let checkpoint = |at: &str, done: &str| {
        row.opt_time(at)
            .zip(row.opt_big(done).map(|d| d.max(0) as u64))
    };
    let pace = PaceView::read(
        status,
        (sent + failed, sent + failed),
        // A lane that never moved has no pace yet: `None` leaves the rate unknown.
        moved_at,
        None,
        moved_at,
        checkpoint("pace_a_at", "pace_a_done").or_else(|| checkpoint("pace_b_at", "pace_b_done")),
        now,
    );
    let health = row
        .opt_text("health")
        .map_or(SenderHealth::Unknown, |h| SenderHealth::parse(&h));
    let last_fault = row.json("last_fault").ok().flatten();
    Ok(SenderLane {
        sender_id: row.opt_uuid("sender_id")?,
        device_id: row.int("device_id").max(0) as u32,
        state: LaneState::read(status, paused, health, in_flight, moved_at, now),
        sent,
        failed,
        in_flight: if status == JobStatus::Processing {
            in_flight
        } else {
            0
        },
        // Paused lanes move no more: their last rate would mislead.
        rate_per_sec: pace.rate_per_sec.map(|r| if paused { 0.0 } else { r }),
        last_error: row.opt_text("last_error"),
        last_fault,
        paused,
        moved_at,
    })
}

/// The counts one batch of outcomes adds to each device: `(device, sender, sent, failed, last
/// failure)`, each device once.
type LaneCounts<'o> = Vec<(u32, Option<Uuid>, i64, i64, Option<&'o ItemOutcome>)>;

fn lane_counts<'o>(recorded: &[&'o ItemOutcome]) -> LaneCounts<'o> {
    let mut counts: LaneCounts<'o> = Vec::new();
    for outcome in recorded {
        let at = match counts.iter().position(|c| c.0 == outcome.device_id) {
            Some(at) => at,
            None => {
                counts.push((outcome.device_id, outcome.sender_id, 0, 0, None));
                counts.len() - 1
            }
        };
        let entry = &mut counts[at];
        match outcome.status {
            ItemStatus::Sent => entry.2 += 1,
            ItemStatus::Failed => {
                entry.3 += 1;
                entry.4 = Some(outcome);
            }
            _ => {}
        }
    }
    counts
}

/// Lane writes inside a write transaction.
#[async_trait]
pub(crate) trait LaneTx: Sql + Send {
    /// Creates a new bulk send's devices: one per sender it spreads over, or `devices` of the
    /// server-wide provider.
    async fn insert_lanes(
        &mut self,
        job: JobId,
        senders: &[Uuid],
        devices: u32,
    ) -> StoreResult<Vec<SenderLane>> {
        let lanes: Vec<(u32, Option<Uuid>)> = if senders.is_empty() {
            (1..=devices.clamp(1, 50)).map(|d| (d, None)).collect()
        } else {
            senders
                .iter()
                .enumerate()
                .map(|(place, id)| (place as u32 + 1, Some(*id)))
                .collect()
        };
        let mut args: Args = args![job];
        let values: Vec<String> = lanes
            .iter()
            .map(|(device, sender)| {
                args.push(i64::from(*device).into());
                args.push((*sender).into());
                format!("($1, ${}, ${})", args.len() - 1, args.len())
            })
            .collect();
        let sql = format!(
            "INSERT INTO job_devices (job_id, device_id, sender_id) VALUES {}",
            values.join(", ")
        );
        self.run(&sql, args).await?;
        Ok(lanes
            .into_iter()
            .map(|(device, sender)| SenderLane::new(device, sender))
            .collect())
    }

    /// Counts recorded outcomes into their devices: sent, failed, the last failure and the pace.
    async fn count_lanes(
        &mut self,
        job: JobId,
        recorded: &[&ItemOutcome],
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        let counts = lane_counts(recorded);
        if counts.is_empty() {
            return Ok(());
        }
        let (checkpoint, checkpoint_arg) = D::<Self>::before("$3", PACE_CHECKPOINT, now);
        let now_sql = D::<Self>::now("$2");
        let mut args: Args = args![job, now];
        args.push(checkpoint_arg);
        let values: Vec<String> = counts
            .iter()
            .map(|(device, sender, sent, failed, last)| {
                let first = args.len() + 1;
                args.push(i64::from(*device).into());
                args.push((*sender).into());
                args.push((*sent).into());
                args.push((*failed).into());
                args.push(last.and_then(|o| o.error.clone()).into());
                args.push(
                    last.and_then(|o| o.fault.as_ref())
                        .map(|f| serde_json::to_value(f).expect("faults serialise"))
                        .into(),
                );
                let p = |i: usize| format!("${}", first + i);
                format!(
                    "($1, {}, {}, {}, {}, {}, {}, {now_sql})",
                    p(0),
                    p(1),
                    p(2),
                    p(3),
                    p(4),
                    p(5)
                )
            })
            .collect();
        // Qualified throughout: PostgreSQL finds a bare column ambiguous beside `excluded`. Every
        // right-hand side reads the row as it was, so the checkpoints move together.
        let d = "job_devices";
        let due = format!("({d}.pace_b_at IS NULL OR {d}.pace_b_at <= {checkpoint})");
        let sql = format!(
            "INSERT INTO job_devices (job_id, device_id, sender_id, sent, failed, last_error, \
               last_fault, moved_at) VALUES {values} \
             ON CONFLICT (job_id, device_id) DO UPDATE SET \
               sent = {d}.sent + excluded.sent, failed = {d}.failed + excluded.failed, \
               last_error = COALESCE(excluded.last_error, {d}.last_error), \
               last_fault = CASE WHEN excluded.last_error IS NULL THEN {d}.last_fault \
                 ELSE excluded.last_fault END, \
               moved_at = excluded.moved_at, \
               pace_a_at = CASE WHEN {due} THEN {d}.pace_b_at ELSE {d}.pace_a_at END, \
               pace_a_done = CASE WHEN {due} THEN {d}.pace_b_done ELSE {d}.pace_a_done END, \
               pace_b_at = CASE WHEN {due} THEN {now_sql} ELSE {d}.pace_b_at END, \
               pace_b_done = CASE WHEN {due} THEN {d}.sent + {d}.failed ELSE {d}.pace_b_done END",
            values = values.join(", ")
        );
        self.run(&sql, args).await?;
        Ok(())
    }

    /// A stopped job's devices hold nothing.
    async fn empty_lanes(&mut self, job: JobId) -> StoreResult<()> {
        let sql = "UPDATE job_devices SET in_flight = 0 WHERE job_id = $1 AND in_flight <> 0";
        self.run(sql, args![job]).await?;
        Ok(())
    }
}

impl<T: Sql + Send> LaneTx for T {}

/// Reading and steering lanes, outside the write path.
#[async_trait]
pub(crate) trait LaneSql: Backend {
    /// Fills in the lanes of each bulk send among `jobs` (one query for them all).
    async fn with_lanes(&self, jobs: &mut [JobView]) -> StoreResult<()> {
        let sends: Vec<&JobView> = jobs
            .iter()
            .filter(|j| j.kind == crate::protocol::JobKind::BulkSend)
            .collect();
        if sends.is_empty() {
            return Ok(());
        }
        let mut args: Args = Vec::new();
        let list: Vec<String> = sends
            .iter()
            .map(|j| {
                args.push(j.id.into());
                format!("${}", args.len())
            })
            .collect();
        let sql = format!(
            "SELECT {LANE_COLUMNS} FROM job_devices d LEFT JOIN senders s ON s.id = d.sender_id \
             WHERE d.job_id IN ({}) ORDER BY d.job_id, d.device_id",
            list.join(", ")
        );
        let rows = self.reads().rows(&sql, args).await?;
        let status: HashMap<Uuid, JobStatus> = sends.iter().map(|j| (j.id.0, j.status)).collect();
        let now = Utc::now();
        let mut lanes: HashMap<Uuid, Vec<SenderLane>> = HashMap::new();
        for row in &rows {
            let job = row.uuid("job_id")?;
            let lane = lane_view(row, status[&job], now)?;
            lanes.entry(job).or_default().push(lane);
        }
        for job in jobs.iter_mut() {
            // A send from before lanes, that never sent, keeps what its row says.
            if let Some(lanes) = lanes.remove(&job.id.0) {
                job.senders = lanes;
            }
        }
        Ok(())
    }

    /// Pauses or resumes one device of the tenant's job: `None` when there is no such job or
    /// device; `Refused` when it is the last device still sending.
    async fn set_lane_paused(
        &self,
        tenant: TenantId,
        job: JobId,
        device: u32,
        paused: bool,
    ) -> StoreResult<Option<LaneChange>> {
        let mut tx = self.write().await?;
        let sql = "SELECT d.device_id, CASE WHEN d.paused THEN 1 ELSE 0 END AS paused_n \
             FROM job_devices d JOIN jobs j ON j.id = d.job_id \
             WHERE d.job_id = $1 AND j.tenant_id = $2 AND j.kind = 'bulk_send'";
        let rows = tx.rows(sql, args![job, tenant]).await?;
        let Some(this) = rows
            .iter()
            .find(|r| r.int("device_id") == i64::from(device))
        else {
            return Ok(None);
        };
        let others_on = rows
            .iter()
            .filter(|r| r.int("device_id") != i64::from(device) && r.int("paused_n") == 0)
            .count();
        if paused && this.int("paused_n") == 0 && others_on == 0 {
            return Ok(Some(LaneChange::Refused));
        }
        let sql = format!(
            "UPDATE job_devices SET paused = {paused} WHERE job_id = $1 AND device_id = $2"
        );
        tx.run(&sql, args![job, i64::from(device)]).await?;
        tx.commit().await?;
        Ok(Some(LaneChange::Done))
    }

    /// The runner's tick: records what each device holds (only what changed) and returns the
    /// paused devices, while `owner` holds the job.
    async fn lane_tick(
        &self,
        job: JobId,
        owner: &str,
        changed: &[(u32, u32)],
    ) -> StoreResult<Vec<u32>> {
        if !changed.is_empty() {
            let mut args: Args = args![job, owner];
            let cases: Vec<String> = changed
                .iter()
                .map(|(device, in_flight)| {
                    args.push(i64::from(*device).into());
                    args.push(i64::from(*in_flight).into());
                    format!("WHEN ${} THEN ${}", args.len() - 1, args.len())
                })
                .collect();
            let sql = format!(
                "UPDATE job_devices SET in_flight = CASE device_id {} ELSE in_flight END \
                 WHERE job_id = $1 AND EXISTS (SELECT 1 FROM jobs WHERE id = $1 \
                   AND lease_owner = $2)",
                cases.join(" ")
            );
            let mut tx = self.write().await?;
            tx.run(&sql, args).await?;
            tx.commit().await?;
        }
        let sql = "SELECT device_id FROM job_devices WHERE job_id = $1 AND paused";
        let rows = self.reads().rows(sql, args![job]).await?;
        rows.iter()
            .map(|r| {
                u32::try_from(r.int("device_id"))
                    .map_err(|e| StoreError::Corrupt(format!("device id: {e}")))
            })
            .collect()
    }
}

impl<B: Backend> LaneSql for B {}

/// What asking to pause or resume a device did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LaneChange {
    Done,
    /// Every other device is paused: pausing this one would stop the send (pause the job).
    Refused,
}
