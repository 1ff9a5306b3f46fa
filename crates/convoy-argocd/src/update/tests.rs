use super::*;

fn update(yaml: &str) -> Vec<SourceUpdate> {
    serde_json::from_value(serde_json::to_value(serde_yaml_free(yaml)).unwrap()).unwrap()
}

/// Test configs are written as JSON to keep this crate free of a YAML parser.
fn serde_yaml_free(json: &str) -> Value {
    serde_json::from_str(json).unwrap()
}

fn app(spec: Value) -> Value {
    json!({"metadata": {"name": "guestbook", "namespace": "argocd"}, "spec": spec})
}

#[test]
fn desired_revisions_compare_urls_exactly_and_sources_normalised() {
    let app = app(json!({"source": {"repoURL": "https://github.com/Org/Repo.git", "targetRevision": "main"}}));
    let updates = update(
        r#"[{"repoURL": "https://github.com/org/repo", "desiredRevision": "abc", "updateTargetRevision": true,
        "kustomize": {"images": [{"repoURL": "nginx", "tag": "1.27"}, {"repoURL": "redis", "digest": "sha256:0f", "newName": "mirror/redis"}]}}]"#,
    );
    // Kargo's quirk: the revision look-up is byte-exact, so no desired revision here...
    assert_eq!(desired_revisions(App(&app), &updates), vec![String::new()]);
    // ...while the images go to the source whose normalised URL matches.
    let sources = desired_sources(App(&app), &updates, &[String::new()]).unwrap();
    assert_eq!(sources[0]["targetRevision"], "main", "no desired revision, no target change");
    assert_eq!(sources[0]["kustomize"]["images"], json!(["nginx:1.27", "redis=mirror/redis@sha256:0f"]));
}

#[test]
fn helm_parameters_are_replaced_in_place_or_appended() {
    let app = app(json!({"sources": [
        {"repoURL": "https://charts.example.com", "chart": "web", "targetRevision": "1.0.0",
         "helm": {"parameters": [{"name": "image.tag", "value": "old", "forceString": true}, {"name": "keep", "value": "x"}]}},
        {"repoURL": "https://github.com/org/values", "targetRevision": "main"}]}));
    let updates = update(
        r#"[{"repoURL": "https://charts.example.com", "chart": "web", "desiredRevision": "1.2.0", "updateTargetRevision": true,
        "helm": {"images": [{"key": "image.tag", "value": "v2"}, {"key": "image.repository", "value": "ghcr.io/x"}]}}]"#,
    );
    let desired = desired_revisions(App(&app), &updates);
    assert_eq!(desired, vec!["1.2.0".to_owned(), String::new()]);
    let sources = desired_sources(App(&app), &updates, &desired).unwrap();
    assert_eq!(sources[0]["targetRevision"], "1.2.0");
    assert_eq!(
        sources[0]["helm"]["parameters"],
        json!([{"name": "image.tag", "value": "v2"}, {"name": "keep", "value": "x"}, {"name": "image.repository", "value": "ghcr.io/x"}])
    );
    assert_eq!(sources[1], app["spec"]["sources"][1], "an update never touches two sources");
}

