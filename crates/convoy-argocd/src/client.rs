//! The connection to the cluster that runs Argo CD: Applications as dynamic objects of
//! `argoproj.io/v1alpha1`, read live and written with JSON merge patches.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use futures::TryStreamExt;

use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;

use crate::application::App;

/// Where Applications live unless a step says otherwise (Kargo's default).
pub const DEFAULT_NAMESPACE: &str = "argocd";

/// Why a request to the cluster failed, by what the caller does about it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum KubeError {
    #[error("not found")]
    NotFound,
    /// The object changed since it was read (`resourceVersion` precondition).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Other(String),
}

impl From<kube::Error> for KubeError {
    fn from(error: kube::Error) -> KubeError {
        match error {
            // Checked by code as well as reason: a non-JSON error body has no reason.
            kube::Error::Api(status) if status.code == 404 || status.reason == "NotFound" => KubeError::NotFound,
            kube::Error::Api(status) if status.code == 409 || status.reason == "Conflict" => {
                KubeError::Conflict(status.message)
            }
            kube::Error::Api(status) if !status.message.is_empty() => KubeError::Other(status.message),
            other => KubeError::Other(other.to_string()),
        }
    }
}

/// A cluster with Argo CD.
#[derive(Clone)]
pub struct ArgoCd {
    client: kube::Client,
    namespace: String,
    /// Watch only the Argo CD namespace (Kargo's `ARGOCD_WATCH_ARGOCD_NAMESPACE_ONLY`), for a
    /// service account bound by a namespaced Role.
    namespace_only: bool,
}

fn applications() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Application"), "applications")
}

fn events() -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk("", "v1", "Event"), "events")
}

impl ArgoCd {
    /// Over an existing client; `namespace` is where Applications are looked for by default.
    pub fn new(client: kube::Client, namespace: impl Into<String>) -> ArgoCd {
        ArgoCd { client, namespace: namespace.into(), namespace_only: false }
    }

    /// Watches Applications of the Argo CD namespace only, instead of every namespace.
    pub fn watching_namespace_only(self) -> ArgoCd {
        ArgoCd { namespace_only: true, ..self }
    }

    pub fn watches_namespace_only(&self) -> bool {
        self.namespace_only
    }

    /// A client from `kubeconfig` (or `KUBECONFIG`, `~/.kube/config`, then the in-cluster
    /// service account, as kubectl looks).
    pub async fn connect(kubeconfig: Option<&Path>, namespace: &str) -> Result<ArgoCd, String> {
        let config = match kubeconfig {
            Some(path) => {
                let file = kube::config::Kubeconfig::read_from(path)
                    .map_err(|e| format!("cannot read kubeconfig {}: {e}", path.display()))?;
                kube::Config::from_custom_kubeconfig(file, &kube::config::KubeConfigOptions::default())
                    .await
                    .map_err(|e| format!("cannot use kubeconfig {}: {e}", path.display()))?
            }
            None => kube::Config::infer().await.map_err(|e| format!("no Kubernetes configuration found: {e}"))?,
        };
        let client = kube::Client::try_from(config).map_err(|e| format!("cannot build a Kubernetes client: {e}"))?;
        Ok(ArgoCd::new(client, namespace))
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    fn api(&self, namespace: &str) -> Api<DynamicObject> {
        Api::namespaced_with(self.client.clone(), namespace, &applications())
    }

    /// One Application, read live; `None` when it does not exist.
    pub async fn get(&self, namespace: &str, name: &str) -> Result<Option<Value>, KubeError> {
        check_names(namespace, Some(name))?;
        match self.api(namespace).get(name).await {
            Ok(object) => Ok(Some(to_json(object))),
            Err(e) => match KubeError::from(e) {
                KubeError::NotFound => Ok(None),
                other => Err(other),
            },
        }
    }

    /// The Applications of `namespace` matching `selector` (a `labelSelector` query).
    pub async fn list(&self, namespace: &str, selector: &str) -> Result<Vec<Value>, KubeError> {
        check_names(namespace, None)?;
        let list = self.api(namespace).list(&ListParams::default().labels(selector)).await?;
        Ok(list.items.into_iter().map(to_json).collect())
    }

    /// Applies a JSON merge patch; a `metadata.resourceVersion` in it is a precondition.
    pub async fn merge_patch(&self, namespace: &str, name: &str, patch: &Value) -> Result<Value, KubeError> {
        check_names(namespace, Some(name))?;
        let patched = self.api(namespace).patch(name, &PatchParams::default(), &Patch::Merge(patch)).await?;
        Ok(to_json(patched))
    }

    /// Asks Argo CD to compare the Application with its sources again; best effort.
    pub async fn hard_refresh(&self, namespace: &str, name: &str) {
        let patch = serde_json::json!({"metadata": {"annotations": {crate::application::REFRESH_ANNOTATION: "hard"}}});
        if let Err(e) = self.merge_patch(namespace, name, &patch).await {
            tracing::debug!(application = name, namespace, error = %e, "hard refresh request failed");
        }
    }

    /// Records a core Event about an Application; best effort, as Kargo's.
    pub async fn record_event(&self, namespace: &str, event: Value) {
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), namespace, &events());
        let object: DynamicObject = match serde_json::from_value(event) {
            Ok(object) => object,
            Err(e) => return tracing::debug!(error = %e, "event not recorded"),
        };
        if let Err(e) = api.create(&PostParams::default(), &object).await {
            tracing::debug!(namespace, error = %e, "event not recorded");
        }
    }

    /// Whether the cluster serves Applications in the Argo CD namespace (Kargo's start-up
    /// probe: a list of one).
    pub async fn probe(&self) -> Result<(), KubeError> {
        self.api(&self.namespace).list(&ListParams::default().limit(1)).await.map(|_| ())?;
        Ok(())
    }

    /// Whether this client may `verb` Applications in the Argo CD namespace (a
    /// SelfSubjectAccessReview, what `kubectl auth can-i` asks).
    pub async fn can(&self, verb: &str) -> Result<bool, KubeError> {
        // The watch (and its list) span every namespace unless told otherwise: ask at that scope.
        let cluster_wide = matches!(verb, "list" | "watch") && !self.namespace_only;
        let scope = if cluster_wide { "" } else { self.namespace.as_str() };
        let reviews = ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk("authorization.k8s.io", "v1", "SelfSubjectAccessReview"),
            "selfsubjectaccessreviews",
        );
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &reviews);
        let review: DynamicObject = serde_json::from_value(serde_json::json!({
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "metadata": {},
            "spec": {"resourceAttributes": {
                "group": "argoproj.io", "resource": "applications", "verb": verb, "namespace": scope,
            }},
        }))
        .map_err(|e| KubeError::Other(e.to_string()))?;
        let answer = to_json(api.create(&PostParams::default(), &review).await?);
        Ok(answer.pointer("/status/allowed").and_then(Value::as_bool).unwrap_or(false))
    }

    /// Changes to Applications in every namespace (or the Argo CD one), each with the Application before and after
    /// (`None` when created or deleted). Lists, then watches from the list's version, and
    /// starts over after an error; ends when the receiver is dropped.
    pub fn watch(&self) -> tokio::sync::mpsc::Receiver<AppChange> {
        let (sender, receiver) = tokio::sync::mpsc::channel(256);
        let api: Api<DynamicObject> = if self.namespace_only {
            Api::namespaced_with(self.client.clone(), &self.namespace, &applications())
        } else {
            Api::all_with(self.client.clone(), &applications())
        };
        tokio::spawn(async move {
            let mut known: HashMap<(String, String), Value> = HashMap::new();
            let mut backoff = Duration::from_millis(500);
            while !sender.is_closed() {
                if let Err(e) = follow(&api, &mut known, &sender).await {
                    tracing::warn!(error = %e, "watching Argo CD Applications failed; starting over");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                } else {
                    backoff = Duration::from_millis(500);
                }
            }
        });
        receiver
    }
}

