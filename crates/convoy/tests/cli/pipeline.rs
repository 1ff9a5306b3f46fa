//! A pipeline end to end: dev and staging auto-promote (ProjectConfig policy), prod is manual with
//! a soak time, so the Freight is refused there until it is approved.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::promote::stdout;
use super::server::Server;

const MANIFESTS: &str = r#"apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata: {name: demo}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: ProjectConfig
metadata: {name: demo, namespace: demo}
spec:
  promotionPolicies:
  - stageSelector: {name: "regex:^(dev|staging)$"}
    autoPromotionEnabled: true
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {name: app, namespace: demo}
spec:
  interval: 1h
  freightCreationPolicy: Manual
  subscriptions:
  - image: {repoURL: ghcr.io/example/app}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Freight
metadata: {namespace: demo}
alias: first
origin: {kind: Warehouse, name: app}
images:
- {repoURL: ghcr.io/example/app, tag: 1.0.0}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: PromotionTask
metadata: {name: deploy, namespace: demo}
spec:
  steps:
  - uses: compose-output
    as: record
    config:
      tag: ${{ imageFrom('ghcr.io/example/app').Tag }}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {name: dev, namespace: demo}
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: app}
    sources: {direct: true}
  promotionTemplate:
    spec:
      steps:
      - task: {name: deploy}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {name: staging, namespace: demo}
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: app}
    sources: {stages: [dev]}
  promotionTemplate:
    spec:
      steps:
      - task: {name: deploy}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {name: prod, namespace: demo}
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: app}
    sources: {stages: [staging], requiredSoakTime: 1h}
  promotionTemplate:
    spec:
      steps:
      - task: {name: deploy}
"#;

