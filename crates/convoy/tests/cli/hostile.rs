//! A real server against what anyone on the network, or anyone who writes a Stage, may send.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::promote::{promote_first_light, setup, stdout};
use super::server::Server;

/// One request on a new connection; the status and the body.
fn request(port: u16, head: &str, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let request = format!("{head}\r\nhost: x\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}", body.len());
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default())
}

/// The peak resident memory of a process, in MiB (`VmHWM`).
fn peak_rss_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() / 1024
}

/// A 1 KB billion-laughs document and a 100,000-deep one, posted by a token holder: each is
/// answered 400 in under a second, the server's memory stays small, and it keeps answering.
#[test]
fn yaml_bombs_cost_the_server_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let token = std::fs::read_to_string(server.data.join("admin-token")).unwrap();
    let head =
        format!("POST /v1/apply HTTP/1.1\r\nauthorization: Bearer {}\r\ncontent-type: application/yaml", token.trim());
    let mut laughs = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: p}\ndata:\n  a0: &a0 [lol,lol,lol,lol,lol,lol,lol,lol,lol,lol]\n",
    );
    for level in 1..=9 {
        let items = vec![format!("*a{}", level - 1); 10].join(",");
        laughs.push_str(&format!("  a{level}: &a{level} [{items}]\n"));
    }
    let deep = "- ".repeat(100_000) + "x\n";
    let before = peak_rss_mib(server.pid());
    for (name, body) in [("billion laughs", laughs), ("100,000 deep", deep)] {
        let started = Instant::now();
        let (status, answer) = request(server.port, &head, &body);
        assert!(started.elapsed() < Duration::from_secs(1), "{name}: {:?}", started.elapsed());
        assert_eq!(status, 400, "{name}: {answer}");
    }
    let after = peak_rss_mib(server.pid());
    assert!(after < before + 64, "peak RSS grew from {before} to {after} MiB");
    assert_eq!(request(server.port, "GET /readyz HTTP/1.1", "").0, 200);
}

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
    let out = promote_first_light(&server);
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
    let out = promote_first_light(&server);
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
        .args(["server", "--listen", "127.0.0.1:0", "--metrics-listen", "off", "--data-dir"])
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
