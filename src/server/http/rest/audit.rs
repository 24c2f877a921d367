//! The audit log (CONTRACT.md "Operations"): `GET /api/audit`, admins only.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::{entry_cursor, limit_param, query};
use crate::protocol::audit::AuditEntry;
use crate::server::AppState;
use crate::server::http::auth::Principal;
use crate::server::http::error::AppError;

/// Most entries in one page.
pub const MAX_AUDIT_PAGE: u32 = 500;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/audit", get(list))
}

#[derive(Deserialize)]
struct AuditQuery {
    limit: Option<u32>,
    /// Keyset paging: entries older than this one (an entry's `id`).
    before: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    params: Result<Query<AuditQuery>, QueryRejection>,
) -> Result<Json<Vec<AuditEntry>>, AppError> {
    principal.require_admin_or_token()?;
    let params = query(params)?;
    let limit = limit_param(params.limit, 100, MAX_AUDIT_PAGE)?;
    let before = entry_cursor(params.before)?;
    Ok(Json(
        state
            .store
            .audit(principal.tenant_id, before, limit)
            .await?,
    ))
}
