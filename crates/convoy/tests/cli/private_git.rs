//! Promotions into a repository that needs credentials: git http-backend behind a CGI server
//! that answers 401 without the right Basic credentials, which come from a Kargo-style Secret.

use super::promote::{git, promote_first_light, setup, stdout};
use super::server::Server;

const PASSWORD: &str = "s3cret-t0ken";

#[test]
fn credentials_come_from_a_secret_and_are_never_shown() {
    let dir = tempfile::tempdir().unwrap();
    let (bare, manifests) = setup(dir.path());
    git(&bare, &["config", "http.receivepack", "true"]);
    let Some(http) = convoy_git::testing::serve_private(dir.path(), "bot", PASSWORD) else { return };
    let file_url = format!("file://{}", bare.display());
    let text = std::fs::read_to_string(&manifests).unwrap().replace(&file_url, &http.url("config.git"));
    std::fs::write(&manifests, text).unwrap();
    let server = Server::start(dir.path());
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&manifests).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let promote = || promote_first_light(&server);
    // Without credentials the clone is refused, and the failure says so.
    let out = promote();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let failure = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(failure.contains("task-1::clone"), "{failure}");
    // With credentials that match the repository (given with a trailing .git: URLs are normalized),
    // the password read from standard input; kept in the shared project, which every project uses.
    let repo_url = format!("{}.git", http.url("config.git").trim_end_matches(".git"));
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
