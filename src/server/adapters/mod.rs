//! The outside world: messaging providers and scraping sources, each a client of someone
//! else's API. They know neither the engine nor the store.

pub mod http_retry;
pub mod providers;
pub mod sources;
