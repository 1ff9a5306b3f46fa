//! `convoy doctor`: every check passes on a healthy install, and each fails (with its fix)
//! when its part is broken.

use std::io::{Read, Write};
use std::net::TcpListener;

use super::promote::{setup, stdout};
use super::server::Server;

fn doctor(server: &Server) -> (Option<i32>, String) {
    let out = server.convoy().arg("doctor").output().unwrap();
    (out.status.code(), stdout(&out))
}

/// The line of check `name` and the fix below it.
fn line(report: &str, name: &str) -> String {
    let mut lines = report.lines().skip_while(|l| !l.contains(name));
    let first = lines.next().unwrap_or_else(|| panic!("no check {name:?} in\n{report}"));
    let fix = lines.next().filter(|l| l.trim_start().starts_with("fix:")).unwrap_or("");
    format!("{first}\n{fix}")
}

/// The Warehouse's image and an OCI chart come from a registry that wants credentials, which the
/// project has as `image` and `helm` Secrets.
fn registry_sources(manifests: &std::path::Path, registry: &str) {
    let text = std::fs::read_to_string(manifests).unwrap();
    let subscriptions =
        format!("  - image: {{repoURL: {registry}/shop/app}}\n  - chart: {{repoURL: oci://{registry}/charts/app}}\n");
    // The hand-made Freight of `setup` carries the ghcr.io image; doctor needs no Freight.
    let text: Vec<&str> = text.split("---\n").filter(|doc| !doc.contains("kind: Freight")).collect();
    let mut text = text.join("---\n").replacen("  - image: {repoURL: ghcr.io/example/app}\n", &subscriptions, 1);
    for (name, kind, url) in [
        ("registry-image", "image", format!("{registry}/shop/app")),
        ("registry-chart", "helm", format!("oci://{registry}/charts/app")),
    ] {
        text.push_str(&format!(
            "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: {name}\n  namespace: demo\n  labels: {{kargo.akuity.io/cred-type: {kind}}}\nstringData: {{repoURL: \"{url}\", username: alice, password: s3cret}}\n"
        ));
    }
    std::fs::write(manifests, text).unwrap();
}

