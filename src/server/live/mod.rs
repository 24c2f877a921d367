//! Fan-out of committed events: the in-process hub and the PostgreSQL relay between instances.

pub mod bridge;
pub mod hub;
