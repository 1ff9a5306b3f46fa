//! PromotionTask expansion (reference §2.3 and the demo shape of §11).

use convoy_api::{ExpressionVariable, PromotionStep, Stage};
use convoy_core::expand::{ExpandErrorKind, expand_steps};

use super::*;

/// The kargo-advanced `promote` task (reference §11): seven steps, two with aliases.
const ADVANCED_TASK: &str = "
apiVersion: kargo.akuity.io/v1alpha1
kind: PromotionTask
metadata: {name: promote, namespace: p}
spec:
  vars:
  - name: repoURL
    value: https://github.com/example/kargo-advanced.git
  - name: branch
    value: main
  - name: image
    value: ghcr.io/akuity/guestbook
  steps:
  - uses: git-clone
  - uses: git-clear
  - uses: kustomize-set-image
    as: update-image
  - uses: kustomize-build
  - uses: git-commit
    as: commit
  - uses: git-push
  - uses: argocd-update
";

fn template_steps(stage_yaml: &str) -> (Vec<PromotionStep>, Vec<ExpressionVariable>) {
    let Resource::Stage(stage) = one(stage_yaml) else { panic!() };
    let stage: Stage = stage;
    let template = stage.spec.promotion_template.unwrap();
    let vars = stage.spec.vars.iter().chain(&template.spec.vars).cloned().collect();
    (template.spec.steps, vars)
}

fn stage_with(vars: &str, template_vars: &str, steps: &str) -> String {
    format!(
        "apiVersion: kargo.akuity.io/v1alpha1\nkind: Stage\nmetadata: {{name: s, namespace: p}}\nspec:\n  vars: {vars}\n  requestedFreight: []\n  promotionTemplate:\n    spec:\n      vars: {template_vars}\n      steps:\n{steps}"
    )
}

fn expand(stage_yaml: &str, world_yaml: &str) -> Result<Vec<PromotionStep>, Vec<convoy_core::expand::ExpandError>> {
    let (steps, vars) = template_steps(stage_yaml);
    expand_steps("p", &steps, &vars, &world(world_yaml))
}

fn var_list(step: &PromotionStep) -> Vec<(String, String)> {
    step.vars.iter().map(|v| (v.name.clone(), v.value().to_owned())).collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect()
}

#[test]
fn advanced_demo_aliases() {
    let steps = expand(&stage_with("[]", "[]", "      - task: {name: promote}\n"), ADVANCED_TASK).unwrap();
    let aliases: Vec<_> = steps.iter().map(|s| s.alias.clone().unwrap()).collect();
    assert_eq!(
        aliases,
        [
            "task-1::step-1",
            "task-1::step-2",
            "task-1::update-image",
            "task-1::step-4",
            "task-1::commit",
            "task-1::step-6",
            "task-1::step-7"
        ]
    );
    assert!(steps.iter().all(|s| s.uses.is_some() && s.task.is_none()));
    assert_eq!(steps[6].uses.as_deref(), Some("argocd-update"));
}

#[test]
fn plain_and_task_steps_are_numbered_by_position() {
    let steps = "      - uses: fail\n      - task: {name: promote}\n        as: deploy\n      - uses: fail\n      - task: {name: promote}\n";
    let out = expand(&stage_with("[]", "[]", steps), ADVANCED_TASK).unwrap();
    let aliases: Vec<_> = out.iter().map(|s| s.alias.clone().unwrap()).collect();
    assert_eq!(aliases[0], "step-1");
    assert_eq!(aliases[1], "deploy::step-1");
    assert_eq!(aliases[8], "step-3");
    assert_eq!(aliases[9], "task-4::step-1");
    assert_eq!(out.len(), 2 + 2 * 7);
}

const VARS_TASK: &str = "
apiVersion: kargo.akuity.io/v1alpha1
kind: PromotionTask
metadata: {name: t, namespace: p}
spec:
  vars:
  - name: required
  - name: withDefault
    value: from-task
  steps:
  - uses: fail
    vars: [{name: own, value: from-task-step}]
";

#[test]
fn task_default_is_injected_when_not_set_above() {
    let out = expand(
        &stage_with("[]", "[]", "      - task: {name: t}\n        vars: [{name: required, value: from-step}]\n"),
        VARS_TASK,
    )
    .unwrap();
    // injected defaults, then the referencing step's vars, then the task step's own vars
    assert_eq!(
        var_list(&out[0]),
        pairs(&[("withDefault", "from-task"), ("required", "from-step"), ("own", "from-task-step")])
    );
}