#[test]
fn doctor_checks_pass_then_fail_with_their_fix() {
    let dir = tempfile::tempdir().unwrap();
    let registry_dir = dir.path().join("registry");
    std::fs::create_dir_all(&registry_dir).unwrap();
    let Some(registry) = convoy_discovery::testing::start_registry(&registry_dir, Some(("alice", "s3cret"))) else {
        return;
    };
    let pusher = convoy_discovery::testing::Pusher {
        client: reqwest::Client::new(),
        base: format!("http://{}", registry.address),
        auth: Some(("alice".into(), "s3cret".into())),
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(pusher.image("shop/app", "1.0.0", "amd64", "2024-01-01T00:00:00Z"));
    runtime.block_on(pusher.image("charts/app", "0.1.0", "amd64", "2024-01-01T00:00:00Z"));

    let (bare, manifests) = setup(dir.path());
    registry_sources(&manifests, &registry.address);
    let receiver = "---\napiVersion: v1\nkind: Secret\nmetadata: {name: hook, namespace: demo}\nstringData: {secret: s3cret}\n---\napiVersion: kargo.akuity.io/v1alpha1\nkind: ProjectConfig\nmetadata: {name: demo, namespace: demo}\nspec:\n  webhookReceivers:\n  - name: gh\n    github: {secretRef: {name: hook}}\n";
    let template = "---\napiVersion: argoproj.io/v1alpha1\nkind: ClusterAnalysisTemplate\nmetadata: {name: smoke}\nspec:\n  metrics:\n  - name: up\n    provider: {web: {url: \"http://127.0.0.1:9/\"}}\n";
    let verification = "spec:\n  verification:\n    analysisTemplates: [{name: smoke, kind: ClusterAnalysisTemplate}]\n  requestedFreight:";
    let mut text = std::fs::read_to_string(&manifests).unwrap().replacen("spec:\n  requestedFreight:", verification, 1);
    text.push_str(receiver);
    text.push_str(template);
    std::fs::write(&manifests, text).unwrap();
    let server = Server::start(dir.path());
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&manifests).output().unwrap();
    assert!(out.status.success(), "{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));

    let (code, report) = doctor(&server);
    assert_eq!(code, Some(0), "{report}");
    for name in [
        "git",
        "kustomize",
        "versions",
        "clock",
        "controllers:",
        "store",
        "disk",
        "warehouse demo/app source file://",
        "warehouse demo/app source 127.0.0.1",
        "warehouse demo/app source oci://",
        "stage demo/dev task promote",
        "stage demo/dev analysis smoke",
        "receiver demo/gh",
    ] {
        assert!(line(&report, name).starts_with("ok "), "{name}: {report}");
    }

    // Break the source (and so the Stage's remote), the task and the receiver's secret.
    std::fs::rename(&bare, dir.path().join("moved.git")).unwrap();
    let (code, report) = doctor(&server);
    assert_eq!(code, Some(1), "{report}");
    let push = line(&report, "stage demo/dev push file://");
    assert!(push.starts_with("fail") && push.contains("fix: no repository at that URL"), "{push}");
    let out = server.convoy().args(["delete", "clusteranalysistemplate", "smoke"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for (kind, name) in
        [("promotiontask", "promote"), ("secret", "hook"), ("secret", "registry-image"), ("secret", "registry-chart")]
    {
        let out = server.convoy().args(["-p", "demo", "delete", kind, name]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let (code, report) = doctor(&server);
    assert_eq!(code, Some(1), "{report}");
    let source = line(&report, "warehouse demo/app source file://");
    assert!(source.starts_with("fail") && source.contains("fix: no repository at that URL"), "{source}");
    assert_eq!(source.matches("no repository at that URL").count(), 1, "the fix is said once: {source}");
    for (name, kind) in [("source 127.0.0.1", "image"), ("source oci://", "helm")] {
        let source = line(&report, &format!("warehouse demo/app {name}"));
        assert!(source.starts_with("fail") && source.contains("requires credentials"), "{source}");
        assert!(
            source.contains(&format!(
                "fix: check the repoURL, and that a Secret labelled kargo.akuity.io/cred-type: {kind}"
            )),
            "{source}"
        );
    }
    let analysis = line(&report, "stage demo/dev analysis smoke");
    assert!(analysis.contains("ClusterAnalysisTemplate \"smoke\" not found"), "{analysis}");
    assert!(analysis.contains("fix: apply the template"), "{analysis}");
    let task = line(&report, "stage demo/dev task promote");
    assert!(task.contains("PromotionTask \"promote\" not found") && task.contains("fix: apply the task"), "{task}");
    let receiver = line(&report, "receiver demo/gh");
    assert!(receiver.starts_with("fail") && receiver.contains("fix: create the Secret"), "{receiver}");

    // Client side: no git on PATH; an unreachable server.
    let empty = dir.path().join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let out = server.convoy().arg("doctor").env("PATH", &empty).output().unwrap();
    let git_line = line(&stdout(&out), "git");
    assert!(git_line.starts_with("fail") && git_line.contains("fix: install git"), "{git_line}");
    let kustomize_line = line(&stdout(&out), "kustomize");
    assert!(kustomize_line.starts_with("warn") && kustomize_line.contains("fix: install kubectl"), "{kustomize_line}");
    let out = server.convoy().args(["doctor", "--server", "http://127.0.0.1:9"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(line(&stdout(&out), "server").contains("fix: start `convoy server`"), "{}", stdout(&out));
}

/// A database that turns read-only (a standby after a failover) fails the store check, and
/// the fix says where to point Convoy.
#[test]
fn doctor_fails_a_store_that_refuses_writes() {
    let Some(pg) = convoy_store_sql::testing::start_or_skip() else { return };
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(dir.path(), &[("CONVOY_DATABASE_URL", &pg.url)]);
    server.login();
    let (code, report) = doctor(&server);
    assert_eq!(code, Some(0), "{report}");
    assert!(line(&report, "store").starts_with("ok "), "{report}");

    pg.psql("ALTER DATABASE postgres SET default_transaction_read_only = on").unwrap();
    // Sessions opened from now on are read-only; end the server's current ones.
    pg.psql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'postgres' AND pid <> pg_backend_pid()",
    )
    .unwrap();
    let (code, report) = doctor(&server);
    assert_eq!(code, Some(1), "{report}");
    let store = line(&report, "store");
    assert!(store.starts_with("fail") && store.contains("read-only"), "{store}");
    assert!(store.contains("fix: the database refuses writes: point --database-url at the primary"), "{store}");
}

/// A server that wants a newer client, on a clock an hour behind: the version check fails with
/// the version to install, the clock check warns.
#[test]
fn doctor_flags_a_newer_server_and_clock_skew() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    // The server's clock, an hour behind ours, in HTTP's date format (computed by date(1)).
    let out = std::process::Command::new("date")
        .args(["-u", "-d", "-1 hour", "+%a, %d %b %Y %H:%M:%S GMT"])
        .env("LC_ALL", "C")
        .output()
        .unwrap();
    let date = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    std::thread::spawn(move || {
        let body = r#"{"version": "9.9.9", "minClientVersion": "9.9.0"}"#;
        for mut stream in listener.incoming().map_while(Result::ok) {
            let mut request = Vec::new();
            let mut buffer = [0u8; 1024];
            while !request.ends_with(b"\r\n\r\n") {
                match stream.read(&mut buffer) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buffer[..n]),
                }
            }
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nDate: {date}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let out = super::convoy().args(["doctor", "--server", &format!("http://{address}")]).output().unwrap();
    let report = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{report}");
    let versions = line(&report, "versions");
    assert!(versions.starts_with("fail") && versions.contains("older than the server's minimum 9.9.0"), "{versions}");
    assert!(versions.contains("fix: install convoy 9.9.9"), "{versions}");
    let clock = line(&report, "clock");
    assert!(clock.starts_with("warn") && clock.contains("differ by 3"), "{clock}");
    assert!(clock.contains("fix: synchronise the clocks"), "{clock}");

    // The same checks for scripts: a JSON array, the same exit code.
    let out =
        super::convoy().args(["doctor", "-o", "json", "--server", &format!("http://{address}")]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let checks: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let versions = checks.as_array().unwrap().iter().find(|c| c["name"] == "versions").unwrap();
    assert_eq!((versions["status"].as_str(), versions["fix"].as_str()), (Some("fail"), Some("install convoy 9.9.9")));
}

/// Unmounts a test filesystem when dropped.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// A data dir on a filesystem with 50 MiB (a tmpfs) fails the disk check with its fix. Mounting
/// needs root; elsewhere the test says it is skipped (the thresholds have their unit test).
#[test]
fn doctor_fails_a_data_dir_without_room() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=50m,mode=700", "tmpfs"])
        .arg(&data)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipping: cannot mount a tmpfs here (needs root)");
        return;
    }
    let _mounted = Mounted(data);
    let server = Server::start(dir.path());
    server.login();
    let (code, report) = doctor(&server);
    assert_eq!(code, Some(1), "{report}");
    let disk = line(&report, "disk");
    assert!(disk.starts_with("fail") && disk.contains("MiB free in"), "{disk}");
    assert!(disk.contains("fix: free space: clones and work trees need room"), "{disk}");
}

/// A controller loop that hangs (made to, here) fails `/healthz`, so a supervisor restarts the
/// replica, and doctor says so: the API answering is not taken for the controllers working.
#[test]
fn a_hung_controller_fails_liveness_and_doctor() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start_with(
        dir.path(),
        &[("CONVOY_TEST_STALL_CONTROLLER", "stages"), ("CONVOY_CONTROLLER_STALL_AFTER", "2s")],
    );
    server.login();
    let health = || {
        let program = "import sys, urllib.request, urllib.error\ntry:\n    r = urllib.request.urlopen(sys.argv[1]); print(r.read().decode()); print(r.status)\nexcept urllib.error.HTTPError as e:\n    print(e.read().decode()); print(e.code)";
        let out = std::process::Command::new("python3")
            .args(["-c", program, &format!("{}/healthz", server.url())])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).trim_end().to_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or_default();
        (code.to_owned(), body.to_owned())
    };
    assert_eq!(health().0, "200", "healthy at first");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let (code, body) = loop {
        let (code, body) = health();
        if code == "503" {
            break (code, body);
        }
        assert!(std::time::Instant::now() < deadline, "still healthy: {body}\n{}", server.log());
        std::thread::sleep(std::time::Duration::from_millis(250));
    };
    assert!(body.contains("stages") && body.contains("restart this replica"), "{code}: {body}");
    let (exit, report) = doctor(&server);
    assert_eq!(exit, Some(1), "{report}");
    let controllers = line(&report, "controllers:");
    assert!(controllers.starts_with("fail") && controllers.contains("stages"), "{controllers}");
    assert!(controllers.contains("fix: restart this replica"), "{controllers}");
}
