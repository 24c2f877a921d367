//! The conformance suite for what the pages and the relay need beyond jobs: tenants, users,
//! sessions, API tokens, pruning, and the reads one instance makes for another.

use chrono::{Duration, Utc};
use jobpulse::protocol::lifecycle::Command;
use jobpulse::server::store::{Role, Store, TenantId};

use super::{new_job, tenant};

/// Tenants by name and id; tokens listed newest first, revoked ones marked and no longer
/// resolving, another tenant's token left alone.
pub async fn tenants_and_tokens(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    assert_eq!(
        store.tenant_by_name("acme").await.unwrap().unwrap().id,
        acme
    );
    assert!(store.tenant_by_name("initech").await.unwrap().is_none());
    assert_eq!(store.tenant(globex).await.unwrap().unwrap().name, "globex");
    assert!(
        store
            .tenant(TenantId(uuid::Uuid::now_v7()))
            .await
            .unwrap()
            .is_none()
    );

    let ci = store.create_api_token(acme, "ci", "hash-ci").await.unwrap();
    let billing = store
        .create_api_token(acme, "billing", "hash-billing")
        .await
        .unwrap();
    store
        .create_api_token(globex, "theirs", "hash-theirs")
        .await
        .unwrap();
    let listed = store.list_tokens(acme).await.unwrap();
    assert_eq!(
        listed.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["billing", "ci"],
        "the tenant's own tokens, newest first"
    );
    assert!(listed.iter().all(|t| t.revoked_at.is_none()));
    // Using a token is recorded.
    assert_eq!(store.tenant_for_token("hash-ci").await.unwrap(), Some(acme));
    let used = store.list_tokens(acme).await.unwrap();
    assert!(
        used.iter()
            .find(|t| t.id == ci.id)
            .unwrap()
            .last_used_at
            .is_some()
    );

    // Another tenant cannot revoke it; its own admin can, once.
    assert_eq!(store.revoke_token(globex, billing.id).await.unwrap(), None);
    assert_eq!(
        store
            .revoke_token(acme, billing.id)
            .await
            .unwrap()
            .as_deref(),
        Some("hash-billing")
    );
    assert_eq!(store.tenant_for_token("hash-billing").await.unwrap(), None);
    let after = store.list_tokens(acme).await.unwrap();
    assert!(
        after
            .iter()
            .find(|t| t.id == billing.id)
            .unwrap()
            .revoked_at
            .is_some()
    );
    assert_eq!(
        store.tenant_for_token("hash-theirs").await.unwrap(),
        Some(globex)
    );
}

/// Users listed, re-roled and removed within their tenant only; sessions live until they expire
/// or end, and removing a user ends theirs.
pub async fn users_and_sessions(store: &dyn Store) {
    let acme = tenant(store, "acme").await;
    let globex = tenant(store, "globex").await;
    let ana = store
        .create_user(acme, "ana", "hash", Role::Operator)
        .await
        .unwrap();
    let bo = store
        .create_user(acme, "bo", "hash", Role::Viewer)
        .await
        .unwrap();
    store
        .create_user(globex, "cy", "hash", Role::Admin)
        .await
        .unwrap();
    let mut names: Vec<String> = store
        .list_users(acme)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    names.sort();
    assert_eq!(names, ["ana", "bo"]);

    assert!(!store.set_role(globex, ana.id, Role::Admin).await.unwrap());
    assert!(store.set_role(acme, ana.id, Role::Admin).await.unwrap());
    let roles: Vec<(String, String)> = store
        .list_users(acme)
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.username, u.role))
        .collect();
    assert!(roles.contains(&("ana".into(), "admin".into())));

    let later = Utc::now() + Duration::hours(1);
    store
        .create_session("s-ana-1", ana.id, later)
        .await
        .unwrap();
    store
        .create_session("s-ana-2", ana.id, later)
        .await
        .unwrap();
    store.create_session("s-bo", bo.id, later).await.unwrap();
    store
        .create_session("s-old", bo.id, Utc::now() - Duration::seconds(1))
        .await
        .unwrap();
    let session = store.session("s-ana-1").await.unwrap().unwrap();
    assert_eq!(
        (session.tenant_id, session.username.as_str(), session.role),
        (acme, "ana", Role::Admin)
    );
    assert!(
        store.session("s-old").await.unwrap().is_none(),
        "an expired session is no session"
    );
    store.delete_session("s-bo").await.unwrap();
    assert!(store.session("s-bo").await.unwrap().is_none());

    assert_eq!(store.delete_user(globex, ana.id).await.unwrap(), None);
    let mut ended = store.delete_user(acme, ana.id).await.unwrap().unwrap();
    ended.sort();
    assert_eq!(ended, ["s-ana-1", "s-ana-2"]);
    assert!(store.session("s-ana-1").await.unwrap().is_none());
    assert_eq!(store.list_users(acme).await.unwrap().len(), 1);
}

/// The relay's reads (whatever the tenant), and pruning: only ended jobs' events go, their rows
/// and items stay.
pub async fn relay_reads_and_pruning(store: &dyn Store) {
    store.ping().await.unwrap();
    let acme = tenant(store, "acme").await;
    let running = new_job(store, acme, 2, None).await.job().clone();
    let ended = new_job(store, acme, 2, None).await.job().clone();
    store
        .command(acme, ended.id, Command::Cancel)
        .await
        .unwrap();

    assert_eq!(store.job_tenant(running.id).await.unwrap(), Some(acme));
    assert_eq!(
        store
            .job_tenant(jobpulse::protocol::JobId(uuid::Uuid::now_v7()))
            .await
            .unwrap(),
        None
    );
    let events = store.events_since(ended.id, 0, 10).await.unwrap();
    assert_eq!(
        events
            .iter()
            .map(|e| (e.seq, e.kind.as_str()))
            .collect::<Vec<_>>(),
        [(1, "job_created"), (2, "job_cancelled")]
    );
    assert_eq!(store.events_since(ended.id, 1, 10).await.unwrap().len(), 1);

    // A cutoff before the job ended prunes nothing; one after it prunes the ended job only.
    assert_eq!(
        store
            .prune_events(Utc::now() - Duration::hours(1))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .prune_events(Utc::now() + Duration::seconds(1))
            .await
            .unwrap(),
        2
    );
    assert!(
        store
            .events_since(ended.id, 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.events_since(running.id, 0, 10).await.unwrap().len(),
        1
    );
    let kept = store.job(acme, ended.id).await.unwrap().unwrap();
    assert_eq!(kept.last_seq, 2, "the job's row stays");
    assert_eq!(
        store
            .items(acme, ended.id, None, None, 10)
            .await
            .unwrap()
            .unwrap()
            .len(),
        2,
        "and so do its items"
    );
}

macro_rules! accounts_conformance {
    ($name:ident, $backend:ident) => {
        mod $name {
            #[tokio::test]
            async fn tenants_and_tokens() {
                let b = super::super::$backend().await;
                super::tenants_and_tokens(b.store.as_ref()).await;
            }

            #[tokio::test]
            async fn users_and_sessions() {
                let b = super::super::$backend().await;
                super::users_and_sessions(b.store.as_ref()).await;
            }

            #[tokio::test]
            async fn relay_reads_and_pruning() {
                let b = super::super::$backend().await;
                super::relay_reads_and_pruning(b.store.as_ref()).await;
            }
        }
    };
}

accounts_conformance!(sqlite, sqlite);
accounts_conformance!(postgres, postgres);
