//! Built-in steps driven by the orchestrator against a real repository over file://.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use common::{Now, sh};
use convoy_api::{FreightOrigin, FreightReference, Image, PromotionStep};
use convoy_engine::{NoJournal, NoResources, Orchestrator, Outcome, Phase, Progress, PromotionContext};
use convoy_expr::context::StaticData;
use convoy_git::Mirrors;
use serde_json::json;

fn remote(dir: &Path) -> std::path::PathBuf {
    // These tests' remotes are local repositories (`convoy server --allow-file-remotes`).
    convoy_git::allow_file_remotes(true);
    let bare = dir.join("config.git");
    sh(dir, &["init", "--quiet", "--bare", "-b", "main", bare.to_str().unwrap()]);
    let seed = dir.join("seed");
    sh(dir, &["clone", "--quiet", bare.to_str().unwrap(), seed.to_str().unwrap()]);
    std::fs::create_dir_all(seed.join("env/dev")).unwrap();
    std::fs::write(seed.join("env/dev/kustomization.yaml"), "# dev overlay\nresources:\n- ../../base\nimages:\n- name: ghcr.io/example/app # pinned by Convoy\n  newTag: 1.0.0\n").unwrap();
    std::fs::write(seed.join("values.yaml"), "image:\n  tag: 1.0.0 # set by promotion\n").unwrap();
    sh(&seed, &["add", "."]);
    sh(&seed, &["commit", "--quiet", "-m", "init"]);
    sh(&seed, &["push", "--quiet", "origin", "main"]);
    bare
}

fn steps(value: serde_json::Value) -> Vec<PromotionStep> {
    serde_json::from_value(value).unwrap()
}

/// The data and context of a promotion of `ghcr.io/example/app:1.2.0` into Stage `dev`.
fn promotion_of_1_2_0(dir: &Path) -> (StaticData, PromotionContext) {
    let warehouse: convoy_api::Warehouse = serde_json::from_value(json!({
        "apiVersion": "kargo.akuity.io/v1alpha1", "kind": "Warehouse", "metadata": {"name": "w", "namespace": "p"},
        "spec": {"subscriptions": [{"image": {"repoURL": "ghcr.io/example/app"}}]}
    }))
    .unwrap();
    let data = StaticData {
        origins: vec![FreightOrigin::warehouse("w")],
        warehouses: vec![warehouse],
        freight: vec![FreightReference {
            name: "f1".into(),
            origin: FreightOrigin::warehouse("w"),
            images: vec![Image { repo_url: "ghcr.io/example/app".into(), tag: "1.2.0".into(), ..Image::default() }],
            ..FreightReference::default()
        }],
        ..StaticData::default()
    };
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let context = PromotionContext {
        project: "p".into(),
        stage: "dev".into(),
        promotion: "dev.01hx.f1".into(),
        work_dir: work,
        ..PromotionContext::default()
    };
    (data, context)
}

#[tokio::test]
async fn clone_set_image_commit_push() {
    let dir = tempfile::tempdir().unwrap();
    let bare = remote(dir.path());
    let url = format!("file://{}", bare.display());
    let mirrors = Arc::new(Mirrors::new(dir.path().join("mirrors")));
    let registry = convoy_steps::builtin(mirrors, Arc::new(NoResources));
    let (data, context) = promotion_of_1_2_0(dir.path());
    let plan = steps(json!([
        {"uses": "git-clone", "as": "task-1::clone", "config": {"repoURL": url, "checkout": [{"branch": "main", "path": "./src"}]}},
        {"uses": "kustomize-set-image", "as": "task-1::update-image", "config": {"path": "./src/env/${{ ctx.stage }}", "images": [{"image": "ghcr.io/example/app"}]}},
        {"uses": "yaml-update", "as": "task-1::values", "config": {"path": "./src/values.yaml", "updates": [{"key": "image.tag", "value": "${{ imageFrom('ghcr.io/example/app').Tag }}"}]}},
        {"uses": "git-commit", "as": "task-1::commit", "config": {"path": "./src", "message": "${{ task.outputs['update-image'].commitMessage }}"}},
        {"uses": "git-push", "as": "task-1::push", "config": {"path": "./src"}},
        {"uses": "compose-output", "as": "task-1::result", "config": {"commit": "${{ task.outputs.commit.commit }}"}}
    ]));
    let orchestrator = Orchestrator { registry: &registry, data: &data, clock: &Now };
    let mut progress = Progress::default();
    let outcome = orchestrator.run(&context, &plan, &mut progress, &mut NoJournal).await;
    let messages: Vec<_> =
        progress.step_execution_metadata.iter().map(|m| (m.alias.clone(), m.status, m.message.clone())).collect();
    assert_eq!(outcome, Outcome::Finished { phase: Phase::Succeeded }, "{messages:#?}");
    let pushed = sh(&bare, &["show", "main:env/dev/kustomization.yaml"]);
    assert!(pushed.contains("newTag: 1.2.0"), "{pushed}");
    assert!(pushed.contains("# dev overlay") && pushed.contains("# pinned by Convoy"), "comments kept: {pushed}");
    let values = sh(&bare, &["show", "main:values.yaml"]);
    assert!(values.contains("tag: 1.2.0") && values.contains("# set by promotion"), "{values}");
    let subject = sh(&bare, &["log", "-1", "--format=%s", "main"]);
    assert_eq!(subject, "Updated ./src/env/dev to use new image");
    assert_eq!(sh(&bare, &["rev-list", "--count", "main"]), "2", "exactly one new commit");
    let head = sh(&bare, &["rev-parse", "main"]);
    assert_eq!(progress.state["task-1"]["commit"], json!(head), "compose-output carried the commit to the task");
}

