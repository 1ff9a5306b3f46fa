//! Helm's own `helm template` goldens (helm/helm v3.19.5, kept outside the repository in
//! `shared/reference/helm-golden`; `CONVOY_HELM_GOLDEN` points elsewhere), rendered by Convoy and
//! compared byte for byte. Skipped, saying so, where the directory is not there.

use std::path::PathBuf;

use convoy_helm::chart::Chart;
use convoy_helm::render::{Options, render};
use convoy_helm::{Map, Value};

fn golden_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("CONVOY_HELM_GOLDEN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/helm-golden"));
    if dir.join("output").is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: Helm's goldens are not at {} (set CONVOY_HELM_GOLDEN)", dir.display());
        None
    }
}

fn check(chart: &str, golden: &str, user: Map, options: Options) {
    let Some(dir) = golden_dir() else { return };
    let chart = Chart::load_dir(&dir.join("testcharts").join(chart)).unwrap();
    let expected = std::fs::read_to_string(dir.join("output").join(golden)).unwrap();
    let rendered = render(&chart, &user, &options).unwrap_or_else(|e| panic!("{golden}: {e}"));
    if rendered != expected {
        let first = rendered.lines().zip(expected.lines()).position(|(a, b)| a != b);
        panic!(
            "{golden} differs (first at line {:?}):\n--- rendered\n{rendered}\n--- expected\n{expected}",
            first.map(|l| l + 1)
        );
    }
}

fn set(pairs: &[(&str, Value)]) -> Map {
    let map = Map::default();
    for (path, value) in pairs {
        let parts: Vec<&str> = path.split('.').collect();
        let mut current = map.clone();
        for part in &parts[..parts.len() - 1] {
            let next = match current.get(part) {
                Some(Value::Map(m)) => m,
                _ => {
                    let m = Map::default();
                    current.insert(*part, Value::Map(m.clone()));
                    m
                }
            };
            current = next;
        }
        current.insert(parts[parts.len() - 1], value.clone());
    }
    map
}

#[test]
fn template() {
    check("subchart", "template.txt", Map::default(), Options::default());
}

#[test]
fn template_set() {
    check("subchart", "template-set.txt", set(&[("service.name", Value::from("apache"))]), Options::default());
}

#[test]
fn template_with_kube_version() {
    let options = Options { kube_version: Some("1.16.0".into()), ..Options::default() };
    check("subchart", "template-with-kube-version.txt", Map::default(), options);
}

#[test]
fn template_with_api_version() {
    let options = Options { api_versions: vec!["helm.k8s.io/test".into()], ..Options::default() };
    check("subchart", "template-with-api-version.txt", Map::default(), options);
}

#[test]
fn template_with_crds() {
    check("subchart", "template-with-crds.txt", Map::default(), Options { include_crds: true, ..Options::default() });
}

#[test]
fn template_skip_tests() {
    check("subchart", "template-skip-tests.txt", Map::default(), Options { skip_tests: true, ..Options::default() });
}

#[test]
fn object_order() {
    check("object-order", "object-order.txt", Map::default(), Options::default());
}

#[test]
#[should_panic(expected = "differs")]
fn a_different_input_does_not_match() {
    if golden_dir().is_none() {
        panic!("differs (skipped: no goldens)");
    }
    check("subchart", "template-set.txt", Map::default(), Options::default());
}

fn values_file(relative: &str) -> Map {
    let Some(dir) = golden_dir() else { return Map::default() };
    let text = std::fs::read_to_string(dir.join("testcharts").join(relative)).unwrap();
    match convoy_helm::yaml_in::from_yaml(&text).unwrap() {
        Value::Map(m) => m,
        _ => Map::default(),
    }
}

#[test]
fn template_values_files() {
    check(
        "subchart",
        "template-values-files.txt",
        values_file("subchart/charts/subchartA/values.yaml"),
        Options::default(),
    );
}

#[test]
fn template_name_template() {
    let options = Options { release_name: "foobar-ywjj-baz".into(), ..Options::default() };
    check("subchart", "template-name-template.txt", Map::default(), options);
}

#[test]
fn template_subchart_cm() {
    let user = set(&[("configmap.enabled", Value::Bool(true)), ("subchartb.enabled", Value::Bool(true))]);
    check("subchart", "template-subchart-cm.txt", user, Options::default());
}

#[test]
fn template_subchart_cm_set() {
    let user = set(&[
        ("configmap.enabled", Value::Bool(true)),
        ("subchartb.enabled", Value::Bool(true)),
        ("configmap.value", Value::from("baz")),
    ]);
    check("subchart", "template-subchart-cm-set.txt", user, Options::default());
}

#[test]
fn template_subchart_cm_set_file() {
    check(
        "subchart",
        "template-subchart-cm-set-file.txt",
        values_file("subchart/extra_values.yaml"),
        Options::default(),
    );
}

#[test]
fn issue_9027_nulls_and_globals() {
    check("issue-9027", "issue-9027.txt", Map::default(), Options::default());
}

