//! The whole pipeline on real services: an image in a real registry, a config repository in
//! real git, dev → staging → prod (control-flow) → prod-a and prod-b. dev and staging
//! auto-promote, dev verifies through a web metric that fails once first; prod-a is promotable by
//! hand, prod-b needs an hour of soak and is refused until approved. A new tag then flows to dev
//! and staging on its own.

use serde_json::Value;

use super::pipeline::health_endpoint;
use super::promote::{git, stdout};
use super::server::Server;

fn manifests(image: &str, repo: &str, health: u16) -> String {
    let stage = |name: &str, sources: &str, extra: &str, steps: bool| {
        let template =
            if steps { "  promotionTemplate:\n    spec:\n      steps:\n      - task: {name: deploy}\n" } else { "" };
        format!(
            "---\napiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata: {{name: {name}, namespace: shop}}\nspec:\n{extra}  requestedFreight:\n  - origin: {{kind: Warehouse, name: app}}\n    sources: {sources}\n{template}"
        )
    };
    let mut text = format!(
        r#"apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata: {{name: shop}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: ProjectConfig
metadata: {{name: shop, namespace: shop}}
spec:
  promotionPolicies:
  - stageSelector: {{name: "regex:^(dev|staging)$"}}
    autoPromotionEnabled: true
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {{name: app, namespace: shop}}
spec:
  interval: 1h
  subscriptions:
  - image: {{repoURL: "{image}"}}
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {{name: health, namespace: shop}}
spec:
  metrics:
  - name: health
    interval: 1s
    count: 2
    failureLimit: 1
    successCondition: result == true
    provider:
      web: {{url: "http://127.0.0.1:{health}/health", jsonPath: "{{$.ok}}"}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: PromotionTask
metadata: {{name: deploy, namespace: shop}}
spec:
  steps:
  - uses: git-clone
    config:
      repoURL: "{repo}"
      checkout: [{{branch: main, path: ./repo}}]
  - uses: kustomize-set-image
    as: image
    config:
      path: ./repo/env/${{{{ ctx.stage }}}}
      images: [{{image: "{image}"}}]
  - uses: git-commit
    config: {{path: ./repo, message: "${{{{ task.outputs.image.commitMessage }}}}"}}
  - uses: git-push
    config: {{path: ./repo}}
"#
    );
    text += &stage("dev", "{direct: true}", "  verification:\n    analysisTemplates: [{name: health}]\n", true);
    text += &stage("staging", "{stages: [dev]}", "", true);
    text += &stage("prod", "{stages: [staging]}", "", false);
    text += &stage("prod-a", "{stages: [prod]}", "", true);
    text += &stage("prod-b", "{stages: [prod], requiredSoakTime: 1h}", "", true);
    text
}

#[test]
fn image_to_production_on_real_services() {
    let dir = tempfile::tempdir().unwrap();
    let registry_dir = dir.path().join("registry");
    std::fs::create_dir_all(&registry_dir).unwrap();
    let Some(registry) = convoy_discovery::testing::start_registry(&registry_dir, None) else { return };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let pusher = convoy_discovery::testing::Pusher {
        client: reqwest::Client::new(),
        base: format!("http://{}", registry.address),
        auth: None,
    };
    runtime.block_on(pusher.image("shop/app", "1.0.0", "amd64", "2024-01-01T00:00:00Z"));
    let image = format!("{}/shop/app", registry.address);

    // The config repository: one overlay per Stage that deploys.
    let bare = dir.path().join("config.git");
    git(dir.path(), &["init", "--quiet", "--bare", "-b", "main", bare.to_str().unwrap()]);
    let seed = dir.path().join("seed");
    git(dir.path(), &["clone", "--quiet", bare.to_str().unwrap(), seed.to_str().unwrap()]);
    for env in ["dev", "staging", "prod-a", "prod-b"] {
        std::fs::create_dir_all(seed.join("env").join(env)).unwrap();
        std::fs::write(
            seed.join(format!("env/{env}/kustomization.yaml")),
            format!("images:\n- name: {image}\n  newTag: 0.0.0\n"),
        )
        .unwrap();
    }
    git(&seed, &["add", "."]);
    git(&seed, &["commit", "--quiet", "-m", "overlays"]);
    git(&seed, &["push", "--quiet", "origin", "main"]);
    let deployed = |env: &str| git(&bare, &["show", &format!("main:env/{env}/kustomization.yaml")]);

    let (mut endpoint, health) = health_endpoint(dir.path());
    let file = dir.path().join("shop.yaml");
    std::fs::write(&file, manifests(&image, &format!("file://{}", bare.display()), health)).unwrap();
    let server = Server::start(dir.path());
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Discovery makes the Freight; dev (after its verification) and staging take it on their own.
    server.wait_until("1.0.0 in staging", || deployed("staging").contains("newTag: 1.0.0"));
    assert!(deployed("dev").contains("newTag: 1.0.0"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("requests.log")).unwrap().lines().count(),
        2,
        "dev verified: a failure, then a success"
    );
    assert!(deployed("prod-a").contains("newTag: 0.0.0"), "prod-a is manual");

    let promote = |stage: &str| {
        server
            .convoy()
            .args(["-p", "shop", "promote", "--warehouse", "app", "--stage", stage, "--wait"])
            .output()
            .unwrap()
    };
    server.wait_until("prod (control-flow) to verify the Freight", || {
        let out = server.convoy().args(["-p", "shop", "get", "freight", "-o", "json"]).output().unwrap();
        let list: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        list["items"][0].pointer("/status/verifiedIn/prod").is_some()
    });
    let out = promote("prod-a");
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(deployed("prod-a").contains("newTag: 1.0.0"));
    let out = promote("prod-b");
    let refusal = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success() && refusal.contains("soak"), "prod-b needs soak time: {refusal}");
    let out = server.convoy().args(["-p", "shop", "get", "freight", "-o", "json"]).output().unwrap();
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = list["items"][0]["metadata"]["name"].as_str().unwrap().to_owned();
    let out =
        server.convoy().args(["-p", "shop", "approve", "--freight", &first, "--stage", "prod-b"]).output().unwrap();
    assert!(out.status.success());
    let out = server
        .convoy()
        .args(["-p", "shop", "promote", "--freight", &first, "--stage", "prod-b", "--wait"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(deployed("prod-b").contains("newTag: 1.0.0"));

    // A new tag flows to dev and staging by itself; the manual regions stay.
    runtime.block_on(pusher.image("shop/app", "1.1.0", "amd64", "2024-02-01T00:00:00Z"));
    let out = server.convoy().args(["-p", "shop", "refresh", "warehouse", "app", "--wait"]).output().unwrap();
    assert!(stdout(&out).contains("newest 1.1.0"), "{}", stdout(&out));
    server.wait_until("1.1.0 in staging", || deployed("staging").contains("newTag: 1.1.0"));
    assert!(deployed("dev").contains("newTag: 1.1.0"));
    assert!(deployed("prod-a").contains("newTag: 1.0.0") && deployed("prod-b").contains("newTag: 1.0.0"));
    let _ = endpoint.kill();
    let _ = endpoint.wait();
}
