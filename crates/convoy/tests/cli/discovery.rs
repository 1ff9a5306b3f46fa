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

/// Hex SHA-256 of `text`, computed with coreutils' `sha256sum`.
pub fn sha256_hex(text: &str) -> String {
    let out = Command::new("sh").arg("-c").arg("printf '%s' \"$0\" | sha256sum").arg(text).output().unwrap();
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap().to_owned()
}

/// Posts `body` to `url` with the headers, adding GitHub's `X-Hub-Signature-256` when
/// `sign_with` is given (Python's hmac, independent of Convoy's); returns status and body.
pub fn post(url: &str, headers: &[(&str, &str)], body: &str, sign_with: Option<&str>) -> (u16, String) {
    post_signed(url, headers, body, sign_with.map(|secret| ("X-Hub-Signature-256", "sha256=", secret)))
}

/// Posts `body`, signed when asked: header name, value prefix and secret of an HMAC-SHA256.
fn post_signed(url: &str, headers: &[(&str, &str)], body: &str, sign: Option<(&str, &str, &str)>) -> (u16, String) {
    let program = r#"
import hashlib, hmac, sys, urllib.request, urllib.error
url, body, header, prefix, secret = sys.argv[1], sys.argv[2].encode(), sys.argv[3], sys.argv[4], sys.argv[5]
headers = dict(h.split("=", 1) for h in sys.argv[6:])
if secret:
    headers[header] = prefix + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
try:
    r = urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers))
    print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
"#;
    let (header, prefix, secret) = sign.unwrap_or(("", "", ""));
    let mut command = Command::new("python3");
    command.args(["-c", program, url, body, header, prefix, secret]);
    command.args(headers.iter().map(|(k, v)| format!("{k}={v}")));
    let out = command.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let (code, rest) = text.split_once(' ').unwrap_or((&text, ""));
    let code = code.parse().unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    (code, rest.to_owned())
}

/// A GitHub-style event: its status.
fn github(url: &str, event: &str, body: &str, secret: Option<&str>) -> u16 {
    post(url, &[("Content-Type", "application/json"), ("X-GitHub-Event", event)], body, secret).0
}

fn freight_count(server: &Server) -> usize {
    let out = server.convoy().args(["-p", "demo", "get", "freight", "-o", "json"]).output().unwrap();
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    list["items"].as_array().map_or(0, Vec::len)
}

