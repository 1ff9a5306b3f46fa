//! `convoy render` and `convoy version`.

use super::*;

#[test]
fn render_shows_expanded_steps() {
    let out =
        convoy().current_dir(repo_root()).args(["render", "--stage", "staging", "-f", "examples"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let rendered: serde_json::Value = serde_yaml::from_slice(&out.stdout).unwrap();
    assert_eq!(rendered["stage"], "staging");
    assert_eq!(rendered["project"], "guestbook");
    let aliases: Vec<&str> = rendered["steps"].as_array().unwrap().iter().map(|s| s["as"].as_str().unwrap()).collect();
    assert_eq!(
        aliases,
        [
            "task-1::step-1",
            "task-1::step-2",
            "task-1::update-image",
            "task-1::step-4",
            "task-1::commit",
            "task-1::step-6",
            "smoke::probe",
            "smoke::result"
        ]
    );
    // expressions are left for the engine to evaluate
    assert_eq!(rendered["steps"][4]["config"]["message"], "${{ task.outputs['update-image'].commitMessage }}");
    // the ClusterPromotionTask's default, then the referencing step's var
    let smoke_vars = &rendered["steps"][6]["vars"];
    assert_eq!(smoke_vars[0]["name"], "expectedStatus");
    assert_eq!(smoke_vars[1]["name"], "url");
    // prod-west overrides the task default `branch` through its step vars
    let out =
        convoy().current_dir(repo_root()).args(["render", "--stage", "prod-west", "-f", "examples"]).output().unwrap();
    let rendered: serde_json::Value = serde_yaml::from_slice(&out.stdout).unwrap();
    let vars: Vec<(&str, &str)> = rendered["steps"][0]["vars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["name"].as_str().unwrap(), v["value"].as_str().unwrap()))
        .collect();
    assert_eq!(
        vars,
        [("repoURL", "https://github.com/example/guestbook-config.git"), ("branch", "main"), ("branch", "release")]
    );
}

#[test]
fn render_errors() {
    let out = convoy().current_dir(repo_root()).args(["render", "--stage", "prod", "-f", "examples"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("control-flow Stage"));
    let out = convoy().current_dir(repo_root()).args(["render", "--stage", "nope", "-f", "examples"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let out = convoy().args(["render", "--stage", "dev", "-f", &fixture("missing-var.yaml")]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("missing value for variable \"image\""));
}

#[test]
fn version() {
    let out = convoy().args(["version", "--client"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!("Client Version: v{}", env!("CARGO_PKG_VERSION")));
}
