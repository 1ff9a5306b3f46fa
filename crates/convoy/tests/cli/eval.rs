//! `convoy eval`: results as JSON, errors with exit code 1.

use super::*;

#[test]
fn evaluates_and_prints_json() {
    let out = convoy().args(["eval", "v${{ 1 + 1 }}"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "\"v2\"");
    let out = convoy().args(["eval", "${{ \"42\" }}"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "42");
}

#[test]
fn context_from_a_file_and_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ctx.json");
    let context = r#"{"vars": {"repo": "ghcr.io/a/b"}, "stage": {"metadata": {"name": "dev", "namespace": "p"}, "spec": {"requestedFreight": [{"origin": {"kind": "Warehouse", "name": "w"}}]}},
        "warehouses": [{"metadata": {"name": "w"}, "spec": {"subscriptions": [{"image": {"repoURL": "ghcr.io/a/b"}}]}}],
        "freight": [{"metadata": {"name": "f"}, "origin": {"kind": "Warehouse", "name": "w"}, "images": [{"repoURL": "ghcr.io/a/b", "tag": "1.4.0"}]}]}"#;
    std::fs::write(&file, context).unwrap();
    let out = convoy().args(["eval", "${{ imageFrom(vars.repo).Tag }}", "--context"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "\"1.4.0\"");
    let out = convoy().args(["eval", "${{ vars.repo }}", "--context", "-"]).write_stdin(context).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "\"ghcr.io/a/b\"");
}

#[test]
fn errors_exit_1_and_say_where() {
    let out = convoy().args(["eval", "x ${{ 1 + }}"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.starts_with("error: syntax error"), "{stderr}");
    assert!(stderr.contains("(in \"1 +\" at column"), "{stderr}");
    let out = convoy().args(["eval", "${{ 1", "--context", "/nonexistent.json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = convoy().args(["eval", "${{ 1 }}", "--context", "-"]).write_stdin("{\"varz\": {}}").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown key \"varz\"; did you mean \"vars\"?"));
}

/// The example in `convoy eval --help` runs as shown, and without a context `vars`, `ctx` and
/// `outputs` are empty (a missing name reads nil, it does not fail).
#[test]
fn the_help_example_runs_and_scopes_start_empty() {
    let help = convoy().args(["eval", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    let example = help.split("e.g. '").nth(1).and_then(|rest| rest.split('\'').next()).expect("an example");
    let printed = help.split("(prints \"").nth(1).and_then(|rest| rest.split('"').next()).expect("its output");
    let out = convoy().args(["eval", example]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{example}: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("\"{printed}\""));
    let out = convoy().args(["eval", "${{ vars.major ?? 'none' }}-${{ ctx.stage ?? 'none' }}"]).output().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "\"none-none\"",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
