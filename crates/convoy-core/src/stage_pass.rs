//! What one pass of the Stage controller decides (reference §5.4, §5.5), as a pure function of
//! what it read: the Stage's new status, the Freight whose `currentlyIn` / `verifiedIn` change,
//! the verification to run, the Freight to promote automatically, and when to look again. The
//! controller loads the inputs, calls [`plan`] and writes the plan; nothing here reads a store
//! or a clock.

use std::collections::BTreeMap;
use std::time::Duration;

use convoy_api::promotion::Phase;
use convoy_api::stage::{PromotionReference, StageStatus};
use convoy_api::time::Timestamp;
use convoy_api::{Freight, FreightCollection, FreightReference, Promotion, Stage};
use serde_json::{Value, json};

use crate::availability::{auto_promotion_candidate, availability, soonest_soak_end};
use crate::pipeline::{self, PromotionView};
use crate::windows::WindowState;

/// Who the controller's own writes are attributed to (Kargo's `controller:` actor prefix).
pub const CONTROLLER_ACTOR: &str = "controller:convoy";

/// What a pass reads.
pub struct StagePass<'a> {
    pub stage: &'a Stage,
    /// The Freight the pass may touch: what its new Promotions promoted, its current collection,
    /// what says it is in the Stage, and (auto-promotion, control flow) its origins' Freight.
    pub freight: &'a [&'a Freight],
    /// The Stage's Promotions.
    pub promotions: &'a [Promotion],
    /// Whether a ProjectConfig policy lets this Stage auto-promote.
    pub policy_allows_auto_promotion: bool,
    /// The health checks of the last successful Promotion, run by the controller (`None`:
    /// none were run; a Stage whose last Promotion succeeded without checks is healthy).
    pub health: Option<AssessedHealth>,
    /// The promotion windows' schedule for the Stage (`None`: no window selects it).
    pub windows: Option<WindowState>,
    pub now: Timestamp,
}

/// The outcome of a Stage's health checks (Argo CD's, `convoy_argocd::health`).
#[derive(Debug, Clone, PartialEq)]
pub struct AssessedHealth {
    /// `status.health`: `{status, issues, output}`.
    pub status: Value,
    pub healthy: bool,
    /// The `Healthy` condition: status, reason, message.
    pub condition: (String, String, String),
}

/// A change to one Freight's status for this Stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreightChange {
    pub name: String,
    /// `Some(true)`: now in the Stage (`currentlyIn`); `Some(false)`: no longer; `None`: as is.
    pub currently_in: Option<bool>,
    /// Newly verified in the Stage (`verifiedIn`).
    pub verified: bool,
    /// Leaving the Stage it was verified in: the longest soak it completed there
    /// (`verifiedIn[stage].longestSoak`), which downstream soak requirements count.
    pub longest_soak: Option<Duration>,
}

/// What a pass decided.
#[derive(Debug, Clone, PartialEq)]
pub struct StagePlan {
    pub status: StageStatus,
    pub freight: Vec<FreightChange>,
    /// The id of the current collection's verification left Running, to be run.
    pub verify: Option<String>,
    /// Freight to promote automatically, one per origin at most.
    pub promote: Vec<String>,
    /// When to look again (Freight soaking upstream becomes available).
    pub requeue_after: Option<Duration>,
}

