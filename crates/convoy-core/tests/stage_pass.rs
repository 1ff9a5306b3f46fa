//! The Stage controller's decisions as a pure function (reference §5.4, §5.5), without a store:
//! each case builds what a pass reads and checks what it decides. Expectations follow Kargo's
//! rules as the reference states them.

use std::time::Duration;

use convoy_api::{Freight, Promotion, Stage};
use convoy_core::stage_pass::{AssessedHealth, FreightChange, StagePass, StagePlan, plan};
use convoy_test_support::clock::START as NOW;
use convoy_test_support::objects;
use serde_json::{Value, json};

/// Stage `dev` of project `p` with this spec, status and annotations.
fn stage(spec: Value, status: Value, annotations: Value) -> Stage {
    objects::stage("dev").set(&["spec"], spec).status(status).set(&["metadata", "annotations"], annotations).typed()
}

/// Requests Warehouse `w`'s Freight directly; one step.
fn direct_spec() -> Value {
    objects::stage("dev").direct("w").steps(json!([{"uses": "fail"}])).json()["spec"].clone()
}

fn freight(name: &str, discovered: &str, status: Value) -> Freight {
    objects::freight(name, "w").image("ghcr.io/a/b", name).discovered(discovered).status(status).typed()
}

/// A Promotion into `dev`; `phase` "" is one not started.
fn promotion(name: &str, freight: &str, phase: &str, annotations: Value) -> Promotion {
    let promotion = objects::promotion(name, "dev", freight).set(&["metadata", "annotations"], annotations);
    if phase.is_empty() { promotion.typed() } else { promotion.phase(phase).typed() }
}

fn run(stage: &Stage, freight: &[Freight], promotions: &[Promotion], auto: bool) -> StagePlan {
    run_assessed(stage, freight, promotions, auto, None)
}

/// A pass whose controller ran the last Promotion's health checks with this outcome.
fn run_assessed(
    stage: &Stage,
    freight: &[Freight],
    promotions: &[Promotion],
    auto: bool,
    health: Option<AssessedHealth>,
) -> StagePlan {
    let refs: Vec<&Freight> = freight.iter().collect();
    let mut ids = (1..).map(|n| format!("id-{n}"));
    let pass = StagePass {
        stage,
        freight: &refs,
        promotions,
        policy_allows_auto_promotion: auto,
        health,
        windows: None,
        now: NOW,
    };
    plan(&pass, &mut || ids.next().unwrap())
}

fn condition<'a>(plan: &'a StagePlan, kind: &str) -> (&'a str, &'a str) {
    let c = plan.status.conditions.iter().find(|c| c.type_ == kind).unwrap();
    (c.status.as_str(), c.reason.as_str())
}

#[test]
fn a_succeeded_promotion_becomes_the_current_collection_verified_on_arrival_without_verification() {
    let s = stage(direct_spec(), json!({}), json!({}));
    let f = [freight("f1", "2024-05-01T10:00:00Z", json!({}))];
    let plan = run(&s, &f, &[promotion("dev.01.f1", "f1", "Succeeded", json!({}))], false);
    assert_eq!(plan.status.last_promotion.as_ref().unwrap().name, "dev.01.f1");
    let current = &plan.status.freight_history[0];
    assert_eq!(current.items["Warehouse/w"].name, "f1");
    assert_eq!(current.verification_history[0]["phase"], "Successful");
    assert_eq!(current.verification_history[0]["id"], "id-1");
    assert_eq!(
        plan.freight,
        vec![FreightChange { name: "f1".into(), currently_in: Some(true), verified: true, longest_soak: None }]
    );
    assert_eq!(plan.status.freight_summary.as_deref(), Some("f1"), "one request: the Freight's name");
    assert_eq!(condition(&plan, "Ready"), ("True", "Verified"));
    assert_eq!(plan.verify, None);
    assert!(plan.promote.is_empty() && plan.requeue_after.is_none());
}

