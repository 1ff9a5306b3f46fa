//! A kustomization's `helmCharts`, inflated by kustomize (kubectl's) with Convoy's binary run
//! as `helm` (the link `convoy server` makes in its data dir for the `kustomize-build` step).

use std::path::Path;
use std::process::Command;

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A directory with `helm` linked to the convoy binary under test.
fn helm_link(dir: &Path) -> std::path::PathBuf {
    let link = dir.join("bin/helm");
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_convoy"), &link).unwrap();
    link
}

fn kustomize(dir: &Path, helm: &Path, extra: &[&str]) -> std::process::Output {
    Command::new("kubectl")
        .args(["kustomize", "--enable-helm", "--helm-command"])
        .arg(helm)
        .args(extra)
        .arg(dir)
        .env("CONVOY_HELM_ROOT", dir)
        .output()
        .expect("kubectl runs")
}

#[test]
fn kustomize_inflates_helm_charts_with_convoy_as_helm() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app");
    write(
        &app.join("kustomization.yaml"),
        "helmCharts:\n- name: web\n  releaseName: shop\n  namespace: prod\n  valuesInline:\n    replicas: 3\n",
    );
    write(&app.join("charts/web/Chart.yaml"), "apiVersion: v2\nname: web\nversion: 1.2.3\n");
    write(&app.join("charts/web/values.yaml"), "replicas: 1\nimage: nginx:1.27\n");
    write(
        &app.join("charts/web/templates/deployment.yaml"),
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-{{ .Chart.Name }}
  namespace: {{ .Release.Namespace }}
  annotations:
    kube: {{ .Capabilities.KubeVersion.Version | quote }}
    monitoring: {{ .Capabilities.APIVersions.Has "monitoring.coreos.com/v1" | quote }}
spec:
  replicas: {{ .Values.replicas }}
  template:
    spec:
      containers:
      - name: web
        image: {{ .Values.image }}
"#,
    );
    let helm = helm_link(dir.path());
    let output =
        kustomize(&app, &helm, &["--helm-kube-version", "1.29.0", "--helm-api-versions", "monitoring.coreos.com/v1"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let document: serde_json::Value = serde_yaml::from_str(&stdout).unwrap();
    assert_eq!(document["metadata"]["name"], "shop-web");
    assert_eq!(document["metadata"]["namespace"], "prod");
    assert_eq!(document["metadata"]["annotations"]["kube"], "v1.29.0");
    assert_eq!(document["metadata"]["annotations"]["monitoring"], "true");
    assert_eq!(document["spec"]["replicas"], 3, "valuesInline wins over the chart's default");
    assert_eq!(document["spec"]["template"]["spec"]["containers"][0]["image"], "nginx:1.27");
}

#[test]
fn charts_that_are_not_in_the_repository_are_not_downloaded() {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app");
    write(
        &app.join("kustomization.yaml"),
        "helmCharts:\n- name: minecraft\n  repo: https://itzg.github.io/minecraft-server-charts\n  version: 3.1.3\n  releaseName: mc\n",
    );
    let output = kustomize(&app, &helm_link(dir.path()), &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("Convoy does not download charts"), "{stderr}");
}

#[test]
fn charts_outside_the_work_directory_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    write(&outside.path().join("web/Chart.yaml"), "apiVersion: v2\nname: web\nversion: 1.0.0\n");
    write(&outside.path().join("web/templates/cm.yaml"), "kind: ConfigMap\n");
    write(&outside.path().join("web/values.yaml"), "a: 1\n");
    let app = dir.path().join("app");
    let chart_home = outside.path().to_string_lossy();
    write(
        &app.join("kustomization.yaml"),
        &format!("helmCharts:\n- name: web\n  releaseName: x\nhelmGlobals:\n  chartHome: {chart_home}\n"),
    );
    let helm = helm_link(dir.path());
    // kustomize's load restrictor refuses it first...
    let output = kustomize(&app, &helm, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{}", String::from_utf8_lossy(&output.stdout));
    assert!(stderr.contains("is not in or below"), "{stderr}");
    // ...and Convoy's helm would too, asked directly.
    let output = Command::new(&helm)
        .args(["template", "x"])
        .arg(outside.path().join("web"))
        .env("CONVOY_HELM_ROOT", dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && output.stdout.is_empty());
    assert!(stderr.contains("the chart is outside the promotion's work directory"), "{stderr}");
}
