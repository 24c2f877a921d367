//! Senders, receipts, opt-outs and the inbox: the same answers from every backend.

use chrono::Utc;
use jobpulse::protocol::senders::{SenderHealth, SenderProvider};
use jobpulse::protocol::{Delivery, ItemStatus, JobId, ServerMsg};
use jobpulse::server::store::{
    Created, HealthSource, InboxWindow, IncomingMessage, IncomingReceipt, NewBulkJob, NewSender,
    SenderChange, Store, TenantId,
};
use std::sync::Arc;

use jobpulse::server::store::group_commit::ReceiptWriter;
use uuid::Uuid;

use super::{claim, outcome, tenant};

async fn sender(store: &dyn Store, tenant: TenantId, name: &str) -> Uuid {
    let id = Uuid::now_v7();
    let created = store
        .create_sender(NewSender {
            id,
            tenant_id: tenant,
            name: name.into(),
            provider: SenderProvider::WhatsappCloud,
            config: serde_json::Map::new(),
            sealed_secrets: Some("v1.sealed".into()),
            secret_names: vec!["access_token".into()],
            rate_per_minute: 600,
            active: true,
        })
        .await
        .unwrap();
    assert!(created);
    id
}

/// A send of `n` numbers through `sender`, every item sent with message id `<prefix>.<idx>`.
async fn sent_job(
    store: &dyn Store,
    tenant: TenantId,
    sender: Uuid,
    n: usize,
    prefix: &str,
) -> JobId {
    let Created::New { job, .. } = store
        .create_bulk_job(NewBulkJob {
            tenant_id: tenant,
            message: "Hola".into(),
            devices_limit: 1,
            recipients: super::numbers(n),
            skipped: 0,
            skipped_opted_out: 0,
            idempotency_key: None,
            senders: vec![sender],
            receipts_window_hours: 5,
            name: None,
            tags: Vec::new(),
        })
        .await
        .unwrap()
    else {
        panic!("a new job");
    };
    claim(store, "me").await;
    store.claim_items(job.id, "me", n as u32).await.unwrap();
    let outcomes: Vec<_> = (0..n as u64)
        .map(|idx| {
            let mut sent = outcome(idx, ItemStatus::Sent);
            sent.provider_message_id = Some(format!("{prefix}.{idx}"));
            sent.sender_id = Some(sender);
            sent
        })
        .collect();
    store
        .record_outcomes(job.id, "me", &outcomes)
        .await
        .unwrap();
    job.id
}

fn receipt(id: &str, status: Delivery) -> IncomingReceipt {
    IncomingReceipt {
        message_id: id.into(),
        status,
        error: (status == Delivery::Undelivered).then(|| "gone".to_owned()),
        at: Utc::now(),
    }
}

pub async fn senders_are_per_tenant_and_keep_their_health(store: &dyn Store) {
    let (a, b) = (tenant(store, "a").await, tenant(store, "b").await);
    let cloud = sender(store, a, "Cloud").await;
    // Names are unique per tenant only.
    sender(store, b, "Cloud").await;
    let again = store
        .create_sender(NewSender {
            id: Uuid::now_v7(),
            tenant_id: a,
            name: "Cloud".into(),
            provider: SenderProvider::Sandbox,
            config: serde_json::Map::new(),
            sealed_secrets: None,
            secret_names: vec![],
            rate_per_minute: 60,
            active: true,
        })
        .await
        .unwrap();
    assert!(!again);
    assert!(store.sender(b, cloud).await.unwrap().is_none());
    let renamed = store
        .update_sender(
            a,
            cloud,
            SenderChange {
                name: Some("Ventas".into()),
                rate_per_minute: Some(120),
                active: Some(false),
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            renamed.name.as_str(),
            renamed.rate_per_minute,
            renamed.active
        ),
        ("Ventas", 120, false)
    );
    assert!(
        store
            .set_sender_health(cloud, SenderHealth::Down, None, HealthSource::Sends)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .set_sender_health(cloud, SenderHealth::Down, None, HealthSource::Sends)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.sender(a, cloud).await.unwrap().unwrap().health,
        SenderHealth::Down
    );
    assert!(store.delete_sender(a, cloud).await.unwrap());
    assert!(store.senders(a).await.unwrap().is_empty());
    // A job that used it still reads it, its secrets gone.
    let gone = store.senders_by_id(&[cloud]).await.unwrap();
    assert_eq!(gone.len(), 1);
    assert!(gone[0].sealed_secrets.is_none());
}

