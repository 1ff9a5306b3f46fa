//! `deploy/helm/convoy`, Convoy's own chart, rendered by Convoy's renderer: the same objects as
//! the kustomize base and the postgres overlay (as `kubectl kustomize` renders them), errors
//! that say what to set, and every render valid against Kubernetes' OpenAPI schemas (with the
//! validator `scripts/check-deploy.sh` installs).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use convoy_helm::chart::Chart;
use convoy_helm::render::{Options, render};
use convoy_helm::{Map, Value};
use serde_json::Value as Json;

/// The labels only Helm's objects carry (release bookkeeping), left out when comparing with
/// kustomize's.
const HELM_ONLY_LABELS: [&str; 4] =
    ["app.kubernetes.io/instance", "app.kubernetes.io/managed-by", "app.kubernetes.io/version", "helm.sh/chart"];

const POSTGRES_URL: &str =
    "postgres://convoy@postgres.convoy.svc:5432/convoy?sslmode=verify-full&sslrootcert=/etc/convoy/db-ca/ca.crt";

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn render_chart(values: &str, sets: &[&str]) -> Result<String, String> {
    let chart = Chart::load_dir(&repository().join("deploy/helm/convoy"))?;
    let user = match convoy_helm::yaml_in::from_yaml(values)? {
        Value::Map(map) => map,
        _ => Map::default(),
    };
    for set in sets {
        convoy_helm::strvals::set(&user, set)?;
    }
    let options = Options { release_name: "convoy".into(), namespace: "convoy".into(), ..Options::default() };
    render(&chart, &user, &options)
}

fn documents(text: &str) -> Vec<Json> {
    use serde::Deserialize;
    serde_yaml::Deserializer::from_str(text)
        .map(|document| Json::deserialize(document).unwrap_or_else(|e| panic!("not YAML: {e}\n{text}")))
        .filter(|document| !document.is_null())
        .collect()
}

fn key(document: &Json) -> (String, String) {
    (
        document["kind"].as_str().unwrap_or_default().to_owned(),
        document["metadata"]["name"].as_str().unwrap_or_default().to_owned(),
    )
}

fn without_helm_labels(value: &mut Json) {
    match value {
        Json::Object(map) => {
            for (name, child) in map.iter_mut() {
                if let ("labels" | "matchLabels" | "selector", Json::Object(labels)) = (name.as_str(), &mut *child) {
                    for label in HELM_ONLY_LABELS {
                        labels.remove(label);
                    }
                }
                without_helm_labels(child);
            }
        }
        Json::Array(items) => items.iter_mut().for_each(without_helm_labels),
        _ => {}
    }
}

/// Lists Kubernetes merges by name (containers, env, ports, volumes, mounts) sorted by name:
/// their order means nothing, and kustomize's patches append where the chart writes in place.
fn sorted_by_name(value: &mut Json) {
    match value {
        Json::Object(map) => map.values_mut().for_each(sorted_by_name),
        Json::Array(items) => {
            items.iter_mut().for_each(sorted_by_name);
            if items.iter().all(|item| item["name"].is_string()) {
                items.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
            }
        }
        _ => {}
    }
}

fn by_key(text: &str, from_helm: bool) -> BTreeMap<(String, String), Json> {
    documents(text)
        .into_iter()
        .map(|mut document| {
            if from_helm {
                without_helm_labels(&mut document);
            }
            sorted_by_name(&mut document);
            // kustomize folds base64 at 76 columns; Kubernetes reads it either way.
            if let Some(Json::Object(data)) = document.get_mut("data") {
                for value in data.values_mut() {
                    if let Json::String(text) = value {
                        text.retain(|c| !c.is_ascii_whitespace());
                    }
                }
            }
            (key(&document), document)
        })
        .collect()
}

