//! The central case ledger: axum over the sync-core store. Authentication, the sync endpoint,
//! online actions, queries and the central office's views.

pub mod addresses;
pub mod auth;
pub mod blob_store;
pub mod callers;
pub mod case_number;
pub mod cases;
pub mod config;
pub mod connections;
pub mod console;
pub mod demo;
pub mod directory;
pub mod district_time;
pub mod error;
pub mod indicators;
pub mod ledger;
pub mod metrics;
pub mod postgres_store;
pub mod query_index;
pub mod routes;
pub mod search_text;
pub mod summary;
pub mod sync_door;
pub mod throttle;
pub mod workers;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
pub use config::Config;
pub use error::Error;
use gridcase_sync_core::store::SledStore;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Shared state of the running server.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub ledger: Arc<ledger::Ledger>,
    pub directory: directory::Directory,
    pub keys: Arc<auth::Keys>,
    pub metrics: Arc<metrics::Metrics>,
    /// Turns for processing sync requests, and the refusal of those that would wait too long.
    pub sync_door: Arc<sync_door::Door>,
    /// Turns for argon2 (19 MiB and tens of ms a hash): a storm of logins queues here instead
    /// of holding that memory once per request.
    pub password_permits: Arc<tokio::sync::Semaphore>,
    /// Set when the server shuts down, so that open event streams end and let it.
    pub closing: Arc<tokio::sync::watch::Sender<bool>>,
    /// Failed sign-ins per account and client address, Open311 filings per api_key.
    pub throttle: Arc<throttle::Throttle>,
    /// The district's address register (`--addresses`, or the demo's).
    pub addresses: Arc<addresses::Register>,
    /// Where photos' bytes are kept: files in the data directory, or the ledger's store when
    /// several servers share it.
    pub blobs: Arc<blob_store::BlobStore>,
}

impl AppState {
    /// Opens (or creates) the ledger in the configured data directory.
    pub fn open(config: Config) -> Result<AppState, Error> {
        std::fs::create_dir_all(&config.data_dir)?;
        let store: Arc<dyn gridcase_sync_core::store::Store> = match &config.database_url {
            Some(url) => Arc::new(postgres_store::PostgresStore::open(
                url,
                config.database_pool,
            )?),
            None => Arc::new(SledStore::open_with_reopen(
                config.data_dir.join("db"),
                config.store_cache_mb * 1024 * 1024,
                (config.store_reopen_mb > 0).then(|| config.store_reopen_mb * 1024 * 1024),
            )?),
        };
        let keys = auth::Keys::load(
            config.jwt_secret.as_deref(),
            &config.data_dir,
            config.access_ttl,
            config.refresh_ttl,
        )?;
        let metrics = Arc::new(metrics::Metrics::default());
        let ledger = ledger::Ledger::open(
            store.clone(),
            config.cache_cases,
            metrics.clone(),
            &config.case_number_prefix,
        )?;
        ledger.ensure_query_index()?;
        let ledger = Arc::new(ledger);
        ledger.resummarize_older()?;
        let addresses = match &config.addresses {
            Some(path) => addresses::Register::load_csv(path)?,
            None if config.demo => addresses::Register::demo(),
            None => addresses::Register::default(),
        };
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let workers = match config.sync_workers {
            0 => cores * 2,
            n => n,
        };
        let blobs = Arc::new(blob_store::BlobStore::open(&config.data_dir, store.clone()));
        let directory = directory::Directory::new(store);
        directory.ensure_org_tag()?;
        Ok(AppState {
            blobs,
            throttle: Arc::new(throttle::Throttle::new(throttle::Limits::from_config(
                &config,
            ))),
            password_permits: Arc::new(tokio::sync::Semaphore::new(cores)),
            closing: Arc::new(tokio::sync::watch::Sender::new(false)),
            // A third of the request timeout: a handheld told to come back then still has time
            // left, and one let in still finishes before its request times out.
            sync_door: sync_door::Door::new(
                workers,
                std::time::Duration::from_secs(config.request_timeout.max(3) / 3),
            ),
            config: Arc::new(config),
            ledger,
            directory,
            keys: Arc::new(keys),
            metrics,
            addresses: Arc::new(addresses),
        })
    }
}