pub async fn receipts_move_items_forward_and_wait_for_their_message(store: &dyn Store) {
    let t = tenant(store, "acme").await;
    let s = sender(store, t, "Cloud").await;
    // Before the send is recorded: kept, applied later.
    store
        .record_receipts(s, &[receipt("wamid.0", Delivery::Read)])
        .await
        .unwrap();
    assert!(store.apply_receipts(100).await.unwrap().events.is_empty());
    let job = sent_job(store, t, s, 3, "wamid").await;
    let other = sent_job(store, t, s, 2, "other").await;
    store
        .record_receipts(
            s,
            &[
                receipt("wamid.0", Delivery::Delivered),
                receipt("wamid.1", Delivery::Delivered),
                receipt("wamid.1", Delivery::Delivered),
                receipt("wamid.2", Delivery::Undelivered),
                receipt("other.0", Delivery::Delivered),
                receipt("wamid.2", Delivery::Read),
                receipt("other.1", Delivery::Read),
            ],
        )
        .await
        .unwrap();
    let applied = store.apply_receipts(100).await.unwrap();
    assert_eq!(
        applied.receipts, 8,
        "the early receipt and the seven later ones"
    );
    let applied = applied.events;
    // wamid.0 read (its late delivered changes nothing), wamid.1 delivered once, wamid.2 undelivered.
    let moves: Vec<(String, Delivery)> = applied
        .iter()
        .map(|(tenant, event)| {
            assert_eq!(*tenant, t);
            let ServerMsg::Receipt(r) = event.msg().unwrap() else {
                panic!("a receipt event");
            };
            (r.phone, r.status)
        })
        .collect();
    // Two jobs in one batch: each job's events are its own, gap-free.
    assert_eq!(moves.len(), 5, "{moves:?}");
    for id in [job, other] {
        let seqs: Vec<u64> = applied
            .iter()
            .filter(|(_, e)| e.job_id == id)
            .map(|(_, e)| e.seq)
            .collect();
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
        let logged = store.events_since(id, 0, 100).await.unwrap();
        assert!(logged.iter().all(|e| e.job_id == id));
        let kept: Vec<u64> = logged
            .iter()
            .filter(|e| e.kind == "receipt")
            .map(|e| e.seq)
            .collect();
        assert_eq!(kept, seqs, "each receipt event is filed under its own job");
    }
    // Each event carries its job's counters as of its own move, not the batch's end.
    let counters: Vec<(u64, u64, u64)> = applied
        .iter()
        .filter(|(_, e)| e.job_id == job)
        .map(|(_, e)| {
            let ServerMsg::Receipt(r) = e.msg().unwrap() else {
                panic!("a receipt event");
            };
            (
                r.receipts.delivered,
                r.receipts.read,
                r.receipts.undelivered,
            )
        })
        .collect();
    assert_eq!(counters, [(1, 1, 0), (2, 1, 0), (2, 1, 1)]);
    let other_view = store.job(t, other).await.unwrap().unwrap();
    assert_eq!(other_view.receipts.unwrap().delivered, 2);
    let again = store.apply_receipts(100).await.unwrap();
    assert!(again.events.is_empty() && again.receipts == 0, "{again:?}");
    let view = store.job(t, job).await.unwrap().unwrap();
    let funnel = view.receipts.unwrap();
    assert_eq!(
        (
            funnel.delivered,
            funnel.read,
            funnel.undelivered,
            funnel.awaiting
        ),
        (2, 1, 1, 0)
    );
    assert_eq!(view.receipts_window_hours, Some(5));
}

