//! Validation shared by several kinds: metadata, variables and step lists.

pub(crate) mod config;
pub(crate) mod expressions;
pub(crate) mod freight;
pub(crate) mod promotion;
pub(crate) mod stage;
pub(crate) mod task;
pub(crate) mod warehouse;

use std::collections::HashMap;

use convoy_api::{ExpressionVariable, FieldPath, Kind, ObjectMeta, PromotionStep, SHARED_RESOURCES_PROJECT};

use crate::problem::Problems;
use crate::steps::{StepSupport, support};
use crate::view::View;
use crate::{duration, names};

/// Kubernetes' wording for a value outside an enum, with the allowed values.
pub(crate) fn unsupported(problems: &mut Problems, path: &FieldPath, value: &str, supported: &[&str]) {
    let list = supported.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", ");
    problems.error(path.to_string(), format!("Unsupported value: {value:?}: supported values: {list}")).with_hint(
        match convoy_api::suggest::closest(value, supported.iter().copied()) {
            Some(guess) => format!("did you mean {guess:?}?"),
            None => format!("use one of {list}"),
        },
    );
}

/// Name, namespace by scope, and that the project exists.
pub(crate) fn check_metadata(
    kind: Kind,
    meta: &ObjectMeta,
    check_name: bool,
    view: &dyn View,
    problems: &mut Problems,
) {
    let name = meta.name();
    let check = if kind == Kind::Project { names::check_label(name) } else { names::check_subdomain(name) };
    if check_name {
        if name.is_empty() {
            problems.error("metadata.name", "required field is missing").with_hint("give the object a name");
        } else if let Err(why) = check {
            problems.error("metadata.name", why);
        }
    }
    let namespace = meta.namespace();
    if kind.is_cluster_scoped() {
        if !namespace.is_empty() {
            problems
                .error("metadata.namespace", format!("{kind} is cluster-scoped and cannot belong to a project"))
                .with_hint("remove metadata.namespace");
        }
        return;
    }
    if namespace.is_empty() {
        problems
            .error("metadata.namespace", "required: the project this object belongs to")
            .with_hint("set metadata.namespace to the project's name, or pass -p PROJECT");
        return;
    }
    if namespace == SHARED_RESOURCES_PROJECT && matches!(kind, Kind::Secret | Kind::ConfigMap) {
        return;
    }
    if view.get(Kind::Project, "", namespace).is_none() {
        if let Some(place) = view.unreadable(Kind::Project, "", namespace) {
            problems.warning("metadata.namespace", unreadable_message(Kind::Project, namespace, place));
            return;
        }
        let message = format!("project {namespace:?} does not exist");
        let hint = format!(
            "create it first: apiVersion {}, kind Project, metadata.name {namespace}",
            convoy_api::KARGO_API_VERSION
        );
        if view.is_complete() {
            problems.error("metadata.namespace", message).with_hint(hint);
        } else {
            problems.warning("metadata.namespace", format!("{message} among the given files")).with_hint(hint);
        }
    }
}

/// A reference to an object that is among the files but did not decode: not "missing".
pub(crate) fn unreadable_message(kind: Kind, name: &str, place: &str) -> String {
    format!("{kind} {name:?} is among the given files but could not be read ({place}); fix the errors reported there")
}

/// `^[a-zA-Z_]\w*$` for every var name, and no name twice in one list.
pub(crate) fn check_vars(path: &FieldPath, vars: &[ExpressionVariable], problems: &mut Problems) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, var) in vars.iter().enumerate() {
        let var_path = path.index(i).child("name");
        let valid = var.name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && var.name.chars().all(|c| c.is_alphanumeric() || c == '_');
        if !valid {
            problems
                .error(var_path.to_string(), format!("Invalid value: {:?}: should match '^[a-zA-Z_]\\w*$'", var.name))
                .with_hint(
                    "start with a letter or _, then letters, digits or _ (it is used as vars.NAME in expressions)",
                );
        } else if let Some(first) = seen.insert(&var.name, i) {
            problems
                .warning(
                    var_path.to_string(),
                    format!("variable {:?} is also defined at {}", var.name, path.index(first)),
                )
                .with_hint("the later definition wins; remove one of them");
        }
    }
}

/// Which list of steps is being checked, for the messages that differ between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StepList {
    /// A Stage's promotion template: steps may reference tasks.
    StageTemplate,
    /// A PromotionTask's or ClusterPromotionTask's steps.
    Task,
    /// An (expanded) Promotion's steps.
    Promotion,
}

