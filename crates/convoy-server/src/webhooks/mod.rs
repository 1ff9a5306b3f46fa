//! Webhook receivers (reference §9.2): `POST /webhooks/<type>/<hash>`, configured in a
//! ProjectConfig's `spec.webhookReceivers`. The hash is the hex SHA-256 of project, receiver
//! name and secret, so the path itself is unguessable; GitHub, GitLab, Gitea and Harbor requests
//! are also checked against their signature or token. A push refreshes the project's Warehouses
//! subscribed to the repository (or image) it names; generic receivers do what their actions say
//! (`generic.rs`).

mod generic;
mod providers;

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use convoy_api::{Kind, ProjectConfig, Subscription, Warehouse};
use convoy_store::{LabelSelector, Store, StoreError};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::annotations::{refresh_token, request_refresh};
use crate::error::ApiError;

/// Provider types and the Secret key their secret is under.
const SECRET_KEYS: &[(&str, &str)] = &[
    ("github", "secret"),
    ("gitlab", "secret-token"),
    ("bitbucket", "secret"),
    ("artifactory", "secret-token"),
    ("azure", "secret"),
    ("gitea", "secret"),
    ("dockerhub", "secret"),
    ("quay", "secret"),
    ("harbor", "auth-header"),
    ("generic", "secret"),
];

