//! Kargo's quickstart shape end to end with Argo CD: a `convoy server` pointed by kubeconfig at
//! the Kubernetes API double, a simulated Argo CD syncing Applications to what the promotions
//! pushed to a real git repository; dev promoted by the CLI, staging by auto-promotion once dev
//! is healthy, health following the Applications, and an Application that does not authorise
//! its Stage refusing the promotion with Kargo's message.

use std::path::Path;
use std::time::{Duration, Instant};

use convoy_test_support::argocd::{ArgoCdSim, application};
use convoy_test_support::kube_api::{KubeApi, applications};
use serde_json::{Value, json};

use super::promote::{git, setup};
use super::server::Server;

fn manifests(url: &str, commit: &str) -> String {
    let stage = |name: &str, sources: &str| {
        format!(
            r#"---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {{name: {name}, namespace: demo}}
spec:
  requestedFreight:
  - origin: {{kind: Warehouse, name: app}}
    sources: {sources}
  promotionTemplate:
    spec:
      steps:
      - uses: git-clone
        config:
          repoURL: "{url}"
          checkout:
          - branch: main
            path: ./repo
      - uses: kustomize-set-image
        as: update-image
        config:
          path: ./repo/env/dev
          images:
          - image: ghcr.io/example/app
            newName: ghcr.io/example/app-{name}
      - uses: git-commit
        as: commit
        config:
          path: ./repo
          message: ${{{{ outputs['update-image'].commitMessage }}}}
      - uses: git-push
        as: push
        config:
          path: ./repo
          targetBranch: main
      - uses: argocd-update
        config:
          apps:
          - name: demo-{name}
            sources:
            - repoURL: "{url}"
              desiredRevision: ${{{{ outputs.push.commit }}}}
"#
        )
    };
    format!(
        r#"apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata: {{name: demo}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: ProjectConfig
metadata: {{name: demo, namespace: demo}}
spec:
  promotionPolicies:
  - stageSelector: {{name: staging}}
    autoPromotionEnabled: true
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {{name: app, namespace: demo}}
spec:
  subscriptions:
  - image: {{repoURL: ghcr.io/example/app}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Freight
metadata: {{namespace: demo}}
alias: first-light
origin: {{kind: Warehouse, name: app}}
images:
- {{repoURL: ghcr.io/example/app, tag: 1.2.0}}
{dev}{staging}{prod}"#,
        dev = stage("dev", "{direct: true}"),
        staging = stage("staging", "{stages: [dev]}"),
        prod = stage("prod", "{stages: [staging]}"),
    )
    .replace("COMMIT", commit)
}

fn stage_json(server: &Server, name: &str) -> Value {
    let out = server.convoy().args(["-p", "demo", "get", "stage", name, "-o", "json"]).output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn wait_for(what: &str, within: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn head(bare: &Path) -> String {
    git(bare, &["rev-parse", "main"])
}

#[test]
fn a_quickstart_pipeline_syncs_argo_cd_and_follows_its_health() {
    let dir = tempfile::tempdir().unwrap();
    let (bare, _) = setup(dir.path());
    let url = format!("file://{}", bare.display());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _inside = runtime.enter();
    let api = KubeApi::new();
    let resolving = bare.clone();
    let _sim = ArgoCdSim::start(&api, move |_, target| Some(git(&resolving, &["rev-parse", target])));
    api.apply(&applications(), application("demo-dev", &url, "main", "env/dev", "demo:dev"));
    api.apply(&applications(), application("demo-staging", &url, "main", "env/dev", "other:x, demo:staging"));
    api.apply(&applications(), application("demo-prod", &url, "main", "env/dev", ""));
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, KubeApi::kubeconfig(&runtime.block_on(api.serve()))).unwrap();

    let server = Server::start_with(dir.path(), &[("KUBECONFIG", kubeconfig.to_str().unwrap())]);
    server.login();
    let file = dir.path().join("pipeline.yaml");
    std::fs::write(&file, manifests(&url, &head(&bare))).unwrap();
    let out = server.convoy().args(["apply", "-f"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // dev, by hand: pushed, Argo CD synced to exactly that commit, the Stage healthy.
    let out = server
        .convoy()
        .args(["-p", "demo", "promote", "--freight-alias", "first-light", "--stage", "dev", "--wait"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let pushed = head(&bare);
    let app = api.object(&applications(), "argocd", "demo-dev").unwrap();
    assert_eq!(app.pointer("/status/operationState/syncResult/revision"), Some(&json!(pushed)));
    assert_eq!(app.pointer("/status/operationState/phase"), Some(&json!("Succeeded")));
    let promotion = app.pointer("/status/operationState/operation/info/1/value").and_then(Value::as_str).unwrap();
    assert!(promotion.starts_with("dev."), "the operation names the Promotion: {promotion}");
    assert_eq!(app.pointer("/status/operationState/operation/initiatedBy/automated"), None, "a person asked");
    wait_for("dev to be healthy", Duration::from_secs(30), || {
        stage_json(&server, "dev").pointer("/status/health/status") == Some(&json!("Healthy"))
    });
    let dev = stage_json(&server, "dev");
    let healthy =
        dev["status"]["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "Healthy").unwrap().clone();
    assert_eq!((healthy["status"].as_str(), healthy["reason"].as_str()), (Some("True"), Some("Healthy")));
    assert_eq!(healthy["message"], "Stage is healthy (performed 1 health checks)");

    // staging follows on its own once dev is healthy and verified, and syncs its Application.
    wait_for("staging to be promoted and healthy", Duration::from_secs(60), || {
        stage_json(&server, "staging").pointer("/status/health/status") == Some(&json!("Healthy"))
    });
    let staged = api.object(&applications(), "argocd", "demo-staging").unwrap();
    assert_eq!(staged.pointer("/status/sync/revision"), Some(&json!(head(&bare))));
    assert_eq!(
        staged.pointer("/status/operationState/operation/initiatedBy"),
        Some(&json!({"username": "kargo-controller", "automated": true})),
        "auto-promotion syncs as the controller"
    );

    // dev's Application degrades: the Stage turns unhealthy, woken by the change (the periodic
    // check of a healthy Stage is minutes away).
    api.modify(&applications(), "argocd", "demo-dev", |a| a["status"]["health"]["status"] = json!("Degraded"));
    wait_for("dev to turn unhealthy", Duration::from_secs(15), || {
        stage_json(&server, "dev").pointer("/status/health/status") == Some(&json!("Unhealthy"))
    });
    let table = server.convoy().args(["-p", "demo", "get", "stages"]).output().unwrap();
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    let dev_row = table.lines().find(|l| l.starts_with("dev ")).unwrap();
    assert!(dev_row.contains("Unhealthy"), "{table}");
    let described = server.convoy().args(["-p", "demo", "describe", "stage", "dev"]).output().unwrap();
    let described = String::from_utf8_lossy(&described.stdout).into_owned();
    assert!(described.contains("has health state \"Degraded\""), "{described}");

    // prod's Application does not name prod: the promotion fails, saying so.
    let out = server
        .convoy()
        .args(["-p", "demo", "promote", "--freight-alias", "first-light", "--stage", "prod", "--wait"])
        .output()
        .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains("Argo CD Application \\\"demo-prod\\\" in namespace \\\"argocd\\\" is not authorized")
            || said.contains("Argo CD Application \"demo-prod\" in namespace \"argocd\" is not authorized"),
        "{said}"
    );
    let prod = api.object(&applications(), "argocd", "demo-prod").unwrap();
    assert!(
        prod.get("operation").is_none() && prod.pointer("/status/operationState").is_none(),
        "prod's Application untouched"
    );
}