/// Decides a pass. `new_id` names new verification records (a UUID in production).
pub fn plan(pass: &StagePass<'_>, new_id: &mut dyn FnMut() -> String) -> StagePlan {
    let stage = pass.stage;
    let now = pass.now;
    let mut status = stage.status.clone().unwrap_or_default();
    let requested: Vec<String> = stage.spec.requested_freight.iter().map(|r| r.origin.key()).collect();
    record_finished_promotions(pass, &mut status, &requested, new_id);
    handle_requests(stage, &mut status, now, new_id);
    // Verification, and Freight counting as verified, wait for a healthy Stage.
    let healthy = assess_health(pass, &mut status);

    let freight = freight_changes(pass, &status, healthy);
    status.freight_summary = Some(summary(&status.freight_history, requested.len()));
    conditions(stage, &mut status, pass.promotions, now);

    let control_flow = stage.is_control_flow();
    let enabled = !control_flow && pass.policy_allows_auto_promotion;
    status.auto_promotion_enabled = Some(enabled);
    if !enabled {
        status.auto_promotion_holds.clear();
    }
    // Holds in effect: recorded ones, and those of Promotions not recorded yet.
    status.effective_auto_promotion_holds = status.auto_promotion_holds.clone();
    let recorded = status.last_promotion.as_ref().map(|p| p.name.clone()).unwrap_or_default();
    for promotion in pass.promotions.iter().filter(|p| !p.is_finished() && p.metadata.name() > recorded.as_str()) {
        let hold = json!({"freightName": promotion.spec.freight, "promotionName": promotion.metadata.name()});
        pipeline::apply_intent(&mut status.effective_auto_promotion_holds, &promotion.metadata.annotations, hold);
    }

    let verify = status
        .freight_history
        .first()
        .and_then(|c| c.verification_history.first())
        .filter(|record| healthy && record["phase"] == "Running")
        .and_then(|record| record["id"].as_str().map(str::to_owned));
    status.promotion_window_status = pass.windows.as_ref().map(WindowState::to_status);
    let frozen = pass.windows.as_ref().is_some_and(|w| w.closed);
    let promote = if enabled && !frozen { auto_promotions(pass, &status) } else { Vec::new() };
    // Freight soaking upstream becomes available at a known time, a window opens or closes at
    // one: look again a second after.
    let soaked = (enabled || control_flow).then(|| soonest_soak_end(stage, pass.freight, now)).flatten();
    let window_change = pass
        .windows
        .as_ref()
        .and_then(WindowState::next_change)
        .map(|at| Duration::from_secs(at.0.saturating_sub(now.0).max(0) as u64));
    let requeue_after = match (soaked, window_change) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
    .map(|d| d + Duration::from_secs(1));
    StagePlan { status, freight, verify, promote, requeue_after }
}

/// Newly finished Promotions, oldest first: `lastPromotion`, holds, and for a success the new
/// current collection with its verification.
fn record_finished_promotions(
    pass: &StagePass<'_>,
    status: &mut StageStatus,
    requested: &[String],
    new_id: &mut dyn FnMut() -> String,
) {
    let last = status.last_promotion.as_ref().map(|p| p.name.clone()).unwrap_or_default();
    let mut finished: Vec<&Promotion> =
        pass.promotions.iter().filter(|p| p.is_finished() && p.metadata.name() > last.as_str()).collect();
    finished.sort_by(|a, b| a.metadata.name().cmp(b.metadata.name()));
    for promotion in finished {
        let promotion_status = promotion.status.clone().unwrap_or_default();
        let origin = promotion_status.freight.as_ref().map(|f| f.origin.clone());
        let phase = promotion.phase();
        status.last_promotion = Some(PromotionReference {
            name: promotion.metadata.name().to_owned(),
            freight: Some(FreightReference {
                name: promotion.spec.freight.clone(),
                origin: origin.clone().unwrap_or_default(),
                ..FreightReference::default()
            }),
            status: Some(json!({"phase": phase.map(Phase::as_str), "message": promotion_status.message})),
            finished_at: promotion_status.finished_at.clone(),
        });
        if phase != Some(Phase::Aborted) {
            let annotations = &promotion.metadata.annotations;
            let hold = json!({
                "freightName": promotion.spec.freight,
                "origin": origin,
                "promotionName": promotion.metadata.name(),
                "actor": annotations.get(convoy_api::promotion::CREATE_ACTOR_ANNOTATION),
                "createdAt": promotion.metadata.creation_timestamp,
            });
            pipeline::apply_intent(&mut status.auto_promotion_holds, annotations, hold);
        }
        if phase != Some(Phase::Succeeded) {
            continue;
        }
        let Some(promoted) = pass.freight.iter().find(|f| f.metadata.name() == promotion.spec.freight) else {
            continue;
        };
        let mut collection = pipeline::next_collection(
            status.freight_history.first(),
            requested,
            &promoted.origin.key(),
            promoted.reference(),
        );
        collection.verification_history = vec![verification_record(pass.stage, pass.now, new_id())];
        pipeline::push_history(&mut status.freight_history, collection);
    }
}

