//! The inbox and opt-outs pages' server functions.

use leptos::prelude::*;

use super::ApiClient;
#[cfg(feature = "ssr")]
use super::server;
use crate::protocol::problem::Problem;
use crate::protocol::{InboxPage, OptOutView};

/// Messages on one inbox page.
pub const INBOX_PAGE: u32 = 50;

/// The newest inbox messages before `before` (the newest of all without), one job's with `job`.
#[server(endpoint = "inbox_page", client = ApiClient)]
pub async fn load_inbox(
    #[server(default)] job: Option<String>,
    #[server(default)] before: Option<i64>,
) -> Result<InboxPage, Problem> {
    use crate::protocol::problem::Thing;
    use crate::server::store::InboxWindow;
    let (state, principal) = server::principal().await?;
    let job = match job.filter(|j| !j.is_empty()) {
        Some(raw) => Some(
            raw.parse::<uuid::Uuid>()
                .map(crate::protocol::JobId)
                .map_err(|_| server::not_found(Thing::Job))?,
        ),
        None => None,
    };
    let messages = state
        .store
        .inbox(
            principal.tenant_id,
            InboxWindow {
                before,
                limit: INBOX_PAGE,
                job,
                ..Default::default()
            },
        )
        .await
        .map_err(server::store_error)?;
    let next_after = messages.last().map(|m| m.id);
    Ok(InboxPage {
        messages,
        next_after,
    })
}

/// What the opt-outs page shows.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OptOutsPage {
    /// Newest first.
    pub list: Vec<OptOutView>,
    /// The replies that opt out, as the server's settings have them.
    pub words: Vec<String>,
}

/// The tenant's opt-out list, newest first, and the words that opt out.
#[server(endpoint = "opt_outs_page", client = ApiClient)]
pub async fn load_opt_outs() -> Result<OptOutsPage, Problem> {
    let (state, principal) = server::principal().await?;
    let list = state
        .store
        .opt_outs(principal.tenant_id)
        .await
        .map_err(server::store_error)?;
    Ok(OptOutsPage {
        list,
        words: state.settings.senders.opt_out_words.clone(),
    })
}

/// Lists a number by hand; `false` if it already was.
#[server(endpoint = "add_opt_out", client = ApiClient)]
pub async fn add_opt_out(phone: String) -> Result<bool, Problem> {
    let (state, principal) = server::operator().await?;
    crate::server::services::inbox::add_opt_out(&state, principal.tenant_id, &phone)
        .await
        .map(|(_, added)| added)
        .map_err(server::fail)
}

/// Takes a number off the list.
#[server(endpoint = "remove_opt_out", client = ApiClient)]
pub async fn remove_opt_out(phone: String) -> Result<(), Problem> {
    let (state, principal) = server::operator().await?;
    crate::server::services::inbox::remove_opt_out(&state, principal.tenant_id, &phone)
        .await
        .map_err(server::fail)
}
