//! Builds the whole application from settings: store, engine, hub, routes, listener.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use leptos::config::LeptosOptions;
use leptos_axum::{LeptosRoutes, generate_route_list};
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::app::{App, shell};
use crate::server::AppState;
use crate::server::adapters::providers;
use crate::server::adapters::sources::SourceContext;
use crate::server::engine::Engine;
use crate::server::http::auth::{self, DemoLogin};
use crate::server::http::error::AppError;
use crate::server::http::{guard, rest, ws};
use crate::server::live::hub::Hub;
use crate::server::settings::Settings;
use crate::server::store::{self, IncomingReceipt, StoreError};

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    #[error("cannot use the secret key: {0}")]
    Vault(#[from] crate::server::vault::VaultError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

/// Makes the allocator give large blocks back to the system when they are freed. glibc raises its
/// mmap threshold after the first large free, and from then on served every password check's
/// 19 MiB (argon2) from the heap and kept it: the process grew by 19 MiB per login and never came
/// back down. A fixed threshold (128 KiB, glibc's own default) turns that adjustment off.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes an allocator setting (taking the allocator's own locks); it
    // has no memory-safety preconditions.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

/// A built application, listening but not yet serving.
pub struct Application {
    listener: TcpListener,
    local_addr: SocketAddr,
    router: Router,
    state: AppState,
    demo: Option<DemoLogin>,
    /// What sandbox senders make up, recorded once the server runs.
    made_up: tokio::sync::mpsc::UnboundedReceiver<
        crate::server::adapters::providers::sandbox::SimulatedReceipt,
    >,
}

impl Application {
    /// Opens the store (migrating it), creates the demo tenant if asked, and binds the listener.
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        let vault = Arc::new(crate::server::vault::Vault::load_or_create(
            &settings.secret_key,
            &settings.data_dir(),
        )?);
        let store = store::connect_with(&settings.database_url, &settings.postgres).await?;
        store.migrate().await?;
        let demo = auth::ensure_demo(store.as_ref(), &settings).await?;
        let hub = Arc::new(Hub::new(settings.live.channel_capacity));
        let provider = providers::from_settings(&settings);
        let instance_id = crate::server::engine::new_instance_id();
        let bind_error = |source| StartupError::Bind {
            addr: settings.addr.clone(),
            source,
        };
        let listener = TcpListener::bind(&settings.addr)
            .await
            .map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        let sources = SourceContext::new(&settings.scrape, self_url(local_addr));
        let (sandbox_receipts, made_up) =
            crate::server::adapters::providers::sandbox::ReceiptSink::channel();
        let engine = settings.engine.enabled.then(|| {
            Engine::new(
                store.clone(),
                hub.clone(),
                provider.clone(),
                sources,
                settings.engine.clone(),
                crate::server::engine::SenderKit {
                    vault: vault.clone(),
                    settings: Arc::new(settings.clone()),
                    public_url: crate::server::public_url(&settings, local_addr),
                    sandbox_receipts,
                },
                instance_id.clone(),
            )
        });
        let leptos_options = LeptosOptions::builder()
            .output_name("jobpulse")
            .site_root(settings.site_root.as_str())
            .site_pkg_dir("pkg")
            .site_addr(local_addr)
            .hash_files(built_with_hashes())
            .build();
        let limits = Arc::new(crate::server::http::limits::Limits::new(&settings.limits));
        let receipts = Arc::new(tokio::sync::Notify::new());
        // PostgreSQL commits several groups at once; SQLite writes one at a time regardless.
        let writers = if store::is_postgres(&settings.database_url) {
            4
        } else {
            1
        };
        let receipt_writer = crate::server::store::group_commit::ReceiptWriter::start(
            store.clone(),
            receipts.clone(),
            writers,
        );
        crate::server::metrics::install();
        let state = AppState {
            leptos_options,
            store,
            hub,
            engine,
            settings: Arc::new(settings),
            provider_name: provider.name(),
            provider_is_sandbox: provider.is_sandbox(),
            limits,
            instance_id,
            vault,
            receipts,
            receipt_writer,
            hook_calls: Arc::new(tokio::sync::Notify::new()),
        };
        let router = router(state.clone());
        Ok(Application {
            listener,
            local_addr,
            router,
            state,
            demo,
            made_up,
        })
    }

    /// The port actually bound (useful with port 0).
    pub fn port(&self) -> u16 {
        self.local_addr.port()
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Shared state, for tests and the CLI.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// How to log in to the demo tenant, when it is enabled.
    pub fn demo_login(&self) -> Option<&DemoLogin> {
        self.demo.as_ref()
    }

    /// Serves until Ctrl-C / SIGTERM.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.run_until(shutdown_signal()).await
    }

    /// Serves until `shutdown` completes, then stops taking new jobs and drains requests.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let engine = self.state.engine.clone();
        if let Some(engine) = &engine {
            engine.spawn();
        }
        let (hub, limits) = (self.state.hub.clone(), self.state.limits.clone());
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(60));
            loop {
                every.tick().await;
                hub.sweep();
                limits.sweep();
            }
        });
        tokio::spawn(prune_events(self.state.clone()));
        tokio::spawn(apply_receipts(self.state.clone()));
        tokio::spawn(record_sandbox_receipts(self.state.clone(), self.made_up));
        tokio::spawn(heartbeat(self.state.clone()));
        tokio::spawn(fail_silent_workers(self.state.clone()));
        let (stop_hooks, hooks_stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(crate::server::services::hooks::deliver_forever(
            self.state.clone(),
            hooks_stopped,
        ));
        if store::is_postgres(&self.state.settings.database_url) {
            crate::server::live::bridge::spawn(
                self.state.settings.database_url.clone(),
                self.state.store.clone(),
                self.state.hub.clone(),
            );
        }
        let settings = self.state.settings.clone();
        crate::server::http::serve::serve(
            self.listener,
            self.router,
            &settings.http,
            settings.trusted_proxies.clone(),
            async move {
                shutdown.await;
                let _ = stop_hooks.send(true);
                if let Some(engine) = engine {
                    engine.stop();
                }
            },
        )
        .await
    }
}