#[test]
fn promotion_level_value_suppresses_the_task_default() {
    for (stage_vars, template_vars) in
        [("[{name: withDefault, value: from-stage}]", "[]"), ("[]", "[{name: withDefault, value: from-template}]")]
    {
        let stage = stage_with(
            stage_vars,
            template_vars,
            "      - task: {name: t}\n        vars: [{name: required, value: r}]\n",
        );
        let out = expand(&stage, VARS_TASK).unwrap();
        assert_eq!(
            var_list(&out[0]),
            pairs(&[("required", "r"), ("own", "from-task-step")]),
            "{stage_vars} {template_vars}"
        );
    }
}

#[test]
fn empty_promotion_level_value_does_not_suppress_the_default() {
    let stage = stage_with(
        "[{name: withDefault, value: ''}]",
        "[]",
        "      - task: {name: t}\n        vars: [{name: required, value: r}]\n",
    );
    let out = expand(&stage, VARS_TASK).unwrap();
    assert_eq!(var_list(&out[0])[0], ("withDefault".to_owned(), "from-task".to_owned()));
}

#[test]
fn required_var_satisfied_by_a_stage_var() {
    let stage = stage_with("[{name: required, value: from-stage}]", "[]", "      - task: {name: t}\n");
    let out = expand(&stage, VARS_TASK).unwrap();
    assert_eq!(var_list(&out[0]), pairs(&[("withDefault", "from-task"), ("own", "from-task-step")]));
}

#[test]
fn required_var_missing_everywhere() {
    let errors =
        expand(&stage_with("[]", "[]", "      - uses: fail\n      - task: {name: t}\n"), VARS_TASK).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].step_index, 1);
    assert_eq!(
        errors[0].to_string(),
        "inflate task steps for task \"t\" (\"task-2\"): missing value for variable \"required\""
    );
    // an empty value on the referencing step does not count
    let errors = expand(
        &stage_with("[]", "[]", "      - task: {name: t}\n        vars: [{name: required, value: ''}]\n"),
        VARS_TASK,
    )
    .unwrap_err();
    assert!(matches!(&errors[0].kind, ExpandErrorKind::MissingVariable { variable, .. } if variable == "required"));
}

#[test]
fn cluster_promotion_task_and_missing_tasks() {
    let cluster = "apiVersion: kargo.akuity.io/v1alpha1\nkind: ClusterPromotionTask\nmetadata: {name: shared}\nspec:\n  steps:\n  - uses: http\n    as: probe\n";
    let out = expand(
        &stage_with("[]", "[]", "      - task: {name: shared, kind: ClusterPromotionTask}\n        as: check\n"),
        cluster,
    )
    .unwrap();
    assert_eq!(out[0].alias.as_deref(), Some("check::probe"));
    // a PromotionTask reference does not find a ClusterPromotionTask of that name
    let errors = expand(&stage_with("[]", "[]", "      - task: {name: shared}\n"), cluster).unwrap_err();
    assert_eq!(errors[0].to_string(), "PromotionTask \"shared\" not found in project \"p\"");
    let errors = expand(&stage_with("[]", "[]", "      - task: {name: shared, kind: Other}\n"), cluster).unwrap_err();
    assert_eq!(errors[0].to_string(), "unknown task reference kind \"Other\"");
}

#[test]
fn task_step_fields_are_copied_verbatim() {
    let task = "apiVersion: kargo.akuity.io/v1alpha1\nkind: PromotionTask\nmetadata: {name: t, namespace: p}\nspec:\n  steps:\n  - uses: http\n    if: ${{ always() }}\n    continueOnError: true\n    retry: {errorThreshold: 3, timeout: 5m}\n    config: {url: 'https://x'}\n";
    let out = expand(&stage_with("[]", "[]", "      - task: {name: t}\n"), task).unwrap();
    let step = &out[0];
    assert_eq!(step.condition.as_deref(), Some("${{ always() }}"));
    assert!(step.continue_on_error);
    assert_eq!(step.retry.as_ref().unwrap().error_threshold, Some(3));
    assert_eq!(step.config, Some(serde_json::json!({"url": "https://x"})));
}