#[tokio::test]
async fn dry_run_reports_the_diff_and_leaves_the_remote_alone() {
    let dir = tempfile::tempdir().unwrap();
    let bare = remote(dir.path());
    let url = format!("file://{}", bare.display());
    let registry = convoy_steps::dry_run::registry(Arc::new(Mirrors::new(dir.path().join("mirrors"))));
    let (data, context) = promotion_of_1_2_0(dir.path());
    let plan = steps(json!([
        {"uses": "git-clone", "config": {"repoURL": url, "checkout": [{"branch": "main", "path": "./src"}]}},
        {"uses": "kustomize-set-image", "as": "update-image", "config": {"path": "./src/env/dev", "images": [{"image": "ghcr.io/example/app"}]}},
        {"uses": "git-commit", "as": "commit", "config": {"path": "./src", "message": "${{ outputs['update-image'].commitMessage }}"}},
        {"uses": "git-push", "as": "push", "config": {"path": "./src"}}
    ]));
    let before = sh(&bare, &["rev-parse", "main"]);
    let orchestrator = Orchestrator { registry: &registry, data: &data, clock: &Now };
    let mut progress = Progress::default();
    let outcome = orchestrator.run(&context, &plan, &mut progress, &mut NoJournal).await;
    assert_eq!(outcome, Outcome::Finished { phase: Phase::Succeeded }, "{:#?}", progress.step_execution_metadata);
    assert_eq!(sh(&bare, &["rev-parse", "main"]), before, "nothing pushed");
    let diff = progress.state["commit"]["diff"].as_str().unwrap();
    assert!(diff.contains("-  newTag: 1.0.0") && diff.contains("+  newTag: 1.2.0"), "{diff}");
    assert!(diff.contains("env/dev/kustomization.yaml"), "{diff}");
    let message = progress.state["commit"]["message"].as_str().unwrap();
    assert_eq!(message.lines().next(), Some("Updated ./src/env/dev to use new image"), "the message it would commit");
    let push = progress.step_execution_metadata.iter().find(|m| m.alias == "push").unwrap();
    assert!(push.message.as_deref().unwrap_or_default().contains("skipped"), "{push:?}");
    let work = context.work_dir.join("src");
    assert_eq!(sh(&work, &["rev-parse", "HEAD"]), before, "no local commit either");
}

#[tokio::test]
async fn invalid_configs_and_fail_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let registry = convoy_steps::builtin(Arc::new(Mirrors::new(dir.path().join("m"))), Arc::new(NoResources));
    let context = PromotionContext { work_dir: dir.path().to_owned(), ..PromotionContext::default() };
    let plan = steps(json!([
        {"uses": "git-commit", "as": "bad", "config": {"path": ".", "mesage": "typo"}},
        {"uses": "fail", "as": "stop", "if": "${{ always() }}", "config": {"message": "not today"}},
        {"uses": "file-write", "as": "escape", "if": "${{ always() }}", "config": {"path": "../x", "contents": "y"}}
    ]));
    let orchestrator = Orchestrator { registry: &registry, data: &convoy_expr::NoData, clock: &Now };
    let mut progress = Progress::default();
    orchestrator.run(&context, &plan, &mut progress, &mut NoJournal).await;
    let message = |alias: &str| progress.meta(alias).unwrap().message.clone().unwrap();
    assert!(
        message("bad")
            .starts_with("an unrecoverable error occurred: invalid git-commit config: mesage: unknown field `mesage`"),
        "{}",
        message("bad")
    );
    assert_eq!(message("stop"), "failed: not today");
    assert!(message("escape").contains("must be relative to the promotion's working directory"));
}

