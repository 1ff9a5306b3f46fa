//! `docs/compat.md` lists every Kargo kind, step and expression function (reference §1.0, §3.8,
//! §4.3) with a status, and its step table says "yes" exactly for the kinds this build runs.

use std::collections::BTreeMap;

use convoy_core::steps::{CONVOY_RUNS, KARGO_STEP_KINDS};

use super::repo_root;

/// Reference §1.0, and the Argo Rollouts kinds verification reads.
const KINDS: &[&str] = &[
    "Project",
    "ProjectConfig",
    "ClusterConfig",
    "Warehouse",
    "Freight",
    "Stage",
    "Promotion",
    "PromotionTask",
    "ClusterPromotionTask",
    "Target",
    "PromotionRequest",
    "AnalysisTemplate",
    "ClusterAnalysisTemplate",
    "AnalysisRun",
];

/// Reference §4.3.
const FUNCTIONS: &[&str] = &[
    "quote",
    "unsafeQuote",
    "asYAML",
    "asJSON",
    "warehouse",
    "commitFrom",
    "imageFrom",
    "chartFrom",
    "artifactFrom",
    "freightMetadata",
    "stageMetadata",
    "configMap",
    "secret",
    "sharedConfigMap",
    "sharedSecret",
    "semverDiff",
    "semverParse",
    "always",
    "success",
    "failure",
    "status",
    "freightStatus",
];

const STATUSES: &[&str] = &["yes", "ext", "partial", "not yet", "no"];

/// The rows of the table whose header starts with `| {first} |`: each backticked name of the
/// first cell, with the row's status (second cell).
fn table(doc: &str, first: &str) -> BTreeMap<String, String> {
    let header = format!("| {first} | status |");
    let start = doc.find(&header).unwrap_or_else(|| panic!("no table {header:?} in docs/compat.md"));
    let mut rows = BTreeMap::new();
    for line in doc[start..].lines().skip(2).take_while(|l| l.starts_with('|')) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (names, status) = (cells[1], cells[2]);
        assert!(STATUSES.contains(&status), "status {status:?} of {line:?} is not one of {STATUSES:?}");
        for name in names.split('`').skip(1).step_by(2) {
            assert!(rows.insert(name.to_owned(), status.to_owned()).is_none(), "{name} is listed twice");
        }
    }
    rows
}

fn compat() -> String {
    std::fs::read_to_string(repo_root().join("docs/compat.md")).unwrap()
}

#[test]
fn every_kind_and_function_has_a_status() {
    let doc = compat();
    for (first, expected) in [("kind", KINDS), ("function", FUNCTIONS)] {
        let rows = table(&doc, first);
        for name in expected {
            assert!(rows.contains_key(*name), "docs/compat.md: no {first} row for {name}");
        }
    }
}

#[test]
fn the_step_table_matches_what_runs() {
    let rows = table(&compat(), "step");
    for kind in KARGO_STEP_KINDS {
        let expected = if CONVOY_RUNS.contains(kind) { "yes" } else { "not yet" };
        assert_eq!(rows.get(*kind).map(String::as_str), Some(expected), "docs/compat.md, step {kind}");
    }
    for listed in rows.keys() {
        assert!(KARGO_STEP_KINDS.contains(&listed.as_str()) || listed == "tar", "{listed} is not a Kargo step");
    }
}
