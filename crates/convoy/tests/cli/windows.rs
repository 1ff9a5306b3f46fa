//! Promotion windows end to end: a freeze holds auto-promotion until it ends, then the Freight
//! flows; a manual promotion into a frozen Stage is refused with the window named, unless it
//! is overridden with a reason.

use std::time::{SystemTime, UNIX_EPOCH};

use convoy_api::time::Timestamp;
use serde_json::Value;

use super::promote::stdout;
use super::server::Server;

/// An iCal UTC time `seconds` from now (`20261202T190000Z`).
fn ical_in(seconds: i64) -> (Timestamp, String) {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let at = Timestamp(now + seconds);
    (at, at.to_string().replace(['-', ':'], ""))
}

fn manifests(dev_opens: &str, frozen_since: &str, prod_opens: &str) -> String {
    format!(
        r#"apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata: {{name: demo}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: ProjectConfig
metadata: {{name: demo, namespace: demo}}
spec:
  promotionPolicies:
  - stageSelector: {{name: dev}}
    autoPromotionEnabled: true
  promotionWindows:
  - name: deploy-freeze
    kind: Deny
    stageSelector: {{name: dev}}
    dtstart: "{frozen_since}"
    dtend: "{dev_opens}"
  - name: prod-freeze
    kind: Deny
    stageSelector: {{name: "glob:prod*"}}
    dtstart: "{frozen_since}"
    dtend: "{prod_opens}"
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {{name: app, namespace: demo}}
spec:
  interval: 1h
  freightCreationPolicy: Manual
  subscriptions:
  - image: {{repoURL: ghcr.io/example/app}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Freight
metadata: {{namespace: demo}}
alias: first
origin: {{kind: Warehouse, name: app}}
images:
- {{repoURL: ghcr.io/example/app, tag: 1.0.0}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {{name: dev, namespace: demo}}
spec:
  requestedFreight:
  - origin: {{kind: Warehouse, name: app}}
    sources: {{direct: true}}
  promotionTemplate:
    spec:
      steps:
      - uses: compose-output
        config: {{tag: "${{{{ imageFrom('ghcr.io/example/app').Tag }}}}"}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {{name: prod, namespace: demo}}
spec:
  requestedFreight:
  - origin: {{kind: Warehouse, name: app}}
    sources: {{direct: true}}
  promotionTemplate:
    spec:
      steps:
      - uses: compose-output
        config: {{tag: "${{{{ imageFrom('ghcr.io/example/app').Tag }}}}"}}
"#
    )
}

fn get(server: &Server, kind: &str, name: &str) -> Value {
    let out = server.convoy().args(["-p", "demo", "get", kind, name, "-o", "json"]).output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn promotions(server: &Server) -> Vec<Value> {
    let out = server.convoy().args(["-p", "demo", "get", "promotions", "-o", "json"]).output().unwrap();
    let list: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    list["items"].as_array().cloned().unwrap_or_default()
}

#[test]
fn auto_promotion_waits_for_its_window_and_a_manual_one_needs_an_override() {
    let dir = tempfile::tempdir().unwrap();
    let (opens_at, dev_opens) = ical_in(6);
    let (_, since) = ical_in(-3600);
    let (_, prod_opens) = ical_in(86_400);
    let file = dir.path().join("pipeline.yaml");
    std::fs::write(&file, manifests(&dev_opens, &since, &prod_opens)).unwrap();
    let server = Server::start(dir.path());
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&file).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // While frozen: the Stage says until when, and nothing is promoted.
    server.wait_until("dev's window status", || {
        get(&server, "stage", "dev").pointer("/status/promotionWindowStatus/closed") == Some(&Value::Bool(true))
    });
    let dev = get(&server, "stage", "dev");
    assert_eq!(
        dev.pointer("/status/promotionWindowStatus/nextOpen").and_then(Value::as_str),
        Some(opens_at.to_string().as_str()),
        "{dev:#}"
    );
    let reason = dev.pointer("/status/promotionWindowStatus/reason").and_then(Value::as_str).unwrap_or("");
    assert!(reason.contains("\"deploy-freeze\" (Deny)"), "{reason}");
    let listing = stdout(&server.convoy().args(["-p", "demo", "get", "stages"]).output().unwrap());
    assert!(listing.contains(&format!("promotions frozen until {opens_at}")), "{listing}");
    assert!(promotions(&server).is_empty(), "no promotion during the freeze");
    let pipeline = server.page("/p/demo");
    assert!(pipeline.contains(">frozen<") && pipeline.contains("deploy-freeze"), "the UI says so too");

    // When it ends, auto-promotion runs (the controller looks again then: nothing else changed).
    server.wait_until("dev to be promoted after the window", || {
        get(&server, "freight", "first").pointer("/status/currentlyIn/dev").is_some()
            || promotions(&server).iter().any(|p| p["spec"]["stage"] == "dev")
    });
    let created = promotions(&server)
        .into_iter()
        .find(|p| p["spec"]["stage"] == "dev")
        .and_then(|p| p.pointer("/metadata/creationTimestamp").and_then(Value::as_str).map(str::to_owned))
        .unwrap();
    assert!(Timestamp::parse(&created).unwrap() >= opens_at, "created {created}, window opened {opens_at}");

    // prod is frozen for a day: a manual promotion is refused, naming the window.
    let out = server
        .convoy()
        .args(["-p", "demo", "promote", "--freight-alias", "first", "--stage", "prod"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("promotions of Stage \"prod\" are frozen: promotion window \"prod-freeze\" (Deny)"),
        "{stderr}"
    );
    assert!(stderr.contains("--override-window"), "says how to override: {stderr}");
    assert!(promotions(&server).iter().all(|p| p["spec"]["stage"] != "prod"));
    // With a reason, it goes through, and the reason stays on the Promotion.
    let out = server
        .convoy()
        .args([
            "-p",
            "demo",
            "promote",
            "--freight-alias",
            "first",
            "--stage",
            "prod",
            "--override-window",
            "INC-42 hotfix",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let prod = promotions(&server).into_iter().find(|p| p["spec"]["stage"] == "prod").unwrap();
    let recorded = prod.pointer("/metadata/annotations/convoy.dev~1override-window").and_then(Value::as_str);
    assert!(recorded.is_some_and(|r| r.ends_with(": INC-42 hotfix")), "{prod:#}");
}

#[test]
fn a_window_that_does_not_read_is_refused_with_its_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("windows.yaml");
    std::fs::write(
        &file,
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Project\nmetadata: {name: demo}\n---\n\
         apiVersion: kargo.akuity.io/v1alpha1\nkind: ProjectConfig\nmetadata: {name: demo, namespace: demo}\n\
         spec:\n  promotionWindows:\n  - name: weekends\n    kind: Deny\n    rrule: FREQ=WEEKLY;BYDAY=SA,SUN\n\
         \x20   dtstart: 20261205T000000Z\n    dtend: 20261207T000000Z\n",
    )
    .unwrap();
    let server = Server::start(dir.path());
    server.login();
    let out = server.convoy().args(["apply", "-f"]).arg(&file).output().unwrap();
    let said = format!("{}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("spec.promotionWindows[0].rrule"), "{said}");
    assert!(said.contains("\"SUN\" is not a weekday"), "{said}");
    // All or nothing: the Project was not created either.
    let out = server.convoy().args(["get", "projects", "-o", "json"]).output().unwrap();
    assert!(!stdout(&out).contains("\"demo\""), "{}", stdout(&out));
}
