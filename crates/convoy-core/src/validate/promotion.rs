//! Promotion: built from its Stage at creation (reference §2.2), then checked.

use convoy_api::meta::OwnerReference;
use convoy_api::{FieldPath, Freight, KARGO_API_VERSION, Kind, Promotion, Resource, Stage};

use super::stage::sync_shard_label;
use super::{StepList, check_steps};
use crate::admission::Env;
use crate::availability::{auto_promotion_candidate, availability};
use crate::expand::expand_steps;
use crate::names::promotion_name;
use crate::problem::Problems;
use crate::time::Timestamp;
use crate::view::{View, ViewExt};

pub(crate) const STAGE_LABEL: &str = "kargo.akuity.io/stage";

/// Resolves `origin` to a Freight, names the Promotion, copies steps and vars from the Stage
/// (whatever was submitted), and expands tasks. Stops at the first problem that leaves
/// nothing sensible to check further.
pub(crate) fn build(
    promotion: &mut Promotion,
    view: &dyn View,
    env: &mut dyn Env,
    problems: &mut Problems,
) -> Option<()> {
    let project = promotion.metadata.namespace().to_owned();
    let stage_name = promotion.spec.stage.clone();
    if stage_name.is_empty() {
        problems.error("spec.stage", "required field is missing").with_hint("name the Stage to promote to");
        return None;
    }
    let Some(stage) = view.stage(&project, &stage_name) else {
        problems.error("spec.stage", format!("could not find Stage {stage_name:?} in namespace {project:?}"));
        return None;
    };
    let now = Timestamp((env.now_millis() / 1000) as i64);
    resolve_freight(promotion, stage, view, now, problems)?;
    if stage.is_control_flow() {
        problems
            .error("spec.stage", format!("Stage {stage_name:?} in namespace {project:?} defines no promotion steps"))
            .with_hint("a Stage without steps only passes verified Freight on; promote its downstream Stages instead");
        return None;
    }
    let random = (u128::from(env.random()) << 16) | u128::from(env.random() & 0xFFFF);
    let name = promotion_name(&stage_name, &promotion.spec.freight, env.now_millis(), random);
    promotion.metadata.name = Some(name);
    promotion.metadata.generate_name = None;
    let template = stage.spec.promotion_template.as_ref()?;
    promotion.spec.vars = stage.spec.vars.iter().chain(&template.spec.vars).cloned().collect();
    match expand_steps(&project, &template.spec.steps, &promotion.spec.vars, view) {
        Ok(steps) => promotion.spec.steps = steps,
        Err(errors) => {
            for e in errors {
                problems
                    .error("spec.steps", format!("failed to inflate Promotion steps: {e}"))
                    .with_hint(format!("fix step {} of Stage {stage_name:?}'s promotion template", e.step_index));
            }
            return None;
        }
    }
    label_and_own(promotion, stage);
    Some(())
}

fn resolve_freight(
    promotion: &mut Promotion,
    stage: &Stage,
    view: &dyn View,
    now: Timestamp,
    problems: &mut Problems,
) -> Option<()> {
    let project = promotion.metadata.namespace().to_owned();
    let has_freight = !promotion.spec.freight.is_empty();
    match (has_freight, promotion.spec.origin.take()) {
        (false, Some(origin)) => {
            let freight = view.freight(&project);
            let Some(candidate) = auto_promotion_candidate(stage, &origin, &freight, now) else {
                problems.error(
                    "spec.origin",
                    format!(
                        "no auto-promotion candidate found for origin {:?} on Stage {:?}",
                        origin.key(),
                        stage.metadata.name()
                    ),
                );
                return None;
            };
            promotion.spec.freight = candidate.metadata.name().to_owned();
        }
        (true, None) => {}
        _ => {
            problems
                .error("spec", "exactly one of spec.freight or spec.origin must be set")
                .with_hint("name the Freight to promote, or give an origin to promote its newest available Freight");
            return None;
        }
    }
    Some(())
}

