//! The inbox and the opt-out list: what REST and the pages share.

use crate::protocol::audit::AuditAction;
use crate::protocol::problem::{RequestRule, Thing};
use crate::server::AppState;
use crate::server::audit;
use crate::server::http::error::AppError;
use crate::server::services::phones;
use crate::server::store::TenantId;

/// The number in E.164, or a refusal naming what is wrong with it.
pub fn opt_out_phone(state: &AppState, phone: &str) -> Result<String, AppError> {
    phones::normalise(phone, state.default_region()).map_err(|issue| {
        AppError::Unprocessable(RequestRule::OptOutPhone {
            phone: phone.to_owned(),
            issue,
        })
    })
}

/// Lists a number by hand; its E.164 form, and `false` if it already was listed.
pub async fn add_opt_out(
    state: &AppState,
    tenant: TenantId,
    phone: &str,
) -> Result<(String, bool), AppError> {
    let phone = opt_out_phone(state, phone)?;
    let added = state.store.add_opt_out(tenant, &phone, "manual").await?;
    if added {
        audit::note(AuditAction::OptOutAdd, &phone, None);
    }
    Ok((phone, added))
}

/// Takes a number off the list; `404` if it was not on it.
pub async fn remove_opt_out(
    state: &AppState,
    tenant: TenantId,
    phone: &str,
) -> Result<(), AppError> {
    let phone = opt_out_phone(state, phone).map_err(|_| AppError::NotFound(Thing::OptOut))?;
    if state.store.remove_opt_out(tenant, &phone).await? {
        audit::note(AuditAction::OptOutRemove, &phone, None);
        Ok(())
    } else {
        Err(AppError::NotFound(Thing::OptOut))
    }
}
