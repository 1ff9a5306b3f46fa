//! The in-memory view: the conformance suite over it, and what only it does (indexes kept up to
//! date, changes broadcast in order, a fresh list after falling behind).

use std::sync::Arc;
use std::time::Duration;

use convoy_api::Kind;
use convoy_store::{CachedStore, Change, Index, Key, MemoryStore, Store, StoreExt, conformance};
use serde_json::{Value, json};

fn by_stage(object: &Value) -> Vec<String> {
    object.pointer("/spec/stage").and_then(Value::as_str).map(str::to_owned).into_iter().collect()
}

const STAGE_INDEX: Index = Index { kind: Kind::Promotion, name: "stage", values: by_stage };

fn promotion(name: &str, stage: &str) -> Value {
    json!({"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Promotion",
           "metadata": {"name": name, "namespace": "p"}, "spec": {"stage": stage, "freight": "f"}})
}

fn names(stored: &[convoy_store::Stored]) -> Vec<&str> {
    stored.iter().map(|s| s.key.name.as_str()).collect()
}

#[tokio::test]
async fn cached_memory_store_conforms() {
    let cache = CachedStore::start(Arc::new(MemoryStore::default()), vec![]).await.unwrap();
    conformance::check(cache).await;
}

#[tokio::test]
async fn cached_store_compacts() {
    let cache = CachedStore::start(Arc::new(MemoryStore::with_retention(20)), vec![]).await.unwrap();
    conformance::check_compaction(cache, 20).await;
}

#[tokio::test]
async fn indexes_follow_creates_moves_and_deletes() {
    let inner: Arc<dyn Store> = Arc::new(MemoryStore::default());
    // Present before the cache starts: found through the initial list.
    inner.create(promotion("a", "dev")).await.unwrap();
    let cache = CachedStore::start(inner.clone(), vec![STAGE_INDEX]).await.unwrap();
    cache.create(promotion("b", "dev")).await.unwrap();
    let c = cache.create(promotion("c", "prod")).await.unwrap();
    assert_eq!(names(&cache.by_index(Kind::Promotion, "stage", "p", "dev")), ["a", "b"]);
    // Moving an object to another value files it there only.
    let mut moved = c.object.clone();
    moved["spec"]["stage"] = json!("dev");
    cache.put(moved, None).await.unwrap();
    assert_eq!(names(&cache.by_index(Kind::Promotion, "stage", "p", "dev")), ["a", "b", "c"]);
    assert!(cache.by_index(Kind::Promotion, "stage", "p", "prod").is_empty());
    cache.delete(Key::new(Kind::Promotion, "p", "a"), None).await.unwrap();
    assert_eq!(cache.names_by_index("stage", "p", "dev"), ["b", "c"]);
    assert!(cache.by_index(Kind::Promotion, "stage", "other-project", "dev").is_empty(), "per project");
}

#[tokio::test]
async fn writes_by_others_reach_the_view_and_subscribers_in_order() {
    let inner: Arc<dyn Store> = Arc::new(MemoryStore::default());
    let cache = CachedStore::start(inner.clone(), vec![STAGE_INDEX]).await.unwrap();
    let mut changes = cache.subscribe();
    // Written behind the cache's back (another replica): the follower picks it up.
    let written = inner.create(promotion("x", "dev")).await.unwrap();
    let change = tokio::time::timeout(Duration::from_secs(5), changes.recv()).await.unwrap().unwrap();
    let Change::Event(event) = change else { panic!("expected an event") };
    assert_eq!(event.revision, written.revision);
    assert_eq!(cache.get(&written.key).await.unwrap().map(|s| s.revision), Some(written.revision));
    assert_eq!(cache.current_revision().await.unwrap(), written.revision);
}

#[tokio::test]
async fn a_follower_behind_the_retained_events_lists_again() {
    let inner: Arc<dyn Store> = Arc::new(MemoryStore::with_retention(5));
    let cache = CachedStore::start(inner.clone(), vec![STAGE_INDEX]).await.unwrap();
    let mut changes = cache.subscribe();
    // More writes in one set than the inner store keeps events for.
    let writes = (0..20).map(|i| convoy_store::Write::Create(promotion(&format!("n{i:02}"), "dev"))).collect();
    inner.apply(writes).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, changes.recv()).await.expect("resynced within 5 s") {
            Ok(Change::Resynced) => break,
            Ok(Change::Event(_)) => continue,
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(cache.by_index(Kind::Promotion, "stage", "p", "dev").len(), 20, "every object after the new list");
}
