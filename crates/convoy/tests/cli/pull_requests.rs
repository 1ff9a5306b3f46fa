//! A PR-gated prod Stage end to end: the promotion pushes `kargo/promotion/<name>` to the
//! config repository (served by the GitHub double over git's smart HTTP, with a token), opens
//! the PR through the double's API and waits (poll interval 10 minutes: only the webhook can
//! wake it in time). A reviewer merges in the double (a real merge into `main`); GitHub's signed
//! `pull_request` event wakes the promotion, which ends with the merge commit. The same with
//! the PR closed unmerged ends Failed. The Stage's verification of the merged change is posted
//! on the PR's head as a commit status (pending, then success).

use std::time::{Duration, Instant};

use convoy_test_support::forges::{Flavor, ForgeDouble};
use serde_json::{Value, json};

use super::discovery::{post, sha256_hex};
use super::promote::{git, stdout};
use super::server::Server;

const TOKEN: &str = "ghs_promoter";
const HOOK_SECRET: &str = "s3cr3t-hook";

fn manifests(url: &str, health: &str) -> String {
    format!(
        r#"apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata: {{name: demo}}
---
apiVersion: v1
kind: Secret
metadata:
  name: config-repo
  namespace: demo
  labels: {{kargo.akuity.io/cred-type: git}}
stringData: {{repoURL: "{url}", username: bot, password: {TOKEN}}}
---
apiVersion: v1
kind: Secret
metadata: {{name: github-hook, namespace: demo}}
stringData: {{secret: {HOOK_SECRET}}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: ProjectConfig
metadata: {{name: demo, namespace: demo}}
spec:
  webhookReceivers:
  - name: gh
    github: {{secretRef: {{name: github-hook}}}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {{name: app, namespace: demo}}
spec:
  interval: 1h
  subscriptions:
  - image: {{repoURL: ghcr.io/example/app}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Freight
metadata: {{namespace: demo}}
alias: reviewed
origin: {{kind: Warehouse, name: app}}
images:
- {{repoURL: ghcr.io/example/app, tag: 1.2.0}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Freight
metadata: {{namespace: demo}}
alias: rejected
origin: {{kind: Warehouse, name: app}}
images:
- {{repoURL: ghcr.io/example/app, tag: 1.3.0}}
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {{name: health, namespace: demo}}
spec:
  metrics:
  - name: health
    count: 1
    successCondition: result == true
    provider:
      web: {{url: "{health}", jsonPath: "{{$.ok}}"}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {{name: prod, namespace: demo}}
spec:
  verification:
    analysisTemplates: [{{name: health}}]
  requestedFreight:
  - origin: {{kind: Warehouse, name: app}}
    sources: {{direct: true}}
  promotionTemplate:
    spec:
      steps:
      - uses: git-clone
        config:
          repoURL: "{url}"
          checkout: [{{branch: main, path: ./out}}]
      - uses: kustomize-set-image
        as: update
        config:
          path: ./out/env/prod
          images: [{{image: ghcr.io/example/app}}]
      - uses: git-commit
        config:
          path: ./out
          message: ${{{{ outputs.update.commitMessage }}}}
      - uses: git-push
        as: push
        config: {{path: ./out, generateTargetBranch: true}}
      - uses: git-open-pr
        as: open-pr
        config:
          repoURL: "{url}"
          provider: github
          sourceBranch: ${{{{ outputs.push.branch }}}}
          targetBranch: main
          labels: [promotion]
      - uses: git-wait-for-pr
        as: wait-for-pr
        config:
          repoURL: "{url}"
          provider: github
          prNumber: ${{{{ outputs['open-pr'].pr.id }}}}
          pollInterval: 10m
"#
    )
}

/// The config repository: `env/prod/kustomization.yaml` on `main`.
fn config_repository(dir: &std::path::Path) -> std::path::PathBuf {
    let bare = dir.join("config.git");
    git(dir, &["init", "--quiet", "--bare", "-b", "main", bare.to_str().unwrap()]);
    let seed = dir.join("seed");
    git(dir, &["clone", "--quiet", bare.to_str().unwrap(), seed.to_str().unwrap()]);
    std::fs::create_dir_all(seed.join("env/prod")).unwrap();
    std::fs::write(seed.join("env/prod/kustomization.yaml"), "images:\n- name: ghcr.io/example/app\n  newTag: 1.0.0\n")
        .unwrap();
    git(&seed, &["add", "."]);
    git(&seed, &["commit", "--quiet", "-m", "init"]);
    git(&seed, &["push", "--quiet", "origin", "main"]);
    bare
}

fn promotion(server: &Server, name: &str) -> Value {
    let out = server.convoy().args(["-p", "demo", "get", "promotion", name, "-o", "json"]).output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

/// Promotes the Freight `alias` to prod; the Promotion once it waits for its PR.
fn promote_until_waiting(server: &Server, alias: &str) -> (String, Value) {
    let out =
        server.convoy().args(["-p", "demo", "promote", "--freight-alias", alias, "--stage", "prod"]).output().unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    let name =
        stdout(&out).lines().next().unwrap().trim_start_matches("Promotion/").trim_end_matches(" created").to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let promotion = promotion(server, &name);
        if promotion.pointer("/status/state/wait-for-pr/pr/url").is_some() {
            assert_eq!(promotion["status"]["phase"], "Running", "{promotion:#}");
            return (name, promotion);
        }
        let phase = promotion.pointer("/status/phase").and_then(Value::as_str).unwrap_or("");
        assert!(!matches!(phase, "Failed" | "Errored"), "{promotion:#}\n{}", server.log());
        assert!(Instant::now() < deadline, "never waited for a PR: {promotion:#}\n{}", server.log());
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn finished(server: &Server, name: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let promotion = promotion(server, name);
        let phase = promotion.pointer("/status/phase").and_then(Value::as_str).unwrap_or("");
        if matches!(phase, "Succeeded" | "Failed" | "Errored") {
            return promotion;
        }
        assert!(Instant::now() < deadline, "not woken by the webhook: {promotion:#}\n{}", server.log());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// GitHub's `pull_request` event for a closed PR, signed with the receiver's secret.
fn closed_event(endpoint: &str, number: i64, url: &str, merged: bool) -> (u16, String) {
    let body = json!({
        "action": "closed",
        "number": number,
        "pull_request": {"number": number, "html_url": url, "state": "closed", "merged": merged},
        "repository": {"full_name": "acme/config"},
    })
    .to_string();
    let headers = [("Content-Type", "application/json"), ("X-GitHub-Event", "pull_request")];
    post(endpoint, &headers, &body, Some(HOOK_SECRET))
}

#[test]
fn a_pr_gated_stage_waits_for_review_and_a_webhook_finishes_it() {
    let dir = tempfile::tempdir().unwrap();
    let bare = config_repository(dir.path());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let double = ForgeDouble::new(Flavor::GitHub, Some(TOKEN));
    runtime.block_on(double.serve());
    double.backed_by(&bare);
    let url = double.repo_url();
    // What the verification measures: a healthy application.
    let health = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app =
            axum::Router::new().route("/health", axum::routing::get(|| async { axum::Json(json!({"ok": true})) }));
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        format!("http://{address}/health")
    });
    let file = dir.path().join("project.yaml");
    std::fs::write(&file, manifests(&url, &health)).unwrap();
    let server = Server::start(dir.path());
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    let endpoint = format!("{}/webhooks/github/{}", server.url(), sha256_hex(&format!("demogh{HOOK_SECRET}")));

    // Reviewed and merged.
    let (name, waiting) = promote_until_waiting(&server, "reviewed");
    let branch = format!("kargo/promotion/{name}");
    assert_eq!(waiting["status"]["state"]["push"]["branch"], json!(branch));
    let pulls = double.pulls();
    assert_eq!(pulls.len(), 1, "{:?}", double.requests());
    assert_eq!((pulls[0].head_ref.as_str(), pulls[0].base_ref.as_str()), (branch.as_str(), "main"));
    assert_eq!(pulls[0].labels, ["promotion"]);
    assert_eq!(pulls[0].head_sha, git(&bare, &["rev-parse", &branch]), "the PR is of what was pushed");
    let number = waiting["status"]["state"]["open-pr"]["pr"]["id"].as_i64().unwrap();
    let pr_url = waiting["status"]["state"]["open-pr"]["pr"]["url"].as_str().unwrap().to_owned();
    assert!(
        git(&bare, &["show", "main:env/prod/kustomization.yaml"]).contains("newTag: 1.0.0"),
        "main untouched until the merge"
    );
    // Waiting costs nothing until the poll interval or the webhook: no look at the PR meanwhile.
    let looks =
        |double: &ForgeDouble| double.requests().iter().filter(|r| r.ends_with(&format!("/pulls/{number}"))).count();
    let before = looks(&double);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(looks(&double), before, "the PR was polled while waiting: {:?}", double.requests());
    let merge_commit = double.merge(number, "merge").unwrap();
    let (status, reply) = closed_event(&endpoint, number, &pr_url, true);
    assert_eq!((status, reply.contains("refreshed 1 promotion(s)")), (200, true), "{reply} {}", server.log());
    let done = finished(&server, &name);
    assert_eq!(done["status"]["phase"], "Succeeded", "{done:#}");
    assert_eq!(done["status"]["state"]["wait-for-pr"]["commit"], json!(merge_commit));
    assert_eq!(git(&bare, &["rev-parse", "main"]), merge_commit);
    assert!(git(&bare, &["show", "main:env/prod/kustomization.yaml"]).contains("newTag: 1.2.0"));
    // The verification of what was merged, on the PR's head where reviewers look.
    let head = double.pulls()[0].head_sha.clone();
    let deadline = Instant::now() + Duration::from_secs(30);
    while double.statuses().len() < 2 {
        if Instant::now() > deadline {
            let out = server.convoy().args(["-p", "demo", "get", "stage", "prod", "-o", "json"]).output().unwrap();
            panic!("no verification status: {:?}\n{}\n{}", double.statuses(), stdout(&out), server.log());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let statuses: Vec<(String, String, String)> =
        double.statuses().into_iter().map(|s| (s.sha, s.state, s.context)).collect();
    let expected = |state: &str| (head.clone(), state.to_owned(), "convoy/prod".to_owned());
    assert_eq!(statuses, [expected("pending"), expected("success")]);

    // Closed without merging: the promotion fails and says why.
    let (name, waiting) = promote_until_waiting(&server, "rejected");
    let number = waiting["status"]["state"]["open-pr"]["pr"]["id"].as_i64().unwrap();
    let pr_url = waiting["status"]["state"]["open-pr"]["pr"]["url"].as_str().unwrap().to_owned();
    assert_eq!(double.pulls().len(), 2);
    double.close(number);
    // An event for another PR wakes nothing; a wrong signature is refused.
    let (status, reply) = closed_event(&endpoint, 99, "http://elsewhere/acme/config/pull/99", false);
    assert_eq!((status, reply.contains("refreshed 0 promotion(s)")), (200, true), "{reply}");
    let (status, _) = post(
        &endpoint,
        &[("Content-Type", "application/json"), ("X-GitHub-Event", "pull_request")],
        "{}",
        Some("wrong-secret"),
    );
    assert_eq!(status, 401);
    let (status, reply) = closed_event(&endpoint, number, &pr_url, false);
    assert_eq!(status, 200, "{reply}");
    let done = finished(&server, &name);
    assert_eq!(done["status"]["phase"], "Failed", "{done:#}");
    let message = done["status"]["message"].as_str().unwrap_or_default();
    assert!(message.contains(&format!("pull request {number} was closed without being merged")), "{done:#}");
    assert!(
        git(&bare, &["show", "main:env/prod/kustomization.yaml"]).contains("newTag: 1.2.0"),
        "nothing of 1.3.0 reached main"
    );
    assert!(!server.log().contains(TOKEN), "the token never reaches the log");
}