#[test]
fn an_update_matching_no_source_names_the_source() {
    let app = app(json!({"source": {"repoURL": "https://github.com/org/repo"}}));
    let updates = update(r#"[{"repoURL": "https://charts.example.com", "chart": "web"}]"#);
    let error = desired_sources(App(&app), &updates, &[String::new()]).unwrap_err();
    assert_eq!(
        error,
        "no source of Argo CD Application \"guestbook\" in namespace \"argocd\" matched update for source with repoURL https://charts.example.com and chart \"web\""
    );
}

fn with_state(state: Value) -> Value {
    let mut app = app(json!({"source": {"repoURL": "r"}}));
    app["status"] = json!({"operationState": state});
    app
}

fn ours(phase: &str, promotion: &str) -> Value {
    json!({"phase": phase, "operation": {"info": [{"name": "Reason", "value": "x"}, {"name": PROMOTION_INFO, "value": promotion}]}})
}

#[test]
fn kargo_decides_when_to_sync_in_its_order() {
    let desired = vec!["abc".to_owned()];
    let decide = |state: Value| must_sync(App(&with_state(state)), "p1", &desired);
    let mut app = app(json!({}));
    assert!(matches!(must_sync(App(&app), "p1", &desired), Decision::Sync(_)), "no operation state");
    app["status"] = json!({});
    assert_eq!(decide(json!({"phase": "Running"})), Decision::Wait("Running".into()), "someone else's operation runs");
    assert!(matches!(decide(json!({"phase": "Succeeded"})), Decision::Sync(_)), "someone else's finished");
    assert_eq!(decide(ours("Running", "p0")), Decision::Wait("Running".into()), "an older promotion's runs");
    assert!(matches!(decide(ours("Failed", "p0")), Decision::Sync(_)), "an older promotion's finished");
    assert_eq!(decide(ours("Terminating", "p1")), Decision::Wait("Terminating".into()));
    assert_eq!(decide(ours("Succeeded", "p1")), Decision::Sync("operation completed without a sync result".into()));
    let mut synced = ours("Succeeded", "p1");
    synced["syncResult"] = json!({"revision": "abc"});
    assert_eq!(decide(synced.clone()), Decision::Done("Succeeded".into()));
    synced["syncResult"] = json!({"revision": "old"});
    assert_eq!(
        decide(synced.clone()),
        Decision::Sync("sync result revisions [old] do not match desired revisions [abc]".into())
    );
    // An error before revisions resolved leaves none: synced again rather than failed.
    let mut errored = ours("Error", "p1");
    errored["syncResult"] = json!({"revision": ""});
    assert!(matches!(decide(errored), Decision::Sync(_)));
    // Without desired revisions a completed operation is the answer, failed or not.
    let mut failed = ours("Failed", "p1");
    failed["syncResult"] = json!({"revision": "x"});
    assert_eq!(must_sync(App(&with_state(failed)), "p1", &[String::new()]), Decision::Done("Failed".into()));
}

#[test]
fn phases_aggregate_failed_first_then_running_then_succeeded() {
    let phases = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(aggregate(&phases(&["Succeeded", "Running"])), Some("Running"));
    assert_eq!(aggregate(&phases(&["Succeeded", "Terminating", "Error"])), Some("Error"));
    assert_eq!(aggregate(&phases(&["Error", "Failed"])), Some("Failed"));
    assert_eq!(aggregate(&phases(&["Succeeded", "Zzz", "Aaa"])), Some("Succeeded"), "unknown phases sort last");
    assert_eq!(aggregate(&phases(&["Zzz", "Aaa"])), Some("Aaa"));
    assert_eq!(aggregate(&[]), None);
}

#[test]
fn the_operation_names_the_person_or_the_controller() {
    let mut app = app(json!({"syncPolicy": {"syncOptions": ["CreateNamespace=true"],
        "retry": {"limit": 2, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"}, "refresh": true}}}));
    let automated = operation(App(&app), "prod.01abc", "");
    assert_eq!(
        automated,
        json!({"sync": {"syncOptions": ["CreateNamespace=true"]},
               "initiatedBy": {"username": "kargo-controller", "automated": true},
               "info": [{"name": "Reason", "value": "Promotion triggered a sync of this Application resource."},
                        {"name": "kargo.akuity.io/promotion", "value": "prod.01abc"}],
               "retry": {"limit": 2, "backoff": {"duration": "5s", "factor": 2, "maxDuration": "3m"}}})
    );
    assert_eq!(operation(App(&app), "p", "email:a@b.c")["initiatedBy"], json!({"username": "a@b.c"}));
    assert_eq!(operation(App(&app), "p", "admin")["initiatedBy"], json!({"username": "admin"}));
    assert_eq!(operation(App(&app), "p", "unknown actor")["initiatedBy"]["automated"], true);
    app["spec"] = json!({});
    let bare = operation(App(&app), "p", "");
    assert_eq!((bare["sync"].clone(), bare["retry"].clone()), (json!({}), json!({})));
}
