//! Stage: defaulting and validation, plus Convoy's early checks of task references.

use std::collections::HashMap;

use convoy_api::{FieldPath, FreightOrigin, Kind, Stage};

use super::expressions::{check_references, check_template, check_var_list};
use super::{StepList, check_steps, check_vars, unsupported};
use crate::duration;
use crate::expand::{ExpandErrorKind, expand_steps};
use crate::problem::Problems;
use crate::view::{View, ViewExt};

pub(crate) const SHARD_LABEL: &str = "kargo.akuity.io/shard";

/// Syncs the shard label from `spec.shard`.
pub(crate) fn default(stage: &mut Stage) {
    sync_shard_label(&mut stage.metadata.labels, stage.spec.shard.as_deref());
}

pub(crate) fn sync_shard_label(labels: &mut std::collections::BTreeMap<String, String>, shard: Option<&str>) {
    match shard.filter(|s| !s.is_empty()) {
        Some(shard) => {
            labels.insert(SHARD_LABEL.to_owned(), shard.to_owned());
        }
        None => {
            labels.remove(SHARD_LABEL);
        }
    }
}

pub(crate) fn validate(stage: &Stage, view: &dyn View, problems: &mut Problems) {
    let spec = FieldPath::root("spec");
    let project = stage.metadata.namespace();
    check_vars(&spec.child("vars"), &stage.spec.vars, problems);
    check_var_list(&spec.child("vars"), &stage.spec.vars, &[], problems);
    check_requested_freight(stage, view, problems);
    if let Some(template) = &stage.spec.promotion_template {
        let template_path = spec.child("promotionTemplate").child("spec");
        check_vars(&template_path.child("vars"), &template.spec.vars, problems);
        let stage_vars: Vec<&str> = stage.spec.vars.iter().map(|v| v.name.as_str()).collect();
        check_var_list(&template_path.child("vars"), &template.spec.vars, &stage_vars, problems);
        check_steps(&template_path.child("steps"), &template.spec.steps, StepList::StageTemplate, problems);
        check_task_references(stage, project, view, problems);
    }
    if let Some(verification) = &stage.spec.verification {
        for (i, arg) in verification.args.iter().enumerate() {
            check_template(&spec.child("verification").child("args").index(i).child("value"), &arg.value, problems);
        }
        for (i, template) in verification.analysis_templates.iter().enumerate() {
            if let Some(kind) = template.kind.as_deref().filter(|k| !k.is_empty())
                && !["AnalysisTemplate", "ClusterAnalysisTemplate"].contains(&kind)
            {
                let path = spec.child("verification").child("analysisTemplates").index(i).child("kind");
                unsupported(problems, &path, kind, &["AnalysisTemplate", "ClusterAnalysisTemplate"]);
            }
        }
    }
}

fn check_requested_freight(stage: &Stage, view: &dyn View, problems: &mut Problems) {
    let path = FieldPath::root("spec").child("requestedFreight");
    let requests = &stage.spec.requested_freight;
    if requests.is_empty() {
        problems
            .error(path.to_string(), "must have at least 1 item")
            .with_hint("request Freight from a Warehouse: origin: {kind: Warehouse, name: ...}");
    }
    let project = stage.metadata.namespace();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, request) in requests.iter().enumerate() {
        let item = path.index(i);
        check_origin(&item.child("origin"), &request.origin, project, view, problems);
        if seen.insert(request.origin.key(), i).is_some() {
            problems
                .error(
                    path.to_string(),
                    format!("freight with origin {} requested multiple times in {path}", request.origin),
                )
                .with_hint("merge the two requests into one");
        }
        let sources = &request.sources;
        let sources_path = item.child("sources");
        if let Some(strategy) = sources.availability_strategy.as_deref().filter(|s| !s.is_empty())
            && !["All", "OneOf"].contains(&strategy)
        {
            unsupported(problems, &sources_path.child("availabilityStrategy"), strategy, &["All", "OneOf"]);
        }
        if let Some(soak) = &sources.required_soak_time
            && let Err(why) = duration::parse(soak)
        {
            problems.error(sources_path.child("requiredSoakTime").to_string(), why);
        }
        if !sources.direct && sources.stages.is_empty() {
            problems
                .warning(
                    sources_path.to_string(),
                    "no Freight can ever be available: neither direct nor upstream stages are set",
                )
                .with_hint("set direct: true, or list upstream stages");
        }
        for (j, upstream) in sources.stages.iter().enumerate() {
            if upstream == stage.metadata.name() {
                problems.error(sources_path.child("stages").index(j).to_string(), "a Stage cannot be its own upstream");
            } else if !project.is_empty() && view.stage(project, upstream).is_none() {
                let p = sources_path.child("stages").index(j).to_string();
                match view.unreadable(Kind::Stage, project, upstream) {
                    Some(place) => problems.warning(p, super::unreadable_message(Kind::Stage, upstream, place)),
                    None => {
                        problems.warning(p, format!("upstream Stage {upstream:?} not found in project {project:?}"))
                    }
                };
            }
        }
        let policy = sources.auto_promotion_options.as_ref().and_then(|o| o.selection_policy.as_deref());
        let policy_path = sources_path.child("autoPromotionOptions").child("selectionPolicy");
        match policy {
            None | Some("") | Some("NewestFreight") => {}
            Some("MatchUpstream") => {
                if sources.direct {
                    problems.error(
                        policy_path.to_string(),
                        "selection policy 'MatchUpstream' cannot be used when accepting Freight directly from its origin",
                    );
                }
                if sources.stages.len() != 1 {
                    problems.error(
                        policy_path.to_string(),
                        "selection policy 'MatchUpstream' requires exactly one upstream Stage to be specified",
                    );
                }
            }
            Some(other) => unsupported(problems, &policy_path, other, &["NewestFreight", "MatchUpstream"]),
        }
    }
}

