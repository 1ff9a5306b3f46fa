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
    let step = PromotionStep { uses: Some("helm-template".into()), config: Some(config), ..PromotionStep::default() };
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
