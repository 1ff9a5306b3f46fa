//! Backups as docs/operations.md tells operators to take them: SQLite's online backup of a
//! running server's database, PostgreSQL's pg_dump / pg_restore. Restored into a new data dir
//! (or database), a server serves the same objects, and the old admin token still works.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::server::Server;

const MANIFESTS: &str = r#"apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata: {name: demo}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: ProjectConfig
metadata: {name: demo, namespace: demo}
spec:
  promotionPolicies:
  - stageSelector: {name: dev}
    autoPromotionEnabled: true
---
apiVersion: v1
kind: Secret
metadata:
  name: registry
  namespace: demo
  labels: {kargo.akuity.io/cred-type: image}
stringData: {repoURL: ghcr.io/example/app, username: bot, password: s3cret}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {name: app, namespace: demo}
spec:
  interval: 1h
  freightCreationPolicy: Manual
  subscriptions:
  - image: {repoURL: ghcr.io/example/app}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Freight
metadata: {namespace: demo}
alias: first
origin: {kind: Warehouse, name: app}
images:
- {repoURL: ghcr.io/example/app, tag: 1.0.0}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {name: dev, namespace: demo}
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: app}
    sources: {direct: true}
  promotionTemplate:
    spec:
      steps:
      - uses: compose-output
        config: {tag: "${{ imageFrom('ghcr.io/example/app').Tag }}"}
"#;

/// Every object of the project a user can list, as (kind, name, resourceVersion, status).
fn objects(server: &Server) -> Vec<(String, String, String, Value)> {
    let mut all = Vec::new();
    for kind in ["stages", "freight", "promotions", "warehouses", "secrets", "projectconfigs"] {
        let out = server.convoy().args(["-p", "demo", "get", kind, "-o", "json"]).output().unwrap();
        assert!(out.status.success(), "{kind}: {}", String::from_utf8_lossy(&out.stderr));
        let list: Value = serde_json::from_slice(&out.stdout).unwrap();
        for item in list["items"].as_array().cloned().unwrap_or_default() {
            let text = |p: &str| item.pointer(p).and_then(Value::as_str).unwrap_or("").to_owned();
            // A Warehouse discovers again when a server starts (its registry is unreachable
            // here): its status is the new server's, not the backup's.
            let (version, status) = if kind == "warehouses" {
                (String::new(), Value::Null)
            } else {
                (text("/metadata/resourceVersion"), item["status"].clone())
            };
            all.push((kind.to_owned(), text("/metadata/name"), version, status));
        }
    }
    all.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    all
}

/// A server with the pipeline applied and dev promoted, settled.
fn populated(dir: &Path, env: &[(&str, &str)]) -> Server {
    let file = dir.join("pipeline.yaml");
    std::fs::write(&file, MANIFESTS).unwrap();
    let server = Server::start_with(dir, env);
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    server.wait_until("dev to be verified", || {
        let out = server.convoy().args(["-p", "demo", "get", "freight", "first", "-o", "json"]).output().unwrap();
        let freight: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        freight.pointer("/status/verifiedIn/dev").is_some()
    });
    server
}

/// Logs in to `server` with the token file of the server backed up.
fn login_with(server: &Server, token_file: &Path) {
    let out =
        server.convoy().args(["login", "--server", &server.url(), "--token-file"]).arg(token_file).output().unwrap();
    assert!(out.status.success(), "the old admin token works: {}", String::from_utf8_lossy(&out.stderr));
}

fn run(command: &mut Command) {
    let out = command.output().unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(out.status.success(), "{command:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_sqlite_backup_taken_while_serving_restores_into_a_new_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("original");
    std::fs::create_dir_all(&original).unwrap();
    let server = populated(&original, &[]);
    let before = objects(&server);
    // SQLite's online backup: consistent while the server writes (WAL).
    let backup = dir.path().join("convoy-backup.db");
    run(Command::new("sqlite3").arg(server.data.join("convoy.db")).arg(format!(".backup '{}'", backup.display())));
    drop(server);

    let restored = dir.path().join("restored");
    let data = restored.join("data");
    std::fs::create_dir_all(&data).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::copy(&backup, data.join("convoy.db")).unwrap();
    let server = Server::start(&restored);
    login_with(&server, &original.join("data/admin-token"));
    let after = objects(&server);
    assert!(!before.is_empty());
    assert_eq!(after, before);
    assert!(!data.join("admin-token").exists(), "no new admin token: the restored one is used");
}

#[test]
fn a_postgres_dump_restores_into_a_new_database() {
    let Some(pg) = convoy_store_sql::testing::start_or_skip() else { return };
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("original");
    std::fs::create_dir_all(&original).unwrap();
    let server = populated(&original, &[("CONVOY_DATABASE_URL", pg.url.as_str())]);
    let before = objects(&server);
    let dump = dir.path().join("convoy.dump");
    run(Command::new("pg_dump").args(["--format=custom", "--file"]).arg(&dump).arg(&pg.url));
    drop(server);

    pg.psql("CREATE DATABASE convoy_restored").unwrap();
    let (base, _) = pg.url.rsplit_once('/').unwrap();
    let query = pg.url.split_once('?').map(|(_, q)| format!("?{q}")).unwrap_or_default();
    let restored_url = format!("{base}/convoy_restored{query}");
    run(Command::new("pg_restore").args(["--no-owner", "--dbname", &restored_url]).arg(&dump));
    let restored = dir.path().join("restored");
    std::fs::create_dir_all(&restored).unwrap();
    let server = Server::start_with(&restored, &[("CONVOY_DATABASE_URL", restored_url.as_str())]);
    login_with(&server, &original.join("data/admin-token"));
    assert_eq!(objects(&server), before);
}
