//! Expressions in manifests: syntax errors are errors; names an expression reads that are not
//! declared where it runs (`vars.imge`, an output no earlier step produces) are warnings.

use std::collections::BTreeSet;

use convoy_api::{ALIAS_SEPARATOR, FieldPath, PromotionStep};
use convoy_expr::refs::{Root, references};
use convoy_expr::template::{Segment, split};
use serde_json::Value as Json;

use crate::problem::Problems;

/// Config keys whose values a step evaluates itself as plain expressions (no delimiters).
const PLAIN_EXPRESSION_KEYS: [&str; 4] =
    ["successExpression", "failureExpression", "errorExpression", "fromExpression"];

/// Checks the syntax of every template in a step (`config` strings, `if`, var values).
pub(crate) fn check_step_syntax(path: &FieldPath, step: &PromotionStep, problems: &mut Problems) {
    if let Some(condition) = &step.condition {
        check_condition(&path.child("if"), condition, problems);
    }
    for (i, var) in step.vars.iter().enumerate() {
        check_template(&path.child("vars").index(i).child("value"), var.value(), problems);
    }
    if let Some(config) = &step.config {
        check_json(&path.child("config"), config, problems);
    }
}

fn check_condition(path: &FieldPath, condition: &str, problems: &mut Problems) {
    if !condition.trim().is_empty() && !convoy_expr::template::has_expression(condition) {
        problems
            .error(path.to_string(), "expression must evaluate to a boolean, got string")
            .with_hint(format!("wrap it in delimiters: ${{{{ {} }}}}", condition.trim()));
        return;
    }
    check_template(path, condition, problems);
}

fn check_json(path: &FieldPath, value: &Json, problems: &mut Problems) {
    match value {
        Json::String(s) => {
            let key = path.segments().last().and_then(|s| match s {
                convoy_api::path::Segment::Field(f) => Some(f.as_str()),
                convoy_api::path::Segment::Index(_) => None,
            });
            if key.is_some_and(|k| PLAIN_EXPRESSION_KEYS.contains(&k)) && !convoy_expr::template::has_expression(s) {
                check_plain(path, s, problems);
            } else {
                check_template(path, s, problems);
            }
        }
        Json::Array(items) => items.iter().enumerate().for_each(|(i, v)| check_json(&path.index(i), v, problems)),
        Json::Object(map) => map.iter().for_each(|(k, v)| check_json(&path.child(k), v, problems)),
        _ => {}
    }
}

/// One `${{ }}` template: delimiters closed and every expression compiles.
pub(crate) fn check_template(path: &FieldPath, text: &str, problems: &mut Problems) {
    match split(text) {
        Err(unclosed) => {
            problems
                .error(path.to_string(), unclosed.to_string())
                .with_hint(format!("close the expression with {}", unclosed.expected));
        }
        Ok(segments) => {
            for segment in segments {
                if let Segment::Expr { code, .. } = segment {
                    check_plain(path, code, problems);
                }
            }
        }
    }
}

/// A plain expr-lang expression compiles.
pub(crate) fn check_plain(path: &FieldPath, code: &str, problems: &mut Problems) {
    if let Err(e) = convoy_expr::check_syntax(code) {
        problems
            .error(path.to_string(), format!("{} in expression {:?}", e.message, code.trim()))
            .with_hint(format!("try it with: convoy eval '${{{{ {} }}}}'", code.trim()));
    }
}

/// Names in scope at one step of an expanded promotion.
pub(crate) struct StepScope<'a> {
    pub vars: BTreeSet<&'a str>,
    pub outputs: BTreeSet<String>,
    pub task_outputs: BTreeSet<String>,
}

/// Warnings for every `vars.X`, `outputs.Y` and `task.outputs.Z` in `steps` (an expanded
/// promotion) that is not declared before it runs. `report` gives the path to blame for step i.
pub(crate) fn check_references(
    steps: &[PromotionStep],
    promotion_vars: &[&str],
    report: impl Fn(usize) -> (FieldPath, String),
    problems: &mut Problems,
) {
    for (i, step) in steps.iter().enumerate() {
        let alias = step.alias.as_deref().unwrap_or("");
        let namespace = alias.split_once(ALIAS_SEPARATOR).map(|(ns, _)| ns);
        let mut scope = StepScope {
            vars: promotion_vars.iter().copied().chain(step.vars.iter().map(|v| v.name.as_str())).collect(),
            outputs: BTreeSet::new(),
            task_outputs: BTreeSet::new(),
        };
        for earlier in &steps[..i] {
            let earlier_alias = earlier.alias.clone().unwrap_or_default();
            if let Some((ns, short)) = earlier_alias.split_once(ALIAS_SEPARATOR) {
                if Some(ns) == namespace {
                    scope.task_outputs.insert(short.to_owned());
                }
                if earlier.uses.as_deref() == Some("compose-output") {
                    scope.outputs.insert(ns.to_owned());
                }
            }
            scope.outputs.insert(earlier_alias);
        }
        let (base, label) = report(i);
        for (field, text) in step_templates(step) {
            // A plain step's problem points at its field; a task step's at the Stage step that
            // references the task, naming the task step and field in the message.
            let (path, prefix) = if label.is_empty() {
                (FieldPath::parse(&format!("{base}.{field}")), String::new())
            } else {
                (base.clone(), format!("{label}{field}: "))
            };
            for code in expressions_in(&text) {
                for reference in references(&code) {
                    warn_undeclared(&path, &prefix, &reference.root, &reference.name, &scope, namespace, problems);
                }
            }
        }
    }
}

