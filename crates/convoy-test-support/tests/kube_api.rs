//! The Kubernetes API double against the API conventions it claims (reference `argocd.md` §6),
//! through kube-rs as Convoy's client uses it: optimistic concurrency, patch types, Status
//! reasons, selectors, and watches from a version.

use convoy_test_support::argocd::application;
use convoy_test_support::kube_api::{KubeApi, applications};
use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, WatchEvent, WatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

fn apps(api: &KubeApi) -> Api<DynamicObject> {
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("argoproj.io", "v1alpha1", "Application"),
        "applications",
    );
    Api::namespaced_with(api.client(), "argocd", &resource)
}

fn reason(error: kube::Error) -> (u16, String) {
    match error {
        kube::Error::Api(status) => (status.code, status.reason),
        other => panic!("not an API error: {other}"),
    }
}

fn version(object: &DynamicObject) -> String {
    object.metadata.resource_version.clone().unwrap()
}

#[tokio::test]
async fn writes_follow_optimistic_concurrency_and_the_patch_types() {
    let api = KubeApi::new();
    api.apply(&applications(), application("a", "https://git.example.com/r", "main", ".", ""));
    let client = apps(&api);
    let read = client.get("a").await.unwrap();
    let first = version(&read);
    // A merge patch guarded by the version read succeeds once; the same guard then conflicts.
    let guarded = json!({"metadata": {"resourceVersion": first}, "spec": {"source": {"targetRevision": "v2"}}});
    let patched = client.patch("a", &PatchParams::default(), &Patch::Merge(&guarded)).await.unwrap();
    assert_ne!(version(&patched), first);
    assert_eq!(patched.data["spec"]["source"]["path"], ".", "a merge patch keeps what it does not name");
    let (code, why) = reason(client.patch("a", &PatchParams::default(), &Patch::Merge(&guarded)).await.unwrap_err());
    assert_eq!((code, why.as_str()), (409, "Conflict"));
    // A patch that changes nothing stores nothing: same version.
    let same = json!({"spec": {"source": {"targetRevision": "v2"}}});
    let unchanged = client.patch("a", &PatchParams::default(), &Patch::Merge(&same)).await.unwrap();
    assert_eq!(version(&unchanged), version(&patched));
    // `null` removes a key.
    let removed = client
        .patch("a", &PatchParams::default(), &Patch::Merge(&json!({"spec": {"source": {"path": null}}})))
        .await
        .unwrap();
    assert!(removed.data["spec"]["source"].get("path").is_none());
    // A JSON patch whose test of the version fails is a conflict; a good one applies.
    let stale: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/metadata/resourceVersion", "value": first},
        {"op": "replace", "path": "/spec/source/targetRevision", "value": "v3"},
    ]))
    .unwrap();
    let (code, _) = reason(client.patch("a", &PatchParams::default(), &Patch::<()>::Json(stale)).await.unwrap_err());
    assert_eq!(code, 409);
    let fresh: json_patch::Patch =
        serde_json::from_value(json!([{"op": "replace", "path": "/spec/source/targetRevision", "value": "v3"}]))
            .unwrap();
    let applied = client.patch("a", &PatchParams::default(), &Patch::<()>::Json(fresh)).await.unwrap();
    assert_eq!(applied.data["spec"]["source"]["targetRevision"], "v3");
    // Custom resources take no strategic merge patch.
    let (code, why) = reason(client.patch("a", &PatchParams::default(), &Patch::Strategic(&same)).await.unwrap_err());
    assert_eq!((code, why.as_str()), (415, "UnsupportedMediaType"));
    // Required fields, missing objects, refusals on demand.
    let invalid = json!({"spec": {"project": null}});
    let (code, why) = reason(client.patch("a", &PatchParams::default(), &Patch::Merge(&invalid)).await.unwrap_err());
    assert_eq!((code, why.as_str()), (422, "Invalid"));
    let (code, why) = reason(client.get("nope").await.unwrap_err());
    assert_eq!((code, why.as_str()), (404, "NotFound"));
    api.deny("get", "applications");
    let (code, why) = reason(client.get("a").await.unwrap_err());
    assert_eq!((code, why.as_str()), (403, "Forbidden"));
}

#[tokio::test]
async fn lists_select_by_label_and_watches_resume_from_a_version() {
    let api = KubeApi::new();
    let labelled = |name: &str, env: &str| {
        let mut app = application(name, "https://git.example.com/r", "main", ".", "");
        app["metadata"]["labels"] = json!({"env": env});
        api.apply(&applications(), app)
    };
    labelled("dev", "dev");
    let from = labelled("prod", "prod")["metadata"]["resourceVersion"].as_str().unwrap().to_owned();
    let client = apps(&api);
    let names = |list: Vec<DynamicObject>| list.into_iter().map(|o| o.metadata.name.unwrap()).collect::<Vec<_>>();
    let listed = client.list(&ListParams::default().labels("env in (dev,staging)")).await.unwrap();
    assert!(!listed.metadata.resource_version.clone().unwrap_or_default().is_empty());
    assert_eq!(names(listed.items), vec!["dev"]);
    assert_eq!(names(client.list(&ListParams::default().labels("env!=dev")).await.unwrap().items), vec!["prod"]);
    assert_eq!(names(client.list(&ListParams::default().labels("!env")).await.unwrap().items), Vec::<String>::new());
    let (code, _) = reason(client.list(&ListParams::default().labels("env in (dev")).await.unwrap_err());
    assert_eq!(code, 400);

    // A watch from a version sees what came after it, in order; with a selector an object that
    // stops matching is DELETED for that watcher.
    let watch = client.watch(&WatchParams::default().labels("env=dev").timeout(5), &from).await.unwrap();
    let mut watch = watch.boxed();
    api.modify(&applications(), "argocd", "dev", |a| a["spec"]["source"]["targetRevision"] = json!("v2"));
    api.modify(&applications(), "argocd", "dev", |a| a["metadata"]["labels"]["env"] = json!("qa"));
    let mut seen = Vec::new();
    while seen.len() < 2 {
        match watch.try_next().await.unwrap().expect("the watch stays open") {
            WatchEvent::Modified(o) => seen.push(("MODIFIED", o.data["spec"]["source"]["targetRevision"].clone())),
            WatchEvent::Deleted(o) => seen.push(("DELETED", Value::from(o.metadata.labels.unwrap()["env"].clone()))),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(seen, vec![("MODIFIED", Value::from("v2")), ("DELETED", Value::from("qa"))]);
}