fn kustomize(dir: &str) -> String {
    let output = Command::new("kubectl")
        .args(["kustomize", &repository().join(dir).to_string_lossy()])
        .output()
        .expect("kubectl (with kustomize built in) runs");
    assert!(output.status.success(), "kubectl kustomize {dir}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// The chart's objects equal kustomize's, but for Helm's bookkeeping labels and the Namespace
/// (which `helm install --create-namespace` makes).
fn assert_same_objects(chart: &str, kustomized: &str) {
    let chart = by_key(chart, true);
    let mut kustomized = by_key(kustomized, false);
    kustomized.retain(|(kind, _), _| kind != "Namespace");
    let chart_keys: Vec<_> = chart.keys().collect();
    let kustomize_keys: Vec<_> = kustomized.keys().collect();
    assert_eq!(chart_keys, kustomize_keys, "the chart and kustomize make different objects");
    for (key, expected) in &kustomized {
        let rendered = &chart[key];
        if let Some(difference) = difference(rendered, expected, String::new()) {
            panic!("{key:?}: {difference}");
        }
    }
}

/// Where two objects first differ, as a field path with both sides.
fn difference(chart: &Json, kustomize: &Json, path: String) -> Option<String> {
    match (chart, kustomize) {
        (Json::Object(a), Json::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            keys.into_iter().find_map(|k| {
                difference(a.get(k).unwrap_or(&Json::Null), b.get(k).unwrap_or(&Json::Null), format!("{path}.{k}"))
            })
        }
        (Json::Array(a), Json::Array(b)) if a.len() == b.len() => {
            a.iter().zip(b).enumerate().find_map(|(i, (x, y))| difference(x, y, format!("{path}[{i}]")))
        }
        _ if chart == kustomize => None,
        _ => Some(format!("{path}: the chart has {chart}, kustomize {kustomize}")),
    }
}

#[test]
fn defaults_make_the_kustomize_base() {
    let chart = render_chart("", &[]).unwrap();
    assert_same_objects(&chart, &kustomize("deploy/base"));
    validate("defaults", &chart);
}

#[test]
fn a_database_makes_the_postgres_overlay() {
    let values = format!("replicas: 3\ndatabase:\n  url: {POSTGRES_URL:?}\n  caSecret: convoy-database-ca\n");
    let chart = render_chart(&values, &[]).unwrap();
    assert_same_objects(&chart, &kustomize("deploy/overlays/postgres"));
    validate("postgres", &chart);
}

#[test]
fn an_existing_database_secret_is_referenced_not_made() {
    let chart = render_chart("", &["replicas=2", "database.existingSecret=pg"]).unwrap();
    let objects = by_key(&chart, false);
    assert!(!objects.keys().any(|(kind, _)| kind == "Secret" || kind == "PersistentVolumeClaim"), "{chart}");
    let container = &objects[&("Deployment".into(), "convoy".into())]["spec"]["template"]["spec"]["containers"][0];
    let database = container["env"].as_array().unwrap().iter().find(|e| e["name"] == "CONVOY_DATABASE_URL").unwrap();
    assert_eq!(database["valueFrom"]["secretKeyRef"]["name"], "pg");
}

#[test]
fn several_replicas_without_a_database_fail_saying_what_to_set() {
    let error = render_chart("", &["replicas=2"]).unwrap_err();
    assert!(
        error.contains("replicas > 1 needs a PostgreSQL database: set database.url or database.existingSecret"),
        "{error}"
    );
}

#[test]
fn oidc_becomes_server_flags_and_needs_a_client_id() {
    let error = render_chart("", &["oidc.issuer=https://id.example"]).unwrap_err();
    assert!(error.contains("oidc.clientId is needed with oidc.issuer"), "{error}");

    let chart = render_chart(
        "oidc:\n  issuer: https://id.example\n  clientId: convoy\n  admins: [groups=ops, email=root@example.com]\n",
        &[],
    )
    .unwrap();
    let objects = by_key(&chart, false);
    let args = &objects[&("Deployment".into(), "convoy".into())]["spec"]["template"]["spec"]["containers"][0]["args"];
    let args: Vec<&str> = args.as_array().unwrap().iter().filter_map(Json::as_str).collect();
    for expected in [
        "--oidc-issuer=https://id.example",
        "--oidc-client-id=convoy",
        "--oidc-scope=profile,email,groups",
        "--oidc-admins=groups=ops,email=root@example.com",
    ] {
        assert!(args.contains(&expected), "{expected} not in {args:?}");
    }
    assert!(!args.iter().any(|a| a.starts_with("--oidc-viewers")), "{args:?}");
    validate("oidc", &chart);
}

#[test]
fn without_tls_the_probes_speak_http_and_no_secret_is_mounted() {
    let chart = render_chart("", &["tls.enabled=false"]).unwrap();
    let objects = by_key(&chart, false);
    let pod = &objects[&("Deployment".into(), "convoy".into())]["spec"]["template"]["spec"];
    for probe in ["startupProbe", "livenessProbe", "readinessProbe"] {
        assert_eq!(pod["containers"][0][probe]["httpGet"]["scheme"], "HTTP", "{probe}");
    }
    assert!(!chart.contains("--tls-cert") && !chart.contains("convoy-tls"), "{chart}");
    validate("plain", &chart);
}

#[test]
fn the_service_monitor_scrapes_the_metrics_port_of_this_service() {
    let chart =
        render_chart("", &["metrics.serviceMonitor.enabled=true", "metrics.serviceMonitor.labels.release=prom"])
            .unwrap();
    let objects = by_key(&chart, false);
    let monitor = &objects[&("ServiceMonitor".into(), "convoy".into())];
    let service = &objects[&("Service".into(), "convoy".into())];
    assert_eq!(monitor["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(monitor["metadata"]["labels"]["release"], "prom");
    for (label, value) in monitor["spec"]["selector"]["matchLabels"].as_object().unwrap() {
        assert_eq!(&service["metadata"]["labels"][label], value, "the Service lacks {label}");
    }
    let port = monitor["spec"]["endpoints"][0]["port"].as_str().unwrap();
    assert!(service["spec"]["ports"].as_array().unwrap().iter().any(|p| p["name"] == port), "no Service port {port}");
    assert_eq!(monitor["spec"]["namespaceSelector"]["matchNames"][0], "convoy");

    let without_metrics = render_chart("", &["metrics.enabled=false", "metrics.serviceMonitor.enabled=true"]).unwrap();
    assert!(!without_metrics.contains("ServiceMonitor") && without_metrics.contains("--metrics-listen=off"));
    validate("metrics", &chart);
}

#[test]
fn watching_the_argocd_namespace_only_binds_a_role_there() {
    let chart = render_chart("", &["argocd.watchNamespaceOnly=true", "argocd.namespace=gitops"]).unwrap();
    let objects = by_key(&chart, false);
    let role = &objects[&("Role".into(), "convoy-argocd".into())];
    let binding = &objects[&("RoleBinding".into(), "convoy-argocd".into())];
    assert_eq!(role["metadata"]["namespace"], "gitops");
    assert_eq!(binding["metadata"]["namespace"], "gitops");
    assert_eq!(binding["subjects"][0]["namespace"], "convoy");
    assert!(!objects.keys().any(|(kind, _)| kind.starts_with("Cluster")), "{chart}");
    assert!(chart.contains("--argocd-namespace=gitops") && chart.contains("--argocd-watch-namespace-only"));
    validate("namespaced", &chart);
}

/// Kubernetes' own schemas, strictly (unknown fields are errors), for the versions
/// `scripts/check-deploy.sh` checks; the ServiceMonitor (a CRD's kind) is left to the test above.
fn validate(case: &str, rendered: &str) {
    let validator = repository().join("target/tools/kubernetes-validate-1.37.0/bin/kubernetes-validate");
    if !validator.exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is missing: scripts/check-deploy.sh installs it",
            validator.display()
        );
        eprintln!("skipping schema validation: run scripts/check-deploy.sh to install {}", validator.display());
        return;
    }
    let kept: Vec<&str> =
        rendered.split("\n---\n").filter(|document| !document.contains("kind: ServiceMonitor")).collect();
    let dir = repository().join("target/deploy");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("helm-{case}.yaml"));
    std::fs::write(&file, kept.join("\n---\n")).unwrap();
    for version in ["1.29.0", "1.34.0"] {
        let output = Command::new(&validator).args(["--strict", "--quiet", "-k", version]).arg(&file).output().unwrap();
        assert!(
            output.status.success(),
            "{} does not validate against Kubernetes {version}:\n{}{}",
            file.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
