//! The Promotion controller over the in-memory store: the engine admits again before running.

use std::sync::Arc;
use std::time::{Duration, Instant};

use convoy_api::Kind;
use convoy_engine::NoResources;
use convoy_server::controllers::promotions::PromotionController;
use convoy_store::{Key, MemoryStore, Store, StoreExt};
use serde_json::{Value, json};

fn object(yaml: &str) -> Value {
    convoy_api::yaml::parse_documents(yaml).unwrap().remove(0).value
}

/// A Promotion stored without admission still has its `task:` step; the engine expands it
/// (Kargo's minimal-install failure, "Promotion step must have uses set and must not reference
/// a task", never happens) and runs the task's steps under their expanded aliases.
#[tokio::test]
async fn unexpanded_task_references_are_expanded_not_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
    for yaml in [
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: p}\n",
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata: {name: w, namespace: p}\nspec:\n  subscriptions:\n  - image: {repoURL: ghcr.io/example/app}\n",
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Freight\nmetadata: {name: f1, namespace: p}\norigin: {kind: Warehouse, name: w}\nimages:\n- {repoURL: ghcr.io/example/app, tag: 1.2.0}\n",
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata: {name: dev, namespace: p}\nspec:\n  requestedFreight:\n  - origin: {kind: Warehouse, name: w}\n    sources: {direct: true}\n",
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: PromotionTask\nmetadata: {name: write, namespace: p}\nspec:\n  vars:\n  - name: file\n  steps:\n  - uses: file-write\n    as: note\n    config:\n      path: ${{ vars.file }}\n      contents: ${{ imageFrom('ghcr.io/example/app').Tag }}\n",
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Promotion\nmetadata: {name: dev.raw, namespace: p}\nspec:\n  stage: dev\n  freight: f1\n  steps:\n  - task: {name: write}\n    vars:\n    - {name: file, value: out.txt}\n",
    ] {
        store.create(object(yaml)).await.unwrap();
    }
    let registry =
        convoy_steps::builtin(Arc::new(convoy_git::Mirrors::new(dir.path().join("git"))), Arc::new(NoResources));
    let controller = PromotionController::new(store.clone(), registry, dir.path().join("work"));
    tokio::spawn(controller.run());
    let key = Key::new(Kind::Promotion, "p", "dev.raw");
    let deadline = Instant::now() + Duration::from_secs(20);
    let promotion = loop {
        let stored = store.get(&key).await.unwrap().unwrap().object;
        let phase = stored.pointer("/status/phase").and_then(Value::as_str).unwrap_or("").to_owned();
        if matches!(phase.as_str(), "Succeeded" | "Failed" | "Errored") {
            break stored;
        }
        assert!(Instant::now() < deadline, "not finished: {stored:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(promotion["status"]["phase"], "Succeeded", "{promotion:#}");
    assert_eq!(promotion["spec"]["steps"][0]["as"], json!("task-1::note"), "stored expanded: {promotion:#}");
    assert_eq!(promotion["status"]["stepExecutionMetadata"][0]["alias"], json!("task-1::note"));
}
