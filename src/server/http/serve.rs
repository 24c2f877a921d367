//! Takes connections and hands them to the router, within limits that keep the server answering
//! while someone abuses it: a client must send a request's header within
//! `http.header_read_timeout_ms`; at most `http.max_connections` connections are open (kept below
//! the process's file limit, so `accept` never fails for lack of descriptors), and at most
//! `http.max_connections_per_address` from one address (a trusted proxy is exempt: it speaks for
//! many). A connection over the per-address limit is closed at once, so one address holding
//! thousands of half-sent requests cannot crowd out everyone else.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::server::settings::{HttpSettings, TrustedProxy};

/// File descriptors kept free for the database, logs and outgoing requests.
const RESERVED_DESCRIPTORS: u64 = 256;
/// How long a shutdown waits for requests in progress.
const DRAIN: Duration = Duration::from_secs(10);

/// Raises the open-file limit as far as the system allows and returns how many connections fit
/// under it beside everything else the process opens.
pub fn connection_capacity(wanted: usize) -> usize {
    let descriptors = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    let room = descriptors.saturating_sub(RESERVED_DESCRIPTORS).max(16);
    wanted.min(usize::try_from(room).unwrap_or(usize::MAX))
}

/// Open connections per client address.
struct PerAddress {
    counts: Mutex<HashMap<IpAddr, usize>>,
    most: usize,
}

/// One connection counted against its address until dropped.
struct AddressSlot {
    limits: Arc<PerAddress>,
    address: Option<IpAddr>,
}

impl PerAddress {
    fn take(self: &Arc<Self>, address: IpAddr, exempt: bool) -> Option<AddressSlot> {
        if exempt {
            return Some(AddressSlot {
                limits: self.clone(),
                address: None,
            });
        }
        let mut counts = self.counts.lock().expect("connection counts");
        let count = counts.entry(address).or_insert(0);
        if *count >= self.most {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            limits: self.clone(),
            address: Some(address),
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let Some(address) = self.address else { return };
        let mut counts = self.limits.counts.lock().expect("connection counts");
        if let Some(count) = counts.get_mut(&address) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&address);
            }
        }
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then drains requests in progress.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    http: &HttpSettings,
    trusted: Vec<TrustedProxy>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let capacity = connection_capacity(http.max_connections);
    let open = Arc::new(Semaphore::new(capacity));
    let per_address = Arc::new(PerAddress {
        counts: Mutex::new(HashMap::new()),
        most: http.max_connections_per_address.max(1),
    });
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(http.header_read_timeout_ms.max(1)));
    builder
        .http2()
        .timer(TokioTimer::new())
        // WebSockets over HTTP/2 (RFC 8441), as axum's own server allows.
        .enable_connect_protocol();
    let builder = Arc::new(builder);
    let graceful = GracefulShutdown::new();
    tracing::debug!(capacity, "taking connections");
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = open.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors or memory for a moment: back off instead of spinning.
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let exempt = trusted.iter().any(|proxy| proxy.contains(peer.ip()));
        let Some(slot) = per_address.take(peer.ip(), exempt) else {
            tracing::debug!(%peer, "too many connections from this address; closed");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = router
            .clone()
            .map_request(move |mut request: http::Request<Incoming>| {
                request
                    .extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(peer));
                request.map(Body::new)
            });
        let builder = builder.clone();
        let connection = graceful.watch(
            builder
                .serve_connection_with_upgrades(
                    TokioIo::new(stream),
                    TowerToHyperService::new(service),
                )
                .into_owned(),
        );
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::trace!(%error, "connection ended with an error");
            }
            drop((permit, slot));
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some requests were still running after {DRAIN:?}; stopping anyway");
    }
    Ok(())
}