/// True when cargo-leptos built the site with hashed file names: it leaves `hash.txt` beside the
/// server binary (`target/release/hash.txt`), where Leptos reads the names from.
fn built_with_hashes() -> bool {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join("hash.txt")))
        .is_some_and(|hash_file| hash_file.exists())
}

/// Long-lived caching for assets whose name carries their content's hash (`jobpulse.<hash>.wasm`);
/// the others must be checked again.
async fn cache_assets(request: Request, next: Next) -> Response {
    let name = request.uri().path().rsplit('/').next().unwrap_or("");
    let hashed = name.split('.').nth(1).is_some_and(|hash| {
        hash.len() == 22
            && hash
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }) && name.split('.').count() == 3;
    let mut response = next.run(request).await;
    let policy = if hashed {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static(policy),
    );
    response
}

/// Where this process can reach itself (the demo site): a wildcard address means loopback.
fn self_url(addr: SocketAddr) -> String {
    let host = match addr.ip() {
        ip if ip.is_unspecified() && ip.is_ipv6() => "[::1]".to_owned(),
        ip if ip.is_unspecified() => "127.0.0.1".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        std::net::IpAddr::V4(ip) => ip.to_string(),
    };
    format!("http://{host}:{}", addr.port())
}

/// Fails outside workers' jobs whose worker stopped reporting, now and then.
async fn fail_silent_workers(state: AppState) {
    let timeout = Duration::from_millis(state.settings.scrape.worker_timeout_ms.max(1_000));
    let mut every = tokio::time::interval(
        (timeout / 10).clamp(Duration::from_millis(200), Duration::from_secs(60)),
    );
    loop {
        every.tick().await;
        match state.store.fail_silent_workers(timeout).await {
            Ok(ended) => {
                for (tenant_id, event) in ended {
                    tracing::info!(job_id = %event.job_id, "an outside worker went silent; job failed");
                    state.hub.publish(crate::server::live::hub::EventBatch {
                        job_id: event.job_id,
                        tenant_id,
                        events: vec![event],
                    });
                }
            }
            Err(error) => tracing::warn!(%error, "could not look for silent workers"),
        }
    }
}

