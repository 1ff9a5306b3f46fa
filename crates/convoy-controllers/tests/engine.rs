//! The Promotion controller over the in-memory store: the engine admits again before running.

use std::sync::Arc;
use std::time::{Duration, Instant};

use convoy_api::Kind;
use convoy_controllers::promotions::PromotionController;
use convoy_engine::NoResources;
use convoy_store::{Key, MemoryStore, Store, StoreExt};
use serde_json::{Value, json};

fn object(yaml: &str) -> Value {
    convoy_api::yaml::parse_documents(yaml).unwrap().remove(0).value
}

/// Runs the Promotion controller over `store` until Promotion `p/<name>` has finished.
async fn run_to_the_end(store: &Arc<dyn Store>, dir: &std::path::Path, name: &str) -> Value {
    let registry = convoy_steps::builtin(Arc::new(convoy_git::Mirrors::new(dir.join("git"))), Arc::new(NoResources));
    let cache = convoy_store::CachedStore::start(store.clone(), convoy_controllers::indexes::all()).await.unwrap();
    let controller = PromotionController::new(cache, registry, dir.join("work"));
    tokio::spawn(controller.run());
    let key = Key::new(Kind::Promotion, "p", name);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let stored = store.get(&key).await.unwrap().unwrap().object;
        let phase = stored.pointer("/status/phase").and_then(Value::as_str).unwrap_or("").to_owned();
        if matches!(phase.as_str(), "Succeeded" | "Failed" | "Errored") {
            return stored;
        }
        assert!(Instant::now() < deadline, "not finished: {stored:#}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Project p, Warehouse w of one image, Freight f1 of it, Stage dev taking it directly.
const PIPELINE: [&str; 4] = [
    "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: p}\n",
    "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata: {name: w, namespace: p}\nspec:\n  subscriptions:\n  - image: {repoURL: ghcr.io/example/app}\n",
    "apiVersion: kargo.akuity.io/v1alpha1\nkind: Freight\nmetadata: {name: f1, namespace: p}\norigin: {kind: Warehouse, name: w}\nimages:\n- {repoURL: ghcr.io/example/app, tag: 1.2.0}\n",
    "apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata: {name: dev, namespace: p}\nspec:\n  requestedFreight:\n  - origin: {kind: Warehouse, name: w}\n    sources: {direct: true}\n",
];

/// A Promotion stored without admission still has its `task:` step; the engine expands it
/// (Kargo's minimal-install failure, "Promotion step must have uses set and must not reference
/// a task", never happens) and runs the task's steps under their expanded aliases.
#[tokio::test]
async fn unexpanded_task_references_are_expanded_not_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
    for yaml in PIPELINE.iter().chain(&[
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: PromotionTask\nmetadata: {name: write, namespace: p}\nspec:\n  vars:\n  - name: file\n  steps:\n  - uses: file-write\n    as: note\n    config:\n      path: ${{ vars.file }}\n      contents: ${{ imageFrom('ghcr.io/example/app').Tag }}\n",
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Promotion\nmetadata: {name: dev.raw, namespace: p}\nspec:\n  stage: dev\n  freight: f1\n  steps:\n  - task: {name: write}\n    vars:\n    - {name: file, value: out.txt}\n",
    ]) {
        store.create(object(yaml)).await.unwrap();
    }
    let promotion = run_to_the_end(&store, dir.path(), "dev.raw").await;
    assert_eq!(promotion["status"]["phase"], "Succeeded", "{promotion:#}");
    assert_eq!(promotion["spec"]["steps"][0]["as"], json!("task-1::note"), "stored expanded: {promotion:#}");
    assert_eq!(promotion["status"]["stepExecutionMetadata"][0]["alias"], json!("task-1::note"));
}

/// `configMap()`, `secret()`, `sharedConfigMap()` and `sharedSecret()` read the store: the
/// project's objects, and the shared project's (Secrets only when labelled for expressions).
#[tokio::test]
async fn expressions_read_config_maps_and_secrets_of_the_project_and_the_shared_project() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
    // Secret values are base64 in `data`: "t0ken", "sh4red", "hidden" (encoded with base64(1)).
    for yaml in PIPELINE.iter().chain(&[
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: p}\ndata: {region: eu-west-1}\n",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: api, namespace: p}\ndata: {token: dDBrZW4=}\n",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: org, namespace: kargo-shared-resources}\ndata: {team: platform}\n",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: shared, namespace: kargo-shared-resources, labels: {kargo.akuity.io/cred-type: generic}}\ndata: {value: c2g0cmVk}\n",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: private, namespace: kargo-shared-resources}\ndata: {value: aGlkZGVu}\n",
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Promotion\nmetadata: {name: dev.look, namespace: p}\nspec:\n  stage: dev\n  freight: f1\n  steps:\n  - uses: compose-output\n    as: look\n    config:\n      region: ${{ configMap('settings').region }}\n      token: ${{ secret('api').token }}\n      team: ${{ sharedConfigMap('org').team }}\n      shared: ${{ sharedSecret('shared').value }}\n      private: ${{ sharedSecret('private').value ?? 'none' }}\n      missing: ${{ secret('nope').token ?? 'none' }}\n",
    ]) {
        store.create(object(yaml)).await.unwrap();
    }
    let promotion = run_to_the_end(&store, dir.path(), "dev.look").await;
    assert_eq!(promotion["status"]["phase"], "Succeeded", "{promotion:#}");
    assert_eq!(
        promotion["status"]["state"]["look"],
        json!({"region": "eu-west-1", "token": "t0ken", "team": "platform", "shared": "sh4red", "private": "none", "missing": "none"}),
        "{promotion:#}"
    );
}

