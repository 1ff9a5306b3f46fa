//! Teams end to end: project roles on named tokens, refusals that name the missing permission,
//! revocation and expiry on every replica, and the audit trail of a scripted session.

use std::path::Path;

use serde_json::Value;

use super::promote::{setup, stdout};
use super::server::Server;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `convoy ARGS` as the logged-in administrator; must succeed.
fn admin(server: &Server, args: &[&str]) -> String {
    let out = server.convoy().args(args).output().unwrap();
    assert!(out.status.success(), "convoy {args:?}: {}{}", stdout(&out), stderr(&out));
    stdout(&out)
}

/// Creates a token; the value is the last line of stdout.
fn token(server: &Server, args: &[&str]) -> String {
    let out = admin(server, args);
    let value = out.lines().last().unwrap_or_default().trim().to_owned();
    assert!(value.starts_with("cvy_"), "{out}");
    value
}

/// `convoy ARGS` with another token.
fn as_token(server: &Server, token: &str, args: &[&str]) -> std::process::Output {
    server.convoy().env("CONVOY_TOKEN", token).args(args).output().unwrap()
}

fn start(dir: &Path) -> (Server, std::path::PathBuf) {
    let (_, manifests) = setup(dir);
    let server = Server::start(dir);
    server.login();
    admin(&server, &["apply", "-f", manifests.to_str().unwrap()]);
    let other = dir.join("other.yaml");
    std::fs::write(&other, "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: other}\n").unwrap();
    admin(&server, &["apply", "-f", other.to_str().unwrap()]);
    (server, manifests)
}