/// Refresh, reverify and abort requests (Kargo's annotations); the last two name the
/// verification they are about.
fn handle_requests(stage: &Stage, status: &mut StageStatus, now: Timestamp, new_id: &mut dyn FnMut() -> String) {
    let annotation = |name: &str| stage.metadata.annotations.get(name).cloned();
    if let Some(token) = annotation(convoy_api::REFRESH_ANNOTATION) {
        status.last_handled_refresh = Some(token);
    }
    let Some(current) = status.freight_history.first_mut() else { return };
    let Some(latest) = current.verification_history.first().cloned() else { return };
    let id = latest["id"].as_str().unwrap_or("").to_owned();
    let running = latest["phase"] == "Running";
    if running && annotation(convoy_api::ABORT_ANNOTATION).as_deref() == Some(id.as_str()) {
        let record = &mut current.verification_history[0];
        record["phase"] = json!("Aborted");
        record["message"] = json!("verification aborted by request");
        record["finishTime"] = json!(now.to_string());
    } else if !running && annotation(convoy_api::REVERIFY_ANNOTATION).as_deref() == Some(id.as_str()) {
        current.verification_history.insert(0, verification_record(stage, now, new_id()));
        current.verification_history.truncate(10);
    }
}

/// `currentlyIn` follows the current collection; `verifiedIn` once it is verified (or, in a
/// control-flow Stage, as soon as the Freight is available to it).
fn freight_changes(pass: &StagePass<'_>, status: &StageStatus, healthy: bool) -> Vec<FreightChange> {
    let stage_name = pass.stage.metadata.name();
    let current: Vec<&str> =
        status.freight_history.first().map(|c| c.items.values().map(|f| f.name.as_str()).collect()).unwrap_or_default();
    let verified = status
        .freight_history
        .first()
        .and_then(|c| c.verification_history.first())
        .is_some_and(|v| healthy && v["phase"] == "Successful");
    let control_flow = pass.stage.is_control_flow();
    pass.freight
        .iter()
        .filter_map(|f| {
            let in_current = current.contains(&f.metadata.name());
            let was_in = f.status.currently_in.contains_key(stage_name);
            let verify = (in_current && verified) || (control_flow && availability(pass.stage, f, pass.now).is_ok());
            let newly_verified = verify && !f.status.verified_in.contains_key(stage_name);
            let leaving = was_in && !in_current;
            (in_current != was_in || newly_verified).then(|| FreightChange {
                name: f.metadata.name().to_owned(),
                currently_in: (in_current != was_in).then_some(in_current),
                verified: newly_verified,
                longest_soak: leaving.then(|| longest_soak(f, stage_name, pass.now)).flatten(),
            })
        })
        .collect()
}

/// The soak Freight completed in `stage` as it leaves it (now − `currentlyIn.since`), or the
/// longer one recorded before; none unless it was verified there.
fn longest_soak(freight: &Freight, stage: &str, now: Timestamp) -> Option<Duration> {
    let verified = freight.status.verified_in.get(stage)?;
    let since = freight.status.currently_in.get(stage)?.since.as_deref()?;
    let since = Timestamp::parse(since).ok()?;
    let this = Duration::from_secs(u64::try_from(now.0 - since.0).unwrap_or(0));
    let before = verified.longest_soak.as_deref().and_then(|d| crate::duration::parse(d).ok()).unwrap_or_default();
    Some(this.max(before))
}

/// Without `spec.verification` Freight is verified on arrival; otherwise a `Running` record
/// that the verifier completes.
fn verification_record(stage: &Stage, now: Timestamp, id: String) -> Value {
    let now = now.to_string();
    match stage.spec.verification {
        None => {
            json!({"id": id, "actor": CONTROLLER_ACTOR, "phase": "Successful", "startTime": now, "finishTime": now})
        }
        Some(_) => json!({"id": id, "actor": CONTROLLER_ACTOR, "phase": "Running", "startTime": now}),
    }
}

/// Kargo's `freightSummary`: the Freight name for a single request, else `<n>/<m> Fulfilled`.
fn summary(history: &[FreightCollection], requested: usize) -> String {
    let items: BTreeMap<&String, &FreightReference> =
        history.first().map(|c| c.items.iter().collect()).unwrap_or_default();
    match (requested, items.values().next()) {
        (1, Some(only)) => only.name.clone(),
        _ => format!("{}/{requested} Fulfilled", items.len()),
    }
}

