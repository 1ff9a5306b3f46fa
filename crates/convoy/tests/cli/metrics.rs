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
        // Gauges are read from the view at scrape time; counters follow its change stream, a
        // moment later; a controller's pass is counted when it returns, after the status write
        // the CLI waited for: wait for every kind.
        let settled = [
            "convoy_stage_lead_time_seconds_count{project=\"demo\",stage=\"dev\"}",
            "convoy_stages_by_ready_reason{project=\"demo\",reason=\"Verified\"}",
            "convoy_stage_verifications_total{project=\"demo\",stage=\"dev\",phase=\"Successful\"}",
            "convoy_controller_reconciles_total{controller=\"promotions\",result=\"ok\"}",
        ]
        .iter()
        .all(|series| sample(&text, series).is_some());
        if settled || std::time::Instant::now() > deadline {
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
    // Per Stage: one deployment, one verification (without a template: Successful on arrival).
    let deployed = "convoy_stage_promotions_total{project=\"demo\",stage=\"dev\",phase=\"Succeeded\"}";
    assert_eq!(sample(&after, deployed), Some(1.0), "{after}");
    let verified = "convoy_stage_verifications_total{project=\"demo\",stage=\"dev\",phase=\"Successful\"}";
    assert_eq!(sample(&after, verified), Some(1.0), "{after}");

    // Measured where the work happens: the CLI's promote request by its route's template, the
    // promotion's git push, the controllers' passes and the store's writes.
    let promote = "convoy_http_requests_total{route=\"/v1/projects/{project}/stages/{stage}/promote\",method=\"POST\",code=\"201\"}";
    assert_eq!(sample(&after, promote), Some(1.0), "{after}");
    assert!(!after.contains("first-light"), "no alias or other value of a request in a label");
    let pushes = sample(&after, "convoy_git_operations_total{operation=\"push\",result=\"ok\"}");
    assert_eq!(pushes, Some(1.0), "one push for one promotion: {after}");
    let passes = sample(&after, "convoy_controller_reconciles_total{controller=\"promotions\",result=\"ok\"}");
    assert!(passes.is_some_and(|n| n >= 1.0), "{after}");
    let writes = sample(&after, "convoy_store_write_duration_seconds_count{backend=\"sqlite\",result=\"ok\"}");
    assert!(writes.is_some_and(|n| n >= 3.0), "apply, promote, status writes: {after}");
}

/// A Prometheus server (Debian's `prometheus`) scraping `target` every second; stopped when dropped.
struct Prometheus {
    child: std::process::Child,
    port: u16,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    fn start(dir: &std::path::Path, target: &str) -> Option<Prometheus> {
        let config = dir.join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\nscrape_configs:\n- job_name: convoy\n  static_configs:\n  - targets: [\"{target}\"]\n"
            ),
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = std::process::Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("tsdb").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        let Ok(child) = child else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "prometheus is required in CI (scripts/test.sh installs it)"
            );
            eprintln!("skipping: prometheus is not installed");
            return None;
        };
        let prometheus = Prometheus { child, port };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !prometheus.get("/-/ready").is_some_and(|body| body.contains("Ready")) {
            assert!(std::time::Instant::now() < deadline, "prometheus did not get ready");
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Some(prometheus)
    }

    fn get(&self, path: &str) -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes()).ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned())
    }

    /// The value of an instant PromQL query that returns one series.
    fn query(&self, promql: &str) -> Option<f64> {
        let encoded: String = promql
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"_-.".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        let body = self.get(&format!("/api/v1/query?query={encoded}"))?;
        let answer: serde_json::Value = serde_json::from_str(&body).ok()?;
        answer.pointer("/data/result/0/value/1")?.as_str()?.parse().ok()
    }
}

/// Prometheus itself scrapes the server through a promotion; PromQL over its API gives back the
/// promotion count and the lead time computed here from the Freight's own timestamps.
#[test]
fn prometheus_scrapes_the_promotion_and_its_lead_time() {
    let dir = tempfile::tempdir().unwrap();
    let (_, manifests) = setup(dir.path());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let address = format!("127.0.0.1:{port}");
    let Some(prometheus) = Prometheus::start(dir.path(), &address) else { return };
    let server = Server::start_with(dir.path(), &[("CONVOY_METRICS_LISTEN", address.as_str())]);
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&manifests).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = promote_first_light(&server);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // The lead time, from the Freight as stored: created → verified in dev.
    let out = server.convoy().args(["-p", "demo", "get", "freight", "first-light", "-o", "json"]).output().unwrap();
    let freight: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let seconds = |pointer: &str| {
        convoy_api::time::Timestamp::parse(freight.pointer(pointer).and_then(|v| v.as_str()).unwrap())
            .unwrap()
            .seconds()
    };
    let expected_lead = (seconds("/status/verifiedIn/dev/verifiedAt") - seconds("/metadata/creationTimestamp")) as f64;

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let lead_query = "sum(convoy_stage_lead_time_seconds_sum{project=\"demo\",stage=\"dev\"})";
    loop {
        let created = prometheus.query("sum(convoy_promotions_created_total{project=\"demo\"})");
        let lead = prometheus.query(lead_query);
        if created == Some(1.0) && lead.is_some() {
            assert_eq!(lead, Some(expected_lead), "the lead time Prometheus has is the Freight's");
            let succeeded =
                "sum(convoy_promotion_duration_seconds_count{project=\"demo\",terminalPhase=\"Succeeded\"})";
            assert_eq!(prometheus.query(succeeded), Some(1.0));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "Prometheus never saw the promotion: {created:?} {lead:?}");
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
}
