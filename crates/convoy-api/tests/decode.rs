//! Decoding Kargo documents: shapes, unknown fields, round trips.

use convoy_api::yaml::parse_documents;
use convoy_api::{Kind, Resource, Subscription};
use serde_json::json;

fn decode_one(text: &str) -> Result<Resource, convoy_api::DecodeError> {
    let docs = parse_documents(text).expect("valid YAML");
    Resource::decode(&docs[0].value).map(|r| r.expect("known kind"))
}

const STAGE_WITH_TYPO: &str = "\
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {name: dev, namespace: p}
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: w}
    sources: {direct: true}
  promotionTemplate:
    spec:
      step:
      - uses: fail
";

#[test]
fn unknown_field_names_its_path_and_the_close_field() {
    let err = decode_one(STAGE_WITH_TYPO).unwrap_err();
    assert_eq!(err.path, "spec.promotionTemplate.spec.step");
    assert_eq!(err.message, "unknown field; did you mean \"steps\"?");
    let doc = &parse_documents(STAGE_WITH_TYPO).unwrap()[0];
    assert_eq!(doc.position_of(&err.path).line, 10);
}

#[test]
fn unknown_field_deep_in_a_list_keeps_the_index() {
    let text = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata: {name: w}\nspec:\n  subscriptions:\n  - image: {repoURL: a/b}\n  - git: {repoUrl: https://x/y}\n";
    let err = decode_one(text).unwrap_err();
    assert_eq!(err.path, "spec.subscriptions[1].git.repoUrl");
    assert_eq!(err.message, "unknown field; did you mean \"repoURL\"?");
}

#[test]
fn wrong_type_is_reported_at_its_field() {
    let text = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata: {name: s}\nspec:\n  requestedFreight:\n  - origin: {kind: Warehouse, name: w}\n    sources: {direct: maybe}\n";
    let err = decode_one(text).unwrap_err();
    assert_eq!(err.path, "spec.requestedFreight[0].sources.direct");
    assert!(err.message.contains("expected a boolean"), "{}", err.message);
}

#[test]
fn free_form_fields_stay_free_form() {
    let text = "apiVersion: kargo.akuity.io/v1alpha1\nkind: PromotionTask\nmetadata:\n  name: t\n  labels: {anything: goes}\n  annotations: {kargo.akuity.io/color: red}\nspec:\n  steps:\n  - uses: yaml-update\n    config: {path: a.yaml, whatever: {nested: [1, 2]}}\n";
    let Resource::PromotionTask(task) = decode_one(text).unwrap() else { panic!() };
    assert_eq!(task.spec.steps[0].config, Some(json!({"path": "a.yaml", "whatever": {"nested": [1, 2]}})));
}

#[test]
fn generic_subscriptions_are_preserved_and_mixed_types_rejected() {
    let text = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata: {name: w}\nspec:\n  subscriptions:\n  - custom: {name: feed, config: {url: x}}\n";
    let Resource::Warehouse(w) = decode_one(text).unwrap() else { panic!() };
    match &w.spec.subscriptions[0] {
        Subscription::Generic { subscription_type, body } => {
            assert_eq!(subscription_type, "custom");
            assert_eq!(body.config, Some(json!({"url": "x"})));
        }
        other => panic!("{other:?}"),
    }
    let two = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata: {name: w}\nspec:\n  subscriptions:\n  - {git: {repoURL: https://a/b}, image: {repoURL: a/b}}\n";
    let err = decode_one(two).unwrap_err();
    assert_eq!(err.path, "spec.subscriptions[0]");
    assert!(err.message.contains("more than one type"));
}

#[test]
fn status_and_standard_metadata_are_accepted() {
    let text = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata:\n  name: s\n  namespace: p\n  uid: 1234\n  resourceVersion: \"42\"\n  generation: 3\n  creationTimestamp: \"2024-01-01T00:00:00Z\"\n  finalizers: [kargo.akuity.io/finalizer]\n  managedFields: [{manager: kubectl}]\nspec:\n  requestedFreight: []\nstatus:\n  freightSummary: abc\n  somethingNewer: true\n";
    let Resource::Stage(stage) = decode_one(text.replace("uid: 1234", "uid: \"1234\"").as_str()).unwrap() else {
        panic!()
    };
    assert_eq!(stage.metadata.resource_version.as_deref(), Some("42"));
    assert_eq!(stage.status.unwrap().freight_summary.as_deref(), Some("abc"));
}

#[test]
fn project_spec_points_at_project_config() {
    let err = decode_one(
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: p}\nspec: {promotionPolicies: []}\n",
    )
    .unwrap_err();
    assert_eq!(err.path, "spec");
    assert!(err.hint.unwrap().contains("ProjectConfig"));
}

#[test]
fn kinds_and_api_versions() {
    let docs = parse_documents("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n").unwrap();
    assert_eq!(Resource::decode(&docs[0].value).unwrap(), None);
    let err = decode_one("apiVersion: kargo.akuity.io/v1alpha1\nkind: Stag\nmetadata: {name: d}\n").unwrap_err();
    assert_eq!(err.path, "kind");
    assert_eq!(err.hint.as_deref(), Some("did you mean \"Stage\"?"));
    let err = decode_one("apiVersion: kargo.akuity.io/v1\nkind: Stage\nmetadata: {name: d}\n").unwrap_err();
    assert_eq!(err.path, "apiVersion");
    assert_eq!(Kind::from_cli("promos"), Some(Kind::Promotion));
    assert_eq!(Kind::from_cli("clusterpromotask"), Some(Kind::ClusterPromotionTask));
    assert_eq!(Kind::from_cli("Stages"), Some(Kind::Stage));
    assert_eq!(Kind::from_cli("configmap"), Some(Kind::ConfigMap));
}

#[test]
fn secret_debug_output_never_shows_values() {
    let Resource::Secret(secret) =
        decode_one("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {password: hunter2}\n").unwrap()
    else {
        panic!()
    };
    let shown = format!("{secret:?}");
    assert!(!shown.contains("hunter2"));
    assert!(shown.contains("password"));
}

/// Parse -> serialize -> parse gives the same value, for every document in examples/.
#[test]
fn examples_round_trip() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        for doc in parse_documents(&std::fs::read_to_string(&path).unwrap()).unwrap() {
            let first = Resource::decode(&doc.value).unwrap().unwrap();
            let yaml = serde_yaml::to_string(&first.to_value()).unwrap();
            let again = parse_documents(&yaml).unwrap();
            let second = Resource::decode(&again[0].value).unwrap().unwrap();
            assert_eq!(first, second, "{}", path.display());
            seen += 1;
        }
    }
    assert!(seen >= 9, "examples hold {seen} documents");
}
