//! `convoy server` as a user runs it: a real process on a free port and a temp data dir,
//! driven through the `convoy` client commands.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::*;

pub struct Server {
    child: Option<Child>,
    /// Extra environment for the server process (fault injection).
    pub env: Vec<(String, String)>,
    pub port: u16,
    pub data: PathBuf,
    pub config: PathBuf,
    log: PathBuf,
}

impl Server {
    pub fn start(dir: &Path) -> Server {
        Server::start_with(dir, &[])
    }

    /// A server with extra environment (`CONVOY_DATABASE_URL`, fault injection).
    pub fn start_with(dir: &Path, env: &[(&str, &str)]) -> Server {
        let data = dir.join("data");
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut server = Server {
            child: None,
            env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            port,
            data,
            config: dir.join("config.yaml"),
            log: dir.join("server.log"),
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&self.log).unwrap();
        let child = Command::new(assert_cmd::cargo::cargo_bin("convoy"))
            .args(["server", "--listen", &format!("127.0.0.1:{}", self.port), "--data-dir"])
            .arg(&self.data)
            .env_remove("CONVOY_DATABASE_URL")
            // The tests' repositories are local; a test may say "false" through `env`.
            .env("CONVOY_ALLOW_FILE_REMOTES", "true")
            // Many servers run at once: metrics only where a test asks for them (through `env`).
            .env("CONVOY_METRICS_LISTEN", "off")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("convoy server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "server did not listen within 20 s: {}", self.log());
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the server runs").id()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A client command against this server, logged in through the config file.
    pub fn convoy(&self) -> assert_cmd::Command {
        let mut cmd = convoy();
        cmd.env("CONVOY_CONFIG", &self.config);
        cmd
    }

    /// Polls `check` until it holds; fails after 60 s, with the server's log.
    pub fn wait_until(&self, what: &str, check: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !check() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}\n{}", self.log());
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A UI page as a signed-in browser gets it (HTML).
    pub fn page(&self, path: &str) -> String {
        let token = std::fs::read_to_string(self.data.join("admin-token")).unwrap();
        let url = self.url();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
            let form = format!("token={}", token.trim());
            let signed_in = client
                .post(format!("{url}/login"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form)
                .send()
                .await
                .unwrap();
            let cookie = signed_in.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
            let page = client.get(format!("{url}{path}")).header("cookie", cookie).send().await.unwrap();
            assert_eq!(page.status(), 200, "{path}");
            page.text().await.unwrap()
        })
    }

    pub fn login(&self) {
        let out = self
            .convoy()
            .args(["login", "--server", &self.url(), "--token-file"])
            .arg(self.data.join("admin-token"))
            .output()
            .unwrap();
        assert!(out.status.success(), "login: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Stops gracefully (SIGTERM) and starts again on the same port and data dir.
    pub fn restart(&mut self) {
        self.signal("TERM");
        self.spawn();
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill_hard(&mut self) {
        self.signal("KILL");
    }

    pub fn start_again(&mut self) {
        self.spawn();
    }

    /// Waits for the process to end by itself (a crash) and forgets it.
    pub fn wait_for_exit(&mut self, within: Duration) {
        let Some(mut child) = self.child.take() else { return };
        let deadline = Instant::now() + within;
        loop {
            if child.try_wait().unwrap().is_some() {
                return;
            }
            assert!(Instant::now() < deadline, "the server did not stop: {}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn signal(&mut self, signal: &str) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args([&format!("-{signal}"), &child.id().to_string()]).status();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.signal("KILL");
    }
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn apply_get_every_kind_and_format_then_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let token = std::fs::read_to_string(server.data.join("admin-token")).unwrap();
    assert_eq!(token.lines().count(), 1);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(server.data.join("admin-token")).unwrap().permissions().mode() & 0o777, 0o600);
    server.login();
    let out = server.convoy().current_dir(repo_root()).args(["apply", "-f", "examples", "-R"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains("Stage/dev created"));
    let out = server.convoy().current_dir(repo_root()).args(["apply", "-f", "examples", "-R"]).output().unwrap();
    assert!(stdout(&out).lines().all(|l| l.ends_with("unchanged")), "re-apply changes nothing: {}", stdout(&out));

    let kinds = [
        ("projects", "guestbook"),
        ("projectconfig", "guestbook"),
        ("warehouses", "guestbook"),
        ("stages", "dev"),
        ("promotiontasks", "promote"),
        ("clusterpromotiontasks", "smoke-check"),
    ];
    let check_all = |server: &Server| {
        for (kind, name) in kinds {
            for format in ["table", "wide", "yaml", "json"] {
                let out = server.convoy().args(["-p", "guestbook", "get", kind, "-o", format]).output().unwrap();
                assert!(out.status.success(), "get {kind} -o {format}: {}", String::from_utf8_lossy(&out.stderr));
                assert!(stdout(&out).contains(name), "get {kind} -o {format} lists {name}: {}", stdout(&out));
            }
            let out = server.convoy().args(["-p", "guestbook", "get", kind, name, "-o", "json"]).output().unwrap();
            let object: serde_json::Value =
                serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{kind} {name}: {}", stdout(&out)));
            assert_eq!(object["metadata"]["name"], name);
        }
        let out = server.convoy().args(["-p", "guestbook", "get", "stages", "-o", "yaml"]).output().unwrap();
        let list: serde_json::Value = serde_yaml::from_slice(&out.stdout).unwrap();
        assert_eq!((list["apiVersion"].as_str(), list["kind"].as_str()), (Some("v1"), Some("List")));
        assert_eq!(list["items"].as_array().unwrap().len(), 5);
    };
    check_all(&server);
    let out = server.convoy().args(["-p", "guestbook", "get", "stages"]).output().unwrap();
    let header = stdout(&out).lines().next().unwrap().split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(
        header, "NAME SHARD CURRENT FREIGHT HEALTH READY STATUS LAST PROMOTION AGE",
        "Kargo's Stage columns, and the last promotion"
    );
    server.restart();
    check_all(&server);
}

/// `get -o yaml > f; apply -f f`: the `v1 List` that get prints applies item by item.
#[test]
fn a_list_printed_by_get_applies_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.login();
    let out = server.convoy().current_dir(repo_root()).args(["apply", "-f", "examples", "-R"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = server.convoy().args(["-p", "guestbook", "get", "stages", "-o", "yaml"]).output().unwrap();
    let list = dir.path().join("stages.yaml");
    std::fs::write(&list, &out.stdout).unwrap();
    let out = server.convoy().args(["apply", "-f"]).arg(&list).output().unwrap();
    assert!(out.status.success(), "{}\n{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    let unchanged = stdout(&out).lines().filter(|l| l.starts_with("Stage/") && l.ends_with(" unchanged")).count();
    assert_eq!(unchanged, 5, "{}", stdout(&out));
    // An edit inside the List lands, and a bad field points at its line in the List file.
    let text = std::fs::read_to_string(&list).unwrap();
    let edited = text.replacen("promotionTemplate:", "promotionTemplates:", 1);
    std::fs::write(&list, &edited).unwrap();
    let out = server.convoy().args(["apply", "-f"]).arg(&list).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let line = edited.lines().position(|l| l.contains("promotionTemplates:")).unwrap() + 1;
    let expected = format!("{}:{line}:", list.display());
    let text = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(text.contains(&expected) && text.contains("promotionTemplates"), "{expected} in {text}");
}

#[test]
fn an_invalid_file_stores_nothing_and_names_file_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.login();
    let good = dir.path().join("good.yaml");
    std::fs::write(&good, "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata:\n  name: p\n").unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "apiVersion: kargo.akuity.io/v1alpha1\nkind: Warehouse\nmetadata:\n  name: w\n  namespace: p\nspec:\n  subscriptions:\n  - git:\n      repoURL: not-a-url\n").unwrap();
    let out = server.convoy().args(["apply", "-f"]).arg(&good).arg("-f").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let expected = format!(
        "{}:9:7: Warehouse/w: spec.subscriptions[0].git.repoURL: must be a valid Git repository URL",
        bad.display()
    );
    assert!(stdout(&out).contains(&expected), "{}\n{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    let out = server.convoy().args(["get", "project", "p"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "nothing from either file was stored");
}

#[test]
fn stale_resource_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.login();
    let file = dir.path().join("p.yaml");
    std::fs::write(
        &file,
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata:\n  name: p\n  labels: {a: b}\n",
    )
    .unwrap();
    assert!(server.convoy().args(["apply", "-f"]).arg(&file).output().unwrap().status.success());
    let out = server.convoy().args(["get", "project", "p", "-o", "yaml"]).output().unwrap();
    let copied = stdout(&out);
    std::fs::write(
        &file,
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata:\n  name: p\n  labels: {a: c}\n",
    )
    .unwrap();
    assert!(server.convoy().args(["apply", "-f"]).arg(&file).output().unwrap().status.success());
    // The copy still carries the old resourceVersion.
    std::fs::write(&file, copied.replace("a: b", "a: d")).unwrap();
    let out = server.convoy().args(["apply", "-f"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("409") && stderr.contains("was modified"), "{stderr}");
}

#[test]
fn secrets_are_write_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.login();
    let file = dir.path().join("s.yaml");
    std::fs::write(&file, "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: p}\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n  namespace: p\n  labels: {kargo.akuity.io/cred-type: git}\nstringData:\n  repoURL: https://github.com/example/repo\n  password: hunter2-very-secret\n").unwrap();
    assert!(server.convoy().args(["apply", "-f"]).arg(&file).output().unwrap().status.success());
    for format in ["yaml", "json", "table"] {
        let out = server.convoy().args(["-p", "p", "get", "secret", "creds", "-o", format]).output().unwrap();
        assert!(out.status.success());
        assert!(
            !stdout(&out).contains("hunter2") && !stdout(&out).contains("aHVudGVyMi"),
            "{format}: {}",
            stdout(&out)
        );
    }
    assert!(!server.log().contains("hunter2"), "the server log never holds secret values");
    // Which repository and account a credentials Secret is for is shown; how to log in is not.
    let table = stdout(&server.convoy().args(["-p", "p", "get", "secrets"]).output().unwrap());
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "TYPE", "REPO", "URL", "USERNAME", "AGE"], "{table}");
    let row = table.lines().find(|l| l.starts_with("creds")).unwrap();
    assert!(row.contains("git") && row.contains("https://github.com/example/repo"), "{table}");
    // A URL carrying credentials is itself secret.
    std::fs::write(&file, "apiVersion: v1\nkind: Secret\nmetadata:\n  name: inline\n  namespace: p\n  labels: {kargo.akuity.io/cred-type: git}\nstringData:\n  repoURL: https://bot:tok3n@github.com/example/repo\n  username: bot\n").unwrap();
    assert!(server.convoy().args(["apply", "-f"]).arg(&file).output().unwrap().status.success());
    let out = server.convoy().args(["-p", "p", "get", "secret", "inline", "-o", "json"]).output().unwrap();
    assert!(!stdout(&out).contains("tok3n") && !stdout(&out).contains("dG9rM"), "{}", stdout(&out));
    let secret: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(secret["data"]["repoURL"], "<redacted>");
    assert_eq!(secret["data"]["username"], "Ym90", "base64 of bot: shown");
}

#[test]
fn without_a_server_or_token_the_exit_code_is_3() {
    let dir = tempfile::tempdir().unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let out = convoy()
        .env("CONVOY_CONFIG", dir.path().join("none.yaml"))
        .args(["--server", &format!("http://127.0.0.1:{port}"), "get", "projects"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", String::from_utf8_lossy(&out.stderr));
    let server = Server::start(dir.path());
    let out =
        server.convoy().args(["--server", &server.url(), "--token", "wrong", "get", "projects"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused the token"));
}

/// Acknowledged writes survive SIGKILL: every `apply` that returned success is found after a
/// restart.
#[test]
fn acknowledged_writes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    server.login();
    let project = dir.path().join("project.yaml");
    std::fs::write(&project, "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: d}\n").unwrap();
    assert!(server.convoy().args(["apply", "-f"]).arg(&project).output().unwrap().status.success());
    let writer = {
        let config = server.config.clone();
        let dir = dir.path().to_owned();
        std::thread::spawn(move || {
            let mut acknowledged = Vec::new();
            for i in 0..400 {
                let file = dir.join(format!("w{i}.yaml"));
                std::fs::write(&file, format!("apiVersion: kargo.akuity.io/v1alpha1\nkind: PromotionTask\nmetadata: {{name: t{i}, namespace: d}}\nspec:\n  steps:\n  - uses: fail\n")).unwrap();
                let out = convoy().env("CONVOY_CONFIG", &config).args(["apply", "-f"]).arg(&file).output().unwrap();
                match out.status.code() {
                    Some(0) => acknowledged.push(format!("t{i}")),
                    Some(3) => break,
                    _ => {}
                }
            }
            acknowledged
        })
    };
    std::thread::sleep(Duration::from_millis(1500));
    server.kill_hard();
    let acknowledged = writer.join().unwrap();
    eprintln!("{} writes acknowledged before SIGKILL", acknowledged.len());
    assert!(acknowledged.len() > 3, "some writes were acknowledged before the kill ({})", acknowledged.len());
    server.start_again();
    let out = server.convoy().args(["-p", "d", "get", "promotiontasks", "-o", "json"]).output().unwrap();
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let stored: std::collections::HashSet<&str> =
        list["items"].as_array().unwrap().iter().map(|i| i["metadata"]["name"].as_str().unwrap()).collect();
    let lost: Vec<&String> = acknowledged.iter().filter(|n| !stored.contains(n.as_str())).collect();
    assert!(lost.is_empty(), "{} acknowledged writes lost after SIGKILL: {lost:?}", lost.len());
}

/// A misspelt project is an error with a suggestion, not an empty list.
#[test]
fn listing_a_project_that_does_not_exist_fails_with_a_suggestion() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.login();
    let out = server.convoy().args(["-p", "guestbook", "get", "stages"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no project exists yet"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = server.convoy().current_dir(repo_root()).args(["apply", "-f", "examples", "-R"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = server.convoy().args(["-p", "guestbok", "get", "stages"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("project \"guestbok\" not found; did you mean \"guestbook\"?"), "{stderr}");
    let out = server.convoy().args(["-p", "guestbook", "get", "stages"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

/// Sets larger than one request are sent in batches (kinds others depend on first); one object
/// larger than a request is refused with the limit and what to do.
#[test]
fn large_sets_are_applied_in_batches() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.login();
    // Stages come before their Warehouse and tasks in the file order here: batching reorders.
    let out = server
        .convoy()
        .current_dir(repo_root())
        .args(["apply", "-f", "examples/stages.yaml", "-f", "examples", "-R", "--batch-size", "2"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}\n{stderr}", stdout(&out));
    assert!(stderr.contains("batches; each batch is admitted and written on its own"), "{stderr}");
    assert!(stdout(&out).contains("Stage/dev created"), "{}", stdout(&out));

    let megabyte = "x".repeat(1 << 20);
    let many: String = (0..9)
        .map(|i| format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: big-{i}, namespace: guestbook}}\ndata:\n  blob: {megabyte}\n---\n"))
        .collect();
    let file = dir.path().join("many.yaml");
    std::fs::write(&file, many).unwrap();
    let out = server.convoy().args(["apply", "-f"]).arg(&file).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("sending 9 objects (9.0 MiB) in 2 batches"), "{stderr}");
    assert_eq!(stdout(&out).lines().filter(|l| l.ends_with(" created")).count(), 9);

    let huge = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: huge, namespace: guestbook}}\ndata:\n  blob: {}\n",
        "x".repeat(9 << 20)
    );
    std::fs::write(&file, huge).unwrap();
    let out = server.convoy().args(["apply", "-f"]).arg(&file).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("larger than the server accepts (8 MiB)") && stderr.contains("--batch-size"), "{stderr}");
}

/// A server reachable beyond this host without TLS says so, as does unauthenticated metrics
/// there; on loopback neither warning is printed.
#[test]
fn listening_beyond_loopback_warns_about_clear_text() {
    let dir = tempfile::tempdir().unwrap();
    let start = |listen: &str, metrics: &str, name: &str| {
        let log_path = dir.path().join(format!("{name}.log"));
        let log = std::fs::File::create(&log_path).unwrap();
        let child = Command::new(assert_cmd::cargo::cargo_bin("convoy"))
            .args(["server", "--listen", listen, "--metrics-listen", metrics, "--data-dir"])
            .arg(dir.path().join(name))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        (child, log_path)
    };
    let wait_for_listening = |log_path: &Path| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = std::fs::read_to_string(log_path).unwrap_or_default();
            if text.contains("convoy server listening") {
                return text;
            }
            assert!(Instant::now() < deadline, "the server did not start: {text}");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    let (mut open, open_log) = start("0.0.0.0:0", "0.0.0.0:0", "open");
    let text = wait_for_listening(&open_log);
    let _ = open.kill();
    let _ = open.wait();
    assert!(text.contains("without TLS: tokens and Secrets cross the network in clear text"), "{text}");
    assert!(text.contains("metrics are served beyond this host without authentication"), "{text}");
    let (mut private, private_log) = start("127.0.0.1:0", "127.0.0.1:0", "private");
    let text = wait_for_listening(&private_log);
    let _ = private.kill();
    let _ = private.wait();
    assert!(!text.contains("clear text") && !text.contains("without authentication"), "{text}");
}
