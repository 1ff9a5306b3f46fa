//! `helm-template` through the engine on charts written here (Kargo's own test cases, §1.7 of
//! `helm-rendering.md`): one file, Helm's layout, the flat layout, values composition, and
//! hostile charts that try to leave the work dir.

mod common;

use std::path::Path;
use std::sync::Arc;

use common::Now;
use convoy_api::PromotionStep;
use convoy_engine::{NoJournal, Orchestrator, Outcome, Phase, Progress, PromotionContext};
use convoy_git::Mirrors;
use serde_json::{Value, json};

fn write(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

fn test_chart(work: &Path) {
    write(
        work,
        &[
            ("chart/Chart.yaml", "apiVersion: v1\nname: test-chart\nversion: 0.1.0\n"),
            ("chart/values.yaml", "key: default\nliteralValue: none\n"),
            (
                "chart/templates/test.yaml",
                "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: test-configmap\n  namespace: {{ .Release.Namespace }}\ndata:\n  value: {{ .Values.key }}\n  literalValue: {{ .Values.literalValue }}\n",
            ),
            (
                "chart/templates/secret.yaml",
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: test-secret\n  namespace: {{ .Release.Namespace }}\nstringData:\n  release: {{ .Release.Name }}\n",
            ),
            (
                "chart/templates/hook.yaml",
                "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n    helm.sh/hook: pre-install\n",
            ),
        ],
    );
}

async fn run(work: &Path, config: Value) -> (Outcome, Progress) {
    run_step(work, "helm-template", config).await
}

async fn run_step(work: &Path, uses: &str, config: Value) -> (Outcome, Progress) {
    let registry =
        convoy_steps::builtin(Arc::new(Mirrors::new(work.join(".mirrors"))), Arc::new(convoy_engine::NoResources));
    let orchestrator = Orchestrator { registry: &registry, data: &convoy_expr::NoData, clock: &Now };
    let context = PromotionContext {
        project: "test-project".into(),
        stage: "prod".into(),
        promotion: "prod.1".into(),
        work_dir: work.to_owned(),
        ..PromotionContext::default()
    };
    let step = PromotionStep { uses: Some(uses.into()), config: Some(config), ..PromotionStep::default() };
    let mut progress = Progress::default();
    let outcome = orchestrator.run(&context, &[step], &mut progress, &mut NoJournal).await;
    (outcome, progress)
}

fn message(progress: &Progress) -> String {
    progress.step_execution_metadata.last().and_then(|m| m.message.clone()).unwrap_or_default()
}

#[tokio::test]
async fn one_file_with_values_files_set_values_and_the_project_as_namespace() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    test_chart(work);
    write(work, &[("v1.yaml", "key: from-file-1\n"), ("v2.yaml", "key: from-file-2\n")]);
    let config = json!({
        "path": "chart", "outPath": "out/all.yaml", "releaseName": "test-release",
        "valuesFiles": ["v1.yaml", "v2.yaml", "missing.yaml"], "ignoreMissingValueFiles": true,
        "setValues": [{"key": "literalValue", "value": "foo,bar,baz", "literal": true}, {"key": "key", "value": "value2"}],
    });
    let (outcome, progress) = run(work, config).await;
    assert_eq!(outcome, Outcome::Finished { phase: Phase::Succeeded }, "{}", message(&progress));
    let out = std::fs::read_to_string(work.join("out/all.yaml")).unwrap();
    let expected = "---\n# Source: test-chart/templates/secret.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: test-secret\n  namespace: test-project\nstringData:\n  release: test-release\n---\n# Source: test-chart/templates/test.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: test-configmap\n  namespace: test-project\ndata:\n  value: value2\n  literalValue: foo,bar,baz\n---\n# Source: test-chart/templates/hook.yaml\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\n  annotations:\n    helm.sh/hook: pre-install\n";
    assert_eq!(out, expected);
}