/// Garbage collection keeps the newest 20 finished Promotions of a Stage (and running ones),
/// and Freight up to the oldest a Stage holds plus 20.
#[tokio::test]
async fn garbage_collection_keeps_what_kargo_keeps() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::default());
    for i in 0..26 {
        let phase = if i == 25 { "Running" } else { "Succeeded" };
        store
            .create(json!({
                "apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Promotion",
                "metadata": {"name": format!("dev.{i:03}"), "namespace": "p"},
                "spec": {"stage": "dev", "freight": "f"},
                "status": {"phase": phase}
            }))
            .await
            .unwrap();
        store
            .create(json!({
                "apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Freight",
                "metadata": {"name": format!("f{i:03}"), "namespace": "p"},
                "discoveredAt": format!("2024-01-01T00:00:{i:02}Z"),
                "origin": {"kind": "Warehouse", "name": "w"},
                "images": [{"repoURL": "r", "tag": format!("{i}")}]
            }))
            .await
            .unwrap();
    }
    // A Stage holds the second-newest Freight: it and the newest stay, plus 20 older; 4 go.
    store
        .create(json!({
            "apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Stage",
            "metadata": {"name": "dev", "namespace": "p"},
            "spec": {"requestedFreight": [{"origin": {"kind": "Warehouse", "name": "w"}, "sources": {"direct": true}}]},
            "status": {"freightHistory": [{"id": "x", "items": {"Warehouse/w": {"name": "f024", "origin": {"kind": "Warehouse", "name": "w"}}}}]}
        }))
        .await
        .unwrap();
    let settings =
        convoy_controllers::gc::Settings { keep: 20, min_age: Duration::ZERO, interval: Duration::from_secs(3600) };
    let deleted = convoy_controllers::gc::collect(&*store, &settings).await.unwrap();
    let names = |kind| {
        let store = store.clone();
        async move {
            let (list, _) = store.list(kind, Some("p"), &convoy_store::LabelSelector::everything()).await.unwrap();
            list.into_iter().map(|s| s.key.name).collect::<Vec<_>>()
        }
    };
    let promotions = names(Kind::Promotion).await;
    assert_eq!(promotions.len(), 21, "20 finished + the running one: {promotions:?}");
    assert!(!promotions.contains(&"dev.004".to_owned()) && promotions.contains(&"dev.005".to_owned()));
    let freight = names(Kind::Freight).await;
    assert_eq!(freight.len(), 22, "{freight:?}");
    assert!(
        !freight.contains(&"f003".to_owned()) && freight.contains(&"f004".to_owned()),
        "the oldest went: {freight:?}"
    );
    assert_eq!(deleted, 5 + 4);
}
