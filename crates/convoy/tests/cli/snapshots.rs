//! What the reading commands print, for a pipeline in each state worth reading: a Stage never
//! promoted, one promoting (a step asking again), one whose promotion errored, one whose
//! verification failed, one auto-promoting but held by a manual rollback, and one waiting for
//! soak. Each output is compared with a file under `tests/cli/snapshots/` after the parts that
//! change between runs (ages, times, generated ids, ports, paths) are replaced by placeholders.
//! The files were reviewed by eye when written; `CONVOY_UPDATE_SNAPSHOTS=1` rewrites them after
//! an intended change (review the diff).

use std::path::Path;
use std::time::Duration;

use regex::Regex;
use serde_json::Value;

use super::pipeline::health_endpoint;
use super::server::Server;

fn manifests(health: u16) -> String {
    let stage = |name: &str, sources: &str, extra: &str, steps: &str| {
        format!(
            "---\napiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata: {{name: {name}, namespace: shop}}\nspec:\n{extra}  requestedFreight:\n  - origin: {{kind: Warehouse, name: app}}\n    sources: {sources}\n  promotionTemplate:\n    spec:\n      steps:\n{steps}"
        )
    };
    let noop = "      - uses: compose-output\n        as: note\n        config: {deployed: true}\n";
    let mut text = format!(
        r#"apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata: {{name: shop}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: ProjectConfig
metadata: {{name: shop, namespace: shop}}
spec:
  promotionPolicies:
  - stageSelector: {{name: held}}
    autoPromotionEnabled: true
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {{name: app, namespace: shop}}
spec:
  freightCreationPolicy: Manual
  interval: 24h
  subscriptions:
  - image: {{repoURL: ghcr.io/example/app}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Freight
metadata: {{namespace: shop}}
alias: first
origin: {{kind: Warehouse, name: app}}
discoveredAt: "2029-01-01T00:00:00Z"
images:
- {{repoURL: ghcr.io/example/app, tag: 1.0.0}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Freight
metadata: {{namespace: shop}}
alias: second
origin: {{kind: Warehouse, name: app}}
discoveredAt: "2030-01-01T00:00:00Z"
images:
- {{repoURL: ghcr.io/example/app, tag: 1.1.0}}
---
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {{name: smoke, namespace: shop}}
spec:
  metrics:
  - name: smoke
    count: 1
    failureLimit: 0
    successCondition: result == true
    provider:
      web: {{url: "http://127.0.0.1:{health}/smoke", jsonPath: "{{$.ok}}"}}
"#
    );
    text += &stage("idle", "{direct: true}", "", noop);
    let polling = format!(
        "      - uses: http\n        as: wait-for-rollout\n        config:\n          url: http://127.0.0.1:{health}/rollout\n          successExpression: \"false\"\n          failureExpression: \"false\"\n"
    );
    text += &stage("promoting", "{direct: true}", "", &polling);
    text += &stage(
        "errored",
        "{direct: true}",
        "",
        "      - uses: copy\n        as: render\n        config: {inPath: ./chart, outPath: ./out}\n",
    );
    text +=
        &stage("verify-failed", "{direct: true}", "  verification:\n    analysisTemplates: [{name: smoke}]\n", noop);
    text += &stage("held", "{direct: true}", "", noop);
    text += &stage("soaking", "{stages: [held], requiredSoakTime: 1h}", "", noop);
    text
}

/// Replaces what changes between runs with placeholders.
fn normalize(text: &str, dir: &Path) -> String {
    let text = text.replace(&dir.display().to_string(), "<dir>");
    let rules = [
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", "<time>"),
        (r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<uuid>"),
        (r"\b[0-9a-hjkmnp-tv-z]{26}\b", "<ulid>"),
        (r"127\.0\.0\.1:\d+", "127.0.0.1:<port>"),
        (r"\b\d+(\.\d+)?(ms|µs|s|m|h|d)\b( ago)?", "<age>"),
    ];
    let mut text = text.to_owned();
    for (pattern, with) in rules {
        text = Regex::new(pattern).unwrap().replace_all(&text, with).into_owned();
    }
    // Columns are aligned to their widest cell, which placeholders change: compare words.
    text.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect::<Vec<_>>().join("\n") + "\n"
}

/// Events written by the API and by the controllers in the same instant may be recorded in
/// either order: their lines are compared as a set.
fn sorted_events(name: &str, text: &str) -> String {
    let (head, events) = if name.starts_with("events-") {
        ("", text)
    } else {
        match text.split_once("Events:\n") {
            Some((head, events)) => (head, events),
            None => return text.to_owned(),
        }
    };
    let mut lines: Vec<&str> = events.lines().collect();
    lines.sort_unstable();
    let marker = if name.starts_with("events-") { "" } else { "Events:\n" };
    format!("{head}{marker}{}\n", lines.join("\n"))
}

fn check(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/snapshots").join(format!("{name}.txt"));
    if std::env::var_os("CONVOY_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(actual, expected, "{name} differs from {} (CONVOY_UPDATE_SNAPSHOTS=1 rewrites it)", path.display());
}

fn run(server: &Server, args: &[&str]) -> String {
    let out = server.convoy().arg("-p").arg("shop").args(args).output().unwrap();
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn stage(server: &Server, name: &str) -> Value {
    let out = server.convoy().args(["-p", "shop", "get", "stage", name, "-o", "json"]).output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

#[test]
fn reading_commands_print_each_state_as_reviewed() {
    let dir = tempfile::tempdir().unwrap();
    let (mut endpoint, health) = health_endpoint(dir.path());
    let file = dir.path().join("shop.yaml");
    std::fs::write(&file, manifests(health)).unwrap();
    let server = Server::start(dir.path());
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // The states, one Stage each.
    let promote = |alias: &str, stage: &str| {
        server.convoy().args(["-p", "shop", "promote", "--freight-alias", alias, "--stage", stage]).output().unwrap()
    };
    let phase_of_last = |name: &str| {
        stage(&server, name).pointer("/status/lastPromotion/status/phase").and_then(Value::as_str).map(str::to_owned)
    };
    // The health endpoint answers `false` to its first request only: the smoke test fails.
    assert!(promote("first", "verify-failed").status.success());
    server.wait_until("verify-failed's verification to fail", || {
        stage(&server, "verify-failed").pointer("/status/freightHistory/0/verificationHistory/0/phase")
            == Some(&Value::from("Failed"))
    });
    assert!(promote("first", "errored").status.success());
    server.wait_until("errored's promotion to end", || phase_of_last("errored").is_some());
    assert!(promote("first", "promoting").status.success());
    server.wait_until("promoting's step to ask again", || {
        stage(&server, "promoting").pointer("/status/currentPromotion").is_some()
            && run(&server, &["logs", "stage", "promoting"]).contains("asking again")
    });
    server.wait_until("held to take the newest Freight", || {
        stage(&server, "held").pointer("/status/lastPromotion/status/phase") == Some(&Value::from("Succeeded"))
    });
    let out = server
        .convoy()
        .args(["-p", "shop", "promote", "--freight-alias", "first", "--stage", "held", "--wait"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    server.wait_until("the hold to be recorded", || {
        stage(&server, "held").pointer("/status/autoPromotionHolds/Warehouse~1app").is_some()
    });

    // Events are written just after the status a waiter sees: wait for them too.
    for (stage, reason, count) in [
        ("errored", "PromotionErrored", 1),
        ("verify-failed", "PromotionSucceeded", 1),
        ("verify-failed", "FreightVerificationFailed", 1),
        ("held", "PromotionSucceeded", 2),
        ("held", "AutoPromotionHeld", 1),
    ] {
        server.wait_until(&format!("{count} {reason} event(s) about {stage}"), || {
            run(&server, &["events", "--for", &format!("stage/{stage}")]).matches(reason).count() >= count
        });
    }

    let reads: Vec<(&str, Vec<&str>)> = vec![
        ("get-stages", vec!["get", "stages"]),
        ("get-stages-wide", vec!["get", "stages", "-o", "wide"]),
        ("get-freight", vec!["get", "freight"]),
        ("describe-idle", vec!["describe", "stage", "idle"]),
        ("describe-promoting", vec!["describe", "stage", "promoting"]),
        ("describe-errored", vec!["describe", "stage", "errored"]),
        ("describe-verify-failed", vec!["describe", "stage", "verify-failed"]),
        ("describe-held", vec!["describe", "stage", "held"]),
        ("describe-soaking", vec!["describe", "stage", "soaking"]),
        ("logs-promoting", vec!["logs", "stage", "promoting"]),
        ("logs-errored", vec!["logs", "stage", "errored"]),
        ("events-errored", vec!["events", "--for", "stage/errored"]),
        ("events-held", vec!["events", "--for", "stage/held"]),
    ];
    let resource_version = Regex::new(r"(?m) \d+$").unwrap();
    for (name, args) in reads {
        let mut text = normalize(&run(&server, &args), dir.path());
        if name.ends_with("-wide") {
            // The store's revision of each Stage: how many writes came before, not stable.
            text = resource_version.replace_all(&text, " <revision>").into_owned();
        }
        check(name, &sorted_events(name, &text));
    }
    // `get -w`: its first screen (the header and one line per Stage) before any change.
    let watched =
        server.convoy().args(["-p", "shop", "get", "stages", "-w"]).timeout(Duration::from_secs(3)).output().unwrap();
    check("get-stages-watch", &normalize(&String::from_utf8_lossy(&watched.stdout), dir.path()));
    let _ = endpoint.kill();
    let _ = endpoint.wait();
}