#[test]
fn with_verification_the_record_runs_and_the_freight_is_not_verified_yet() {
    let mut spec = direct_spec();
    spec["verification"] = json!({"analysisTemplates": [{"name": "smoke"}]});
    let s = stage(spec, json!({}), json!({}));
    let f = [freight("f1", "2024-05-01T10:00:00Z", json!({}))];
    let plan = run(&s, &f, &[promotion("dev.01.f1", "f1", "Succeeded", json!({}))], false);
    assert_eq!(plan.verify.as_deref(), Some("id-1"));
    assert_eq!(
        plan.freight,
        vec![FreightChange { name: "f1".into(), currently_in: Some(true), verified: false, longest_soak: None }]
    );
    assert_eq!(condition(&plan, "Verified"), ("Unknown", "Verifying"));
    assert_eq!(condition(&plan, "Ready"), ("False", "VerificationRunning"));
}

#[test]
fn failed_and_already_recorded_promotions_change_no_freight() {
    let recorded = json!({"lastPromotion": {"name": "dev.02.f2"}});
    let s = stage(direct_spec(), recorded, json!({}));
    let f = [freight("f1", "2024-05-01T10:00:00Z", json!({})), freight("f2", "2024-05-01T10:00:00Z", json!({}))];
    // dev.01 sorts before the recorded dev.02: already handled. dev.03 failed.
    let promotions =
        [promotion("dev.01.f1", "f1", "Succeeded", json!({})), promotion("dev.03.f2", "f2", "Failed", json!({}))];
    let plan = run(&s, &f, &promotions, false);
    let last = plan.status.last_promotion.as_ref().unwrap();
    assert_eq!(last.name, "dev.03.f2");
    assert_eq!(last.status.as_ref().unwrap()["phase"], "Failed");
    assert!(plan.status.freight_history.is_empty() && plan.freight.is_empty());
    assert_eq!(condition(&plan, "Ready"), ("False", "LastPromotionFailed"), "no Freight, but the failure matters more");
}

/// Kargo's Ready reasons: the most important thing true of the Stage.
#[test]
fn ready_says_why_in_kargos_words() {
    let with = |last_phase: &str, verification: &str| {
        json!({"lastPromotion": {"name": "dev.01.f1", "status": {"phase": last_phase, "message": "step 2 errored"}},
            "freightHistory": [{"id": "c1", "items": {"Warehouse/w": {"name": "f1", "origin": {"kind": "Warehouse", "name": "w"}}},
            "verificationHistory": [{"id": "v1", "phase": verification, "message": "error rate 7%"}]}]})
    };
    let cases = [
        ("Succeeded", "Successful", "True", "Verified", "the current Freight is verified"),
        ("Errored", "Successful", "False", "LastPromotionErrored", "Promotion dev.01.f1 errored: step 2 errored"),
        ("Aborted", "Successful", "False", "LastPromotionAborted", "Promotion dev.01.f1 was aborted: step 2 errored"),
        ("Succeeded", "Failed", "False", "VerificationFailed", "verification failed: error rate 7%"),
        ("Succeeded", "Error", "False", "VerificationError", "verification could not be completed: error rate 7%"),
        (
            "Succeeded",
            "Inconclusive",
            "False",
            "VerificationInconclusive",
            "verification was inconclusive: error rate 7%",
        ),
        ("Succeeded", "Aborted", "False", "VerificationAborted", "verification was aborted: error rate 7%"),
    ];
    for (last, verification, status, reason, message) in cases {
        let plan = run(&stage(direct_spec(), with(last, verification), json!({})), &[], &[], false);
        let ready = plan.status.conditions.iter().find(|c| c.type_ == "Ready").unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str(), ready.message.as_str()),
            (status, reason, message),
            "{last}/{verification}"
        );
    }
    let plan = run(&stage(direct_spec(), json!({}), json!({})), &[], &[], false);
    assert_eq!(condition(&plan, "Ready"), ("False", "NoFreight"));
}

