//! A real server against what anyone on the network, or anyone who writes a Stage, may send.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::promote::{setup, stdout};
use super::server::Server;

/// Sends `count` requests on one keep-alive connection; returns the status codes seen.
fn hammer(port: u16, count: usize) -> Vec<u16> {
    let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut statuses = Vec::with_capacity(count);
    for i in 0..count {
        let request = if i % 2 == 0 {
            "GET /readyz HTTP/1.1\r\nhost: x\r\ncontent-length: 0\r\n\r\n".to_owned()
        } else {
            let body = "{\"ref\":\"refs/heads/main\"}";
            format!(
                "POST /webhooks/github/{:064x} HTTP/1.1\r\nhost: x\r\nx-github-event: push\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                i,
                body.len()
            )
        };
        writer.write_all(request.as_bytes()).unwrap();
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let status: u16 = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            reader.read_line(&mut header).unwrap();
            if header == "\r\n" || header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        statuses.push(status);
    }
    statuses
}

/// 10,000 unauthenticated requests (readiness probes and pushes to paths that are no receiver)
/// while a promotion runs: the promotion finishes, every request is answered.
#[test]
fn unauthenticated_load_does_not_disturb_a_promotion() {
    let dir = tempfile::tempdir().unwrap();
    let (bare, manifests) = setup(dir.path());
    let server = Server::start(dir.path());
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&manifests).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let port = server.port;
    let started = Instant::now();
    let load: Vec<_> = (0..4).map(|_| std::thread::spawn(move || hammer(port, 2_500))).collect();
    let out = server
        .convoy()
        .args(["-p", "demo", "promote", "--freight-alias", "first-light", "--stage", "dev", "--wait"])
        .output()
        .unwrap();
    let statuses: Vec<u16> = load.into_iter().flat_map(|t| t.join().unwrap()).collect();
    let elapsed = started.elapsed();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}\n{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
    assert_eq!(statuses.len(), 10_000);
    let readiness_ok = statuses.iter().step_by(2).filter(|s| **s == 200).count();
    let not_found = statuses.iter().skip(1).step_by(2).filter(|s| **s == 404).count();
    assert_eq!((readiness_ok, not_found), (5_000, 5_000), "{:?}", &statuses[..20]);
    assert!(super::promote::git(&bare, &["show", "main:env/dev/kustomization.yaml"]).contains("newTag: 1.2.0"));
    eprintln!("10,000 unauthenticated requests and one promotion in {elapsed:?}");
}

/// Without --allow-file-remotes, a Stage cannot make the server read or push a repository on
/// its own disk; the promotion says why and how to allow it.
#[test]
fn local_repositories_are_remotes_only_when_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let (bare, manifests) = setup(dir.path());
    let before = super::promote::git(&bare, &["rev-parse", "main"]);
    let server = Server::start_with(dir.path(), &[("CONVOY_ALLOW_FILE_REMOTES", "false")]);
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&manifests).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = server
        .convoy()
        .args(["-p", "demo", "promote", "--freight-alias", "first-light", "--stage", "dev", "--wait"])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0), "{}", stdout(&out));
    let text = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("--allow-file-remotes"), "{text}");
    assert_eq!(super::promote::git(&bare, &["rev-parse", "main"]), before, "nothing was pushed");
}

/// The data dir holds the admin token and credentials: one others can read is refused, with
/// the command that fixes it.
#[test]
fn a_data_dir_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = super::convoy()
        .args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .env_remove("CONVOY_DATABASE_URL")
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("chmod 700 {}", data.display())), "{stderr}");
    assert!(!data.join("convoy.db").exists() && !data.join("admin-token").exists(), "nothing was written");
}
