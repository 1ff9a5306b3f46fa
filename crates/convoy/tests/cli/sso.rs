//! Single sign-on against a real OpenID provider (npm `oidc-provider`, started here): the UI's
//! sign-in in headless Chromium, `convoy login --sso` by a loopback redirect and by the device flow, group claims
//! mapped to roles, and the ID tokens that must be refused (another client's, expired, signed
//! with a key the issuer no longer has) or accepted after the issuer rotates its keys.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::browser::Browser;
use super::promote::{setup, stdout};
use super::server::Server;

const SCRIPT: &str = include_str!("oidc-provider.mjs");
const ACCOUNTS: &str = r#"{
  "alice": {"email": "alice@example.com", "groups": ["devops"]},
  "bob": {"email": "bob@example.com", "groups": ["sales"]},
  "olga": {"email": "olga@example.com", "groups": ["ops"]}
}"#;

/// The npm package's directory (scripts/test.sh installs it; `CONVOY_OIDC_PROVIDER_DIR`).
fn package() -> Option<PathBuf> {
    let dir = std::env::var_os("CONVOY_OIDC_PROVIDER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/tools/oidc-provider-9.13.3"));
    if dir.join("node_modules/oidc-provider").is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "oidc-provider is required in CI (scripts/test.sh installs it)"
    );
    eprintln!("skipping: npm oidc-provider is not installed in {}", dir.display());
    None
}

struct Provider {
    child: Child,
    port: u16,
}

impl Provider {
    fn start(port: u16, key_id: &str, id_token_ttl: u64, ui_redirect: &str) -> Option<Provider> {
        let dir = package()?;
        // ES modules resolve packages from the script's directory.
        let script = dir.join("convoy-test-provider.mjs");
        std::fs::write(&script, SCRIPT).unwrap();
        let mut child = Command::new("node")
            .arg(&script)
            .env("PORT", port.to_string())
            .env("KEY_ID", key_id)
            .env("ID_TOKEN_TTL", id_token_ttl.to_string())
            .env("ACCOUNTS", ACCOUNTS)
            .env("UI_REDIRECT", ui_redirect)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node starts");
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
        assert!(first.contains("listening"), "the provider did not start: {first:?}");
        Some(Provider { child, port })
    }

    fn issuer(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The account the next sign-in is.
    fn next_user(&self, name: &str) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let url = format!("{}/test/next-user", self.issuer());
        runtime.block_on(async { reqwest::Client::new().post(url).body(name.to_owned()).send().await.unwrap() });
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn sso_server(dir: &std::path::Path, issuer: &str) -> Server {
    Server::start_with(
        dir,
        &[
            ("CONVOY_OIDC_ISSUER", issuer),
            ("CONVOY_OIDC_CLIENT_ID", "convoy-ui"),
            ("CONVOY_OIDC_CLI_CLIENT_ID", "convoy-cli"),
            ("CONVOY_OIDC_ADMINS", "groups=ops"),
        ],
    )
}

/// `convoy login --sso` with its own config file, the link opened in the browser as the user
/// would: with `device`, the device flow's; else the loopback redirect's (a browser "opens":
/// `BROWSER=true`, and the test's Chromium follows the link). The config file it wrote.
fn login_sso(server: &Server, browser: &Browser, dir: &std::path::Path, who: &str, device: bool) -> PathBuf {
    let config = dir.join(format!("{who}.yaml"));
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("convoy"));
    command.args(["login", "--sso", "--server", &server.url()]);
    if device {
        command.arg("--device-code");
    }
    let mut child = command
        .env("CONVOY_CONFIG", &config)
        .env("BROWSER", "true")
        .env_remove("CONVOY_TOKEN")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut said = String::new();
    let link = loop {
        let line = lines.next().expect("convoy login --sso shows a link").unwrap();
        said.push_str(&line);
        if let Some(link) = line.trim().strip_prefix("http") {
            break format!("http{link}");
        }
    };
    browser.goto(&link);
    if device {
        assert!(said.contains("confirm the code"), "{said}");
        browser.wait_for("the device sign-in", "document.getElementById('device-done')");
    } else {
        assert!(said.contains("Opening a browser"), "{said}");
        browser.wait_for("the loopback answer", "document.getElementById('signed-in')");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "convoy login --sso did not finish");
        std::thread::sleep(Duration::from_millis(100));
    };
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(status.success(), "convoy login --sso: {said} {rest:?}");
    config
}

fn as_user(config: &std::path::Path, args: &[&str]) -> std::process::Output {
    super::convoy().env("CONVOY_CONFIG", config).env_remove("CONVOY_TOKEN").args(args).output().unwrap()
}

