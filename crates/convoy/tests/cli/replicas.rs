//! Two `convoy server` replicas on one PostgreSQL database: one runs the controllers, the other
//! serves the API and takes over when the first one dies.

use super::promote::{git, setup, stdout};
use super::server::Server;

fn controllers_line(server: &Server) -> String {
    let out = server.convoy().arg("doctor").output().unwrap();
    stdout(&out).lines().find(|l| l.contains("controllers:")).unwrap_or_default().to_owned()
}

fn promote(server: &Server, alias: &str) {
    let out = server
        .convoy()
        .args(["-p", "demo", "promote", "--freight-alias", alias, "--stage", "dev", "--wait"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
}

#[test]
fn replicas_share_postgres_and_one_runs_the_controllers() {
    let Some(pg) = convoy_store_sql::testing::start_or_skip() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (bare, manifests) = setup(dir.path());
    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a_dir).unwrap();
    std::fs::create_dir_all(&b_dir).unwrap();
    let env = [("CONVOY_DATABASE_URL", pg.url.as_str())];
    let mut a = Server::start_with(&a_dir, &env);
    let b = Server::start_with(&b_dir, &env);
    a.login();
    // The admin token lives in the shared database; the first replica wrote its file.
    let out = b.convoy().args(["login", "--server", &b.url(), "--token-file"]).arg(a.data.join("admin-token")).output();
    assert!(out.unwrap().status.success());

    // Writes through either replica land in the one store; the first replica runs the work.
    let out = b.convoy().args(["apply", "-f"]).arg(&manifests).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(controllers_line(&a).contains("this replica runs the controllers"), "{}", a.log());
    assert!(controllers_line(&b).contains("standby"), "{}", b.log());
    promote(&b, "first-light");
    assert_eq!(git(&bare, &["rev-list", "--count", "main"]), "2", "one promotion, one commit");
    assert!(a.log().contains("this replica runs the controllers"));
    assert!(!b.log().contains("this replica runs the controllers"), "{}", b.log());

    // The first replica dies: the second takes over and runs the next promotion.
    a.kill_hard();
    let commit = git(&bare, &["rev-parse", "main~1"]);
    let freight = format!(
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Freight\nmetadata: {{namespace: demo}}\nalias: second-light\norigin: {{kind: Warehouse, name: app}}\nimages:\n- {{repoURL: ghcr.io/example/app, tag: 1.3.0}}\ncommits:\n- {{repoURL: \"file://{}\", id: {commit}}}\n",
        bare.display()
    );
    let file = dir.path().join("second.yaml");
    std::fs::write(&file, freight).unwrap();
    let out = b.convoy().args(["apply", "-f"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    promote(&b, "second-light");
    assert_eq!(git(&bare, &["rev-list", "--count", "main"]), "3");
    assert!(git(&bare, &["show", "main:env/dev/kustomization.yaml"]).contains("newTag: 1.3.0"));
    assert!(b.log().contains("this replica runs the controllers"), "{}", b.log());
    assert!(controllers_line(&b).contains("this replica runs the controllers"));
}

/// SQLite is one process's store: a second server on the same data dir stops with the reason.
#[test]
fn a_second_server_on_the_same_data_dir_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let out = super::convoy()
        .args(["server", "--listen", "127.0.0.1:0", "--metrics-listen", "off", "--data-dir"])
        .arg(&server.data)
        .env_remove("CONVOY_DATABASE_URL")
        .timeout(std::time::Duration::from_secs(20))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("another convoy server is using the data directory"), "{stderr}");
    assert!(stderr.contains("--database-url"), "{stderr}");
}

fn phase(server: &Server, promotion: &str) -> String {
    let out = server.convoy().args(["-p", "demo", "get", "promotion", promotion, "-o", "json"]).output().unwrap();
    let object: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    object.pointer("/status/phase").and_then(|p| p.as_str()).unwrap_or("Pending").to_owned()
}

/// Kargo's sharding: a Stage with `spec.shard: east` is promoted only by a replica started with
/// `--shard east`; the default replica leaves it alone.
#[test]
fn a_sharded_stage_waits_for_its_shard() {
    let Some(pg) = convoy_store_sql::testing::start_or_skip() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (bare, manifests) = setup(dir.path());
    // The east Stage deploys its own overlay.
    let seed = dir.path().join("seed");
    std::fs::create_dir_all(seed.join("env/east-dev")).unwrap();
    std::fs::write(
        seed.join("env/east-dev/kustomization.yaml"),
        "images:\n- name: ghcr.io/example/app\n  newTag: 1.0.0\n",
    )
    .unwrap();
    git(&seed, &["add", "."]);
    git(&seed, &["commit", "--quiet", "-m", "east overlay"]);
    git(&seed, &["push", "--quiet", "origin", "main"]);
    let mut text = std::fs::read_to_string(&manifests).unwrap();
    let dev = text[text.find("kind: Stage").unwrap()..].to_owned();
    text.push_str("---\napiVersion: kargo.akuity.io/v1alpha1\n");
    text.push_str(&dev.replacen(
        "{name: dev, namespace: demo}\nspec:\n",
        "{name: east-dev, namespace: demo}\nspec:\n  shard: east\n",
        1,
    ));
    std::fs::write(&manifests, text).unwrap();

    let (a_dir, b_dir) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a_dir).unwrap();
    std::fs::create_dir_all(&b_dir).unwrap();
    let a = Server::start_with(&a_dir, &[("CONVOY_DATABASE_URL", pg.url.as_str())]);
    a.login();
    let out = a.convoy().args(["apply", "-f"]).arg(&manifests).output().unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    promote(&a, "first-light");
    let out = a
        .convoy()
        .args(["-p", "demo", "promote", "--freight-alias", "first-light", "--stage", "east-dev"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let name = stdout(&out).trim().trim_start_matches("Promotion/").trim_end_matches(" created").to_owned();
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(phase(&a, &name), "Pending", "no replica runs shard east yet");

    let b = Server::start_with(&b_dir, &[("CONVOY_DATABASE_URL", pg.url.as_str()), ("CONVOY_SHARD", "east")]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while phase(&a, &name) != "Succeeded" {
        assert!(std::time::Instant::now() < deadline, "east-dev not promoted: {}", b.log());
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(git(&bare, &["show", "main:env/east-dev/kustomization.yaml"]).contains("newTag: 1.2.0"));
    assert!(b.log().contains("east"), "{}", b.log());
}

/// Kargo's lease key scheme is Convoy's own: FNV-1a (32-bit) of the lock name, as an i32.
fn lock_key(name: &str) -> i32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in name.bytes() {
        hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
    }
    i32::from_ne_bytes(hash.to_ne_bytes())
}

/// Pushes to a branch take turns across replicas: while another session (here psql, standing in
/// for a second replica) holds the branch's lock `git-push/<normalized URL>#<branch>`, the
/// promotion waits at its push; when the lock is let go, it pushes.
#[test]
fn pushes_to_one_branch_take_turns_across_replicas() {
    let Some(pg) = convoy_store_sql::testing::start_or_skip() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (bare, manifests) = setup(dir.path());
    let server = Server::start_with(dir.path(), &[("CONVOY_DATABASE_URL", pg.url.as_str())]);
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&manifests).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // `file://` URLs are normalized by dropping a trailing `.git` (docs/compat.md).
    let url = format!("file://{}", bare.display());
    let name = format!("git-push/{}#main", url.trim_end_matches(".git"));
    let (class, key) = (0x636f_6e76, lock_key(&name));
    let mut holder = std::process::Command::new("/usr/lib/postgresql/15/bin/psql")
        .args(["-X", "-q", "-d", &pg.url, "-c"])
        .arg(format!("SELECT pg_advisory_lock({class}, {key}); SELECT pg_sleep(6);"))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let held = || {
        pg.psql(&format!("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 AND classid = {class} AND objid = {}", key as u32))
            .unwrap()
            == "1"
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !held() {
        assert!(std::time::Instant::now() < deadline, "psql did not take the lock");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    let out = server
        .convoy()
        .args(["-p", "demo", "promote", "--freight-alias", "first-light", "--stage", "dev"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let promotion = stdout(&out).trim().trim_start_matches("Promotion/").trim_end_matches(" created").to_owned();
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert!(holder.try_wait().unwrap().is_none(), "the other session still holds the branch");
    assert_eq!(git(&bare, &["rev-list", "--count", "main"]), "1", "nothing pushed while the lock is held");
    assert_ne!(phase(&server, &promotion), "Succeeded", "the promotion waits at its push");

    holder.wait().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while phase(&server, &promotion) != "Succeeded" {
        assert!(std::time::Instant::now() < deadline, "the push did not follow the lock's release: {}", server.log());
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(git(&bare, &["rev-list", "--count", "main"]), "2");
}
