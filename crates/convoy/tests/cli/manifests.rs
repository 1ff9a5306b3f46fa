//! Manifests as users wrote them (issue 17): what Kargo behind an API server accepts, Convoy
//! reads, each leniency with a warning; what Kargo rejects gets an error with the fix.

use super::convoy;
use super::server::Server;

fn lint(file: &str, extra: &[&str]) -> (Option<i32>, String) {
    let out =
        convoy().args(["lint"]).args(extra).args(["-f", &format!("tests/fixtures/lenient/{file}")]).output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
}

fn has(stdout: &str, line: &str) {
    assert!(stdout.lines().any(|l| l.contains(line)), "missing\n{line}\nin\n{stdout}");
}

#[test]
fn subscriptions_read_as_kargo_reads_them() {
    let (code, stdout) = lint("subscriptions.yaml", &[]);
    assert_eq!(code, Some(0), "warnings only:\n{stdout}");
    // 1. Kargo's spelling is accepted silently; another letter case is read, with a warning.
    assert!(!stdout.contains("spec.subscriptions[0].git.insecureSkipTLSVerify"), "{stdout}");
    assert!(!stdout.contains("steps[0].config.insecureSkipTLSVerify"), "{stdout}");
    has(
        &stdout,
        "subscriptions.yaml:26:7: Warehouse/shop: spec.subscriptions[1].image.insecureSkipTlsVerify: warning: read as \"insecureSkipTLSVerify\"",
    );
    // 2. A cluster-scoped object's namespace is dropped.
    has(
        &stdout,
        "subscriptions.yaml:6:3: Project/shop: metadata.namespace: warning: ignored: a Project is cluster-scoped",
    );
    // 3. Unknown subscription keys are ignored, with a suggestion.
    has(&stdout, "spec.subscriptions[1].image.strictSemver: warning: ignored by Kargo and Convoy");
    assert!(stdout.contains("hint: did you mean \"strictSemvers\"?"), "{stdout}");
    has(&stdout, "spec.subscriptions[2].chart.insecure: warning: ignored by Kargo and Convoy");
    // 4. os/arch/variant is a platform.
    assert!(!stdout.contains("platform"), "{stdout}");
    // 5. `vars:` with nothing is no vars.
    assert!(!stdout.contains("spec.vars"), "{stdout}");
    // 8. allowTags / ignoreTags become their regex forms.
    has(
        &stdout,
        r#"spec.subscriptions[1].image.allowTags: warning: deprecated, and Kargo v1.11 fails discovery on it; read as allowTagsRegexes: ["^v?[0-9]+\\.[0-9]+\\.[0-9]+$"]"#,
    );
    has(&stdout, r#"read as ignoreTagsRegexes: ["^latest$", "^1\\.0\\.0\\+build$"]"#);
}

#[test]
fn repeated_keys_and_a_single_project_are_read_as_meant() {
    let (code, stdout) = lint("one-project.yaml", &[]);
    assert_eq!(code, Some(0), "warnings only:\n{stdout}");
    // 6. The last of a repeated key counts, as kubectl reads it.
    has(
        &stdout,
        "one-project.yaml:13:3: Warehouse/app: spec.interval: warning: key \"interval\" appears twice in the same mapping (first on line 12)",
    );
    // Documents without a namespace belong to the only Project of the set.
    has(
        &stdout,
        "Warehouse/app: metadata.namespace: warning: not set: read as \"solo\", the only Project among the given files",
    );
    assert!(!stdout.contains("project \"\""), "{stdout}");
}

#[test]
fn an_object_defined_twice_is_its_last_definition_and_strict_refuses_a_difference() {
    let (code, stdout) = lint("duplicate-object.yaml", &[]);
    assert_eq!(code, Some(0), "{stdout}");
    has(
        &stdout,
        "duplicate-object.yaml:19:3: Warehouse/w: metadata.name: warning: Warehouse/w is defined twice, differently; this last definition is the one applied (first at tests/fixtures/lenient/duplicate-object.yaml:6)",
    );
    let (code, stdout) = lint("duplicate-object.yaml", &["--strict"]);
    assert_eq!(code, Some(1), "{stdout}");
    has(&stdout, "Warehouse/w: metadata.name: Warehouse/w is defined twice, differently");
}

#[test]
fn akuity_platform_kinds_and_steps_are_named_as_such() {
    let (code, stdout) = lint("platform-only.yaml", &[]);
    assert_eq!(code, Some(1), "{stdout}");
    has(&stdout, "MessageChannel/slack: kind: MessageChannel is a kind of the Akuity Platform");
    has(&stdout, "steps[0].uses: step kind \"wait-for-approval\" is an Akuity Platform step");
    has(&stdout, "steps[2].uses: step kind \"snow-create-ticket\" is an Akuity Platform step");
    has(&stdout, "steps[1].uses: step kind \"helm-update-image\" no longer exists");
    assert!(stdout.contains("removed in Kargo v1.3"), "{stdout}");
    assert!(!stdout.contains("unknown step kind"), "{stdout}");
}

#[test]
fn every_problem_of_a_document_is_reported_once_and_references_to_it_say_why() {
    let (code, stdout) = lint("unreadable-references.yaml", &[]);
    assert_eq!(code, Some(1), "{stdout}");
    // Both unknown fields of the Warehouse at once, each once.
    has(&stdout, "Warehouse/w: spec.subscription: unknown field; did you mean \"subscriptions\"?");
    has(&stdout, "Warehouse/w: spec.intervall: unknown field; did you mean \"interval\"?");
    assert_eq!(stdout.matches("spec.intervall").count(), 1, "reported once: {stdout}");
    // The Stage's origin is in the set, unreadable: said so, not "not found".
    has(
        &stdout,
        "Stage/dev: spec.requestedFreight[0].origin.name: warning: Warehouse \"w\" is among the given files but could not be read (tests/fixtures/lenient/unreadable-references.yaml:6)",
    );
    assert!(!stdout.contains("not found"), "{stdout}");
    // Kargo's CRD requires sources.
    has(&stdout, "Stage/staging: spec.requestedFreight[0].sources: required field is missing");
    let summary = stdout.lines().filter(|l| !l.starts_with("  hint")).count();
    assert_eq!(summary, 4, "each problem once:\n{stdout}");
}

/// The server reads what the CLI sends the same way, and returns the warnings.
#[test]
fn the_api_reads_leniently_and_warns() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.login();
    let out = server.convoy().args(["apply", "-f", "tests/fixtures/lenient/subscriptions.yaml"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("spec.subscriptions[1].image.strictSemver: warning: ignored by Kargo and Convoy"),
        "{stderr}"
    );
    assert!(stderr.contains("Project/shop: metadata.namespace: warning: ignored"), "{stderr}");
    let out = server.convoy().args(["-p", "shop", "get", "warehouse", "shop", "-o", "json"]).output().unwrap();
    let stored: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let image = &stored["spec"]["subscriptions"][1]["image"];
    assert_eq!(image["insecureSkipTLSVerify"], true, "{image}");
    assert_eq!(image["allowTagsRegexes"], serde_json::json!([r"^v?[0-9]+\.[0-9]+\.[0-9]+$"]), "{image}");
    assert!(image.get("allowTags").is_none() && image.get("strictSemver").is_none(), "{image}");
    assert_eq!(image["platform"], "linux/arm64/v8");
    // Strict where Kargo is: a request without sources stores nothing.
    let out =
        server.convoy().args(["apply", "-f", "tests/fixtures/lenient/unreadable-references.yaml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("nothing was sent")
            || String::from_utf8_lossy(&out.stderr).contains("nothing was sent")
    );
}

/// Pre-v1.0 manifests: refused with a hint naming `convoy migrate`, which rewrites them so they
/// lint clean and render the equivalent steps, comments kept; a second run changes nothing.
#[test]
fn migrate_rewrites_v0_manifests_to_v1() {
    let (_, stdout) = lint_path("tests/fixtures/v0/pipeline.yaml");
    assert!(stdout.contains("Stage/test: spec.promotionMechanisms: a field of Kargo before v1.0"), "{stdout}");
    assert!(stdout.contains("convoy migrate -f FILE"), "{stdout}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pipeline.yaml");
    std::fs::copy("tests/fixtures/v0/pipeline.yaml", &file).unwrap();
    let before = std::fs::read_to_string(&file).unwrap();
    // Without --write: a diff, the file untouched.
    let out = convoy().args(["migrate", "-f"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let diff = String::from_utf8_lossy(&out.stdout);
    assert!(diff.contains("-  promotionMechanisms:") && diff.contains("+  requestedFreight:"), "{diff}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), before);

    let out = convoy().args(["migrate", "--write", "-f"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let after = std::fs::read_to_string(&file).unwrap();
    assert!(after.starts_with("# A Kargo v0.8 pipeline"), "leading comments kept:\n{after}");
    assert!(after.contains("  # Freight comes straight from the Warehouse.\n"), "comments inside spec kept:\n{after}");
    let out = convoy().args(["lint", "-f"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let rendered = convoy().args(["render", "--stage", "prod", "-f"]).arg(&file).output().unwrap();
    let rendered = String::from_utf8_lossy(&rendered.stdout);
    for step in
        ["git-clone", "git-clear", "kustomize-set-image", "kustomize-build", "git-commit", "git-push", "argocd-update"]
    {
        assert!(rendered.contains(&format!("- uses: {step}")), "{step} in\n{rendered}");
    }
    let out = convoy().args(["migrate", "-f"]).arg(&file).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to migrate"), "idempotent");
    assert!(out.stdout.is_empty());
}

fn lint_path(path: &str) -> (Option<i32>, String) {
    let out = convoy().args(["lint", "-f", path]).output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A project missing from the set is said once, and findings come in file and line order.
#[test]
fn a_missing_project_is_reported_once_and_findings_are_in_line_order() {
    let text = (0..3)
        // The last one misspells a field: its error comes after the project's warning.
        .map(|i| {
            let interval = if i == 2 { "intervall" } else { "interval" };
            format!("apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata: {{name: w{i}, namespace: ghost}}\nspec:\n  {interval}: 1m\n  subscriptions:\n  - image: {{repoURL: ghcr.io/a/b}}\n")
        })
        .collect::<Vec<_>>()
        .join("---\n");
    let out = convoy().args(["lint", "-f", "-"]).write_stdin(text).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches("project \"ghost\" does not exist").count(), 1, "{stdout}");
    let lines: Vec<usize> = stdout
        .lines()
        .filter(|l| l.starts_with("<stdin>:"))
        .map(|l| l.split(':').nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "one missing project, one unknown field: {stdout}");
    assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{lines:?}");
}

/// A file of thousands of pre-v1 Stages migrates; its diff is not a table of |old|·|new| cells.
#[test]
fn migrating_a_large_file_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("many.yaml");
    let stages: Vec<String> = (0..2_000)
        .map(|i| format!("apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata:\n  name: s{i}\n  namespace: p\nspec:\n  subscriptions:\n    warehouse: w\n"))
        .collect();
    std::fs::write(&file, stages.join("---\n")).unwrap();
    let out = convoy().args(["migrate", "-f"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let diff = String::from_utf8_lossy(&out.stdout);
    assert!(diff.lines().nth(1).unwrap().contains("too long for a line diff"), "{}", &diff[..200]);
    assert_eq!(diff.matches("+  requestedFreight:").count(), 2_000);
}