/// Leaving a Stage it was verified in, Freight keeps the longest soak it completed there, so a
/// downstream soak requirement still counts it (reference §5.3).
#[test]
fn freight_leaving_a_stage_records_the_soak_it_completed() {
    let status = json!({"freightHistory": [{"id": "c1", "items": {"Warehouse/w": {"name": "f2", "origin": {"kind": "Warehouse", "name": "w"}}},
        "verificationHistory": [{"id": "v1", "phase": "Successful"}]}]});
    let s = stage(direct_spec(), status, json!({}));
    let in_dev_since =
        |since: &str, verified: Value| json!({"currentlyIn": {"dev": {"since": since}}, "verifiedIn": verified});
    let f = [
        // An hour in dev, 20 minutes recorded before: the hour counts.
        freight(
            "f1",
            "2024-05-01T10:00:00Z",
            in_dev_since("2024-05-01T11:00:00Z", json!({"dev": {"longestSoak": "20m0s"}})),
        ),
        // Five minutes now, two hours before: the two hours stay.
        freight(
            "f3",
            "2024-05-01T10:00:00Z",
            in_dev_since("2024-05-01T11:55:00Z", json!({"dev": {"longestSoak": "2h0m0s"}})),
        ),
        // Never verified here: nothing to record.
        freight("f4", "2024-05-01T10:00:00Z", in_dev_since("2024-05-01T11:00:00Z", json!({}))),
    ];
    let plan = run(&s, &f, &[], false);
    let soak = |name: &str| plan.freight.iter().find(|c| c.name == name).unwrap().longest_soak;
    assert_eq!(soak("f1"), Some(Duration::from_secs(3600)));
    assert_eq!(soak("f3"), Some(Duration::from_secs(7200)));
    assert_eq!(soak("f4"), None);
}

#[test]
fn freight_leaving_the_current_collection_leaves_the_stage() {
    let status = json!({"freightHistory": [{"id": "c1", "items": {"Warehouse/w": {"name": "f2", "origin": {"kind": "Warehouse", "name": "w"}}},
        "verificationHistory": [{"id": "v1", "phase": "Successful"}]}]});
    let s = stage(direct_spec(), status, json!({}));
    let f = [
        freight(
            "f1",
            "2024-05-01T10:00:00Z",
            json!({"currentlyIn": {"dev": {"since": "2024-05-01T09:00:00Z"}}, "verifiedIn": {"dev": {}}}),
        ),
        freight(
            "f2",
            "2024-05-01T10:00:00Z",
            json!({"currentlyIn": {"dev": {"since": "2024-05-01T11:00:00Z"}}, "verifiedIn": {"dev": {}}}),
        ),
    ];
    let plan = run(&s, &f, &[], false);
    assert_eq!(
        plan.freight,
        vec![FreightChange {
            name: "f1".into(),
            currently_in: Some(false),
            verified: false,
            longest_soak: Some(Duration::from_secs(3 * 3600))
        }]
    );
}

#[test]
fn abort_and_reverify_requests_name_their_verification() {
    let history = |phase: &str| {
        json!({"freightHistory": [{"id": "c1", "items": {"Warehouse/w": {"name": "f1", "origin": {"kind": "Warehouse", "name": "w"}}},
            "verificationHistory": [{"id": "v1", "phase": phase}]}]})
    };
    let mut spec = direct_spec();
    spec["verification"] = json!({"analysisTemplates": [{"name": "smoke"}]});
    // An abort naming the running verification ends it.
    let s = stage(spec.clone(), history("Running"), json!({"kargo.akuity.io/abort": "v1"}));
    let plan = run(&s, &[], &[], false);
    let record = &plan.status.freight_history[0].verification_history[0];
    assert_eq!(
        (record["phase"].as_str(), record["finishTime"].as_str()),
        (Some("Aborted"), Some("2024-05-01T12:00:00Z"))
    );
    assert_eq!(plan.verify, None);
    // An abort naming another verification does nothing.
    let s = stage(spec.clone(), history("Running"), json!({"kargo.akuity.io/abort": "v0"}));
    assert_eq!(run(&s, &[], &[], false).verify.as_deref(), Some("v1"));
    // A reverify of the finished one starts a new record, newest first.
    let s = stage(spec, history("Failed"), json!({"kargo.akuity.io/reverify": "v1"}));
    let plan = run(&s, &[], &[], false);
    let ids: Vec<&str> =
        plan.status.freight_history[0].verification_history.iter().map(|v| v["id"].as_str().unwrap()).collect();
    assert_eq!(ids, vec!["id-1", "v1"]);
    assert_eq!(plan.verify.as_deref(), Some("id-1"));
}

