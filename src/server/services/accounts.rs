//! Accounts of a tenant: its users and API tokens, as the settings page and the CLI create them.

use crate::protocol::audit::AuditAction;
use crate::protocol::problem::AccountRule;
use crate::server::audit;
use crate::server::secrets::{hash_secret, new_secret};
use crate::server::store::{Role, Store, StoreError, TenantId, User};

/// Why a user or token was not created.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{0:?}")]
    Rule(AccountRule),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Longest username.
pub const MAX_USERNAME: usize = 64;
/// Shortest password a new user may get.
pub const MIN_PASSWORD: usize = 10;
/// Longest API token name.
pub const MAX_TOKEN_NAME: usize = 100;

/// Checks a new user's username and password; the username as it will be stored (trimmed).
pub fn check_new_user(username: &str, password: &str) -> Result<String, AccountRule> {
    let username = username.trim();
    if username.is_empty()
        || username.chars().count() > MAX_USERNAME
        || username.contains(char::is_whitespace)
    {
        return Err(AccountRule::Username {
            max: MAX_USERNAME as u32,
        });
    }
    if password.chars().count() < MIN_PASSWORD {
        return Err(AccountRule::PasswordTooShort {
            min: MIN_PASSWORD as u32,
        });
    }
    Ok(username.to_owned())
}

/// Reads a role as forms and the CLI spell it.
pub fn parse_role(role: &str) -> Result<Role, AccountRule> {
    Role::parse(role.trim()).map_err(|_| AccountRule::UnknownRole)
}

/// Creates a user (checked with `check_new_user`; the password already hashed): the pages
/// and the CLI both come here, so both refuse a username the workspace has.
pub async fn create_user(
    store: &dyn Store,
    tenant: TenantId,
    username: &str,
    password_hash: &str,
    role: Role,
) -> Result<User, AccountError> {
    match store
        .create_user(tenant, username, password_hash, role)
        .await
    {
        Ok(user) => {
            audit::note(
                AuditAction::UserCreate,
                user.id,
                Some(user.username.clone()),
            );
            Ok(user)
        }
        Err(StoreError::Conflict(_)) => Err(AccountError::Rule(AccountRule::UsernameTaken {
            username: username.to_owned(),
        })),
        Err(error) => Err(error.into()),
    }
}

/// Creates an API token named `name`; the secret, shown once (only its hash is stored).
pub async fn create_token(
    store: &dyn Store,
    tenant: TenantId,
    name: &str,
) -> Result<String, AccountError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_TOKEN_NAME {
        return Err(AccountError::Rule(AccountRule::TokenName {
            max: MAX_TOKEN_NAME as u32,
        }));
    }
    let secret = new_secret("jp_");
    let token = store
        .create_api_token(tenant, name, &hash_secret(&secret))
        .await?;
    audit::note(AuditAction::TokenCreate, token.id, Some(name.to_owned()));
    Ok(secret)
}