fn label_and_own(promotion: &mut Promotion, stage: &Stage) {
    let stage_name = stage.metadata.name();
    sync_shard_label(&mut promotion.metadata.labels, stage.spec.shard.as_deref());
    // Label values are limited to 63 characters; the annotation keeps the full name.
    let label: String = stage_name.chars().take(63).collect();
    promotion.metadata.labels.insert(STAGE_LABEL.to_owned(), label.trim_end_matches(['-', '.']).to_owned());
    promotion.metadata.annotations.insert(STAGE_LABEL.to_owned(), stage_name.to_owned());
    promotion.metadata.owner_references = vec![OwnerReference {
        api_version: KARGO_API_VERSION.to_owned(),
        kind: "Stage".to_owned(),
        name: stage_name.to_owned(),
        uid: stage.metadata.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }];
}

/// The built Promotion's steps and its Freight's availability (in a preview, not being
/// available yet is a warning: nothing will wait).
pub(crate) fn validate(promotion: &Promotion, view: &dyn View, now: Timestamp, preview: bool, problems: &mut Problems) {
    check_steps(&FieldPath::root("spec").child("steps"), &promotion.spec.steps, StepList::Promotion, problems);
    let project = promotion.metadata.namespace();
    let Some(stage) = view.stage(project, &promotion.spec.stage) else { return };
    let freight_name = &promotion.spec.freight;
    let found: Option<&Freight> = match view.get(Kind::Freight, project, freight_name) {
        Some(Resource::Freight(f)) => Some(f),
        _ => None,
    };
    let Some(freight) = found else {
        problems
            .error("spec.freight", format!("Freight {freight_name:?} not found in project {project:?}"))
            .with_hint("list Freight with `convoy get freight`");
        return;
    };
    check_windows(promotion, stage, view, now, preview, problems);
    match availability(stage, freight, now) {
        Err(why) if preview => {
            problems
                .warning("spec.freight", format!("Freight is not available to this Stage yet: {why}"))
                .with_hint("a real promotion is refused until it is; this dry run shows what it would do then");
        }
        Err(why) => {
            problems.error("spec.freight", "Freight is not available to this Stage").with_hint(why.to_string());
        }
        Ok(_) => {}
    }
}

/// A closed promotion-window schedule refuses the Promotion, unless it asks to override (the
/// caller's permission to is checked where the request came in) or is a dry run.
fn check_windows(
    promotion: &Promotion,
    stage: &Stage,
    view: &dyn View,
    now: Timestamp,
    preview: bool,
    problems: &mut Problems,
) {
    let project = promotion.metadata.namespace();
    let project_config = match view.get(Kind::ProjectConfig, project, project) {
        Some(Resource::ProjectConfig(c)) => Some(c),
        _ => None,
    };
    let cluster_config = match view.get(Kind::ClusterConfig, "", "cluster") {
        Some(Resource::ClusterConfig(c)) => Some(c),
        _ => None,
    };
    let project_object = match view.get(Kind::Project, "", project) {
        Some(Resource::Project(p)) => Some(p),
        _ => None,
    };
    let windows = crate::windows::for_stage(project_config, cluster_config, project_object, stage);
    let schedule = crate::windows::state(&windows, now);
    if !schedule.closed {
        return;
    }
    let reason = schedule.reason.unwrap_or_default();
    let until = schedule.next_open.map(|t| format!(" (opens {t})")).unwrap_or_default();
    let overridden =
        promotion.metadata.annotations.get(crate::windows::OVERRIDE_ANNOTATION).filter(|r| !r.trim().is_empty());
    if let Some(why) = overridden {
        problems.warning(
            "spec.stage",
            format!("promotions of Stage {:?} are frozen: {reason}; overridden: {why}", stage.metadata.name()),
        );
    } else if preview {
        problems
            .warning(
                "spec.stage",
                format!("promotions of Stage {:?} are frozen: {reason}{until}", stage.metadata.name()),
            )
            .with_hint("a real promotion is refused until the window opens");
    } else {
        problems
            .error("spec.stage", format!("promotions of Stage {:?} are frozen: {reason}{until}", stage.metadata.name()))
            .with_hint("wait for the window, or override it with a reason: convoy promote --override-window REASON");
    }
}