/// Tells the other instances (and the admins' dashboard) that this one is alive.
async fn heartbeat(state: AppState) {
    let started_at = chrono::Utc::now();
    let hostname = crate::server::engine::hostname();
    let mut every = tokio::time::interval(Duration::from_secs(5));
    loop {
        every.tick().await;
        let id = state.instance_id.as_str();
        if let Err(error) = state
            .store
            .heartbeat_instance(id, &hostname, started_at)
            .await
        {
            tracing::warn!(%error, "could not record this instance's heartbeat");
        }
    }
}

/// Records the receipts sandbox senders make up when each is due, in batches, as a webhook
/// would: the demo's funnel fills like a real provider's. Held in memory until due, so a
/// restart forgets the ones not yet recorded (the sandbox delivers nothing anyway).
async fn record_sandbox_receipts(
    state: AppState,
    mut made_up: tokio::sync::mpsc::UnboundedReceiver<
        crate::server::adapters::providers::sandbox::SimulatedReceipt,
    >,
) {
    use std::cmp::Reverse;
    use std::collections::{BinaryHeap, HashMap};
    // Due time, then arrival order; the receipts by that order.
    let mut waiting: BinaryHeap<Reverse<(tokio::time::Instant, u64)>> = BinaryHeap::new();
    let mut receipts = HashMap::new();
    let mut arrived = 0_u64;
    loop {
        let next_due = waiting.peek().map(|Reverse((due, _))| *due);
        tokio::select! {
            received = made_up.recv() => {
                let Some(receipt) = received else { return };
                arrived += 1;
                waiting.push(Reverse((receipt.due, arrived)));
                receipts.insert(arrived, receipt);
                continue;
            }
            _ = tokio::time::sleep_until(next_due.unwrap_or_else(|| {
                tokio::time::Instant::now() + Duration::from_secs(3600)
            })), if next_due.is_some() => {}
        }
        let now = tokio::time::Instant::now();
        let mut due: HashMap<uuid::Uuid, Vec<IncomingReceipt>> = HashMap::new();
        while let Some(Reverse((at, n))) = waiting.peek().copied()
            && at <= now
        {
            waiting.pop();
            if let Some(receipt) = receipts.remove(&n) {
                due.entry(receipt.sender)
                    .or_default()
                    .push(IncomingReceipt {
                        message_id: receipt.message_id,
                        status: receipt.status,
                        error: receipt.error,
                        at: chrono::Utc::now(),
                    });
            }
        }
        for (sender, batch) in due {
            if let Err(error) = state.store.record_receipts(sender, &batch).await {
                tracing::warn!(%error, "could not record the sandbox's receipts");
            }
        }
        state.receipts.notify_one();
    }
}