/// `status.health` and the `Healthy` condition (Kargo's `assessHealth`, reference `argocd.md`
/// §4.1); whether the Stage is healthy.
fn assess_health(pass: &StagePass<'_>, status: &mut StageStatus) -> bool {
    let now = pass.now.to_string();
    let unknown = |issue: &str| Some(json!({"status": "Unknown", "issues": [issue]}));
    let running = pass.promotions.iter().any(|p| p.phase() == Some(Phase::Running));
    let last_phase = status
        .last_promotion
        .as_ref()
        .map(|p| p.status.as_ref().and_then(|s| s["phase"].as_str()).and_then(Phase::parse));
    let (health, condition) = match (running, last_phase) {
        (true, _) => (
            unknown("Cannot assess health because a Promotion is currently in progress"),
            ("Unknown".to_owned(), "ActivePromotion".to_owned(), "Stage has a Promotion in progress".to_owned()),
        ),
        (false, None) => (None, ("Unknown".into(), "NoFreight".into(), "Stage has no current Freight".into())),
        (false, Some(phase)) if phase != Some(Phase::Succeeded) => {
            let word = phase.map_or("Unknown", Phase::as_str);
            let message = "Cannot assess health because last Promotion did not succeed";
            (unknown(message), ("Unknown".into(), format!("LastPromotion{word}"), message.to_owned()))
        }
        (false, Some(_)) => match &pass.health {
            Some(assessed) => (Some(assessed.status.clone()), assessed.condition.clone()),
            None => (
                Some(json!({"status": "Healthy"})),
                ("True".into(), "Healthy".into(), "Stage is healthy (performed 0 health checks)".into()),
            ),
        },
    };
    // No health at all (nothing promoted yet) does not hold verification back, as in Kargo.
    let healthy = health.as_ref().is_none_or(|h| h["status"] == "Healthy");
    status.health = health;
    let (word, reason, message) = condition;
    pipeline::set_condition(&mut status.conditions, "Healthy", &word, &reason, &message, &now);
    healthy
}

/// `Promoting`, `Verified` and `Ready` conditions, and `currentPromotion`.
fn conditions(stage: &Stage, status: &mut StageStatus, promotions: &[Promotion], now: Timestamp) {
    let now = now.to_string();
    let running = promotions.iter().find(|p| p.phase() == Some(Phase::Running));
    status.current_promotion = running.map(|p| PromotionReference {
        name: p.metadata.name().to_owned(),
        freight: Some(FreightReference {
            name: p.spec.freight.clone(),
            origin: p.status.as_ref().and_then(|s| s.freight.as_ref()).map(|f| f.origin.clone()).unwrap_or_default(),
            ..FreightReference::default()
        }),
        status: None,
        finished_at: None,
    });
    let (status_word, reason, message) = match running {
        Some(p) => ("True", "Running", format!("Promotion {} is running", p.metadata.name())),
        None => ("False", "Idle", "no Promotion is running".to_owned()),
    };
    pipeline::set_condition(&mut status.conditions, "Promoting", status_word, reason, &message, &now);
    let latest = status.freight_history.first().and_then(|c| c.verification_history.first()).cloned();
    let phase = latest.as_ref().and_then(|v| v["phase"].as_str()).unwrap_or("");
    let (verified, reason, message) = match (stage.is_control_flow(), phase) {
        (true, _) => ("True", "ControlFlow", "a control-flow Stage verifies Freight on arrival".to_owned()),
        (_, "Successful") => ("True", "Verified", "the current Freight is verified".to_owned()),
        (_, "Running" | "Pending") => ("Unknown", "Verifying", "verification is running".to_owned()),
        (_, "") => ("Unknown", "NoFreight", "no Freight has been promoted yet".to_owned()),
        (_, other) => (
            "False",
            other,
            latest.as_ref().and_then(|v| v["message"].as_str()).unwrap_or("verification did not succeed").to_owned(),
        ),
    };
    pipeline::set_condition(&mut status.conditions, "Verified", verified, reason, &message, &now);
    let (mut ready, mut reason, mut message) = readiness(stage, status, running, latest.as_ref());
    // A verified Stage whose Applications are not healthy is not ready: health says why.
    let health = status.health.as_ref().and_then(|h| h["status"].as_str()).unwrap_or("Healthy");
    if ready == "True" && health != "Healthy" {
        ready = if health == "Unhealthy" { "False" } else { "Unknown" };
        reason = match health {
            "Unhealthy" => "Unhealthy",
            "Progressing" => "Progressing",
            _ => "Unknown",
        };
        let issues = status.health.as_ref().and_then(|h| h["issues"].as_array());
        let issues: Vec<&str> = issues.into_iter().flatten().filter_map(Value::as_str).collect();
        message = format!("Stage health is {health}: {}", issues.join("; "));
    }
    pipeline::set_condition(&mut status.conditions, "Ready", ready, reason, &message, &now);
}