/// Aliases unique and not reserved; `uses` xor `task`; step kinds known; retry well-formed.
pub(crate) fn check_steps(path: &FieldPath, steps: &[PromotionStep], list: StepList, problems: &mut Problems) {
    if steps.is_empty() && list != StepList::StageTemplate {
        problems.error(path.to_string(), "must have at least 1 item").with_hint("add at least one step");
    }
    let mut aliases: HashMap<&str, usize> = HashMap::new();
    for (i, step) in steps.iter().enumerate() {
        let step_path = path.index(i);
        if let Some(alias) = step.alias() {
            // Expansion gives Promotion steps exactly these aliases, so only authored lists are checked.
            if list != StepList::Promotion && is_reserved_alias(alias) {
                problems.error(step_path.child("as").to_string(), "step alias is reserved").with_hint(
                    "aliases of the form step-N and task-N are given to steps without one; choose another name",
                );
            } else if let Some(first) = aliases.insert(alias, i) {
                problems.error(
                    step_path.child("as").to_string(),
                    format!("step alias duplicates that of {}", path.index(first)),
                );
            }
        }
        check_step_shape(&step_path, step, list, problems);
        expressions::check_step_syntax(&step_path, step, problems);
        if let Some(retry) = &step.retry
            && let Some(timeout) = &retry.timeout
            && let Err(why) = duration::parse(timeout)
        {
            problems.error(step_path.child("retry").child("timeout").to_string(), why);
        }
        check_vars(&step_path.child("vars"), &step.vars, problems);
    }
}

fn check_step_shape(path: &FieldPath, step: &PromotionStep, list: StepList, problems: &mut Problems) {
    match (list, &step.uses, &step.task) {
        (StepList::Task, uses, task) if uses.is_none() || task.is_some() => {
            problems
                .error(path.to_string(), "PromotionTask step must have uses set and must not reference another task")
                .with_hint(
                    "tasks cannot nest: copy the other task's steps here, or reference both tasks from the Stage",
                );
        }
        (StepList::Promotion, uses, task) if uses.is_none() || task.is_some() => {
            problems.error(path.to_string(), "Promotion step must have uses set and must not reference a task");
        }
        (StepList::StageTemplate, None, None) | (StepList::StageTemplate, Some(_), Some(_)) => {
            problems.error(path.to_string(), "step must set exactly one of uses or task");
        }
        (StepList::StageTemplate, None, Some(_)) => {
            if step.condition.as_deref().is_some_and(|c| !c.is_empty()) {
                problems
                    .error(
                        path.child("if").to_string(),
                        "PromotionTemplate step referencing a task cannot have an 'if' condition",
                    )
                    .with_hint("put the condition on the task's own steps");
            }
            if step.config.is_some() {
                problems
                    .error(
                        path.child("config").to_string(),
                        "PromotionTemplate step referencing a task cannot have a config",
                    )
                    .with_hint("pass values to the task through vars");
            }
            if step.continue_on_error {
                problems.error(
                    path.child("continueOnError").to_string(),
                    "a step referencing a task cannot set continueOnError",
                );
            }
            if step.retry.is_some() {
                problems.error(path.child("retry").to_string(), "a step referencing a task cannot set retry");
            }
        }
        _ => {}
    }
    if let Some(uses) = &step.uses {
        check_step_kind(&path.child("uses"), uses, problems);
    }
}

fn check_step_kind(path: &FieldPath, uses: &str, problems: &mut Problems) {
    match support(uses) {
        StepSupport::Runs => {}
        StepSupport::NotYet => {
            problems
                .warning(path.to_string(), format!("step kind {uses:?} is not run by this version of Convoy yet"))
                .with_hint(
                    "a promotion that reaches this step will fail; see docs/compat.md for the steps Convoy runs",
                );
        }
        StepSupport::AkuityPlatform => {
            problems
                .error(
                    path.to_string(),
                    format!("step kind {uses:?} is an Akuity Platform step; open-source Kargo and Convoy do not run it"),
                )
                .with_hint("replace it (an http step can call most services), or run this pipeline on the Akuity Platform; a CustomPromotionStep of this name is a Platform feature too");
        }
        StepSupport::Removed(instead) => {
            problems.error(path.to_string(), format!("step kind {uses:?} no longer exists")).with_hint(instead);
        }
        StepSupport::Unknown => {
            let guess = convoy_api::suggest::closest(uses, crate::steps::KARGO_STEP_KINDS.iter().copied());
            problems.error(path.to_string(), format!("unknown step kind {uses:?}")).with_hint(match guess {
                Some(g) => format!("did you mean {g:?}?"),
                None => "use one of Kargo's step kinds (see docs/compat.md)".to_owned(),
            });
        }
    }
}

/// `^(step|task)-\d+$`
fn is_reserved_alias(alias: &str) -> bool {
    ["step-", "task-"].iter().any(|prefix| {
        alias.strip_prefix(prefix).is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}
