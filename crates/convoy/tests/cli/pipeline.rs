//! A pipeline end to end: dev and staging auto-promote (ProjectConfig policy), prod is manual with
//! a soak time, so the Freight is refused there until it is approved.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::promote::stdout;
use super::server::Server;

const MANIFESTS: &str = r#"apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata: {name: demo}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: ProjectConfig
metadata: {name: demo, namespace: demo}
spec:
  promotionPolicies:
  - stageSelector: {name: "regex:^(dev|staging)$"}
    autoPromotionEnabled: true
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {name: app, namespace: demo}
spec:
  interval: 1h
  freightCreationPolicy: Manual
  subscriptions:
  - image: {repoURL: ghcr.io/example/app}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Freight
metadata: {namespace: demo}
alias: first
origin: {kind: Warehouse, name: app}
images:
- {repoURL: ghcr.io/example/app, tag: 1.0.0}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: PromotionTask
metadata: {name: deploy, namespace: demo}
spec:
  steps:
  - uses: compose-output
    as: record
    config:
      tag: ${{ imageFrom('ghcr.io/example/app').Tag }}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {name: dev, namespace: demo}
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: app}
    sources: {direct: true}
  promotionTemplate:
    spec:
      steps:
      - task: {name: deploy}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {name: staging, namespace: demo}
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: app}
    sources: {stages: [dev]}
  promotionTemplate:
    spec:
      steps:
      - task: {name: deploy}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {name: prod, namespace: demo}
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: app}
    sources: {stages: [staging], requiredSoakTime: 1h}
  promotionTemplate:
    spec:
      steps:
      - task: {name: deploy}
"#;

fn get(server: &Server, kind: &str, name: &str) -> Value {
    let out = server.convoy().args(["-p", "demo", "get", kind, name, "-o", "json"]).output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn wait_until(server: &Server, what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}\n{}", server.log());
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn auto_promotion_flows_to_staging_and_prod_needs_approval() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("pipeline.yaml");
    std::fs::write(&manifests, MANIFESTS).unwrap();
    let server = Server::start(dir.path());
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&manifests).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = server.convoy().args(["-p", "demo", "get", "freight", "-o", "json"]).output().unwrap();
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let freight = list["items"][0]["metadata"]["name"].as_str().unwrap().to_owned();

    // dev takes it directly, staging once dev verified it: no one asked.
    wait_until(&server, "the Freight verified in staging", || {
        let f = get(&server, "freight", &freight);
        f.pointer("/status/verifiedIn/staging").is_some() && f.pointer("/status/currentlyIn/staging").is_some()
    });
    let staging = get(&server, "stage", "staging");
    assert_eq!(staging.pointer("/status/freightSummary"), Some(&Value::String(freight.clone())), "{staging:#}");
    assert_eq!(staging.pointer("/status/autoPromotionEnabled"), Some(&Value::Bool(true)));
    assert_eq!(
        staging.pointer("/status/freightHistory/0/verificationHistory/0/phase"),
        Some(&Value::String("Successful".into()))
    );
    let out = server.convoy().args(["-p", "demo", "get", "promotions", "-o", "json"]).output().unwrap();
    let promotions: Value = serde_json::from_slice(&out.stdout).unwrap();
    let actors: Vec<&str> = promotions["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.pointer("/metadata/annotations/kargo.akuity.io~1create-actor").and_then(Value::as_str))
        .collect();
    assert_eq!(
        actors,
        ["controller:convoy", "controller:convoy"],
        "two auto-promotions, none for prod: {promotions:#}"
    );

    // prod is manual and wants an hour of soak in staging: refused, saying so.
    let promote_prod = || {
        server
            .convoy()
            .args(["-p", "demo", "promote", "--freight", &freight, "--stage", "prod", "--wait"])
            .output()
            .unwrap()
    };
    let out = promote_prod();
    assert_eq!(out.status.code(), Some(1));
    let refusal = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(refusal.contains("not available") && refusal.contains("soak"), "{refusal}");

    // Approved for prod, it goes.
    let out = server
        .convoy()
        .args(["-p", "demo", "approve", "--freight-alias", "first", "--stage", "prod"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = promote_prod();
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    wait_until(&server, "prod to record the Freight", || {
        get(&server, "freight", &freight).pointer("/status/currentlyIn/prod").is_some()
    });
    assert!(get(&server, "stage", "prod").pointer("/status/autoPromotionEnabled") == Some(&Value::Bool(false)));
}