#[tokio::test]
async fn file_steps() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().to_owned();
    std::fs::create_dir_all(work.join("src/base")).unwrap();
    std::fs::write(work.join("src/base/a.yaml"), "kind: A\n").unwrap();
    std::fs::write(work.join("src/base/b.tmp"), "scratch").unwrap();
    std::fs::write(work.join("src/values.json"), "{\"image\": {\"tag\": \"1.0.0\"}, \"list\": [1, 2]}").unwrap();
    std::fs::write(work.join("src/chart.yaml"), "version: 1.4.2\nname: app\n").unwrap();
    std::fs::write(work.join("src/base/kustomization.yaml"), "resources:\n- cm.yaml\n").unwrap();
    std::fs::write(
        work.join("src/base/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n",
    )
    .unwrap();
    let registry = convoy_steps::builtin(Arc::new(Mirrors::new(dir.path().join("m"))), Arc::new(NoResources));
    let context = PromotionContext { work_dir: work.clone(), ..PromotionContext::default() };
    let plan = steps(json!([
        {"uses": "copy", "as": "copy", "config": {"inPath": "./src/base", "outPath": "./out", "ignore": "*.tmp\n# comment"}},
        {"uses": "delete", "as": "delete", "config": {"path": "./out/a.yaml"}},
        {"uses": "json-update", "as": "json", "config": {"path": "./src/values.json", "updates": [{"key": "image.tag", "value": "2.0.0"}, {"key": "list.2", "value": 3}]}},
        {"uses": "yaml-parse", "as": "chart", "config": {"path": "./src/chart.yaml", "outputs": [{"name": "version", "fromExpression": "version"}, {"name": "label", "fromExpression": "name + '-' + version"}]}},
        {"uses": "kustomize-build", "as": "render", "config": {"path": "./src/base", "outPath": "./rendered.yaml"}}
    ]));
    let orchestrator = Orchestrator { registry: &registry, data: &convoy_expr::NoData, clock: &Now };
    let mut progress = Progress::default();
    let outcome = orchestrator.run(&context, &plan, &mut progress, &mut NoJournal).await;
    let messages: Vec<_> =
        progress.step_execution_metadata.iter().map(|m| (m.alias.clone(), m.status, m.message.clone())).collect();
    let kubectl = Command::new("kubectl").arg("version").arg("--client").output().is_ok();
    if !kubectl {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "kubectl (with kustomize) is part of the CI machine");
        eprintln!("skipping: kubectl is not installed");
        return;
    }
    assert_eq!(outcome, Outcome::Finished { phase: Phase::Succeeded }, "{messages:#?}");
    assert!(!work.join("out/a.yaml").exists() && !work.join("out/b.tmp").exists() && work.join("out/cm.yaml").exists());
    // Edited in place (sjson's way): only the tag's bytes change, the item is appended.
    assert_eq!(
        std::fs::read_to_string(work.join("src/values.json")).unwrap(),
        "{\"image\": {\"tag\": \"2.0.0\"}, \"list\": [1, 2,3]}"
    );
    assert_eq!(progress.state["chart"], json!({"version": "1.4.2", "label": "app-1.4.2"}));
    let rendered = std::fs::read_to_string(work.join("rendered.yaml")).unwrap();
    assert!(rendered.contains("name: settings"), "{rendered}");
}

