//! `Resource::read`: manifests read as Kargo behind an API server reads them.

use convoy_api::{Resource, Subscription};
use serde_json::{Value, json};

fn warehouse(spec: Value) -> Value {
    json!({"apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Warehouse", "metadata": {"name": "w", "namespace": "p"}, "spec": spec})
}

#[test]
fn nulls_are_absent_fields_but_stay_in_free_form_config() {
    let stage = json!({
        "apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Stage",
        "metadata": {"name": "s", "namespace": "p", "labels": null},
        "spec": {"vars": null, "requestedFreight": [{"origin": {"kind": "Warehouse", "name": "w"}, "sources": {"direct": true, "stages": null}}],
                 "promotionTemplate": {"spec": {"steps": [{"uses": "fail", "config": {"message": null}}]}}}
    });
    let read = Resource::read(&stage).unwrap().unwrap();
    assert!(read.warnings.is_empty(), "{:?}", read.warnings);
    let Resource::Stage(stage) = read.resource else { panic!("a Stage") };
    assert!(stage.spec.vars.is_empty() && stage.spec.requested_freight[0].sources.stages.is_empty());
    let config = stage.spec.promotion_template.unwrap().spec.steps[0].config.clone().unwrap();
    assert_eq!(config, json!({"message": null}), "a step's config is free-form: its null is a value");
}

#[test]
fn spellings_in_another_case_are_read_and_both_spellings_keep_kargos() {
    let read = Resource::read(&warehouse(json!({"subscriptions": [{"git": {"repoURL": "https://x/y.git", "RepoUrl": "https://other/z.git"}}], "Interval": "1m"}))).unwrap().unwrap();
    let mut paths: Vec<&str> = read.warnings.iter().map(|w| w.path.as_str()).collect();
    paths.sort();
    assert_eq!(paths, vec!["spec.Interval", "spec.subscriptions[0].git.RepoUrl"]);
    let both = read.warnings.iter().find(|w| w.path.ends_with("RepoUrl")).unwrap();
    assert!(both.message.contains("\"repoURL\" is given too"), "{both:?}");
    let Resource::Warehouse(w) = read.resource else { panic!() };
    assert_eq!(w.spec.interval.as_deref(), Some("1m"));
    let Subscription::Git(git) = &w.spec.subscriptions[0] else { panic!() };
    assert_eq!(git.repo_url, "https://x/y.git");
}

#[test]
fn unknown_fields_outside_subscriptions_are_all_errors() {
    let mut value = warehouse(json!({"subscriptions": [], "shardd": "a"}));
    value["metadata"]["nam"] = json!("x");
    let errors = Resource::read(&value).unwrap_err();
    let mut paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    paths.sort();
    assert_eq!(paths, vec!["metadata.nam", "spec.shardd"]);
    assert!(errors.iter().all(|e| e.message.starts_with("unknown field")));
}

#[test]
fn a_document_of_thousands_of_unknown_fields_is_read_in_bounded_work() {
    let spec: serde_json::Map<String, Value> = (0..10_000).map(|i| (format!("bogus{i}"), json!(i))).collect();
    let started = std::time::Instant::now();
    let errors = Resource::read(&warehouse(Value::Object(spec))).unwrap_err();
    assert_eq!(errors.len(), 65, "64 problems and the note that reading stopped");
    assert!(errors.last().unwrap().message.contains("stopped reading"));
    // Not a timing test of speed: a guard against quadratic work (10,000 re-decodes).
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn strict_decode_of_stored_objects_is_unchanged() {
    let value = warehouse(json!({"subscriptions": [{"image": {"repoURL": "r", "strictSemver": true}}]}));
    let error = Resource::decode(&value).unwrap_err();
    assert_eq!(error.path, "spec.subscriptions[0].image.strictSemver");
    let read = Resource::read(&value).unwrap().unwrap();
    assert_eq!(read.warnings[0].hint.as_deref(), Some("did you mean \"strictSemvers\"?"));
}
