//! `migrate_set`: Kargo v0.x manifests to v1. Expected steps written from v0's documented
//! semantics (edits on the write branch; Render builds the Freight's commit, or readBranch,
//! into the write branch; argoCDAppUpdates sync what was pushed).

use convoy_core::migrate::migrate_set;
use serde_json::{Value, json};

fn stage(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Stage", "metadata": {"name": name, "namespace": "p"}, "spec": spec})
}

fn warehouse(subscriptions: Value) -> Value {
    json!({"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Warehouse", "metadata": {"name": "w", "namespace": "p"}, "spec": {"subscriptions": subscriptions}})
}

fn steps(value: &Value) -> Vec<&str> {
    value
        .pointer("/spec/promotionTemplate/spec/steps")
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .map(|s| s["uses"].as_str().unwrap())
        .collect()
}

#[test]
fn subscriptions_become_requested_freight_through_the_upstream_chain() {
    let docs = vec![
        stage("c", json!({"subscriptions": {"upstreamStages": [{"name": "b"}]}})),
        stage("b", json!({"subscriptions": {"upstreamStages": [{"name": "a"}]}})),
        stage("a", json!({"subscriptions": {"warehouse": "w"}})),
    ];
    let out = migrate_set(&docs);
    assert!(out.errors.is_empty(), "{:?}", out.errors);
    let request = |i: usize| out.documents[i].as_ref().unwrap().value["spec"]["requestedFreight"].clone();
    assert_eq!(request(0), json!([{"origin": {"kind": "Warehouse", "name": "w"}, "sources": {"stages": ["b"]}}]));
    assert_eq!(request(2), json!([{"origin": {"kind": "Warehouse", "name": "w"}, "sources": {"direct": true}}]));
    // Without the root Stage, the Warehouse is unknown: an error, nothing guessed.
    let out = migrate_set(&docs[..2]);
    assert_eq!(out.errors.len(), 2, "{:?}", out.errors);
    assert!(out.errors[0].1.contains("migrate the Stages of the pipeline together"));
}

#[test]
fn kustomize_and_helm_edit_the_write_branch() {
    let mechanisms = json!({"gitRepoUpdates": [{
        "repoURL": "https://git.example.com/config.git", "writeBranch": "main",
        "kustomize": {"images": [{"image": "ghcr.io/a/app", "path": "env/dev", "useDigest": true}]},
        "helm": {"images": [{"image": "ghcr.io/a/app", "valuesFilePath": "values.yaml", "key": "image", "value": "ImageAndTag"}],
                 "charts": [{"repository": "oci://ghcr.io/a/charts", "name": "lib", "chartPath": "chart"}]}
    }]});
    let out =
        migrate_set(&[stage("dev", json!({"subscriptions": {"warehouse": "w"}, "promotionMechanisms": mechanisms}))]);
    let value = &out.documents[0].as_ref().unwrap().value;
    assert_eq!(
        steps(value),
        vec!["git-clone", "kustomize-set-image", "yaml-update", "helm-update-chart", "git-commit", "git-push"]
    );
    let step = |i: usize| value.pointer(&format!("/spec/promotionTemplate/spec/steps/{i}/config")).unwrap().clone();
    assert_eq!(step(0)["checkout"], json!([{"branch": "main", "path": "./src"}]));
    assert_eq!(
        step(1)["images"],
        json!([{"image": "ghcr.io/a/app", "digest": "${{ imageFrom(\"ghcr.io/a/app\").Digest }}"}])
    );
    assert_eq!(step(1)["path"], "./src/env/dev");
    assert_eq!(
        step(2)["updates"],
        json!([{"key": "image", "value": "ghcr.io/a/app:${{ imageFrom(\"ghcr.io/a/app\").Tag }}"}])
    );
    // An OCI chart is subscribed to by its full reference.
    assert_eq!(step(3)["charts"][0]["version"], "${{ chartFrom(\"oci://ghcr.io/a/charts/lib\").Version }}");
    assert_eq!(step(5), json!({"path": "./src"}));
}

#[test]
fn render_builds_the_freights_commit_into_the_write_branch_and_argocd_syncs_the_push() {
    let mechanisms = json!({
        "origin": {"kind": "Warehouse", "name": "w"},
        "gitRepoUpdates": [{"repoURL": "https://git.example.com/config.git", "writeBranch": "env/dev", "render": {}}],
        "argoCDAppUpdates": [{"appName": "app-dev", "sourceUpdates": [
            {"repoURL": "https://git.example.com/config.git", "updateTargetRevision": true},
            {"repoURL": "https://charts.example.com", "chart": "app", "updateTargetRevision": true}
        ]}]
    });
    let docs = vec![
        warehouse(json!([{"git": {"repoURL": "https://git.example.com/config"}}])),
        stage("dev", json!({"subscriptions": {"warehouse": "w"}, "promotionMechanisms": mechanisms})),
    ];
    let out = migrate_set(&docs);
    let value = &out.documents[1].as_ref().unwrap().value;
    assert_eq!(
        steps(value),
        vec!["git-clone", "git-clear", "kustomize-build", "git-commit", "git-push", "argocd-update"]
    );
    let clone = value.pointer("/spec/promotionTemplate/spec/steps/0/config/checkout").unwrap();
    // The Warehouse subscribes to the repository (URLs compared normalized): the Freight's commit.
    assert_eq!(
        clone,
        &json!([
            {"commit": "${{ commitFrom(\"https://git.example.com/config.git\", warehouse(\"w\")).ID }}", "path": "./src"},
            {"branch": "env/dev", "create": true, "path": "./out"}
        ])
    );
    let build = value.pointer("/spec/promotionTemplate/spec/steps/2/config").unwrap();
    assert_eq!(build, &json!({"path": "./src/env/dev", "outPath": "./out"}));
    let sources = value.pointer("/spec/promotionTemplate/spec/steps/5/config/apps/0/sources").unwrap();
    assert_eq!(sources[0]["desiredRevision"], "${{ outputs[\"commit\"].commit }}", "the commit just pushed");
    assert_eq!(
        sources[1]["desiredRevision"],
        "${{ chartFrom(\"https://charts.example.com\", \"app\", warehouse(\"w\")).Version }}"
    );
}

#[test]
fn project_policies_move_to_a_project_config_and_v1_documents_are_left_alone() {
    let project = json!({"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Project", "metadata": {"name": "p"},
        "spec": {"promotionPolicies": [{"stage": "dev", "autoPromotionEnabled": true}]}});
    let v1 = stage(
        "x",
        json!({"requestedFreight": [{"origin": {"kind": "Warehouse", "name": "w"}, "sources": {"direct": true}}]}),
    );
    let out = migrate_set(&[project, v1]);
    assert_eq!(out.documents[0].as_ref().unwrap().value.get("spec"), None);
    assert!(out.documents[1].is_none(), "nothing to change");
    assert_eq!(
        out.added,
        vec![
            json!({"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "ProjectConfig", "metadata": {"name": "p", "namespace": "p"},
            "spec": {"promotionPolicies": [{"stage": "dev", "autoPromotionEnabled": true}]}})
        ]
    );
}
