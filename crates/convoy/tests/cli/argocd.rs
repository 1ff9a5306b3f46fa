//! Kargo's quickstart shape end to end with Argo CD: a `convoy server` pointed by kubeconfig at
//! the Kubernetes API double, a simulated Argo CD syncing Applications to what the promotions
//! pushed to a real git repository; dev promoted by the CLI, staging by auto-promotion once dev
//! is healthy, health following the Applications, and an Application that does not authorise
//! its Stage refusing the promotion with Kargo's message.

use std::path::Path;
use std::time::{Duration, Instant};

use convoy_test_support::argocd::{ArgoCdSim, Outcome, application};
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
        retry:
          timeout: 3s
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
    stage_in(server, "demo", name)
}

fn stage_in(server: &Server, project: &str, name: &str) -> Value {
    let out = server.convoy().args(["-p", project, "get", "stage", name, "-o", "json"]).output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn wait_for(server: &Server, what: &str, within: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        if Instant::now() > deadline {
            let promotions =
                server.convoy().args(["-p", "kargo-demo", "get", "promotions", "-o", "yaml"]).output().unwrap();
            let stages = server.convoy().args(["-p", "kargo-demo", "get", "stages"]).output().unwrap();
            panic!(
                "timed out waiting for {what}\n{}\n{}\n{}",
                String::from_utf8_lossy(&stages.stdout),
                String::from_utf8_lossy(&promotions.stdout),
                server.log()
            );
        }
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
    let sim = ArgoCdSim::start(&api, move |_, target| Some(git(&resolving, &["rev-parse", target])));
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
    wait_for(&server, "dev to be healthy, its Applications named", Duration::from_secs(30), || {
        let dev = stage_json(&server, "dev");
        dev.pointer("/status/health/status") == Some(&json!("Healthy"))
            && dev.pointer("/metadata/annotations/kargo.akuity.io~1argocd-context").is_some()
    });
    let dev = stage_json(&server, "dev");
    let healthy =
        dev["status"]["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "Healthy").unwrap().clone();
    assert_eq!((healthy["status"].as_str(), healthy["reason"].as_str()), (Some("True"), Some("Healthy")));
    assert_eq!(healthy["message"], "Stage is healthy (performed 1 health checks)");
    let context = dev.pointer("/metadata/annotations/kargo.akuity.io~1argocd-context").and_then(Value::as_str);
    let context: Value = serde_json::from_str(context.expect("the argocd-context annotation")).unwrap();
    assert_eq!(context, json!([{"name": "demo-dev", "namespace": "argocd"}]));
    // The UI's Stage page shows the health and the Applications behind it.
    let page = server.page("/p/demo/stages/dev");
    assert!(page.contains("<h2>Health</h2>") && page.contains("argocd/demo-dev"), "{page}");

    // staging follows on its own once dev is healthy and verified, and syncs its Application.
    wait_for(&server, "staging to be promoted and healthy", Duration::from_secs(60), || {
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
    wait_for(&server, "dev to turn unhealthy", Duration::from_secs(15), || {
        stage_json(&server, "dev").pointer("/status/health/status") == Some(&json!("Unhealthy"))
    });
    let table = server.convoy().args(["-p", "demo", "get", "stages"]).output().unwrap();
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    let dev_row = table.lines().find(|l| l.starts_with("dev ")).unwrap();
    assert!(dev_row.contains("Unhealthy"), "{table}");
    let described = server.convoy().args(["-p", "demo", "describe", "stage", "dev"]).output().unwrap();
    let described = String::from_utf8_lossy(&described.stdout).into_owned();
    assert!(described.contains("has health state \"Degraded\""), "{described}");

    let promote_prod = || {
        let out = server
            .convoy()
            .args(["-p", "demo", "promote", "--freight-alias", "first-light", "--stage", "prod", "--wait"])
            .output()
            .unwrap();
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out, said)
    };
    // prod's Application does not name prod: the promotion fails, saying so.
    let (out, said) = promote_prod();
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

    // Authorised now, but its sync never ends (a sync window): the step's timeout ends it.
    api.modify(&applications(), "argocd", "demo-prod", |a| {
        a["metadata"]["annotations"] = json!({"kargo.akuity.io/authorized-stage": "demo:prod"});
    });
    sim.set_outcome("demo-prod", Outcome::Hang);
    let started = Instant::now();
    let (out, said) = promote_prod();
    assert!(!out.status.success(), "{said}");
    assert!(said.contains("timed out after 3s"), "{said}");
    assert!(started.elapsed() < Duration::from_secs(30), "asked again when the timeout falls, not minutes later");
    let prod = api.object(&applications(), "argocd", "demo-prod").unwrap();
    assert_eq!(prod.pointer("/status/operationState/phase"), Some(&json!("Running")));

    // doctor checks the connection and what Convoy may do there.
    let doctor = |server: &Server| {
        let out = server.convoy().arg("doctor").output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    // (The Warehouse's ghcr.io source fails its own check here: no network.)
    let argocd_line = |report: &str| report.lines().find(|l| l.contains("argocd:")).unwrap_or("").to_owned();
    let (_, report) = doctor(&server);
    assert!(argocd_line(&report).starts_with("ok"), "{report}");
    assert!(argocd_line(&report).contains("can be read and patched, watched in every namespace"), "{report}");
    api.deny("patch", "applications");
    let (code, report) = doctor(&server);
    assert_eq!(code, Some(1), "{report}");
    assert!(argocd_line(&report).starts_with("fail"), "{report}");
    assert!(report.contains("Convoy may not patch Applications in namespace \"argocd\""), "{report}");
    assert!(report.contains("docs/argocd.md"), "the fix points at the RBAC: {report}");
}

/// The deployment and overlays of Kargo's quickstart GitOps repository, for `image`.
fn seed_gitops_repository(bare: &Path, seed: &Path, image: &str) {
    git(bare.parent().unwrap(), &["init", "--quiet", "--bare", "-b", "main", bare.to_str().unwrap()]);
    git(bare, &["config", "http.receivepack", "true"]);
    git(seed.parent().unwrap(), &["clone", "--quiet", bare.to_str().unwrap(), seed.to_str().unwrap()]);
    std::fs::create_dir_all(seed.join("base")).unwrap();
    std::fs::write(seed.join("base/kustomization.yaml"), "resources:\n- deployment.yaml\n").unwrap();
    std::fs::write(
        seed.join("base/deployment.yaml"),
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: kargo-demo\nspec:\n  selector:\n    matchLabels: {{app: kargo-demo}}\n  template:\n    metadata:\n      labels: {{app: kargo-demo}}\n    spec:\n      containers:\n      - name: nginx\n        image: {image}:1.0.0\n"
        ),
    )
    .unwrap();
    for stage in ["test", "uat", "prod"] {
        std::fs::create_dir_all(seed.join("stages").join(stage)).unwrap();
        std::fs::write(
            seed.join(format!("stages/{stage}/kustomization.yaml")),
            format!("resources:\n- ../../base\nnamespace: kargo-demo-{stage}\n"),
        )
        .unwrap();
    }
    git(seed, &["add", "."]);
    git(seed, &["commit", "--quiet", "-m", "kargo-demo"]);
    git(seed, &["push", "--quiet", "origin", "main"]);
}

fn health_of(server: &Server, stage: &str) -> Option<String> {
    stage_in(server, "kargo-demo", stage).pointer("/status/health/status").and_then(Value::as_str).map(str::to_owned)
}

/// `examples/kargo/quickstart` as published, pointed at local services: the image in a real
/// registry, the GitOps repository behind git's HTTP backend (with credentials from the
/// example's Secret), the Applications in the Kubernetes API double.
#[test]
fn kargos_quickstart_runs_against_argo_cd() {
    const PASSWORD: &str = "quickstart-t0ken";
    let dir = tempfile::tempdir().unwrap();
    let registry_dir = dir.path().join("registry");
    std::fs::create_dir_all(&registry_dir).unwrap();
    let Some(registry) = convoy_discovery::testing::start_registry(&registry_dir, None) else { return };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _inside = runtime.enter();
    let pusher = convoy_discovery::testing::Pusher {
        client: reqwest::Client::new(),
        base: format!("http://{}", registry.address),
        auth: None,
    };
    runtime.block_on(pusher.image("nginx/nginx", "1.26.1", "amd64", "2024-01-01T00:00:00Z"));
    let image = format!("{}/nginx/nginx", registry.address);
    let bare = dir.path().join("kargo-demo.git");
    seed_gitops_repository(&bare, &dir.path().join("seed"), &image);
    let Some(http) = convoy_git::testing::serve_private(dir.path(), "bot", PASSWORD) else { return };
    let gitops = http.url("kargo-demo.git");

    let api = KubeApi::new();
    let resolving = bare.clone();
    let _sim = ArgoCdSim::start(&api, move |_, target| Some(git(&resolving, &["rev-parse", target])));
    for stage in ["test", "uat", "prod"] {
        let app = application(
            &format!("kargo-demo-{stage}"),
            &gitops,
            &format!("stage/{stage}"),
            ".",
            &format!("kargo-demo:{stage}"),
        );
        api.apply(&applications(), app);
    }
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, KubeApi::kubeconfig(&runtime.block_on(api.serve()))).unwrap();

    let example = std::fs::read_to_string(super::repo_root().join("examples/kargo/quickstart/pipeline.yaml")).unwrap();
    let pipeline = example
        .replace("https://github.com/example/kargo-demo.git", &gitops)
        .replace("public.ecr.aws/nginx/nginx", &image)
        .replace("username: example", "username: bot")
        .replace("replace-with-a-token", PASSWORD)
        .replace(
            "      name: test\n    autoPromotionEnabled: true\n",
            "      name: test\n    autoPromotionEnabled: true\n  - stageSelector:\n      name: uat\n    autoPromotionEnabled: true\n",
        );
    let file = dir.path().join("quickstart.yaml");
    std::fs::write(&file, pipeline).unwrap();
    let mut server = Server::start_with(dir.path(), &[("KUBECONFIG", kubeconfig.to_str().unwrap())]);
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Discovery → Freight → test on its own, rendered to stage/test, synced there, healthy;
    // then uat on its own.
    for stage in ["test", "uat"] {
        wait_for(&server, &format!("{stage} to be promoted and healthy"), Duration::from_secs(90), || {
            health_of(&server, stage).as_deref() == Some("Healthy")
        });
        let branch = format!("stage/{stage}");
        let app = api.object(&applications(), "argocd", &format!("kargo-demo-{stage}")).unwrap();
        assert_eq!(app.pointer("/status/sync/revision"), Some(&json!(git(&bare, &["rev-parse", &branch]))));
        let rendered = git(&bare, &["grep", "-h", "image:", &branch]);
        assert!(rendered.contains(&format!("{image}:1.26.1")), "{stage} renders the new tag: {rendered}");
        assert!(!git(&bare, &["grep", "-c", &format!("kargo-demo-{stage}"), &branch]).is_empty());
    }
    // prod by hand.
    let out = server
        .convoy()
        .args(["-p", "kargo-demo", "promote", "--warehouse", "kargo-demo", "--stage", "prod", "--wait"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    wait_for(&server, "prod to be healthy", Duration::from_secs(30), || {
        health_of(&server, "prod").as_deref() == Some("Healthy")
    });

    // A new tag: new Freight, test and uat take it on their own and Argo CD syncs them to it.
    runtime.block_on(pusher.image("nginx/nginx", "1.26.2", "amd64", "2024-02-01T00:00:00Z"));
    let out =
        server.convoy().args(["-p", "kargo-demo", "refresh", "warehouse", "kargo-demo", "--wait"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for stage in ["test", "uat"] {
        let branch = format!("stage/{stage}");
        wait_for(&server, &format!("1.26.2 synced in {stage}"), Duration::from_secs(60), || {
            let synced = api.object(&applications(), "argocd", &format!("kargo-demo-{stage}")).unwrap();
            git(&bare, &["grep", "-h", "image:", &branch]).contains(&format!("{image}:1.26.2"))
                && synced.pointer("/status/sync/revision") == Some(&json!(git(&bare, &["rev-parse", &branch])))
                && health_of(&server, stage).as_deref() == Some("Healthy")
        });
    }
    assert!(git(&bare, &["grep", "-h", "image:", "stage/prod"]).contains(&format!("{image}:1.26.1")), "prod is manual");

    // test's Application degrades; the Stage follows, and still does after a restart, back to
    // healthy when the Application recovers.
    api.modify(&applications(), "argocd", "kargo-demo-test", |a| a["status"]["health"]["status"] = json!("Degraded"));
    wait_for(&server, "test to turn unhealthy", Duration::from_secs(15), || {
        health_of(&server, "test").as_deref() == Some("Unhealthy")
    });
    server.restart();
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(health_of(&server, "test").as_deref(), Some("Unhealthy"));
    api.modify(&applications(), "argocd", "kargo-demo-test", |a| a["status"]["health"]["status"] = json!("Healthy"));
    wait_for(&server, "test to recover after the restart", Duration::from_secs(15), || {
        health_of(&server, "test").as_deref() == Some("Healthy")
    });
    drop(http);
}
