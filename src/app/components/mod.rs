//! Small building blocks the pages share.

mod connection_badge;
mod log_pane;
mod progress_bar;
mod status_badge;

pub use connection_badge::ConnectionBadge;
pub use log_pane::LogPane;
pub use progress_bar::ProgressBar;
pub use status_badge::StatusBadge;
