//! The hooks page's server functions (admins only, as on REST).

use leptos::prelude::*;

use super::ApiClient;
#[cfg(feature = "ssr")]
use super::server;
use crate::protocol::hooks::{DeliveryView, HookCreated, HookWithDeliveries};
use crate::protocol::problem::Problem;

/// Deliveries shown under each hook.
pub const HOOK_PAGE_DELIVERIES: u32 = 10;

/// The tenant's hooks, each with its newest deliveries.
#[server(endpoint = "hooks_page", client = ApiClient)]
pub async fn load_hooks() -> Result<Vec<HookWithDeliveries>, Problem> {
    use crate::server::services::hooks;
    let (state, principal) = server::admin().await?;
    let tenant = principal.tenant_id;
    let mut page = Vec::new();
    for hook in hooks::list(&state, tenant).await.map_err(server::fail)? {
        let deliveries = hooks::deliveries(&state, tenant, hook.id, None, HOOK_PAGE_DELIVERIES)
            .await
            .map_err(server::fail)?;
        page.push(HookWithDeliveries { hook, deliveries });
    }
    Ok(page)
}

/// Adds a hook from the page's form: one checkbox per event (`on` when ticked).
#[server(endpoint = "add_hook", client = ApiClient)]
pub async fn add_hook(
    url: String,
    #[server(default)] completed: Option<String>,
    #[server(default)] failed: Option<String>,
    #[server(default)] cancelled: Option<String>,
    #[server(default)] paused: Option<String>,
) -> Result<HookCreated, Problem> {
    use crate::protocol::hooks::{CreateHookRequest, HookEvent};
    let (state, principal) = server::admin().await?;
    let events = [
        (completed, HookEvent::JobCompleted),
        (failed, HookEvent::JobFailed),
        (cancelled, HookEvent::JobCancelled),
        (paused, HookEvent::JobPaused),
    ]
    .into_iter()
    .filter(|(ticked, _)| ticked.is_some())
    .map(|(_, event)| event.as_str().to_owned())
    .collect();
    crate::server::services::hooks::create(
        &state,
        principal.tenant_id,
        CreateHookRequest { url, events },
    )
    .await
    .map_err(server::fail)
}

/// Deletes a hook.
#[server(endpoint = "delete_hook", client = ApiClient)]
pub async fn delete_hook(id: String) -> Result<(), Problem> {
    use crate::protocol::problem::Thing;
    let (state, principal) = server::admin().await?;
    let id = id.parse().map_err(|_| server::not_found(Thing::Hook))?;
    crate::server::services::hooks::delete(&state, principal.tenant_id, id)
        .await
        .map_err(server::fail)
}

/// Queues a test call to a hook.
#[server(endpoint = "test_hook", client = ApiClient)]
pub async fn test_hook(id: String) -> Result<DeliveryView, Problem> {
    use crate::protocol::problem::Thing;
    let (state, principal) = server::admin().await?;
    let id = id.parse().map_err(|_| server::not_found(Thing::Hook))?;
    crate::server::services::hooks::ping(&state, principal.tenant_id, id)
        .await
        .map_err(server::fail)
}

/// Audit entries on one page of the audit log.
pub const AUDIT_PAGE: u32 = 100;

/// The newest audit entries older than `before` (the newest of all without); admins only.
#[server(endpoint = "audit_page", client = ApiClient)]
pub async fn load_audit(
    #[server(default)] before: Option<String>,
) -> Result<Vec<crate::protocol::audit::AuditEntry>, Problem> {
    let (state, principal) = server::admin().await?;
    // A cursor that is not an entry's id reads as "from the newest".
    let before = before.and_then(|b| b.parse().ok());
    state
        .store
        .audit(principal.tenant_id, before, AUDIT_PAGE)
        .await
        .map_err(server::store_error)
}