#[test]
fn a_control_flow_stage_verifies_what_is_available_to_it() {
    let spec =
        json!({"requestedFreight": [{"origin": {"kind": "Warehouse", "name": "w"}, "sources": {"stages": ["up"]}}]});
    let s = stage(spec, json!({}), json!({}));
    let f = [
        freight("f1", "2024-05-01T10:00:00Z", json!({"verifiedIn": {"up": {}}})),
        freight("f2", "2024-05-01T10:00:00Z", json!({})),
    ];
    let plan = run(&s, &f, &[], true);
    assert_eq!(
        plan.freight,
        vec![FreightChange { name: "f1".into(), currently_in: None, verified: true, longest_soak: None }]
    );
    assert_eq!(plan.status.auto_promotion_enabled, Some(false), "control flow never promotes");
    assert_eq!(condition(&plan, "Verified"), ("True", "ControlFlow"));
}

#[test]
fn auto_promotion_takes_the_newest_unless_held_or_in_flight() {
    let s = stage(direct_spec(), json!({}), json!({}));
    let f = [freight("f1", "2024-05-01T10:00:00Z", json!({})), freight("f2", "2024-05-01T11:00:00Z", json!({}))];
    assert_eq!(run(&s, &f, &[], true).promote, vec!["f2".to_owned()]);
    assert!(run(&s, &f, &[], false).promote.is_empty(), "no policy, no promotion");
    // A Promotion of the candidate already waiting: nothing new.
    let waiting = [promotion("dev.01.f2", "f2", "", json!({}))];
    assert!(run(&s, &f, &waiting, true).promote.is_empty());
    // A user's Promotion of older Freight holds auto-promotion for its origin.
    let rollback = [promotion("dev.01.f1", "f1", "", json!({"kargo.akuity.io/auto-promotion-hold": "Warehouse/w"}))];
    let plan = run(&s, &f, &rollback, true);
    assert!(plan.promote.is_empty());
    assert!(plan.status.effective_auto_promotion_holds.contains_key("Warehouse/w"));
    // The candidate's last Promotion failed: a person retries it, not the loop.
    let failed = [promotion("dev.01.f2", "f2", "Failed", json!({}))];
    assert!(run(&s, &f, &failed, true).promote.is_empty());
}

#[test]
fn soaking_freight_asks_for_a_pass_when_its_soak_ends() {
    let spec = objects::stage("dev")
        .upstream("w", &["up"])
        .sources("requiredSoakTime", json!("1h"))
        .steps(json!([{"uses": "fail"}]));
    let spec = spec.json()["spec"].clone();
    let s = stage(spec, json!({}), json!({}));
    // In `up` for 20 minutes: 40 minutes of soak left.
    let f = [freight(
        "f1",
        "2024-05-01T10:00:00Z",
        json!({"verifiedIn": {"up": {}}, "currentlyIn": {"up": {"since": "2024-05-01T11:40:00Z"}}}),
    )];
    let plan = run(&s, &f, &[], true);
    assert!(plan.promote.is_empty(), "not available yet");
    assert_eq!(plan.requeue_after, Some(Duration::from_secs(40 * 60 + 1)));
    assert_eq!(run(&s, &f, &[], false).requeue_after, None, "nothing would act on it");
}

#[test]
fn a_running_promotion_is_current_and_the_stage_not_ready() {
    let status = json!({"freightHistory": [{"id": "c1", "items": {"Warehouse/w": {"name": "f1", "origin": {"kind": "Warehouse", "name": "w"}}},
        "verificationHistory": [{"id": "v1", "phase": "Successful"}]}]});
    let s = stage(direct_spec(), status, json!({}));
    let plan = run(&s, &[], &[promotion("dev.01.f2", "f2", "Running", json!({}))], false);
    assert_eq!(plan.status.current_promotion.as_ref().unwrap().name, "dev.01.f2");
    assert_eq!(condition(&plan, "Promoting"), ("True", "Running"));
    assert_eq!(condition(&plan, "Ready"), ("False", "ActivePromotion"));
}