#[test]
fn chart_with_template_lib_dep() {
    check(
        "chart-with-template-lib-dep",
        "template-chart-with-template-lib-dep.txt",
        Map::default(),
        Options::default(),
    );
}

/// An error golden: the text after the CLI's `Error: ` prefix, up to its hint lines.
fn check_error(chart: &str, golden: &str) {
    let Some(dir) = golden_dir() else { return };
    let expected = std::fs::read_to_string(dir.join("output").join(golden)).unwrap();
    let expected = expected.lines().next().unwrap().trim_start_matches("Error: ").to_owned();
    let error = Chart::load_dir(&dir.join("testcharts").join(chart))
        .and_then(|c| render(&c, &Map::default(), &Options::default()))
        .expect_err(golden);
    assert_eq!(error, expected, "{golden}");
}

#[test]
fn invalid_yaml_is_named_with_its_template_and_line() {
    check_error("chart-with-template-with-invalid-yaml", "template-with-invalid-yaml.txt");
}

#[test]
fn chart_types_are_validated() {
    check_error("chart-bad-type", "template-chart-bad-type.txt");
    check_error("lib-chart", "template-lib-chart.txt");
}

#[test]
fn chart_with_template_lib_archive_dep() {
    check(
        "chart-with-template-lib-archive-dep",
        "template-chart-with-template-lib-archive-dep.txt",
        Map::default(),
        Options::default(),
    );
}

#[test]
fn a_packaged_chart_renders_as_its_directory_does() {
    let Some(dir) = golden_dir() else { return };
    let packaged = std::fs::read(dir.join("testcharts/compressedchart-0.1.0.tgz")).unwrap();
    let chart = Chart::load_archive(&packaged, std::path::Path::new("compressedchart-0.1.0.tgz")).unwrap();
    assert_eq!((chart.name(), chart.meta_text("version")), ("compressedchart".to_owned(), "0.1.0".to_owned()));
    render(&chart, &Map::default(), &Options::default()).unwrap();
}

/// Helm's schema test charts (`helm install` goldens `schema*.txt`, after `INSTALLATION FAILED: `),
/// with the messages of the JSON Schema validator Helm v3.19 uses.
fn schema_error(chart: &str, user: Map) -> Option<String> {
    let dir = golden_dir()?;
    let chart = Chart::load_dir(&dir.join("testcharts").join(chart)).unwrap();
    Some(render(&chart, &user, &Options::default()).unwrap_err())
}

const SCHEMA_FAILED: &str = "values don't meet the specifications of the schema(s) in the following chart(s):\n";

#[test]
fn values_that_meet_the_schema_render() {
    let Some(dir) = golden_dir() else { return };
    let chart = Chart::load_dir(&dir.join("testcharts/chart-with-schema")).unwrap();
    render(&chart, &Map::default(), &Options::default()).unwrap();
    assert!(chart.files.iter().all(|(path, _)| path != "values.schema.json"), "the schema is not one of .Files");
}

#[test]
fn values_that_break_the_schema_are_listed_per_chart() {
    let Some(error) = schema_error("chart-with-schema-negative", Map::default()) else { return };
    assert_eq!(
        error,
        format!(
            "{SCHEMA_FAILED}empty:\n- at '': missing property 'employmentInfo'\n- at '/age': minimum: got -5, want 0\n"
        )
    );

    // -f extra-values.yaml: a null deletes the default, so the property goes missing.
    let Some(dir) = golden_dir() else { return };
    let extra = std::fs::read_to_string(dir.join("testcharts/chart-with-schema/extra-values.yaml")).unwrap();
    let Value::Map(extra) = convoy_helm::yaml_in::from_yaml(&extra).unwrap() else { panic!("a map") };
    let error = schema_error("chart-with-schema", extra).unwrap();
    assert_eq!(
        error,
        format!(
            "{SCHEMA_FAILED}empty:\n- at '': missing property 'employmentInfo'\n- at '/age': minimum: got -5, want 0\n"
        )
    );
}

#[test]
fn subcharts_are_checked_against_their_own_section() {
    let Some(error) = schema_error("chart-with-schema-and-subchart", Map::default()) else { return };
    assert_eq!(
        error,
        format!(
            "{SCHEMA_FAILED}chart-without-schema:\n- at '': missing property 'lastname'\nsubchart-with-schema:\n- at '': missing property 'age'\n"
        )
    );
    let user = set(&[("lastname", Value::from("doe")), ("subchart-with-schema.age", Value::Int64(-25))]);
    let error = schema_error("chart-with-schema-and-subchart", user).unwrap();
    assert_eq!(error, format!("{SCHEMA_FAILED}subchart-with-schema:\n- at '/age': minimum: got -25, want 0\n"));

    let Some(dir) = golden_dir() else { return };
    let chart = Chart::load_dir(&dir.join("testcharts/chart-with-schema-and-subchart")).unwrap();
    let user = set(&[("lastname", Value::from("doe")), ("subchart-with-schema.age", Value::Int64(25))]);
    render(&chart, &user, &Options::default()).unwrap();
}
