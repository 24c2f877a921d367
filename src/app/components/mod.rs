//! Small building blocks the pages share.

mod connection_badge;
mod failures;
mod field_errors;
mod job_controls;
mod job_watch;
mod lanes;
mod local_time;
mod log_pane;
mod pace;
mod progress_bar;
mod recipients;
mod results_table;
mod sender_health;
mod stages;
mod status_badge;

pub use connection_badge::{ConnectionBadge, StaleNote};
pub use failures::FailureReasons;
pub use field_errors::{FieldError, FieldErrors, error_id, focus_first_invalid};
pub use job_controls::JobControls;
pub use job_watch::JobWatch;
pub use lanes::SenderLanes;
pub use local_time::{LocalTime, ViewerZone, viewer_time};
pub use log_pane::LogPane;
pub use pace::JobPace;
pub use progress_bar::ProgressBar;
pub use recipients::RecipientsPanel;
pub use results_table::{ResultsTable, web_link};
pub use sender_health::SenderHealthBadge;
pub use stages::StageSteps;
pub use status_badge::StatusBadge;
