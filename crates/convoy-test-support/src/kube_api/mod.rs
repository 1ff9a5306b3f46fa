//! A Kubernetes API server double: the parts Convoy's Argo CD integration uses, following the
//! API conventions (reference `argocd.md` §6) rather than Convoy's client code. Objects of any
//! resource type, one global `resourceVersion` counter, GET / LIST with label selectors, WATCH
//! (newline-delimited events, from a version or with synthetic ADDED), POST, merge and JSON
//! patches with `resourceVersion` preconditions (409), 404, 415 for strategic and apply
//! patches, 422 for Applications without their required fields, 403 on demand. Serve it on
//! 127.0.0.1 for a `convoy server`, or hand [`KubeApi::client`] to code in the same process.

mod selector;
mod status;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use tokio::sync::broadcast;

pub use selector::Selector;
pub use status::{Failure, Resource};

/// Argo CD Applications.
pub fn applications() -> Resource {
    Resource { group: "argoproj.io".into(), version: "v1alpha1".into(), plural: "applications".into() }
}

/// Core Events.
pub fn events() -> Resource {
    Resource { group: String::new(), version: "v1".into(), plural: "events".into() }
}

/// A stored change, as watches see it.
#[derive(Debug, Clone)]
pub struct Change {
    pub version: u64,
    pub resource: Resource,
    pub kind: &'static str,
    pub old: Option<Value>,
    pub object: Value,
}

type Key = (Resource, String, String);

#[derive(Default)]
struct Stored {
    version: u64,
    objects: BTreeMap<Key, Value>,
    history: Vec<Change>,
    denied: HashSet<(String, String)>,
    requests: Vec<String>,
}

struct Inner {
    state: Mutex<Stored>,
    changes: broadcast::Sender<Change>,
}

/// The double; clones share one store.
#[derive(Clone)]
pub struct KubeApi {
    inner: Arc<Inner>,
}

impl Default for KubeApi {
    fn default() -> Self {
        KubeApi::new()
    }
}

impl KubeApi {
    pub fn new() -> KubeApi {
        KubeApi { inner: Arc::new(Inner { state: Mutex::new(Stored::default()), changes: broadcast::channel(4096).0 }) }
    }

    fn state(&self) -> MutexGuard<'_, Stored> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A client that talks to this double in-process.
    pub fn client(&self) -> kube::Client {
        kube::Client::new(self.router(), "default")
    }

