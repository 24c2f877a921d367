//! Everything that runs only on the server.

pub mod adapters;
pub mod audit;
pub mod demo_site;
pub mod engine;
pub mod http;
pub mod live;
pub mod metrics;
pub mod secrets;
pub mod services;
pub mod settings;
pub mod startup;
pub mod store;
pub mod vault;

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::config::LeptosOptions;

use crate::server::engine::Engine;
use crate::server::live::hub::Hub;
use crate::server::settings::Settings;
use crate::server::store::Store;

/// What every handler and server function can reach.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub store: Arc<dyn Store>,
    pub hub: Arc<Hub>,
    /// `None` on an instance started with the engine turned off.
    pub engine: Option<Arc<Engine>>,
    pub settings: Arc<Settings>,
    /// The messaging provider's name, and whether it is the demo sandbox (the UI labels it).
    pub provider_name: &'static str,
    pub provider_is_sandbox: bool,
    pub limits: Arc<http::limits::Limits>,
    /// This process's name among the instances sharing the database (its engine's lease owner).
    pub instance_id: String,
    /// Seals and opens senders' secrets.
    pub vault: Arc<vault::Vault>,
    /// Wakes the task that applies stored delivery receipts.
    pub receipts: Arc<tokio::sync::Notify>,
    /// Stores webhooks' receipts, concurrent calls in one transaction.
    pub receipt_writer: crate::server::store::group_commit::ReceiptWriter,
    /// Wakes this instance's caller of outgoing webhooks (a test call was queued).
    pub hook_calls: Arc<tokio::sync::Notify>,
}

impl AppState {
    /// The region assumed for numbers written without a country code.
    pub fn default_region(&self) -> Option<phonenumber::country::Id> {
        self.settings.default_region.parse().ok()
    }

    /// Where providers reach this server: `public_url`, or the address it listens on.
    pub fn public_url(&self) -> String {
        public_url(&self.settings, self.leptos_options.site_addr)
    }
}

/// Where providers reach a server listening on `addr`: `public_url`, or that address.
pub fn public_url(settings: &settings::Settings, addr: std::net::SocketAddr) -> String {
    match settings.public_url.trim().trim_end_matches('/') {
        "" => format!("http://{addr}"),
        url => url.to_owned(),
    }
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