#[test]
fn a_promoter_promotes_in_its_project_and_a_viewer_is_told_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    let (server, manifests) = start(dir.path());
    let ci = token(&server, &["-p", "demo", "create", "token", "ci", "--role", "kargo-promoter", "--expires", "1h"]);
    let eyes = token(&server, &["-p", "demo", "create", "token", "eyes", "--role", "kargo-viewer"]);

    let out = as_token(
        &server,
        &ci,
        &["-p", "demo", "promote", "--freight-alias", "first-light", "--stage", "dev", "--wait"],
    );
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    let promotions = admin(&server, &["-p", "demo", "get", "promotions", "-o", "json"]);
    let promotions: Value = serde_json::from_str(&promotions).unwrap();
    let actor = promotions["items"][0].pointer("/metadata/annotations/kargo.akuity.io~1create-actor");
    assert_eq!(actor, Some(&Value::String("token:ci".into())), "the Promotion names who asked for it");
    let out = as_token(&server, &ci, &["-p", "demo", "approve", "--freight-alias", "first-light", "--stage", "dev"]);
    assert_eq!(out.status.code(), Some(0), "a promoter approves: {}", stderr(&out));

    // Nothing outside its project, and no edits of the pipeline in it.
    let out = as_token(&server, &ci, &["-p", "other", "get", "stages"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("missing permission: list stages in project other"), "{}", stderr(&out));
    let out = as_token(&server, &ci, &["apply", "-f", manifests.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("token:ci may not update"), "{}", stderr(&out));

    // A viewer reads, and a write names the permission it lacks and how to get it.
    let out = as_token(&server, &eyes, &["-p", "demo", "get", "stages"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("dev"));
    let out = as_token(&server, &eyes, &["-p", "demo", "promote", "--freight-alias", "first-light", "--stage", "dev"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert!(text.contains("missing permission: promote stages/dev in project demo"), "{text}");
    assert!(
        text.contains("convoy grant -p demo --role ROLE --verb promote --resource-type stages --resource-name dev"),
        "{text}"
    );
    let out = as_token(&server, &eyes, &["-p", "demo", "get", "secrets"]);
    assert_eq!(out.status.code(), Some(1), "viewers do not read Secrets");

    // Tokens are listed without their values; a revoked one is refused at once.
    let listed = admin(&server, &["-p", "demo", "get", "tokens"]);
    assert!(listed.contains("ci") && listed.contains("demo/kargo-promoter") && listed.contains("eyes"), "{listed}");
    assert!(!listed.contains(&ci) && !listed.contains(&eyes), "token values are never shown again");
    admin(&server, &["-p", "demo", "delete", "token", "ci"]);
    let out = as_token(&server, &ci, &["-p", "demo", "get", "stages"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(stderr(&out).contains("token \"ci\" was revoked"), "{}", stderr(&out));
    let out = server.convoy().args(["-p", "demo", "create", "token", "ci", "--role", "kargo-viewer"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("names are never reused"), "{}", stderr(&out));
}

#[test]
fn nobody_gives_more_than_they_hold() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _) = start(dir.path());
    let boss = token(&server, &["-p", "demo", "create", "token", "boss", "--role", "kargo-admin"]);
    let refused = |args: &[&str], why: &str| {
        let out = as_token(&server, &boss, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stdout(&out));
        assert!(stderr(&out).contains(why), "{args:?}: {}", stderr(&out));
    };
    refused(&["create", "token", "root", "--system", "--role", "kargo-admin"], "missing permission: create tokens");
    refused(
        &["grant", "--system", "--role", "kargo-admin", "--token-name", "boss"],
        "missing permission: update roles",
    );
    refused(
        &["-p", "demo", "grant", "--role", "kargo-viewer", "--verb", "*", "--resource-type", "*"],
        "a role can only grant what its granter holds",
    );
    refused(&["-p", "other", "create", "token", "spy", "--role", "kargo-viewer"], "missing permission: create tokens");
    // What it holds, it may give: a role of its own project, with rules it has.
    let out = as_token(&server, &boss, &["-p", "demo", "create", "role", "deployer"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = as_token(
        &server,
        &boss,
        &[
            "-p",
            "demo",
            "grant",
            "--role",
            "deployer",
            "--verb",
            "promote",
            "--resource-type",
            "stages",
            "--resource-name",
            "dev",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let out = as_token(&server, &boss, &["-p", "demo", "grant", "--role", "deployer", "--claim", "groups=release"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let roles = admin(&server, &["-p", "demo", "get", "roles"]);
    let deployer = roles.lines().find(|l| l.starts_with("deployer")).unwrap_or_default();
    assert!(deployer.contains("groups=release") && deployer.contains("promote stages/dev"), "{roles}");
    assert!(roles.contains("kargo-promoter"), "every project has Kargo's roles: {roles}");
}

/// The audit trail of a scripted session: exactly these records, with their actors, oldest
/// first; the same after a restart.
#[test]
fn a_session_leaves_exactly_its_records() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, manifests) = start(dir.path());
    let before = audit(&server).len();
    let ci = token(&server, &["-p", "demo", "create", "token", "ci", "--role", "kargo-promoter"]);
    let changed = std::fs::read_to_string(&manifests)
        .unwrap()
        .replace("ghcr.io/example/app}", "ghcr.io/example/app, semverConstraint: ^1.0.0}");
    let changed_file = dir.path().join("changed.yaml");
    std::fs::write(&changed_file, changed).unwrap();
    admin(&server, &["apply", "-f", changed_file.to_str().unwrap()]);
    let out = as_token(
        &server,
        &ci,
        &["-p", "demo", "promote", "--freight-alias", "first-light", "--stage", "dev", "--wait"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = as_token(&server, &ci, &["-p", "demo", "approve", "--freight-alias", "first-light", "--stage", "dev"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = as_token(&server, &ci, &["-p", "demo", "refresh", "warehouse", "app"]);
    assert_eq!(out.status.code(), Some(1), "a promoter may not refresh a Warehouse");
    admin(&server, &["-p", "demo", "delete", "promotiontask", "promote"]);

    let records = audit(&server);
    let session: Vec<(String, String, String, String, String)> = records[before..]
        .iter()
        .map(|r| {
            let text = |f: &str| r[f].as_str().unwrap_or_default().to_owned();
            (text("actor"), text("verb"), text("kind"), text("name"), text("outcome"))
        })
        .collect();
    let expected: Vec<(String, String, String, String, String)> = [
        ("token:admin", "create", "Token", "ci", "allowed"),
        ("token:admin", "update", "Warehouse", "app", "allowed"),
        ("token:ci", "promote", "Stage", "dev", "allowed"),
        ("token:ci", "run", "Promotion", "", "allowed"),
        ("token:ci", "approve", "Freight", "", "allowed"),
        ("token:ci", "refresh", "Warehouse", "app", "refused"),
        ("token:admin", "delete", "PromotionTask", "promote", "allowed"),
    ]
    .iter()
    .map(|(a, v, k, n, o)| (a.to_string(), v.to_string(), k.to_string(), n.to_string(), o.to_string()))
    .collect();
    // The Promotion and the approved Freight are named by ids this test does not compute.
    let mut compared = session.clone();
    compared[3].3 = String::new();
    compared[4].3 = String::new();
    assert_eq!(compared, expected, "{records:#?}");
    assert!(session[3].3.starts_with("dev."), "the run names the Promotion: {:?}", session[3]);
    assert!(session[4].3.len() == 40, "the approval names the Freight: {:?}", session[4]);
    let summary = |i: usize| records[before + i]["summary"].as_str().unwrap_or_default().to_owned();
    assert!(summary(1).contains("configured: spec.subscriptions"), "{}", summary(1));
    assert!(summary(3).starts_with("Succeeded into Stage dev"), "{}", summary(3));
    let refused = &records[before + 5];
    assert_eq!(refused["status"], 403);
    assert!(refused["summary"].as_str().unwrap().contains("missing permission: patch warehouses/app"), "{refused}");
    let by_request = records.iter().filter(|r| r["verb"] != "run");
    assert!(by_request.clone().all(|r| r["requestId"].as_str().is_some_and(|id| !id.is_empty())));
    assert!(by_request.skip(before).all(|r| r["source"] == "127.0.0.1"), "{records:#?}");
    assert!(!serde_json::to_string(&records).unwrap().contains(&ci), "no token value in the trail");

    server.restart();
    assert_eq!(audit(&server), records, "the trail survives a restart");
}

/// The whole trail, oldest first.
fn audit(server: &Server) -> Vec<Value> {
    let out = admin(server, &["audit", "-o", "json", "--limit", "1000"]);
    let mut records: Vec<Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    records.reverse();
    records
}

#[test]
fn revocation_and_expiry_hold_on_every_replica() {
    let Some(pg) = convoy_store_sql::testing::start_or_skip() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a_dir).unwrap();
    std::fs::create_dir_all(&b_dir).unwrap();
    let env = [("CONVOY_DATABASE_URL", pg.url.as_str())];
    let a = Server::start_with(&a_dir, &env);
    let b = Server::start_with(&b_dir, &env);
    a.login();
    let out = b.convoy().args(["login", "--server", &b.url(), "--token-file"]).arg(a.data.join("admin-token")).output();
    assert!(out.unwrap().status.success());
    let project = dir.path().join("p.yaml");
    std::fs::write(&project, "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: demo}\n").unwrap();
    admin(&a, &["apply", "-f", project.to_str().unwrap()]);
    let ci = token(&a, &["-p", "demo", "create", "token", "ci", "--role", "kargo-viewer"]);
    let brief = token(&a, &["-p", "demo", "create", "token", "brief", "--role", "kargo-viewer", "--expires", "2s"]);
    for server in [&a, &b] {
        assert!(as_token(server, &ci, &["-p", "demo", "get", "stages"]).status.success());
    }
    admin(&b, &["-p", "demo", "delete", "token", "ci"]);
    std::thread::sleep(std::time::Duration::from_secs(3));
    for server in [&a, &b] {
        let out = as_token(server, &ci, &["-p", "demo", "get", "stages"]);
        assert_eq!(out.status.code(), Some(3), "revoked on {}", server.url());
        assert!(stderr(&out).contains("revoked"), "{}", stderr(&out));
        let out = as_token(server, &brief, &["-p", "demo", "get", "stages"]);
        assert_eq!(out.status.code(), Some(3), "expired on {}", server.url());
        assert!(stderr(&out).contains("expired"), "{}", stderr(&out));
    }
    assert_eq!(audit(&a), audit(&b), "one trail, whichever replica is asked");
}