/// Kargo's `Ready`: its reason names the most important thing true of the Stage, in this
/// order: a Promotion running (`ActivePromotion`); the last one not succeeding
/// (`LastPromotionFailed`, `...Errored`, `...Aborted`); no Freight (`NoFreight`); the current
/// Freight's verification (`Verification<Phase>`); else `Verified`, the one `True`.
fn readiness(
    stage: &Stage,
    status: &StageStatus,
    running: Option<&Promotion>,
    latest_verification: Option<&Value>,
) -> (&'static str, &'static str, String) {
    if let Some(p) = running {
        return ("False", "ActivePromotion", format!("Promotion {} is running", p.metadata.name()));
    }
    if let Some(last) = &status.last_promotion {
        let phase = last.status.as_ref().and_then(|s| s["phase"].as_str()).and_then(Phase::parse);
        let message = last.status.as_ref().and_then(|s| s["message"].as_str()).unwrap_or("");
        let reason = match phase {
            Some(Phase::Failed) => Some(("LastPromotionFailed", "failed")),
            Some(Phase::Errored) => Some(("LastPromotionErrored", "errored")),
            Some(Phase::Aborted) => Some(("LastPromotionAborted", "was aborted")),
            _ => None,
        };
        if let Some((reason, what)) = reason {
            let detail = if message.is_empty() { String::new() } else { format!(": {message}") };
            return ("False", reason, format!("Promotion {} {what}{detail}", last.name));
        }
    }
    if stage.is_control_flow() {
        return ("True", "ControlFlow", "a control-flow Stage passes Freight on as it arrives".to_owned());
    }
    if status.freight_history.is_empty() {
        return ("False", "NoFreight", "no Freight has been promoted yet".to_owned());
    }
    let phase = latest_verification.and_then(|v| v["phase"].as_str()).unwrap_or("Pending");
    let message = latest_verification.and_then(|v| v["message"].as_str()).unwrap_or("");
    let with = |text: &str| if message.is_empty() { text.to_owned() } else { format!("{text}: {message}") };
    match phase {
        "Successful" => ("True", "Verified", "the current Freight is verified".to_owned()),
        "Running" => ("False", "VerificationRunning", "verification of the current Freight is running".to_owned()),
        "Pending" => ("False", "VerificationPending", "verification of the current Freight has not started".to_owned()),
        "Failed" => ("False", "VerificationFailed", with("verification failed")),
        "Error" => ("False", "VerificationError", with("verification could not be completed")),
        "Aborted" => ("False", "VerificationAborted", with("verification was aborted")),
        "Inconclusive" => ("False", "VerificationInconclusive", with("verification was inconclusive")),
        _ => ("False", "VerificationError", format!("verification ended in an unknown phase {phase:?}")),
    }
}

/// Per requested origin without a hold: the candidate, unless Kargo's rules skip it (§5.5).
fn auto_promotions(pass: &StagePass<'_>, status: &StageStatus) -> Vec<String> {
    let views: Vec<PromotionView> = pass
        .promotions
        .iter()
        .map(|p| PromotionView {
            name: p.metadata.name().to_owned(),
            freight: p.spec.freight.clone(),
            phase: p.phase().map_or("", Phase::as_str).to_owned(),
        })
        .collect();
    let last = status.last_promotion.as_ref().map(|p| p.name.as_str());
    let mut chosen = Vec::new();
    for request in &pass.stage.spec.requested_freight {
        if status.effective_auto_promotion_holds.contains_key(&request.origin.key()) {
            continue;
        }
        let candidate = auto_promotion_candidate(pass.stage, &request.origin, pass.freight, pass.now)
            .map(|f| f.metadata.name().to_owned());
        let current =
            status.freight_history.first().and_then(|c| c.items.get(&request.origin.key())).map(|f| f.name.as_str());
        if let Ok(freight) = pipeline::auto_promotion(candidate.as_deref(), current, last, &views) {
            chosen.push(freight);
        }
    }
    chosen
}