/// `<hex SHA-256 of project + receiver name + secret>`.
pub fn receiver_hash(project: &str, name: &str, secret: &str) -> String {
    hex(&Sha256::digest(format!("{project}{name}{secret}").as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// HMAC-SHA256 (RFC 2104).
pub fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new().chain_update(pad(0x36)).chain_update(message).finalize();
    Sha256::new().chain_update(pad(0x5c)).chain_update(inner).finalize().to_vec()
}

/// Compares without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn reply(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({"msg": message.into()}))).into_response()
}

/// A configured receiver: its project, its type and its secret (and a generic one's actions).
#[derive(Clone)]
struct Receiver {
    project: String,
    kind: String,
    secret: String,
    actions: Vec<convoy_api::project::GenericWebhookAction>,
    /// Artifactory's `virtualRepoName`.
    virtual_repo: Option<String>,
}

/// The project whose Secrets ClusterConfig receivers read (Kargo's cluster secrets namespace).
pub const CLUSTER_SECRETS_PROJECT: &str = "kargo-cluster-secrets";

/// The receivers of every ProjectConfig and of the ClusterConfig, with their secrets and paths.
/// A ClusterConfig receiver has the empty project: it refreshes Warehouses of every project.
async fn receivers(store: &dyn Store) -> Result<Vec<(String, Receiver, String)>, StoreError> {
    let (configs, _) = store.list(Kind::ProjectConfig, None, &LabelSelector::everything()).await?;
    let mut sets = Vec::new();
    for stored in configs {
        let Ok(config) = serde_json::from_value::<ProjectConfig>(stored.object) else { continue };
        let project = config.metadata.namespace().to_owned();
        let project = if project.is_empty() { config.metadata.name().to_owned() } else { project };
        sets.push((project.clone(), project, config.spec.webhook_receivers));
    }
    if let Some(stored) = store.get(&convoy_store::Key::new(Kind::ClusterConfig, "", "cluster")).await?
        && let Ok(config) = serde_json::from_value::<convoy_api::ClusterConfig>(stored.object)
    {
        sets.push((String::new(), CLUSTER_SECRETS_PROJECT.to_owned(), config.spec.webhook_receivers));
    }
    let mut out = Vec::new();
    for (project, secrets_project, configured) in sets {
        for receiver in &configured {
            let Some(kind) = receiver.providers().first().copied() else { continue };
            let Some((_, key)) = SECRET_KEYS.iter().find(|(k, _)| *k == kind) else { continue };
            let secret_name = receiver_secret(receiver, kind);
            let secret = secret_value(store, &secrets_project, &secret_name, key).await?.unwrap_or_default();
            if secret.is_empty() {
                continue;
            }
            let path = format!("/webhooks/{kind}/{}", receiver_hash(&project, &receiver.name, &secret));
            let actions = receiver.generic.as_ref().map(|g| g.actions.clone()).unwrap_or_default();
            let virtual_repo = receiver.artifactory.as_ref().and_then(|a| a.virtual_repo_name.clone());
            out.push((
                receiver.name.clone(),
                Receiver { project: project.clone(), kind: kind.to_owned(), secret, actions, virtual_repo },
                path,
            ));
        }
    }
    Ok(out)
}

fn receiver_secret(receiver: &convoy_api::project::WebhookReceiverConfig, kind: &str) -> String {
    let reference = match kind {
        "github" => receiver.github.as_ref(),
        "gitlab" => receiver.gitlab.as_ref(),
        "gitea" => receiver.gitea.as_ref(),
        "bitbucket" => receiver.bitbucket.as_ref(),
        "azure" => receiver.azure.as_ref(),
        "artifactory" => return receiver.artifactory.as_ref().map(|a| a.secret_ref.name.clone()).unwrap_or_default(),
        "dockerhub" => receiver.dockerhub.as_ref(),
        "quay" => receiver.quay.as_ref(),
        "harbor" => receiver.harbor.as_ref(),
        "generic" => return receiver.generic.as_ref().map(|g| g.secret_ref.name.clone()).unwrap_or_default(),
        _ => None,
    };
    reference.map(|r| r.secret_ref.name.clone()).unwrap_or_default()
}

async fn secret_value(store: &dyn Store, project: &str, name: &str, key: &str) -> Result<Option<String>, StoreError> {
    let stored = store.get(&convoy_store::Key::new(Kind::Secret, project, name)).await?;
    Ok(stored
        .and_then(|s| s.object.pointer(&format!("/data/{key}")).and_then(Value::as_str).map(str::to_owned))
        .and_then(|encoded| crate::base64::decode(&encoded))
        .and_then(|bytes| String::from_utf8(bytes).ok()))
}

/// The receiver paths of each project, for `ProjectConfig.status.webhookReceivers` (the empty
/// project's for `ClusterConfig.status.webhookReceivers`).
pub async fn published(store: &dyn Store) -> Result<Vec<(String, Value)>, StoreError> {
    let mut by_project: std::collections::BTreeMap<String, Vec<Value>> = Default::default();
    for (name, receiver, path) in receivers(store).await? {
        by_project.entry(receiver.project).or_default().push(json!({"name": name, "path": path, "url": path}));
    }
    Ok(by_project.into_iter().map(|(p, r)| (p, Value::Array(r))).collect())
}

/// The receivers by path, kept in memory: a request to a wrong path (anyone can send one)
/// costs a look-up, not a read of every ProjectConfig and receiver Secret. The table is rebuilt
/// only after a ProjectConfig, the ClusterConfig or a Secret changed.
#[derive(Default)]
pub struct ReceiverTable {
    /// The table and the store revision it matches.
    built: tokio::sync::Mutex<Option<(i64, Table)>>,
}

/// Each receiver's name, configuration and path.
type Table = Arc<Vec<(String, Receiver, String)>>;

impl ReceiverTable {
    async fn current(&self, store: &dyn Store) -> Result<Table, StoreError> {
        let mut built = self.built.lock().await;
        let revision = store.current_revision().await?;
        if let Some((at, table)) = built.as_mut()
            && (*at == revision || !receivers_changed(store, *at).await?)
        {
            *at = revision;
            return Ok(table.clone());
        }
        let table = Arc::new(receivers(store).await?);
        *built = Some((revision, table.clone()));
        Ok(table)
    }
}

/// Whether anything a receiver depends on changed after `since` (also when events were
/// compacted, as then nobody can tell).
async fn receivers_changed(store: &dyn Store, since: i64) -> Result<bool, StoreError> {
    const PAGE: usize = 1000;
    let mut after = since;
    loop {
        let events = match store.events_since(after, PAGE).await {
            Ok(events) => events,
            Err(StoreError::RevisionTooOld { .. }) => return Ok(true),
            Err(e) => return Err(e),
        };
        let relevant = |e: &convoy_store::WatchEvent| {
            matches!(e.object.get("kind").and_then(Value::as_str), Some("ProjectConfig" | "ClusterConfig" | "Secret"))
        };
        if events.iter().any(relevant) {
            return Ok(true);
        }
        match events.last() {
            Some(last) if events.len() == PAGE => after = last.revision,
            _ => return Ok(false),
        }
    }
}

pub async fn receive(
    State(state): State<Arc<AppState>>,
    Path((kind, hash)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let all = match state.receivers.current(&*state.store).await {
        Ok(all) => all,
        Err(e) => return reply(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    };
    let wanted = format!("/webhooks/{kind}/{hash}");
    let Some((_, receiver, _)) = all.iter().find(|(_, _, path)| same(path.as_bytes(), wanted.as_bytes())) else {
        return reply(StatusCode::NOT_FOUND, "no webhook receiver at this path");
    };
    let receiver = receiver.clone();
    if let Err(message) = providers::authenticate(&receiver, &headers, &body) {
        tracing::info!(project = %receiver.project, kind = %receiver.kind, "webhook refused: {message}");
        return reply(StatusCode::UNAUTHORIZED, message);
    }
    if receiver.kind == "generic" {
        return generic::handle(&*state.store, &receiver, &wanted, &headers, &body).await;
    }
    let event = match providers::event(&receiver, &headers, &body) {
        Ok(event) => event,
        Err((status, message)) => return reply(status, message),
    };
    if let Some(message) = event.ping {
        return reply(StatusCode::OK, message);
    }
    match refresh_subscribers(&*state.store, &receiver.project, &event).await {
        Ok(n) => reply(StatusCode::OK, format!("refreshed {n} warehouse(s)")),
        Err(e) => reply(StatusCode::SERVICE_UNAVAILABLE, e.message),
    }
}

/// Sets the refresh annotation on every Warehouse of `project` with a subscription to one of
/// the event's repositories that one of its qualifiers can matter to (all of them when the event
/// has none).
async fn refresh_subscribers(store: &dyn Store, project: &str, event: &providers::Event) -> Result<usize, ApiError> {
    // Pushed images also name `oci://` chart repositories.
    let charts: Vec<String> = event.images.iter().map(|i| format!("oci://{i}")).collect();
    // The empty project (a ClusterConfig receiver) is every project.
    let scope = Some(project).filter(|p| !p.is_empty());
    let (warehouses, _) = store.list(Kind::Warehouse, scope, &LabelSelector::everything()).await?;
    let token = refresh_token();
    let mut refreshed = 0;
    for stored in warehouses {
        let Ok(warehouse) = serde_json::from_value::<Warehouse>(stored.object.clone()) else { continue };
        let subscribed = warehouse.spec.subscriptions.iter().any(|s| {
            let urls = match s {
                Subscription::Git(_) => &event.git_urls,
                Subscription::Image(_) => &event.images,
                Subscription::Chart(_) => &charts,
                Subscription::Generic { .. } => return false,
            };
            let named = urls.iter().any(|url| s.subscribes_to(url));
            named
                && (event.qualifiers.is_empty()
                    || event.qualifiers.iter().any(|q| convoy_discovery::qualify::wants(s, q)))
        });
        if !subscribed {
            continue;
        }
        request_refresh(store, &stored.key, &token).await?;
        refreshed += 1;
    }
    Ok(refreshed)
}

/// The repository of an image reference: without `:tag` or `@digest`.
fn image_repository(reference: &str) -> &str {
    let without_digest = reference.split('@').next().unwrap_or(reference);
    match without_digest.rsplit_once(':') {
        Some((repo, tag)) if !tag.contains('/') => repo,
        _ => without_digest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_repositories() {
        assert_eq!(image_repository("harbor.example.com/library/app:1.0"), "harbor.example.com/library/app");
        assert_eq!(image_repository("localhost:5000/app@sha256:abc"), "localhost:5000/app");
        assert_eq!(image_repository("localhost:5000/app"), "localhost:5000/app");
    }

    #[test]
    fn hmac_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex(&mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn hmac_long_key_rfc4231_case_6() {
        let key = [0xaa_u8; 131];
        let mac = hmac_sha256(&key, b"Test Using Larger Than Block-Size Key - Hash Key First");
        assert_eq!(hex(&mac), "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    }
}
