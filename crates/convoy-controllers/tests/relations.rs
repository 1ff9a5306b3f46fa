//! Which objects each change queues, per controller (the relations are index look-ups: these
//! count exactly what is queued), and when a Stage asks to be looked at again.

use std::collections::BTreeSet;
use std::sync::Arc;

use convoy_api::Kind;
use convoy_controllers::indexes;
use convoy_controllers::promotions::PromotionController;
use convoy_controllers::runtime::{Action, Reconciler};
use convoy_controllers::shard::Shard;
use convoy_controllers::stages::StageController;
use convoy_controllers::warehouses::WarehouseController;
use convoy_store::{CachedStore, EventType, Key, MemoryStore, StoreExt, WatchEvent};
use convoy_test_support::objects;
use serde_json::{Value, json};

fn object(yaml: &str) -> Value {
    convoy_api::yaml::parse_documents(yaml).unwrap().remove(0).value
}

/// Stage `name` of project p taking `warehouse`'s Freight directly, or from `upstream` Stages.
fn stage_builder(name: &str, warehouse: &str, upstream: &[&str]) -> objects::Builder {
    let stage = objects::stage(name);
    let stage = if upstream.is_empty() { stage.direct(warehouse) } else { stage.upstream(warehouse, upstream) };
    stage.steps(json!([{"uses": "compose-output", "config": {"a": "b"}}]))
}

fn stage(name: &str, warehouse: &str, upstream: &[&str]) -> Value {
    stage_builder(name, warehouse, upstream).json()
}

/// Two pipelines in project p (w1: dev → test → prod-a, prod-b; w2: other), and a Stage of the
/// same name in project q, which no change in p may queue.
async fn pipeline() -> Arc<CachedStore> {
    let cache = CachedStore::start(Arc::new(MemoryStore::default()), indexes::all()).await.unwrap();
    let mut documents = vec![
        stage("dev", "w1", &[]),
        stage("test", "w1", &["dev"]),
        stage("prod-a", "w1", &["test"]),
        stage("prod-b", "w1", &["test"]),
        stage("other", "w2", &[]),
    ];
    documents.push(stage_builder("dev", "w1", &[]).project("q").json());
    for document in documents {
        cache.create(document).await.unwrap();
    }
    cache
}

fn event(event_type: EventType, yaml: &str) -> WatchEvent {
    event_of(event_type, object(yaml))
}

fn event_of(event_type: EventType, object: Value) -> WatchEvent {
    WatchEvent { revision: 1_000, event_type, object }
}

