//! Against real repositories: bare repositories over file:// and git:// (git daemon).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use convoy_git::testing::git as sh;
use convoy_git::{Checkout, Mirrors, Signature};

/// A bare repository with one commit on `main` holding kustomization.yaml.
fn remote(dir: &Path) -> PathBuf {
    // These tests' remotes are local repositories (`convoy server --allow-file-remotes`).
    convoy_git::allow_file_remotes(true);
    let bare = dir.join("remote.git");
    sh(dir, &["init", "--quiet", "--bare", "-b", "main", bare.to_str().unwrap()]);
    let seed = dir.join("seed");
    sh(dir, &["clone", "--quiet", bare.to_str().unwrap(), seed.to_str().unwrap()]);
    std::fs::write(seed.join("kustomization.yaml"), "images:\n- name: app\n  newTag: v1 # the deployed tag\n").unwrap();
    sh(&seed, &["add", "."]);
    sh(&seed, &["commit", "--quiet", "-m", "init"]);
    sh(&seed, &["push", "--quiet", "origin", "main"]);
    bare
}

fn log(bare: &Path, branch: &str) -> Vec<String> {
    sh(bare, &["log", "--format=%s", branch]).lines().map(str::to_owned).collect()
}

#[tokio::test]
async fn clone_edit_commit_push_over_file_urls() {
    let dir = tempfile::tempdir().unwrap();
    let bare = remote(dir.path());
    let url = format!("file://{}", bare.display());
    let mirrors = Mirrors::new(dir.path().join("mirrors"));
    let tree = mirrors
        .work_tree(&url, None, &dir.path().join("w1"), &Checkout::Branch { name: "main".into(), create: false })
        .await
        .unwrap();
    std::fs::write(tree.dir.join("kustomization.yaml"), "images:\n- name: app\n  newTag: v2 # the deployed tag\n")
        .unwrap();
    let commit = tree.commit("bump app to v2", &Signature::default()).await.unwrap();
    let pushed = tree.push(&mirrors, None, false, 3).await.unwrap();
    assert_eq!((pushed.branch.as_str(), pushed.commit.as_str(), pushed.attempts), ("main", commit.as_str(), 1));
    assert_eq!(log(&bare, "main"), ["bump app to v2", "init"]);
    let author = sh(&bare, &["log", "-1", "--format=%an <%ae>", "main"]);
    assert_eq!(author, "Convoy <no-reply@convoy.invalid>");
    assert!(tree.remote_has("main", &commit).await.unwrap());
    // Nothing changed: no new commit.
    assert_eq!(tree.commit("again", &Signature::default()).await.unwrap(), commit);
    // A second work tree fetches into the same mirror instead of cloning again.
    mirrors.work_tree(&url, None, &dir.path().join("w2"), &Checkout::Default).await.unwrap();
    assert_eq!(mirrors.fetch_count(), 2);
    assert_eq!(std::fs::read_dir(dir.path().join("mirrors")).unwrap().count(), 1, "one mirror per repository");
}

#[tokio::test]
async fn new_branches_start_empty_and_missing_ones_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let bare = remote(dir.path());
    let url = format!("file://{}", bare.display());
    let mirrors = Mirrors::new(dir.path().join("mirrors"));
    let missing = mirrors
        .work_tree(&url, None, &dir.path().join("w0"), &Checkout::Branch { name: "env/dev".into(), create: false })
        .await;
    assert!(missing.unwrap_err().message.contains("set create: true"));
    let tree = mirrors
        .work_tree(&url, None, &dir.path().join("w1"), &Checkout::Branch { name: "env/dev".into(), create: true })
        .await
        .unwrap();
    assert!(!tree.dir.join("kustomization.yaml").exists(), "a created branch starts empty");
    std::fs::write(tree.dir.join("manifests.yaml"), "kind: ConfigMap\n").unwrap();
    tree.commit("render dev", &Signature::default()).await.unwrap();
    tree.push(&mirrors, None, false, 1).await.unwrap();
    assert_eq!(log(&bare, "env/dev"), ["render dev"]);
}

