//! Warehouses discovering from a real git repository through `convoy refresh warehouse --wait`.

use std::path::Path;
use std::process::Command;

use super::promote::{git, stdout};
use super::server::Server;

/// A repository with three commits, the first and second tagged.
fn repository(dir: &Path) -> (std::path::PathBuf, Vec<String>) {
    let bare = dir.join("app.git");
    git(dir, &["init", "--quiet", "--bare", "-b", "main", bare.to_str().unwrap()]);
    let work = dir.join("app");
    git(dir, &["clone", "--quiet", bare.to_str().unwrap(), work.to_str().unwrap()]);
    let mut ids = Vec::new();
    for (i, (file, tag)) in
        [("src/a.txt", Some("v1.0.0")), ("src/b.txt", Some("v1.1.0")), ("docs/readme.md", None)].iter().enumerate()
    {
        let path = work.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("{i}")).unwrap();
        git(&work, &["add", "."]);
        git(&work, &["commit", "--quiet", "-m", &format!("change {i}")]);
        if let Some(tag) = tag {
            git(&work, &["tag", tag]);
        }
        ids.push(git(&work, &["rev-parse", "HEAD"]));
    }
    git(&work, &["push", "--quiet", "--tags", "origin", "main"]);
    (bare, ids)
}

/// Kargo's Freight name (reference §5.1), computed with the system's `sha1sum`.
fn freight_name(origin: &str, parts: &[String]) -> String {
    let mut parts = parts.to_vec();
    parts.sort();
    let text = format!("Warehouse/{origin}:{}", parts.join("|"));
    let out = Command::new("sh").arg("-c").arg("printf '%s' \"$0\" | sha1sum").arg(&text).output().unwrap();
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap().to_owned()
}

#[test]
fn refresh_discovers_and_creates_kargo_named_freight() {
    let dir = tempfile::tempdir().unwrap();
    let (bare, ids) = repository(dir.path());
    let url = format!("file://{}", bare.display());
    // What Kargo's name formula hashes: the URL without a trailing `.git` (reference §5.1).
    let normalized = url.trim_end_matches(".git").to_owned();
    let manifests = dir.path().join("warehouses.yaml");
    std::fs::write(
        &manifests,
        format!(
            r#"apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata: {{name: demo}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {{name: tags, namespace: demo}}
spec:
  interval: 1h
  subscriptions:
  - git:
      repoURL: "{url}"
      commitSelectionStrategy: SemVer
      semverConstraint: ^1.0.0
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {{name: source, namespace: demo}}
spec:
  interval: 1h
  subscriptions:
  - git:
      repoURL: "{url}/"
      branch: main
      includePaths: [src]
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {{name: nothing, namespace: demo}}
spec:
  interval: 1h
  subscriptions:
  - git:
      repoURL: "{url}"
      commitSelectionStrategy: SemVer
      semverConstraint: ">=2.0.0"
"#
        ),
    )
    .unwrap();
    let server = Server::start(dir.path());
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&manifests).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Tags: the greatest version within ^1.0.0 is v1.1.0 (the second commit).
    let out = server.convoy().args(["-p", "demo", "refresh", "warehouse", "tags", "--wait"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}\n{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    assert!(stdout(&out).contains("newest v1.1.0"), "{}", stdout(&out));
    let expected = freight_name("tags", &[format!("{normalized}:v1.1.0:{}", ids[1])]);
    let out =
        server.convoy().args(["-p", "demo", "get", "freight", "--warehouse", "tags", "-o", "json"]).output().unwrap();
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list:#}");
    assert_eq!(list["items"][0]["metadata"]["name"], serde_json::json!(expected), "{list:#}");
    assert_eq!(list["items"][0]["commits"][0]["tag"], "v1.1.0");

    // Branch with includePaths: the newest commit touching src/ is the second one, not the docs change.
    let out = server.convoy().args(["-p", "demo", "refresh", "warehouse", "source", "--wait"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out =
        server.convoy().args(["-p", "demo", "get", "freight", "--warehouse", "source", "-o", "json"]).output().unwrap();
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["items"][0]["commits"][0]["id"], serde_json::json!(ids[1]), "{list:#}");
    // The URL was written with a trailing `/`: the name uses the normalized URL all the same.
    assert_eq!(
        list["items"][0]["metadata"]["name"],
        serde_json::json!(freight_name("source", &[format!("{normalized}:{}", ids[1])]))
    );

    // Refreshing again finds the same artifacts: no second Freight.
    let out = server.convoy().args(["-p", "demo", "refresh", "warehouse", "tags", "--wait"]).output().unwrap();
    assert!(stdout(&out).contains("already exists"), "{}", stdout(&out));

    // Nothing matches: the refresh fails and says what to change.
    let out = server.convoy().args(["-p", "demo", "refresh", "warehouse", "nothing", "--wait"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let message = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(message.contains("discovered nothing") && message.contains("semverConstraint"), "{message}");

    // Aliases can be changed by name or by the old alias.
    let out = server
        .convoy()
        .args(["-p", "demo", "update", "freight", "--name", &expected, "--new-alias", "release-1-1"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = server.convoy().args(["-p", "demo", "get", "freight", &expected, "-o", "json"]).output().unwrap();
    let freight: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(freight["alias"], "release-1-1");
    assert_eq!(freight["metadata"]["labels"]["kargo.akuity.io/alias"], "release-1-1");
}