fn names(keys: Vec<Key>) -> BTreeSet<String> {
    keys.into_iter().map(|k| format!("{}/{}", k.project, k.name)).collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

const FREIGHT_W1_IN_OTHER: &str = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Freight\nmetadata: {name: f1, namespace: p}\norigin: {kind: Warehouse, name: w1}\ncommits: [{repoURL: 'https://example.com/r.git', id: abc}]\nstatus: {currentlyIn: {other: {}}}\n";
const PROMOTION_TO_TEST: &str = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Promotion\nmetadata: {name: test.01, namespace: p}\nspec: {stage: test, freight: f1}\n";
const PROJECT_CONFIG: &str =
    "apiVersion: kargo.akuity.io/v1alpha1\nkind: ProjectConfig\nmetadata: {name: p, namespace: p}\nspec: {}\n";
const WAREHOUSE_W1: &str = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata: {name: w1, namespace: p}\nspec: {subscriptions: []}\n";

#[tokio::test]
async fn stage_relations_queue_exactly_the_related_stages() {
    let cache = pipeline().await;
    let controller = StageController::new(cache.clone(), Shard::default());
    let stage_event = |name: &str| event_of(EventType::Modified, stage(name, "w1", &[]));
    // A Stage: itself and the Stages downstream of it, one level (they queue theirs in turn).
    assert_eq!(names(controller.keys_for(&stage_event("test"))), set(&["p/test", "p/prod-a", "p/prod-b"]));
    assert_eq!(names(controller.keys_for(&stage_event("prod-a"))), set(&["p/prod-a"]));
    // A Promotion: its Stage.
    assert_eq!(names(controller.keys_for(&event(EventType::Added, PROMOTION_TO_TEST))), set(&["p/test"]));
    // Freight: the Stages it is in; of those requesting its origin, only the ones whose pass
    // reads their origins' Freight (auto-promotion on, control flow), as their last pass found.
    for name in ["dev", "test", "prod-a", "prod-b", "other"] {
        controller.reconcile(&Key::new(Kind::Stage, "p", name)).await.unwrap();
    }
    assert_eq!(names(controller.keys_for(&event(EventType::Modified, FREIGHT_W1_IN_OTHER))), set(&["p/other"]));
    let policy = "apiVersion: kargo.akuity.io/v1alpha1\nkind: ProjectConfig\nmetadata: {name: p, namespace: p}\nspec:\n  promotionPolicies:\n  - {stage: test, autoPromotionEnabled: true}\n";
    cache.create(object(policy)).await.unwrap();
    let gate = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata: {name: gate, namespace: p}\nspec:\n  requestedFreight:\n  - origin: {kind: Warehouse, name: w1}\n    sources: {direct: true}\n";
    cache.create(object(gate)).await.unwrap();
    for name in ["test", "gate"] {
        controller.reconcile(&Key::new(Kind::Stage, "p", name)).await.unwrap();
    }
    assert_eq!(
        names(controller.keys_for(&event(EventType::Modified, FREIGHT_W1_IN_OTHER))),
        set(&["p/test", "p/gate", "p/other"]),
        "auto-promoting `test` and control-flow `gate` now watch w1's Freight"
    );
    // The ProjectConfig (auto-promotion policies): every Stage of its project, none elsewhere.
    assert_eq!(
        names(controller.keys_for(&event(EventType::Modified, PROJECT_CONFIG))),
        set(&["p/dev", "p/test", "p/prod-a", "p/prod-b", "p/other", "p/gate"])
    );
    assert!(controller.keys_for(&event(EventType::Modified, WAREHOUSE_W1)).is_empty(), "a Warehouse: none");
    assert_eq!(controller.all_keys().len(), 7);
}

#[tokio::test]
async fn promotion_and_warehouse_relations() {
    let cache = pipeline().await;
    let dir = tempfile::tempdir().unwrap();
    let mirrors = Arc::new(convoy_git::Mirrors::new(dir.path().join("git")));
    let registry = convoy_steps::builtin(mirrors.clone(), Arc::new(convoy_engine::NoResources));
    let promotions = PromotionController::new(cache.clone(), registry, dir.path().join("work"));
    // Promotions are run per Stage: a Promotion queues its Stage's lane, a Stage its own.
    assert_eq!(names(promotions.keys_for(&event(EventType::Added, PROMOTION_TO_TEST))), set(&["p/test"]));
    assert_eq!(names(promotions.keys_for(&event_of(EventType::Modified, stage("dev", "w1", &[])))), set(&["p/dev"]));
    assert!(promotions.keys_for(&event(EventType::Modified, FREIGHT_W1_IN_OTHER)).is_empty());
    assert!(promotions.all_keys().is_empty(), "no Promotion waits");
    let warehouses = WarehouseController::new(cache.clone(), mirrors, Shard::default());
    assert_eq!(names(warehouses.keys_for(&event(EventType::Modified, WAREHOUSE_W1))), set(&["p/w1"]));
    assert!(warehouses.keys_for(&event(EventType::Modified, FREIGHT_W1_IN_OTHER)).is_empty());
}

/// Freight soaking in the upstream Stage becomes available at a known time: the Stage's pass
/// asks to be run again then (plus a second), instead of polling.
#[tokio::test]
async fn a_stage_with_soaking_freight_asks_to_be_run_when_the_soak_ends() {
    let cache = pipeline().await;
    let mut stage_object = stage_builder("test", "w1", &["dev"]).sources("requiredSoakTime", json!("1h")).json();
    let stored = cache.get_now(&Key::new(Kind::Stage, "p", "test")).unwrap();
    stage_object["metadata"]["resourceVersion"] = stored.object["metadata"]["resourceVersion"].clone();
    cache.put(stage_object, None).await.unwrap();
    let policy = "apiVersion: kargo.akuity.io/v1alpha1\nkind: ProjectConfig\nmetadata: {name: p, namespace: p}\nspec:\n  promotionPolicies:\n  - {stage: test, autoPromotionEnabled: true}\n";
    cache.create(object(policy)).await.unwrap();
    cache.create(object(WAREHOUSE_W1)).await.unwrap();
    let since = convoy_api::time::Timestamp(convoy_api::time::Timestamp::now().0 - 20 * 60);
    let freight = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Freight\nmetadata: {name: f1, namespace: p}\norigin: {kind: Warehouse, name: w1}\ncommits: [{repoURL: 'https://example.com/r.git', id: abc}]\n";
    let created = cache.create(object(freight)).await.unwrap();
    let status = json!({"verifiedIn": {"dev": {}}, "currentlyIn": {"dev": {"since": since.to_string()}}});
    cache.put_status(created.key, status, None).await.unwrap();
    let controller = StageController::new(cache.clone(), Shard::default());
    let action = controller.reconcile(&Key::new(Kind::Stage, "p", "test")).await.unwrap();
    let Action::RequeueAfter(after) = action else { panic!("expected a timer, got {action:?}") };
    // 40 minutes left of the hour, plus the second of margin (the clock may tick in between).
    let expected = 40 * 60 + 1;
    assert!(after.as_secs().abs_diff(expected) <= 2, "{after:?}");
    // Without a soak requirement there is nothing to wait for.
    let dev = controller.reconcile(&Key::new(Kind::Stage, "p", "dev")).await.unwrap();
    assert_eq!(dev, Action::Done);
}
