//! Argo CD from Convoy (Kargo's integration, reference `argocd.md`): the `argocd-update` and
//! `argocd-wait` steps, the health checks `argocd-update` registers for its Stage, and the
//! Kubernetes connection they share. Applications are read and written as JSON so that fields
//! Convoy does not model survive every write.

pub mod application;
pub mod authorize;
pub mod client;
pub mod health;
pub mod select;
pub mod selector;
pub mod update;
pub mod wait;

use std::sync::Arc;

use convoy_engine::{Registry, StepError};
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use client::{AppChange, ArgoCd, DEFAULT_NAMESPACE, KubeError};

/// Kargo's default timeout of `argocd-update` and `argocd-wait`.
const STEP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// Registers `argocd-update` and `argocd-wait`; without a cluster they fail saying so.
pub fn register(registry: &mut Registry, argocd: Option<Arc<ArgoCd>>) {
    registry.register(Arc::new(update::ArgoCdUpdate { argocd: argocd.clone() }));
    registry.register(Arc::new(wait::ArgoCdWait { argocd }));
}

/// A bad config fails the step for good (Kargo: Failed, terminal).
fn decode<T: DeserializeOwned>(kind: &str, config: &Value) -> Result<T, StepError> {
    convoy_engine::decode_config(kind, config).map_err(|e| StepError::failed(e.message))
}

fn refuse(kind: &str, errors: Vec<String>) -> Result<(), StepError> {
    if errors.is_empty() {
        return Ok(());
    }
    Err(StepError::failed(format!("invalid {kind} config: {}", errors.join("\n"))))
}
