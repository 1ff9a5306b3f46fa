//! PromotionTask / ClusterPromotionTask expansion, exactly as Kargo inflates steps
//! (reference §2.3).
//!
//! ```text
//! template steps ──▶ [plain step]            as := as | step-<i+1>
//!                └─▶ [task: {name, kind}]    taskAlias := as | task-<i+1>
//!                        │ look the task up (project or cluster)
//!                        ▼
//!                    each task step j:       as := taskAlias::(as | step-<j+1>)
//!                                            vars := injected defaults ++ step vars ++ own vars
//! ```

use std::fmt;

use convoy_api::{ALIAS_SEPARATOR, ExpressionVariable, PromotionStep, PromotionTask};

use crate::view::{View, ViewExt};

/// Why one task-referencing step could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpandError {
    /// Index of the step in the list given to [`expand_steps`].
    pub step_index: usize,
    pub kind: ExpandErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExpandErrorKind {
    MissingTaskReference,
    UnknownTaskKind { kind: String },
    TaskNotFound { kind: &'static str, name: String, project: String },
    MissingVariable { task: String, task_alias: String, variable: String },
}

impl fmt::Display for ExpandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExpandErrorKind::MissingTaskReference => write!(f, "missing task reference"),
            ExpandErrorKind::UnknownTaskKind { kind } => write!(f, "unknown task reference kind {kind:?}"),
            ExpandErrorKind::TaskNotFound { kind, name, project } if kind == &"ClusterPromotionTask" => {
                let _ = project;
                write!(f, "ClusterPromotionTask {name:?} not found")
            }
            ExpandErrorKind::TaskNotFound { kind, name, project } => {
                write!(f, "{kind} {name:?} not found in project {project:?}")
            }
            ExpandErrorKind::MissingVariable { task, task_alias, variable } => write!(
                f,
                "inflate task steps for task {task:?} ({task_alias:?}): missing value for variable {variable:?}"
            ),
        }
    }
}

/// Expands every task reference in `steps`. `promotion_vars` are the Stage's vars followed by
/// the template's. Every step of the result has `uses` and a non-empty alias.
pub fn expand_steps(
    project: &str,
    steps: &[PromotionStep],
    promotion_vars: &[ExpressionVariable],
    view: &dyn View,
) -> Result<Vec<PromotionStep>, Vec<ExpandError>> {
    let mut expanded = Vec::with_capacity(steps.len());
    let mut errors = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        if step.task.is_none() {
            let mut plain = step.clone();
            plain.alias = Some(step.alias().map_or_else(|| format!("step-{}", i + 1), str::to_owned));
            expanded.push(plain);
            continue;
        }
        match expand_task_step(project, i, step, promotion_vars, view) {
            Ok(task_steps) => expanded.extend(task_steps),
            Err(kind) => errors.push(ExpandError { step_index: i, kind }),
        }
    }
    if errors.is_empty() { Ok(expanded) } else { Err(errors) }
}

/// Finds the task a step refers to.
pub fn resolve_task<'v>(
    project: &str,
    step: &PromotionStep,
    view: &'v dyn View,
) -> Result<&'v PromotionTask, ExpandErrorKind> {
    let reference = step.task.as_ref().ok_or(ExpandErrorKind::MissingTaskReference)?;
    let kind = reference.kind.as_deref().unwrap_or("");
    let found = match kind {
        "" | "PromotionTask" => view.promotion_task(project, &reference.name),
        "ClusterPromotionTask" => view.cluster_promotion_task(&reference.name),
        other => return Err(ExpandErrorKind::UnknownTaskKind { kind: other.to_owned() }),
    };
    found.ok_or_else(|| ExpandErrorKind::TaskNotFound {
        kind: if kind == "ClusterPromotionTask" { "ClusterPromotionTask" } else { "PromotionTask" },
        name: reference.name.clone(),
        project: project.to_owned(),
    })
}

fn expand_task_step(
    project: &str,
    index: usize,
    step: &PromotionStep,
    promotion_vars: &[ExpressionVariable],
    view: &dyn View,
) -> Result<Vec<PromotionStep>, ExpandErrorKind> {
    let task = resolve_task(project, step, view)?;
    let task_alias = step.alias().map_or_else(|| format!("task-{}", index + 1), str::to_owned);
    let injected = injected_vars(task, &task_alias, promotion_vars, &step.vars)?;
    Ok(task
        .spec
        .steps
        .iter()
        .enumerate()
        .map(|(j, task_step)| {
            let own_alias = task_step.alias().map_or_else(|| format!("step-{}", j + 1), str::to_owned);
            let mut out = task_step.clone();
            out.alias = Some(format!("{task_alias}{ALIAS_SEPARATOR}{own_alias}"));
            out.vars = injected.iter().cloned().chain(task_step.vars.iter().cloned()).collect();
            out
        })
        .collect())
}

/// Task defaults not already set (non-empty) at promotion level, then the referencing step's
/// vars; a task var with no value anywhere is an error.
fn injected_vars(
    task: &PromotionTask,
    task_alias: &str,
    promotion_vars: &[ExpressionVariable],
    step_vars: &[ExpressionVariable],
) -> Result<Vec<ExpressionVariable>, ExpandErrorKind> {
    let set_in = |vars: &[ExpressionVariable], name: &str| vars.iter().any(|v| v.name == name && !v.value().is_empty());
    let mut injected = Vec::new();
    for var in &task.spec.vars {
        if set_in(promotion_vars, &var.name) {
            continue;
        }
        if !var.value().is_empty() {
            injected.push(var.clone());
        } else if !set_in(step_vars, &var.name) {
            return Err(ExpandErrorKind::MissingVariable {
                task: task.metadata.name().to_owned(),
                task_alias: task_alias.to_owned(),
                variable: var.name.clone(),
            });
        }
    }
    injected.extend(step_vars.iter().cloned());
    Ok(injected)
}
