//! The Stage controller's decisions (reference §5.4, §5.5), pure: which policy applies to a
//! Stage, whether auto-promotion creates a Promotion, and the freight history.

use std::collections::BTreeMap;

use convoy_api::project::{PromotionPolicy, PromotionPolicySelector};
use convoy_api::{FreightCollection, Stage};
use sha1::{Digest, Sha1};

/// Kargo's collection id: SHA-1 hex of the sorted Freight names joined with `,`.
pub fn collection_id(names: &[&str]) -> String {
    let mut names = names.to_vec();
    names.sort_unstable();
    Sha1::digest(names.join(",").as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Newest first, at most 10 (Kargo's limit).
pub fn push_history(history: &mut Vec<FreightCollection>, collection: FreightCollection) {
    history.retain(|c| c.id != collection.id);
    history.insert(0, collection);
    history.truncate(10);
}

/// Whether the first ProjectConfig policy matching the Stage enables auto-promotion.
pub fn auto_promotion_enabled(policies: &[PromotionPolicy], stage: &Stage) -> bool {
    policies
        .iter()
        .find(|p| match (&p.stage, &p.stage_selector) {
            (Some(name), _) => name == stage.metadata.name(),
            (None, Some(selector)) => selects(selector, stage),
            (None, None) => false,
        })
        .is_some_and(|p| p.auto_promotion_enabled)
}

fn selects(selector: &PromotionPolicySelector, stage: &Stage) -> bool {
    name_matches(selector.name.as_deref(), stage.metadata.name())
        && convoy_api::meta::labels_match(&selector.match_labels, &selector.match_expressions, &stage.metadata.labels)
}

/// A selector's name: exact, `glob:`, `regex:` or `regexp:`; none selects every name.
pub(crate) fn name_matches(pattern: Option<&str>, name: &str) -> bool {
    match pattern {
        None | Some("") => true,
        Some(pattern) => {
            if let Some(glob) = pattern.strip_prefix("glob:") {
                glob_match(glob, name)
            } else if let Some(re) = pattern.strip_prefix("regex:").or_else(|| pattern.strip_prefix("regexp:")) {
                regex::Regex::new(re).is_ok_and(|r| r.is_match(name))
            } else {
                pattern == name
            }
        }
    }
}

fn glob_match(pattern: &str, text: &str) -> bool {
    fn go(p: &[u8], t: &[u8]) -> bool {
        match p {
            [] => t.is_empty(),
            [b'*', rest @ ..] => (0..=t.len()).any(|i| go(rest, &t[i..])),
            [b'?', rest @ ..] => !t.is_empty() && go(rest, &t[1..]),
            [c, rest @ ..] => t.first() == Some(c) && go(rest, &t[1..]),
        }
    }
    go(pattern.as_bytes(), text.as_bytes())
}

/// A Promotion as the decisions see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromotionView {
    /// Names sort in creation order (they carry a ULID).
    pub name: String,
    pub freight: String,
    /// `Pending`, `Running`, `Succeeded`, `Failed`, `Errored`, `Aborted`.
    pub phase: String,
}

impl PromotionView {
    pub fn is_terminal(&self) -> bool {
        matches!(self.phase.as_str(), "Succeeded" | "Failed" | "Errored" | "Aborted")
    }
}

/// Why auto-promotion made no Promotion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    NoCandidate,
    AlreadyCurrent,
    /// A Promotion of the candidate is waiting, running, or succeeded but not yet recorded.
    InFlight(String),
    /// The candidate's last Promotion here did not succeed; a person must retry it (Kargo's loop
    /// avoidance).
    LastAttemptFailed(String),
}

/// Kargo's rules for one origin (§5.5): promote the candidate unless it is already current, a
/// Promotion of it is in flight, or its last Promotion here did not succeed.
pub fn auto_promotion(
    candidate: Option<&str>,
    current: Option<&str>,
    last_recorded: Option<&str>,
    promotions: &[PromotionView],
) -> Result<String, Skip> {
    let candidate = candidate.ok_or(Skip::NoCandidate)?;
    if current == Some(candidate) {
        return Err(Skip::AlreadyCurrent);
    }
    let mut of_candidate: Vec<&PromotionView> = promotions.iter().filter(|p| p.freight == candidate).collect();
    of_candidate.sort_by(|a, b| b.name.cmp(&a.name));
    let unprocessed = |p: &&&PromotionView| {
        !p.is_terminal() || (p.phase == "Succeeded" && last_recorded.is_none_or(|last| p.name.as_str() > last))
    };
    if let Some(p) = of_candidate.iter().find(unprocessed) {
        return Err(Skip::InFlight(p.name.clone()));
    }
    if let Some(p) = of_candidate.iter().find(|p| p.is_terminal())
        && p.phase != "Succeeded"
    {
        return Err(Skip::LastAttemptFailed(p.name.clone()));
    }
    Ok(candidate.to_owned())
}

/// The collection a Stage holds after promoting `freight` (keyed by origin): the previous
/// collection's items for still-requested origins, with this origin's entry replaced.
pub fn next_collection(
    previous: Option<&FreightCollection>,
    requested: &[String],
    origin_key: &str,
    freight: convoy_api::FreightReference,
) -> FreightCollection {
    let mut items: BTreeMap<String, convoy_api::FreightReference> = previous
        .map(|c| c.items.iter().filter(|(k, _)| requested.contains(k)).map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    items.insert(origin_key.to_owned(), freight);
    let names: Vec<&str> = items.values().map(|f| f.name.as_str()).collect();
    FreightCollection { id: collection_id(&names), items, verification_history: Vec::new() }
}

/// Stamped on a user's Promotion into a Stage with auto-promotion: promoting anything but the
/// candidate holds auto-promotion for that origin (a rollback stays put)...
pub const HOLD_ANNOTATION: &str = "kargo.akuity.io/auto-promotion-hold";
/// ...and promoting the candidate resumes it (§5.6). The value is the origin, `Warehouse/<name>`.
pub const RESUME_ANNOTATION: &str = "kargo.akuity.io/auto-promotion-resume";

/// The intent annotation for a user's Promotion of `freight` when the candidate is `candidate`.
pub fn hold_intent(candidate: Option<&str>, freight: &str) -> &'static str {
    if candidate == Some(freight) { RESUME_ANNOTATION } else { HOLD_ANNOTATION }
}

/// Records a finished (not aborted) Promotion's intent in `holds` (keyed by origin).
pub fn apply_intent(
    holds: &mut BTreeMap<String, serde_json::Value>,
    annotations: &BTreeMap<String, String>,
    hold: serde_json::Value,
) {
    if let Some(origin) = annotations.get(HOLD_ANNOTATION) {
        holds.insert(origin.clone(), hold);
    } else if let Some(origin) = annotations.get(RESUME_ANNOTATION) {
        holds.remove(origin);
    }
}

/// Sets a condition, keeping its `lastTransitionTime` when its status did not change.
pub fn set_condition(
    conditions: &mut Vec<convoy_api::meta::Condition>,
    kind: &str,
    status: &str,
    reason: &str,
    message: &str,
    now: &str,
) {
    let since = conditions
        .iter()
        .find(|c| c.type_ == kind && c.status == status)
        .and_then(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| now.to_owned());
    conditions.retain(|c| c.type_ != kind);
    conditions.push(convoy_api::meta::Condition {
        type_: kind.to_owned(),
        status: status.to_owned(),
        observed_generation: None,
        last_transition_time: Some(since),
        reason: reason.to_owned(),
        message: message.to_owned(),
    });
}

/// Kargo's queue gate (§3.1): why the next Promotion of a Stage must wait, if it must. It waits
/// until the Stage has recorded the newest finished Promotion, and until the verification of
/// the Freight that Promotion brought is over.
pub fn promotion_gate(status: &convoy_api::stage::StageStatus, newest_finished: Option<&str>) -> Option<String> {
    let recorded = status.last_promotion.as_ref().map(|p| p.name.as_str()).unwrap_or("");
    if let Some(newest) = newest_finished
        && newest > recorded
    {
        return Some(format!("waiting for the Stage to record Promotion {newest}"));
    }
    let current = status.freight_history.first()?;
    let latest = current.verification_history.first()?;
    let phase = latest["phase"].as_str().unwrap_or("");
    matches!(phase, "Pending" | "Running").then(|| {
        let names: Vec<&str> = current.items.values().map(|f| f.name.as_str()).collect();
        format!("waiting for the verification of Freight {} to finish", names.join(", "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(name: &str, freight: &str, phase: &str) -> PromotionView {
        PromotionView { name: name.into(), freight: freight.into(), phase: phase.into() }
    }

    #[test]
    fn auto_promotion_rules() {
        // Nothing, or already there.
        assert_eq!(auto_promotion(None, None, None, &[]), Err(Skip::NoCandidate));
        assert_eq!(auto_promotion(Some("f2"), Some("f2"), None, &[]), Err(Skip::AlreadyCurrent));
        // A fresh candidate is promoted.
        assert_eq!(
            auto_promotion(Some("f2"), Some("f1"), Some("dev.01a"), &[view("dev.01a", "f1", "Succeeded")]),
            Ok("f2".into())
        );
        // In flight: pending/running, or succeeded after the last recorded one.
        assert_eq!(
            auto_promotion(Some("f2"), Some("f1"), None, &[view("dev.01b", "f2", "Pending")]),
            Err(Skip::InFlight("dev.01b".into()))
        );
        assert_eq!(
            auto_promotion(Some("f2"), Some("f1"), Some("dev.01a"), &[view("dev.01b", "f2", "Succeeded")]),
            Err(Skip::InFlight("dev.01b".into()))
        );
        // Loop avoidance: the newest attempt failed.
        assert_eq!(
            auto_promotion(
                Some("f2"),
                Some("f1"),
                Some("dev.01c"),
                &[view("dev.01b", "f2", "Succeeded"), view("dev.01c", "f2", "Failed")]
            ),
            Err(Skip::LastAttemptFailed("dev.01c".into()))
        );
        // An older failure followed by a later recorded success does not block.
        assert_eq!(
            auto_promotion(
                Some("f2"),
                Some("f1"),
                Some("dev.01c"),
                &[view("dev.01b", "f2", "Failed"), view("dev.01c", "f2", "Succeeded")]
            ),
            Ok("f2".into())
        );
    }

    #[test]
    fn the_queue_waits_for_recording_and_verification() {
        use convoy_api::stage::StageStatus;
        let status = |last: &str, phase: Option<&str>| -> StageStatus {
            let history = phase.map(|p| serde_json::json!([{"id": "c", "items": {"Warehouse/w": {"name": "f1", "origin": {"kind": "Warehouse", "name": "w"}}}, "verificationHistory": [{"phase": p}]}]));
            serde_json::from_value(serde_json::json!({"lastPromotion": {"name": last, "freight": {"name": "f1", "origin": {"kind": "Warehouse", "name": "w"}}}, "freightHistory": history.unwrap_or(serde_json::json!([]))})).unwrap()
        };
        assert_eq!(promotion_gate(&StageStatus::default(), None), None, "a new Stage does not wait");
        assert!(
            promotion_gate(&status("dev.01a", None), Some("dev.01b")).unwrap().contains("record Promotion dev.01b")
        );
        assert!(
            promotion_gate(&status("dev.01b", Some("Running")), Some("dev.01b"))
                .unwrap()
                .contains("verification of Freight f1")
        );
        assert_eq!(promotion_gate(&status("dev.01b", Some("Successful")), Some("dev.01b")), None);
        assert_eq!(
            promotion_gate(&status("dev.01b", Some("Failed")), Some("dev.01b")),
            None,
            "a finished verification, even failed, does not block"
        );
    }

    #[test]
    fn holds_follow_user_intent() {
        assert_eq!(hold_intent(Some("f2"), "f1"), HOLD_ANNOTATION, "a rollback holds");
        assert_eq!(hold_intent(None, "f1"), HOLD_ANNOTATION);
        assert_eq!(hold_intent(Some("f2"), "f2"), RESUME_ANNOTATION);
        let mut holds = BTreeMap::new();
        let hold: BTreeMap<String, String> = [(HOLD_ANNOTATION.to_owned(), "Warehouse/w".to_owned())].into();
        let resume: BTreeMap<String, String> = [(RESUME_ANNOTATION.to_owned(), "Warehouse/w".to_owned())].into();
        apply_intent(&mut holds, &hold, serde_json::json!({"freightName": "f1"}));
        assert_eq!(holds.keys().collect::<Vec<_>>(), ["Warehouse/w"]);
        apply_intent(&mut holds, &resume, serde_json::Value::Null);
        assert!(holds.is_empty());
    }

    #[test]
    fn collection_ids_and_history() {
        // SHA-1 of "a,b", computed with coreutils: printf 'a,b' | sha1sum.
        assert_eq!(collection_id(&["b", "a"]), "5d8b1241b0484dd20c2cfeca6f692becfbab5d18");
        let mut history = Vec::new();
        for i in 0..12 {
            push_history(&mut history, FreightCollection { id: format!("c{i}"), ..FreightCollection::default() });
        }
        assert_eq!(history.len(), 10);
        assert_eq!(history[0].id, "c11");
    }
}
