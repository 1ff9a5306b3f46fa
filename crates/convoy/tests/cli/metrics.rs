//! `/metrics` on its own address: what a promotion through the CLI counts, in Prometheus' text
//! format.

use std::io::{Read, Write};
use std::net::TcpStream;

use super::promote::{promote_first_light, setup};
use super::server::Server;

fn scrape(port: u16) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200"), "{response}");
    response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default()
}

/// The value of one sample line, by its name and labels as printed.
fn sample(metrics: &str, series: &str) -> Option<f64> {
    metrics.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[test]
fn a_promotion_is_counted_timed_and_its_lead_time_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let (_, manifests) = setup(dir.path());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let address = format!("127.0.0.1:{port}");
    let server = Server::start_with(dir.path(), &[("CONVOY_METRICS_LISTEN", address.as_str())]);
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&manifests).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let before = scrape(port);
    assert_eq!(sample(&before, "convoy_promotions_created_total{project=\"demo\"}"), None, "{before}");

    let out = promote_first_light(&server);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let after = loop {
        let text = scrape(port);
        if sample(&text, "convoy_stage_lead_time_seconds_count{project=\"demo\",stage=\"dev\"}").is_some()
            || std::time::Instant::now() > deadline
        {
            break text;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(after.contains("# TYPE convoy_promotion_duration_seconds histogram"), "{after}");
    assert_eq!(sample(&after, "convoy_promotions_created_total{project=\"demo\"}"), Some(1.0), "{after}");
    assert_eq!(
        sample(&after, "convoy_promotion_duration_seconds_count{project=\"demo\",terminalPhase=\"Succeeded\"}"),
        Some(1.0),
        "{after}"
    );
    assert_eq!(
        sample(
            &after,
            "convoy_promotion_duration_seconds_bucket{project=\"demo\",terminalPhase=\"Succeeded\",le=\"+Inf\"}"
        ),
        Some(1.0)
    );
    // The task's four steps, each timed by kind.
    for kind in ["git-clone", "kustomize-set-image", "git-commit", "git-push"] {
        let series = format!(
            "convoy_promotion_step_duration_seconds_count{{project=\"demo\",stepKind=\"{kind}\",terminalStatus=\"Succeeded\"}}"
        );
        assert_eq!(sample(&after, &series), Some(1.0), "{series}\n{after}");
    }
    // The Freight was verified in dev on arrival: one lead time, from its creation.
    assert_eq!(
        sample(&after, "convoy_stage_lead_time_seconds_count{project=\"demo\",stage=\"dev\"}"),
        Some(1.0),
        "{after}"
    );
    assert_eq!(
        sample(&after, "convoy_stages_by_ready_reason{project=\"demo\",reason=\"Verified\"}"),
        Some(1.0),
        "{after}"
    );
    assert_eq!(sample(&after, "convoy_promotions_non_terminal{project=\"demo\"}"), None, "nothing runs");
}
