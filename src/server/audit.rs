//! The audit log's notes. Services say what they did (`note`) where they do it; the request
//! guard, which knows who is calling and from where, writes a request's notes once it is
//! answered. Outside a request (the CLI, the engine) notes go nowhere.

use std::cell::RefCell;
use std::future::Future;

use axum::response::Response;
use chrono::Utc;

use crate::protocol::audit::{ActorKind, AuditAction};
use crate::server::AppState;
use crate::server::http::auth::{Credential, Principal};
use crate::server::http::peer::Peer;
use crate::server::store::NewAuditEntry;

/// Something a request did, for the audit log.
#[derive(Clone, Debug)]
struct Note {
    action: AuditAction,
    target_id: String,
    detail: Option<String>,
}

tokio::task_local! {
    static NOTES: RefCell<Vec<Note>>;
}

/// Notes that the current request did `action` to `target`; `detail` names it or what was chosen.
pub fn note(action: AuditAction, target: impl ToString, detail: Option<String>) {
    let note = Note {
        action,
        target_id: target.to_string(),
        detail,
    };
    let _ = NOTES.try_with(|notes| notes.borrow_mut().push(note));
}

/// Runs a changing request, then writes what it noted with who made it and from where.
pub async fn noting(
    state: &AppState,
    principal: Option<&Principal>,
    peer: Peer,
    request: impl Future<Output = Response>,
) -> Response {
    let (response, notes) = NOTES
        .scope(RefCell::new(Vec::new()), async {
            let response = request.await;
            (response, NOTES.with(|notes| notes.take()))
        })
        .await;
    let Some(principal) = principal.filter(|_| !notes.is_empty()) else {
        return response;
    };
    let (actor_kind, actor) = match (&principal.session, &principal.credential) {
        (Some(session), _) => (ActorKind::User, session.username.clone()),
        (None, Credential::Token(hash)) => (ActorKind::Token, hash.clone()),
        (None, Credential::Session(_)) => return response,
    };
    let at = Utc::now();
    let entries: Vec<NewAuditEntry> = notes
        .into_iter()
        .map(|note| NewAuditEntry {
            tenant_id: principal.tenant_id,
            actor_kind,
            actor: actor.clone(),
            action: note.action,
            target_id: note.target_id,
            detail: note.detail,
            ip: Some(peer.address.to_string()),
            at,
        })
        .collect();
    if let Err(error) = state.store.record_audit(&entries).await {
        tracing::error!(%error, "could not write the audit log");
    }
    response
}