/// Runs the short store work of an ordinary request on a blocking thread, so the async workers
/// keep serving, with one of the short turns ([`workers::short`]); a panic there is an internal
/// error, not a dropped connection. Work bounded by turns of its own (a sync, a password hash,
/// an export) uses [`workers::on_own_turn`] instead.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    workers::short(f).await
}

pub fn router(state: AppState) -> Router {
    use routes::*;
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/v1/openapi.json", get(ops::openapi))
        .route(
            "/v1/schema/case-document.json",
            get(ops::case_document_schema),
        )
        .route("/v1/auth/login", post(auth::login))
        .route("/v1/auth/refresh", post(auth::refresh))
        .route("/v1/auth/logout", post(auth::logout))
        .route("/v1/devices", post(auth::register_device))
        .route("/v1/me", get(auth::me))
        .route(
            "/v1/admin/users",
            get(admin::list_users).post(admin::put_user),
        )
        .route("/v1/admin/users/{id}/disable", post(admin::disable_user))
        .route("/v1/admin/devices", get(admin::list_devices))
        .route("/v1/admin/devices/{id}/revoke", post(admin::revoke_device))
        .route("/v1/admin/org/{id}", put(admin::put_org_node))
        .route("/v1/org", get(admin::org))
        .route("/v1/addresses", get(addresses::search))
        .route("/v1/addresses/unregistered", get(addresses::unregistered))
        .route("/v1/sync", post(sync::sync))
        .route("/v1/cases", get(cases::list_cases).post(cases::create_case))
        .route("/v1/cases/numbers", post(cases::case_numbers))
        .route("/v1/cases/export", get(export::export_cases))
        .route("/v1/cases/duplicates", get(cases::duplicates))
        .route("/v1/cases/{id}", get(cases::get_case))
        .route("/v1/cases/{id}/events", post(cases::post_event))
        .route("/v1/cases/{id}/callers/{caller}", put(callers::put_caller))
        .route("/v1/cases/{id}/callback", post(callers::record_callback))
        .route("/v1/callers/cases", get(callers::cases_of_phone))
        .route("/v1/callbacks", get(callers::callback_worklist))
        .route("/v1/review/conflicts", get(cases::review_queue))
        .route("/v1/queue", get(cases::work_queue))
        .route(
            "/v1/review/conflicts/{case}/{event}/resolve",
            post(cases::resolve_conflict),
        )
        .route("/v1/stats", get(stats::stats))
        .route("/v1/stats/export", get(export::export_stats))
        .route("/v1/changes", get(live::changes))
        .route(
            "/v1/blobs/{sha256}",
            get(blobs::get_blob).put(blobs::put_blob),
        )
        .route("/v1/blobs/{sha256}/upload", get(blobs::upload_status))
        .route(
            "/open311/v2/{file}",
            get(open311::get_root).post(open311::post_root),
        )
        .route("/open311/v2/services/{file}", get(open311::get_service))
        .route("/open311/v2/requests/{file}", get(open311::get_request))
        .route("/open311/v2/tokens/{file}", get(open311::get_token))
        .merge(console::routes())
        .fallback(|| async { Error::NotFound("no such route".into()) })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            console::session::middleware,
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe))
        .layer(DefaultBodyLimit::max(state.config.max_body))
        .with_state(state)
}

/// A span per request, the request timeout, and the request metrics.
///
/// Ours rather than tower-http's layers, which answer differently: its `TimeoutLayer` with an
/// empty 408 (ours: 503 and the JSON `timeout` error, counted in the metrics like any answer),
/// its `RequestBodyLimitLayer` with a plain-text 413 before the handler (axum's
/// `DefaultBodyLimit` lets each extractor answer `too_large` in its own format, JSON or
/// Open311's), and its `TraceLayer` would neither scope the request id that internal errors
/// name nor count requests by route.
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = request.method().clone();
    let id = next_request_id();
    let span = tracing::info_span!("request", %method, route = %route, uri = %request.uri().path(), request_id = %id);
    let started = Instant::now();
    let has_body = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .is_some_and(|v| v.as_bytes() != b"0")
        || request
            .headers()
            .contains_key(axum::http::header::TRANSFER_ENCODING);
    let timeout = Duration::from_secs(state.config.request_timeout.max(1));
    let mut response = {
        use tracing::Instrument;
        let run = tokio::time::timeout(timeout, next.run(request).instrument(span.clone()));
        match error::REQUEST_ID.scope(id.clone(), run).await {
            Ok(r) => r,
            Err(_) => Error::Timeout.into_response(),
        }
    };
    if let Ok(v) = axum::http::HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    // A refusal may come before the body was read (a bad token, the database down): hyper then
    // closes the connection after the answer without saying so, and a client that sends its
    // next request on it (ureq, the handheld's own library) sees it cut. Saying so lets it open
    // a new one.
    if has_body && response.status().as_u16() >= 400 {
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    let status = response.status().as_u16();
    let micros = started.elapsed().as_micros() as u64;
    state.metrics.request(&route, status, micros);
    // One line per request would fill a disk under load (178 MB in 23 minutes): requests are
    // counted in /metrics, logged one by one only at debug, and failures and slow ones at info.
    span.in_scope(|| {
        if status >= 500 || micros >= 1_000_000 {
            tracing::info!(status, ms = micros / 1000, "served");
        } else {
            tracing::debug!(status, ms = micros / 1000, "served");
        }
    });
    response
}

