//! Convoy's HTTP API.
//!
//! ```text
//!  request ──▶ version headers ──▶ authentication (before routing) ──▶ router
//!                                                                      │
//!                 /v1/apply, PUT, POST, PATCH ──▶ writes::plan (decode + convoy_core::admit
//!                                                  over the store's view) ──▶ Store::apply
//!                 GET (?watch=true) ──▶ Store::list / watch::stream (SSE)
//! ```
//!
//! Only this crate knows HTTP: status codes and the JSON error shape live in `error.rs`.

mod actions;
mod annotations;
mod auth;
mod diagnostics;
mod error;
mod files;
mod limits;
mod openapi;
mod paging;
mod routes;
mod watch;
pub mod webhooks;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use convoy_store::Store;
use serde_json::json;

pub use auth::{Identity, hash_token, new_token};
pub use convoy_controllers as controllers;
pub use error::ApiError;

/// The version this server reports.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Clients older than this are refused.
pub const MIN_CLIENT_VERSION: &str = "0.1.0";
pub const CLIENT_VERSION_HEADER: &str = "x-convoy-version";
/// The largest request body the API takes (`convoy apply` sends larger sets in batches).
pub const MAX_REQUEST_BYTES: usize = 8 * 1024 * 1024;
pub const SERVER_VERSION_HEADER: &str = "x-convoy-server-version";

pub struct AppState {
    pub store: Arc<dyn Store>,
    /// Where dry runs make their throwaway work trees.
    pub data_dir: Option<PathBuf>,
    /// The git mirrors the controllers use (dry runs share them and their locks).
    pub mirrors: Option<Arc<convoy_git::Mirrors>>,
    tokens: auth::Tokens,
    /// Whether this replica holds the controllers' lease (runs Warehouses, Stages, Promotions).
    pub leading: Arc<std::sync::atomic::AtomicBool>,
    /// Webhook receivers by path, in memory.
    receivers: convoy_controllers::receivers::ReceiverTable,
    limits: limits::Limits,
}

impl AppState {
    /// State over a store; the accepted tokens are read from it.
    pub async fn new(store: Arc<dyn Store>) -> Result<AppState, convoy_store::StoreError> {
        let tokens = auth::Tokens::from_hashes(store.token_hashes().await?);
        Ok(AppState {
            store,
            data_dir: None,
            mirrors: None,
            tokens,
            leading: Arc::default(),
            receivers: convoy_controllers::receivers::ReceiverTable::default(),
            limits: limits::Limits::default(),
        })
    }

    pub fn with_data_dir(self, data_dir: PathBuf, mirrors: Arc<convoy_git::Mirrors>) -> AppState {
        AppState { data_dir: Some(data_dir), mirrors: Some(mirrors), ..self }
    }
}

/// Every route. Authentication wraps the whole router, unknown paths included.
pub fn router(state: Arc<AppState>) -> Router {
    let api = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(ready))
        .route(
            "/version",
            get(|| async { axum::Json(json!({"version": VERSION, "minClientVersion": MIN_CLIENT_VERSION})) }),
        )
        .route("/webhooks/{kind}/{hash}", post(webhooks::receive))
        .route("/v1/openapi.json", get(|| async { axum::Json(openapi::document()) }))
        .route("/v1/apply", post(routes::apply))
        .route("/v1/diagnostics", get(diagnostics::diagnostics))
        .route("/v1/projects/{project}/stages/{stage}/promote", post(actions::promote))
        .route("/v1/projects/{project}/stages/{stage}/promote-downstream", post(actions::promote_downstream))
        .route("/v1/projects/{project}/stages/{stage}/verify", post(actions::verify_stage))
        .route("/v1/projects/{project}/stages/{stage}/refresh", post(actions::refresh_stage))
        .route("/v1/projects/{project}/warehouses/{warehouse}/refresh", post(actions::refresh_warehouse))
        .route("/v1/projects/{project}/freight/{freight}/approve", post(actions::approve_freight))
        .route("/v1/projects/{project}/promotions/{promotion}/abort", post(actions::abort_promotion))
        .route("/v1/{plural}", get(routes::list_cluster))
        .route("/v1/{plural}/{name}", get(routes::get_cluster).put(routes::put_cluster).delete(routes::delete_cluster))
        .route("/v1/projects/{project}/{plural}", get(routes::list_project).post(routes::create_project))
        .route(
            "/v1/projects/{project}/{plural}/{name}",
            get(routes::get_project)
                .put(routes::put_project)
                .delete(routes::delete_project)
                .patch(routes::patch_project),
        )
        .fallback(|| async { ApiError::not_found("no such path; see /v1/openapi.json") })
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(middleware::from_fn_with_state(state.clone(), limits::limit))
        .layer(middleware::from_fn(versions));
    api.with_state(state)
}