#[tokio::test]
async fn helm_layout_with_the_release_name_and_flat_layout() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    test_chart(work);
    let config = json!({"path": "chart", "outPath": "out", "releaseName": "test-release", "useReleaseName": true, "namespace": "ns", "disableHooks": true});
    let (outcome, progress) = run(work, config).await;
    assert_eq!(outcome, Outcome::Finished { phase: Phase::Succeeded }, "{}", message(&progress));
    let cm = std::fs::read_to_string(work.join("out/test-release/test-chart/templates/test.yaml")).unwrap();
    assert!(cm.starts_with("---\n# Source: test-chart/templates/test.yaml\napiVersion: v1\nkind: ConfigMap"), "{cm}");
    assert!(!work.join("out/test-release/test-chart/templates/hook.yaml").exists(), "hooks disabled");

    let config = json!({"path": "chart", "outPath": "flat", "outLayout": "flat", "releaseName": "r"});
    let (outcome, progress) = run(work, config).await;
    assert_eq!(outcome, Outcome::Finished { phase: Phase::Succeeded }, "{}", message(&progress));
    let mut names: Vec<String> = std::fs::read_dir(work.join("flat"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "batch-job-migrate.yaml",
            "configmap-test-project-test-configmap.yaml",
            "secret-test-project-test-secret.yaml"
        ]
    );
    let secret = std::fs::read_to_string(work.join("flat/secret-test-project-test-secret.yaml")).unwrap();
    assert!(
        secret.starts_with("# Source: test-chart/templates/secret.yaml\n") && !secret.ends_with('\n'),
        "{secret:?}"
    );
}

#[tokio::test]
async fn broken_templates_and_names_fail_with_helm_s_words() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    test_chart(work);
    write(work, &[("chart/templates/bad.yaml", "value: }\n")]);
    let (outcome, progress) = run(work, json!({"path": "chart", "outPath": "o.yaml", "releaseName": "r"})).await;
    assert_eq!(outcome, Outcome::Finished { phase: Phase::Failed });
    assert!(
        message(&progress).starts_with("failed to render chart: YAML parse error on test-chart/templates/bad.yaml"),
        "{}",
        message(&progress)
    );
    std::fs::remove_file(work.join("chart/templates/bad.yaml")).unwrap();
    let (_, progress) = run(work, json!({"path": "chart", "outPath": "o.yaml", "releaseName": "Bad_Name"})).await;
    assert!(message(&progress).contains("invalid release name"), "{}", message(&progress));
    write(work, &[("chart/templates/req.yaml", "x: {{ required \"set image.tag\" .Values.image }}\n")]);
    let (_, progress) = run(work, json!({"path": "chart", "outPath": "o.yaml", "releaseName": "r"})).await;
    assert!(
        message(&progress).contains("execution error at (test-chart/templates/req.yaml:1:"),
        "{}",
        message(&progress)
    );
    assert!(message(&progress).ends_with("set image.tag"), "{}", message(&progress));
}

#[tokio::test]
async fn hostile_charts_stay_inside_the_work_dir() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    // A template that is a link to a file outside: not read.
    test_chart(&work);
    std::fs::write(dir.path().join("secret.txt"), "top secret").unwrap();
    std::os::unix::fs::symlink(dir.path().join("secret.txt"), work.join("chart/templates/leak.yaml")).unwrap();
    let (outcome, progress) = run(&work, json!({"path": "chart", "outPath": "o.yaml", "releaseName": "r"})).await;
    assert_eq!(outcome, Outcome::Finished { phase: Phase::Failed });
    assert!(message(&progress).contains("leaves the chart"), "{}", message(&progress));
    std::fs::remove_file(work.join("chart/templates/leak.yaml")).unwrap();
    // A chart whose name would put files outside outPath.
    write(&work, &[("chart/Chart.yaml", "apiVersion: v1\nname: ../../escape\nversion: 0.1.0\n")]);
    let (_, progress) = run(&work, json!({"path": "chart", "outPath": "out", "releaseName": "r"})).await;
    assert!(message(&progress).contains("chart.metadata.name \"../../escape\" is invalid"), "{}", message(&progress));
    // Paths outside the work dir.
    let (_, progress) = run(&work, json!({"path": "../chart", "outPath": "o.yaml", "releaseName": "r"})).await;
    assert!(!message(&progress).is_empty());
    assert!(!dir.path().join("escape").exists());
}

