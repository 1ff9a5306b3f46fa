//! `convoy lint`: the examples pass; each broken fixture fails naming file, line and path.

use super::*;

#[test]
fn examples_pass() {
    let out = convoy().current_dir(repo_root()).args(["lint", "-f", "examples", "-R"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        !stdout.lines().any(|l| l.contains(": error") || (l.starts_with("examples/") && !l.contains("warning:"))),
        "{stdout}"
    );
}

/// (fixture, the exact first line of the expected finding). Lines and columns were counted in
/// the fixture files by hand.
const BROKEN: &[(&str, &str)] = &[
    ("syntax.yaml", "syntax.yaml:23:1: invalid YAML: while parsing a node, did not find expected node content"),
    (
        "unknown-field.yaml",
        "unknown-field.yaml:27:7: Stage/dev: spec.promotionTemplate.spec.step: unknown field; did you mean \"steps\"?",
    ),
    (
        "wrong-type.yaml",
        "wrong-type.yaml:25:7: Stage/dev: spec.requestedFreight[0].sources.direct: invalid type: string \"sometimes\", expected a boolean",
    ),
    (
        "missing-task.yaml",
        "missing-task.yaml:29:11: Stage/dev: spec.promotionTemplate.spec.steps[0].task.name: PromotionTask \"promote\" not found in project \"p\" among the given files (Kargo would find it only when promoting)",
    ),
    (
        "missing-var.yaml",
        "missing-var.yaml:28:9: Stage/dev: spec.promotionTemplate.spec.steps[0]: missing value for variable \"image\" required by task \"promote\"",
    ),
    (
        "reserved-alias.yaml",
        "reserved-alias.yaml:24:5: PromotionTask/promote: spec.steps[0].as: step alias is reserved",
    ),
    (
        "duplicate-alias.yaml",
        "duplicate-alias.yaml:26:5: PromotionTask/promote: spec.steps[1].as: step alias duplicates that of spec.steps[0]",
    ),
    (
        "unknown-step.yaml",
        "unknown-step.yaml:23:5: PromotionTask/promote: spec.steps[0].uses: unknown step kind \"kustomize-set-imag\"",
    ),
    (
        "task-config.yaml",
        "task-config.yaml:30:9: Stage/dev: spec.promotionTemplate.spec.steps[0].config: PromotionTemplate step referencing a task cannot have a config",
    ),
    (
        "git-url.yaml",
        "git-url.yaml:24:7: Warehouse/config: spec.subscriptions[0].git.repoURL: must be a valid Git repository URL",
    ),
    (
        "constraint.yaml",
        "constraint.yaml:26:7: Warehouse/charts: spec.subscriptions[0].chart.semverConstraint: improper constraint: >= 1.0 <",
    ),
    (
        "project-config.yaml",
        "project-config.yaml:19:3: ProjectConfig/config: metadata.name: name \"config\" must match project name \"p\"",
    ),
    (
        "no-namespace.yaml",
        "no-namespace.yaml:18:1: PromotionTask/promote: metadata.namespace: required: the project this object belongs to",
    ),
    ("unknown-kind.yaml", "unknown-kind.yaml:17:1: Stag/dev: kind: unknown Kargo kind \"Stag\""),
    (
        "expr-syntax.yaml",
        "expr-syntax.yaml:26:7: PromotionTask/promote: spec.steps[0].config.message: syntax error: expected a value here in expression \"outputs.x.commitMessage +\"",
    ),
];

#[test]
fn each_broken_fixture_fails_with_file_line_and_path() {
    for (name, expected) in BROKEN {
        let path = fixture(name);
        let out = convoy().args(["lint", "-f", &path]).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{name}: {stdout}");
        let want = format!("tests/fixtures/broken/{expected}");
        assert!(stdout.lines().any(|l| l == want), "{name}: expected line\n{want}\ngot:\n{stdout}");
    }
}

#[test]
fn freight_with_foreign_artifacts_is_named_by_its_hash() {
    let out = convoy().args(["lint", "-f", &fixture("freight-artifacts.yaml")]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    let line = stdout.lines().find(|l| l.contains("images[0]")).expect(&stdout);
    assert!(line.starts_with("tests/fixtures/broken/freight-artifacts.yaml:24:3: Freight/"), "{line}");
    assert!(line.ends_with(": images[0]: no subscription found for image repository in Warehouse \"w\""), "{line}");
    let name = line.split("Freight/").nth(1).unwrap().split(':').next().unwrap();
    assert_eq!(name.len(), 40, "{line}");
}

#[test]
fn hints_follow_their_finding() {
    let out = convoy().args(["lint", "-f", &fixture("unknown-step.yaml")]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let at = lines.iter().position(|l| l.contains("unknown step kind")).unwrap();
    assert_eq!(lines[at + 1], "  hint: did you mean \"kustomize-set-image\"?");
}

#[test]
fn json_output() {
    let out = convoy().args(["lint", "-o", "json", "-f", &fixture("reserved-alias.yaml")]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let findings: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let error = findings.as_array().unwrap().iter().find(|f| f["severity"] == "error").unwrap();
    assert_eq!(error["file"], "tests/fixtures/broken/reserved-alias.yaml");
    assert_eq!((error["line"].as_u64(), error["column"].as_u64()), (Some(24), Some(5)));
    assert_eq!((error["kind"].as_str(), error["name"].as_str()), (Some("PromotionTask"), Some("promote")));
    assert_eq!(error["path"], "spec.steps[0].as");
    assert_eq!(error["message"], "step alias is reserved");
    assert!(error["hint"].is_string());
}

#[test]
fn order_does_not_matter_and_other_kinds_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    // The Stage comes before the task it references, and a Deployment is mixed in.
    let text = "apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata: {name: dev}\nspec:\n  requestedFreight:\n  - origin: {kind: Warehouse, name: w}\n    sources: {direct: true}\n  promotionTemplate:\n    spec:\n      steps:\n      - task: {name: later}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n---\napiVersion: kargo.akuity.io/v1alpha1\nkind: PromotionTask\nmetadata: {name: later}\nspec:\n  steps:\n  - uses: fail\n";
    std::fs::write(dir.path().join("all.yml"), text).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a manifest").unwrap();
    let out = convoy().args(["lint", "-p", "p", "-f"]).arg(dir.path()).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stderr.contains("all.yml:13: note: skipped apps/v1 Deployment"), "{stderr}");
    // The Warehouse and Project are not among the files: warnings, not errors.
    assert!(stdout.contains("warning: Warehouse \"w\" not found in project \"p\""), "{stdout}");
    assert!(
        stdout.contains("metadata.namespace: warning: project \"p\" does not exist among the given files"),
        "{stdout}"
    );
}

#[test]
fn unreadable_paths_and_usage_errors() {
    let out = convoy().args(["lint", "-f", "/nonexistent/dir"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("/nonexistent/dir:1:1: cannot read /nonexistent/dir: no such file or directory"),
        "{stdout}"
    );
    assert!(!stdout.contains("os error"), "no Rust error text: {stdout}");
    let out = convoy().args(["lint"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "missing -f is a usage error");
    let out = convoy().args(["lint", "-f", "x", "--bogus"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn stdin_is_read_with_dash() {
    let out = convoy()
        .args(["lint", "-f", "-"])
        .write_stdin("apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: Bad_Name}\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("<stdin>:3:12: Project/Bad_Name: metadata.name:"));
}

#[test]
fn misspelt_names_are_warnings_with_suggestions() {
    let out = convoy().args(["lint", "-f", "tests/fixtures/warn/misspelt.yaml"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "warnings only: {stdout}");
    let expect = [
        "misspelt.yaml:36:13: Stage/dev: spec.promotionTemplate.spec.steps[0].config.images[0].image: warning: vars.imge is not declared; it will be nil\n  hint: did you mean \"image\"?",
        "misspelt.yaml:40:11: Stage/dev: spec.promotionTemplate.spec.steps[1].config.message: warning: outputs[\"updat\"] refers to no earlier step; it will be nil\n  hint: did you mean \"update\"?",
        "misspelt.yaml:41:9: Stage/dev: spec.promotionTemplate.spec.steps[2]: warning: task step \"task-3::tag\" config.tag: task.outputs[\"tg\"] refers to no earlier step; it will be nil",
    ];
    for line in expect {
        assert!(stdout.contains(line), "missing\n{line}\nin\n{stdout}");
    }
    assert!(!stdout.contains("vars.image is not declared"), "vars.image comes from the Stage: {stdout}");
}