#[test]
fn sign_in_through_the_issuer_in_the_browser_and_from_the_cli() {
    let Some(browser) = Browser::start() else { return };
    let Some(_) = package() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (_, manifests) = setup(dir.path());
    let provider_port = free_port();
    let issuer = format!("http://127.0.0.1:{provider_port}");
    let server = sso_server(dir.path(), &issuer);
    let Some(provider) = Provider::start(provider_port, "one", 3600, &format!("{}/auth/callback", server.url())) else {
        return;
    };
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&manifests).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out =
        server.convoy().args(["-p", "demo", "grant", "--role", "kargo-viewer", "--claim", "groups=devops"]).output();
    assert!(out.unwrap().status.success());

    // The UI: "Sign in with single sign-on", the issuer, and back on the page asked for.
    provider.next_user("alice");
    browser.goto(&format!("{}/p/demo", server.url()));
    browser.click("#sso");
    browser.wait_for("the pipeline after signing in", "document.querySelector('[data-stage=dev]')");
    assert!(browser.url().ends_with("/p/demo"), "{}", browser.url());
    assert!(browser.text("body").contains("dev"));

    // The CLI in this machine's browser (loopback redirect): alice (devops → kargo-viewer in
    // demo) reads and may not promote.
    let alice = login_sso(&server, &browser, dir.path(), "alice", false);
    let out = as_user(&alice, &["-p", "demo", "get", "stages"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains("dev"));
    let out = as_user(&alice, &["-p", "demo", "promote", "--freight-alias", "first-light", "--stage", "dev"]);
    assert_eq!(out.status.code(), Some(1));
    let refusal = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(refusal.contains("email:alice@example.com may not promote stages/dev"), "{refusal}");

    // bob is in no mapped group: signed in, allowed nothing.
    // Each user signs in afresh at the issuer.
    browser.forget(&provider.issuer());
    provider.next_user("bob");
    let bob = login_sso(&server, &browser, dir.path(), "bob", true);
    let out = as_user(&bob, &["-p", "demo", "get", "stages"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no role is granted"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = as_user(&bob, &["get", "projects"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("no projects found"));

    // olga is in ops, mapped to the system kargo-admin by the server's configuration.
    browser.forget(&provider.issuer());
    provider.next_user("olga");
    let olga = login_sso(&server, &browser, dir.path(), "olga", true);
    let out = as_user(&olga, &["get", "tokens"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Who did it, with their groups.
    let out = server.convoy().args(["audit", "-o", "json"]).output().unwrap();
    let refused = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["actor"] == "email:alice@example.com")
        .expect("alice's refused promotion is in the trail");
    assert_eq!(refused["outcome"], "refused");
    assert_eq!(refused["groups"], serde_json::json!(["devops"]));
}

/// An ID token of the issuer obtained through the device flow for `client_id`.
fn device_token(provider: &Provider, browser: &Browser, client_id: &str) -> String {
    use convoy_server::oidc;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/.well-known/openid-configuration", provider.issuer());
    let discovery: oidc::Discovery =
        runtime.block_on(async { oidc::bounded_json(http.get(url).send().await.unwrap()).await.unwrap() });
    let started = runtime.block_on(oidc::device::start(&http, &discovery, client_id, "openid email groups")).unwrap();
    browser.goto(started.verification_uri_complete.as_deref().unwrap());
    browser.wait_for("the device sign-in", "document.getElementById('device-done')");
    runtime.block_on(oidc::device::finish(&http, &discovery, client_id, &started)).unwrap()
}

fn get_stages(server: &Server, token: &str) -> std::process::Output {
    server.convoy().env("CONVOY_TOKEN", token).args(["-p", "demo", "get", "stages"]).output().unwrap()
}

#[test]
fn id_tokens_for_others_expired_or_from_a_retired_key_are_refused() {
    let Some(browser) = Browser::start() else { return };
    let Some(_) = package() else { return };
    let dir = tempfile::tempdir().unwrap();
    let provider_port = free_port();
    let server = sso_server(dir.path(), &format!("http://127.0.0.1:{provider_port}"));
    let Some(provider) = Provider::start(provider_port, "one", 4, "http://127.0.0.1/auth/callback") else { return };
    server.login();
    let project = dir.path().join("p.yaml");
    std::fs::write(&project, "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: demo}\n").unwrap();
    assert!(server.convoy().args(["apply", "-f"]).arg(&project).output().unwrap().status.success());
    assert!(
        server
            .convoy()
            .args(["-p", "demo", "grant", "--role", "kargo-viewer", "--claim", "groups=devops"])
            .output()
            .unwrap()
            .status
            .success()
    );
    provider.next_user("alice");

    let token = device_token(&provider, &browser, "convoy-cli");
    assert!(get_stages(&server, &token).status.success());
    let elsewhere = device_token(&provider, &browser, "another-app");
    let out = get_stages(&server, &elsewhere);
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("issued to [\"another-app\"]"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::thread::sleep(Duration::from_secs(5));
    let out = get_stages(&server, &token);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expired"), "{}", String::from_utf8_lossy(&out.stderr));

    // The issuer rotates its key: a token signed with the new one is accepted (the server
    // fetches the keys again), the retired key's are not.
    drop(provider);
    let Some(provider) = Provider::start(provider_port, "two", 3600, "http://127.0.0.1/auth/callback") else { return };
    provider.next_user("alice");
    let rotated = device_token(&provider, &browser, "convoy-cli");
    let out = get_stages(&server, &rotated);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // Claims spliced under a valid header and signature do not verify.
    let forged = {
        let (new, old): (Vec<&str>, Vec<&str>) = (rotated.split('.').collect(), elsewhere.split('.').collect());
        format!("{}.{}.{}", new[0], old[1], new[2])
    };
    let out = get_stages(&server, &forged);
    assert_eq!(out.status.code(), Some(3));
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(said.contains("the signature does not verify"), "{said}");
    // And the first key's tokens are no longer accepted at all.
    let out = get_stages(&server, &elsewhere);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no key \"one\""),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