/// A chart packaged as Helm packages it: `NAME/...` in a gzipped tar.
fn packaged(name: &str, version: &str, template: &str) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    for (path, text) in [
        ("Chart.yaml", format!("apiVersion: v2\nname: {name}\nversion: {version}\n")),
        ("values.yaml", "greeting: hello\n".to_owned()),
        ("templates/cm.yaml", template.to_owned()),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append_data(&mut header, format!("{name}/{path}"), text.as_bytes()).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

/// A static Helm repository (index.yaml and archives) with `common` 1.0.0 and 1.1.0.
async fn helm_repository() -> String {
    use axum::routing::get;
    let template = |version: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: common\ndata:\n  version: \"{version}\"\n  greeting: {{{{ .Values.greeting }}}}\n"
        )
    };
    let (old, new) = (packaged("common", "1.0.0", &template("1.0.0")), packaged("common", "1.1.0", &template("1.1.0")));
    let index = "apiVersion: v1\nentries:\n  common:\n  - {name: common, version: 1.1.0, urls: [charts/common-1.1.0.tgz]}\n  - {name: common, version: 1.0.0, urls: [charts/common-1.0.0.tgz]}\n";
    let app = axum::Router::new()
        .route("/repo/index.yaml", get(move || async move { index }))
        .route("/repo/charts/common-1.0.0.tgz", get(move || async move { old }))
        .route("/repo/charts/common-1.1.0.tgz", get(move || async move { new }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let repository = format!("http://{}/repo", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    repository
}

/// `buildDependencies` as `helm dependency build`: without a lock the newest matching versions
/// (and the lock); with a lock exactly its versions; a lock out of step with Chart.yaml refused
/// with Helm's words; `file://` charts packaged from the work dir.
#[tokio::test]
async fn build_dependencies_fetches_what_the_lock_names() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    let repository = helm_repository().await;
    write(
        work,
        &[
            (
                "app/Chart.yaml",
                &format!(
                    "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n- name: common\n  version: ^1.0.0\n  repository: {repository}\n- name: local\n  version: 0.2.x\n  repository: file://../local\n"
                ),
            ),
            ("app/values.yaml", "common:\n  greeting: hi\n"),
            ("local/Chart.yaml", "apiVersion: v2\nname: local\nversion: 0.2.1\n"),
            ("local/templates/svc.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: local\n"),
        ],
    );
    let config = json!({"path": "./app", "outPath": "./out.yaml", "releaseName": "r", "buildDependencies": true});
    let (outcome, progress) = run(work, config.clone()).await;
    assert_eq!(outcome, Outcome::Finished { phase: Phase::Succeeded }, "{}", message(&progress));
    let out = std::fs::read_to_string(work.join("out.yaml")).unwrap();
    assert!(out.contains("version: \"1.1.0\"") && out.contains("greeting: hi"), "{out}");
    assert!(out.contains("# Source: app/charts/local/templates/svc.yaml"), "{out}");
    assert!(work.join("app/charts/common-1.1.0.tgz").exists() && work.join("app/charts/local-0.2.1.tgz").exists());
    let lock = std::fs::read_to_string(work.join("app/Chart.lock")).unwrap();
    assert!(lock.contains("version: 1.1.0") && lock.contains("version: 0.2.1"), "{lock}");

    // A lock edited by hand no longer matches Chart.yaml: Helm's message, nothing fetched.
    std::fs::write(work.join("app/Chart.lock"), lock.replace("version: 1.1.0", "version: 1.0.0")).unwrap();
    let (outcome, progress) = run(work, config.clone()).await;
    assert_ne!(outcome, Outcome::Finished { phase: Phase::Succeeded });
    assert!(
        message(&progress).contains("failed to build chart dependencies: the lock file (Chart.lock) is out of sync with the dependencies file (Chart.yaml). Please update the dependencies"),
        "{}",
        message(&progress)
    );

    // Pinned to 1.0.0 (by helm-update-chart), charts/ emptied: the build fetches 1.0.0, not the newest.
    let pin = json!({"path": "./app", "charts": [{"repository": repository, "name": "common", "version": "1.0.0"}]});
    let (outcome, progress) = run_step(work, "helm-update-chart", pin).await;
    assert_eq!(outcome, Outcome::Finished { phase: Phase::Succeeded }, "{}", message(&progress));
    std::fs::remove_dir_all(work.join("app/charts")).unwrap();
    let (outcome, progress) = run(work, config).await;
    assert_eq!(outcome, Outcome::Finished { phase: Phase::Succeeded }, "{}", message(&progress));
    let out = std::fs::read_to_string(work.join("out.yaml")).unwrap();
    assert!(out.contains("version: \"1.0.0\""), "{out}");
    assert!(!work.join("app/charts/common-1.1.0.tgz").exists());
}

#[tokio::test]
async fn build_dependencies_stay_inside_the_work_dir() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    let outside = dir.path().join("outside");
    write(&outside, &[("Chart.yaml", "apiVersion: v2\nname: secret\nversion: 1.0.0\n")]);
    write(
        &work,
        &[(
            "app/Chart.yaml",
            "apiVersion: v2\nname: app\nversion: 0.1.0\ndependencies:\n- name: secret\n  version: 1.0.0\n  repository: file://../../outside\n",
        )],
    );
    let config = json!({"path": "./app", "outPath": "./out.yaml", "releaseName": "r", "buildDependencies": true});
    let (outcome, progress) = run(&work, config).await;
    assert_ne!(outcome, Outcome::Finished { phase: Phase::Succeeded });
    assert!(message(&progress).contains("failed to build chart dependencies: "), "{}", message(&progress));
    assert!(!work.join("app/charts").exists(), "nothing was packaged");
}