#[tokio::test]
async fn toml_and_merge_steps() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().to_owned();
    std::fs::write(work.join("kcl.mod"), "[package]\nname = \"app\"\n\n[dependencies]\nk8s = \"1.28\" # pinned\n")
        .unwrap();
    std::fs::write(work.join("base.yaml"), "service:\n  enabled: false\n  ports: [80, 443]\n").unwrap();
    std::fs::write(work.join("qa.yaml"), "service:\n  enabled: true\n  ports: [8080]\n").unwrap();
    let registry = convoy_steps::builtin(Arc::new(Mirrors::new(dir.path().join("m"))), Arc::new(NoResources));
    let context = PromotionContext { work_dir: work.clone(), ..PromotionContext::default() };
    let plan = steps(json!([
        {"uses": "toml-update", "as": "bump", "config": {"path": "./kcl.mod", "updates": [{"key": "dependencies.k8s", "value": "1.31"}]}},
        {"uses": "toml-parse", "as": "read", "config": {"path": "./kcl.mod", "outputs": [{"name": "k8s", "fromExpression": "dependencies.k8s"}]}},
        {"uses": "yaml-merge", "as": "merge", "config": {"inFiles": ["./base.yaml", "./missing.yaml", "./qa.yaml"], "outFile": "./out/values.yaml", "ignoreMissingFiles": true}},
        {"uses": "yaml-merge", "as": "strict", "config": {"inFiles": ["./missing.yaml"], "outFile": "./out/x.yaml"}}
    ]));
    let orchestrator = Orchestrator { registry: &registry, data: &convoy_expr::NoData, clock: &Now };
    let mut progress = Progress::default();
    orchestrator.run(&context, &plan, &mut progress, &mut NoJournal).await;
    let status = |alias: &str| progress.meta(alias).unwrap().status;
    assert_eq!(status("bump"), convoy_engine::StepStatus::Succeeded, "{:#?}", progress.step_execution_metadata);
    assert_eq!(
        std::fs::read_to_string(work.join("kcl.mod")).unwrap(),
        "[package]\nname = \"app\"\n\n[dependencies]\nk8s = \"1.31\" # pinned\n"
    );
    assert_eq!(progress.state["bump"]["commitMessage"], json!("Updated ./kcl.mod\n\n- dependencies.k8s: 1.31"));
    assert_eq!(progress.state["read"]["k8s"], json!("1.31"));
    let merged: serde_json::Value =
        serde_yaml::from_str(&std::fs::read_to_string(work.join("out/values.yaml")).unwrap()).unwrap();
    assert_eq!(merged, json!({"service": {"enabled": true, "ports": [8080]}}));
    let strict = progress.meta("strict").unwrap();
    assert!(strict.message.as_deref().unwrap_or_default().contains("./missing.yaml does not exist"), "{strict:?}");
}

#[tokio::test]
async fn tag_and_push_the_tag() {
    let dir = tempfile::tempdir().unwrap();
    let bare = remote(dir.path());
    let url = format!("file://{}", bare.display());
    let registry = convoy_steps::builtin(Arc::new(Mirrors::new(dir.path().join("mirrors"))), Arc::new(NoResources));
    let (data, context) = promotion_of_1_2_0(dir.path());
    let plan = steps(json!([
        {"uses": "git-clone", "config": {"repoURL": url, "checkout": [{"branch": "main", "path": "./src"}, {"branch": "main", "path": "./sparse", "sparse": ["charts"]}], "author": {"name": "Tagger", "email": "tagger@example.com"}}},
        {"uses": "git-tag", "as": "tag", "config": {"path": "./src", "tag": "v1.2.0", "message": "release 1.2.0"}},
        {"uses": "git-push", "as": "push", "config": {"path": "./src", "tag": "v1.2.0"}},
        {"uses": "git-push", "as": "again", "config": {"path": "./src", "tag": "v1.2.0"}}
    ]));
    let orchestrator = Orchestrator { registry: &registry, data: &data, clock: &Now };
    let mut progress = Progress::default();
    let outcome = orchestrator.run(&context, &plan, &mut progress, &mut NoJournal).await;
    assert_eq!(outcome, Outcome::Finished { phase: Phase::Succeeded }, "{:#?}", progress.step_execution_metadata);
    let head = sh(&bare, &["rev-parse", "main"]);
    assert_eq!(sh(&bare, &["rev-parse", "v1.2.0^{commit}"]), head, "the tag landed on the cloned commit");
    assert_eq!(
        sh(&bare, &["for-each-ref", "--format=%(taggername)", "refs/tags/v1.2.0"]),
        "Tagger",
        "clone's author tags"
    );
    assert_eq!(progress.state["push"]["commit"], json!(head));
    assert_eq!(progress.state["again"]["commit"], json!(head), "pushing a tag that landed is a no-op");
    let sparse = context.work_dir.join("sparse");
    assert!(
        sparse.join("values.yaml").exists() && !sparse.join("env").exists(),
        "cone mode: only top-level files and charts/"
    );
}

