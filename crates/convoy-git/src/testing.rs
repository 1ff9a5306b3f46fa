//! Test helpers (feature `testing`): git run in a directory with a fixed identity, and a git
//! server over HTTP (`git http-backend` behind Python's CGI server) that answers 401 without the
//! right Basic credentials.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Runs the system's git in `dir` as a test's fixture would (author and committer `t <t@e>`);
/// panics with git's message when it fails. Returns trimmed stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@e")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@e")
        .output()
        .unwrap_or_else(|e| panic!("git {args:?}: {e}"));
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A running server; stopped when dropped.
pub struct PrivateHttpGit {
    child: Child,
    port: u16,
}

impl PrivateHttpGit {
    /// The URL of the repository `name` (a directory under the served root, e.g. `config.git`).
    pub fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/cgi-bin/git/{name}", self.port)
    }
}

impl Drop for PrivateHttpGit {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Serves the repositories under `root` to `username:password` only; `None` (test skipped)
/// where python3 is missing, which CI does not allow.
pub fn serve_private(root: &Path, username: &str, password: &str) -> Option<PrivateHttpGit> {
    let www = root.join("www");
    std::fs::create_dir_all(www.join("cgi-bin")).ok()?;
    let script = www.join("cgi-bin/git");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nexport GIT_PROJECT_ROOT='{}' GIT_HTTP_EXPORT_ALL=1\nexec git -c safe.directory='*' http-backend\n",
            root.display()
        ),
    )
    .ok()?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).ok()?;
    let port = TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
    let program = format!(
        r#"import base64, http.server as h, os
expected = "Basic " + base64.b64encode(b"{username}:{password}").decode()
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
    Some(PrivateHttpGit { child, port })
}