fn warn_undeclared(
    path: &FieldPath,
    prefix: &str,
    root: &Root,
    name: &str,
    scope: &StepScope<'_>,
    namespace: Option<&str>,
    problems: &mut Problems,
) {
    let (known, what): (Vec<&str>, String) = match root {
        Root::Vars => (scope.vars.iter().copied().collect(), format!("vars.{name}")),
        Root::Outputs => (scope.outputs.iter().map(String::as_str).collect(), format!("outputs[{name:?}]")),
        Root::TaskOutputs if namespace.is_none() => {
            problems.warning(path.to_string(), format!("{prefix}task.outputs is only defined inside a PromotionTask"));
            return;
        }
        Root::TaskOutputs => {
            (scope.task_outputs.iter().map(String::as_str).collect(), format!("task.outputs[{name:?}]"))
        }
    };
    if known.contains(&name) {
        return;
    }
    let message = match root {
        Root::Vars => format!("{prefix}{what} is not declared; it will be nil"),
        _ => format!("{prefix}{what} refers to no earlier step; it will be nil"),
    };
    let hint = match convoy_api::suggest::closest(name, known.iter().copied()) {
        Some(guess) => format!("did you mean {guess:?}?"),
        None if matches!(root, Root::Vars) => "declare it in the Stage's, the template's or the step's vars".to_owned(),
        None => "only outputs of steps that run before this one can be read".to_owned(),
    };
    problems.warning(path.to_string(), message).with_hint(hint);
}

/// Every templated string of a step, with the field it sits in.
fn step_templates(step: &PromotionStep) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(condition) = &step.condition {
        out.push(("if".to_owned(), condition.clone()));
    }
    for (i, var) in step.vars.iter().enumerate() {
        out.push((format!("vars[{i}].value"), var.value().to_owned()));
    }
    if let Some(config) = &step.config {
        collect_strings(&FieldPath::root("config"), config, &mut out);
    }
    out
}

fn collect_strings(path: &FieldPath, value: &Json, out: &mut Vec<(String, String)>) {
    match value {
        Json::String(s) => out.push((path.to_string(), s.clone())),
        Json::Array(items) => items.iter().enumerate().for_each(|(i, v)| collect_strings(&path.index(i), v, out)),
        Json::Object(map) => map.iter().for_each(|(k, v)| collect_strings(&path.child(k), v, out)),
        _ => {}
    }
}

fn expressions_in(text: &str) -> Vec<String> {
    match split(text) {
        Ok(segments) => segments
            .into_iter()
            .filter_map(|s| match s {
                Segment::Expr { code, .. } => Some(code.to_owned()),
                Segment::Text(_) => None,
            })
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Variable lists evaluate in order: a value may read only the variables before it (and those
/// in `earlier`).
pub(crate) fn check_var_list(
    path: &FieldPath,
    vars: &[convoy_api::ExpressionVariable],
    earlier: &[&str],
    problems: &mut Problems,
) {
    let mut declared: Vec<&str> = earlier.to_vec();
    for (i, var) in vars.iter().enumerate() {
        let value_path = path.index(i).child("value");
        check_template(&value_path, var.value(), problems);
        for code in expressions_in(var.value()) {
            for reference in references(&code).into_iter().filter(|r| r.root == Root::Vars) {
                if !declared.contains(&reference.name.as_str()) {
                    let later = vars[i..].iter().any(|v| v.name == reference.name);
                    let hint = if later {
                        "variables are evaluated in order; move this one after the variable it reads".to_owned()
                    } else {
                        convoy_api::suggest::closest(&reference.name, declared.iter().copied()).map_or_else(
                            || "declare it before this variable".to_owned(),
                            |g| format!("did you mean {g:?}?"),
                        )
                    };
                    problems
                        .warning(
                            value_path.to_string(),
                            format!("vars.{} is not declared before {:?}; it will be nil", reference.name, var.name),
                        )
                        .with_hint(hint);
                }
            }
        }
        declared.push(&var.name);
    }
}