    /// Serves the double on 127.0.0.1; returns its base URL.
    pub async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1");
        let address = listener.local_addr().expect("local address");
        let router = self.router();
        tokio::spawn(async move { axum::serve(listener, router).await.ok() });
        format!("http://{address}")
    }

    /// A kubeconfig pointing at `url`, with a bearer token.
    pub fn kubeconfig(url: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: double\n  cluster:\n    server: {url}\ncontexts:\n- name: double\n  context:\n    cluster: double\n    user: convoy\n    namespace: default\ncurrent-context: double\nusers:\n- name: convoy\n  user:\n    token: not-a-secret\n"
        )
    }

    /// Refuses `verb` (`get`, `list`, `watch`, `patch`, `create`) on a resource's `plural`.
    pub fn deny(&self, verb: &str, plural: &str) {
        self.state().denied.insert((verb.to_owned(), plural.to_owned()));
    }

    /// Requests seen so far, as `METHOD path?query` lines.
    pub fn requests(&self) -> Vec<String> {
        self.state().requests.clone()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.inner.changes.subscribe()
    }

    /// Creates or replaces an object, as `kubectl apply` would (the server's fields kept).
    pub fn apply(&self, resource: &Resource, object: Value) -> Value {
        let namespace = object.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("default").to_owned();
        let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_owned();
        self.write(resource, &namespace, &name, |_| Ok(Some(object))).expect("apply")
    }

    pub fn object(&self, resource: &Resource, namespace: &str, name: &str) -> Option<Value> {
        self.state().objects.get(&(resource.clone(), namespace.to_owned(), name.to_owned())).cloned()
    }

    pub fn list(&self, resource: &Resource) -> Vec<Value> {
        self.state().objects.iter().filter(|((r, _, _), _)| r == resource).map(|(_, o)| o.clone()).collect()
    }

    /// Changes an object in place (what a controller's write does); a change that changes
    /// nothing is not stored. `None` when the object does not exist.
    pub fn modify(
        &self,
        resource: &Resource,
        namespace: &str,
        name: &str,
        edit: impl FnOnce(&mut Value),
    ) -> Option<Value> {
        self.write(resource, namespace, name, |old| {
            let Some(mut object) = old.cloned() else { return Ok(None) };
            edit(&mut object);
            Ok(Some(object))
        })
        .ok()
    }

    /// The one write path: the server's fields owned here, a version per stored change, no-op
    /// writes free, a watch event each.
    fn write(
        &self,
        resource: &Resource,
        namespace: &str,
        name: &str,
        change: impl FnOnce(Option<&Value>) -> Result<Option<Value>, Failure>,
    ) -> Result<Value, Failure> {
        let mut state = self.state();
        let key = (resource.clone(), namespace.to_owned(), name.to_owned());
        let old = state.objects.get(&key).cloned();
        let Some(mut object) = change(old.as_ref())? else { return Err(Failure::not_found(resource, name)) };
        let version = state.version + 1;
        let metadata =
            object["metadata"].as_object_mut().ok_or_else(|| Failure::bad_request("metadata is required"))?;
        metadata.insert("name".into(), json!(name));
        metadata.insert("namespace".into(), json!(namespace));
        for owned in ["resourceVersion", "uid", "creationTimestamp", "generation"] {
            match old.as_ref().and_then(|o| o["metadata"].get(owned)) {
                Some(value) => metadata.insert(owned.into(), value.clone()),
                None => metadata.remove(owned),
            };
        }
        if old.is_none() {
            metadata.insert("uid".into(), json!(format!("00000000-0000-4000-8000-{version:012}")));
            metadata.insert("creationTimestamp".into(), json!(convoy_api::time::Timestamp::now().to_string()));
            metadata.insert("generation".into(), json!(1));
        }
        if *resource == applications() {
            for field in ["project", "destination"] {
                if object.pointer(&format!("/spec/{field}")).is_none_or(Value::is_null) {
                    return Err(Failure::invalid("Application.argoproj.io", name, &format!("spec.{field}")));
                }
            }
        }
        object["apiVersion"] = json!(resource.api_version());
        if let Some(old) = &old {
            if *old == object {
                return Ok(object);
            }
            if outside_metadata(old) != outside_metadata(&object) {
                let generation = old["metadata"]["generation"].as_u64().unwrap_or(1) + 1;
                object["metadata"]["generation"] = json!(generation);
            }
        }
        state.version = version;
        object["metadata"]["resourceVersion"] = json!(version.to_string());
        state.objects.insert(key, object.clone());
        let change = Change {
            version,
            resource: resource.clone(),
            kind: if old.is_some() { "MODIFIED" } else { "ADDED" },
            old,
            object: object.clone(),
        };
        state.history.push(change.clone());
        let _ = self.inner.changes.send(change);
        Ok(object)
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route(
                "/version",
                get(|| async { axum::Json(json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0-double"})) }),
            )
            .route("/apis/{group}/{version}/namespaces/{namespace}/{plural}", get(collection).post(create))
            .route("/apis/{group}/{version}/namespaces/{namespace}/{plural}/{name}", get(one).patch(patch))
            .route("/apis/{group}/{version}/{plural}", get(cluster_collection).post(review))
            .route("/api/{version}/namespaces/{namespace}/{plural}", get(core_collection).post(core_create))
            .route("/api/{version}/namespaces/{namespace}/{plural}/{name}", get(core_one).patch(core_patch))
            .layer(axum::middleware::from_fn_with_state(self.clone(), record))
            .with_state(self.clone())
    }

    fn check(
        &self,
        verb: &str,
        resource: &Resource,
        namespace: Option<&str>,
        name: Option<&str>,
    ) -> Result<(), Failure> {
        if self.state().denied.contains(&(verb.to_owned(), resource.plural.clone())) {
            return Err(Failure::forbidden(resource, verb, namespace, name));
        }
        Ok(())
    }
}

/// Everything but `metadata`: what bumps `generation` when it changes.
fn outside_metadata(object: &Value) -> Value {
    let mut rest = object.clone();
    if let Some(map) = rest.as_object_mut() {
        map.remove("metadata");
    }
    rest
}

async fn record(State(api): State<KubeApi>, request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let line = format!("{} {}", request.method(), request.uri());
    api.state().requests.push(line);
    next.run(request).await
}

type Params = Query<HashMap<String, String>>;

fn resource(group: &str, version: &str, plural: &str) -> Resource {
    Resource { group: group.to_owned(), version: version.to_owned(), plural: plural.to_owned() }
}

async fn collection(
    State(api): State<KubeApi>,
    Path((group, version, namespace, plural)): Path<(String, String, String, String)>,
    Query(params): Params,
) -> Response {
    list_or_watch(&api, resource(&group, &version, &plural), Some(namespace), params)
}

async fn cluster_collection(
    State(api): State<KubeApi>,
    Path((group, version, plural)): Path<(String, String, String)>,
    Query(params): Params,
) -> Response {
    list_or_watch(&api, resource(&group, &version, &plural), None, params)
}

async fn core_collection(
    State(api): State<KubeApi>,
    Path((version, namespace, plural)): Path<(String, String, String)>,
    Query(params): Params,
) -> Response {
    list_or_watch(&api, resource("", &version, &plural), Some(namespace), params)
}

/// `SelfSubjectAccessReview`: allowed unless the verb was denied on the resource.
async fn review(
    State(api): State<KubeApi>,
    Path((group, _, plural)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    if group != "authorization.k8s.io" || plural != "selfsubjectaccessreviews" {
        return Failure::bad_request(format!("{plural}.{group} cannot be created at the cluster scope here"))
            .into_response();
    }
    let mut review: Value = match serde_json::from_slice(&body) {
        Ok(review) => review,
        Err(e) => return Failure::bad_request(format!("cannot decode the body: {e}")).into_response(),
    };
    let attributes = &review["spec"]["resourceAttributes"];
    let verb = attributes["verb"].as_str().unwrap_or("").to_owned();
    let resource = attributes["resource"].as_str().unwrap_or("").to_owned();
    let allowed = !api.state().denied.contains(&(verb, resource));
    review["status"] = json!({"allowed": allowed});
    (StatusCode::CREATED, axum::Json(review)).into_response()
}

async fn one(
    State(api): State<KubeApi>,
    Path((group, version, namespace, plural, name)): Path<(String, String, String, String, String)>,
) -> Response {
    read(&api, resource(&group, &version, &plural), &namespace, &name)
}

async fn core_one(
    State(api): State<KubeApi>,
    Path((version, namespace, plural, name)): Path<(String, String, String, String)>,
) -> Response {
    read(&api, resource("", &version, &plural), &namespace, &name)
}

async fn create(
    State(api): State<KubeApi>,
    Path((group, version, namespace, plural)): Path<(String, String, String, String)>,
    body: Bytes,
) -> Response {
    post(&api, resource(&group, &version, &plural), &namespace, &body)
}

async fn core_create(
    State(api): State<KubeApi>,
    Path((version, namespace, plural)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    post(&api, resource("", &version, &plural), &namespace, &body)
}

async fn patch(
    State(api): State<KubeApi>,
    Path((group, version, namespace, plural, name)): Path<(String, String, String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    apply_patch(&api, resource(&group, &version, &plural), &namespace, &name, &headers, &body)
}

async fn core_patch(
    State(api): State<KubeApi>,
    Path((version, namespace, plural, name)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    apply_patch(&api, resource("", &version, &plural), &namespace, &name, &headers, &body)
}

fn read(api: &KubeApi, resource: Resource, namespace: &str, name: &str) -> Response {
    if let Err(denied) = api.check("get", &resource, Some(namespace), Some(name)) {
        return denied.into_response();
    }
    match api.object(&resource, namespace, name) {
        Some(object) => axum::Json(object).into_response(),
        None => Failure::not_found(&resource, name).into_response(),
    }
}

fn post(api: &KubeApi, resource: Resource, namespace: &str, body: &[u8]) -> Response {
    if let Err(denied) = api.check("create", &resource, Some(namespace), None) {
        return denied.into_response();
    }
    let object: Value = match serde_json::from_slice(body) {
        Ok(object) => object,
        Err(e) => return Failure::bad_request(format!("cannot decode the body: {e}")).into_response(),
    };
    let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or_default().to_owned();
    let written = api.write(&resource, namespace, &name, |old| match old {
        Some(_) => Err(Failure {
            code: 409,
            reason: "AlreadyExists",
            message: format!("{} {name:?} already exists", resource.qualified()),
            details: json!({"name": name}),
        }),
        None => Ok(Some(object)),
    });
    match written {
        Ok(object) => (StatusCode::CREATED, axum::Json(object)).into_response(),
        Err(failure) => failure.into_response(),
    }
}

fn apply_patch(
    api: &KubeApi,
    resource: Resource,
    namespace: &str,
    name: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    if let Err(denied) = api.check("patch", &resource, Some(namespace), Some(name)) {
        return denied.into_response();
    }
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    let document: Value = match serde_json::from_slice(body) {
        Ok(document) => document,
        Err(e) => return Failure::bad_request(format!("cannot decode the patch: {e}")).into_response(),
    };
    let written = api.write(&resource, namespace, name, |old| {
        let Some(old) = old else { return Err(Failure::not_found(&resource, name)) };
        let mut object = old.clone();
        match content_type.split(';').next().unwrap_or("").trim() {
            "application/merge-patch+json" => {
                let wanted = document.pointer("/metadata/resourceVersion").and_then(Value::as_str);
                if wanted.is_some_and(|v| Some(v) != old.pointer("/metadata/resourceVersion").and_then(Value::as_str)) {
                    return Err(Failure::conflict(&resource, name));
                }
                json_patch::merge(&mut object, &document);
            }
            "application/json-patch+json" => {
                let operations: json_patch::Patch = serde_json::from_value(document.clone())
                    .map_err(|e| Failure::bad_request(format!("invalid JSON patch: {e}")))?;
                // A failed `test` of metadata.resourceVersion is a lost race, as Kubernetes says.
                json_patch::patch(&mut object, &operations).map_err(|e| match e.kind {
                    json_patch::PatchErrorKind::TestFailed if e.path == "/metadata/resourceVersion" => {
                        Failure::conflict(&resource, name)
                    }
                    _ => Failure {
                        code: 422,
                        reason: "Invalid",
                        message: format!("the JSON patch cannot be applied: {e}"),
                        details: json!({}),
                    },
                })?;
            }
            _ => return Err(Failure::unsupported_media_type()),
        }
        Ok(Some(object))
    });
    match written {
        Ok(object) => axum::Json(object).into_response(),
        Err(failure) => failure.into_response(),
    }
}

fn list_or_watch(
    api: &KubeApi,
    resource: Resource,
    namespace: Option<String>,
    params: HashMap<String, String>,
) -> Response {
    let watching = params.get("watch").is_some_and(|w| w == "true" || w == "1");
    let verb = if watching { "watch" } else { "list" };
    if let Err(denied) = api.check(verb, &resource, namespace.as_deref(), None) {
        return denied.into_response();
    }
    let selector = match Selector::parse(params.get("labelSelector").map(String::as_str).unwrap_or("")) {
        Ok(selector) => selector,
        Err(e) => return Failure::bad_request(format!("unable to parse requirement: {e}")).into_response(),
    };
    let scope = Scope { resource, namespace, selector };
    if watching {
        let timeout = params.get("timeoutSeconds").and_then(|t| t.parse().ok()).unwrap_or(1800u64);
        return watch(api, scope, params.get("resourceVersion").cloned(), Duration::from_secs(timeout));
    }
    let state = api.state();
    let items: Vec<Value> =
        state.objects.iter().filter(|((r, ns, _), o)| scope.holds(r, ns, o)).map(|(_, o)| o.clone()).collect();
    let kind = state
        .objects
        .iter()
        .find(|((r, _, _), _)| *r == scope.resource)
        .and_then(|(_, o)| o["kind"].as_str())
        .map(|k| format!("{k}List"))
        .unwrap_or_else(|| "List".into());
    axum::Json(json!({
        "apiVersion": scope.resource.api_version(), "kind": kind,
        "metadata": {"resourceVersion": state.version.max(1).to_string()}, "items": items,
    }))
    .into_response()
}

struct Scope {
    resource: Resource,
    namespace: Option<String>,
    selector: Selector,
}

impl Scope {
    fn holds(&self, resource: &Resource, namespace: &str, object: &Value) -> bool {
        *resource == self.resource
            && self.namespace.as_deref().is_none_or(|n| n == namespace)
            && self.selector.matches(object)
    }

    /// The event a watcher of this scope sees for a change: ADDED when an object starts
    /// matching, DELETED when it stops, none when it never did.
    fn event(&self, change: &Change) -> Option<Value> {
        let namespace = change.object.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("");
        let now = self.holds(&change.resource, namespace, &change.object);
        let before = change.old.as_ref().is_some_and(|o| self.holds(&change.resource, namespace, o));
        let kind = match (before, now, change.kind) {
            (_, true, "DELETED") | (true, false, _) => "DELETED",
            (false, true, _) => "ADDED",
            (true, true, kind) => kind,
            (false, false, _) => return None,
        };
        Some(json!({"type": kind, "object": change.object}))
    }
}

fn watch(api: &KubeApi, scope: Scope, version: Option<String>, timeout: Duration) -> Response {
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(64);
    let line = |event: &Value| Ok(Bytes::from(format!("{event}\n")));
    // Catch-up and subscription under one lock: nothing written in between is missed.
    let (initial, mut changes) = {
        let state = api.state();
        let initial: Vec<Value> = match version.as_deref().and_then(|v| v.parse::<u64>().ok()).filter(|v| *v > 0) {
            Some(from) => state.history.iter().filter(|c| c.version > from).filter_map(|c| scope.event(c)).collect(),
            None => state
                .objects
                .iter()
                .filter(|((r, ns, _), o)| scope.holds(r, ns, o))
                .map(|(_, o)| json!({"type": "ADDED", "object": o}))
                .collect(),
        };
        (initial, api.inner.changes.subscribe())
    };
    tokio::spawn(async move {
        for event in &initial {
            if sender.send(line(event)).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let change = tokio::select! {
                change = changes.recv() => change,
                () = tokio::time::sleep_until(deadline) => return,
                () = sender.closed() => return,
            };
            match change {
                Ok(change) => {
                    if let Some(event) = scope.event(&change)
                        && sender.send(line(&event)).await.is_err()
                    {
                        return;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) | Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    let stream = futures::stream::unfold(receiver, |mut r| async move { r.recv().await.map(|item| (item, r)) });
    Response::builder()
        .header("content-type", "application/json")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