fn get(server: &Server, kind: &str, name: &str) -> Value {
    let out = server.convoy().args(["-p", "demo", "get", kind, name, "-o", "json"]).output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

#[test]
fn auto_promotion_flows_to_staging_and_prod_needs_approval() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("pipeline.yaml");
    std::fs::write(&manifests, MANIFESTS).unwrap();
    let server = Server::start(dir.path());
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&manifests).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = server.convoy().args(["-p", "demo", "get", "freight", "-o", "json"]).output().unwrap();
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let freight = list["items"][0]["metadata"]["name"].as_str().unwrap().to_owned();

    // dev takes it directly, staging once dev verified it: no one asked.
    server.wait_until("the Freight verified in staging", || {
        let f = get(&server, "freight", &freight);
        f.pointer("/status/verifiedIn/staging").is_some() && f.pointer("/status/currentlyIn/staging").is_some()
    });
    server.wait_until("staging to be Ready", || {
        let conditions = get(&server, "stage", "staging").pointer("/status/conditions").cloned().unwrap_or_default();
        conditions.as_array().into_iter().flatten().any(|c| c["type"] == "Ready" && c["status"] == "True")
    });
    let staging = get(&server, "stage", "staging");
    let verified =
        staging["status"]["conditions"].as_array().unwrap().iter().find(|c| c["type"] == "Verified").cloned();
    assert_eq!(verified.map(|c| c["status"].clone()), Some(Value::String("True".into())), "{staging:#}");
    assert_eq!(staging.pointer("/status/freightSummary"), Some(&Value::String(freight.clone())), "{staging:#}");
    assert_eq!(staging.pointer("/status/autoPromotionEnabled"), Some(&Value::Bool(true)));
    // The Freight timeline says how long the Freight still soaks for prod (1h required in staging).
    let timeline = server.page("/p/demo/freight");
    let soak = regex::Regex::new(r"prod: (59m\d*s?|1h0m0s|1h) in staging").unwrap();
    assert!(soak.is_match(&timeline), "{timeline}");
    assert_eq!(
        staging.pointer("/status/freightHistory/0/verificationHistory/0/phase"),
        Some(&Value::String("Successful".into()))
    );
    let out = server.convoy().args(["-p", "demo", "get", "promotions", "-o", "json"]).output().unwrap();
    let promotions: Value = serde_json::from_slice(&out.stdout).unwrap();
    let actors: Vec<&str> = promotions["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.pointer("/metadata/annotations/kargo.akuity.io~1create-actor").and_then(Value::as_str))
        .collect();
    assert_eq!(
        actors,
        ["controller:convoy", "controller:convoy"],
        "two auto-promotions, none for prod: {promotions:#}"
    );

    // prod is manual and wants an hour of soak in staging: refused, saying so.
    let promote_prod = || {
        server
            .convoy()
            .args(["-p", "demo", "promote", "--freight", &freight, "--stage", "prod", "--wait"])
            .output()
            .unwrap()
    };
    let out = promote_prod();
    assert_eq!(out.status.code(), Some(1));
    let refusal = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(refusal.contains("not available") && refusal.contains("soak"), "{refusal}");
    // A dry run previews it anyway, saying the real promotion would be refused for now.
    let out = server
        .convoy()
        .args(["-p", "demo", "promote", "--freight", &freight, "--stage", "prod", "--dry-run"])
        .output()
        .unwrap();
    let note = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(stdout(&out).contains(&format!("Dry run of {freight} -> Stage prod")), "{}\n{note}", stdout(&out));
    assert!(note.contains("note: Freight is not available to this Stage yet") && note.contains("soak"), "{note}");
    assert_eq!(promote_prod().status.code(), Some(1), "the dry run changed nothing");

    let out = server
        .convoy()
        .args(["-p", "demo", "promote", "--freight-alias", "first", "--downstream-from", "staging"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Stage prod: refused"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Approved for prod, it goes: promoted downstream of staging; the Warehouse's candidate for
    // prod is now that Freight (a dry run names it).
    let out = server
        .convoy()
        .args(["-p", "demo", "approve", "--freight-alias", "first", "--stage", "prod"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = server
        .convoy()
        .args(["-p", "demo", "promote", "--freight-alias", "first", "--downstream-from", "staging", "--wait"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert!(stdout(&out).contains("Succeeded"), "{}", stdout(&out));
    let out = server
        .convoy()
        .args(["-p", "demo", "promote", "--warehouse", "app", "--stage", "prod", "--dry-run"])
        .output()
        .unwrap();
    assert!(stdout(&out).contains(&format!("Dry run of {freight} -> Stage prod")), "{}", stdout(&out));
    server.wait_until("prod to record the Freight", || {
        get(&server, "freight", &freight).pointer("/status/currentlyIn/prod").is_some()
    });
    assert!(get(&server, "stage", "prod").pointer("/status/autoPromotionEnabled") == Some(&Value::Bool(false)));

    // The event log tells the story, in order.
    let out = server.convoy().args(["-p", "demo", "events"]).output().unwrap();
    let log = stdout(&out);
    let reasons: Vec<&str> = log.lines().filter_map(|l| l.split_whitespace().nth(2)).collect();
    let position = |reason: &str| {
        reasons.iter().position(|r| *r == reason).unwrap_or_else(|| panic!("{reason} missing in\n{log}"))
    };
    assert!(position("PromotionCreated") < position("PromotionSucceeded"), "{log}");
    assert!(position("FreightApproved") < reasons.iter().rposition(|r| *r == "PromotionSucceeded").unwrap(), "{log}");
    assert!(log.contains("by controller:convoy"), "auto-promotions name their actor: {log}");
    assert!(
        log.lines().all(|l| l.trim_start().chars().next().is_some_and(|c| c.is_ascii_digit())),
        "ages first: {log}"
    );
    // One object's events, as JSON lines.
    let out = server.convoy().args(["-p", "demo", "events", "--for", "freight/", "-o", "json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let out = server
        .convoy()
        .args(["-p", "demo", "events", "--for", &format!("freight/{freight}"), "-o", "json"])
        .output()
        .unwrap();
    let about: Vec<Value> = stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(!about.is_empty() && about.len() < reasons.len(), "{about:?}");
    assert!(about.iter().all(|e| e["involvedObject"]["name"] == freight.as_str()), "{about:?}");
    let out = server.convoy().args(["-p", "demo", "events", "--for", "nonsense"]).output().unwrap();
    assert_ne!(out.status.code(), Some(0));

    let out = server.convoy().args(["-p", "demo", "refresh", "stage", "prod", "--wait"]).output().unwrap();
    assert!(stdout(&out).contains("Stage/prod refreshed"), "{}", String::from_utf8_lossy(&out.stderr));

    // Freight that Stages hold cannot be deleted.
    let out = server.convoy().args(["-p", "demo", "delete", "freight", &freight]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let message = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(message.contains("freight is in-use by stages (dev, prod, staging)"), "{message}");
}

/// A health endpoint that answers `{"ok": false}` the first time and `{"ok": true}` after,
/// counting its requests in `requests.log`.
pub fn health_endpoint(dir: &std::path::Path) -> (std::process::Child, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let program = format!(
        r#"import http.server, json
count = 0
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        global count
        count += 1
        open("{log}", "a").write(self.path + "\n")
        body = json.dumps({{"ok": count > 1}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", {port}), Handler).serve_forever()
"#,
        log = dir.join("requests.log").display()
    );
    let child = std::process::Command::new("python3").args(["-c", &program]).spawn().expect("python3");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "health endpoint did not listen");
        std::thread::sleep(Duration::from_millis(20));
    }
    (child, port)
}

#[test]
fn native_web_verification_gates_the_next_stage() {
    let dir = tempfile::tempdir().unwrap();
    let (mut endpoint, port) = health_endpoint(dir.path());
    let verification = format!(
        r#"---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {{name: health, namespace: demo}}
spec:
  args:
  - name: path
  metrics:
  - name: health
    interval: 1s
    count: 2
    failureLimit: 1
    successCondition: result == true
    provider:
      web:
        url: "http://127.0.0.1:{port}/{{{{args.path}}}}"
        jsonPath: "{{$.ok}}"
"#
    );
    let manifests = MANIFESTS.replace(
        "metadata: {name: dev, namespace: demo}\nspec:\n",
        "metadata: {name: dev, namespace: demo}\nspec:\n  verification:\n    analysisTemplates: [{name: health}]\n    args: [{name: path, value: \"${{ ctx.stage }}-health\"}]\n",
    ) + &verification;
    let file = dir.path().join("pipeline.yaml");
    std::fs::write(&file, manifests).unwrap();
    let server = Server::start(dir.path());
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = server.convoy().args(["-p", "demo", "get", "freight", "-o", "json"]).output().unwrap();
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let freight = list["items"][0]["metadata"]["name"].as_str().unwrap().to_owned();

    server.wait_until("staging to take the Freight after dev verified it", || {
        get(&server, "freight", &freight).pointer("/status/currentlyIn/staging").is_some()
    });
    let dev = get(&server, "stage", "dev");
    let record = dev.pointer("/status/freightHistory/0/verificationHistory/0").cloned().unwrap_or(Value::Null);
    assert_eq!(record["phase"], "Successful", "{dev:#}");
    // Each metric's result with its measurements, as Argo Rollouts' AnalysisRun reports them.
    let result = &record["metricResults"][0];
    assert_eq!(
        (result["name"].as_str(), result["phase"].as_str(), result["count"].as_u64(), result["failed"].as_u64()),
        (Some("health"), Some("Successful"), Some(2), Some(1)),
        "{record:#}"
    );
    let measured: Vec<(&str, &str)> = result["measurements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["phase"].as_str().unwrap_or(""), m["value"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(measured, [("Failed", "false"), ("Successful", "true")]);
    let page = server.page("/p/demo/stages/dev");
    assert!(page.contains("health") && page.contains("2 measurements"), "the Stage page lists them");
    let requests = std::fs::read_to_string(dir.path().join("requests.log")).unwrap();
    assert_eq!(
        requests.lines().collect::<Vec<_>>(),
        ["/dev-health", "/dev-health"],
        "a failure, tolerated, then a success"
    );

    // Nothing runs, so nothing to abort; verifying again adds a record and measures again.
    let out = server.convoy().args(["-p", "demo", "verify", "stage", "dev", "--abort"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no verification is running"));
    let out = server.convoy().args(["-p", "demo", "verify", "stage", "dev"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    server.wait_until("the second verification", || {
        let history = get(&server, "stage", "dev")
            .pointer("/status/freightHistory/0/verificationHistory")
            .cloned()
            .unwrap_or_default();
        history.as_array().map(Vec::len) == Some(2) && history[0]["phase"] == "Successful"
    });
    assert_eq!(std::fs::read_to_string(dir.path().join("requests.log")).unwrap().lines().count(), 4);
    let _ = endpoint.kill();
    let _ = endpoint.wait();
}

/// The server is killed (SIGKILL) while dev's verification (a ClusterAnalysisTemplate, shared by
/// every project) runs; after a restart the verification is run again, staging gets the
/// Freight, and no Promotion was made twice.
#[test]
fn a_restart_mid_pipeline_loses_nothing_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut endpoint, port) = health_endpoint(dir.path());
    let verification = format!(
        "---\napiVersion: argoproj.io/v1alpha1\nkind: ClusterAnalysisTemplate\nmetadata: {{name: health}}\nspec:\n  metrics:\n  - name: health\n    interval: 1s\n    count: 3\n    failureLimit: 1\n    successCondition: result == true\n    provider:\n      web: {{url: \"http://127.0.0.1:{port}/health\", jsonPath: \"{{$.ok}}\"}}\n"
    );
    let manifests = MANIFESTS.replace(
        "metadata: {name: dev, namespace: demo}\nspec:\n",
        "metadata: {name: dev, namespace: demo}\nspec:\n  verification:\n    analysisTemplates: [{name: health, kind: ClusterAnalysisTemplate}]\n",
    ) + &verification;
    let file = dir.path().join("pipeline.yaml");
    std::fs::write(&file, manifests).unwrap();
    let mut server = Server::start(dir.path());
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    server.wait_until("dev's verification to start", || {
        get(&server, "stage", "dev").pointer("/status/freightHistory/0/verificationHistory/0/phase")
            == Some(&Value::String("Running".into()))
    });
    server.kill_hard();
    server.start_again();
    let out = server.convoy().args(["-p", "demo", "get", "freight", "-o", "json"]).output().unwrap();
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    let freight = list["items"][0]["metadata"]["name"].as_str().unwrap().to_owned();
    server.wait_until("staging to take the Freight after the restart", || {
        get(&server, "freight", &freight).pointer("/status/currentlyIn/staging").is_some()
    });
    let out = server.convoy().args(["-p", "demo", "get", "promotions", "-o", "json"]).output().unwrap();
    let promotions: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut stages: Vec<&str> = promotions["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.pointer("/spec/stage").and_then(Value::as_str))
        .collect();
    stages.sort_unstable();
    assert_eq!(stages, ["dev", "staging"], "one Promotion per Stage: {promotions:#}");
    assert_eq!(
        get(&server, "stage", "dev").pointer("/status/freightHistory/0/verificationHistory/0/phase"),
        Some(&Value::String("Successful".into()))
    );
    let _ = endpoint.kill();
    let _ = endpoint.wait();
}

/// A rollback by hand holds auto-promotion for that origin; promoting the candidate resumes it.
#[test]
fn a_manual_rollback_holds_auto_promotion_until_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let second = "---\napiVersion: kargo.akuity.io/v1alpha1\nkind: Freight\nmetadata: {namespace: demo}\nalias: second\norigin: {kind: Warehouse, name: app}\ndiscoveredAt: \"2030-01-01T00:00:00Z\"\nimages:\n- {repoURL: ghcr.io/example/app, tag: 1.1.0}\n";
    let manifests =
        MANIFESTS.replace("alias: first\n", "alias: first\ndiscoveredAt: \"2029-01-01T00:00:00Z\"\n") + second;
    let file = dir.path().join("pipeline.yaml");
    std::fs::write(&file, manifests).unwrap();
    let server = Server::start(dir.path());
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary = |stage: &str| {
        get(&server, "stage", stage).pointer("/status/freightSummary").and_then(Value::as_str).unwrap_or("").to_owned()
    };
    let name_of = |alias: &str| {
        let out = server
            .convoy()
            .args(["-p", "demo", "get", "freight", "-l", &format!("kargo.akuity.io/alias={alias}"), "-o", "json"])
            .output()
            .unwrap();
        let list: Value = serde_json::from_slice(&out.stdout).unwrap();
        list["items"][0]["metadata"]["name"].as_str().unwrap().to_owned()
    };
    let (first, second) = (name_of("first"), name_of("second"));
    server.wait_until("dev to take the newest Freight", || summary("dev") == second);

    // Roll dev back by hand: held, so auto-promotion leaves it there.
    let out = server
        .convoy()
        .args(["-p", "demo", "promote", "--freight-alias", "first", "--stage", "dev", "--wait"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    // Announced: on the terminal with the way back, as an event, in the wide table.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("note: auto-promotion of Warehouse/app into dev is held"), "{stderr}");
    assert!(stderr.contains("convoy -p demo promote --warehouse app --stage dev"), "{stderr}");
    let events =
        String::from_utf8_lossy(&server.convoy().args(["-p", "demo", "events"]).output().unwrap().stdout).into_owned();
    assert!(events.contains("AutoPromotionHeld"), "{events}");
    server.wait_until("the hold to be recorded", || {
        get(&server, "stage", "dev").pointer("/status/autoPromotionHolds/Warehouse~1app/freightName")
            == Some(&Value::String(first.clone()))
    });
    let wide = String::from_utf8_lossy(
        &server.convoy().args(["-p", "demo", "get", "stages", "-o", "wide"]).output().unwrap().stdout,
    )
    .into_owned();
    assert!(wide.lines().next().unwrap().contains("HOLD"), "{wide}");
    assert!(wide.lines().any(|l| l.starts_with("dev") && l.contains("Warehouse/app")), "{wide}");
    // The UI offers to resume: promote what auto-promotion would choose from that Warehouse.
    let page = server.page("/p/demo/stages/dev");
    assert!(
        page.contains("Resume auto-promotion from app") && page.contains("&quot;warehouse&quot;:&quot;app&quot;"),
        "{page}"
    );
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(summary("dev"), first, "still rolled back: the hold stops auto-promotion");

    // Promoting the candidate resumes.
    let out = server
        .convoy()
        .args(["-p", "demo", "promote", "--warehouse", "app", "--stage", "dev", "--wait"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    server.wait_until("the hold to be lifted", || {
        get(&server, "stage", "dev")
            .pointer("/status/autoPromotionHolds")
            .is_none_or(|h| h.as_object().is_none_or(|m| m.is_empty()))
    });
    assert_eq!(summary("dev"), second);
}

/// A Stage fed by two Warehouses: each Promotion brings one Freight, and its steps see the
/// other origin's current Freight too; the Stage holds one of each.
#[test]
fn a_stage_of_two_warehouses_holds_one_freight_of_each() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = r#"apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata: {name: combo}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {name: app, namespace: combo}
spec:
  interval: 1h
  freightCreationPolicy: Manual
  subscriptions:
  - image: {repoURL: ghcr.io/example/app}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {name: db, namespace: combo}
spec:
  interval: 1h
  freightCreationPolicy: Manual
  subscriptions:
  - image: {repoURL: ghcr.io/example/db}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Freight
metadata: {namespace: combo}
alias: app-one
origin: {kind: Warehouse, name: app}
images: [{repoURL: ghcr.io/example/app, tag: 1.0.0}]
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Freight
metadata: {namespace: combo}
alias: db-five
origin: {kind: Warehouse, name: db}
images: [{repoURL: ghcr.io/example/db, tag: 5.0.0}]
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {name: dev, namespace: combo}
spec:
  requestedFreight:
  - origin: {kind: Warehouse, name: app}
    sources: {direct: true}
  - origin: {kind: Warehouse, name: db}
    sources: {direct: true}
  promotionTemplate:
    spec:
      steps:
      - uses: compose-output
        as: seen
        config:
          app: "${{ imageFrom('ghcr.io/example/app', warehouse('app')) == nil ? 'none' : imageFrom('ghcr.io/example/app', warehouse('app')).Tag }}"
          db: "${{ imageFrom('ghcr.io/example/db', warehouse('db')) == nil ? 'none' : imageFrom('ghcr.io/example/db', warehouse('db')).Tag }}"
"#;
    let file = dir.path().join("combo.yaml");
    std::fs::write(&file, manifests).unwrap();
    let server = Server::start(dir.path());
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let promote = |alias: &str| {
        let out = server
            .convoy()
            .args(["-p", "combo", "promote", "--freight-alias", alias, "--stage", "dev", "--wait"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}\n{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
        stdout(&out).lines().next().unwrap().trim_start_matches("Promotion/").trim_end_matches(" created").to_owned()
    };
    let state = |name: &str| {
        let out = server.convoy().args(["-p", "combo", "get", "promotion", name, "-o", "json"]).output().unwrap();
        let promotion: Value = serde_json::from_slice(&out.stdout).unwrap();
        promotion.pointer("/status/state/seen").cloned().unwrap_or(Value::Null)
    };
    let first = promote("app-one");
    assert_eq!(state(&first), serde_json::json!({"app": "1.0.0", "db": "none"}));
    let stage = |s: &Server| {
        let out = s.convoy().args(["-p", "combo", "get", "stage", "dev", "-o", "json"]).output().unwrap();
        serde_json::from_slice::<Value>(&out.stdout).unwrap_or(Value::Null)
    };
    server.wait_until("dev to record the app Freight", || {
        stage(&server).pointer("/status/freightSummary") == Some(&Value::String("1/2 Fulfilled".into()))
    });
    let second = promote("db-five");
    assert_eq!(
        state(&second),
        serde_json::json!({"app": "1.0.0", "db": "5.0.0"}),
        "the other origin's current Freight is in scope"
    );
    server.wait_until("dev to hold both", || {
        stage(&server).pointer("/status/freightSummary") == Some(&Value::String("2/2 Fulfilled".into()))
    });
}

/// A Promotion waiting on an http step is aborted by request; aborting a finished one is refused.
#[test]
fn abort_stops_a_waiting_promotion() {
    let dir = tempfile::tempdir().unwrap();
    let (mut endpoint, port) = health_endpoint(dir.path());
    let manifests = MANIFESTS.replace(
        "      - task: {name: deploy}\n---\napiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata: {name: staging",
        &format!("      - uses: http\n        config: {{url: \"http://127.0.0.1:{port}/wait\", pollInterval: 1s, successExpression: \"response.body.ok == 'never'\"}}\n---\napiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata: {{name: staging"),
    ).replace("  - stageSelector: {name: \"regex:^(dev|staging)$\"}\n    autoPromotionEnabled: true\n", "  - stageSelector: {name: \"regex:^none$\"}\n    autoPromotionEnabled: true\n");
    let file = dir.path().join("pipeline.yaml");
    std::fs::write(&file, manifests).unwrap();
    let server = Server::start(dir.path());
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out =
        server.convoy().args(["-p", "demo", "promote", "--freight-alias", "first", "--stage", "dev"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let name = stdout(&out).trim().trim_start_matches("Promotion/").trim_end_matches(" created").to_owned();
    server.wait_until("the Promotion to wait on its http step", || {
        get(&server, "promotion", &name).pointer("/status/phase") == Some(&Value::String("Running".into()))
    });
    let out = server.convoy().args(["-p", "demo", "abort", "promotion", &name]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    server.wait_until("the Promotion to be Aborted", || {
        get(&server, "promotion", &name).pointer("/status/phase") == Some(&Value::String("Aborted".into()))
    });
    let message =
        get(&server, "promotion", &name).pointer("/status/message").and_then(Value::as_str).unwrap_or("").to_owned();
    assert!(message.contains("terminated by token:admin"), "{message}");
    let out = server.convoy().args(["-p", "demo", "abort", "promotion", &name]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already ended Aborted"));
    let _ = endpoint.kill();
    let _ = endpoint.wait();
}