#[tokio::test]
async fn concurrent_pushes_to_one_branch_both_land() {
    let dir = tempfile::tempdir().unwrap();
    let bare = remote(dir.path());
    let url = format!("file://{}", bare.display());
    let first = Mirrors::new(dir.path().join("m1"));
    let second = Mirrors::new(dir.path().join("m2"));
    let main = Checkout::Branch { name: "main".into(), create: false };
    let a = first.work_tree(&url, None, &dir.path().join("a"), &main).await.unwrap();
    let b = second.work_tree(&url, None, &dir.path().join("b"), &main).await.unwrap();
    std::fs::write(a.dir.join("a.txt"), "a").unwrap();
    std::fs::write(b.dir.join("b.txt"), "b").unwrap();
    a.commit("change a", &Signature::default()).await.unwrap();
    b.commit("change b", &Signature::default()).await.unwrap();
    // Separate mirror sets stand for separate processes: only the rebase retry saves the race.
    let (ra, rb) = tokio::join!(a.push(&first, None, false, 5), b.push(&second, None, false, 5));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert!(ra.attempts + rb.attempts >= 3, "one of them had to rebase: {ra:?} {rb:?}");
    let history = log(&bare, "main");
    assert!(history.contains(&"change a".to_owned()) && history.contains(&"change b".to_owned()), "{history:?}");
    assert_eq!(history.len(), 3);
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn clone_and_push_over_git_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let bare = remote(dir.path());
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    // The daemon binary itself, not the `git daemon` wrapper: killing the wrapper would leave
    // the daemon running.
    let exec_path = sh(dir.path(), &["--exec-path"]);
    let daemon = Command::new(Path::new(&exec_path).join("git-daemon"))
        .args(["--reuseaddr", "--export-all", "--enable=receive-pack", "--listen=127.0.0.1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .arg(format!("--port={port}"))
        .arg(format!("--base-path={}", dir.path().display()))
        .arg(dir.path())
        .spawn()
        .expect("git daemon starts");
    let _daemon = Daemon(daemon);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "git daemon did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    let url = format!("git://127.0.0.1:{port}/remote.git");
    let mirrors = Mirrors::new(dir.path().join("mirrors"));
    let tree = mirrors
        .work_tree(&url, None, &dir.path().join("w"), &Checkout::Branch { name: "main".into(), create: false })
        .await
        .unwrap();
    std::fs::write(tree.dir.join("x.txt"), "over git://").unwrap();
    tree.commit("via daemon", &Signature::default()).await.unwrap();
    tree.push(&mirrors, None, false, 1).await.unwrap();
    assert_eq!(log(&bare, "main")[0], "via daemon");
}

#[tokio::test]
async fn credentials_never_show_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mirrors = Mirrors::new(dir.path().join("mirrors"));
    let url = format!("http://alice:s3cret-token@127.0.0.1:{port}/repo.git");
    let err = mirrors.sync(&url, None).await.unwrap_err();
    let text = err.to_string();
    assert!(!text.contains("s3cret-token"), "{text}");
}

struct Http(Child);

impl Drop for Http {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `git http-backend` behind Python's CGI server (only the standard library is needed).
#[tokio::test]
async fn clone_and_push_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let bare = remote(dir.path());
    sh(&bare, &["config", "http.receivepack", "true"]);
    let www = dir.path().join("www");
    std::fs::create_dir_all(www.join("cgi-bin")).unwrap();
    let script = www.join("cgi-bin/git");
    std::fs::write(&script, format!("#!/bin/sh\nexport GIT_PROJECT_ROOT='{}' GIT_HTTP_EXPORT_ALL=1 REMOTE_USER=tester\nexec git -c safe.directory='*' http-backend\n", dir.path().display())).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    // Python's CGI server drops root to `nobody` before running a script; keep the test's
    // user so the backend can write the pushed objects.
    let serve = format!(
        "import http.server as h, os\nh.nobody_uid = lambda: os.getuid()\nh.ThreadingHTTPServer(('127.0.0.1', {port}), h.CGIHTTPRequestHandler).serve_forever()"
    );
    let server = Command::new("python3")
        .args(["-c", &serve])
        .current_dir(&www)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    let Ok(server) = server else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "python3 is required in CI for the http:// git test");
        eprintln!("skipping: python3 is not available");
        return;
    };
    let _server = Http(server);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "http server did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    let url = format!("http://127.0.0.1:{port}/cgi-bin/git/remote.git");
    let mirrors = Mirrors::new(dir.path().join("mirrors"));
    let tree = mirrors
        .work_tree(&url, None, &dir.path().join("w"), &Checkout::Branch { name: "main".into(), create: false })
        .await
        .unwrap();
    std::fs::write(tree.dir.join("y.txt"), "over http://").unwrap();
    tree.commit("via http", &Signature::default()).await.unwrap();
    tree.push(&mirrors, None, false, 1).await.unwrap();
    assert_eq!(log(&bare, "main")[0], "via http");
}

/// A mirror filled with one project's credentials is not served to a caller whose own
/// credentials (or none) the remote refuses, however fresh the mirror is.
#[tokio::test]
async fn a_fresh_mirror_is_served_only_to_credentials_the_remote_accepts() {
    let dir = tempfile::tempdir().unwrap();
    remote(dir.path());
    let Some(http) = convoy_git::testing::serve_private(dir.path(), "bot", "pw") else { return };
    let url = http.url("remote.git");
    let mirrors = Mirrors::new(dir.path().join("mirrors"));
    let fresh = Duration::from_secs(3600);
    let right = convoy_git::Credentials { username: "bot".into(), password: "pw".into() };
    mirrors.refresh(&url, Some(&right), fresh).await.unwrap();
    assert!(mirrors.refresh(&url, Some(&right), fresh).await.is_ok(), "the same credentials use the fresh mirror");
    let fetches = mirrors.fetch_count();
    let error = mirrors.refresh(&url, None, fresh).await.unwrap_err();
    assert!(error.message.contains("Username") || error.message.contains("Authentication"), "{error}");
    let wrong = convoy_git::Credentials { username: "bot".into(), password: "guess".into() };
    assert!(mirrors.refresh(&url, Some(&wrong), fresh).await.is_err());
    assert_eq!(mirrors.fetch_count(), fetches, "the checks were ls-remote, not fetches");
}