/// Concurrent webhook calls through the group-commit writer: fewer transactions than calls,
/// every call's receipts stored under its own sender, kept until their message is recorded, and
/// a batch limit that takes no more than it is given.
pub async fn concurrent_receipts_commit_together_and_wait_for_their_item(store: Arc<dyn Store>) {
    let t = tenant(store.as_ref(), "acme").await;
    let (a, b) = (
        sender(store.as_ref(), t, "A").await,
        sender(store.as_ref(), t, "B").await,
    );
    let writer = ReceiptWriter::start(store.clone(), Arc::new(tokio::sync::Notify::new()), 1);
    // 40 calls, alternating senders, before any message is recorded: they wait.
    let calls = (0..40).map(|i| {
        let writer = writer.clone();
        let (sender, prefix) = if i % 2 == 0 { (a, "a") } else { (b, "b") };
        async move {
            writer
                .record(
                    sender,
                    vec![receipt(&format!("{prefix}.{}", i / 2), Delivery::Delivered)],
                )
                .await
        }
    });
    for stored in futures::future::join_all(calls).await {
        stored.unwrap();
    }
    assert!(
        writer.groups() < 40,
        "{} transactions for 40 concurrent calls",
        writer.groups()
    );
    let early = store.apply_receipts(1_000).await.unwrap();
    assert!(early.events.is_empty() && early.receipts == 0, "{early:?}");
    // Sender A's messages are recorded; B's receipts name B, so they still wait.
    let job = sent_job(store.as_ref(), t, a, 20, "a").await;
    let first = store.apply_receipts(15).await.unwrap();
    assert_eq!((first.receipts, first.events.len()), (15, 15));
    let rest = store.apply_receipts(1_000).await.unwrap();
    assert_eq!((rest.receipts, rest.events.len()), (5, 5));
    let seqs: Vec<u64> = first
        .events
        .iter()
        .chain(&rest.events)
        .map(|(_, e)| e.seq)
        .collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    let view = store.job(t, job).await.unwrap().unwrap();
    assert_eq!(view.receipts.unwrap().delivered, 20);
    let b_job = sent_job(store.as_ref(), t, b, 20, "b").await;
    let late = store.apply_receipts(1_000).await.unwrap();
    assert_eq!(late.events.len(), 20);
    assert!(late.events.iter().all(|(_, e)| e.job_id == b_job));
}

pub async fn opt_outs_are_per_tenant(store: &dyn Store) {
    let (a, b) = (tenant(store, "a").await, tenant(store, "b").await);
    assert!(store.add_opt_out(a, "+34600000001", "reply").await.unwrap());
    assert!(
        !store
            .add_opt_out(a, "+34600000001", "manual")
            .await
            .unwrap()
    );
    let listed = store
        .opted_out(a, &["+34600000001".into(), "+34600000002".into()])
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert!(
        store
            .opted_out(b, &["+34600000001".into()])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.opt_outs(a).await.unwrap()[0].source, "reply");
    assert!(store.remove_opt_out(a, "+34600000001").await.unwrap());
    assert!(!store.remove_opt_out(a, "+34600000001").await.unwrap());
}

