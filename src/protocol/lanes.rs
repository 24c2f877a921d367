//! Sender lanes (CONTRACT.md "Operations"): one row per device of a bulk send, so a stuck or
//! banned device shows, and an operator can pause one device's share.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

use super::fault::SendFault;
use super::senders::SenderHealth;
use super::{JobStatus, STALL_AFTER_S};

/// What one device of a bulk send is doing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LaneState {
    /// It holds a message it is sending.
    Sending,
    /// Running, with nothing in hand (waiting for work or its sender's pace).
    Idle,
    /// It has held a message for `STALL_AFTER_S` without finishing anything.
    Stalled,
    /// An operator paused it: the job's other devices take its share.
    Paused,
    /// Its sender keeps failing for a reason worth waiting out.
    Degraded,
    /// Its sender is down: the other devices take its items.
    Down,
    /// The job is not running.
    #[default]
    Stopped,
}

impl LaneState {
    /// Every state, in the order a legend shows them.
    pub const ALL: [LaneState; 7] = [
        LaneState::Sending,
        LaneState::Idle,
        LaneState::Stalled,
        LaneState::Paused,
        LaneState::Degraded,
        LaneState::Down,
        LaneState::Stopped,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            LaneState::Sending => "sending",
            LaneState::Idle => "idle",
            LaneState::Stalled => "stalled",
            LaneState::Paused => "paused",
            LaneState::Degraded => "degraded",
            LaneState::Down => "down",
            LaneState::Stopped => "stopped",
        }
    }

    /// A lane's state from what is known of it at `now`.
    pub fn read(
        job: JobStatus,
        paused: bool,
        health: SenderHealth,
        in_flight: u32,
        moved_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> LaneState {
        if paused {
            return LaneState::Paused;
        }
        if job != JobStatus::Processing {
            return LaneState::Stopped;
        }
        match health {
            SenderHealth::Down => return LaneState::Down,
            SenderHealth::Degraded => return LaneState::Degraded,
            _ => {}
        }
        if in_flight == 0 {
            return LaneState::Idle;
        }
        let quiet = moved_at.is_some_and(|at| (now - at).num_seconds() >= STALL_AFTER_S);
        if quiet {
            LaneState::Stalled
        } else {
            LaneState::Sending
        }
    }
}

/// One device of a bulk send: what it sent and failed (across runs), what it holds now, its pace
/// and its last error.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SenderLane {
    /// The tenant's sender it sends through; none for the server-wide provider.
    pub sender_id: Option<Uuid>,
    pub device_id: u32,
    pub state: LaneState,
    pub sent: u64,
    pub failed: u64,
    pub in_flight: u32,
    /// Items it finished per second over the last 10 to 20 seconds, while the job runs.
    pub rate_per_sec: Option<f64>,
    pub last_error: Option<String>,
    /// Added: `last_error` as a code with parameters, for wording it in the reader's language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_fault: Option<SendFault>,
    /// Added: an operator paused it.
    #[serde(default)]
    pub paused: bool,
    /// Added: when it last finished an item.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_at: Option<DateTime<Utc>>,
}

impl SenderLane {
    /// A lane nothing is known of yet.
    pub fn new(device_id: u32, sender_id: Option<Uuid>) -> SenderLane {
        SenderLane {
            sender_id,
            device_id,
            ..SenderLane::default()
        }
    }
}

/// Reads a job's `senders` as lanes, or as the list of sender ids that views and stored
/// `job_created` events carried before lanes (device k is the k-th id).
pub(super) fn lanes_or_ids<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<SenderLane>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum LaneOrId {
        Id(Uuid),
        Lane(SenderLane),
    }
    let entries = Vec::<LaneOrId>::deserialize(deserializer)?;
    Ok(entries
        .into_iter()
        .enumerate()
        .map(|(place, entry)| match entry {
            LaneOrId::Id(id) => SenderLane::new(place as u32 + 1, Some(id)),
            LaneOrId::Lane(lane) => lane,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_reads_pause_first_then_the_job_then_the_sender() {
        let now = Utc::now();
        let read = |job, paused, health, in_flight, moved: i64| {
            LaneState::read(
                job,
                paused,
                health,
                in_flight,
                Some(now - chrono::Duration::seconds(moved)),
                now,
            )
        };
        let running = JobStatus::Processing;
        assert_eq!(
            read(JobStatus::Paused, true, SenderHealth::Ok, 0, 0),
            LaneState::Paused
        );
        assert_eq!(
            read(JobStatus::Completed, false, SenderHealth::Down, 0, 0),
            LaneState::Stopped
        );
        assert_eq!(
            read(running, false, SenderHealth::Down, 1, 0),
            LaneState::Down
        );
        assert_eq!(
            read(running, false, SenderHealth::Degraded, 1, 0),
            LaneState::Degraded
        );
        assert_eq!(
            read(running, false, SenderHealth::Ok, 0, 99),
            LaneState::Idle
        );
        assert_eq!(
            read(running, false, SenderHealth::Ok, 1, 1),
            LaneState::Sending
        );
        assert_eq!(
            read(running, false, SenderHealth::Unknown, 1, STALL_AFTER_S),
            LaneState::Stalled
        );
    }

    #[test]
    fn old_id_lists_read_as_lanes_in_device_order() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        #[derive(Deserialize)]
        struct View {
            #[serde(deserialize_with = "lanes_or_ids")]
            senders: Vec<SenderLane>,
        }
        let old: View = serde_json::from_value(serde_json::json!({ "senders": [a, b] })).unwrap();
        assert_eq!(old.senders[1], SenderLane::new(2, Some(b)));
        let lane = SenderLane {
            sent: 4,
            state: LaneState::Sending,
            ..SenderLane::new(3, Some(a))
        };
        let new: View =
            serde_json::from_value(serde_json::json!({ "senders": [lane.clone()] })).unwrap();
        assert_eq!(new.senders, vec![lane]);
    }
}