#[test]
fn a_signed_github_push_creates_the_next_freight_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (bare, _) = repository(dir.path());
    let url = format!("file://{}", bare.display());
    let manifests = dir.path().join("project.yaml");
    std::fs::write(
        &manifests,
        format!(
            r#"apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata: {{name: demo}}
---
apiVersion: v1
kind: Secret
metadata: {{name: github-hook, namespace: demo}}
stringData: {{secret: s3cr3t-hook}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: ProjectConfig
metadata: {{name: demo, namespace: demo}}
spec:
  webhookReceivers:
  - name: gh
    github: {{secretRef: {{name: github-hook}}}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {{name: tags, namespace: demo}}
spec:
  interval: 1h
  subscriptions:
  - git: {{repoURL: "{url}", commitSelectionStrategy: SemVer}}
"#
        ),
    )
    .unwrap();
    let server = Server::start(dir.path());
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&manifests).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = server.convoy().args(["-p", "demo", "refresh", "warehouse", "tags", "--wait"]).output().unwrap();
    assert!(stdout(&out).contains("newest v1.1.0"), "{}", stdout(&out));
    assert_eq!(freight_count(&server), 1);

    // The receiver's path: hex SHA-256 of project, receiver name and secret (sha256sum's).
    let hash = sha256_hex("demoghs3cr3t-hook");
    let path = format!("/webhooks/github/{hash}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let out = server.convoy().args(["-p", "demo", "get", "projectconfig", "demo", "-o", "json"]).output().unwrap();
        let config: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        if config.pointer("/status/webhookReceivers/0/path").and_then(|p| p.as_str()) == Some(path.as_str()) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "receiver path not published: {config:#}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    // A new tag on the remote, then GitHub's push event for that repository.
    let work = dir.path().join("app");
    git(&work, &["tag", "v1.2.0"]);
    git(&work, &["push", "--quiet", "origin", "v1.2.0"]);
    let event = serde_json::json!({"ref": "refs/tags/v1.2.0", "repository": {"clone_url": url}}).to_string();
    let endpoint = format!("{}{path}", server.url());
    assert_eq!(github(&endpoint, "push", &event, Some("wrong-secret")), 401, "a wrong signature is refused");
    assert_eq!(github(&endpoint, "push", &event, None), 401, "so is a missing one");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(freight_count(&server), 1, "nothing refreshed");
    assert_eq!(
        github(&format!("{}/webhooks/github/{}", server.url(), "0".repeat(64)), "push", &event, Some("s3cr3t-hook")),
        404
    );

    assert_eq!(github(&endpoint, "ping", "{}", Some("s3cr3t-hook")), 200);
    assert_eq!(github(&endpoint, "push", &event, Some("s3cr3t-hook")), 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while freight_count(&server) < 2 {
        assert!(std::time::Instant::now() < deadline, "no Freight for v1.2.0: {}", server.log());
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let out = server.convoy().args(["-p", "demo", "get", "freight", "-o", "json"]).output().unwrap();
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tags: Vec<&str> =
        list["items"].as_array().unwrap().iter().filter_map(|f| f["commits"][0]["tag"].as_str()).collect();
    assert!(tags.contains(&"v1.2.0"), "{tags:?}");
}

/// An image from a real registry and a git repository: the first Freight carries both and is
/// named by Kargo's formula (the image part uses the repoURL as written, with tag and digest).
#[test]
fn image_and_git_make_one_freight() {
    let dir = tempfile::tempdir().unwrap();
    let registry_dir = dir.path().join("registry");
    std::fs::create_dir_all(&registry_dir).unwrap();
    let Some(registry) = convoy_discovery::testing::start_registry(&registry_dir, None) else { return };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let pusher = convoy_discovery::testing::Pusher {
        client: reqwest::Client::new(),
        base: format!("http://{}", registry.address),
        auth: None,
    };
    let digest = runtime.block_on(async {
        pusher.image("guestbook", "1.4.0", "amd64", "2024-01-01T00:00:00Z").await;
        pusher.image("guestbook", "1.5.0", "amd64", "2024-01-02T00:00:00Z").await.0
    });
    let (bare, ids) = repository(dir.path());
    let url = format!("file://{}", bare.display());
    let image = format!("{}/guestbook", registry.address);
    let manifests = dir.path().join("warehouse.yaml");
    std::fs::write(
        &manifests,
        format!(
            "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {{name: demo}}\n---\napiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata: {{name: app, namespace: demo}}\nspec:\n  interval: 1h\n  subscriptions:\n  - image: {{repoURL: \"{image}\"}}\n  - git: {{repoURL: \"{url}\", branch: main}}\n"
        ),
    )
    .unwrap();
    let server = Server::start(dir.path());
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&manifests).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = server.convoy().args(["-p", "demo", "refresh", "warehouse", "app", "--wait"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains("newest 1.5.0"), "{}", stdout(&out));
    let normalized = url.trim_end_matches(".git");
    let expected = freight_name("app", &[format!("{image}:1.5.0@{digest}"), format!("{normalized}:{}", ids[2])]);
    let out =
        server.convoy().args(["-p", "demo", "get", "freight", "--warehouse", "app", "-o", "json"]).output().unwrap();
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list["items"][0]["metadata"]["name"], serde_json::json!(expected), "{list:#}");
    assert_eq!(list["items"][0]["images"][0]["digest"], serde_json::json!(digest));
}

/// Harbor (checked by its Authorization header) and generic receivers (actions with a
/// `whenExpression` over the request, targets by `subscribedURLs`) refresh what they select.
#[test]
fn harbor_and_generic_receivers() {
    let dir = tempfile::tempdir().unwrap();
    let (bare, _) = repository(dir.path());
    let url = format!("file://{}", bare.display());
    let manifests = dir.path().join("project.yaml");
    std::fs::write(
        &manifests,
        format!(
            r#"apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata: {{name: demo}}
---
apiVersion: v1
kind: Secret
metadata: {{name: hooks, namespace: demo}}
stringData: {{secret: generic-secret, auth-header: "Basic aGFyYm9yOnMzY3JldA=="}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: ProjectConfig
metadata: {{name: demo, namespace: demo}}
spec:
  webhookReceivers:
  - name: registry
    harbor: {{secretRef: {{name: hooks}}}}
  - name: ci
    generic:
      secretRef: {{name: hooks}}
      actions:
      - action: Refresh
        whenExpression: "request.header('X-Event') == 'build-done'"
        targetSelectionCriteria:
        - kind: Warehouse
          indexSelector:
            matchIndices:
            - {{key: subscribedURLs, operator: Equals, value: "${{{{ request.body.repository }}}}"}}
      - action: Refresh
        whenExpression: "request.header(params.header) == params.event && normalizeGit('https://GitHub.com/o/r.git') == normalizeGit('https://github.com/o/r')"
        parameters: {{header: X-Kind, event: deploy}}
        targetSelectionCriteria:
        - kind: Warehouse
          name: "${{{{ request.body.warehouse }}}}"
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {{name: source, namespace: demo}}
spec:
  interval: 1h
  subscriptions:
  - git: {{repoURL: "{url}", branch: main}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {{name: image, namespace: demo}}
spec:
  interval: 1h
  subscriptions:
  - image: {{repoURL: harbor.example.com/shop/app}}
"#
        ),
    )
    .unwrap();
    let server = Server::start(dir.path());
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&manifests).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let post_with = |path: &str, headers: &[(&str, &str)], body: &str| {
        post(&format!("{}{path}", server.url()), headers, body, None)
    };
    let harbor = format!("/webhooks/harbor/{}", sha256_hex("demoregistryBasic aGFyYm9yOnMzY3JldA=="));
    let event = r#"{"type": "PUSH_ARTIFACT", "event_data": {"resources": [{"resource_url": "harbor.example.com/shop/app:1.2.0"}]}}"#;
    assert_eq!(post_with(&harbor, &[("Authorization", "Basic d3Jvbmc=")], event).0, 401);
    let (code, body) = post_with(&harbor, &[("Authorization", "Basic aGFyYm9yOnMzY3JldA==")], event);
    assert_eq!((code, body.contains("refreshed 1 warehouse(s)")), (200, true), "{body}");

    let generic = format!("/webhooks/generic/{}", sha256_hex("democigeneric-secret"));
    let event = format!(r#"{{"repository": "{url}/"}}"#);
    let (code, body) = post_with(&generic, &[("X-Event", "build-started")], &event);
    assert_eq!((code, body.contains("refreshed 0 warehouse(s)")), (200, true), "whenExpression false: {body}");
    let (code, body) = post_with(&generic, &[("X-Event", "build-done")], &event);
    assert_eq!((code, body.contains("refreshed 1 warehouse(s)")), (200, true), "{body}");
    // The second action: its parameters in the expression, the target's name from the body.
    let event = r#"{"warehouse": "image"}"#;
    let (code, body) = post_with(&generic, &[("X-Kind", "deploy")], event);
    assert_eq!((code, body.contains("refreshed 1 warehouse(s)")), (200, true), "{body}");
    let (code, body) = post_with(&generic, &[("X-Kind", "build")], event);
    assert_eq!((code, body.contains("refreshed 0 warehouse(s)")), (200, true), "{body}");
}

/// Pushes refresh only the Warehouses they can matter to (the branch, the tag filters, the
/// image constraint), through GitHub, Bitbucket, Azure and Artifactory receivers.
#[test]
fn receivers_refresh_only_what_a_push_can_matter_to() {
    let dir = tempfile::tempdir().unwrap();
    let (bare, _) = repository(dir.path());
    let url = format!("file://{}", bare.display());
    let manifests = dir.path().join("project.yaml");
    std::fs::write(
        &manifests,
        format!(
            r#"apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata: {{name: demo}}
---
apiVersion: v1
kind: Secret
metadata: {{name: hooks, namespace: demo}}
stringData: {{secret: hook-secret, secret-token: jfrog-secret}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: ProjectConfig
metadata: {{name: demo, namespace: demo}}
spec:
  webhookReceivers:
  - {{name: gh, github: {{secretRef: {{name: hooks}}}}}}
  - {{name: bb, bitbucket: {{secretRef: {{name: hooks}}}}}}
  - {{name: az, azure: {{secretRef: {{name: hooks}}}}}}
  - {{name: jf, artifactory: {{secretRef: {{name: hooks}}}}}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {{name: main, namespace: demo}}
spec:
  interval: 1h
  subscriptions:
  - git: {{repoURL: "{url}", branch: main}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {{name: releases, namespace: demo}}
spec:
  interval: 1h
  subscriptions:
  - git: {{repoURL: "{url}", commitSelectionStrategy: SemVer, semverConstraint: ^1.0.0}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {{name: acr, namespace: demo}}
spec:
  interval: 1h
  subscriptions:
  - image: {{repoURL: example.azurecr.io/team/app, constraint: ^1.0.0}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {{name: jfrog, namespace: demo}}
spec:
  interval: 1h
  subscriptions:
  - image: {{repoURL: acme.jfrog.io/docker-local/team/app}}
"#
        ),
    )
    .unwrap();
    let server = Server::start(dir.path());
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&manifests).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let endpoint = |kind: &str, name: &str, secret: &str| {
        format!("{}/webhooks/{kind}/{}", server.url(), sha256_hex(&format!("demo{name}{secret}")))
    };
    let refreshed = |(code, body): (u16, String)| -> usize {
        assert_eq!(code, 200, "{body}");
        let n = body.split("refreshed ").nth(1).and_then(|r| r.split(' ').next()).unwrap_or_else(|| panic!("{body}"));
        n.parse().unwrap()
    };

    let github = endpoint("github", "gh", "hook-secret");
    let push = |reference: &str| serde_json::json!({"ref": reference, "repository": {"clone_url": url}}).to_string();
    let gh = |reference: &str| {
        post(
            &github,
            &[("Content-Type", "application/json"), ("X-GitHub-Event", "push")],
            &push(reference),
            Some("hook-secret"),
        )
    };
    assert_eq!(refreshed(gh("refs/heads/feature")), 0, "nobody follows that branch");
    assert_eq!(refreshed(gh("refs/heads/main")), 1);
    assert_eq!(refreshed(gh("refs/tags/v1.3.0")), 1, "the SemVer Warehouse");
    assert_eq!(refreshed(gh("refs/tags/v2.0.0")), 0, "outside ^1.0.0");

    let bitbucket = endpoint("bitbucket", "bb", "hook-secret");
    let event = serde_json::json!({"push": {"changes": [{"new": {"name": "main", "type": "branch"}}]},
        "repository": {"links": {"html": {"href": url}}}})
    .to_string();
    let headers = [("Content-Type", "application/json"), ("X-Event-Key", "repo:push")];
    assert_eq!(post_signed(&bitbucket, &headers, &event, None).0, 401, "unsigned");
    let signed = post_signed(&bitbucket, &headers, &event, Some(("X-Hub-Signature", "sha256=", "hook-secret")));
    assert_eq!(refreshed(signed), 1);

    let azure = endpoint("azure", "az", "hook-secret");
    let acr = |tag: &str| {
        let event = serde_json::json!({"action": "push", "target": {"repository": "team/app", "tag": tag}, "request": {"host": "example.azurecr.io"}});
        post(
            &azure,
            &[("Content-Type", "application/json"), ("User-Agent", "AzureContainerRegistry/1.0")],
            &event.to_string(),
            None,
        )
    };
    assert_eq!(refreshed(acr("1.5.0")), 1);
    assert_eq!(refreshed(acr("2.0.0")), 0, "outside the image constraint");

    let jfrog = endpoint("artifactory", "jf", "jfrog-secret");
    let event = serde_json::json!({"domain": "docker", "event_type": "pushed", "jpd_origin": "https://acme.jfrog.io",
        "data": {"path": "team/app/1.0.0/manifest.json", "repo_key": "docker-local", "image_type": "docker", "tag": "1.0.0"}})
    .to_string();
    let headers = [("Content-Type", "application/json")];
    assert_eq!(post_signed(&jfrog, &headers, &event, Some(("X-Jfrog-Event-Auth", "", "wrong"))).0, 401);
    assert_eq!(refreshed(post_signed(&jfrog, &headers, &event, Some(("X-Jfrog-Event-Auth", "", "jfrog-secret")))), 1);
}

/// A ClusterConfig receiver (its Secret in `kargo-cluster-secrets`) refreshes the subscribed
/// Warehouses of every project; its path is published in the ClusterConfig's status.
#[test]
fn cluster_receivers_refresh_every_project() {
    let dir = tempfile::tempdir().unwrap();
    let (bare, _) = repository(dir.path());
    let url = format!("file://{}", bare.display());
    let mut manifests = String::from(
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: kargo-cluster-secrets}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: org-hook, namespace: kargo-cluster-secrets}\nstringData: {secret: org-secret}\n---\napiVersion: kargo.akuity.io/v1alpha1\nkind: ClusterConfig\nmetadata: {name: cluster}\nspec:\n  webhookReceivers:\n  - {name: org, github: {secretRef: {name: org-hook}}}\n",
    );
    for project in ["team-a", "team-b"] {
        manifests.push_str(&format!(
            "---\napiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {{name: {project}}}\n---\napiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata: {{name: app, namespace: {project}}}\nspec:\n  interval: 1h\n  subscriptions:\n  - git: {{repoURL: \"{url}\", branch: main}}\n"
        ));
    }
    let file = dir.path().join("cluster.yaml");
    std::fs::write(&file, manifests).unwrap();
    let server = Server::start(dir.path());
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));

    // Kargo's path for a cluster receiver: the hash of the empty project, the name and the secret.
    let path = format!("/webhooks/github/{}", sha256_hex("orgorg-secret"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let out = server.convoy().args(["get", "clusterconfig", "cluster", "-o", "json"]).output().unwrap();
        let config: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if config.pointer("/status/webhookReceivers/0/path").and_then(|p| p.as_str()) == Some(path.as_str()) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "cluster receiver path not published: {config:#}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let event = serde_json::json!({"ref": "refs/heads/main", "repository": {"clone_url": url}}).to_string();
    let (code, body) = post(
        &format!("{}{path}", server.url()),
        &[("Content-Type", "application/json"), ("X-GitHub-Event", "push")],
        &event,
        Some("org-secret"),
    );
    assert_eq!((code, body.contains("refreshed 2 warehouse(s)")), (200, true), "{body}");
}