/// A request id unique in this process and across restarts (start time + counter).
fn next_request_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;
    static START: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let start = START.get_or_init(|| auth::now_secs() & 0xff_ffff);
    format!("{start:06x}-{:x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Opens the ledger, seeds the demo if asked, and serves until SIGINT or SIGTERM; requests in
/// flight (a sync mid-way included) finish before the ledger closes.
pub async fn serve(mut config: Config) -> Result<(), Error> {
    let demo = config.demo;
    let open311_demo_key = config.demo && config.open311_keys.is_empty();
    // Bound first, so that the configuration names the port the system chose for `:0` (Open311's
    // discovery document names it when no `--public-url` is given).
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    config.listen = listener.local_addr()?;
    if config.public_url.is_none() && config.listen.ip().is_unspecified() {
        tracing::warn!(
            listen = %config.listen,
            "no --public-url: Open311's discovery document names the listening address"
        );
    }
    let data_dir = config.data_dir.clone();
    let state = blocking(move || AppState::open(config)).await?;
    if demo {
        let password = std::env::var("GRIDCASE_DEMO_PASSWORD").ok();
        let dir = state.directory.clone();
        let generated = blocking(move || demo::seed(&dir, password)).await?;
        if let Some(p) = generated {
            println!("demo users (admin, operator, supervisor, street1, community1, worker1, worker2, worker3, unit1, open311) share the password: {p}");
        }
        if open311_demo_key {
            println!(
                "Open311 GeoReport v2 at /open311/v2/, api_key {}",
                routes::open311::DEMO_KEY
            );
        }
    }
    if !state.addresses.is_empty() {
        let (dir, register) = (state.directory.clone(), state.addresses.clone());
        let unknown = blocking(move || Ok(register.unknown_grids(&*dir.org()?))).await?;
        tracing::info!(addresses = state.addresses.len(), "address register loaded");
        if !unknown.is_empty() {
            tracing::warn!(
                grids = ?unknown,
                "the address register names grids the organization lacks: their addresses \
                 cannot be located"
            );
        }
    }
    let addr = listener.local_addr()?;
    tracing::info!(%addr, data_dir = %data_dir.display(), "gridcase-server listening");
    println!("gridcase-server listening on http://{addr}");
    let closing = state.closing.clone();
    if let Some(metrics_listen) = state.config.metrics_listen {
        serve_metrics(&state, metrics_listen).await?;
    }
    let limits = state.config.connection_limits();
    connections::serve(listener, router(state), limits, async move {
        shutdown().await;
        closing.send_replace(true);
    })
    .await?;
    tracing::info!("gridcase-server stopped");
    Ok(())
}

/// Serves `/metrics` alone on its own address (`--metrics-listen`) until the server closes.
async fn serve_metrics(state: &AppState, listen: std::net::SocketAddr) -> Result<(), Error> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    tracing::info!(addr = %listener.local_addr()?, "metrics listening");
    let app = routes::ops::metrics_router(state.clone());
    let limits = state.config.connection_limits();
    let mut closing = state.closing.subscribe();
    tokio::spawn(async move {
        let closed = async move {
            let _ = closing.wait_for(|c| *c).await;
        };
        if let Err(e) = connections::serve(listener, app, limits, closed).await {
            tracing::error!(error = %e, "the metrics listener failed");
        }
    });
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