pub async fn inbound_messages_link_to_the_newest_send_once(store: &dyn Store) {
    let (t, other) = (tenant(store, "acme").await, tenant(store, "other").await);
    let s = sender(store, t, "Cloud").await;
    let older = sent_job(store, t, s, 2, "wamid").await;
    let message = |id: &str, from: &str, text: &str| IncomingMessage {
        message_id: Some(id.into()),
        from: from.into(),
        text: text.into(),
        at: Utc::now(),
    };
    let first = super::numbers(1)[0].clone();
    let stored = store
        .record_inbound(
            t,
            s,
            &[
                message("in.1", &first, "Hola"),
                message("in.2", "+34699999999", "¿Quién es?"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].0.job_id, Some(older));
    let reply = stored[0].1.as_ref().expect("a reply event");
    let ServerMsg::Reply(event) = reply.msg().unwrap() else {
        panic!("a reply event");
    };
    assert_eq!((event.replies, event.phone.as_str()), (1, first.as_str()));
    assert!(stored[1].0.job_id.is_none() && stored[1].1.is_none());
    // Delivered twice: kept once.
    let again = store
        .record_inbound(t, s, &[message("in.1", &first, "Hola")])
        .await
        .unwrap();
    assert!(again.is_empty());
    let all = store
        .inbox(
            t,
            InboxWindow {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    assert!(all[0].id < all[1].id);
    let after = store
        .inbox(
            t,
            InboxWindow {
                after: Some(all[0].id),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(after.len(), 1);
    let of_job = store
        .inbox(
            t,
            InboxWindow {
                job: Some(older),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(of_job.len(), 1);
    assert_eq!(store.job(t, older).await.unwrap().unwrap().replies, Some(1));
    assert!(
        store
            .inbound_message(other, all[0].id)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .inbound_message(t, all[0].id)
            .await
            .unwrap()
            .unwrap()
            .text,
        "Hola"
    );
}

/// What the gateway says and what sends find meet in one health: the gateway's "ok" never
/// clears what failed sends found, a send that goes through does, and each change comes back
/// (to be pushed live) while a repeat does not.
pub async fn a_gateways_word_and_the_sends_make_one_health(store: &dyn Store) {
    use jobpulse::protocol::fault::{Gateway, SendFault};
    let a = tenant(store, "a").await;
    let cloud = sender(store, a, "Cloud").await;
    let set = |health, source| async move {
        store
            .set_sender_health(cloud, health, None, source)
            .await
            .unwrap()
            .map(|s| (s.health, s.health_source))
    };
    assert_eq!(
        set(SenderHealth::Degraded, HealthSource::Sends).await,
        Some((SenderHealth::Degraded, Some(HealthSource::Sends)))
    );
    assert_eq!(set(SenderHealth::Ok, HealthSource::Provider).await, None);
    let restricted = SendFault::ProviderState {
        gateway: Gateway::WhatsappCloud,
        state: "RESTRICTED".into(),
        quality: Some("RED".into()),
    };
    let changed = store
        .set_sender_health(
            cloud,
            SenderHealth::Down,
            Some(&restricted),
            HealthSource::Provider,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.tenant_id, a);
    assert_eq!(changed.health_fault, Some(restricted.clone()));
    assert_eq!(changed.health_detail, Some(restricted.english()));
    // The gateway's own "ok" lifts the gateway's own "down".
    assert_eq!(
        set(SenderHealth::Ok, HealthSource::Provider).await,
        Some((SenderHealth::Ok, Some(HealthSource::Provider)))
    );
    assert_eq!(
        set(SenderHealth::Degraded, HealthSource::Sends)
            .await
            .map(|s| s.0),
        Some(SenderHealth::Degraded)
    );
    assert_eq!(
        set(SenderHealth::Ok, HealthSource::Sends).await,
        Some((SenderHealth::Ok, Some(HealthSource::Sends)))
    );
    let reread = store.sender(a, cloud).await.unwrap().unwrap();
    assert_eq!(reread.health, SenderHealth::Ok);
    assert_eq!(reread.health_detail, None);
}

/// Each active sender of a gateway that reports its state is claimed once per interval, by one
/// caller: sandbox, turned-off and deleted senders never.
pub async fn health_checks_are_claimed_once_per_interval(store: &dyn Store) {
    let a = tenant(store, "a").await;
    let cloud = sender(store, a, "Cloud").await;
    let off = sender(store, a, "Off").await;
    let gone = sender(store, a, "Gone").await;
    let sandbox = Uuid::now_v7();
    store
        .create_sender(NewSender {
            id: sandbox,
            tenant_id: a,
            name: "Demo".into(),
            provider: SenderProvider::Sandbox,
            config: serde_json::Map::new(),
            sealed_secrets: None,
            secret_names: vec![],
            rate_per_minute: 60,
            active: true,
        })
        .await
        .unwrap();
    let turn_off = SenderChange {
        active: Some(false),
        ..Default::default()
    };
    store.update_sender(a, off, turn_off).await.unwrap();
    store.delete_sender(a, gone).await.unwrap();

    let now = Utc::now();
    let minute = chrono::Duration::seconds(60);
    let (first, second) = tokio::join!(
        store.claim_health_checks(now, now - minute, 50),
        store.claim_health_checks(now, now - minute, 50)
    );
    let mut claimed: Vec<Uuid> = first
        .unwrap()
        .into_iter()
        .chain(second.unwrap())
        .map(|s| s.id)
        .collect();
    claimed.sort();
    assert_eq!(claimed, vec![cloud], "claimed once, by one of the two");
    // Not due again within the interval; due after it.
    let soon = now + chrono::Duration::seconds(10);
    assert!(
        store
            .claim_health_checks(soon, soon - minute, 50)
            .await
            .unwrap()
            .is_empty()
    );
    let later = now + chrono::Duration::seconds(61);
    let again = store
        .claim_health_checks(later, later - minute, 50)
        .await
        .unwrap();
    assert_eq!(again.iter().map(|s| s.id).collect::<Vec<_>>(), vec![cloud]);
}

/// Two instances on one PostgreSQL apply the same backlog at once: every receipt is applied
/// once, no item's move is counted twice, and each job's log stays gap-free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_apply_one_backlog_once() {
    let db = super::postgres_db::TestDatabase::create().await;
    let one = jobpulse::server::store::connect(&db.url).await.unwrap();
    one.migrate().await.unwrap();
    let two = jobpulse::server::store::connect(&db.url).await.unwrap();
    let t = tenant(one.as_ref(), "acme").await;
    let s = sender(one.as_ref(), t, "Cloud").await;
    const N: usize = 300;
    let job = sent_job(one.as_ref(), t, s, N, "wamid").await;
    // Each message's delivered and read in separate calls, interleaved, so both instances keep
    // meeting the same items.
    for i in (0..N).step_by(10) {
        let delivered: Vec<_> = (i..i + 10)
            .map(|i| receipt(&format!("wamid.{i}"), Delivery::Delivered))
            .collect();
        let read: Vec<_> = (i..i + 10)
            .map(|i| receipt(&format!("wamid.{i}"), Delivery::Read))
            .collect();
        one.record_receipts(s, &delivered).await.unwrap();
        one.record_receipts(s, &read).await.unwrap();
    }
    let drain = |store: Arc<dyn Store>| async move {
        let mut events = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let applied = store.apply_receipts(7).await.unwrap();
            events.extend(applied.events.into_iter().map(|(_, e)| e));
            if applied.receipts == 0 {
                // Nothing this instance could take: done once every message reads `read`
                // (the other instance may still hold some).
                let view = store.job(t, job).await.unwrap().unwrap();
                if view.receipts.unwrap().read == N as u64 {
                    return events;
                }
                assert!(
                    std::time::Instant::now() < deadline,
                    "the backlog never drained"
                );
                tokio::task::yield_now().await;
            }
        }
    };
    let (a, b) = tokio::join!(
        tokio::spawn(drain(one.clone())),
        tokio::spawn(drain(two.clone()))
    );
    let mut events: Vec<_> = a.unwrap().into_iter().chain(b.unwrap()).collect();
    let view = one.job(t, job).await.unwrap().unwrap();
    let funnel = view.receipts.unwrap();
    assert_eq!((funnel.delivered, funnel.read), (N as u64, N as u64));
    events.sort_by_key(|e| e.seq);
    let logged: Vec<u64> = one
        .events_since(job, 0, 10_000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.kind == "receipt")
        .map(|e| e.seq)
        .collect();
    let published: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(
        published, logged,
        "every move published once, in the log once"
    );
    assert!(
        logged.len() >= N && logged.len() <= 2 * N,
        "{}",
        logged.len()
    );
    assert!(logged.windows(2).all(|w| w[1] == w[0] + 1));
}

/// A due delivery is taken by one caller at a time; once its hold runs out (the caller died),
/// another takes it; a recorded call is never taken again.
async fn a_delivery_is_held_by_one_caller_at_a_time(store: Arc<dyn Store>) {
    use jobpulse::protocol::hooks::{DeliveryStatus, HookEvent};
    use jobpulse::server::store::{DeliveryAttempt, NewHook};
    let t = tenant(store.as_ref(), "acme").await;
    let hook = Uuid::now_v7();
    store
        .create_hook(NewHook {
            id: hook,
            tenant_id: t,
            url: "https://hooks.example.com/x".into(),
            events: vec![HookEvent::JobCompleted],
            sealed_secret: "v1.sealed".into(),
        })
        .await
        .unwrap();
    let queued = store.queue_ping(t, hook).await.unwrap().unwrap();
    let now = Utc::now();
    let hold = now + chrono::Duration::seconds(30);
    // Two instances at once: one gets it.
    let (a, b) = tokio::join!(
        store.claim_deliveries(now, hold, 10),
        store.claim_deliveries(now, hold, 10)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.len() + b.len(), 1, "{a:?} {b:?}");
    let taken = a.into_iter().chain(b).next().unwrap();
    assert_eq!(
        (taken.id, taken.event, taken.attempts),
        (queued.id, HookEvent::Ping, 0)
    );
    assert_eq!(taken.url, "https://hooks.example.com/x");
    // Held: nobody else takes it until the hold ends.
    assert!(
        store
            .claim_deliveries(now, hold, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let later = hold + chrono::Duration::seconds(1);
    let again = store
        .claim_deliveries(later, later + chrono::Duration::seconds(30), 10)
        .await
        .unwrap();
    assert_eq!(again.len(), 1, "a dead caller's delivery is taken again");
    store
        .record_attempt(
            queued.id,
            DeliveryAttempt {
                at: later,
                response_status: Some(204),
                error: None,
                delivered: true,
                retry_at: None,
            },
        )
        .await
        .unwrap();
    let far = later + chrono::Duration::days(1);
    assert!(
        store
            .claim_deliveries(far, far, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let listed = store.hook_deliveries(t, hook, None, 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (
            listed[0].status,
            listed[0].attempts,
            listed[0].response_status
        ),
        (DeliveryStatus::Delivered, 1, Some(204))
    );
    // Another tenant sees none of it.
    let other = tenant(store.as_ref(), "globex").await;
    assert!(
        store
            .hook_deliveries(other, hook, None, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.queue_ping(other, hook).await.unwrap().is_none());
    assert!(!store.delete_hook(other, hook).await.unwrap());
    assert!(store.delete_hook(t, hook).await.unwrap());
    assert!(store.hooks(t).await.unwrap().is_empty());
}

macro_rules! messaging_conformance {
    ($name:ident, $backend:ident) => {
        mod $name {
            #[tokio::test]
            async fn senders_are_per_tenant_and_keep_their_health() {
                let b = super::super::$backend().await;
                super::senders_are_per_tenant_and_keep_their_health(b.store.as_ref()).await;
            }

            #[tokio::test]
            async fn receipts_move_items_forward_and_wait_for_their_message() {
                let b = super::super::$backend().await;
                super::receipts_move_items_forward_and_wait_for_their_message(b.store.as_ref())
                    .await;
            }

            #[tokio::test]
            async fn a_gateways_word_and_the_sends_make_one_health() {
                let b = super::super::$backend().await;
                super::a_gateways_word_and_the_sends_make_one_health(b.store.as_ref()).await;
            }

            #[tokio::test]
            async fn health_checks_are_claimed_once_per_interval() {
                let b = super::super::$backend().await;
                super::health_checks_are_claimed_once_per_interval(b.store.as_ref()).await;
            }

            #[tokio::test]
            async fn concurrent_receipts_commit_together_and_wait_for_their_item() {
                let b = super::super::$backend().await;
                super::concurrent_receipts_commit_together_and_wait_for_their_item(b.store.clone())
                    .await;
            }

            #[tokio::test]
            async fn a_delivery_is_held_by_one_caller_at_a_time() {
                let b = super::super::$backend().await;
                super::a_delivery_is_held_by_one_caller_at_a_time(b.store.clone()).await;
            }

            #[tokio::test]
            async fn opt_outs_are_per_tenant() {
                let b = super::super::$backend().await;
                super::opt_outs_are_per_tenant(b.store.as_ref()).await;
            }

            #[tokio::test]
            async fn inbound_messages_link_to_the_newest_send_once() {
                let b = super::super::$backend().await;
                super::inbound_messages_link_to_the_newest_send_once(b.store.as_ref()).await;
            }
        }
    };
}

messaging_conformance!(sqlite, sqlite);
messaging_conformance!(postgres, postgres);