/// A git-clone step with several checkout entries looks at the remote once: one fetch the first
/// time, none while the remote's refs are unchanged, one after they move.
#[tokio::test]
async fn one_look_at_the_remote_per_clone_step() {
    let dir = tempfile::tempdir().unwrap();
    let bare = remote(dir.path());
    let url = format!("file://{}", bare.display());
    let mirrors = Arc::new(Mirrors::new(dir.path().join("mirrors")));
    let registry = convoy_steps::builtin(mirrors.clone(), Arc::new(NoResources));
    let clone = |n: usize| {
        steps(json!([{"uses": "git-clone", "as": format!("clone{n}"), "config": {"repoURL": url, "checkout": [
            {"branch": "main", "path": "./source"},
            {"branch": "main", "path": "./target"},
            {"branch": "main", "path": "./sparse", "sparse": ["env"]}
        ]}}]))
    };
    let mut fetches = Vec::new();
    for n in 0..3 {
        if n == 2 {
            let seed = dir.path().join("seed");
            std::fs::write(seed.join("values.yaml"), "image:\n  tag: 2.0.0\n").unwrap();
            sh(&seed, &["commit", "--quiet", "-am", "moved"]);
            sh(&seed, &["push", "--quiet", "origin", "main"]);
        }
        let work = dir.path().join(format!("work{n}"));
        std::fs::create_dir_all(&work).unwrap();
        let context = PromotionContext { work_dir: work.clone(), ..PromotionContext::default() };
        let orchestrator = Orchestrator { registry: &registry, data: &convoy_expr::NoData, clock: &Now };
        let mut progress = Progress::default();
        let outcome = orchestrator.run(&context, &clone(n), &mut progress, &mut NoJournal).await;
        assert_eq!(outcome, Outcome::Finished { phase: Phase::Succeeded }, "{:#?}", progress.step_execution_metadata);
        fetches.push(mirrors.fetch_count());
        let head = sh(&bare, &["rev-parse", "main"]);
        for tree in ["source", "target", "sparse"] {
            assert_eq!(sh(&work.join(tree), &["rev-parse", "HEAD"]), head, "{tree} is at the remote's head");
        }
        // Sparse: only top-level files and the cone were written.
        assert!(work.join("sparse/env/dev/kustomization.yaml").exists() && work.join("sparse/values.yaml").exists());
    }
    assert_eq!(fetches, vec![1, 1, 2], "clone once, nothing while unchanged, one fetch after a push");
}

/// Eight promotions of four Stages into one repository at once, with warm trees: each runs in a
/// tree of its own and pushes exactly its commit; the trees return to the pool afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eight_promotions_of_four_stages_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let bare = remote(dir.path());
    let url = format!("file://{}", bare.display());
    let mirrors = Arc::new(Mirrors::new(dir.path().join("mirrors")));
    let registry = Arc::new(convoy_steps::builtin(mirrors.clone(), Arc::new(NoResources)));
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..8 {
        let (registry, url, root) = (registry.clone(), url.clone(), dir.path().to_owned());
        tasks.spawn(async move {
            let stage = n % 4;
            let work = root.join(format!("promotion-{n}"));
            std::fs::create_dir_all(&work).unwrap();
            let plan = steps(json!([
                {"uses": "git-clone", "config": {"repoURL": url, "checkout": [{"branch": "main", "path": "./repo"}]}},
                {"uses": "file-write", "config": {"path": format!("./repo/stage-{stage}/promotion-{n}.txt"), "contents": format!("{n}")}},
                {"uses": "git-commit", "as": "commit", "config": {"path": "./repo", "message": format!("promotion {n}")}},
                {"uses": "git-push", "config": {"path": "./repo"}}
            ]));
            let context = PromotionContext { work_dir: work.clone(), stage: format!("s{stage}"), ..PromotionContext::default() };
            let orchestrator = Orchestrator { registry: &registry, data: &convoy_expr::NoData, clock: &Now };
            let mut progress = Progress::default();
            let outcome = orchestrator.run(&context, &plan, &mut progress, &mut NoJournal).await;
            assert_eq!(outcome, Outcome::Finished { phase: Phase::Succeeded }, "{:#?}", progress.step_execution_metadata);
            convoy_git::return_trees(&work);
            progress.state["commit"]["commit"].as_str().unwrap().to_owned()
        });
    }
    let mut commits = Vec::new();
    while let Some(commit) = tasks.join_next().await {
        commits.push(commit.unwrap());
    }
    let log = sh(&bare, &["log", "--format=%s", "main"]);
    for n in 0..8 {
        assert_eq!(log.lines().filter(|l| *l == format!("promotion {n}")).count(), 1, "{log}");
    }
    let files = sh(&bare, &["ls-tree", "-r", "--name-only", "main"]);
    assert_eq!(files.lines().filter(|f| f.starts_with("stage-")).count(), 8, "{files}");
    // A second wave reuses the returned trees.
    let before = mirrors.reused_count();
    let work = dir.path().join("again");
    std::fs::create_dir_all(&work).unwrap();
    let plan = steps(
        json!([{"uses": "git-clone", "config": {"repoURL": url, "checkout": [{"branch": "main", "path": "./repo"}]}}]),
    );
    let context = PromotionContext { work_dir: work.clone(), ..PromotionContext::default() };
    let orchestrator = Orchestrator { registry: &registry, data: &convoy_expr::NoData, clock: &Now };
    let outcome = orchestrator.run(&context, &plan, &mut Progress::default(), &mut NoJournal).await;
    assert_eq!(outcome, Outcome::Finished { phase: Phase::Succeeded });
    assert_eq!(mirrors.reused_count(), before + 1);
    assert_eq!(sh(&work.join("repo"), &["rev-parse", "HEAD"]), sh(&bare, &["rev-parse", "main"]));
    assert_eq!(commits.len(), 8);
}