/// Applies stored delivery receipts to their items: when a webhook stores some, and every
/// second for receipts that came before their message's send was recorded.
async fn apply_receipts(state: AppState) {
    // A quiet batch stays small (its transaction holds SQLite's write turn); a backlog is taken
    // in bigger ones, since a batch costs a handful of statements whatever its size.
    const SMALLEST: u32 = 500;
    const LARGEST: u32 = 4_000;
    let mut errors = 0_u32;
    loop {
        tokio::select! {
            _ = state.receipts.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
        let mut batch = SMALLEST;
        loop {
            match state.store.apply_receipts(batch).await {
                Ok(applied) => {
                    errors = 0;
                    // Events come job by job: one publish per job, not per event.
                    for run in applied.events.chunk_by(|a, b| a.1.job_id == b.1.job_id) {
                        let (tenant_id, first) = &run[0];
                        state.hub.publish(crate::server::live::hub::EventBatch {
                            job_id: first.job_id,
                            tenant_id: *tenant_id,
                            events: run.iter().map(|(_, event)| event.clone()).collect(),
                        });
                    }
                    // A batch that came back short took every receipt that was ready.
                    if applied.receipts < batch as usize {
                        break;
                    }
                    batch = (batch * 2).min(LARGEST);
                }
                Err(error) => {
                    errors += 1;
                    if errors == 1 || errors.is_power_of_two() {
                        tracing::warn!(%error, "could not apply delivery receipts");
                    }
                    break;
                }
            }
        }
    }
}

/// Deletes events older than the retention window, now and then.
async fn prune_events(state: AppState) {
    let live = &state.settings.live;
    let retention = chrono::Duration::days(live.event_retention_days.into());
    let mut every =
        tokio::time::interval(Duration::from_secs(live.prune_every_minutes.max(1) * 60));
    loop {
        every.tick().await;
        match state
            .store
            .prune_events(chrono::Utc::now() - retention)
            .await
        {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "pruned events past their retention"),
            Err(error) => tracing::warn!(%error, "could not prune old events"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}

/// The page routes, found by walking the app once per process. Walking it sets a process-wide
/// flag that parks every resource first polled meanwhile forever (leptos#4773), so a second
/// walk while another server in the process renders (tests run many) would hang that page.
static ROUTES: std::sync::LazyLock<Vec<leptos_axum::AxumRouteListing>> =
    std::sync::LazyLock::new(|| generate_route_list(App));

fn router(state: AppState) -> Router {
    let routes = ROUTES.clone();
    let api = Router::new()
        .merge(rest::routes())
        .merge(ws::routes())
        .fallback(api_not_found);
    let options = state.leptos_options.clone();
    // The browser bundle and stylesheet: precompressed by `cargo leptos build --release
    // --precompress` (brotli, gzip), served as such to clients that accept them.
    let pkg = std::path::Path::new(&state.settings.site_root).join("pkg");
    let assets = Router::new()
        .nest_service(
            "/pkg",
            ServeDir::new(pkg).precompressed_br().precompressed_gzip(),
        )
        .layer(middleware::from_fn(cache_assets));
    let router = Router::<AppState>::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(crate::server::metrics::scrape))
        .merge(assets)
        .merge(crate::server::demo_site::routes())
        .nest("/api", api)
        .leptos_routes_with_context(&state, routes, || {}, move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn(crate::server::metrics::track_http))
        .layer(middleware::from_fn_with_state(state.clone(), require_login))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard::protect,
        ));
    let router = guard::default_headers()
        .into_iter()
        .fold(router, |router, (name, value)| {
            router.layer(SetResponseHeaderLayer::if_not_present(name, value))
        });
    router
        // A client that stops sending a body it started is cut off (the guard answers 408).
        .layer(RequestBodyTimeoutLayer::new(Duration::from_millis(
            state.settings.http.body_read_timeout_ms.max(1),
        )))
        // A bug in one handler answers 500 instead of taking the connection down.
        .layer(CatchPanicLayer::new())
        .layer(CompressionLayer::new())
        .layer(
            // Paths only: query strings may carry tokens (`?token=` on WebSockets).
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                tracing::info_span!("http", method = %request.method(), path = %request.uri().path())
            }),
        )
        .with_state(state)
}

async fn healthz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        // Which instance answered: useful behind a load balancer.
        Ok(()) => (
            StatusCode::OK,
            [("x-jobpulse-instance", state.instance_id.clone())],
            "ok",
        )
            .into_response(),
        Err(error) => {
            tracing::warn!(%error, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

async fn api_not_found() -> AppError {
    AppError::NotFound(crate::protocol::problem::Thing::Endpoint)
}

/// Pages need a logged-in user; everything else (API, assets, login) decides for itself.
fn is_public(path: &str) -> bool {
    path == "/login"
        || path == "/healthz"
        || path == "/metrics"
        || path == "/robots.txt"
        || path.starts_with("/demo/")
        || path.starts_with("/api/")
        || path.starts_with("/pkg/")
        || path
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains('.'))
}

async fn require_login(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if is_public(path) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let session = match auth::session_cookie_value(&parts) {
        Some(value) => state.store.session(&auth::hash_secret(&value)).await,
        None => Ok(None),
    };
    match session {
        Ok(Some(_)) => next.run(Request::from_parts(parts, body)).await,
        Ok(None) => {
            let target = parts
                .uri
                .path_and_query()
                .map(|pq| pq.as_str())
                .unwrap_or("/");
            let next_param: String = form_urlencoded::byte_serialize(target.as_bytes()).collect();
            let mut response = Redirect::to(&format!("/login?next={next_param}")).into_response();
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                header::HeaderValue::from_static("no-store"),
            );
            response
        }
        Err(error) => AppError::from(error).into_response(),
    }
}
