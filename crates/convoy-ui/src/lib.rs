//! Convoy's web UI, served by `convoy server` at `/`. Pages are rendered here from the store
//! (maud, escaped by default) and follow it live: a page's `#live` region is fetched again when
//! the project changes (`/p/{project}/live`, Server-Sent Events). Every write goes through the
//! `/v1` API with the session cookie and its CSRF token: the UI has no write path of its own.
//!
//! ```text
//!  browser ──GET /p/demo──▶ pages::* ──▶ Store (reads)         ┌─ POST /v1/... (cookie + X-CSRF-Token)
//!     ▲  ◀── HTML ───────────┘                                 │   the API's auth and admission
//!     └── EventSource /p/demo/live ◀── store changes ──┘       └─ app.js
//! ```

// Page functions answer `Err(response)` (a redirect to sign in, a 404) and handlers return it
// as is: boxing every early answer would buy nothing on a request path.
#![allow(clippy::result_large_err)]

mod assets;
mod graph;
mod live;
mod pages;
pub mod session;
mod view;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use convoy_store::Store;

pub use graph::{crossings, layout};
pub use pages::login::{failed as sign_in_failed, local as local_path};

/// What the pages need: the store to read, the server's access decisions, and whether cookies
/// must be `Secure` (the server speaks TLS).
#[derive(Clone)]
pub struct Ui {
    pub store: Arc<dyn Store>,
    pub gate: Arc<dyn Gate>,
    pub secure_cookies: bool,
    /// Single sign-on is configured: the sign-in page offers it (`/auth/login`).
    pub sso: bool,
}

/// The server's answers about a session's token: the same decisions its API makes.
#[async_trait::async_trait]
pub trait Gate: Send + Sync {
    /// Whether the token signs in; why not, in words for the sign-in page.
    async fn sign_in(&self, token: &str) -> Result<(), String>;
    /// The projects among `projects` the token may read; `Err` as [`Gate::sign_in`] when the
    /// token does not sign in (one look at the token for both questions).
    async fn readable(&self, token: &str, projects: Vec<String>) -> Result<Vec<String>, String>;
}

/// The UI's routes; merged beside the API's.
pub fn router(ui: Ui) -> Router {
    Router::new()
        .route("/", get(pages::projects::page))
        .route("/login", get(pages::login::form).post(pages::login::submit))
        .route("/logout", post(pages::login::logout))
        .route("/assets/{name}", get(assets::serve))
        .route("/p/{project}", get(pages::pipeline::page))
        .route("/p/{project}/live", get(live::stream))
        .route("/p/{project}/events", get(pages::events::page))
        .route("/p/{project}/warehouses/{warehouse}", get(pages::warehouse::page))
        .route("/doctor", get(pages::events::doctor))
        .route("/p/{project}/freight", get(pages::freight::page))
        .route("/p/{project}/freight/{name}", get(pages::freight::detail))
        .route("/p/{project}/stages/{stage}", get(pages::stage::page))
        .route("/p/{project}/promotions/{promotion}", get(pages::promotion::page))
        .with_state(ui)
}
