//! The senders page's server functions (admins change senders; everyone logged in sees them).
// `create_sender` takes each provider setting as its own argument (its form's flat field
// names), and the server macro's browser-side function copies the arguments but not an
// `allow` on the function.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;

use super::ApiClient;
#[cfg(feature = "ssr")]
use super::server;
use crate::protocol::problem::Problem;
use crate::protocol::senders::SenderView;

/// The tenant's senders.
#[server(endpoint = "senders_page", client = ApiClient)]
pub async fn load_senders() -> Result<Vec<SenderView>, Problem> {
    let (state, principal) = server::principal().await?;
    crate::server::services::senders::list(&state, principal.tenant_id)
        .await
        .map_err(server::store_error)
}

/// Adds a sender. Every provider's settings are their own form fields (empty ones are left out),
/// so the form posts flat names without JavaScript too.
#[server(endpoint = "create_sender", client = ApiClient)]
pub async fn create_sender(
    name: String,
    provider: String,
    #[server(default)] rate_per_minute: String,
    #[server(default)] base_url: String,
    #[server(default)] phone_number_id: String,
    #[server(default)] access_token: String,
    #[server(default)] app_secret: String,
    #[server(default)] verify_token: String,
    #[server(default)] account_sid: String,
    #[server(default)] auth_token: String,
    #[server(default)] from: String,
    #[server(default)] messaging_service_sid: String,
    #[server(default)] token: String,
    #[server(default)] secret_key: String,
    #[server(default)] url: String,
) -> Result<SenderView, Problem> {
    use crate::protocol::problem::SenderRule;
    use crate::protocol::senders::CreateSenderRequest;
    use crate::server::http::error::AppError;
    let (state, principal) = server::admin().await?;
    let rate_per_minute = match rate_per_minute.trim() {
        "" => None,
        typed => Some(typed.parse::<u32>().map_err(|_| {
            server::fail(AppError::Sender(SenderRule::RateNotANumber {
                got: typed.to_owned(),
            }))
        })?),
    };
    let given = [
        ("base_url", base_url),
        ("phone_number_id", phone_number_id),
        ("access_token", access_token),
        ("app_secret", app_secret),
        ("verify_token", verify_token),
        ("account_sid", account_sid),
        ("auth_token", auth_token),
        ("from", from),
        ("messaging_service_sid", messaging_service_sid),
        ("token", token),
        ("secret_key", secret_key),
        ("url", url),
    ];
    let config = given
        .into_iter()
        .filter(|(_, value)| !value.trim().is_empty())
        .map(|(key, value)| (key.to_owned(), serde_json::Value::String(value)))
        .collect();
    let request = CreateSenderRequest {
        name,
        provider,
        config: serde_json::Value::Object(config),
        rate_per_minute,
    };
    crate::server::services::senders::create(&state, principal.tenant_id, request)
        .await
        .map_err(server::fail)
}

/// Turns a sender on or off.
#[server(endpoint = "set_sender_active", client = ApiClient)]
pub async fn set_sender_active(id: String, active: bool) -> Result<SenderView, Problem> {
    use crate::protocol::senders::UpdateSenderRequest;
    let (state, principal) = server::admin().await?;
    let id = sender_id(&id)?;
    let change = UpdateSenderRequest {
        active: Some(active),
        ..Default::default()
    };
    crate::server::services::senders::update(&state, principal.tenant_id, id, change)
        .await
        .map_err(server::fail)
}

/// Deletes a sender and its secrets.
#[server(endpoint = "delete_sender", client = ApiClient)]
pub async fn delete_sender(id: String) -> Result<(), Problem> {
    let (state, principal) = server::admin().await?;
    let id = sender_id(&id)?;
    crate::server::services::senders::delete(&state, principal.tenant_id, id)
        .await
        .map_err(server::fail)
}

#[cfg(feature = "ssr")]
fn sender_id(raw: &str) -> Result<uuid::Uuid, Problem> {
    raw.parse()
        .map_err(|_| server::not_found(crate::protocol::problem::Thing::Sender))
}