/// With a `helm` command, `kustomize-build` lets kustomize inflate `helmCharts` with it, and
/// `plugin.helm` reaches the chart as `.Capabilities` (the command here records what it is
/// asked; the real one, Convoy's binary as helm, is tested in the convoy crate).
#[tokio::test]
async fn kustomize_build_inflates_helm_charts_with_the_configured_helm() {
    if Command::new("kubectl").arg("version").arg("--client").output().is_err() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "kubectl (with kustomize) is part of the CI machine");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(work.join("app/charts/web")).unwrap();
    std::fs::write(work.join("app/kustomization.yaml"), "helmCharts:\n- name: web\n  releaseName: shop\n").unwrap();
    std::fs::write(work.join("app/charts/web/Chart.yaml"), "apiVersion: v2\nname: web\nversion: 1.0.0\n").unwrap();
    std::fs::write(work.join("app/charts/web/values.yaml"), "replicas: 1\n").unwrap();
    let helm = dir.path().join("helm");
    std::fs::write(
        &helm,
        "#!/bin/sh\ncase \"$1\" in\nversion) echo v3.19.5 ;;\ntemplate) echo \"$@\" > \"$CONVOY_HELM_ROOT/helm-args\"\n  \
         printf 'apiVersion: v1\\nkind: ConfigMap\\nmetadata:\\n  name: from-helm\\n' ;;\nesac\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helm, std::fs::Permissions::from_mode(0o755)).unwrap();

    let mut registry = convoy_steps::builtin(Arc::new(Mirrors::new(dir.path().join("m"))), Arc::new(NoResources));
    // Without one, kustomize says what is missing.
    let (outcome, messages) = build_with_helm_plugin(&registry, &work).await;
    assert_ne!(outcome, Outcome::Finished { phase: Phase::Succeeded });
    assert!(format!("{messages:?}").contains("--enable-helm"), "{messages:?}");

    convoy_steps::render_helm_charts_with(&mut registry, helm);
    let (outcome, messages) = build_with_helm_plugin(&registry, &work).await;
    assert_eq!(outcome, Outcome::Finished { phase: Phase::Succeeded }, "{messages:?}");
    assert!(std::fs::read_to_string(work.join("out.yaml")).unwrap().contains("name: from-helm"));
    let args = std::fs::read_to_string(work.join("helm-args")).unwrap();
    assert!(args.starts_with("template shop ") && args.contains("charts/web"), "{args}");
    assert!(
        args.contains("--kube-version 1.29.0") && args.contains("--api-versions monitoring.coreos.com/v1"),
        "{args}"
    );
}

async fn build_with_helm_plugin(registry: &convoy_engine::Registry, work: &Path) -> (Outcome, Vec<String>) {
    let context = PromotionContext { work_dir: work.to_owned(), ..PromotionContext::default() };
    let plan = steps(json!([{"uses": "kustomize-build", "as": "render", "config": {
        "path": "./app", "outPath": "./out.yaml",
        "plugin": {"helm": {"kubeVersion": "1.29.0", "apiVersions": ["monitoring.coreos.com/v1"]}}
    }}]));
    let orchestrator = Orchestrator { registry, data: &convoy_expr::NoData, clock: &Now };
    let mut progress = Progress::default();
    let outcome = orchestrator.run(&context, &plan, &mut progress, &mut NoJournal).await;
    (outcome, progress.step_execution_metadata.iter().filter_map(|m| m.message.clone()).collect())
}
