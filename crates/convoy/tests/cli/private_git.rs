//! Promotions into a repository that needs credentials: git http-backend behind a CGI server
//! that answers 401 without the right Basic credentials, which come from a Kargo-style Secret.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::promote::{git, setup, stdout};
use super::server::Server;

const PASSWORD: &str = "s3cret-t0ken";

struct HttpGit {
    child: Child,
    url: String,
}

impl Drop for HttpGit {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Serves the repositories under `root` at `http://127.0.0.1:PORT/cgi-bin/git/<name>`.
fn serve(root: &Path) -> Option<HttpGit> {
    let www = root.join("www");
    std::fs::create_dir_all(www.join("cgi-bin")).unwrap();
    let script = www.join("cgi-bin/git");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nexport GIT_PROJECT_ROOT='{}' GIT_HTTP_EXPORT_ALL=1\nexec git -c safe.directory='*' http-backend\n",
            root.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let program = format!(
        r#"import base64, http.server as h, os
expected = "Basic " + base64.b64encode(b"bot:{PASSWORD}").decode()
h.nobody_uid = lambda: os.getuid()
class Handler(h.CGIHTTPRequestHandler):
    def authorized(self):
        if self.headers.get("Authorization") == expected:
            return True
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="git"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False
    def do_GET(self):
        if self.authorized():
            super().do_GET()
    def do_POST(self):
        if self.authorized():
            super().do_POST()
h.ThreadingHTTPServer(("127.0.0.1", {port}), Handler).serve_forever()
"#
    );
    let child = match Command::new("python3")
        .args(["-c", &program])
        .current_dir(&www)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(_) => {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "python3 is required in CI");
            eprintln!("skipping: python3 is not available");
            return None;
        }
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the git http server did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(HttpGit { child, url: format!("http://127.0.0.1:{port}/cgi-bin/git/config.git") })
}

#[test]
fn credentials_come_from_a_secret_and_are_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let (bare, manifests) = setup(dir.path());
    git(&bare, &["config", "http.receivepack", "true"]);
    let Some(http) = serve(dir.path()) else { return };
    let file_url = format!("file://{}", bare.display());
    let text = std::fs::read_to_string(&manifests).unwrap().replace(&file_url, &http.url);
    std::fs::write(&manifests, text).unwrap();
    let server = Server::start(dir.path());
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&manifests).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let promote = || {
        server
            .convoy()
            .args(["-p", "demo", "promote", "--freight-alias", "first-light", "--stage", "dev", "--wait"])
            .output()
            .unwrap()
    };
    // Without credentials the clone is refused, and the failure says so.
    let out = promote();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let failure = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(failure.contains("task-1::clone"), "{failure}");
    // With credentials that match the repository (given with a trailing .git: URLs are normalized),
    // the password read from standard input; kept in the shared project, which every project uses.
    let repo_url = format!("{}.git", http.url.trim_end_matches(".git"));
    let out = server
        .convoy()
        .args([
            "-p",
            "kargo-shared-resources",
            "create",
            "credentials",
            "config-repo",
            "--type",
            "git",
            "--repo-url",
            &repo_url,
        ])
        .args(["--username", "bot", "--password-stdin"])
        .write_stdin(format!("{PASSWORD}\n"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!stdout(&out).contains(PASSWORD));
    let out = promote();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}\n{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    assert!(git(&bare, &["show", "main:env/dev/kustomization.yaml"]).contains("newTag: 1.2.0"));
    // The password appears nowhere: not in the server log, not in any Promotion, not in the Secret read back.
    let promotions = server.convoy().args(["-p", "demo", "get", "promotions", "-o", "yaml"]).output().unwrap();
    let secret_back = server
        .convoy()
        .args(["-p", "kargo-shared-resources", "get", "secret", "config-repo", "-o", "yaml"])
        .output()
        .unwrap();
    assert!(stdout(&secret_back).contains("config-repo"), "the Secret reads back, without its values");
    for (what, text) in
        [("server log", server.log()), ("promotions", stdout(&promotions)), ("secret", stdout(&secret_back))]
    {
        assert!(!text.contains(PASSWORD), "the password leaked into the {what}");
    }
}
