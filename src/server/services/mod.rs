//! What REST and the server functions share: creating and commanding jobs, campaigns and
//! outside workers' reports, with their validation.

pub mod accounts;
pub mod campaigns;
pub mod hooks;
pub mod inbox;
pub mod jobs;
pub mod phones;
pub mod senders;