/// An Application before and after a change.
#[derive(Debug, Clone)]
pub struct AppChange {
    pub old: Option<Value>,
    pub new: Option<Value>,
}

fn key_of(object: &Value) -> (String, String) {
    let app = crate::application::App(object);
    (app.namespace().to_owned(), app.name().to_owned())
}

/// One list, then one watch until the server closes it. Changes seen while listing again are
/// reported as changes against what was known.
async fn follow(
    api: &Api<DynamicObject>,
    known: &mut HashMap<(String, String), Value>,
    sender: &tokio::sync::mpsc::Sender<AppChange>,
) -> Result<(), KubeError> {
    let list = api.list(&ListParams::default()).await?;
    let mut version = list.metadata.resource_version.clone().unwrap_or_default();
    let mut listed = HashMap::new();
    for object in list.items.into_iter().map(to_json) {
        listed.insert(key_of(&object), object);
    }
    for (key, object) in &listed {
        if known.get(key) != Some(object) {
            let change = AppChange { old: known.get(key).cloned(), new: Some(object.clone()) };
            if sender.send(change).await.is_err() {
                return Ok(());
            }
        }
    }
    for (key, object) in known.drain() {
        if !listed.contains_key(&key) && sender.send(AppChange { old: Some(object), new: None }).await.is_err() {
            return Ok(());
        }
    }
    *known = listed;
    loop {
        let params = WatchParams::default().timeout(290);
        let mut stream = std::pin::pin!(api.watch(&params, &version).await?);
        while let Some(event) = stream.try_next().await? {
            let change = match event {
                WatchEvent::Added(object) | WatchEvent::Modified(object) => {
                    let object = to_json(object);
                    version = App(&object).resource_version().to_owned();
                    AppChange { old: known.insert(key_of(&object), object.clone()), new: Some(object) }
                }
                WatchEvent::Deleted(object) => {
                    let object = to_json(object);
                    version = App(&object).resource_version().to_owned();
                    AppChange { old: known.remove(&key_of(&object)).or(Some(object)), new: None }
                }
                WatchEvent::Bookmark(bookmark) => {
                    version = bookmark.metadata.resource_version;
                    continue;
                }
                // Too old a version (410): list again.
                WatchEvent::Error(e) => return Err(KubeError::Other(e.message)),
            };
            if sender.send(change).await.is_err() {
                return Ok(());
            }
        }
    }
}

/// Names come from step configs anyone who can write a Stage controls, and end up in request
/// paths: only what Kubernetes allows (a DNS subdomain, a DNS label for namespaces) gets there,
/// so no `/` or `..` can point a request at another resource.
fn check_names(namespace: &str, name: Option<&str>) -> Result<(), KubeError> {
    let dns = |text: &str, max: usize, dots: bool| {
        !text.is_empty()
            && text.len() <= max
            && text.split('.').all(|label| {
                !label.is_empty()
                    && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            })
            && (dots || !text.contains('.'))
    };
    if !dns(namespace, 63, false) {
        return Err(KubeError::Other(format!(
            "invalid namespace {namespace:?}: must be a DNS label (lowercase letters, digits and '-')"
        )));
    }
    if let Some(name) = name.filter(|n| !dns(n, 253, true)) {
        return Err(KubeError::Other(format!(
            "invalid Application name {name:?}: must be a DNS subdomain (lowercase letters, digits, '-' and '.')"
        )));
    }
    Ok(())
}

fn to_json(object: DynamicObject) -> Value {
    serde_json::to_value(object).unwrap_or(Value::Null)
}
