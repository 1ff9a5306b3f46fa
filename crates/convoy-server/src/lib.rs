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
pub mod http_metrics;
mod limits;
mod openapi;
mod paging;
mod routes;
pub mod tls;
mod watch;
pub mod webhooks;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use convoy_store::Store;
use serde_json::json;

pub use auth::{Identity, hash_token, new_token, write_token_file};
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
    tokens: Arc<auth::Tokens>,
    /// Whether this replica holds the controllers' lease (runs Warehouses, Stages, Promotions).
    pub leading: Arc<std::sync::atomic::AtomicBool>,
    /// Webhook receivers by path, in memory.
    receivers: convoy_controllers::receivers::ReceiverTable,
    limits: limits::Limits,
    /// The cluster running Argo CD, when one is configured (`convoy doctor` checks it).
    pub argocd: Option<Arc<convoy_argocd::ArgoCd>>,
    secure_cookies: bool,
}

impl AppState {
    /// State over a store; the accepted tokens are read from it.
    pub async fn new(store: Arc<dyn Store>) -> Result<AppState, convoy_store::StoreError> {
        let tokens = Arc::new(auth::Tokens::from_hashes(store.token_hashes().await?));
        Ok(AppState {
            store,
            data_dir: None,
            mirrors: None,
            tokens,
            leading: Arc::default(),
            receivers: convoy_controllers::receivers::ReceiverTable::default(),
            limits: limits::Limits::default(),
            argocd: None,
            secure_cookies: false,
        })
    }

    /// The server speaks TLS: the UI's session cookie is `Secure`.
    pub fn with_secure_cookies(self, secure_cookies: bool) -> AppState {
        AppState { secure_cookies, ..self }
    }

    pub fn with_data_dir(self, data_dir: PathBuf, mirrors: Arc<convoy_git::Mirrors>) -> AppState {
        AppState { data_dir: Some(data_dir), mirrors: Some(mirrors), ..self }
    }

    pub fn with_argocd(self, argocd: Option<Arc<convoy_argocd::ArgoCd>>) -> AppState {
        AppState { argocd, ..self }
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
        .route_layer(middleware::from_fn(http_metrics::note_route))
        .fallback(|| async { ApiError::not_found("no such path; see /v1/openapi.json") })
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(middleware::from_fn_with_state(state.clone(), limits::limit))
        .layer(middleware::from_fn(versions));
    let tokens = state.tokens.clone();
    let ui = convoy_ui::router(convoy_ui::Ui {
        store: state.store.clone(),
        accepts: Arc::new(move |token: &str| tokens.identify(Some(&format!("Bearer {token}"))).is_some()),
        secure_cookies: state.secure_cookies,
    });
    // The UI's pages beside the API; both measured.
    ui.merge(api.with_state(state)).layer(middleware::from_fn(http_metrics::observe))
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
    let header = request.headers().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
    // A browser signed in to the UI: its cookie stands for the token, writes need the CSRF token.
    let header = match header {
        Some(header) => Some(header),
        None => match convoy_ui::session::cookie_credentials(request.method(), request.headers()) {
            Some(Ok(token)) => Some(format!("Bearer {token}")),
            Some(Err(refusal)) => {
                return ApiError::new(StatusCode::FORBIDDEN, "Forbidden", refusal.to_string()).into_response();
            }
            None => None,
        },
    };
    match state.tokens.identify(header.as_deref()) {
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

/// Serves `router(state)` on `listener` (TCP, or [`tls::TlsListener`]) until `stop` fires,
/// then waits for requests in flight.
pub async fn serve_on<L>(
    listener: L,
    state: Arc<AppState>,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> Result<(), String>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
{
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move {
            let _ = stop.await;
        })
        .await
        .map_err(|e| e.to_string())
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
