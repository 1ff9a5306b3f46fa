//! Warehouse discovery (reference §6): what each subscription's source offers, newest first,
//! and the Freight that the newest of everything makes.
//!
//! ```text
//!  Warehouse.spec.subscriptions ──▶ git::discover   (shared mirror: ls-remote, fetch only on change)
//!                                  image::discover (registry::Registries: tokens, 429 budget)
//!                                  chart::discover (index.yaml, or OCI tags)
//!                 │                        │ select:: strategies and filters (pure)
//!                 ▼                        ▼
//!        status.discoveredArtifacts ──▶ freight::candidate (element [0] of each, criteria)
//! ```

pub mod chart;
pub mod freight;
pub mod git;
pub mod image;
pub mod oci;
pub mod qualify;
pub mod registry;
pub mod select;
#[cfg(feature = "testing")]
pub mod testing;

use std::sync::Arc;

use convoy_api::{Subscription, Warehouse};
use convoy_git::{Credentials, Mirrors};

/// Where discovery reads from, shared by every Warehouse: git mirrors, registry clients.
pub struct Sources {
    pub mirrors: Arc<Mirrors>,
    pub registries: registry::Registries,
}

impl Sources {
    pub fn new(mirrors: Arc<Mirrors>) -> Sources {
        Sources { mirrors, registries: registry::Registries::new() }
    }
}
use serde_json::{Value, json};

/// Why discovery failed, with what to do about it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct DiscoveryError {
    /// What went wrong and, after `; `, what to do (for status and logs).
    pub message: String,
    /// What to do alone, where the message carries one (for `convoy doctor`'s fix column).
    pub hint: Option<String>,
}

impl DiscoveryError {
    pub fn config(message: impl Into<String>) -> DiscoveryError {
        DiscoveryError { message: message.into(), hint: None }
    }

    pub fn source(url: &str, problem: String, hint: &str) -> DiscoveryError {
        let url = convoy_git::redact(url);
        let (suffix, hint) =
            if hint.is_empty() { (String::new(), None) } else { (format!("; {hint}"), Some(hint.to_owned())) };
        DiscoveryError { message: format!("{url}: {problem}{suffix}"), hint }
    }

    pub fn nothing(url: &str, hint: String) -> DiscoveryError {
        DiscoveryError { message: format!("{}: discovered nothing: {hint}", convoy_git::redact(url)), hint: None }
    }

    /// The message without its hint.
    pub fn problem(&self) -> &str {
        match &self.hint {
            Some(hint) => self.message.strip_suffix(&format!("; {hint}")).unwrap_or(&self.message),
            None => &self.message,
        }
    }
}

/// Credentials for a source, by the kind of Secret (`git`, `image`, `helm`) and URL.
#[async_trait::async_trait]
pub trait CredentialSource: Send + Sync {
    async fn credentials(&self, kind: &str, url: &str) -> Option<Credentials>;
}

/// No credentials anywhere.
pub struct Anonymous;

#[async_trait::async_trait]
impl CredentialSource for Anonymous {
    async fn credentials(&self, _kind: &str, _url: &str) -> Option<Credentials> {
        None
    }
}

/// Runs every subscription of `warehouse`; the result is `status.discoveredArtifacts` without
/// `discoveredAt`. The first failing subscription fails the whole discovery. With `recheck`
/// (a refresh was asked for: a webhook, `convoy refresh`), git remotes are asked even if their
/// mirror was brought up to date a moment ago.
pub async fn discover(
    sources: &Sources,
    warehouse: &Warehouse,
    credentials: &dyn CredentialSource,
    recheck: bool,
) -> Result<Value, DiscoveryError> {
    let mut git = Vec::new();
    let mut images = Vec::new();
    let mut charts = Vec::new();
    for (i, subscription) in warehouse.spec.subscriptions.iter().enumerate() {
        let at =
            |e: DiscoveryError| DiscoveryError { message: format!("subscriptions[{i}]: {}", e.message), hint: e.hint };
        match subscription {
            Subscription::Git(sub) => {
                let found = credentials.credentials("git", &sub.repo_url).await;
                git.push(git::discover(&sources.mirrors, sub, found.as_ref(), recheck).await.map_err(at)?);
            }
            Subscription::Image(sub) => {
                let found = credentials.credentials("image", &sub.repo_url).await;
                images.push(image::discover(&sources.registries, sub, found.as_ref()).await.map_err(at)?);
            }
            Subscription::Chart(sub) => {
                let found = credentials.credentials("helm", &sub.repo_url).await;
                charts.push(chart::discover(&sources.registries, sub, found.as_ref()).await.map_err(at)?);
            }
            other => {
                return Err(at(DiscoveryError::config(format!(
                    "{} subscriptions are not discovered by this version of Convoy yet",
                    kind_of(other)
                ))));
            }
        }
    }
    Ok(json!({"git": git, "images": images, "charts": charts}))
}

/// Whether a subscription's source answers with `credentials`, as `convoy doctor` asks:
/// one ls-remote, one page of tags, or the chart index; nothing is selected or stored.
pub async fn probe(
    registries: &registry::Registries,
    subscription: &Subscription,
    credentials: Option<&Credentials>,
) -> Result<(), DiscoveryError> {
    match subscription {
        Subscription::Git(sub) => convoy_git::ls_remote(&sub.repo_url, credentials).await.map(|_| ()).map_err(|e| {
            let fix = e
                .likely_fix()
                .unwrap_or("check the repoURL, and that a Secret labelled kargo.akuity.io/cred-type: git matches it");
            DiscoveryError::source(&sub.repo_url, e.to_string(), fix)
        }),
        Subscription::Image(sub) => {
            let name = registry::ImageName::parse(&sub.repo_url).map_err(DiscoveryError::config)?;
            registries.probe(&name, credentials).await
        }
        Subscription::Chart(sub) => chart::probe(registries, sub, credentials).await,
        other => Err(DiscoveryError::config(format!(
            "{} subscriptions are not discovered by this version of Convoy yet",
            kind_of(other)
        ))),
    }
}

/// The kind of credentials Secret (`kargo.akuity.io/cred-type`) a subscription reads.
pub fn credential_kind(subscription: &Subscription) -> &'static str {
    match subscription {
        Subscription::Chart(_) => "helm",
        Subscription::Image(_) => "image",
        _ => "git",
    }
}

fn kind_of(subscription: &Subscription) -> &'static str {
    match subscription {
        Subscription::Git(_) => "git",
        Subscription::Image(_) => "image",
        Subscription::Chart(_) => "chart",
        _ => "generic",
    }
}