pub(crate) fn check_origin(
    path: &FieldPath,
    origin: &FreightOrigin,
    project: &str,
    view: &dyn View,
    problems: &mut Problems,
) {
    if origin.kind != FreightOrigin::WAREHOUSE {
        unsupported(problems, &path.child("kind"), &origin.kind, &[FreightOrigin::WAREHOUSE]);
    }
    if origin.name.is_empty() {
        problems.error(path.child("name").to_string(), "required field is missing");
    } else if project.is_empty() {
        // Reported on metadata.namespace: there is no project to look in.
    } else if let Some(place) = view.unreadable(Kind::Warehouse, project, &origin.name) {
        problems
            .warning(path.child("name").to_string(), super::unreadable_message(Kind::Warehouse, &origin.name, place));
    } else if view.warehouse(project, &origin.name).is_none() {
        let message = format!("Warehouse {:?} not found in project {project:?}", origin.name);
        let hint = match convoy_api::suggest::closest(&origin.name, view.names(Kind::Warehouse, project)) {
            Some(guess) => format!("did you mean {guess:?}?"),
            None => "apply the Warehouse in the same set".to_owned(),
        };
        // Kargo admits the Stage and finds the missing Warehouse only when Freight is looked
        // for; Convoy refuses it when applied (a set is one transaction, so order is free).
        let path = path.child("name").to_string();
        if view.is_complete() {
            problems.error(path, message).with_hint(hint);
        } else {
            let message = format!(
                "{message} among the given files (an error when applied; Kargo would find it only at run time)"
            );
            problems.warning(path, message).with_hint(hint);
        }
    }
}

/// Beyond Kargo: a missing task or an unset required task variable is reported when the Stage
/// is written, not when someone first promotes.
fn check_task_references(stage: &Stage, project: &str, view: &dyn View, problems: &mut Problems) {
    let Some(template) = &stage.spec.promotion_template else { return };
    if project.is_empty() {
        return; // reported on metadata.namespace: no project to find tasks in
    }
    let steps_path = FieldPath::root("spec").child("promotionTemplate").child("spec").child("steps");
    let promotion_vars: Vec<_> = stage.spec.vars.iter().chain(&template.spec.vars).cloned().collect();
    let errors = match expand_steps(project, &template.spec.steps, &promotion_vars, view) {
        Ok(expanded) => {
            check_expanded_references(&template.spec.steps, &expanded, &promotion_vars, &steps_path, problems);
            return;
        }
        Err(errors) => errors,
    };
    for error in errors {
        let step_path = steps_path.index(error.step_index);
        match &error.kind {
            ExpandErrorKind::MissingTaskReference => {}
            ExpandErrorKind::UnknownTaskKind { kind } => {
                unsupported(
                    problems,
                    &step_path.child("task").child("kind"),
                    kind,
                    &["PromotionTask", "ClusterPromotionTask"],
                );
            }
            ExpandErrorKind::TaskNotFound { kind, name, .. } => {
                let task_kind =
                    if *kind == "ClusterPromotionTask" { Kind::ClusterPromotionTask } else { Kind::PromotionTask };
                let scope = if task_kind.is_cluster_scoped() { "" } else { project };
                if let Some(place) = view.unreadable(task_kind, scope, name) {
                    let path = step_path.child("task").child("name").to_string();
                    problems.warning(path, super::unreadable_message(task_kind, name, place));
                    continue;
                }
                let hint = match convoy_api::suggest::closest(name, view.names(task_kind, scope)) {
                    Some(guess) => format!("did you mean {guess:?}?"),
                    None => format!("apply the {kind} named {name:?}, or fix the name"),
                };
                let mut message = error.to_string();
                if !view.is_complete() {
                    message.push_str(" among the given files (Kargo would find it only when promoting)");
                }
                problems.error(step_path.child("task").child("name").to_string(), message).with_hint(hint);
            }
            ExpandErrorKind::MissingVariable { task, variable, .. } => {
                problems
                    .error(
                        step_path.to_string(),
                        format!("missing value for variable {variable:?} required by task {task:?}"),
                    )
                    .with_hint(format!(
                        "set {variable:?} in this step's vars, the promotion template's vars or the Stage's vars"
                    ));
            }
        }
    }
}

/// Reference warnings over the steps a promotion will run, blamed on the template step each
/// came from.
fn check_expanded_references(
    template: &[convoy_api::PromotionStep],
    expanded: &[convoy_api::PromotionStep],
    promotion_vars: &[convoy_api::ExpressionVariable],
    steps_path: &FieldPath,
    problems: &mut Problems,
) {
    let origin_of = |alias: &str| -> Option<(usize, bool)> {
        template.iter().enumerate().find_map(|(i, step)| {
            let is_task = step.task.is_some();
            let own = step
                .alias()
                .map_or_else(|| format!("{}-{}", if is_task { "task" } else { "step" }, i + 1), str::to_owned);
            let matches = if is_task {
                alias.split_once(convoy_api::ALIAS_SEPARATOR).is_some_and(|(ns, _)| ns == own)
            } else {
                alias == own
            };
            matches.then_some((i, is_task))
        })
    };
    let names: Vec<&str> = promotion_vars.iter().map(|v| v.name.as_str()).collect();
    let report = |k: usize| {
        let alias = expanded[k].alias.clone().unwrap_or_default();
        match origin_of(&alias) {
            Some((i, true)) => (steps_path.index(i), format!("task step {alias:?} ")),
            Some((i, false)) => (steps_path.index(i), String::new()),
            None => (steps_path.clone(), format!("step {alias:?} ")),
        }
    };
    check_references(expanded, &names, report, problems);
}
