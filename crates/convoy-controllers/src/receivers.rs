//! Webhook receivers as configured (no HTTP here): each ProjectConfig's and the ClusterConfig's
//! `webhookReceivers` with their secrets and unguessable paths, the table the API matches
//! requests against, and what the receiver publisher writes into ProjectConfig status.

use std::sync::Arc;

use convoy_api::{Kind, ProjectConfig};
use convoy_store::{LabelSelector, Store, StoreError};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

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

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A configured receiver: its project, its type and its secret (and a generic one's actions).
#[derive(Clone)]
pub struct Receiver {
    pub project: String,
    pub kind: String,
    pub secret: String,
    pub actions: Vec<convoy_api::project::GenericWebhookAction>,
    /// Artifactory's `virtualRepoName`.
    pub virtual_repo: Option<String>,
}

/// The project whose Secrets ClusterConfig receivers read (Kargo's cluster secrets namespace).
pub const CLUSTER_SECRETS_PROJECT: &str = "kargo-cluster-secrets";

/// The receivers of every ProjectConfig and of the ClusterConfig, with their secrets and paths.
/// A ClusterConfig receiver has the empty project: it refreshes Warehouses of every project.
pub async fn receivers(store: &dyn Store) -> Result<Vec<(String, Receiver, String)>, StoreError> {
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
    pub async fn current(&self, store: &dyn Store) -> Result<Table, StoreError> {
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