/// Liveness: fails when a controller loop of this replica has stopped finishing passes.
async fn healthz() -> Response {
    let limit = convoy_controllers::heartbeat::stall_after();
    let stalled = convoy_controllers::heartbeat::stalled(limit);
    if stalled.is_empty() {
        return "ok".into_response();
    }
    let names: Vec<String> = stalled.iter().map(|(name, age)| format!("{name} ({} s)", age.as_secs())).collect();
    tracing::error!(stalled = %names.join(", "), "controller loops stalled");
    let message = format!(
        "controller loops without a finished pass for over {} s: {}; restart this replica",
        limit.as_secs(),
        names.join(", ")
    );
    (StatusCode::SERVICE_UNAVAILABLE, message).into_response()
}

async fn ready(State(state): State<Arc<AppState>>) -> Response {
    match state.limits.ready(&*state.store).await {
        Ok(()) => "ok".into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, e).into_response(),
    }
}

/// Paths reachable without a token: health, readiness, version, and webhook receivers (which
/// check their own signatures).
fn is_public(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/version") || path.starts_with("/webhooks/")
}

async fn authenticate(State(state): State<Arc<AppState>>, mut request: Request, next: Next) -> Response {
    if is_public(request.uri().path()) {
        return next.run(request).await;
    }
    let header = request.headers().get("authorization").and_then(|v| v.to_str().ok());
    match state.tokens.identify(header) {
        Some(identity) => {
            request.extensions_mut().insert(identity);
            next.run(request).await
        }
        None => ApiError::unauthorized().into_response(),
    }
}

/// Stamps the server version on every response and refuses clients that are too old.
async fn versions(request: Request, next: Next) -> Response {
    let client = request.headers().get(CLIENT_VERSION_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut response = match client {
        Some(v) if older(&v, MIN_CLIENT_VERSION) => ApiError::new(
            StatusCode::UPGRADE_REQUIRED,
            "ClientTooOld",
            format!("convoy {v} is older than this server supports; install convoy {MIN_CLIENT_VERSION} or newer (the server is {VERSION})"),
        )
        .into_response(),
        _ => next.run(request).await,
    };
    response.headers_mut().insert(SERVER_VERSION_HEADER, HeaderValue::from_static(VERSION));
    response
}

/// `a < b` for `major.minor.patch` versions (anything unparsable counts as current).
pub fn older(a: &str, b: &str) -> bool {
    let parse = |v: &str| -> Option<(u64, u64, u64)> {
        let mut parts = v.trim_start_matches('v').split(['.', '-', '+']).map(|p| p.parse::<u64>().ok());
        Some((parts.next()??, parts.next()??, parts.next()??))
    };
    matches!((parse(a), parse(b)), (Some(a), Some(b)) if a < b)
}

/// How `convoy server` runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `postgres://...`; SQLite in the data dir when `None`.
    pub database_url: Option<String>,
    /// The shard whose Stages, Promotions and Warehouses this replica's controllers handle
    /// (`None`: the unlabelled ones).
    pub shard: Option<String>,
    /// `file://` and local paths as git remotes (`--allow-file-remotes`).
    pub allow_file_remotes: bool,
    /// Refuse to start when the SQLite data dir cannot be locked (off: `--no-data-dir-lock`).
    pub require_data_dir_lock: bool,
}

impl ServerConfig {
    /// The defaults of `convoy server`: SQLite in `data_dir`, no shard, network remotes only.
    pub fn new(listen: SocketAddr, data_dir: PathBuf) -> ServerConfig {
        ServerConfig {
            listen,
            data_dir,
            database_url: None,
            shard: None,
            allow_file_remotes: false,
            require_data_dir_lock: true,
        }
    }
}

