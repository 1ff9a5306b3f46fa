//! Hostile and racing requests to the API, in-process over the in-memory store: each is
//! answered with a clear 4xx quickly (or succeeds when the race was not the caller's), loses
//! nothing, and leaves the server answering.

use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use convoy_api::Kind;
use convoy_server::{AppState, router};
use convoy_store::{Key, MemoryStore, Store};
use serde_json::Value;
use tower::ServiceExt;

const TOKEN: &str = "test-token";

async fn app() -> (axum::Router, Arc<dyn Store>) {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
    convoy_server::add_admin_token(&*store, TOKEN).await.unwrap();
    (router(Arc::new(AppState::new(store.clone()).await.unwrap())), store)
}

async fn call(app: &axum::Router, method: &str, path: &str, body: String) -> (StatusCode, Value) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/yaml")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::from(body))
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 64 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into_owned())))
}

const PROJECT: &str = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: p}\n";

async fn still_answers(app: &axum::Router) {
    let (status, _) = call(app, "GET", "/v1/projects", String::new()).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn yaml_bombs_and_deep_documents_are_refused_quickly() {
    let (app, _) = app().await;
    let mut laughs = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: p}\ndata:\n  a0: &a0 [lol,lol,lol,lol,lol,lol,lol,lol,lol,lol]\n",
    );
    for level in 1..=9 {
        let items = vec![format!("*a{}", level - 1); 10].join(",");
        laughs.push_str(&format!("  a{level}: &a{level} [{items}]\n"));
    }
    let deep_block = format!("{PROJECT}---\n{}x\n", "- ".repeat(100_000));
    let deep_flow = format!(
        "{{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"data\": {}1{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    // Deeper than Convoy stores (64) but within what serde_json parses (128): refused, since
    // an object the store cannot read back would break every list of its kind.
    let deep_json = format!(
        "{{\"apiVersion\": \"kargo.akuity.io/v1alpha1\", \"kind\": \"Project\", \"metadata\": {{\"name\": \"p\", \"annotations\": {{}}}}, \"spec\": {}1{}}}",
        "{\"a\": ".repeat(100),
        "}".repeat(100)
    );
    for (name, body, wanted) in [
        ("billion laughs", laughs, "aliases expand"),
        ("deep block", deep_block, "deeper than 64"),
        ("deep flow", deep_flow, "deeper than 64"),
        ("deep json", deep_json, "deeper than 64"),
    ] {
        let started = Instant::now();
        let (status, body) = call(&app, "POST", "/v1/apply", body).await;
        assert!(started.elapsed().as_millis() < 1000, "{name}: took {:?}", started.elapsed());
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}: {body}");
        assert!(body.to_string().contains(wanted), "{name}: {body}");
        still_answers(&app).await;
    }
    let (_, projects) = call(&app, "GET", "/v1/projects", String::new()).await;
    assert_eq!(projects["items"].as_array().map(Vec::len), Some(0), "nothing was stored: {projects}");
}

