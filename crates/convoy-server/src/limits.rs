//! Bounds on what requests may cost: unauthenticated ones above all (`/readyz`, `/webhooks/`),
//! which anyone who can reach the port may send by the thousand.
//!
//! - Public paths: at most [`PUBLIC_CONCURRENCY`] at once (more are answered 503 with
//!   `Retry-After` at once, not queued) and [`PUBLIC_TIMEOUT`] each.
//! - The authenticated API: at most [`API_CONCURRENCY`] requests at once (others wait their
//!   turn); watches are long-lived by design and are not counted.
//! - Readiness is probed at most once per [`READINESS_TTL`]; concurrent probes share it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::AppState;

pub const PUBLIC_CONCURRENCY: usize = 64;
pub const PUBLIC_TIMEOUT: Duration = Duration::from_secs(30);
pub const API_CONCURRENCY: usize = 256;
pub const READINESS_TTL: Duration = Duration::from_secs(1);

pub struct Limits {
    public: Semaphore,
    api: Semaphore,
    readiness: tokio::sync::Mutex<Option<(Instant, Result<(), String>)>>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            public: Semaphore::new(PUBLIC_CONCURRENCY),
            api: Semaphore::new(API_CONCURRENCY),
            readiness: tokio::sync::Mutex::new(None),
        }
    }
}

impl Limits {
    /// The store's readiness, probed at most once per [`READINESS_TTL`].
    pub async fn ready(&self, store: &dyn convoy_store::Store) -> Result<(), String> {
        let mut cached = self.readiness.lock().await;
        if let Some((at, outcome)) = cached.as_ref()
            && at.elapsed() < READINESS_TTL
        {
            return outcome.clone();
        }
        let outcome = store.ping().await.map_err(|e| e.to_string());
        *cached = Some((Instant::now(), outcome.clone()));
        outcome
    }
}

fn busy() -> Response {
    let mut response =
        (StatusCode::SERVICE_UNAVAILABLE, "too many requests at once; try again in a second").into_response();
    response.headers_mut().insert("retry-after", HeaderValue::from_static("1"));
    response
}

/// Applies the limits above; runs before authentication, so it also bounds refused requests.
pub async fn limit(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let limits = &state.limits;
    if crate::is_public(request.uri().path()) {
        let Ok(_permit) = limits.public.try_acquire() else { return busy() };
        return match tokio::time::timeout(PUBLIC_TIMEOUT, next.run(request)).await {
            Ok(response) => response,
            Err(_) => (StatusCode::GATEWAY_TIMEOUT, "the request took too long").into_response(),
        };
    }
    let watching = request.uri().query().is_some_and(|q| q.split('&').any(|p| p == "watch=true" || p == "watch=1"));
    if watching {
        return next.run(request).await;
    }
    let Ok(_permit) = limits.api.acquire().await else { return busy() };
    next.run(request).await
}
