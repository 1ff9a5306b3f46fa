//! The variables in scope at each place Kargo evaluates expressions (reference §4.2, §4.5).
//!
//! ```text
//!  promotion vars  : ctx, vars (Stage vars then template vars, each seeing the earlier ones)
//!  step vars/config: ctx, vars (+ the step's own vars), outputs, task.outputs, stepMetas
//!  verification    : ctx {project, stage}, vars (the Stage's vars only)
//! ```

use convoy_api::{ALIAS_SEPARATOR, ExpressionVariable};
use serde_json::{Map, Value as Json, json};

use crate::{Evaluator, ExprError, Scope};

/// Promotion-level vars, evaluated in order with only `ctx` and earlier vars in scope.
pub fn promotion_vars(
    evaluator: &Evaluator<'_>,
    ctx: &Json,
    vars: &[ExpressionVariable],
) -> Result<Map<String, Json>, ExprError> {
    let mut scope = Scope::from_json(&Map::from_iter([("ctx".to_owned(), ctx.clone())]))?;
    evaluator.vars(vars, &mut scope)?;
    Ok(vars_of(&scope))
}

/// The scope of one step: the promotion's vars, then the step's own vars (which may read
/// outputs), with `outputs` (every step's output by alias), `task.outputs` (outputs of the
/// steps of the same task, by their short alias) and `stepMetas`.
pub fn step_scope(
    evaluator: &Evaluator<'_>,
    ctx: &Json,
    promotion_vars: &Map<String, Json>,
    step_alias: &str,
    step_vars: &[ExpressionVariable],
    outputs: &Map<String, Json>,
    step_metas: &Json,
) -> Result<Scope, ExprError> {
    let mut values = Map::new();
    values.insert("ctx".to_owned(), ctx.clone());
    values.insert("vars".to_owned(), Json::Object(promotion_vars.clone()));
    values.insert("outputs".to_owned(), Json::Object(outputs.clone()));
    values.insert("stepMetas".to_owned(), step_metas.clone());
    if let Some((namespace, _)) = step_alias.split_once(ALIAS_SEPARATOR) {
        let prefix = format!("{namespace}{ALIAS_SEPARATOR}");
        let task_outputs: Map<String, Json> = outputs
            .iter()
            .filter_map(|(alias, output)| alias.strip_prefix(&prefix).map(|short| (short.to_owned(), output.clone())))
            .collect();
        values.insert("task".to_owned(), json!({ "outputs": task_outputs }));
    }
    let mut scope = Scope::from_json(&values)?;
    evaluator.vars(step_vars, &mut scope)?;
    Ok(scope)
}

/// Verification args see `ctx.project`, `ctx.stage` and the Stage's own vars.
pub fn verification_scope(
    evaluator: &Evaluator<'_>,
    project: &str,
    stage: &str,
    stage_vars: &[ExpressionVariable],
) -> Result<Scope, ExprError> {
    let ctx = json!({ "project": project, "stage": stage });
    let mut scope = Scope::from_json(&Map::from_iter([("ctx".to_owned(), ctx)]))?;
    evaluator.vars(stage_vars, &mut scope)?;
    Ok(scope)
}

fn vars_of(scope: &Scope) -> Map<String, Json> {
    match scope.get_json("vars") {
        Some(Json::Object(map)) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NoData;

    fn var(name: &str, value: &str) -> ExpressionVariable {
        ExpressionVariable { name: name.into(), value: Some(value.into()) }
    }

    #[test]
    fn step_sees_promotion_vars_outputs_and_its_task_outputs() {
        let evaluator = Evaluator::new(&NoData);
        let ctx = json!({"stage": "dev", "project": "p"});
        let vars =
            promotion_vars(&evaluator, &ctx, &[var("env", "${{ ctx.stage }}"), var("path", "env/${{ vars.env }}")])
                .unwrap();
        assert_eq!(Json::Object(vars.clone()), json!({"env": "dev", "path": "env/dev"}));
        let outputs = Map::from_iter([
            ("task-1::update-image".to_owned(), json!({"commitMessage": "bump"})),
            ("task-2::update-image".to_owned(), json!({"commitMessage": "other task"})),
            ("step-1".to_owned(), json!({"commit": "abc"})),
        ]);
        let scope = step_scope(
            &evaluator,
            &ctx,
            &vars,
            "task-1::commit",
            &[var("msg", "${{ task.outputs['update-image'].commitMessage }}")],
            &outputs,
            &json!({}),
        )
        .unwrap();
        let out =
            evaluator.template("${{ vars.msg }} ${{ vars.path }} ${{ outputs['step-1'].commit }}", &scope).unwrap();
        assert_eq!(out, json!("bump env/dev abc"));
        let plain = step_scope(&evaluator, &ctx, &vars, "step-2", &[], &outputs, &json!({})).unwrap();
        assert_eq!(evaluator.template("${{ task?.outputs }}", &plain).unwrap(), json!(null), "no task outside tasks");
    }

    #[test]
    fn promotion_vars_do_not_see_outputs() {
        let evaluator = Evaluator::new(&NoData);
        let vars = promotion_vars(&evaluator, &json!({}), &[var("x", "${{ outputs ?? 'none' }}")]).unwrap();
        assert_eq!(vars["x"], json!("none"));
    }

    #[test]
    fn verification_args_see_stage_vars() {
        let evaluator = Evaluator::new(&NoData);
        let scope =
            verification_scope(&evaluator, "p", "prod", &[var("url", "https://${{ ctx.stage }}.example.com")]).unwrap();
        assert_eq!(
            evaluator.template("${{ vars.url }}/${{ ctx.project }}", &scope).unwrap(),
            json!("https://prod.example.com/p")
        );
    }
}