/// Opens the store, makes the admin token on first start, serves until SIGINT or SIGTERM.
pub async fn serve(config: ServerConfig) -> Result<(), String> {
    let running = start(config).await?;
    shutdown_signal().await;
    running.stop().await
}

/// A server running in this process (what `convoy server` and `convoy quickstart` run).
pub struct Running {
    pub address: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<Result<(), String>>,
    /// Held while the server runs (SQLite only).
    _data_dir_lock: Option<std::fs::File>,
}

impl Running {
    /// Stops taking requests and waits for the ones in flight.
    pub async fn stop(self) -> Result<(), String> {
        let _ = self.stop.send(());
        let outcome = self.server.await.map_err(|e| e.to_string())?;
        tracing::info!("convoy server stopped");
        outcome
    }
}

/// Opens the store, makes the admin token on first start, starts the controllers and serves the
/// API in the background.
pub async fn start(config: ServerConfig) -> Result<Running, String> {
    let collection = convoy_controllers::gc::Settings::from_env()?;
    let shard = convoy_controllers::shard::Shard::new(config.shard.as_deref())?;
    convoy_git::allow_file_remotes(config.allow_file_remotes);
    files::create_private_dir(&config.data_dir)?;
    files::check_private_dir(&config.data_dir)?;
    // SQLite is one process's store: a second server on the same data dir is refused.
    let data_dir_lock = match &config.database_url {
        Some(_) => None,
        None => Some(files::lock_data_dir(&config.data_dir, config.require_data_dir_lock)?),
    };
    let inner: Arc<dyn Store> = match &config.database_url {
        Some(url) => Arc::new(convoy_store_sql::SqlStore::connect(url, 10_000).await.map_err(|e| e.to_string())?),
        None => {
            let database = config.data_dir.join("convoy.db");
            files::private_database_files(&database)?;
            Arc::new(convoy_store_sql::SqlStore::sqlite(&database).await.map_err(|e| e.to_string())?)
        }
    };
    ensure_admin_token(&*inner, &config.data_dir).await?;
    // Every read (API and controllers) is served from memory; writes go through to the store.
    let cache =
        convoy_store::CachedStore::start(inner, convoy_controllers::indexes::all()).await.map_err(|e| e.to_string())?;
    let store: Arc<dyn Store> = cache.clone();
    // One set of mirrors: discovery and promotions share fetches and per-repository locks.
    let mirrors = Arc::new(convoy_git::Mirrors::new(config.data_dir.join("git")));
    let state = Arc::new(
        AppState::new(store.clone())
            .await
            .map_err(|e| e.to_string())?
            .with_data_dir(config.data_dir.clone(), mirrors.clone()),
    );
    tokio::spawn(convoy_controllers::lead(
        cache,
        mirrors,
        config.data_dir.clone(),
        collection,
        shard,
        state.leading.clone(),
    ));
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!(%address, data_dir = %config.data_dir.display(), "convoy server listening on http://{address}");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, router(state))
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
            .map_err(|e| e.to_string())
    });
    Ok(Running { address, stop, server, _data_dir_lock: data_dir_lock })
}

async fn ensure_admin_token(store: &dyn Store, data_dir: &Path) -> Result<(), String> {
    let path = data_dir.join("admin-token");
    if !store.token_hashes().await.map_err(|e| e.to_string())?.is_empty() {
        if !path.exists() {
            tracing::warn!(path = %path.display(), "the admin token file is gone; the stored token still works");
        }
        return Ok(());
    }
    let token = new_token();
    auth::write_token_file(&path, &token).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    store.add_token("admin", &hash_token(&token)).await.map_err(|e| e.to_string())?;
    tracing::info!(path = %path.display(), "created the admin token (only its hash is stored); log in with: convoy login --server URL --token-file {}", path.display());
    Ok(())
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return interrupt.await.unwrap_or(()),
    };
    tokio::select! {
        _ = interrupt => {}
        _ = terminate.recv() => {}
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_order() {
        assert!(super::older("0.0.9", "0.1.0"));
        assert!(!super::older("0.1.0", "0.1.0"));
        assert!(!super::older("1.0.0", "0.1.0"));
        assert!(!super::older("garbage", "0.1.0"));
    }
}