/// Kargo's health states (reference `argocd.md` §4.1), and health gating verification: Freight
/// counts as verified in a Stage only once the Stage is healthy.
#[test]
fn health_follows_the_last_promotion_and_holds_verification_back() {
    let s = stage(direct_spec(), json!({}), json!({}));
    let f = [freight("f1", "2024-05-01T10:00:00Z", json!({}))];
    // Nothing promoted: no health, nothing held back.
    let plan = run(&s, &f, &[], false);
    assert_eq!((plan.status.health.clone(), condition(&plan, "Healthy")), (None, ("Unknown", "NoFreight")));
    // A promotion running: unknown.
    let plan = run(&s, &f, &[promotion("dev.01.f1", "f1", "Running", json!({}))], false);
    assert_eq!(plan.status.health.as_ref().unwrap()["status"], "Unknown");
    assert_eq!(condition(&plan, "Healthy"), ("Unknown", "ActivePromotion"));
    // The last one failed: unknown, naming its phase.
    let plan = run(&s, &f, &[promotion("dev.01.f1", "f1", "Failed", json!({}))], false);
    assert_eq!(condition(&plan, "Healthy"), ("Unknown", "LastPromotionFailed"));
    // Succeeded without health checks: healthy, verified on arrival.
    let done = [promotion("dev.01.f1", "f1", "Succeeded", json!({}))];
    let plan = run(&s, &f, &done, false);
    assert_eq!(condition(&plan, "Healthy"), ("True", "Healthy"));
    assert!(plan.freight[0].verified);
    // Succeeded, but its Application is degraded: unhealthy, not verified, not ready.
    let unhealthy = AssessedHealth {
        status: json!({"status": "Unhealthy", "issues": ["Argo CD Application \"a\" in namespace \"argocd\" has health state \"Degraded\""]}),
        healthy: false,
        condition: ("False".into(), "Unhealthy".into(), "Stage is unhealthy (1 issues in 1 health checks)".into()),
    };
    let plan = run_assessed(&s, &f, &done, false, Some(unhealthy));
    assert_eq!(plan.status.health.as_ref().unwrap()["status"], "Unhealthy");
    assert_eq!(condition(&plan, "Healthy"), ("False", "Unhealthy"));
    assert_eq!(condition(&plan, "Ready"), ("False", "Unhealthy"));
    assert_eq!(
        plan.freight,
        vec![FreightChange { name: "f1".into(), currently_in: Some(true), verified: false, longest_soak: None }]
    );
}

#[test]
fn a_closed_promotion_window_holds_auto_promotion_and_says_until_when() {
    use convoy_core::windows::WindowState;
    let s = stage(direct_spec(), json!({}), json!({}));
    let f = [freight("f1", "2024-05-01T10:00:00Z", json!({}))];
    let refs: Vec<&Freight> = f.iter().collect();
    let opens = convoy_api::time::Timestamp(NOW.0 + 3600);
    let frozen = WindowState {
        closed: true,
        reason: Some("promotion window \"freeze\" (Deny) is active until then".into()),
        next_open: Some(opens),
        ..WindowState::default()
    };
    let pass = |windows| StagePass {
        stage: &s,
        freight: &refs,
        promotions: &[],
        policy_allows_auto_promotion: true,
        health: None,
        windows,
        now: NOW,
    };
    let closed = plan(&pass(Some(frozen.clone())), &mut || "id".into());
    assert!(closed.promote.is_empty(), "no auto-promotion while frozen");
    let status = closed.status.promotion_window_status.as_ref().unwrap();
    assert!(status.closed);
    assert_eq!(status.next_open.as_deref(), Some(opens.to_string().as_str()));
    assert_eq!(closed.requeue_after, Some(Duration::from_secs(3601)), "a pass a second after it opens");
    // Open, with a freeze ahead: promotes now, looks again when it closes.
    let open = WindowState { next_close: Some(opens), ..WindowState::default() };
    let open_plan = plan(&pass(Some(open)), &mut || "id".into());
    assert_eq!(open_plan.promote, vec!["f1".to_owned()]);
    assert_eq!(open_plan.requeue_after, Some(Duration::from_secs(3601)));
    // No window selects the Stage: no status.
    assert_eq!(plan(&pass(None), &mut || "id".into()).status.promotion_window_status, None);
}
