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
pub mod audit;
mod auth;
mod diagnostics;
mod error;
mod guard;
pub mod http_metrics;
mod limits;
pub mod oidc;
mod openapi;
mod paging;
mod routes;
mod sso;
mod team;
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
use axum::routing::{MethodRouter, delete, get, patch, post, put};
use convoy_store::Store;
use serde_json::json;

pub use auth::{ADMIN_TOKEN_NAME, Identity, add_admin_token, hash_token, new_token, write_token_file};
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
    /// When this replica last wrote each token's last-used time.
    last_used: Arc<auth::LastUsed>,
    /// Whether this replica holds the controllers' lease (runs Warehouses, Stages, Promotions).
    pub leading: Arc<std::sync::atomic::AtomicBool>,
    /// Webhook receivers by path, in memory.
    receivers: convoy_controllers::receivers::ReceiverTable,
    limits: limits::Limits,
    /// The cluster running Argo CD, when one is configured (`convoy doctor` checks it).
    pub argocd: Option<Arc<convoy_argocd::ArgoCd>>,
    secure_cookies: bool,
    /// Single sign-on, when configured.
    pub oidc: Option<Arc<oidc::Oidc>>,
}

impl AppState {
    /// State over a store; tokens are looked up in it on every request.
    pub async fn new(store: Arc<dyn Store>) -> Result<AppState, convoy_store::StoreError> {
        Ok(AppState {
            store,
            data_dir: None,
            mirrors: None,
            last_used: Arc::default(),
            leading: Arc::default(),
            receivers: convoy_controllers::receivers::ReceiverTable::default(),
            limits: limits::Limits::default(),
            argocd: None,
            secure_cookies: false,
            oidc: None,
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

    pub fn with_oidc(self, config: Option<oidc::OidcConfig>) -> AppState {
        AppState { oidc: config.map(|c| Arc::new(oidc::Oidc::new(c))), ..self }
    }

    /// How callers are identified.
    pub fn authenticator(&self) -> auth::Authenticator {
        auth::Authenticator { store: self.store.clone(), last_used: self.last_used.clone(), oidc: self.oidc.clone() }
    }
}

/// The API's routes as registered: every (method, path) is listed in `routes`, which the
/// authorization table test walks (a route added without a decision there fails it).
pub struct RouteTable {
    router: Router<Arc<AppState>>,
    pub routes: Vec<(&'static str, &'static str)>,
}

impl RouteTable {
    fn add(mut self, method: &'static str, path: &'static str, handler: MethodRouter<Arc<AppState>>) -> RouteTable {
        self.routes.push((method, path));
        self.router = self.router.route(path, handler);
        self
    }
}

/// Every API route.
pub fn route_table() -> RouteTable {
    use actions::*;
    const STAGE: &str = "/v1/projects/{project}/stages/{stage}";
    let table = RouteTable { router: Router::new(), routes: Vec::new() };
    table
        .add("GET", "/healthz", get(healthz))
        .add("GET", "/readyz", get(ready))
        .add(
            "GET",
            "/version",
            get(|| async { axum::Json(json!({"version": VERSION, "minClientVersion": MIN_CLIENT_VERSION})) }),
        )
        .add("POST", "/webhooks/{kind}/{hash}", post(webhooks::receive))
        .add("GET", "/v1/openapi.json", get(|| async { axum::Json(openapi::document()) }))
        .add("GET", "/v1/auth/config", get(sso::public_config))
        .add("GET", "/auth/login", get(sso::start))
        .add("GET", "/auth/callback", get(sso::callback))
        .add("POST", "/v1/apply", post(routes::apply))
        .add("GET", "/v1/diagnostics", get(diagnostics::diagnostics))
        .add("GET", "/v1/audit", get(team::audit))
        .add("GET", "/v1/tokens", get(team::list_system_tokens))
        .add("POST", "/v1/tokens", post(team::create_system_token))
        .add("DELETE", "/v1/tokens/{name}", delete(team::revoke_system_token))
        .add("GET", "/v1/roles", get(team::list_system_roles))
        .add("POST", "/v1/roles/{role}/grants", post(team::grant_system))
        .add("POST", "/v1/roles/{role}/revocations", post(team::revoke_system))
        .add("GET", "/v1/projects/{project}/tokens", get(team::list_project_tokens))
        .add("POST", "/v1/projects/{project}/tokens", post(team::create_project_token))
        .add("DELETE", "/v1/projects/{project}/tokens/{name}", delete(team::revoke_project_token))
        .add("POST", "/v1/projects/{project}/roles/{role}/grants", post(team::grant_project))
        .add("POST", "/v1/projects/{project}/roles/{role}/revocations", post(team::revoke_project))
        .add("POST", const_str(STAGE, "/promote"), post(promote))
        .add("POST", const_str(STAGE, "/promote-downstream"), post(promote_downstream))
        .add("POST", const_str(STAGE, "/verify"), post(verify_stage))
        .add("POST", const_str(STAGE, "/refresh"), post(refresh_stage))
        .add("POST", "/v1/projects/{project}/warehouses/{warehouse}/refresh", post(refresh_warehouse))
        .add("POST", "/v1/projects/{project}/freight/{freight}/approve", post(approve_freight))
        .add("POST", "/v1/projects/{project}/promotions/{promotion}/abort", post(abort_promotion))
        .add("GET", "/v1/{plural}", get(routes::list_cluster))
        .add("GET", "/v1/{plural}/{name}", get(routes::get_cluster))
        .add("PUT", "/v1/{plural}/{name}", put(routes::put_cluster))
        .add("DELETE", "/v1/{plural}/{name}", delete(routes::delete_cluster))
        .add("GET", "/v1/projects/{project}/{plural}", get(routes::list_project))
        .add("POST", "/v1/projects/{project}/{plural}", post(routes::create_project))
        .add("GET", "/v1/projects/{project}/{plural}/{name}", get(routes::get_project))
        .add("PUT", "/v1/projects/{project}/{plural}/{name}", put(routes::put_project))
        .add("DELETE", "/v1/projects/{project}/{plural}/{name}", delete(routes::delete_project))
        .add("PATCH", "/v1/projects/{project}/{plural}/{name}", patch(routes::patch_project))
}

/// `a` + `b`, leaked once per route at start-up (paths must be `'static` for the table).
fn const_str(a: &str, b: &str) -> &'static str {
    Box::leak(format!("{a}{b}").into_boxed_str())
}

/// Every route. Authentication wraps the whole router, unknown paths included.
pub fn router(state: Arc<AppState>) -> Router {
    let api = route_table()
        .router
        .route_layer(middleware::from_fn(http_metrics::note_route))
        .fallback(|| async { ApiError::not_found("no such path; see /v1/openapi.json") })
        .layer(DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .layer(middleware::from_fn_with_state(state.clone(), audit::record))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate))
        .layer(middleware::from_fn_with_state(state.clone(), limits::limit))
        .layer(middleware::from_fn(audit::tag))
        .layer(middleware::from_fn(versions));
    let ui = convoy_ui::router(convoy_ui::Ui {
        store: state.store.clone(),
        gate: Arc::new(UiGate(state.authenticator())),
        secure_cookies: state.secure_cookies,
        sso: state.oidc.is_some(),
    });
    // The UI's pages beside the API; both measured.
    ui.merge(api.with_state(state)).layer(middleware::from_fn(http_metrics::observe))
}

/// The UI asks the same questions as the API, of the same store.
struct UiGate(auth::Authenticator);

#[async_trait::async_trait]
impl convoy_ui::Gate for UiGate {
    async fn sign_in(&self, token: &str) -> Result<(), String> {
        self.0.identify_token(token).await.map(|_| ()).map_err(|e| e.message)
    }

    async fn readable(&self, token: &str, projects: Vec<String>) -> Result<Vec<String>, String> {
        let identity = self.0.identify_token(token).await.map_err(|e| e.message)?;
        Ok(auth::readable(&*self.0.store, &identity, projects).await.unwrap_or_default())
    }
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
    matches!(path, "/healthz" | "/readyz" | "/version" | "/v1/auth/config" | "/auth/login" | "/auth/callback")
        || path.starts_with("/webhooks/")
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
    match state.authenticator().identify(header.as_deref()).await {
        Ok(identity) => {
            request.extensions_mut().insert(identity);
            next.run(request).await
        }
        Err(refusal) => refusal.into_response(),
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
    L: axum::serve::Listener<Addr = std::net::SocketAddr>,
    for<'a> audit::Peer: axum::extract::connect_info::Connected<axum::serve::IncomingStream<'a, L>>,
{
    // The peer's address reaches handlers (the audit trail's source).
    axum::serve(listener, router(state).into_make_service_with_connect_info::<audit::Peer>())
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