/// `get -o yaml | apply` of a Secret: every read shows values as `<redacted>`, and applying
/// that back keeps the stored values instead of wiping the credentials.
#[tokio::test]
async fn a_secret_read_and_applied_back_keeps_its_values() {
    let (app, store) = app().await;
    let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: p\n  labels: {kargo.akuity.io/cred-type: git}\nstringData:\n  repoURL: https://github.com/example/repo\n  password: hunter2\n";
    let (status, body) = call(&app, "POST", "/v1/apply", format!("{PROJECT}---\n{secret}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, read) = call(&app, "GET", "/v1/projects/p/secrets/creds", String::new()).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["data"]["password"], "<redacted>", "reads never show values");
    let (status, body) = call(&app, "POST", "/v1/apply", serde_json::to_string(&read).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let stored = store.get(&Key::new(Kind::Secret, "p", "creds")).await.unwrap().unwrap();
    // base64("hunter2"), computed by hand.
    assert_eq!(stored.object["data"]["password"], "aHVudGVyMg==", "{}", stored.object);
    // A new value still replaces the old one.
    let changed = secret.replace("hunter2", "correct-horse");
    let (status, _) = call(&app, "POST", "/v1/apply", changed).await;
    assert_eq!(status, StatusCode::OK);
    let stored = store.get(&Key::new(Kind::Secret, "p", "creds")).await.unwrap().unwrap();
    assert_eq!(stored.object["data"]["password"], "Y29ycmVjdC1ob3JzZQ==");
    // `<redacted>` where nothing is stored is refused, naming the key; nothing is written.
    let invented = "apiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: p}\ndata:\n  password: <redacted>\n  token: <redacted>\n";
    let (status, body) = call(&app, "POST", "/v1/apply", invented.to_owned()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body.to_string().contains("documents[0].data.token"), "{body}");
    let stored = store.get(&Key::new(Kind::Secret, "p", "creds")).await.unwrap().unwrap();
    assert_eq!(stored.object["data"]["password"], "Y29ycmVjdC1ob3JzZQ==");
}

/// A store where someone else (a controller) writes the object's status right after the first
/// read of it: the race `convoy update freight --new-alias` lost one time in four.
struct RacingStore {
    inner: MemoryStore,
    raced: std::sync::atomic::AtomicBool,
    key: Key,
}

#[async_trait::async_trait]
impl Store for RacingStore {
    async fn get(&self, key: &Key) -> convoy_store::Result<Option<convoy_store::Stored>> {
        let found = self.inner.get(key).await?;
        if *key == self.key && !self.raced.swap(true, std::sync::atomic::Ordering::SeqCst) {
            let status = serde_json::json!({"note": "written by a controller"});
            self.inner.apply(vec![convoy_store::Write::PutStatus { key: key.clone(), status, expected: None }]).await?;
        }
        Ok(found)
    }
    async fn list(
        &self,
        kind: Kind,
        project: Option<&str>,
        selector: &convoy_store::LabelSelector,
    ) -> convoy_store::Result<(Vec<convoy_store::Stored>, i64)> {
        self.inner.list(kind, project, selector).await
    }
    async fn apply(&self, writes: Vec<convoy_store::Write>) -> convoy_store::Result<Vec<convoy_store::Stored>> {
        self.inner.apply(writes).await
    }
    async fn events_since(&self, since: i64, limit: usize) -> convoy_store::Result<Vec<convoy_store::WatchEvent>> {
        self.inner.events_since(since, limit).await
    }
    async fn changed_after(&self, revision: i64) {
        self.inner.changed_after(revision).await
    }
    async fn current_revision(&self) -> convoy_store::Result<i64> {
        self.inner.current_revision().await
    }
    async fn ping(&self) -> convoy_store::Result<()> {
        self.inner.ping().await
    }
    async fn tokens(&self) -> convoy_store::Result<Vec<convoy_store::TokenRecord>> {
        self.inner.tokens().await
    }
    async fn token_by_hash(&self, hash: &str) -> convoy_store::Result<Option<convoy_store::TokenRecord>> {
        self.inner.token_by_hash(hash).await
    }
    async fn create_token(&self, token: convoy_store::TokenRecord) -> convoy_store::Result<()> {
        self.inner.create_token(token).await
    }
    async fn set_token_grants(&self, name: &str, grants: &[convoy_store::Grant]) -> convoy_store::Result<()> {
        self.inner.set_token_grants(name, grants).await
    }
    async fn revoke_token(&self, name: &str, at: &str) -> convoy_store::Result<bool> {
        self.inner.revoke_token(name, at).await
    }
    async fn token_used(&self, name: &str, at: &str) -> convoy_store::Result<()> {
        self.inner.token_used(name, at).await
    }
    async fn append_audit(&self, records: Vec<convoy_store::AuditRecord>) -> convoy_store::Result<()> {
        self.inner.append_audit(records).await
    }
    async fn audit(&self, query: &convoy_store::AuditQuery) -> convoy_store::Result<Vec<convoy_store::AuditRecord>> {
        self.inner.audit(query).await
    }
    async fn prune_audit(&self, before: &str) -> convoy_store::Result<u64> {
        self.inner.prune_audit(before).await
    }
}

/// A merge patch without a resourceVersion of the caller's applies to what is stored, even
/// when a status write lands between the server's read and its write.
#[tokio::test]
async fn a_patch_is_not_lost_to_a_status_write() {
    let key = Key::new(Kind::Warehouse, "p", "w");
    let store = Arc::new(RacingStore { inner: MemoryStore::default(), raced: true.into(), key: key.clone() });
    convoy_server::add_admin_token(&*store, TOKEN).await.unwrap();
    let app = router(Arc::new(AppState::new(store.clone()).await.unwrap()));
    let warehouse = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata: {name: w, namespace: p}\nspec:\n  subscriptions:\n  - image: {repoURL: ghcr.io/example/app}\n";
    let (status, body) = call(&app, "POST", "/v1/apply", format!("{PROJECT}---\n{warehouse}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    store.raced.store(false, std::sync::atomic::Ordering::SeqCst);
    let patch = r#"{"metadata": {"labels": {"team": "blue"}}}"#.to_owned();
    let (status, body) = call(&app, "PATCH", "/v1/projects/p/warehouses/w", patch).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let stored = store.get(&key).await.unwrap().unwrap();
    assert_eq!(stored.object["metadata"]["labels"]["team"], "blue");
    assert_eq!(stored.object["status"]["note"], "written by a controller", "the status write is kept");
    // With the caller's own resourceVersion, a conflict is the caller's to see.
    store.raced.store(false, std::sync::atomic::Ordering::SeqCst);
    let stale = format!(r#"{{"metadata": {{"resourceVersion": "{}", "labels": {{"team": "red"}}}}}}"#, stored.revision);
    let (status, body) = call(&app, "PATCH", "/v1/projects/p/warehouses/w", stale).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
}

/// The same for an apply of a document without a resourceVersion: a controller's status write
/// between admission and the write is retried on, not answered as a 409.
#[tokio::test]
async fn an_apply_is_not_lost_to_a_status_write() {
    let key = Key::new(Kind::Warehouse, "p", "w");
    let store = Arc::new(RacingStore { inner: MemoryStore::default(), raced: true.into(), key: key.clone() });
    convoy_server::add_admin_token(&*store, TOKEN).await.unwrap();
    let app = router(Arc::new(AppState::new(store.clone()).await.unwrap()));
    let warehouse = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata: {name: w, namespace: p}\nspec:\n  subscriptions:\n  - image: {repoURL: ghcr.io/example/app}\n";
    let (status, body) = call(&app, "POST", "/v1/apply", format!("{PROJECT}---\n{warehouse}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    store.raced.store(false, std::sync::atomic::Ordering::SeqCst);
    let changed = warehouse
        .replace("metadata: {name: w, namespace: p}", "metadata: {name: w, namespace: p, labels: {team: blue}}");
    let (status, body) = call(&app, "POST", "/v1/apply", changed).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let stored = store.get(&key).await.unwrap().unwrap();
    assert_eq!(stored.object["metadata"]["labels"]["team"], "blue");
    assert_eq!(stored.object["status"]["note"], "written by a controller", "the status write is kept");
}
