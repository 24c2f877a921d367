//! Tenant administration (admins only): API tokens, users, instances.

use leptos::prelude::*;

use crate::protocol::problem::Problem;
#[cfg(feature = "ssr")]
use crate::protocol::problem::Thing;

use super::ApiClient;
#[cfg(feature = "ssr")]
use super::server;
use serde::{Deserialize, Serialize};

/// What the settings page shows an admin.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TenantAdmin {
    pub tokens: Vec<crate::protocol::TokenView>,
    pub users: Vec<crate::protocol::UserView>,
}

/// The tenant's API tokens and users (admins only).
#[server(endpoint = "tenant_admin", client = ApiClient)]
pub async fn load_tenant_admin() -> Result<TenantAdmin, Problem> {
    let (state, principal) = server::admin().await?;
    let tenant = principal.tenant_id;
    Ok(TenantAdmin {
        tokens: state
            .store
            .list_tokens(tenant)
            .await
            .map_err(server::store_error)?,
        users: state
            .store
            .list_users(tenant)
            .await
            .map_err(server::store_error)?,
    })
}

/// Creates an API token; the secret is returned this once and stored only as a hash.
#[server(endpoint = "create_token", client = ApiClient)]
pub async fn create_token(name: String) -> Result<String, Problem> {
    let (state, principal) = server::admin().await?;
    crate::server::services::accounts::create_token(
        state.store.as_ref(),
        principal.tenant_id,
        &name,
    )
    .await
    .map_err(server::fail)
}

/// Revokes an API token: it stops working at once, and its live connections close.
#[server(endpoint = "revoke_token", client = ApiClient)]
pub async fn revoke_token(id: String) -> Result<(), Problem> {
    use crate::server::http::auth::Credential;
    let (state, principal) = server::admin().await?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| server::not_found(Thing::Token))?;
    match state
        .store
        .revoke_token(principal.tenant_id, id)
        .await
        .map_err(server::store_error)?
    {
        Some(hash) => {
            state.hub.revoke(Credential::Token(hash));
            crate::server::audit::note(crate::protocol::audit::AuditAction::TokenRevoke, id, None);
            Ok(())
        }
        None => Err(server::not_found(Thing::Token)),
    }
}

/// Adds a user to the admin's tenant.
#[server(endpoint = "create_user", client = ApiClient)]
pub async fn create_user(username: String, password: String, role: String) -> Result<(), Problem> {
    use crate::server::http::auth;
    use crate::server::http::error::AppError;
    use crate::server::services::accounts;
    let (state, principal) = server::admin().await?;
    let username = accounts::check_new_user(&username, &password)
        .map_err(|r| server::fail(AppError::Account(r)))?;
    let role = accounts::parse_role(&role).map_err(|r| server::fail(AppError::Account(r)))?;
    let hash = state
        .limits
        .passwords()
        .run(move || auth::hash_password(&password))
        .await
        .map_err(|_| server::fail(AppError::Busy))?;
    accounts::create_user(
        state.store.as_ref(),
        principal.tenant_id,
        &username,
        &hash,
        role,
    )
    .await
    .map(|_| ())
    .map_err(server::fail)
}

/// Changes a user's role (it applies to their next request).
#[server(endpoint = "set_user_role", client = ApiClient)]
pub async fn set_user_role(id: String, role: String) -> Result<(), Problem> {
    use crate::protocol::problem::AccountRule;
    use crate::server::http::error::AppError;
    use crate::server::store::Role;
    let (state, principal) = server::admin().await?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| server::not_found(Thing::User))?;
    let role = crate::server::services::accounts::parse_role(&role)
        .map_err(|r| server::fail(AppError::Account(r)))?;
    if principal.session.as_ref().is_some_and(|s| s.user_id == id) && role != Role::Admin {
        return Err(server::fail(AppError::Account(AccountRule::OwnAdminRole)));
    }
    if state
        .store
        .set_role(principal.tenant_id, id, role)
        .await
        .map_err(server::store_error)?
    {
        crate::server::audit::note(
            crate::protocol::audit::AuditAction::UserRole,
            id,
            Some(role.as_str().to_owned()),
        );
        Ok(())
    } else {
        Err(server::not_found(Thing::User))
    }
}

/// Removes a user: their sessions end and their live connections close.
#[server(endpoint = "delete_user", client = ApiClient)]
pub async fn delete_user(id: String) -> Result<(), Problem> {
    use crate::server::http::auth::Credential;
    let (state, principal) = server::admin().await?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| server::not_found(Thing::User))?;
    if principal.session.as_ref().is_some_and(|s| s.user_id == id) {
        return Err(server::fail(crate::server::http::error::AppError::Account(
            crate::protocol::problem::AccountRule::RemoveYourself,
        )));
    }
    match state
        .store
        .delete_user(principal.tenant_id, id)
        .await
        .map_err(server::store_error)?
    {
        Some(sessions) => {
            for hash in sessions {
                state.hub.revoke(Credential::Session(hash));
            }
            crate::server::audit::note(crate::protocol::audit::AuditAction::UserDelete, id, None);
            Ok(())
        }
        None => Err(server::not_found(Thing::User)),
    }
}

/// The instances sharing the database, for admins (`None` for everyone else).
#[server(endpoint = "list_instances", client = ApiClient)]
pub async fn list_instances() -> Result<Option<Vec<crate::protocol::InstanceView>>, Problem> {
    let (state, principal) = server::principal().await?;
    if !principal.role().can_administer() {
        return Ok(None);
    }
    let instances = state
        .store
        .list_instances(principal.tenant_id)
        .await
        .map_err(server::store_error)?;
    Ok(Some(instances))
}
